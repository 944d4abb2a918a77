"""Detectors: one module each, each a function of the store's tables to findings."""

from __future__ import annotations

import json
from typing import Any

from vendorwatch.detect.high_risk_vendor import HighRiskVendorDevice
from vendorwatch.detect.interface import DetectContext, Detector, Finding, severity_rank
from vendorwatch.detect.internet_exposure import InternetExposure
from vendorwatch.detect.vendor_cloud import VendorCloud
from vendorwatch.intel import Registry, load_registry
from vendorwatch.intel.geo import Geo
from vendorwatch.intel.policy import load_policy
from vendorwatch.store import Store

DEFAULT_POLICY = "general"

DETECTORS: list[Detector] = [HighRiskVendorDevice(), InternetExposure(), VendorCloud()]

__all__ = ["DETECTORS", "Finding", "detect_context", "run_detectors", "severity_rank"]


def detect_context(store: Store, registry: Registry | None = None) -> DetectContext:
    """What detectors read, for the store's current settings (policy, zones)."""
    registry = registry or load_registry()
    policy = load_policy(store.setting("policy", DEFAULT_POLICY), registry)
    return DetectContext(store=store, registry=registry, geo=Geo(), policy=policy)


def run_detectors(store: Store, registry: Registry | None = None) -> list[Finding]:
    """Run every detector and replace the findings table, keeping each finding's triage
    state (ids are stable across runs)."""
    ctx = detect_context(store, registry)
    findings: list[Finding] = []
    for detector in DETECTORS:
        findings.extend(detector.run(ctx))
    states = dict(store.con.execute("SELECT id, state FROM findings").fetchall())
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for finding in findings:
        if finding.id in seen:
            continue
        seen.add(finding.id)
        rows.append({
            "id": finding.id, "kind": finding.kind, "severity": finding.severity,
            "site": finding.site, "asset_ip": finding.asset_ip, "summary": finding.summary,
            "details": json.dumps(finding.details, default=str),
            "evidence": json.dumps(finding.evidence, default=str),
            "first_seen": finding.first_seen, "last_seen": finding.last_seen,
            "state": states.get(finding.id, "open"),
        })
    store.replace_tables({"findings": rows})
    return findings
