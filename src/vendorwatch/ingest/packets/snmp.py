"""SNMP v1/v2c responses: sysDescr and sysName of the agent, by their object identifiers."""

from __future__ import annotations

import dpkt

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text

# BER encodings of 1.3.6.1.2.1.1.1.0 (sysDescr) and 1.3.6.1.2.1.1.5.0 (sysName)
_OIDS = {
    b"\x06\x08\x2b\x06\x01\x02\x01\x01\x01\x00": signals.SNMP_SYSDESCR,
    b"\x06\x08\x2b\x06\x01\x02\x01\x01\x05\x00": signals.SNMP_SYSNAME,
}
_GET_RESPONSE = 0xA2


def handle(pkt: Packet, emit: Emit) -> None:
    payload = pkt.payload
    if _GET_RESPONSE not in payload[:64]:
        return
    for oid, signal in _OIDS.items():
        at = payload.find(oid)
        if at < 0:
            continue
        try:
            decoded = dpkt.asn1.decode(payload[at + len(oid) :])
        except (dpkt.UnpackError, IndexError, ValueError):
            continue
        if decoded and decoded[0][0] == dpkt.asn1.OCTET_STRING and decoded[0][1]:
            emit(pkt.ts, pkt.src, pkt.dst, signal, text(decoded[0][1]))
