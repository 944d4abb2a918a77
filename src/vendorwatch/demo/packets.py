"""Small helpers for writing synthetic packet captures with dpkt's packet classes.

Frames are built with dpkt (Ethernet with optional 802.1Q tag, IPv4, IPv6, TCP, UDP, ARP,
DNS, DHCP) and collected in a `Capture` with integer-microsecond timestamps, then written
sorted by time to a classic pcap file. Nothing here reads the clock or an unseeded random
source: the same calls give the same bytes.

TLS records are assembled here by hand (dpkt parses TLS but does not build it).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

import dpkt

US = 1_000_000
LINKTYPE_ETHERNET = 1
SNAPLEN = 65_535
BROADCAST = b"\xff" * 6
ZERO_MAC = b"\x00" * 6

ETH_IP, ETH_IP6, ETH_ARP = 0x0800, 0x86DD, 0x0806
PROTO_ICMP6, PROTO_TCP, PROTO_UDP = 58, 6, 17

TCP_FIN, TCP_SYN, TCP_RST, TCP_PUSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

_PCAP_HEADER = struct.Struct("<IHHiIII")
_RECORD_HEADER = struct.Struct("<IIII")


def mac(text: str) -> bytes:
    """'bc:ad:28:01:02:03' as 6 bytes."""
    raw = bytes.fromhex(text.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {text!r}")
    return raw


def ip_bytes(text: str) -> bytes:
    """An IPv4 or IPv6 address in packed form."""
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    return socket.inet_pton(family, text)


def multicast_mac(ip: str) -> bytes:
    """The Ethernet group address of an IPv4 or IPv6 multicast address."""
    raw = ip_bytes(ip)
    if len(raw) == 4:
        return bytes([0x01, 0x00, 0x5E, raw[1] & 0x7F, raw[2], raw[3]])
    return b"\x33\x33" + raw[12:16]


def eui64_address(prefix: str, hw: bytes) -> str:
    """The SLAAC (modified EUI-64) address of `hw` in the /64 `prefix` (e.g. 'fe80::')."""
    iid = bytes([hw[0] ^ 0x02]) + hw[1:3] + b"\xff\xfe" + hw[3:6]
    net = ip_bytes(prefix)[:8]
    return socket.inet_ntop(socket.AF_INET6, net + iid)


@dataclass(frozen=True)
class Endpoint:
    """One end of a conversation as seen on the captured segment: its address, the MAC its
    frames carry *there* (a router's for a remote host), its port and IP TTL."""

    ip: str
    mac: bytes
    port: int = 0
    ttl: int = 64

    def at(self, port: int) -> Endpoint:
        return replace(self, port=port)

    @property
    def v6(self) -> bool:
        return ":" in self.ip


# --- frames ------------------------------------------------------------------------------


def ethernet(
    src: bytes, dst: bytes, payload: dpkt.Packet | bytes, etype: int, vlan: int | None = None
) -> bytes:
    """An Ethernet II frame, 802.1Q-tagged when `vlan` is given."""
    eth = dpkt.ethernet.Ethernet(src=src, dst=dst, type=etype, data=payload)
    if vlan is not None:
        eth.vlan_tags = [dpkt.ethernet.VLANtag8021Q(id=vlan, pri=0, cfi=0, type=etype)]
    return bytes(eth)


def ip_packet(
    src: Endpoint, dst: Endpoint, l4: dpkt.Packet, proto: int, ident: int = 0
) -> dpkt.Packet:
    """IPv4 or IPv6 around `l4`; dpkt fills in lengths and checksums."""
    if src.v6:
        pkt6 = dpkt.ip6.IP6(
            src=ip_bytes(src.ip), dst=ip_bytes(dst.ip), nxt=proto, hlim=src.ttl, data=l4
        )
        pkt6.plen = len(bytes(l4))
        pkt6.extension_hdrs = {}
        return pkt6
    return dpkt.ip.IP(
        src=ip_bytes(src.ip),
        dst=ip_bytes(dst.ip),
        p=proto,
        ttl=src.ttl,
        id=ident & 0xFFFF,
        df=1 if proto == PROTO_TCP else 0,
        data=l4,
    )


def ip_frame(
    src: Endpoint,
    dst: Endpoint,
    l4: dpkt.Packet,
    proto: int,
    vlan: int | None = None,
    ident: int = 0,
) -> bytes:
    packet = ip_packet(src, dst, l4, proto, ident)
    return ethernet(src.mac, dst.mac, packet, ETH_IP6 if src.v6 else ETH_IP, vlan)


def udp_frame(
    src: Endpoint, dst: Endpoint, payload: bytes, vlan: int | None = None, ident: int = 0
) -> bytes:
    datagram = dpkt.udp.UDP(sport=src.port, dport=dst.port, data=payload)
    datagram.ulen = 8 + len(payload)
    return ip_frame(src, dst, datagram, PROTO_UDP, vlan, ident)


def icmp6_frame(
    src: Endpoint, dst: Endpoint, icmp_type: int, body: bytes, vlan: int | None = None
) -> bytes:
    """An ICMPv6 message (body after type, code and checksum); checksum filled by dpkt."""
    message = dpkt.icmp6.ICMP6(type=icmp_type, code=0, data=body)
    return ip_frame(src, dst, message, PROTO_ICMP6, vlan)


def arp_frame(
    op: int,
    sender_mac: bytes,
    sender_ip: str,
    target_mac: bytes,
    target_ip: str,
    dst_mac: bytes = BROADCAST,
    vlan: int | None = None,
) -> bytes:
    """ARP request (op 1) or reply (op 2) for Ethernet/IPv4."""
    message = dpkt.arp.ARP(
        op=op,
        sha=sender_mac,
        spa=ip_bytes(sender_ip),
        tha=target_mac,
        tpa=ip_bytes(target_ip),
    )
    return ethernet(sender_mac, dst_mac, message, ETH_ARP, vlan)


def llc_frame(src: bytes, dst: bytes, payload: bytes, vlan: int | None = None) -> bytes:
    """An IEEE 802.3 frame (length field instead of EtherType), e.g. LLC/SNAP for CDP."""
    header = dst + src
    if vlan is not None:
        header += struct.pack("!HH", 0x8100, vlan & 0x0FFF)
    return header + struct.pack("!H", len(payload)) + payload


# --- application payloads built with dpkt -----------------------------------------------


def dns_query(ident: int, name: str, qtype: int = dpkt.dns.DNS_A) -> bytes:
    msg = dpkt.dns.DNS(id=ident, op=dpkt.dns.DNS_RD, qd=[dpkt.dns.DNS.Q(name=name, type=qtype)])
    msg.an, msg.ns, msg.ar = [], [], []
    return bytes(msg)


def dns_response(ident: int, name: str, addresses: Iterable[str], ttl: int = 300) -> bytes:
    """A response with A (IPv4) or AAAA (IPv6) answers for `name`."""
    answers = []
    qtype = dpkt.dns.DNS_A
    for address in addresses:
        raw = ip_bytes(address)
        qtype = dpkt.dns.DNS_AAAA if len(raw) == 16 else dpkt.dns.DNS_A
        answers.append(dpkt.dns.DNS.RR(name=name, type=qtype, ttl=ttl, rdata=raw))
    msg = dpkt.dns.DNS(
        id=ident,
        op=dpkt.dns.DNS_RD | dpkt.dns.DNS_RA | (dpkt.dns.DNS_R << 15),
        qd=[dpkt.dns.DNS.Q(name=name, type=qtype)],
    )
    msg.qr = dpkt.dns.DNS_R
    msg.an, msg.ns, msg.ar = answers, [], []
    return bytes(msg)


DHCP_DISCOVER, DHCP_OFFER, DHCP_REQUEST, DHCP_ACK = 1, 2, 3, 5


def dhcp_message(
    op: int,
    msg_type: int,
    xid: int,
    client: bytes,
    options: Iterable[tuple[int, bytes]] = (),
    yiaddr: str = "0.0.0.0",
    siaddr: str = "0.0.0.0",
    ciaddr: str = "0.0.0.0",
) -> bytes:
    """A BOOTP/DHCP message; `options` go after the message-type option."""
    msg = dpkt.dhcp.DHCP(
        op=op,
        xid=xid,
        chaddr=client + b"\x00" * 10,
        ciaddr=int.from_bytes(ip_bytes(ciaddr), "big"),
        yiaddr=int.from_bytes(ip_bytes(yiaddr), "big"),
        siaddr=int.from_bytes(ip_bytes(siaddr), "big"),
        opts=[(dpkt.dhcp.DHCP_OPT_MSGTYPE, bytes([msg_type])), *options],
    )
    return bytes(msg)


# --- TLS 1.2 records by hand ------------------------------------------------------------

TLS_HANDSHAKE, TLS_CCS, TLS_APPDATA = 0x16, 0x14, 0x17
TLS12 = 0x0303


def tls_record(content_type: int, body: bytes, version: int = TLS12) -> bytes:
    return struct.pack("!BHH", content_type, version, len(body)) + body


def tls_handshake(kind: int, body: bytes) -> bytes:
    return bytes([kind]) + len(body).to_bytes(3, "big") + body


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _vec(width: int, body: bytes) -> bytes:
    return len(body).to_bytes(width, "big") + body


def tls_client_hello(
    random: bytes,
    sni: str | None,
    ciphers: Iterable[int] = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8),
    alpn: Iterable[str] = (),
    session_id: bytes = b"",
) -> bytes:
    """A TLS 1.2 ClientHello record with SNI, groups, point formats, signature algorithms,
    optional ALPN, extended master secret and renegotiation info."""
    extensions = b""
    if sni:
        name = sni.encode("ascii")
        extensions += _ext(0, _vec(2, b"\x00" + _vec(2, name)))
    extensions += _ext(23, b"")  # extended_master_secret
    extensions += _ext(0xFF01, b"\x00")  # renegotiation_info
    extensions += _ext(10, _vec(2, struct.pack("!HHH", 0x001D, 0x0017, 0x0018)))
    extensions += _ext(11, _vec(1, b"\x00"))
    extensions += _ext(13, _vec(2, struct.pack("!HHHHH", 0x0403, 0x0807, 0x0804, 0x0401, 0x0503)))
    protocols = b"".join(_vec(1, p.encode("ascii")) for p in alpn)
    if protocols:
        extensions += _ext(16, _vec(2, protocols))
    body = (
        struct.pack("!H", TLS12)
        + random
        + _vec(1, session_id)
        + _vec(2, b"".join(struct.pack("!H", c) for c in ciphers))
        + _vec(1, b"\x00")
        + _vec(2, extensions)
    )
    return tls_record(TLS_HANDSHAKE, tls_handshake(1, body), version=0x0301)


