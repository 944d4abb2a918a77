"""Detectors: one module each, each a function of the store's tables to findings."""

from __future__ import annotations

import json
from typing import Any

from vendorwatch.detect.access_policy import AccessPolicy
from vendorwatch.detect.beaconing import Beaconing
from vendorwatch.detect.concentration import Concentration
from vendorwatch.detect.firmware_approval import FirmwareApproval
from vendorwatch.detect.high_risk_vendor import HighRiskVendorDevice
from vendorwatch.detect.interface import DetectContext, Detector, Finding, severity_rank
from vendorwatch.detect.internet_exposure import InternetExposure
from vendorwatch.detect.out_of_band import OutOfBand
from vendorwatch.detect.register_reconciliation import RegisterReconciliation
from vendorwatch.detect.remote_access import RemoteAccess
from vendorwatch.detect.segmentation import Segmentation
from vendorwatch.detect.vendor_cloud import VendorCloud
from vendorwatch.intel import Registry, load_registry
from vendorwatch.intel.geo import Geo
from vendorwatch.intel.policy import load_policy
from vendorwatch.site.triage import decide_state, latest_decisions, load_allowlist, today
from vendorwatch.site.zones import Zones, parse_zones
from vendorwatch.store import Store

DEFAULT_POLICY = "general"

DETECTORS: list[Detector] = [
    HighRiskVendorDevice(), InternetExposure(), VendorCloud(), RemoteAccess(), OutOfBand(),
    Beaconing(), Segmentation(), Concentration(),
    # these read the findings of the detectors above
    RegisterReconciliation(), AccessPolicy(), FirmwareApproval(),
]

__all__ = ["DETECTORS", "Finding", "detect_context", "run_detectors", "severity_rank"]


def detect_context(store: Store, registry: Registry | None = None) -> DetectContext:
    """What detectors read, for the store's current settings (policy, zones)."""
    registry = registry or load_registry()
    policy = load_policy(store.setting("policy", DEFAULT_POLICY), registry)
    return DetectContext(store=store, registry=registry, geo=Geo(), policy=policy,
                         zones=load_zones(store))


def load_zones(store: Store) -> Zones:
    """The site's zones as kept in the store (`--zones`, `--closed-zone`)."""
    text = store.setting("zones", "")
    spec = parse_zones(text, "zones (stored)") if text else None
    return Zones(spec, closed=json.loads(store.setting("closed_zones", "[]")))


def run_detectors(store: Store, registry: Registry | None = None) -> list[Finding]:
    """Run every detector and replace the findings table, keeping each finding's triage
    state (ids are stable across runs)."""
    ctx = detect_context(store, registry)
    findings: list[Finding] = []
    ctx.findings = findings  # later detectors read what earlier ones found
    for detector in DETECTORS:
        findings.extend(detector.run(ctx))
    decisions = latest_decisions(store)
    allowlist = load_allowlist(store)
    on = today()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for finding in findings:
        if finding.id in seen:
            continue
        seen.add(finding.id)
        state, basis = decide_state(finding.id, finding.kind, finding.asset_ip, finding.details,
                                    finding.evidence, decisions, allowlist, on)
        finding.details.update(basis)
        rows.append({
            "id": finding.id, "kind": finding.kind, "severity": finding.severity,
            "site": finding.site, "asset_ip": finding.asset_ip, "summary": finding.summary,
            "details": json.dumps(finding.details, default=str),
            "evidence": json.dumps(finding.evidence, default=str),
            "first_seen": finding.first_seen, "last_seen": finding.last_seen,
            "state": state,
        })
    store.replace_tables({"findings": rows})
    return findings
