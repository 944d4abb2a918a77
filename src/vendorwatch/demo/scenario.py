"""A labelled detection scenario: a day of a container terminal's traffic with known cases.

ALL TRAFFIC HERE IS SYNTHETIC. `write_scenario(directory)` writes `scenario.pcap` (24 hours
of sparse traffic seen on a SPAN port of the core switch, one 802.1Q VLAN per zone) and
`zones.yaml` (the operator's zone file), and returns the answer key: the cases a detector
should find (`Planted(kind, asset_ip, note)`), the hosts that do nothing worth a high or
critical finding (`benign`), and findings that are true but not planted (`tolerated`, e.g.
an office PC's internet traffic). `score` matches a `vendorwatch findings --format json`
list against that key; `bench/detection.py` and tests/test_detection_scenario.py use it.

Planted:

* (a) beaconing: a gate OCR server calls `ota.gate-ocr.example` (resolved by DNS) over TLS
  every 300 s ± 15 %, missing 5 % of its beats.
* (b) fleet phone-home: eight identical Hikvision cameras (one IEEE OUI of Hikvision) each open
  a new TLS connection to the Hik-Connect cloud (`www.hik-connect.com`, an endpoint of the
  registry) every 600 s: one beaconing finding whose `details.members` lists them, and per
  camera a high-risk-vendor-device and a vendor-cloud-endpoint finding.
* (c) out-of-band path: a Teltonika router (IEEE OUI 00:1E:42, DHCP host name RUT955) on
  the yard subnet; an RTG crane PLC sends its internet-bound packets to the router's MAC,
  while every other yard host's internet traffic goes to the site gateway's MAC.
* (d) the closed crane zone leaks exactly once: one crane PLC opens one TCP connection to a
  public address.
* (e) remote access: an inbound RDP session from a public address to an operator workstation,
  and an outbound AnyDesk session (TLS ClientHello with SNI relay-….net.anydesk.com).
* (f) a zone violation: the crane management PC copies files to the office file server (SMB).

Benign look-alikes: an office PC syncing time with time.windows.com every 64 s and calling
Windows Update; a Linux server doing NTP with pool.ntp.org; every host using the internal
DNS resolver (which forwards to a public one); a workstation browsing varied sites during
office hours only; SCADA polling the crane PLCs over S7comm; the recorder polling the cameras.

Public addresses were chosen only because the bundled geoip2fast data places them where the
story needs (Hangzhou for the camera cloud, Shanghai for the crane peers); no claim is made
that those hosts serve these names. The same seed gives the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
    ip_bytes,
    mac,
    tls_client_finish,
    tls_client_hello,
    tls_record,
    tls_server_finish,
    tls_server_flight,
    udp_frame,
)
from vendorwatch.demo.terminal import (
    CAMERA_CIPHERS,
    LINUX_PARAMS,
    S7_SETUP,
    WINDOWS_CIPHERS,
    WINDOWS_PARAMS,
    DemoPki,
    s7_connect_confirm,
    s7_connect_request,
    s7_pdu,
    s7_read_data,
    s7_read_request,
)

SITE = "Terminal East (synthetic scenario)"
START = datetime(2026, 3, 9, 0, 0, 0, tzinfo=UTC)
HOURS = 24
SEED = 11
DOMAIN = "terminal-east.internal"

# Finding kinds (the detectors' contract).
BEACONING = "beaconing"
CELLULAR = "cellular-device"
SECOND_GATEWAY = "second-gateway"
CLOSED_ZONE_LEAK = "closed-zone-leak"
REMOTE_ACCESS = "remote-access"
ZONE_VIOLATION = "zone-violation"
HIGH_RISK = "high-risk-vendor-device"
VENDOR_CLOUD = "vendor-cloud-endpoint"
INTERNET = "internet-traffic"
PLANTED_KINDS = (BEACONING, CELLULAR, SECOND_GATEWAY, CLOSED_ZONE_LEAK, REMOTE_ACCESS,
                 ZONE_VIOLATION, HIGH_RISK, VENDOR_CLOUD, INTERNET)
ALARM_SEVERITIES = frozenset({"high", "critical"})


# --- the answer key ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """One case a detector should report: a finding of `kind` about `asset_ip`. `also` lists
    other addresses a correct finding may name instead (the other end of a flow, the device
    acting as a gateway), since the contract leaves that choice to the detector."""

    kind: str
    asset_ip: str
    note: str
    also: tuple[str, ...] = ()

    @property
    def addresses(self) -> frozenset[str]:
        return frozenset((self.asset_ip, *self.also))


@dataclass(frozen=True)
class Scenario:
    """What `write_scenario` wrote and planted."""

    site: str
    pcap: Path
    zones: Path
    start: datetime
    end: datetime
    seed: int
    packets: int
    planted: tuple[Planted, ...]
    benign: tuple[str, ...]  # hosts on which no high or critical finding is right
    tolerated: tuple[tuple[str, str], ...]  # (kind, ip): true findings that were not planted
    hosts: Mapping[str, str] = field(default_factory=dict)  # ip -> host name


# --- the network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Zone:
    name: str
    vlan: int
    sensitivity: str
    allowed_peers: tuple[str, ...]
    closed: bool = False

    @property
    def cidr(self) -> str:
        return f"10.{self.vlan}.0.0/24"

    @property
    def gateway(self) -> str:
        return f"10.{self.vlan}.0.1"


# Allowed peers are listed on both sides, so a detector reading either end agrees.
ZONES = {
    "cranes": Zone("cranes", 20, "vital", ("scada",), closed=True),
    "scada": Zone("scada", 30, "high", ("cranes", "office", "yard")),
    "office": Zone("office", 40, "low", ("internet", "scada", "cctv", "yard")),
    "cctv": Zone("cctv", 50, "medium", ("internet", "office")),
    "yard": Zone("yard", 60, "high", ("internet", "office", "scada")),
}


@dataclass(frozen=True)
class Host:
    name: str
    ip: str
    mac: str
    zone: str
    windows: bool  # initial TTL 128 and Windows DHCP options; else 64 and udhcp/dhclient
    dhcp_name: str | None = None  # DHCP host name; None for a static address
    vendor_class: str | None = None
    online: tuple[float, float] = (0.0, HOURS * 3600.0)  # seconds after START

    @property
    def vlan(self) -> int:
        return ZONES[self.zone].vlan


GATEWAY_MAC = "00:1a:a1:3c:5e:01"  # Cisco: the site's core router, one MAC on every VLAN

DC = Host("dc01", "10.40.0.10", "b0:83:fe:40:0a:10", "office", True)
FILE_SERVER = Host("fs01", "10.40.0.15", "b0:83:fe:40:0f:15", "office", True)
OPS_1 = Host("ops-ws-01", "10.40.0.21", "18:66:da:40:15:21", "office", True, "OPS-WS-01")
OPS_2 = Host("ops-ws-02", "10.40.0.22", "f8:bc:12:40:16:22", "office", True, "OPS-WS-02")
BROWSER = Host("adm-ws-03", "10.40.0.23", "3c:52:82:40:17:23", "office", True, "ADM-WS-03",
               online=(7 * 3600.0, 17.5 * 3600))
UPDATER = Host("ofc-ws-04", "10.40.0.24", "d4:be:d9:40:18:24", "office", True, "OFC-WS-04")
OCR = Host("gate-ocr-01", "10.40.0.30", "6c:2b:59:40:1e:30", "office", False, "gate-ocr-01",
           "dhclient 4.4.3")
TOS = Host("tos-app01", "10.40.0.40", "a4:4c:c8:40:28:40", "office", False)
SCADA = Host("scada-srv01", "10.30.0.10", "b0:83:fe:30:0a:10", "scada", True)
HMI = Host("scada-hmi01", "10.30.0.21", "18:66:da:30:15:21", "scada", True, "SCADA-HMI01")
STS_PLCS = tuple(
    Host(f"sts0{n}-plc", f"10.20.0.1{n}", f"00:1b:1b:20:0b:1{n}", "cranes", False)
    for n in range(1, 5)
)
LEAKING_PLC = STS_PLCS[2]
CMS = Host("sts01-cms", "10.20.0.31", "28:63:36:20:1f:31", "cranes", True)
NVR = Host("cctv-nvr01", "10.50.0.5", "b0:83:fe:50:05:05", "cctv", False, "cctv-nvr01")
CAMERAS = tuple(
    Host(f"cctv-berth-{n:02d}", f"10.50.0.{10 + n}", f"bc:ad:28:50:0b:{10 + n:02x}", "cctv",
         False, f"cctv-berth-{n:02d}")
    for n in range(1, 9)
)
RTG_PLC = Host("rtg01-plc", "10.60.0.21", "00:1b:1b:60:15:21", "yard", False)
CELL_ROUTER = Host("rtg01-rut955", "10.60.0.254", "00:1e:42:60:fe:01", "yard", False, "RUT955",
                   "udhcp 1.34.1")
YARD_WS = (
    Host("yard-ws-01", "10.60.0.31", "d4:be:d9:60:1f:31", "yard", True, "YARD-WS-01"),
    Host("yard-ws-02", "10.60.0.32", "f8:bc:12:60:20:32", "yard", True, "YARD-WS-02"),
)
HOSTS: tuple[Host, ...] = (
    DC, FILE_SERVER, OPS_1, OPS_2, BROWSER, UPDATER, OCR, TOS, SCADA, HMI, *STS_PLCS, CMS,
    NVR, *CAMERAS, RTG_PLC, CELL_ROUTER, *YARD_WS,
)

CAMERA_MODEL = "DS-2CD2143G0-I"
BEACON_HOST, BEACON_ADDRESS = "ota.gate-ocr.example", "198.199.80.12"  # geoip2fast: US
HIK_CLOUD, HIK_CLOUD_ADDRESS = "www.hik-connect.com", "116.62.100.21"  # CN (Hangzhou)
CRANE_PEER = "58.246.10.20"  # CN (Shanghai), reached through the cellular router
LEAK_PEER = "58.246.10.77"  # CN (Shanghai), the closed zone's one leaking flow
RDP_PEER = "92.223.65.10"  # a public address opening RDP to an operator workstation
ANYDESK_RELAY, ANYDESK_ADDRESS = "relay-5e1f7a3c.net.anydesk.com", "176.9.40.11"
PUBLIC_RESOLVER = "9.9.9.9"
TIME_WINDOWS = ("time.windows.com", "40.119.6.228")
POOL_NTP = (("0.pool.ntp.org", "162.159.200.1"), ("1.pool.ntp.org", "162.159.200.123"),
            ("2.pool.ntp.org", "94.198.159.10"), ("3.pool.ntp.org", "5.39.80.20"))
WINDOWS_UPDATE = (("fe2cr.update.microsoft.com", "52.167.17.97"),
                  ("download.windowsupdate.com", "23.52.10.5"),
                  ("sls.update.microsoft.com", "20.54.24.148"),
                  ("ctldl.windowsupdate.com", "13.107.4.50"))
WEB_SITES = (("www.portofrotterdam.com", "104.16.132.229"), ("www.rijksoverheid.nl",
             "145.131.0.10"), ("nos.nl", "151.101.1.140"), ("www.marinetraffic.com",
             "141.101.90.5"), ("en.wikipedia.org", "185.15.59.224"), ("www.google.com",
             "142.250.179.196"), ("github.com", "140.82.121.4"), ("www.knmi.nl",
             "194.109.6.66"), ("outlook.office365.com", "13.107.42.14"), ("www.sidn.nl",
             "94.198.159.10"), ("cdn.jsdelivr.net", "199.232.18.217"), ("www.kpn.com",
             "194.109.6.66"))
CHROME_ALPN = ("h2", "http/1.1")


def write_scenario(directory: Path, *, seed: int = SEED) -> Scenario:
    """Write `scenario.pcap` and `zones.yaml` into `directory` and return the answer key."""
    directory.mkdir(parents=True, exist_ok=True)
    pcap, zones = directory / "scenario.pcap", directory / "zones.yaml"
    builder = _Scene(seed)
    builder.build()
    packets = builder.cap.write(pcap)
    zones.write_text(zones_yaml(), encoding="utf-8")
    planted = planted_cases()
    involved = {ip for case in planted for ip in case.addresses}
    benign = tuple(ip for ip in _all_addresses() if ip not in involved)
    return Scenario(
        site=SITE, pcap=pcap, zones=zones, start=START, end=START + timedelta(hours=HOURS),
        seed=seed, packets=packets, planted=planted, benign=benign,
        tolerated=tuple((INTERNET, ip) for ip in sorted(builder.internet_talkers - {
            c.asset_ip for c in planted if c.kind == INTERNET})),
        hosts={h.ip: h.name for h in HOSTS} | {z.gateway: "core-gw" for z in ZONES.values()},
    )


def planted_cases() -> tuple[Planted, ...]:
    fleet = f"{CAMERAS[0].ip}-{CAMERAS[-1].ip.rsplit('.', 1)[1]}"
    cases = [
        Planted(BEACONING, OCR.ip, f"TLS to {BEACON_HOST} every 300 s ± 15 %, 5 % beats missed"),
        Planted(CELLULAR, CELL_ROUTER.ip, "Teltonika RUT955 (OUI 00:1E:42, DHCP host name)"),
        Planted(SECOND_GATEWAY, CELL_ROUTER.ip, f"yard subnet: {RTG_PLC.ip} leaves through the "
                "router's MAC, every other host through the site gateway's",
                also=(RTG_PLC.ip,)),
        Planted(INTERNET, RTG_PLC.ip, f"crane PLC to {CRANE_PEER} through the cellular router"),
        Planted(CLOSED_ZONE_LEAK, LEAKING_PLC.ip, f"one TCP connection to {LEAK_PEER}"),
        Planted(INTERNET, LEAKING_PLC.ip, "a crane PLC in a closed zone reaches the internet"),
        Planted(REMOTE_ACCESS, OPS_1.ip, f"tool RDP: inbound TCP 3389 from {RDP_PEER}",
                also=(RDP_PEER,)),
        Planted(INTERNET, OPS_1.ip, f"inbound RDP from {RDP_PEER}"),
        Planted(REMOTE_ACCESS, OPS_2.ip, f"tool AnyDesk: TLS to {ANYDESK_RELAY}"),
        Planted(ZONE_VIOLATION, CMS.ip, f"cranes -> office: SMB to {FILE_SERVER.ip}",
                also=(FILE_SERVER.ip,)),
    ]
    for cam in CAMERAS:
        cases += [
            Planted(BEACONING, cam.ip, f"one of {len(CAMERAS)} cameras ({fleet}) calling "
                    f"{HIK_CLOUD} every 600 s: one fleet finding, details.members"),
            Planted(HIGH_RISK, cam.ip, f"Hikvision {CAMERA_MODEL} (OUI BC:AD:28)"),
            Planted(VENDOR_CLOUD, cam.ip, f"TLS SNI {HIK_CLOUD}"),
        ]
    return tuple(cases)


def _all_addresses() -> list[str]:
    return [h.ip for h in HOSTS] + [z.gateway for z in ZONES.values()]


def zones_yaml() -> str:
    lines = ["# Zones of the synthetic detection scenario (vendorwatch.demo.scenario).", "zones:"]
    for zone in ZONES.values():
        lines += [f"  {zone.name}:", f"    cidrs: [{zone.cidr}]",
                  f"    sensitivity: {zone.sensitivity}"]
        if zone.closed:
            lines.append("    closed: true")
        lines.append(f"    allowed_peers: [{', '.join(zone.allowed_peers)}]")
    return "\n".join(lines) + "\n"


# --- scoring findings against the key ----------------------------------------------------------


@dataclass
class KindScore:
    kind: str
    planted: int = 0
    found: int = 0  # planted cases some finding matched
    findings: int = 0  # findings of this kind, tolerated ones left out
    true_findings: int = 0  # of those, findings that matched a planted case

    @property
    def recall(self) -> float | None:
        return self.found / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None


@dataclass
class Score:
    kinds: dict[str, KindScore]
    missed: list[Planted]
    false_alarms: list[dict[str, Any]]  # high or critical findings naming a benign host
    unmatched: list[dict[str, Any]]  # findings that match no planted case and are not tolerated

    @property
    def planted(self) -> int:
        return sum(k.planted for k in self.kinds.values())

    @property
    def found(self) -> int:
        return sum(k.found for k in self.kinds.values())


def finding_addresses(finding: Mapping[str, Any]) -> set[str]:
    """The asset a finding is about, plus the members of a fleet finding (details.members:
    addresses, or objects with an `ip` or `asset_ip`)."""
    named = {finding["asset_ip"]} if finding.get("asset_ip") else set()
    details = finding.get("details")
    members = details.get("members") if isinstance(details, Mapping) else None
    for member in members if isinstance(members, list) else ():
        if isinstance(member, str):
            named.add(member)
        elif isinstance(member, Mapping):
            named |= {str(member[k]) for k in ("ip", "asset_ip") if member.get(k)}
    return named


def score(scenario: Scenario, findings: Sequence[Mapping[str, Any]]) -> Score:
    """Match findings (the JSON of `vendorwatch findings`) to the planted cases: same kind
    and a named address among the case's addresses."""
    kinds = {kind: KindScore(kind) for kind in PLANTED_KINDS}
    for kind in sorted({str(f["kind"]) for f in findings} - set(kinds)):
        kinds[kind] = KindScore(kind)
    named = [finding_addresses(f) for f in findings]
    missed: list[Planted] = []
    for case in scenario.planted:
        kinds[case.kind].planted += 1
        if any(f["kind"] == case.kind and case.addresses & ips
               for f, ips in zip(findings, named, strict=True)):
            kinds[case.kind].found += 1
        else:
            missed.append(case)
    tolerated = set(scenario.tolerated)
    benign = set(scenario.benign)
    false_alarms: list[dict[str, Any]] = []
    unmatched: list[dict[str, Any]] = []
    for finding, ips in zip(findings, named, strict=True):
        kind = str(finding["kind"])
        true = any(c.kind == kind and c.addresses & ips for c in scenario.planted)
        if finding.get("severity") in ALARM_SEVERITIES and ips & benign and not true:
            false_alarms.append(dict(finding))
        if not true and ips and all((kind, ip) in tolerated for ip in ips):
            continue
        kinds[kind].findings += 1
        if true:
            kinds[kind].true_findings += 1
        else:
            unmatched.append(dict(finding))
    return Score(kinds=kinds, missed=missed, false_alarms=false_alarms, unmatched=unmatched)


