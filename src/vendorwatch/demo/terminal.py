"""Terminal West: a deterministic, synthetic packet capture of a container terminal.

ALL TRAFFIC HERE IS SYNTHETIC. No packet was captured from a real network. Device MACs use
real IEEE OUI assignments (Hikvision, Dahua, Nuctech's MA-M block, Siemens, Teltonika, Dell,
Cisco) so that identification can be tested; public addresses were chosen only because the
bundled geoip2fast database places them in the country the story needs (Hangzhou addresses
for the camera clouds, a Shanghai address for the crane's remote peer, Microsoft and Akamai
addresses for Windows). No claim is made that those hosts serve these names. Cloud host
names, ports and HTTP banners are those listed in shared/design/vendor-facts.md; TLS
certificates are issued by a made-up "vendorwatch synthetic demo CA".

The capture (about two hours from 2026-03-02T06:00:00Z, seen on a SPAN port of the core
switch, VLANs tagged) holds:

* CCTV VLAN 20: six Hikvision cameras (DHCP, ONVIF WS-Discovery, RTSP to the recorder,
  `Server: App-webs/` to an operator's browser; two of them beacon to the EZVIZ and
  Hik-Connect clouds), four Dahua cameras (TCP 37777 from the recorder; one uses the Easy4IP
  P2P cloud on UDP 8800), one Hikvision camera relabelled as LTS, and the recorder.
* Scanner VLAN 30: a Nuctech X-ray container scanner pushing images to its workstation.
* Crane VLAN 40: two Siemens crane PLCs polled over S7comm by an operator station, and a
  Teltonika cellular router that one PLC uses as a second gateway to a public address.
* Office (untagged): three Windows workstations, a domain controller/DNS server, a Cisco
  switch speaking CDP and LLDP, IPv6 (SLAAC, DNS and TLS over IPv6), and hostile strings
  (`<script>` user agent, markup in a DHCP host name) to prove that outputs escape.

Same seed and scale give the same bytes (no clock, no unseeded randomness).
"""

from __future__ import annotations

import hashlib
import random
import struct
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import dpkt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from vendorwatch.demo.packets import (
    BROADCAST,
    DHCP_ACK,
    DHCP_DISCOVER,
    DHCP_OFFER,
    DHCP_REQUEST,
    TLS_APPDATA,
    US,
    ZERO_MAC,
    Capture,
    Endpoint,
    TcpConnection,
    arp_frame,
    dhcp_message,
    dns_query,
    dns_response,
    eui64_address,
    icmp6_frame,
    ip_bytes,
    llc_frame,
    mac,
    multicast_mac,
    tls_client_finish,
    tls_client_hello,
    tls_record,
    tls_server_finish,
    tls_server_flight,
    udp_frame,
)

SITE = "Terminal West"
START = datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC)
DURATION_S = 2 * 3600

VLAN_CCTV, VLAN_SCANNER, VLAN_CRANE = 20, 30, 40
OFFICE_V6_PREFIX = "2001:db8:10::"  # documentation prefix: synthetic

HOSTILE_USER_AGENT = "<script>alert(1)</script>"
HOSTILE_HOSTNAME = "TW-ADM-03<b>&\"'"


@dataclass(frozen=True)
class PlantedDevice:
    """One device planted in the demo capture and what identification should find."""

    name: str
    ip: str
    mac: str
    manufacturer: str  # the real maker, as a plain name
    brand: str  # the name on the box (differs from manufacturer for a relabel)
    model: str | None
    device_class: str  # camera, recorder, x-ray-scanner, plc, cellular-router, workstation, ...
    vlan: int | None
    hostname: str | None  # DHCP host name (option 12), None for static addresses
    clouds: tuple[str, ...] = ()  # vendor-cloud host names the device calls
    ipv6: tuple[str, ...] = ()


@dataclass(frozen=True)
class DemoTruth:
    """What `write_terminal_capture` planted: the answer key for tests and the demo."""

    site: str
    start: datetime
    end: datetime
    seed: int
    scale: int
    devices: tuple[PlantedDevice, ...]
    cloud_addresses: tuple[tuple[str, str], ...]  # (host name, address) answered by DNS
    remote_peer: str  # public address reached through the cellular router
    hostile_user_agent: str = HOSTILE_USER_AGENT
    hostile_hostname: str = HOSTILE_HOSTNAME
    packets: int = 0

    def device(self, ip: str) -> PlantedDevice:
        for dev in self.devices:
            if dev.ip == ip:
                return dev
        raise KeyError(ip)

    def of_class(self, device_class: str) -> tuple[PlantedDevice, ...]:
        return tuple(d for d in self.devices if d.device_class == device_class)

    def made_by(self, manufacturer: str) -> tuple[PlantedDevice, ...]:
        return tuple(d for d in self.devices if d.manufacturer == manufacturer)

    def cloud_address(self, host: str) -> str:
        return dict(self.cloud_addresses)[host]


# --- the planted devices ---------------------------------------------------------------------

EZVIZ_API = "apiieu.ezvizlife.com"
HIK_CONNECT = "www.hik-connect.com"
EASY4IP = "www.easy4ipcloud.com"

GATEWAY = PlantedDevice(
    "tw-gw01", "10.10.0.1", "00:1a:a1:3c:5e:01", "Cisco", "Cisco", None, "router", None, None
)
SWITCH = PlantedDevice(
    "tw-core-sw01", "10.10.0.2", "70:1f:53:8a:41:80", "Cisco", "Cisco",
    "WS-C2960X-48FPD-L", "switch", None, None,
)
DC = PlantedDevice(
    "tw-dc01", "10.10.0.10", "b0:83:fe:10:0a:10", "Dell", "Dell", None, "server", None, None,
    ipv6=(OFFICE_V6_PREFIX + "10",),
)
WS_OPS_1 = PlantedDevice(
    "tw-ops-01", "10.10.0.21", "18:66:da:5e:21:01", "Dell", "Dell", None, "workstation",
    None, "TW-OPS-01",
)
WS_OPS_2 = PlantedDevice(
    "tw-ops-02", "10.10.0.22", "f8:bc:12:7a:22:02", "Dell", "Dell", None, "workstation",
    None, "TW-OPS-02",
    ipv6=(
        eui64_address("fe80::", mac("f8:bc:12:7a:22:02")),
        eui64_address(OFFICE_V6_PREFIX, mac("f8:bc:12:7a:22:02")),
    ),
)
WS_ADMIN = PlantedDevice(
    "tw-adm-03", "10.10.0.23", "d4:be:d9:3c:23:03", "Dell", "Dell", None, "workstation",
    None, HOSTILE_HOSTNAME,
    ipv6=(
        eui64_address("fe80::", mac("d4:be:d9:3c:23:03")),
        eui64_address(OFFICE_V6_PREFIX, mac("d4:be:d9:3c:23:03")),
    ),
)
RECORDER = PlantedDevice(
    "tw-vms01", "10.20.0.5", "b0:83:fe:41:05:05", "Dell", "Dell", None, "server",
    VLAN_CCTV, "tw-vms01",
)


def _camera(
    n: int, ip: str, hw: str, maker: str, model: str, host: str, clouds: tuple[str, ...] = ()
) -> PlantedDevice:
    return PlantedDevice(
        f"cam-{n:02d}", ip, hw, maker, maker, model, "camera", VLAN_CCTV, host, clouds
    )


