"""ONVIF WS-Discovery (UDP 3702): the scopes a camera or recorder announces in Hello and
ProbeMatch messages, e.g. onvif://www.onvif.org/name/HIKVISION or .../hardware/DS-2CD2143G0-I.

Scopes are taken with a bounded pattern instead of an XML parser: the payload is
attacker-controlled and entity expansion is not wanted."""

from __future__ import annotations

import re

from vendorwatch import signals
from vendorwatch.ingest.packets.context import Emit, Packet, text

_SCOPES = re.compile(rb"<(?:[\w-]{1,32}:)?Scopes(?:\s[^>]{0,512})?>([^<]{1,8192})<", re.S)


def handle(pkt: Packet, emit: Emit) -> None:
    for match in _SCOPES.finditer(pkt.payload[:65536]):
        for scope in match.group(1).split():
            if scope.startswith(b"onvif://"):
                emit(pkt.ts, pkt.src, None, signals.ONVIF_SCOPE, text(scope))
