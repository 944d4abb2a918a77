"""DNS and mDNS: the names a host asks for, the addresses it learns, and what mDNS
responders announce about themselves."""

from __future__ import annotations

import dpkt

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, addr, text

_ADDRESS_TYPES = (dpkt.dns.DNS_A, dpkt.dns.DNS_AAAA)


def _parse(payload: bytes) -> dpkt.dns.DNS | None:
    try:
        return dpkt.dns.DNS(payload)
    except (dpkt.UnpackError, IndexError, ValueError, UnicodeDecodeError):
        return None


def handle(pkt: Packet, emit: Emit) -> None:
    """Unicast DNS: `dns.query` about the client; `dns.answer` (name=address) about the client,
    named by the question asked (behind a CNAME chain too, as Zeek's dns.log pairs them), so
    that the address a device got for a vendor's name can be followed into its flows."""
    msg = _parse(pkt.payload)
    if msg is None:
        return
    is_response = msg.qr == dpkt.dns.DNS_R
    client, server = (pkt.dst, pkt.src) if is_response else (pkt.src, pkt.dst)
    for question in msg.qd:
        if question.name:
            emit(pkt.ts, client, server, signals.DNS_QUERY, text(question.name.encode()))
    if not is_response:
        return
    asked = msg.qd[0].name if msg.qd else None
    for answer in msg.an:
        if answer.type in _ADDRESS_TYPES and answer.rdata and len(answer.rdata) in (4, 16):
            value = f"{asked or answer.name}={addr(answer.rdata)}"
            emit(pkt.ts, client, server, signals.DNS_ANSWER, text(value.encode()))


def handle_tcp(pkt: Packet, emit: Emit) -> bool:
    """DNS over TCP (port 53): one length-prefixed message at the start of the segment."""
    if 53 not in (pkt.sport, pkt.dport) or len(pkt.payload) < 14:
        return False
    length = int.from_bytes(pkt.payload[:2], "big")
    if length + 2 <= len(pkt.payload):
        handle(Packet(pkt.ts, pkt.src, pkt.dst, pkt.sport, pkt.dport,
                      pkt.payload[2 : 2 + length], pkt.src_mac), emit)
    return True


def handle_mdns(pkt: Packet, emit: Emit) -> None:
    """mDNS responses: host names (A/AAAA owners) and advertised services (PTR targets)."""
    msg = _parse(pkt.payload)
    if msg is None or msg.qr != dpkt.dns.DNS_R:
        return
    for record in list(msg.an) + list(msg.ar):
        if record.type in _ADDRESS_TYPES and record.name:
            emit(pkt.ts, pkt.src, None, signals.MDNS_NAME, text(record.name.encode()))
        elif (
            record.type == dpkt.dns.DNS_PTR
            and getattr(record, "ptrname", None)
            and record.name.startswith("_")
        ):
            emit(pkt.ts, pkt.src, None, signals.MDNS_SERVICE, text(record.ptrname.encode()))
