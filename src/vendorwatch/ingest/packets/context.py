"""What protocol extractors receive: where the packet came from, and where facts go."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

MAX_VALUE = 1024

# (ts, ip, peer_ip, signal, value)
Emit = Callable[[float | None, str, str | None, str, str], None]


def text(raw: bytes) -> str:
    """Packet bytes as text for storage: UTF-8 where valid, escapes elsewhere, NULs and
    surrounding space removed, at most MAX_VALUE characters. Markup is not touched here:
    every output escapes on its own."""
    value = raw[: MAX_VALUE * 2].decode("utf-8", "backslashreplace").replace("\x00", "")
    return value.strip()[:MAX_VALUE]


_ADDR_CACHE: dict[bytes, str] = {}


def addr(raw: bytes) -> str:
    """An IPv4 or IPv6 address in packed form as text (cached: addresses repeat)."""
    found = _ADDR_CACHE.get(raw)
    if found is None:
        family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
        found = socket.inet_ntop(family, raw)
        if len(_ADDR_CACHE) < 1_000_000:
            _ADDR_CACHE[raw] = found
    return found


def mac(raw: bytes) -> str:
    return raw.hex(":")


@dataclass(slots=True)
class Packet:
    """One transport-layer packet, addresses already as text."""

    ts: float
    src: str
    dst: str
    sport: int
    dport: int
    payload: bytes
    src_mac: bytes | None