def tls_server_flight(
    random: bytes,
    session_id: bytes,
    chain: Iterable[bytes],
    key_share: bytes,
    signature: bytes,
    cipher: int = 0xC02B,
) -> bytes:
    """ServerHello, Certificate (leaf first), ServerKeyExchange (x25519, Ed25519 signature)
    and ServerHelloDone, one record each, as a TLS 1.2 server sends them."""
    hello_ext = _ext(23, b"") + _ext(0xFF01, b"\x00") + _ext(11, _vec(1, b"\x00"))
    hello = (
        struct.pack("!H", TLS12)
        + random
        + _vec(1, session_id)
        + struct.pack("!HB", cipher, 0)
        + _vec(2, hello_ext)
    )
    certs = b"".join(_vec(3, der) for der in chain)
    params = struct.pack("!BH", 3, 0x001D) + _vec(1, key_share)
    key_exchange = params + struct.pack("!H", 0x0807) + _vec(2, signature)
    return (
        tls_record(TLS_HANDSHAKE, tls_handshake(2, hello))
        + tls_record(TLS_HANDSHAKE, tls_handshake(11, _vec(3, certs)))
        + tls_record(TLS_HANDSHAKE, tls_handshake(12, key_exchange))
        + tls_record(TLS_HANDSHAKE, tls_handshake(14, b""))
    )