HIK_CAMERAS = (
    _camera(1, "10.20.0.11", "bc:ad:28:4e:11:01", "Hikvision", "DS-2CD2143G0-I",
            "cctv-quay-01", (EZVIZ_API,)),
    _camera(2, "10.20.0.12", "bc:ad:28:4e:12:02", "Hikvision", "DS-2CD2143G0-I",
            "cctv-quay-02", (HIK_CONNECT,)),
    _camera(3, "10.20.0.13", "bc:ad:28:4e:13:03", "Hikvision", "DS-2CD2387G2-LU",
            "cctv-quay-03"),
    _camera(4, "10.20.0.14", "44:19:b6:7c:14:04", "Hikvision", "DS-2DE4425IW-DE",
            "cctv-yard-01"),
    _camera(5, "10.20.0.15", "44:19:b6:7c:15:05", "Hikvision", "DS-2CD2T47G2-L",
            "cctv-yard-02"),
    _camera(6, "10.20.0.16", "44:19:b6:7c:16:06", "Hikvision", "DS-2CD2043G2-I",
            "cctv-yard-03"),
)
DAHUA_CAMERAS = (
    _camera(7, "10.20.0.21", "3c:ef:8c:19:21:07", "Dahua", "IPC-HFW2431S-S-S2", "cctv-gate-01"),
    _camera(8, "10.20.0.22", "e0:50:8b:2a:22:08", "Dahua", "IPC-HDW2431T-AS-S2", "cctv-gate-02"),
    _camera(9, "10.20.0.23", "9c:14:63:3b:23:09", "Dahua", "IPC-HFW5442E-ZE", "cctv-gate-03",
            (EASY4IP,)),
    _camera(10, "10.20.0.24", "3c:ef:8c:19:24:0a", "Dahua", "SD49425XB-HNR", "cctv-gate-04"),
)
LTS_CAMERA = PlantedDevice(
    "cam-11", "10.20.0.31", "4c:bd:8f:5d:31:0b", "Hikvision", "LTS", "CMIP3142W-28M",
    "camera", VLAN_CCTV, "LTS-CAM-01",
)
SCANNER = PlantedDevice(
    "xray-scanner-01", "10.30.0.20", "c0:9b:f4:b1:6e:20", "Nuctech", "Nuctech", None,
    "x-ray-scanner", VLAN_SCANNER, "xray-scanner-01",
)
IMAGE_WS = PlantedDevice(
    "xray-image-ws01", "10.30.0.50", "a4:4c:c8:30:50:01", "Dell", "Dell", None,
    "workstation", VLAN_SCANNER, "xray-image-ws01",
)
PLC_1 = PlantedDevice(
    "crane-sts01-plc", "10.40.0.11", "00:1b:1b:6a:11:01", "Siemens", "Siemens", "S7-1500",
    "plc", VLAN_CRANE, None,
)
PLC_2 = PlantedDevice(
    "crane-sts02-plc", "10.40.0.12", "00:1b:1b:6a:12:02", "Siemens", "Siemens", "S7-1500",
    "plc", VLAN_CRANE, None,
)
CRANE_OPS = PlantedDevice(
    "crane-ops-01", "10.40.0.50", "18:66:da:40:50:01", "Dell", "Dell", None, "workstation",
    VLAN_CRANE, "crane-ops-01",
)
CELL_ROUTER = PlantedDevice(
    "crane-rut955", "10.40.0.254", "00:1e:42:2b:fe:01", "Teltonika", "Teltonika", "RUT955",
    "cellular-router", VLAN_CRANE, "RUT955",
)

DEVICES: tuple[PlantedDevice, ...] = (
    GATEWAY, SWITCH, DC, WS_OPS_1, WS_OPS_2, WS_ADMIN, RECORDER,
    *HIK_CAMERAS, *DAHUA_CAMERAS, LTS_CAMERA,
    SCANNER, IMAGE_WS, PLC_1, PLC_2, CRANE_OPS, CELL_ROUTER,
)

# Public addresses: synthetic choices, see the module docstring.
CLOUD_ADDRESSES: dict[str, str] = {
    EZVIZ_API: "120.55.180.33",  # geoip2fast: CN (Hangzhou)
    HIK_CONNECT: "116.62.100.21",  # geoip2fast: CN (Hangzhou)
    EASY4IP: "47.96.10.20",  # geoip2fast: CN (Hangzhou)
}
WINDOWS_ADDRESSES: dict[str, str] = {
    "fe2cr.update.microsoft.com": "52.167.17.97",
    "login.microsoftonline.com": "20.190.159.2",
    "www.office.com": "13.107.246.60",
    "www.msftconnecttest.com": "13.107.4.52",
    "ctldl.windowsupdate.com": "23.52.10.5",
}
WINDOWS_V6 = ("www.microsoft.com", "2a02:26f0:fd::5c")  # geoip2fast: NL (Akamai)
REMOTE_PEER = "58.246.10.20"  # geoip2fast: CN (Shanghai)
INTRANET = ("intranet.terminal-west.internal", DC.ip)

SUBNET_GATEWAY = {None: "10.10.0.1", VLAN_CCTV: "10.20.0.1", VLAN_SCANNER: "10.30.0.1",
                  VLAN_CRANE: "10.40.0.1"}

CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36"
)
EDGE_UA = CHROME_UA + " Edg/122.0.0.0"
WINDOWS_CIPHERS = (0xC02C, 0xC02B, 0xC030, 0xC02F, 0xC024, 0xC023, 0xC028, 0xC027, 0x009D,
                   0x009C, 0x003D, 0x003C, 0x0035, 0x002F)
CAMERA_CIPHERS = (0xC02F, 0xC030, 0xC02B, 0xC02C, 0x009E, 0x009F)
WINDOWS_PARAMS = bytes([1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252])
LINUX_PARAMS = bytes([1, 3, 6, 12, 15, 28, 42])

CISCO_SOFTWARE = (
    "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E8, "
    "RELEASE SOFTWARE (fc2)"
)


def write_terminal_capture(path: Path, *, seed: int = 7, scale: int = 1) -> DemoTruth:
    """Write the Terminal West capture to `path` (pcap) and return what was planted.

    The same `seed` and `scale` always give the same bytes; `scale` multiplies the volume of
    the recurring traffic (polls, beacons, scans, browsing) within the same two hours."""
    if scale < 1:
        raise ValueError("scale must be at least 1")
    builder = _Terminal(seed, scale)
    builder.build()
    packets = builder.cap.write(Path(path))
    return DemoTruth(
        site=SITE,
        start=START,
        end=START + timedelta(seconds=DURATION_S),
        seed=seed,
        scale=scale,
        devices=DEVICES,
        cloud_addresses=tuple(sorted(CLOUD_ADDRESSES.items())),
        remote_peer=REMOTE_PEER,
        packets=packets,
    )


# --- certificates ----------------------------------------------------------------------------


def _key(label: str, seed: int) -> Ed25519PrivateKey:
    material = hashlib.sha256(f"vendorwatch-demo-key:{label}:{seed}".encode()).digest()
    return Ed25519PrivateKey.from_private_bytes(material)


