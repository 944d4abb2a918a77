"""One pass over a capture's frames: demultiplex link, network and transport headers with
`struct`-free byte indexing (dpkt's full decode costs ~10x more per packet and almost every
packet here is only counted), and hand the few packets that carry identity to the protocol
modules beside this one."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from vendorwatch import signals
from vendorwatch.ingest.packets import dns, http, lldp, mqtt, snmp, ssh, wsdiscovery
from vendorwatch.ingest.packets.context import Emit, Packet, addr, mac
from vendorwatch.ingest.packets.dhcp import DhcpTracker
from vendorwatch.ingest.packets.tls import TlsTracker

ETH_IPV4, ETH_IPV6, ETH_ARP, ETH_LLDP = 0x0800, 0x86DD, 0x0806, 0x88CC
VLAN_TAGS = (0x8100, 0x88A8, 0x9100)
CDP_SNAP = b"\xaa\xaa\x03\x00\x00\x0c\x20\x00"
IPV6_EXTENSIONS = (0, 43, 60)
TCP, UDP = 6, 17
LINK_ETHERNET, LINK_NULL, LINK_LOOP, LINK_SLL, LINK_SLL2 = 1, 0, 108, 113, 276
LINK_RAW = (101, 12, 14)
# A frame's source MAC is its source IP's only when the packet was not routed: senders start
# TTL / hop limit at one of these (multicast discovery at 1-4), a router decrements it.
ON_LINK_TTLS = frozenset({1, 2, 4, 32, 64, 128, 255})
MAX_MACS_PER_HOST = 4  # IPv4 + link-local, temporary and global IPv6 of one interface
UNSPECIFIED = (b"\0" * 4, b"\0" * 16)


class PacketScanner:
    """Feeds frames in, emits evidence through `emit`; `finish()` emits what needed the
    whole capture (DHCP facts of clients without an address yet, IP-to-MAC pairs)."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.dhcp = DhcpTracker()
        self.tls = TlsTracker()
        self.macs: dict[tuple[bytes, bytes], float] = {}
        self.arp_macs: dict[tuple[bytes, bytes], float] = {}
        self.undecodable = 0
        udp_handlers: dict[int, Callable[[Packet, Emit], None]] = {
            53: dns.handle,
            5353: dns.handle_mdns,
            67: self.dhcp.handle,
            68: self.dhcp.handle,
            1900: http.handle_ssdp,
            3702: wsdiscovery.handle,
            161: snmp.handle,
        }
        self.udp_handlers = udp_handlers
        # TCP payload decoders, each returning True when the payload was its protocol;
        # only payloads starting with one of tcp_first_bytes are offered to them.
        self.tcp_handlers: list[Callable[[Packet, Emit], bool]] = [
            dns.handle_tcp, self.tls.handle_tcp, http.handle_tcp, ssh.handle_tcp,
            mqtt.handle_tcp,
        ]
        self.tcp_first_bytes = http.FIRST_BYTES | {ord("S"), 0x16, mqtt.CONNECT}

    def feed(self, ts: float, linktype: int, frame: bytes) -> None:
        src_mac: bytes | None = None
        if linktype == LINK_ETHERNET:
            if len(frame) < 14:
                return
            etype = (frame[12] << 8) | frame[13]
            off = 14
            while etype in VLAN_TAGS and len(frame) >= off + 4:
                etype = (frame[off + 2] << 8) | frame[off + 3]
                off += 4
            src_mac = frame[6:12]
            if etype in (ETH_IPV4, ETH_IPV6):
                pass
            elif etype == ETH_ARP:
                self._arp(ts, frame[off:])
                return
            elif etype == ETH_LLDP or (etype <= 1500 and frame[off : off + 8] == CDP_SNAP):
                self._link_discovery(ts, etype, src_mac, frame[off:])
                return
            else:
                return
        elif linktype == LINK_SLL:
            if len(frame) < 16:
                return
            off = 16
            if frame[4:6] == b"\x00\x06":
                src_mac = frame[6:12]
        elif linktype == LINK_SLL2:
            off = 20
            if len(frame) >= 20 and frame[11] == 6:
                src_mac = frame[12:18]
        elif linktype in LINK_RAW:
            off = 0
        elif linktype in (LINK_NULL, LINK_LOOP):
            off = 4
        else:
            return
        if len(frame) < off + 20:
            return
        version = frame[off] >> 4
        if version == 4:
            ihl = (frame[off] & 0x0F) * 4
            total = (frame[off + 2] << 8) | frame[off + 3]
            proto = frame[off + 9]
            if ((frame[off + 6] & 0x1F) << 8) | frame[off + 7]:
                return  # not the first fragment: no transport header
            src_raw = frame[off + 12 : off + 16]
            dst_raw = frame[off + 16 : off + 20]
            l4 = off + ihl
            ttl_at = 8
            end = min(len(frame), off + total) if total else len(frame)
        elif version == 6:
            if len(frame) < off + 40:
                return
            proto = frame[off + 6]
            end = min(len(frame), off + 40 + ((frame[off + 4] << 8) | frame[off + 5]))
            src_raw = frame[off + 8 : off + 24]
            dst_raw = frame[off + 24 : off + 40]
            l4 = off + 40
            ttl_at = 7
            while proto in IPV6_EXTENSIONS and l4 + 8 <= end:
                proto = frame[l4]
                l4 += (frame[l4 + 1] + 1) * 8
            if proto == 44:  # fragment header
                if l4 + 8 > end or ((frame[l4 + 2] << 8) | frame[l4 + 3]) & 0xFFF8:
                    return
                proto = frame[l4]
                l4 += 8
        else:
            return
        if src_mac is not None and frame[off + ttl_at] in ON_LINK_TTLS:
            pair = (src_raw, src_mac)
            if pair not in self.macs:
                self.macs[pair] = ts
        if proto == TCP:
            if l4 + 20 > end:
                return
            data = l4 + (frame[l4 + 12] >> 4) * 4
            if data >= end:
                return
            sport = (frame[l4] << 8) | frame[l4 + 1]
            dport = (frame[l4 + 2] << 8) | frame[l4 + 3]
            if (not self.tls.pending and frame[data] not in self.tcp_first_bytes
                    and sport != 53 and dport != 53):
                return
            pkt = Packet(ts, addr(src_raw), addr(dst_raw), sport, dport, frame[data:end],
                         src_mac)
            try:
                for handler in self.tcp_handlers:
                    if handler(pkt, self.emit):
                        break
            except Exception:  # hostile or malformed payload: never fatal
                self.undecodable += 1
        elif proto == UDP:
            if l4 + 8 > end:
                return
            sport = (frame[l4] << 8) | frame[l4 + 1]
            dport = (frame[l4 + 2] << 8) | frame[l4 + 3]
            on_udp = self.udp_handlers.get(dport) or self.udp_handlers.get(sport)
            if on_udp is not None:
                pkt = Packet(ts, addr(src_raw), addr(dst_raw), sport, dport,
                             frame[l4 + 8 : end], src_mac)
                try:
                    on_udp(pkt, self.emit)
                except Exception:  # hostile or malformed payload: never fatal
                    self.undecodable += 1

    def _link_discovery(self, ts: float, etype: int, src_mac: bytes, body: bytes) -> None:
        try:
            if etype == ETH_LLDP:
                lldp.handle_lldp(ts, src_mac, body, self.emit)
            else:
                lldp.handle_cdp(ts, src_mac, body[8:etype], self.emit)
        except Exception:  # hostile or malformed frame: never fatal
            self.undecodable += 1

    def _arp(self, ts: float, body: bytes) -> None:
        # Ethernet/IPv4 ARP: sender hardware address at 8, sender protocol address at 14.
        if len(body) >= 28 and body[0:2] == b"\x00\x01" and body[2:4] == b"\x08\x00":
            sender_ip = body[14:18]
            if sender_ip != b"\0\0\0\0":
                pair = (sender_ip, body[8:14])
                if pair not in self.arp_macs:
                    self.arp_macs[pair] = ts

    def finish(self) -> None:
        """Emit IP-to-MAC pairs and the DHCP facts that waited for an address.

        A frame's source MAC belongs to its source IP only on the same link: a router's MAC
        carries every address behind it (more than MAX_MACS_PER_HOST, or any globally
        routed one), so such pairs are skipped; ARP announces its pair on the link itself
        and is kept even for public addresses."""
        pairs: dict[tuple[str, str], float] = {}
        per_mac: dict[bytes, set[bytes]] = {}
        for (ip_raw, mac_raw), _ts in self.macs.items():
            if ip_raw not in UNSPECIFIED and not mac_raw[0] & 1:
                per_mac.setdefault(mac_raw, set()).add(ip_raw)
        for (ip_raw, mac_raw), ts in self.macs.items():
            addresses = per_mac.get(mac_raw)
            if not addresses or ip_raw not in addresses or len(addresses) > MAX_MACS_PER_HOST:
                continue
            ip = addr(ip_raw)
            if ipaddress.ip_address(ip).is_global:
                continue
            pairs.setdefault((ip, mac(mac_raw)), ts)
        for (ip_raw, mac_raw), ts in self.arp_macs.items():
            if not mac_raw[0] & 1:
                pairs.setdefault((addr(ip_raw), mac(mac_raw)), ts)
        mac_to_ip: dict[str, str] = {}
        for (ip, mac_text), ts in pairs.items():
            if "." in ip:
                mac_to_ip.setdefault(mac_text, ip)
            self.emit(ts, ip, None, signals.MAC, mac_text)
        self.dhcp.finish(self.emit, mac_to_ip)
