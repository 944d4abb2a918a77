"""LLDP (IEEE 802.1AB) and Cisco CDP: what switches, phones and cameras say about
themselves on the wire. dpkt decodes CDP; it has no LLDP decoder, so LLDP's simple TLVs
(7-bit type, 9-bit length) are read here."""

from __future__ import annotations

import dpkt

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, addr, mac, text

LLDP_END, LLDP_SYSTEM_NAME, LLDP_SYSTEM_DESCRIPTION, LLDP_MGMT_ADDRESS = 0, 5, 6, 8
CDP_DEVICE_ID, CDP_ADDRESS, CDP_SOFTWARE, CDP_PLATFORM = 1, 2, 5, 6


def handle_lldp(ts: float, src_mac: bytes, body: bytes, emit: Emit) -> None:
    facts: list[tuple[str, str]] = []
    host = mac(src_mac)
    off = 0
    while off + 2 <= len(body):
        header = int.from_bytes(body[off : off + 2], "big")
        kind, length = header >> 9, header & 0x1FF
        value = body[off + 2 : off + 2 + length]
        off += 2 + length
        if kind == LLDP_END:
            break
        if kind == LLDP_SYSTEM_NAME:
            facts.append((signals.LLDP_SYSTEM_NAME, text(value)))
        elif kind == LLDP_SYSTEM_DESCRIPTION:
            facts.append((signals.LLDP_SYSTEM_DESCRIPTION, text(value)))
        elif (
            kind == LLDP_MGMT_ADDRESS
            and len(value) >= 6
            and value[0] == 5
            and value[1] == 1
            and value[2:6] != b"\0\0\0\0"
        ):
            host = addr(value[2:6])
    _emit_all(ts, host, src_mac, facts, emit)


def handle_cdp(ts: float, src_mac: bytes, body: bytes, emit: Emit) -> None:
    try:
        cdp = dpkt.cdp.CDP(body)
    except (dpkt.UnpackError, IndexError, ValueError):
        return
    facts: list[tuple[str, str]] = []
    host = mac(src_mac)
    for raw in cdp.tlvs:
        kind, length = int.from_bytes(raw[0:2], "big"), int.from_bytes(raw[2:4], "big")
        value = raw[4:length]
        if kind == CDP_DEVICE_ID:
            facts.append((signals.CDP_DEVICE_ID, text(value)))
        elif kind == CDP_PLATFORM:
            facts.append((signals.CDP_PLATFORM, text(value)))
        elif kind == CDP_SOFTWARE:
            facts.append((signals.CDP_SOFTWARE, text(value)))
        elif kind == CDP_ADDRESS and host == mac(src_mac):
            host = _first_cdp_ipv4(value) or host
    _emit_all(ts, host, src_mac, facts, emit)


def _first_cdp_ipv4(value: bytes) -> str | None:
    """First IPv4 address in a CDP Addresses TLV (count, then NLPID-typed entries)."""
    off = 4
    for _ in range(int.from_bytes(value[0:4], "big") if len(value) >= 4 else 0):
        if off + 2 > len(value):
            break
        proto_len = value[off + 1]
        proto = value[off + 2 : off + 2 + proto_len]
        off += 2 + proto_len
        alen = int.from_bytes(value[off : off + 2], "big")
        raw = value[off + 2 : off + 2 + alen]
        off += 2 + alen
        if proto == b"\xcc" and len(raw) == 4 and raw != b"\0\0\0\0":
            return addr(raw)
    return None


def _emit_all(
    ts: float, host: str, src_mac: bytes, facts: list[tuple[str, str]], emit: Emit
) -> None:
    if not facts:
        return
    emit(ts, host, None, signals.MAC, mac(src_mac))
    for signal, value in facts:
        if value:
            emit(ts, host, None, signal, value)
