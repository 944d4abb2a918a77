"""Findings and the detector interface. A new detector is one module in this package and
one entry in `vendorwatch.detect.DETECTORS`."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from vendorwatch.intel import Registry
from vendorwatch.intel.geo import Geo
from vendorwatch.intel.policy import Policy
from vendorwatch.site.zones import Zones
from vendorwatch.store import Store

SEVERITIES = ("info", "low", "medium", "high", "critical")


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else -1


@dataclass
class Finding:
    """One thing an operator should look at, with the evidence that proves it.

    `key` distinguishes findings of one kind on one asset (e.g. the endpoint called);
    the id is derived from kind, site, asset and key, so it is stable across re-runs."""

    kind: str
    severity: str
    site: str
    asset_ip: str | None
    key: str
    summary: str
    evidence: list[dict[str, Any]]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        basis = "\x1f".join((self.kind, self.site, self.asset_ip or "", self.key))
        return "VW-" + hashlib.sha256(basis.encode()).hexdigest()[:12]


@dataclass
class DetectContext:
    """What detectors read: the store (assets, evidence, flows), the vendor registry,
    offline geolocation, the sector policy and the site's zones."""

    store: Store
    registry: Registry
    geo: Geo
    policy: Policy
    zones: Zones = field(default_factory=Zones)
    # findings of the detectors that ran before this one in the same run (DETECTORS order);
    # None outside a full run (a detector then reads the findings table)
    findings: list[Finding] | None = None


class Detector(ABC):
    kind: ClassVar[str]

    @abstractmethod
    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        """Findings for the current contents of the store."""


def evidence_row(
    ts: datetime | None, ip: str, peer_ip: str | None, signal: str, value: str, source: str
) -> dict[str, Any]:
    """An evidence row as findings carry it (the `evidence` command's JSON shape)."""
    return {
        "ts": ts.isoformat() + "Z" if ts else None,
        "ip": ip, "peer_ip": peer_ip, "signal": signal, "value": value, "source": source,
    }


def proto_name(number: int | None) -> str:
    """tcp, udp, icmp, icmpv6, or the IP protocol number."""
    return {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6"}.get(number or 0, str(number))


def asset_addresses(value: Any) -> list[str]:
    """The other addresses of an asset (the assets table's `addresses` JSON list)."""
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str) and value:
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        return [str(v) for v in parsed] if isinstance(parsed, list) else []
    return []