def tls_client_finish(key_share: bytes, finished: bytes) -> bytes:
    """ClientKeyExchange, ChangeCipherSpec and the (encrypted) Finished record."""
    return (
        tls_record(TLS_HANDSHAKE, tls_handshake(16, _vec(1, key_share)))
        + tls_record(TLS_CCS, b"\x01")
        + tls_record(TLS_HANDSHAKE, finished)
    )


def tls_server_finish(finished: bytes) -> bytes:
    return tls_record(TLS_CCS, b"\x01") + tls_record(TLS_HANDSHAKE, finished)


# --- capture and writer --------------------------------------------------------------------


class PcapWriter:
    """Classic little-endian pcap, microsecond timestamps, Ethernet link type. Timestamps
    are integers: no float rounding can push a microsecond count to 1,000,000."""

    def __init__(self, out: BinaryIO, snaplen: int = SNAPLEN) -> None:
        self.out = out
        out.write(_PCAP_HEADER.pack(0xA1B2C3D4, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))

    def write(self, ts_us: int, frame: bytes) -> None:
        sec, usec = divmod(ts_us, US)
        self.out.write(_RECORD_HEADER.pack(sec, usec, len(frame), len(frame)))
        self.out.write(frame)


class Capture:
    """Frames with integer-microsecond timestamps, written in time order (frames with the
    same timestamp keep the order they were added in)."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, int, bytes]] = []

    def add(self, ts_us: int, frame: bytes) -> None:
        self.frames.append((ts_us, len(self.frames), frame))

    def __len__(self) -> int:
        return len(self.frames)

    def write(self, path: Path) -> int:
        """Write the frames to `path` as pcap; returns the number of frames."""
        self.frames.sort()
        with path.open("wb") as fh:
            writer = PcapWriter(fh)
            for ts_us, _order, frame in self.frames:
                writer.write(ts_us, frame)
        return len(self.frames)


class TcpConnection:
    """One TCP connection with real sequence and acknowledgement numbers: three-way
    handshake, data in MSS-sized segments each direction with ACKs, FIN close.

    `rtt_us` is the round trip as seen at the capture point; every method takes the time
    to start at and returns the time its last packet was seen."""

    def __init__(
        self,
        cap: Capture,
        client: Endpoint,
        server: Endpoint,
        *,
        isn_client: int,
        isn_server: int,
        rtt_us: int = 400,
        vlan: int | None = None,
        mss: int = 1460,
        window: int = 64_240,
        ident: int = 0,
    ) -> None:
        self.cap = cap
        self.client = client
        self.server = server
        self.rtt = max(2, rtt_us)
        self.vlan = vlan
        self.mss = mss
        self.window = window
        self.seq = {True: isn_client & 0xFFFFFFFF, False: isn_server & 0xFFFFFFFF}
        self.ident = {True: ident & 0xFFFF, False: (ident * 7 + 1) & 0xFFFF}

    def _segment(
        self, ts: int, from_client: bool, flags: int, data: bytes = b"", opts: bytes = b""
    ) -> None:
        src, dst = (self.client, self.server) if from_client else (self.server, self.client)
        seg = dpkt.tcp.TCP(
            sport=src.port,
            dport=dst.port,
            seq=self.seq[from_client],
            ack=self.seq[not from_client] if flags & TCP_ACK else 0,
            flags=flags,
            win=min(self.window, 0xFFFF),
            data=data,
        )
        if opts:
            seg.opts = opts
            seg.off = 5 + len(opts) // 4
        self.cap.add(ts, ip_frame(src, dst, seg, PROTO_TCP, self.vlan, self.ident[from_client]))
        self.ident[from_client] = (self.ident[from_client] + 1) & 0xFFFF
        advance = len(data) + (1 if flags & (TCP_SYN | TCP_FIN) else 0)
        self.seq[from_client] = (self.seq[from_client] + advance) & 0xFFFFFFFF

    def open(self, ts: int) -> int:
        """SYN, SYN-ACK, ACK."""
        mss_opt = struct.pack("!BBH", 2, 4, self.mss) + b"\x01\x01\x04\x02"  # MSS, SACK ok
        self._segment(ts, True, TCP_SYN, opts=mss_opt)
        self._segment(ts + self.rtt // 2, False, TCP_SYN | TCP_ACK, opts=mss_opt)
        self._segment(ts + self.rtt, True, TCP_ACK)
        return ts + self.rtt

    def send(self, ts: int, data: bytes, from_client: bool = True, gap_us: int = 20) -> int:
        """`data` in MSS-sized segments `gap_us` apart; the peer ACKs every second segment
        and the last one."""
        if not data:
            return ts
        t = ts
        count = (len(data) + self.mss - 1) // self.mss
        for i in range(count):
            chunk = data[i * self.mss : (i + 1) * self.mss]
            last = i == count - 1
            self._segment(t, from_client, TCP_ACK | (TCP_PUSH if last else 0), chunk)
            if last or i % 2 == 1:
                self._segment(t + self.rtt // 2 + 1, not from_client, TCP_ACK)
            t += gap_us
        return t - gap_us + self.rtt // 2 + 1

    def exchange(self, ts: int, request: bytes, response: bytes, think_us: int = 200) -> int:
        """Client request, then the server's response after `think_us`; returns end time."""
        t = self.send(ts, request, True)
        if response:
            t = self.send(t + think_us, response, False)
        return t

    def close(self, ts: int, from_client: bool = True) -> int:
        """FIN-ACK, FIN-ACK, ACK."""
        self._segment(ts, from_client, TCP_FIN | TCP_ACK)
        self._segment(ts + self.rtt // 2, not from_client, TCP_FIN | TCP_ACK)
        self._segment(ts + self.rtt, from_client, TCP_ACK)
        return ts + self.rtt