def _name(common_name: str, org: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


class DemoPki:
    """A made-up CA and deterministic Ed25519 leaf certificates (Ed25519 signatures are
    deterministic, and every other field is fixed)."""

    NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
    NOT_AFTER = datetime(2027, 1, 1, tzinfo=UTC)

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.ca_key = _key("ca", seed)
        self.ca_name = _name("vendorwatch synthetic demo CA", "vendorwatch demo")
        self.ca_der = self._issue(self.ca_name, self.ca_key, [], ca=True)
        self.leaves: dict[str, tuple[list[bytes], Ed25519PrivateKey]] = {}

    def _issue(
        self, subject: x509.Name, key: Ed25519PrivateKey, sans: list[str], ca: bool = False
    ) -> bytes:
        serial = int.from_bytes(
            hashlib.sha256(f"{subject.rfc4514_string()}:{self.seed}".encode()).digest()[:8],
            "big",
        )
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.ca_name)
            .public_key(key.public_key())
            .serial_number(serial | 1)
            .not_valid_before(self.NOT_BEFORE)
            .not_valid_after(self.NOT_AFTER)
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if sans:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(s) for s in sans]), critical=False
            )
        return builder.sign(self.ca_key, None).public_bytes(Encoding.DER)

    def chain(
        self, host: str, extra_sans: Iterable[str] = ()
    ) -> tuple[list[bytes], Ed25519PrivateKey]:
        """Leaf (CN=host) then CA certificate, and the leaf's key."""
        if host not in self.leaves:
            key = _key(host, self.seed)
            leaf = self._issue(_name(host), key, [host, *extra_sans])
            self.leaves[host] = ([leaf, self.ca_der], key)
        return self.leaves[host]


# --- protocol payloads -------------------------------------------------------------------------


def _onvif_probe(message_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:w="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        f"<e:Header><w:MessageID>uuid:{message_id}</w:MessageID>"
        "<w:To e:mustUnderstand=\"true\">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>"
        '<w:Action e:mustUnderstand="true">'
        "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action></e:Header>"
        "<e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></e:Body>"
        "</e:Envelope>"
    ).encode()


def _onvif_match(
    message_id: str, relates_to: str | None, device_uuid: str, scopes: str, ip: str
) -> bytes:
    """A WS-Discovery Hello (multicast, relates_to None) or ProbeMatch (unicast answer)."""
    relates = f"<wsa:RelatesTo>uuid:{relates_to}</wsa:RelatesTo>" if relates_to else ""
    action = "ProbeMatches" if relates_to else "Hello"
    endpoint = (
        f"<wsa:EndpointReference><wsa:Address>urn:uuid:{device_uuid}</wsa:Address>"
        "</wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types>"
        f"<d:Scopes>{scopes}</d:Scopes>"
        f"<d:XAddrs>http://{ip}/onvif/device_service</d:XAddrs>"
        "<d:MetadataVersion>10</d:MetadataVersion>"
    )
    body = (
        f"<d:ProbeMatches><d:ProbeMatch>{endpoint}</d:ProbeMatch></d:ProbeMatches>"
        if relates_to
        else f"<d:Hello>{endpoint}</d:Hello>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
        f"<env:Header><wsa:MessageID>uuid:{message_id}</wsa:MessageID>{relates}"
        '<wsa:To env:mustUnderstand="true">'
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:To>"
        '<wsa:Action env:mustUnderstand="true">'
        f"http://schemas.xmlsoap.org/ws/2005/04/discovery/{action}</wsa:Action></env:Header>"
        f"<env:Body>{body}</env:Body></env:Envelope>"
    ).encode()


def onvif_scopes(dev: PlantedDevice) -> str:
    """The ONVIF scopes a camera announces: its brand's name and its model."""
    name = {"Hikvision": "HIKVISION", "Dahua": "Dahua"}.get(dev.brand, dev.brand)
    return " ".join(
        (
            "onvif://www.onvif.org/type/video_encoder",
            "onvif://www.onvif.org/Profile/Streaming",
            f"onvif://www.onvif.org/name/{name}",
            f"onvif://www.onvif.org/hardware/{dev.model}",
        )
    )