# --- payloads this scenario needs beyond packets.py and terminal.py ---------------------------


def ntp_packet(mode: int, ts_us: int, rng: random.Random) -> bytes:
    """NTPv4 client (mode 3) or server (mode 4) packet with a transmit timestamp."""
    seconds, micro = divmod(ts_us, US)
    stamp = struct.pack("!II", seconds + 2_208_988_800, (micro << 32) // US)
    if mode == 3:
        return bytes([0x23, 0, 10, 0xE9]) + b"\x00" * 36 + stamp
    header = bytes([0x24, 2, 10, 0xE9]) + struct.pack("!II", 0x1E0, 0x2A0) + rng.randbytes(4)
    return header + stamp + rng.randbytes(8) + stamp + stamp


def rdp_connection_request(user: str) -> bytes:
    """TPKT + X.224 connection request with an mstshash cookie and an RDP negotiation
    request for TLS and CredSSP."""
    body = f"Cookie: mstshash={user}\r\n".encode() + struct.pack("<BBHI", 1, 0, 8, 3)
    x224 = bytes([6 + len(body), 0xE0, 0, 0, 0, 0, 0]) + body
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def rdp_connection_confirm() -> bytes:
    body = struct.pack("<BBHI", 2, 0x1F, 8, 2)  # negotiation response: CredSSP
    x224 = bytes([6 + len(body), 0xD0, 0, 0, 0x12, 0x34, 0]) + body
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def smb2_message(command: int, message_id: int, body: bytes, response: bool = False) -> bytes:
    """NetBIOS session header + SMB2 header + body."""
    header = (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 0, 0, command, 1,
                                       1 if response else 0, 0, message_id, 0xFEFF, 0, 0)
              + b"\x00" * 16)
    packet = header + body
    return b"\x00" + len(packet).to_bytes(3, "big") + packet


