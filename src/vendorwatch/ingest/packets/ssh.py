"""SSH identification strings (RFC 4253 §4.2), about the host that sent them."""

from __future__ import annotations

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text


def handle_tcp(pkt: Packet, emit: Emit) -> bool:
    payload = pkt.payload
    if not payload.startswith(b"SSH-"):
        return False
    line = payload.split(b"\n", 1)[0].rstrip(b"\r")
    emit(pkt.ts, pkt.src, pkt.dst, signals.SSH_BANNER, text(line))
    return True
