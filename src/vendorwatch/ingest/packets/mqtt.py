"""MQTT CONNECT (MQTT 3.1, 3.1.1 and 5): the client identifier a device sends its broker —
IoT firmware often names its software or maker there (e.g. Eclipse Paho's "paho/…")."""

from __future__ import annotations

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text

CONNECT = 0x10
PROTOCOL_NAMES = (b"MQTT", b"MQIsdp")


def handle_tcp(pkt: Packet, emit: Emit) -> bool:
    payload = pkt.payload
    if len(payload) < 12 or payload[0] != CONNECT:
        return False
    off = 1
    for _ in range(4):  # remaining length: up to four 7-bit groups
        if off >= len(payload):
            return False
        more = payload[off] & 0x80
        off += 1
        if not more:
            break
    name_len = int.from_bytes(payload[off : off + 2], "big")
    name = payload[off + 2 : off + 2 + name_len]
    if name not in PROTOCOL_NAMES:
        return False
    off += 2 + name_len
    level = payload[off] if off < len(payload) else 0
    off += 4  # level, flags, keep-alive
    if level == 5 and off < len(payload):  # MQTT 5: properties before the payload
        props, shift = 0, 0
        while off < len(payload):
            byte = payload[off]
            off += 1
            props |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        off += props
    id_len = int.from_bytes(payload[off : off + 2], "big")
    client_id = payload[off + 2 : off + 2 + id_len]
    if client_id:
        emit(pkt.ts, pkt.src, pkt.dst, signals.MQTT_CLIENT_ID, text(client_id))
    return True