def smb2_negotiate(rng: random.Random) -> bytes:
    dialects = (0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
    return struct.pack("<HHHHI", 36, len(dialects), 1, 0, 0x7F) + rng.randbytes(16) + \
        b"\x00" * 8 + b"".join(struct.pack("<H", d) for d in dialects)


# --- the builder --------------------------------------------------------------------------------


class _Scene:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.cap = Capture()
        self.pki = DemoPki(seed)
        self.t0 = int(START.timestamp()) * US
        self.end = self.t0 + HOURS * 3600 * US
        self.gw_mac = mac(GATEWAY_MAC)
        self._ports: dict[str, int] = {}
        self._dns_id = self.rng.getrandbits(16)
        self._cached: dict[tuple[str, str], int] = {}  # (client, name) -> expiry
        self._forwarded: dict[str, int] = {}  # name -> expiry in the resolver's cache
        self.internet_talkers: set[str] = set()

    # time, ports, endpoints

    def at(self, seconds: float) -> int:
        return self.t0 + int(seconds * US)

    def periodic(self, period_s: float, first_s: float, host: Host, jitter: float = 0.0,
                 missed: float = 0.0) -> Iterator[int]:
        """Times from `first_s` every `period_s` (each interval ± `jitter` of it), skipping a
        beat with probability `missed`, while `host` is online."""
        t = max(first_s, host.online[0])
        while t < host.online[1] - 120:
            if not (missed and self.rng.random() < missed):
                yield self.at(t)
            t += period_s * (1 + self.rng.uniform(-jitter, jitter)) if jitter else period_s

    def port(self, ip: str) -> int:
        if ip not in self._ports:
            digest = hashlib.sha256(ip.encode()).digest()
            self._ports[ip] = 49_152 + int.from_bytes(digest[:2]) % 8_000
        value = self._ports[ip]
        self._ports[ip] = 49_152 if value >= 65_535 else value + 1
        return value

    def here(self, host: Host, port: int = 0) -> Endpoint:
        return Endpoint(host.ip, mac(host.mac), port, 128 if host.windows else 64)

    def peer(self, of: Host, host: Host, port: int) -> Endpoint:
        """`host` as seen on the segment of `of`: itself on the same VLAN, else behind the
        router (its MAC, TTL one less)."""
        if host.vlan == of.vlan:
            return self.here(host, port)
        return Endpoint(host.ip, self.gw_mac, port, (128 if host.windows else 64) - 1)

    def remote(self, host: Host, ip: str, port: int, ttl: int,
               via: Host | None = None) -> Endpoint:
        """A public host: its frames carry the MAC of the gateway `host` uses (`via`, else
        the site's router)."""
        self.internet_talkers.add(host.ip)
        return Endpoint(ip, mac(via.mac) if via else self.gw_mac, port, ttl)

    def tcp(self, client: Endpoint, server: Endpoint, vlan: int, rtt_us: int) -> TcpConnection:
        return TcpConnection(
            self.cap, client, server, isn_client=self.rng.getrandbits(32),
            isn_server=self.rng.getrandbits(32), rtt_us=rtt_us, vlan=vlan,
            ident=self.rng.getrandbits(16),
        )

    # building blocks

    def dhcp(self, ts: int, host: Host) -> int:
        """DISCOVER, OFFER, REQUEST, ACK with the site router as DHCP server (relay)."""
        assert host.dhcp_name is not None
        hw, gateway = mac(host.mac), ZONES[host.zone].gateway
        name = host.dhcp_name.encode()
        options = [(61, b"\x01" + hw), (12, name)]
        if host.windows:
            options += [(81, b"\x00\x00\x00" + name), (60, b"MSFT 5.0"), (55, WINDOWS_PARAMS)]
        else:
            if host.vendor_class:
                options.append((60, host.vendor_class.encode()))
            options.append((55, LINUX_PARAMS))
        server_opts = [(1, ip_bytes("255.255.255.0")), (3, ip_bytes(gateway)), (6, ip_bytes(DC.ip)),
                       (15, DOMAIN.encode()), (51, struct.pack("!I", 86_400)),
                       (54, ip_bytes(gateway))]
        xid = self.rng.getrandbits(32)
        client, bcast = Endpoint("0.0.0.0", hw, 68), Endpoint("255.255.255.255", BROADCAST, 67)
        server, to_client = Endpoint(gateway, self.gw_mac, 67, 255), Endpoint(host.ip, hw, 68)
        vlan = host.vlan
        t = ts
        self.cap.add(t, udp_frame(client, bcast, dhcp_message(1, DHCP_DISCOVER, xid, hw, options),
                                  vlan))
        t += 3_000 + self.rng.randrange(3_000)
        self.cap.add(t, udp_frame(server, to_client, dhcp_message(
            2, DHCP_OFFER, xid, hw, server_opts, yiaddr=host.ip, siaddr=gateway), vlan))
        t += 5_000 + self.rng.randrange(20_000)
        request = [(50, ip_bytes(host.ip)), (54, ip_bytes(gateway)), *options]
        self.cap.add(t, udp_frame(client, bcast, dhcp_message(1, DHCP_REQUEST, xid, hw, request),
                                  vlan))
        t += 3_000 + self.rng.randrange(3_000)
        self.cap.add(t, udp_frame(server, to_client, dhcp_message(
            2, DHCP_ACK, xid, hw, server_opts, yiaddr=host.ip, siaddr=gateway), vlan))
        return t

    def arp(self, ts: int, asker: Host, target_ip: str, target_mac: str) -> None:
        hw = mac(asker.mac)
        self.cap.add(ts, arp_frame(1, hw, asker.ip, ZERO_MAC, target_ip, BROADCAST, asker.vlan))
        self.cap.add(ts + 200 + self.rng.randrange(400),
                     arp_frame(2, mac(target_mac), target_ip, hw, asker.ip, hw, asker.vlan))

    def resolve(self, ts: int, host: Host, name: str, address: str, ttl: int = 300) -> int:
        """A query to the internal resolver and its answer, unless still cached; an external
        name the resolver does not hold is forwarded to a public resolver first."""
        if self._cached.get((host.ip, name), 0) > ts:
            return ts
        self._cached[(host.ip, name)] = ts + ttl * US
        client = self.here(host, self.port(host.ip))
        resolver = self.peer(host, DC, 53)
        ident = self.rng.getrandbits(16)
        self.cap.add(ts, udp_frame(client, resolver, dns_query(ident, name), host.vlan))
        t = ts + 400 + self.rng.randrange(600)
        if not name.endswith(DOMAIN) and self._forwarded.get(name, 0) <= ts:
            self._forwarded[name] = ts + ttl * US
            up = self.here(DC, self.port(DC.ip))
            public = self.remote(DC, PUBLIC_RESOLVER, 53, 57)
            fid = self.rng.getrandbits(16)
            self.cap.add(t, udp_frame(up, public, dns_query(fid, name), DC.vlan))
            t += 9_000 + self.rng.randrange(20_000)
            self.cap.add(t, udp_frame(public, up, dns_response(fid, name, [address], ttl),
                                      DC.vlan))
            t += 300
        self.cap.add(t, udp_frame(resolver, client, dns_response(ident, name, [address], ttl),
                                  host.vlan))
        return t

    def ntp(self, ts: int, host: Host, server: Endpoint, rtt_us: int = 700) -> None:
        client = self.here(host, 123)
        self.cap.add(ts, udp_frame(client, server, ntp_packet(3, ts, self.rng), host.vlan))
        back = ts + rtt_us + self.rng.randrange(900)
        self.cap.add(back, udp_frame(server, client, ntp_packet(4, back, self.rng), host.vlan))

    def appdata(self, size: int) -> bytes:
        out = b""
        while size > 0:
            chunk = min(size, 16_384)
            out += tls_record(TLS_APPDATA, self.rng.randbytes(chunk))
            size -= chunk
        return out

    def tls_open(self, ts: int, conn: TcpConnection, sni: str | None,
                 ciphers: Iterable[int], alpn: Iterable[str] = ()) -> int:
        """ClientHello (SNI when given), the server's flight with its certificate chain,
        the key exchange and Finished records; returns the time of the last packet."""
        rng, rtt = self.rng, conn.rtt
        client_random = rng.randbytes(32)
        t = conn.send(ts + 40, tls_client_hello(client_random, sni, ciphers, alpn,
                                                rng.randbytes(32)))
        chain, key = self.pki.chain(sni or conn.server.ip)
        server_random, share = rng.randbytes(32), rng.randbytes(32)
        params = struct.pack("!BHB", 3, 0x001D, 32) + share
        flight = tls_server_flight(server_random, rng.randbytes(32), chain, share,
                                   key.sign(client_random + server_random + params))
        t = conn.send(t + rtt // 2 + 300, flight, False)
        t = conn.send(t + 300, tls_client_finish(rng.randbytes(32), rng.randbytes(40)))
        return conn.send(t + rtt // 2 + 200, tls_server_finish(rng.randbytes(40)), False)

    def https(self, ts: int, host: Host, server: Endpoint, sni: str | None, rtt_us: int,
              ciphers: Iterable[int], request: int, response: int,
              alpn: Iterable[str] = ()) -> int:
        """A short TLS connection: handshake, one request and response, FIN close."""
        conn = self.tcp(self.here(host, self.port(host.ip)), server, host.vlan, rtt_us)
        t = self.tls_open(conn.open(ts), conn, sni, ciphers, alpn)
        t = conn.send(t + 200, self.appdata(request))
        t = conn.send(t + rtt_us // 2 + 1_000 + self.rng.randrange(30_000),
                      self.appdata(response), False)
        return conn.close(t + 2_000 + self.rng.randrange(40_000))

    # the day

    def build(self) -> None:
        self.boot()
        self.background_arp()
        self.dns_and_time()
        self.scada_polls()
        self.recorder_polls()
        self.windows_update()
        self.browsing()
        self.ocr_beacon()
        self.camera_fleet()
        self.cellular_path()
        self.crane_leak()
        self.remote_sessions()
        self.crane_to_office()

    def boot(self) -> None:
        """DHCP for dynamic hosts, a gratuitous ARP for static ones, then each asks for its
        gateway (the yard crane PLC for the cellular router)."""
        for i, host in enumerate(HOSTS):
            t = self.at(max(host.online[0], 10 + i * 3.1) + self.rng.uniform(0, 2))
            if host.dhcp_name:
                t = self.dhcp(t, host) + 50_000
            self.cap.add(t, arp_frame(1, mac(host.mac), host.ip, ZERO_MAC, host.ip, BROADCAST,
                                      host.vlan))
            if host is RTG_PLC:
                self.arp(t + 40_000, host, CELL_ROUTER.ip, CELL_ROUTER.mac)
            self.arp(t + 80_000, host, ZONES[host.zone].gateway, GATEWAY_MAC)

    def background_arp(self) -> None:
        for host in HOSTS:
            for t in self.periodic(1_200, 900 + self.rng.uniform(0, 600), host, 0.05):
                self.arp(t, host, ZONES[host.zone].gateway, GATEWAY_MAC)

    def dns_and_time(self) -> None:
        """Internal names from the resolver (not for the closed crane zone); time from the
        resolver (domain hosts), from the SCADA server (crane PLCs), time.windows.com (one
        office PC, every 64 s) and pool.ntp.org (the Linux servers)."""
        dc_ntp = {h.ip: self.peer(h, DC, 123) for h in HOSTS}
        for host in (SCADA, HMI, NVR, *CAMERAS, *YARD_WS, OPS_1, OPS_2, FILE_SERVER):
            for t in self.periodic(3_600, 200 + self.rng.uniform(0, 3_000), host, 0.02):
                self.ntp(t, host, dc_ntp[host.ip])
        for plc in (*STS_PLCS, RTG_PLC):
            server = self.peer(plc, SCADA, 123)
            for t in self.periodic(1_024, 100 + self.rng.uniform(0, 900), plc, 0.01):
                self.ntp(t, plc, server)
        for host in (SCADA, HMI, *YARD_WS, OPS_1, OPS_2, BROWSER):
            for t in self.periodic(1_800, 60 + self.rng.uniform(0, 1_500), host, 0.3):
                name = f"{self.rng.choice(('fs01', 'dc01', 'intranet', 'scada-srv01'))}.{DOMAIN}"
                target = {"fs01": FILE_SERVER.ip, "scada-srv01": SCADA.ip}.get(
                    name.split(".")[0], DC.ip)
                self.resolve(t, host, name, target, ttl=1_200)
        name, address = TIME_WINDOWS
        resolved = self.resolve(self.at(120), UPDATER, name, address, ttl=86_400)
        server = self.remote(UPDATER, address, 123, 110)
        for t in self.periodic(64, (resolved - self.t0) / US + 0.5, UPDATER, 0.001):
            self.ntp(t, UPDATER, server, 21_000)
        for host in (TOS, OCR):
            for k, (name, address) in enumerate(POOL_NTP):
                resolved = self.resolve(self.at(90 + k), host, name, address, ttl=86_400)
                server = self.remote(host, address, 123, 54)
                first = (resolved - self.t0) / US + 1 + k * 37
                for t in self.periodic(1_024, first, host, 0.02):
                    self.ntp(t, host, server, 18_000)

    def scada_polls(self) -> None:
        """The SCADA server keeps one S7comm connection to each crane PLC and polls it every
        60 s (connections across the router: the PLCs sit on other VLANs)."""
        for n, plc in enumerate((*STS_PLCS, RTG_PLC)):
            client = Endpoint(SCADA.ip, self.gw_mac, self.port(SCADA.ip), 127)
            conn = self.tcp(client, self.here(plc, 102), plc.vlan, 900)
            t = conn.open(self.at(150 + n * 3))
            t = conn.exchange(t + 300, s7_connect_request(0x0100), s7_connect_confirm(0x0100))
            conn.exchange(t + 300, s7_pdu(1, 1, S7_SETUP), s7_pdu(3, 1, S7_SETUP))
            for ref, poll in enumerate(self.periodic(60, 160 + n * 3, plc, 0.01), start=2):
                request = s7_pdu(1, ref & 0xFFFF, s7_read_request(100 + n, 0, 24))
                reply = s7_pdu(3, ref & 0xFFFF, b"\x04\x01", s7_read_data(self.rng.randbytes(24)))
                conn.exchange(poll, request, reply, 1_500)
            conn.close(self.end - 60 * US)

    def recorder_polls(self) -> None:
        """The recorder asks each camera for its status over HTTP every 15 minutes."""
        for cam in CAMERAS:
            for t in self.periodic(900, 300 + self.rng.uniform(0, 600), cam, 0.01):
                conn = self.tcp(self.here(NVR, self.port(NVR.ip)), self.here(cam, 80), cam.vlan,
                                600)
                t2 = conn.open(t)
                body = (f"<?xml version=\"1.0\"?><DeviceStatus><deviceName>{cam.name}"
                        f"</deviceName><model>{CAMERA_MODEL}</model><cpuUtilization>"
                        f"{self.rng.randrange(5, 40)}</cpuUtilization></DeviceStatus>").encode()
                t2 = conn.exchange(
                    t2 + 50,
                    f"GET /ISAPI/System/status HTTP/1.1\r\nHost: {cam.ip}\r\n"
                    "Authorization: Digest username=\"nvr\"\r\n\r\n".encode(),
                    b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Type: application/xml\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode() + body, 3_000)
                conn.close(t2 + 1_000, from_client=False)

    def windows_update(self) -> None:
        """Windows PCs call Windows Update at irregular times (every one to five hours)."""
        for host in (UPDATER, OPS_1, OPS_2, *YARD_WS):
            t_s = 600 + self.rng.uniform(0, 3_600)
            while t_s < host.online[1] - 600:
                name, address = self.rng.choice(WINDOWS_UPDATE)
                t = self.resolve(self.at(t_s), host, name, address)
                self.https(t + 500, host, self.remote(host, address, 443, 113), name, 14_000,
                           WINDOWS_CIPHERS, 1_400, 3_000 + self.rng.randrange(9_000),
                           CHROME_ALPN)
                t_s += self.rng.uniform(3_600, 5 * 3_600)

    def browsing(self) -> None:
        """One workstation browses varied sites in office hours, bursts of a few requests."""
        t_s = BROWSER.online[0] + 600
        while t_s < BROWSER.online[1] - 600:
            name, address = self.rng.choice(WEB_SITES)
            t = self.resolve(self.at(t_s), BROWSER, name, address, ttl=120)
            for _ in range(1 + self.rng.randrange(3)):
                t = self.https(t + 2_000, BROWSER, self.remote(BROWSER, address, 443, 55), name,
                               18_000, WINDOWS_CIPHERS, 900, 3_000 + self.rng.randrange(16_000),
                               CHROME_ALPN) + self.rng.randrange(4 * US)
            t_s += self.rng.uniform(120, 1_500)

    def ocr_beacon(self) -> None:
        """(a) every 300 s ± 15 %, 5 % of the beats missed, a new TLS connection each."""
        for t in self.periodic(300, 240, OCR, jitter=0.15, missed=0.05):
            t2 = self.resolve(t, OCR, BEACON_HOST, BEACON_ADDRESS, ttl=300)
            self.https(t2 + 300, OCR, self.remote(OCR, BEACON_ADDRESS, 443, 48), BEACON_HOST,
                       95_000, CAMERA_CIPHERS, 310, 180)

    def camera_fleet(self) -> None:
        """(b) every camera calls the Hik-Connect cloud every 600 s (± 1 %)."""
        for n, cam in enumerate(CAMERAS):
            for t in self.periodic(600, 400 + n * 41.7, cam, jitter=0.01):
                t2 = self.resolve(t, cam, HIK_CLOUD, HIK_CLOUD_ADDRESS, ttl=600)
                self.https(t2 + 300, cam, self.remote(cam, HIK_CLOUD_ADDRESS, 443, 46),
                           HIK_CLOUD, 230_000, CAMERA_CIPHERS, 380, 620)

    def cellular_path(self) -> None:
        """(c) the RTG crane PLC reaches a public address through the cellular router, at
        irregular times and for irregular lengths."""
        for _ in range(7):
            t = self.at(self.rng.uniform(1_800, HOURS * 3_600 - 3_600))
            peer = self.remote(RTG_PLC, CRANE_PEER, 443, 49, via=CELL_ROUTER)
            conn = self.tcp(self.here(RTG_PLC, self.port(RTG_PLC.ip)), peer, RTG_PLC.vlan, 310_000)
            t = self.tls_open(conn.open(t), conn, None, CAMERA_CIPHERS)
            for _ in range(3 + self.rng.randrange(20)):
                t = conn.send(t + self.rng.randrange(2, 60) * US,
                              self.appdata(200 + self.rng.randrange(3_000)),
                              self.rng.random() < 0.5)
            conn.close(t + 1_000)

    def crane_leak(self) -> None:
        """(d) the closed crane zone's one external flow."""
        peer = self.remote(LEAKING_PLC, LEAK_PEER, 443, 47)
        conn = self.tcp(self.here(LEAKING_PLC, self.port(LEAKING_PLC.ip)), peer,
                        LEAKING_PLC.vlan, 280_000)
        t = self.tls_open(conn.open(self.at(13 * 3_600 + 1_234.5)), conn, None, CAMERA_CIPHERS)
        t = conn.send(t + 500, self.appdata(4_800))
        conn.close(conn.send(t + 300_000, self.appdata(400), False) + 1_000)

    def remote_sessions(self) -> None:
        """(e) inbound RDP at night to an operator workstation; an AnyDesk session out of
        another in the afternoon. Both keep talking every few seconds for 20-25 minutes."""
        client = self.remote(OPS_1, RDP_PEER, 50_000 + self.rng.randrange(10_000), 113)
        conn = self.tcp(client, self.here(OPS_1, 3_389), OPS_1.vlan, 62_000)
        t = conn.open(self.at(2 * 3_600 + 13 * 60 + 7.25))
        t = conn.exchange(t + 500, rdp_connection_request("operator"), rdp_connection_confirm(),
                          2_000)
        t = self.tls_open(t, conn, None, WINDOWS_CIPHERS)
        self._chatter(conn, t, 20 * 60, from_client_share=0.4)
        t = self.resolve(self.at(14 * 3_600 + 5 * 60 + 3.5), OPS_2, ANYDESK_RELAY, ANYDESK_ADDRESS)
        server = self.remote(OPS_2, ANYDESK_ADDRESS, 443, 52)
        conn = self.tcp(self.here(OPS_2, self.port(OPS_2.ip)), server, OPS_2.vlan, 24_000)
        t = self.tls_open(conn.open(t + 400), conn, ANYDESK_RELAY, WINDOWS_CIPHERS)
        self._chatter(conn, t, 25 * 60, from_client_share=0.6)

    def _chatter(self, conn: TcpConnection, ts: int, seconds: int,
                 from_client_share: float) -> None:
        t, stop = ts, ts + seconds * US
        while t < stop:
            t = conn.send(t + self.rng.randrange(500_000, 8 * US),
                          self.appdata(60 + self.rng.randrange(2_500)),
                          self.rng.random() < from_client_share)
        conn.close(t + 5_000)

    def crane_to_office(self) -> None:
        """(f) at each shift change the crane management PC copies its logs to the office
        file server over SMB."""
        for hour in (6, 14, 22):
            server = self.peer(CMS, FILE_SERVER, 445)
            conn = self.tcp(self.here(CMS, self.port(CMS.ip)), server, CMS.vlan, 900)
            t = conn.open(self.at(hour * 3_600 + 45 + self.rng.uniform(0, 30)))
            t = conn.exchange(t + 200, smb2_message(0, 0, smb2_negotiate(self.rng)),
                              smb2_message(0, 0, self.rng.randbytes(128), True), 1_000)
            for message_id in range(1, 6):
                t = conn.exchange(t + 300, smb2_message(9, message_id, self.rng.randbytes(
                    48 + self.rng.randrange(20_000))), smb2_message(9, message_id,
                                                                    b"\x11\x00" + b"\x00" * 14,
                                                                    True), 800)
            conn.close(t + 2_000)