def _http_date(ts_us: int) -> str:
    return formatdate(ts_us // US, usegmt=True)


def _tpkt_cotp(cotp: bytes, payload: bytes = b"") -> bytes:
    body = bytes([len(cotp)]) + cotp + payload
    return struct.pack("!BBH", 3, 0, 4 + len(body)) + body


def s7_connect_request(dst_tsap: int) -> bytes:
    """TPKT + COTP connection request (CR) with source/destination TSAPs, TPDU size 1024."""
    params = b"\xc1\x02\x01\x00" + b"\xc2\x02" + struct.pack("!H", dst_tsap) + b"\xc0\x01\x0a"
    return _tpkt_cotp(b"\xe0\x00\x00\x00\x01\x00" + params)


def s7_connect_confirm(dst_tsap: int) -> bytes:
    params = b"\xc1\x02\x01\x00" + b"\xc2\x02" + struct.pack("!H", dst_tsap) + b"\xc0\x01\x0a"
    return _tpkt_cotp(b"\xd0\x00\x01\x00\x02\x00" + params)


def s7_pdu(rosctr: int, pdu_ref: int, params: bytes, data: bytes = b"") -> bytes:
    """TPKT + COTP DT + S7comm header (job 1, ack-data 3) + parameters + data."""
    header = struct.pack("!BBHHHH", 0x32, rosctr, 0, pdu_ref, len(params), len(data))
    if rosctr == 3:
        header += b"\x00\x00"  # error class, error code
    return _tpkt_cotp(b"\xf0\x80", header + params + data)


S7_SETUP = b"\xf0\x00\x00\x01\x00\x01\x01\xe0"  # setup communication, PDU 480


def s7_read_request(db: int, start: int, length: int) -> bytes:
    item = b"\x12\x0a\x10\x02" + struct.pack("!HHB", length, db, 0x84)
    item += (start * 8).to_bytes(3, "big")
    return b"\x04\x01" + item


def s7_read_data(values: bytes) -> bytes:
    return b"\xff\x04" + struct.pack("!H", len(values) * 8) + values


def s7_write_request(db: int, start: int, values: bytes) -> tuple[bytes, bytes]:
    item = b"\x12\x0a\x10\x02" + struct.pack("!HHB", len(values), db, 0x84)
    item += (start * 8).to_bytes(3, "big")
    return b"\x05\x01" + item, b"\x00\x04" + struct.pack("!H", len(values) * 8) + values


def _ber(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = len(body).to_bytes((len(body).bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _ber_int(value: int) -> bytes:
    return _ber(0x02, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


SYS_DESCR_OID = b"\x2b\x06\x01\x02\x01\x01\x01\x00"
SYS_NAME_OID = b"\x2b\x06\x01\x02\x01\x01\x05\x00"


def snmp_message(pdu_tag: int, request_id: int, community: bytes,
                 bindings: list[tuple[bytes, bytes | None]]) -> bytes:
    """SNMPv2c GetRequest (0xA0, values None) or GetResponse (0xA2) with octet strings."""
    varbinds = b"".join(
        _ber(0x30, _ber(0x06, oid) + (_ber(0x04, value) if value is not None else b"\x05\x00"))
        for oid, value in bindings
    )
    pdu = _ber(pdu_tag, _ber_int(request_id) + _ber_int(0) + _ber_int(0) + _ber(0x30, varbinds))
    return _ber(0x30, _ber_int(1) + _ber(0x04, community) + pdu)


def _ssh_string(value: bytes) -> bytes:
    return struct.pack("!I", len(value)) + value


def ssh_packet(rng: random.Random, payload: bytes, block: int = 8) -> bytes:
    """An unencrypted SSH binary packet (RFC 4253 section 6) with random padding."""
    padding = block - (5 + len(payload)) % block
    if padding < 4:
        padding += block
    return struct.pack("!IB", 1 + len(payload) + padding, padding) + payload + rng.randbytes(
        padding
    )


def ssh_kexinit(rng: random.Random, client: bool) -> bytes:
    kex = (
        b"curve25519-sha256,ecdh-sha2-nistp256,diffie-hellman-group14-sha256"
        if client
        else b"ecdh-sha2-nistp256,diffie-hellman-group14-sha1"
    )
    host_key = b"ssh-ed25519,rsa-sha2-512,rsa-sha2-256" if client else b"rsa-sha2-256,ssh-rsa"
    cipher = b"aes256-ctr,aes128-ctr" if client else b"aes128-ctr,aes192-ctr,aes256-ctr"
    mac_alg = b"hmac-sha2-256,hmac-sha1" if client else b"hmac-sha2-256,hmac-sha2-512,hmac-sha1"
    lists = [kex, host_key, cipher, cipher, mac_alg, mac_alg, b"none", b"none", b"", b""]
    return (
        b"\x14"
        + rng.randbytes(16)
        + b"".join(_ssh_string(v) for v in lists)
        + b"\x00"
        + b"\x00\x00\x00\x00"
    )


def lldp_frame(src: bytes, system_name: str, description: str, port: str, mgmt_ip: str) -> bytes:
    def tlv(kind: int, value: bytes) -> bytes:
        return struct.pack("!H", (kind << 9) | len(value)) + value

    mgmt = b"\x05\x01" + ip_bytes(mgmt_ip) + b"\x02" + struct.pack("!I", 1) + b"\x00"
    body = (
        tlv(1, b"\x04" + src)
        + tlv(2, b"\x05" + port.encode())
        + tlv(3, struct.pack("!H", 120))
        + tlv(4, f"GigabitEthernet{port[2:]}".encode())
        + tlv(5, system_name.encode())
        + tlv(6, description.encode())
        + tlv(7, struct.pack("!HH", 0x0014, 0x0004))
        + tlv(8, mgmt)
        + tlv(0, b"")
    )
    eth = dpkt.ethernet.Ethernet(src=src, dst=b"\x01\x80\xc2\x00\x00\x0e", type=0x88CC, data=body)
    return bytes(eth)


def cdp_frame(src: bytes, device_id: str, software: str, platform: str, port: str,
              address: str) -> bytes:
    tlv = dpkt.cdp.CDP.TLV
    addresses = dpkt.cdp.CDP.TLV_Addresses(
        data=bytes(dpkt.cdp.CDP.Address(data=ip_bytes(address)))
    )
    addresses.len = len(addresses)
    tlvs = [
        tlv(type=dpkt.cdp.CDP_DEVID, data=device_id.encode()),
        addresses,
        tlv(type=dpkt.cdp.CDP_PORTID, data=port.encode()),
        tlv(type=dpkt.cdp.CDP_CAPABILITIES, data=struct.pack("!I", 0x28)),
        tlv(type=dpkt.cdp.CDP_VERSION, data=software.encode()),
        tlv(type=dpkt.cdp.CDP_PLATFORM, data=platform.encode()),
        tlv(type=dpkt.cdp.CDP_NATIVE_VLAN, data=struct.pack("!H", 1)),
        tlv(type=dpkt.cdp.CDP_DUPLEX, data=b"\x01"),
    ]
    cdp = dpkt.cdp.CDP(version=2, ttl=180, data=b"".join(bytes(t) for t in tlvs))
    snap = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00"
    return llc_frame(src, b"\x01\x00\x0c\xcc\xcc\xcc", snap + bytes(cdp))


# --- the builder -------------------------------------------------------------------------------


class _Terminal:
    def __init__(self, seed: int, scale: int) -> None:
        self.rng = random.Random(seed)
        self.scale = scale
        self.cap = Capture()
        self.pki = DemoPki(seed)
        self.t0 = int(START.timestamp()) * US
        self.end = self.t0 + DURATION_S * US
        self.gw_mac = mac(GATEWAY.mac)
        self._ports: dict[str, int] = {}
        self._dns_id = self.rng.getrandbits(16)
        self._resolved: dict[tuple[str, str], int] = {}

    # time and identifiers

    def at(self, seconds: float) -> int:
        return self.t0 + int(seconds * US)

    def every(self, base_s: float, first_s: float, jitter_s: float = 0.0) -> Iterable[int]:
        """Times from `first_s` every `base_s / scale` seconds (± jitter) until the end."""
        step = base_s / self.scale
        t = first_s
        while True:
            moment = self.at(t + (self.rng.uniform(-jitter_s, jitter_s) if jitter_s else 0.0))
            if moment >= self.end - 30 * US:
                return
            yield moment
            t += step

    def port(self, ip: str) -> int:
        """The next ephemeral port of `ip` (per-host counter, deterministic start)."""
        if ip not in self._ports:
            self._ports[ip] = 49_152 + int.from_bytes(hashlib.sha256(ip.encode()).digest()[:2])
        value = self._ports[ip]
        self._ports[ip] = 49_152 if value >= 65_535 else value + 1
        return min(value, 65_535)

    def dns_id(self) -> int:
        self._dns_id = (self._dns_id + 1 + self.rng.getrandbits(4)) & 0xFFFF
        return self._dns_id

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # endpoints as seen on each segment

    def here(self, dev: PlantedDevice, port: int = 0) -> Endpoint:
        ttl = 128 if dev.device_class in ("workstation", "server") else 64
        return Endpoint(dev.ip, mac(dev.mac), port, ttl)

    def remote(self, ip: str, port: int, ttl: int = 52, via: str | None = None) -> Endpoint:
        """A host beyond a router: its frames carry the router's MAC on this segment."""
        return Endpoint(ip, mac(via) if via else self.gw_mac, port, ttl)

    def tcp(self, client: Endpoint, server: Endpoint, vlan: int | None, rtt_us: int,
            window: int = 64_240) -> TcpConnection:
        return TcpConnection(
            self.cap, client, server, isn_client=self.rng.getrandbits(32),
            isn_server=self.rng.getrandbits(32), rtt_us=rtt_us, vlan=vlan,
            ident=self.rng.getrandbits(16), window=window,
        )

    # building blocks

    def dhcp(self, ts: int, dev: PlantedDevice, options: list[tuple[int, bytes]]) -> int:
        """DISCOVER, OFFER, REQUEST, ACK; returns the time of the ACK."""
        hw = mac(dev.mac)
        server_ip = SUBNET_GATEWAY[dev.vlan]
        xid = self.rng.getrandbits(32)
        client = Endpoint("0.0.0.0", hw, 68)
        bcast = Endpoint("255.255.255.255", BROADCAST, 67)
        server = Endpoint(server_ip, self.gw_mac, 67, 255)
        to_client = Endpoint(dev.ip, hw, 68)
        subnet_opts = [
            (1, ip_bytes("255.255.255.0")),
            (3, ip_bytes(server_ip)),
            (6, ip_bytes(DC.ip)),
            (15, b"terminal-west.internal"),
            (51, struct.pack("!I", 86_400)),
            (54, ip_bytes(server_ip)),
        ]
        t = ts
        self.cap.add(t, udp_frame(client, bcast, dhcp_message(1, DHCP_DISCOVER, xid, hw,
                                                              options), dev.vlan))
        t += 2_000 + self.rng.randrange(3_000)
        self.cap.add(t, udp_frame(server, to_client, dhcp_message(
            2, DHCP_OFFER, xid, hw, subnet_opts, yiaddr=dev.ip, siaddr=server_ip), dev.vlan))
        t += 5_000 + self.rng.randrange(20_000)
        request_opts = [(50, ip_bytes(dev.ip)), (54, ip_bytes(server_ip)), *options]
        self.cap.add(t, udp_frame(client, bcast, dhcp_message(1, DHCP_REQUEST, xid, hw,
                                                              request_opts), dev.vlan))
        t += 2_000 + self.rng.randrange(3_000)
        self.cap.add(t, udp_frame(server, to_client, dhcp_message(
            2, DHCP_ACK, xid, hw, subnet_opts, yiaddr=dev.ip, siaddr=server_ip), dev.vlan))
        return t

    def arp(self, ts: int, asker: PlantedDevice, target_ip: str, target_mac: bytes,
            vlan: int | None) -> int:
        self.cap.add(ts, arp_frame(1, mac(asker.mac), asker.ip, ZERO_MAC, target_ip,
                                   BROADCAST, vlan))
        t = ts + 150 + self.rng.randrange(400)
        self.cap.add(t, arp_frame(2, target_mac, target_ip, mac(asker.mac), asker.ip,
                                  mac(asker.mac), vlan))
        return t

    def gratuitous_arp(self, ts: int, dev: PlantedDevice) -> None:
        self.cap.add(ts, arp_frame(1, mac(dev.mac), dev.ip, ZERO_MAC, dev.ip, BROADCAST,
                                   dev.vlan))

    def resolve(self, ts: int, dev: PlantedDevice, name: str, address: str, ttl: int = 600,
                server: str | None = None) -> int:
        """A DNS query and its answer unless the answer is still cached; returns end time."""
        key = (dev.ip, name)
        if self._resolved.get(key, 0) > ts:
            return ts
        self._resolved[key] = ts + ttl * US
        v6 = ":" in address and server is not None
        qtype = dpkt.dns.DNS_AAAA if ":" in address else dpkt.dns.DNS_A
        if v6:
            assert server is not None
            client = Endpoint(dev.ipv6[1], mac(dev.mac), self.port(dev.ip), 128)
            resolver = Endpoint(server, mac(DC.mac), 53, 128)
        else:
            client = self.here(dev, self.port(dev.ip))
            same_lan = dev.vlan is None
            resolver = Endpoint(DC.ip, mac(DC.mac) if same_lan else self.gw_mac, 53,
                                128 if same_lan else 127)
        ident = self.dns_id()
        self.cap.add(ts, udp_frame(client, resolver, dns_query(ident, name, qtype), dev.vlan))
        t = ts + 800 + self.rng.randrange(30_000)
        self.cap.add(t, udp_frame(resolver, client, dns_response(ident, name, [address], ttl),
                                  dev.vlan))
        return t

    def tls_session(
        self,
        ts: int,
        client: Endpoint,
        server: Endpoint,
        sni: str,
        vlan: int | None,
        rtt_us: int,
        *,
        ciphers: Iterable[int],
        alpn: Iterable[str] = (),
        request: int = 400,
        response: int = 900,
        extra_sans: Iterable[str] = (),
    ) -> int:
        """TCP handshake, TLS 1.2 full handshake with the server's certificate chain, one
        request and response of application data, FIN close."""
        rng = self.rng
        conn = self.tcp(client, server, vlan, rtt_us)
        t = conn.open(ts)
        client_random = rng.randbytes(32)
        t = conn.send(t + 40, tls_client_hello(client_random, sni, ciphers, alpn,
                                               rng.randbytes(32)), True)
        chain, key = self.pki.chain(sni, extra_sans)
        server_random = rng.randbytes(32)
        share = rng.randbytes(32)
        params = struct.pack("!BHB", 3, 0x001D, 32) + share
        signature = key.sign(client_random + server_random + params)
        flight = tls_server_flight(server_random, rng.randbytes(32), chain, share, signature)
        t = conn.send(t + rtt_us // 2 + 300, flight, False)
        t = conn.send(t + 300, tls_client_finish(rng.randbytes(32), rng.randbytes(40)), True)
        t = conn.send(t + rtt_us // 2 + 200, tls_server_finish(rng.randbytes(40)), False)
        t = conn.send(t + 200, self._appdata(request), True)
        t = conn.send(t + rtt_us // 2 + 2_000 + rng.randrange(20_000), self._appdata(response),
                      False)
        return conn.close(t + 5_000 + rng.randrange(50_000), from_client=True)

    def _appdata(self, size: int) -> bytes:
        out = b""
        while size > 0:
            chunk = min(size, 16_384)
            out += tls_record(TLS_APPDATA, self.rng.randbytes(chunk))
            size -= chunk
        return out

    def http(self, ts: int, client: Endpoint, server: Endpoint, vlan: int | None, rtt_us: int,
             request: bytes, response: bytes) -> int:
        conn = self.tcp(client, server, vlan, rtt_us)
        t = conn.open(ts)
        t = conn.exchange(t + 30, request, response, think_us=rtt_us // 2 + 1_500)
        return conn.close(t + 2_000, from_client=False)

    # scenario

    def build(self) -> None:
        self.boot()
        self.switch_discovery()
        self.router_advertisements()
        self.periodic_arp()
        self.onvif()
        self.rtsp_recording()
        self.dahua_sdk()
        self.camera_web_ui()
        self.hik_cloud_beacons()
        self.easy4ip()
        self.scanner()
        self.cranes()
        self.cellular_path()
        self.office()
        self.ipv6_office()

    def boot(self) -> None:
        """DHCP for every dynamic host, gratuitous ARP for static ones, ONVIF Hello."""
        for i, dev in enumerate(DEVICES):
            start = self.at(5 + i * 1.3 + self.rng.uniform(0, 1))
            if dev.hostname is None:
                self.gratuitous_arp(start, dev)
                continue
            host = dev.hostname.encode()
            if dev.device_class in ("workstation", "server"):
                options = [(61, b"\x01" + mac(dev.mac)), (12, host), (81, b"\x00\x00\x00" + host),
                           (60, b"MSFT 5.0"), (55, WINDOWS_PARAMS)]
            elif dev is CELL_ROUTER:
                options = [(61, b"\x01" + mac(dev.mac)), (12, host), (60, b"udhcp 1.34.1"),
                           (55, LINUX_PARAMS)]
            else:
                options = [(61, b"\x01" + mac(dev.mac)), (12, host), (55, LINUX_PARAMS)]
            t = self.dhcp(start, dev, options)
            self.gratuitous_arp(t + 20_000, dev)
            self.arp(t + 60_000, dev, SUBNET_GATEWAY[dev.vlan], self.gw_mac, dev.vlan)
            if dev.device_class == "camera":
                hello = _onvif_match(self.uuid(), None, self._device_uuid(dev),
                                     onvif_scopes(dev), dev.ip)
                group = Endpoint("239.255.255.250", multicast_mac("239.255.255.250"), 3702, 1)
                self.cap.add(t + 900_000, udp_frame(self.here(dev, 3702), group, hello,
                                                    dev.vlan))

    def _device_uuid(self, dev: PlantedDevice) -> str:
        return str(uuid.UUID(bytes=hashlib.sha256(dev.mac.encode()).digest()[:16], version=4))

    def switch_discovery(self) -> None:
        src = mac(SWITCH.mac)
        for t in self.every(60, 20):
            self.cap.add(t, cdp_frame(src, "tw-core-sw01.terminal-west.internal",
                                      CISCO_SOFTWARE, "cisco " + (SWITCH.model or ""),
                                      "GigabitEthernet1/0/48", SWITCH.ip))
        for t in self.every(30, 7):
            self.cap.add(t, lldp_frame(src, "tw-core-sw01", CISCO_SOFTWARE, "Gi1/0/48",
                                       SWITCH.ip))

    def router_advertisements(self) -> None:
        gw_ll = Endpoint(eui64_address("fe80::", self.gw_mac), self.gw_mac, 0, 255)
        all_nodes = Endpoint("ff02::1", multicast_mac("ff02::1"), 0, 255)
        prefix = (
            struct.pack("!BBBB", 3, 4, 64, 0xC0)
            + struct.pack("!III", 2_592_000, 604_800, 0)
            + ip_bytes(OFFICE_V6_PREFIX)
        )
        rdnss = struct.pack("!BBHI", 25, 3, 0, 1_800) + ip_bytes(DC.ipv6[0])
        body = struct.pack("!BBHII", 64, 0, 1_800, 0, 0) + b"\x01\x01" + self.gw_mac
        body += prefix + rdnss
        for t in self.every(200, 3):
            self.cap.add(t, icmp6_frame(gw_ll, all_nodes, 134, body))

    def periodic_arp(self) -> None:
        for dev in DEVICES:
            if dev in (GATEWAY, SWITCH):
                continue
            for t in self.every(1_200, 300 + self.rng.uniform(0, 600), 30):
                self.arp(t, dev, SUBNET_GATEWAY[dev.vlan], self.gw_mac, dev.vlan)

    def onvif(self) -> None:
        vms = self.here(RECORDER)
        group = Endpoint("239.255.255.250", multicast_mac("239.255.255.250"), 3702, 1)
        cameras = (*HIK_CAMERAS, *DAHUA_CAMERAS, LTS_CAMERA)
        for t in self.every(900, 120, 5):
            probe_id = self.uuid()
            prober = vms.at(self.port(RECORDER.ip))
            self.cap.add(t, udp_frame(prober, group, _onvif_probe(probe_id), VLAN_CCTV))
            for cam in cameras:
                answer = _onvif_match(self.uuid(), probe_id,
                                      self._device_uuid(cam), onvif_scopes(cam), cam.ip)
                delay = 20_000 + self.rng.randrange(400_000)
                self.cap.add(t + delay, udp_frame(self.here(cam, 3702), prober, answer,
                                                  VLAN_CCTV))

    def rtsp_recording(self) -> None:
        """The recorder pulls RTSP from the Hikvision-made cameras: DESCRIBE/200 (SDP),
        SETUP, PLAY, interleaved RTP, TEARDOWN; reconnecting every half hour."""
        for cam in (*HIK_CAMERAS, LTS_CAMERA):
            for t in self.every(1_800, 40 + self.rng.uniform(0, 40), 3):
                self._rtsp_session(t, cam)

    def _rtsp_session(self, ts: int, cam: PlantedDevice) -> None:
        rng = self.rng
        conn = self.tcp(self.here(RECORDER, self.port(RECORDER.ip)), self.here(cam, 554),
                        VLAN_CCTV, 500)
        url = f"rtsp://{cam.ip}:554/Streaming/Channels/101"
        ua = "Lavf59.27.100"
        t = conn.open(ts)
        sdp = (
            f"v=0\r\no=- {rng.getrandbits(40)} 1 IN IP4 {cam.ip}\r\ns=Media Presentation\r\n"
            "e=NONE\r\nb=AS:5050\r\nt=0 0\r\n"
            f"a=control:{url}/?transportmode=unicast\r\n"
            "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\nb=AS:5000\r\na=recvonly\r\n"
            f"a=control:{url}/trackID=1?transportmode=unicast\r\n"
            "a=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=420029; packetization-mode=1\r\n"
        ).encode()
        session = f"{rng.getrandbits(31)}"
        steps = [
            (f"DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\n"
             f"User-Agent: {ua}\r\n\r\n",
             f"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\n"
             f"Content-Base: {url}/\r\nContent-Length: {len(sdp)}\r\n\r\n"),
            (f"SETUP {url}/trackID=1 RTSP/1.0\r\nCSeq: 3\r\n"
             f"Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nUser-Agent: {ua}\r\n\r\n",
             f"RTSP/1.0 200 OK\r\nCSeq: 3\r\nSession: {session};timeout=60\r\n"
             "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n"),
            (f"PLAY {url} RTSP/1.0\r\nCSeq: 4\r\nSession: {session}\r\nRange: npt=0.000-\r\n"
             f"User-Agent: {ua}\r\n\r\n",
             f"RTSP/1.0 200 OK\r\nCSeq: 4\r\nSession: {session}\r\n"
             f"RTP-Info: url={url}/trackID=1;seq=1;rtptime=0\r\n\r\n"),
        ]
        for i, (request, response) in enumerate(steps):
            body = sdp if i == 0 else b""
            t = conn.exchange(t + 500, request.encode(), response.encode() + body, 3_000)
        seq = rng.getrandbits(16)
        stamp = rng.getrandbits(32)
        for frame in range(8):
            size = 1_380 if frame % 4 else 4_000
            rtp = struct.pack("!BBHII", 0x80, 96, seq & 0xFFFF, stamp & 0xFFFFFFFF, 0x1D2C3B4A)
            payload = rtp + rng.randbytes(size)
            t = conn.send(t + 40_000, b"$\x00" + struct.pack("!H", len(payload)) + payload,
                          False)
            seq += 1
            stamp += 3_600
        teardown = f"TEARDOWN {url} RTSP/1.0\r\nCSeq: 5\r\nSession: {session}\r\n\r\n"
        t = conn.exchange(t + 1_000, teardown.encode(),
                          b"RTSP/1.0 200 OK\r\nCSeq: 5\r\n\r\n", 2_000)
        conn.close(t + 1_000)

    def dahua_sdk(self) -> None:
        """The recorder talks Dahua's own protocol to the Dahua cameras on TCP 37777
        (opaque stand-in bytes behind a 32-byte header starting 0xa0)."""
        for cam in DAHUA_CAMERAS:
            for t in self.every(1_800, 50 + self.rng.uniform(0, 40), 3):
                conn = self.tcp(self.here(RECORDER, self.port(RECORDER.ip)),
                                self.here(cam, 37_777), VLAN_CCTV, 500)
                t2 = conn.open(t)
                login = b"\xa0\x00\x00\x60" + self.rng.randbytes(28) + self.rng.randbytes(64)
                reply = b"\xb0\x00\x00\x78" + self.rng.randbytes(28) + self.rng.randbytes(16)
                t2 = conn.exchange(t2 + 300, login, reply, 4_000)
                for _ in range(6):
                    chunk = b"\xbc\x00\x00\x00" + self.rng.randbytes(2_900)
                    t2 = conn.send(t2 + 40_000, chunk, False)
                conn.close(t2 + 2_000)

    def camera_web_ui(self) -> None:
        """An operator's browser opens the web UI of the Hikvision-made cameras
        (`Server: App-webs/`), seen on the CCTV VLAN, routed from the office."""
        for t in self.every(1_200, 400, 60):
            offset = 0
            for cam in (*HIK_CAMERAS, LTS_CAMERA):
                client = Endpoint(WS_OPS_1.ip, self.gw_mac, self.port(WS_OPS_1.ip), 127)
                request = (
                    f"GET / HTTP/1.1\r\nHost: {cam.ip}\r\nConnection: keep-alive\r\n"
                    "Upgrade-Insecure-Requests: 1\r\n"
                    f"User-Agent: {CHROME_UA}\r\n"
                    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
                    "Accept-Encoding: gzip, deflate\r\nAccept-Language: nl-NL,nl;q=0.9\r\n\r\n"
                ).encode()
                body = (
                    b'<!DOCTYPE html><html><head><meta http-equiv="Refresh" '
                    b'content="0;url=/doc/page/login.asp"></head></html>'
                )
                response = (
                    f"HTTP/1.1 200 OK\r\nDate: {_http_date(t + offset)}\r\nServer: App-webs/\r\n"
                    f"Connection: close\r\nContent-Length: {len(body)}\r\n"
                    "Content-Type: text/html\r\n\r\n"
                ).encode() + body
                self.http(t + offset, client, self.here(cam, 80), VLAN_CCTV, 900, request,
                          response)
                offset += 1_500_000 + self.rng.randrange(2_000_000)

    def hik_cloud_beacons(self) -> None:
        """Two Hikvision cameras call their makers' clouds: DNS, then TLS with SNI to the
        answered address, every five minutes (beacon-like, ±1 s)."""
        for cam in HIK_CAMERAS:
            for host in cam.clouds:
                address = CLOUD_ADDRESSES[host]
                for t in self.every(300, 90 + int(cam.ip.rsplit(".", 1)[1]), 1.0):
                    t2 = self.resolve(t, cam, host, address)
                    client = self.here(cam, self.port(cam.ip))
                    server = self.remote(address, 443, 46)
                    self.tls_session(t2 + 1_000, client, server, host, VLAN_CCTV, 230_000,
                                     ciphers=CAMERA_CIPHERS, request=380, response=620)

    def easy4ip(self) -> None:
        """A Dahua camera registers with the Easy4IP P2P rendezvous on UDP 8800."""
        for cam in DAHUA_CAMERAS:
            for host in cam.clouds:
                address = CLOUD_ADDRESSES[host]
                port = self.port(cam.ip)
                for t in self.every(60, 100, 0.5):
                    t2 = self.resolve(t, cam, host, address, ttl=1_800)
                    client = self.here(cam, port)
                    server = self.remote(address, 8_800, 47)
                    # opaque stand-in for the P2P registration (a fixed 4-byte header)
                    hello = b"\x00\x01\x00\x60" + self.rng.randbytes(92)
                    answer = b"\x00\x02\x00\x40" + self.rng.randbytes(60)
                    self.cap.add(t2 + 500, udp_frame(client, server, hello, VLAN_CCTV))
                    self.cap.add(t2 + 240_000, udp_frame(server, client, answer, VLAN_CCTV))

    def scanner(self) -> None:
        """Each scan, the Nuctech scanner pushes an image to its workstation (TCP bulk on
        the scanner VLAN; port 8100 is this demo's choice). No internet."""
        for t in self.every(600, 200, 30):
            conn = self.tcp(self.here(SCANNER, self.port(SCANNER.ip)),
                            self.here(IMAGE_WS, 8_100), VLAN_SCANNER, 300)
            t2 = conn.open(t)
            header = b"SCAN" + struct.pack("!IQ", self.rng.getrandbits(32), t2)
            t2 = conn.send(t2 + 200, header + self.rng.randbytes(64_000), True, gap_us=15)
            t2 = conn.send(t2 + 2_000, b"OK" + self.rng.randbytes(14), False)
            conn.close(t2 + 500)

    def cranes(self) -> None:
        """The crane operator station polls both PLCs over S7comm (ISO-TSAP, TCP 102)."""
        for n, plc in enumerate((PLC_1, PLC_2)):
            self.arp(self.at(59 + n * 2), CRANE_OPS, plc.ip, mac(plc.mac), VLAN_CRANE)
            conn = self.tcp(self.here(CRANE_OPS, self.port(CRANE_OPS.ip)), self.here(plc, 102),
                            VLAN_CRANE, 600)
            t = conn.open(self.at(60 + n * 2))
            t = conn.exchange(t + 300, s7_connect_request(0x0100), s7_connect_confirm(0x0100),
                              1_000)
            t = conn.exchange(t + 300, s7_pdu(1, 1, S7_SETUP), s7_pdu(3, 1, S7_SETUP), 1_500)
            ref = 2
            for poll in self.every(10, 70 + n * 2, 0.05):
                request = s7_pdu(1, ref, s7_read_request(100 + n, 0, 32))
                values = self.rng.randbytes(32)
                reply = s7_pdu(3, ref, b"\x04\x01", s7_read_data(values))
                conn.exchange(poll, request, reply, 2_000)
                ref = (ref + 1) & 0xFFFF
            conn.close(self.end - 20 * US)

    def cellular_path(self) -> None:
        """PLC 2 uses the Teltonika router as a second gateway: it pushes status to a public
        address over S7comm every 15 minutes, and that address opens an engineering session
        to the PLC at 07:10."""
        via = CELL_ROUTER.mac
        self.arp(self.at(148), PLC_2, CELL_ROUTER.ip, mac(CELL_ROUTER.mac), VLAN_CRANE)
        for t in self.every(900, 150, 2):
            peer = self.remote(REMOTE_PEER, 102, 49, via=via)
            conn = self.tcp(self.here(PLC_2, self.port(PLC_2.ip)), peer, VLAN_CRANE, 310_000)
            t2 = conn.open(t)
            t2 = conn.exchange(t2 + 200, s7_connect_request(0x0200), s7_connect_confirm(0x0200),
                               1_000)
            t2 = conn.exchange(t2 + 200, s7_pdu(1, 1, S7_SETUP), s7_pdu(3, 1, S7_SETUP), 2_000)
            params, data = s7_write_request(200, 0, self.rng.randbytes(180))
            t2 = conn.exchange(t2 + 200, s7_pdu(1, 2, params, data),
                               s7_pdu(3, 2, b"\x05\x01", b"\xff"), 2_000)
            conn.close(t2 + 500)
        # the remote engineering session, initiated from outside
        peer = self.remote(REMOTE_PEER, self.port(REMOTE_PEER), 49, via=via)
        conn = self.tcp(peer, self.here(PLC_2, 102), VLAN_CRANE, 310_000)
        t = conn.open(self.at(4_200))
        t = conn.exchange(t + 300, s7_connect_request(0x0100), s7_connect_confirm(0x0100), 1_000)
        t = conn.exchange(t + 300, s7_pdu(1, 1, S7_SETUP), s7_pdu(3, 1, S7_SETUP), 2_000)
        for ref in range(2, 2 + 40 * self.scale):
            request = s7_pdu(1, ref, s7_read_request(1 + ref % 8, 0, 200))
            reply = s7_pdu(3, ref, b"\x04\x01", s7_read_data(self.rng.randbytes(200)))
            t = conn.exchange(t + 8_000_000 // self.scale, request, reply, 3_000)
        conn.close(t + 1_000)

    def office(self) -> None:
        workstations = (WS_OPS_1, WS_OPS_2, WS_ADMIN)
        names = sorted(WINDOWS_ADDRESSES)
        tls_names = [n for n in names if n not in ("www.msftconnecttest.com",
                                                    "ctldl.windowsupdate.com")]
        for i, ws in enumerate(workstations):
            # network connectivity status indicator at boot
            t = self.at(25 + i * 2.3)
            t = self.resolve(t, ws, "www.msftconnecttest.com",
                             WINDOWS_ADDRESSES["www.msftconnecttest.com"])
            ncsi = Endpoint(WINDOWS_ADDRESSES["www.msftconnecttest.com"], self.gw_mac, 80, 116)
            self.http(t + 500, self.here(ws, self.port(ws.ip)), ncsi, None, 12_000,
                      b"GET /connecttest.txt HTTP/1.1\r\nConnection: Close\r\n"
                      b"User-Agent: Microsoft NCSI\r\nHost: www.msftconnecttest.com\r\n\r\n",
                      b"HTTP/1.1 200 OK\r\nContent-Length: 22\r\nContent-Type: text/plain\r\n"
                      b"Connection: close\r\n\r\nMicrosoft Connect Test")
            # TLS to Microsoft and Windows Update
            for t in self.every(420, 60 + i * 37, 90):
                name = tls_names[self.rng.randrange(len(tls_names))]
                address = WINDOWS_ADDRESSES[name]
                t2 = self.resolve(t, ws, name, address, ttl=300)
                extra = [f"*.{d}" for d in ("office.com", "office.net", "microsoft.com")] * 8
                self.tls_session(t2 + 300, self.here(ws, self.port(ws.ip)),
                                 self.remote(address, 443, 116), name, None, 14_000,
                                 ciphers=WINDOWS_CIPHERS, alpn=("h2", "http/1.1"),
                                 request=1_200, response=3_000 + self.rng.randrange(9_000),
                                 extra_sans=extra if name == "www.office.com" else ())
            # certificate trust list download over HTTP
            for t in self.every(3_600, 900 + i * 51, 120):
                address = WINDOWS_ADDRESSES["ctldl.windowsupdate.com"]
                t2 = self.resolve(t, ws, "ctldl.windowsupdate.com", address, ttl=300)
                request = (
                    b"GET /msdownload/update/v3/static/trustedr/en/authrootstl.cab HTTP/1.1\r\n"
                    b"Connection: Keep-Alive\r\nAccept: */*\r\n"
                    b"User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ctldl.windowsupdate.com\r\n\r\n"
                )
                body = self.rng.randbytes(3_000)
                response = (
                    f"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.ms-cab-compressed\r\n"
                    f"Content-Length: {len(body)}\r\nDate: {_http_date(t2)}\r\n\r\n"
                ).encode() + body
                self.http(t2 + 300, self.here(ws, self.port(ws.ip)),
                          self.remote(address, 80, 57), None, 9_000, request, response)
        # browsing the intranet; the admin workstation's browser sends a hostile user agent
        for i, ws in enumerate(workstations):
            ua = HOSTILE_USER_AGENT if ws is WS_ADMIN else (EDGE_UA if i else CHROME_UA)
            for t in self.every(900, 200 + i * 71, 60):
                t2 = self.resolve(t, ws, INTRANET[0], INTRANET[1], ttl=3_600)
                request = (
                    f"GET /portal/shift-plan HTTP/1.1\r\nHost: {INTRANET[0]}\r\n"
                    f"User-Agent: {ua}\r\nAccept: text/html\r\n\r\n"
                ).encode()
                body = b"<html><body>Shift plan</body></html>"
                response = (
                    f"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\n"
                    f"Content-Length: {len(body)}\r\nContent-Type: text/html\r\n\r\n"
                ).encode() + body
                self.http(t2 + 200, self.here(ws, self.port(ws.ip)), self.here(DC, 80), None,
                          300, request, response)
        self.admin_to_switch()

    def admin_to_switch(self) -> None:
        """SSH and SNMP from the admin workstation to the switch."""
        rng = self.rng
        conn = self.tcp(self.here(WS_ADMIN, self.port(WS_ADMIN.ip)), self.here(SWITCH, 22),
                        None, 800)
        t = conn.open(self.at(2_400))
        t = conn.send(t + 2_000, b"SSH-2.0-Cisco-1.25\r\n", False)
        t = conn.send(t + 500, b"SSH-2.0-PuTTY_Release_0.81\r\n", True)
        t = conn.send(t + 300, ssh_packet(rng, ssh_kexinit(rng, client=True)), True)
        t = conn.send(t + 1_000, ssh_packet(rng, ssh_kexinit(rng, client=False)), False)
        q_c = b"\x04" + rng.randbytes(64)
        t = conn.send(t + 500, ssh_packet(rng, b"\x1e" + _ssh_string(q_c)), True)
        host_key = (_ssh_string(b"ssh-rsa") + _ssh_string(b"\x01\x00\x01")
                    + _ssh_string(b"\x00\xc1" + rng.randbytes(255)))
        signature = _ssh_string(b"rsa-sha2-256") + _ssh_string(rng.randbytes(256))
        reply = (b"\x1f" + _ssh_string(host_key) + _ssh_string(b"\x04" + rng.randbytes(64))
                 + _ssh_string(signature))
        t = conn.send(t + 30_000, ssh_packet(rng, reply) + ssh_packet(rng, b"\x15"), False)
        t = conn.send(t + 2_000, ssh_packet(rng, b"\x15"), True)
        for n in range(20):
            # aes128-ctr with hmac-sha2-256: length and body encrypted, 32-byte MAC
            blocks = 3 + rng.randrange(24)
            packet = rng.randbytes(16 * blocks + 32)
            t = conn.send(t + 200_000 + rng.randrange(800_000), packet, n % 3 == 0)
        conn.close(t + 1_000)
        community = b"tw-ro"
        for t in self.every(300, 45, 0.2):
            client = self.here(WS_ADMIN, self.port(WS_ADMIN.ip))
            agent = self.here(SWITCH, 161)
            rid = self.rng.getrandbits(30)
            get = snmp_message(0xA0, rid, community, [(SYS_DESCR_OID, None),
                                                      (SYS_NAME_OID, None)])
            reply = snmp_message(0xA2, rid, community, [
                (SYS_DESCR_OID, (CISCO_SOFTWARE + "\r\nTechnical Support: "
                                 "http://www.cisco.com/techsupport").encode()),
                (SYS_NAME_OID, b"tw-core-sw01"),
            ])
            self.cap.add(t, udp_frame(client, agent, get))
            self.cap.add(t + 2_500, udp_frame(agent, client, reply))

    def ipv6_office(self) -> None:
        """SLAAC (router solicitation, duplicate address detection) and DNS and TLS over
        IPv6 for the two IPv6 workstations."""
        all_routers = Endpoint("ff02::2", multicast_mac("ff02::2"), 0, 255)
        dc6 = Endpoint(DC.ipv6[0], mac(DC.mac), 0, 255)
        for i, ws in enumerate((WS_OPS_2, WS_ADMIN)):
            hw = mac(ws.mac)
            link_local, global_ = ws.ipv6
            t = self.at(30 + i * 4)
            ll = Endpoint(link_local, hw, 0, 255)
            for k, address in enumerate((link_local, global_)):
                solicited = _solicited_node(address)
                self.cap.add(t + k * 1_000_000, icmp6_frame(
                    Endpoint("::", hw, 0, 255), Endpoint(solicited, multicast_mac(solicited),
                                                         0, 255),
                    135, b"\x00" * 4 + ip_bytes(address)))
            self.cap.add(t + 1_500_000, icmp6_frame(ll, all_routers, 133,
                                                    b"\x00" * 4 + b"\x01\x01" + hw))
            # neighbour discovery for the DNS server
            g = Endpoint(global_, hw, 0, 255)
            dc_solicited = _solicited_node(DC.ipv6[0])
            t2 = t + 2_500_000
            self.cap.add(t2, icmp6_frame(
                g, Endpoint(dc_solicited, multicast_mac(dc_solicited), 0, 255), 135,
                b"\x00" * 4 + ip_bytes(DC.ipv6[0]) + b"\x01\x01" + hw))
            self.cap.add(t2 + 300, icmp6_frame(
                dc6, g, 136, b"\x60\x00\x00\x00" + ip_bytes(DC.ipv6[0]) + b"\x02\x01"
                + mac(DC.mac)))
            name, address = WINDOWS_V6
            for t3 in self.every(600, 300 + i * 43, 60):
                t4 = self.resolve(t3, ws, name, address, ttl=300, server=DC.ipv6[0])
                client = Endpoint(global_, hw, self.port(ws.ip), 128)
                server = Endpoint(address, self.gw_mac, 443, 57)
                self.tls_session(t4 + 300, client, server, name, None, 11_000,
                                 ciphers=WINDOWS_CIPHERS, alpn=("h2", "http/1.1"),
                                 request=900, response=5_000)


def _solicited_node(address: str) -> str:
    raw = ip_bytes(address)
    return f"ff02::1:ff{raw[13]:02x}:{raw[14]:02x}{raw[15]:02x}"
