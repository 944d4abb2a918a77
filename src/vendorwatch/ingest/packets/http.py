"""HTTP/1.x and RTSP headers: Host and User-Agent of requests (about the client), Server
of responses (about the server). SSDP reuses the header parser over UDP."""

from __future__ import annotations

import io

import dpkt

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text

REQUEST_METHODS = (
    b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ", b"PATCH ",
    b"DESCRIBE ", b"SETUP ", b"PLAY ", b"TEARDOWN ", b"NOTIFY ", b"M-SEARCH ",
)
FIRST_BYTES = frozenset(m[0] for m in REQUEST_METHODS) | {ord("H"), ord("R")}
RESPONSE_PREFIXES = (b"HTTP/1.", b"RTSP/1.")


def headers(payload: bytes) -> dict[str, str] | None:
    """Header fields of the first message in `payload` (names lower-case), or None."""
    end = payload.find(b"\r\n\r\n")
    block = payload if end < 0 else payload[: end + 2]
    first = block.find(b"\n")
    if first < 0:
        return None
    try:
        parsed = dpkt.http.parse_headers(io.BytesIO(block[first + 1 :]))
    except (dpkt.UnpackError, ValueError):
        return None
    out: dict[str, str] = {}
    for name, value in parsed.items():
        value = value[-1] if isinstance(value, list) else value
        out[name] = text(value.encode("latin-1", "replace"))
    return out


def handle_tcp(pkt: Packet, emit: Emit) -> bool:
    """True when the payload was an HTTP or RTSP message head."""
    payload = pkt.payload
    if payload.startswith(RESPONSE_PREFIXES):
        fields = headers(payload)
        if fields and fields.get("server"):
            signal = signals.HTTP_SERVER if payload[0] == ord("H") else signals.RTSP_SERVER
            emit(pkt.ts, pkt.src, pkt.dst, signal, fields["server"])
        return True
    if not payload.startswith(REQUEST_METHODS):
        return False
    fields = headers(payload)
    if fields:
        if fields.get("host") and not payload.startswith((b"DESCRIBE", b"SETUP", b"PLAY")):
            emit(pkt.ts, pkt.src, pkt.dst, signals.HTTP_HOST, fields["host"])
        if fields.get("user-agent"):
            emit(pkt.ts, pkt.src, pkt.dst, signals.HTTP_USER_AGENT, fields["user-agent"])
    return True


def handle_ssdp(pkt: Packet, emit: Emit) -> None:
    """SSDP NOTIFY, M-SEARCH and search responses: SERVER, USER-AGENT and LOCATION."""
    fields = headers(pkt.payload)
    if not fields:
        return
    for header, signal in (
        ("server", signals.SSDP_SERVER),
        ("user-agent", signals.SSDP_USER_AGENT),
        ("location", signals.SSDP_LOCATION),
    ):
        if fields.get(header):
            emit(pkt.ts, pkt.src, None, signal, fields[header])
