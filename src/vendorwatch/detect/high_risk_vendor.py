"""A device is present from a maker the registry rates high or critical risk, or that the
site's sector policy flags or excludes (the screening verdict, with the policy's rule)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from vendorwatch.detect.interface import (
    DetectContext,
    Detector,
    Finding,
    evidence_row,
    severity_rank,
)
from vendorwatch.intel.screening import ScreeningResult, screen

SEVERITY_FOR_RISK = {"critical": "high", "high": "medium"}
SEVERITY_FOR_VERDICT = {"critical": "high", "high": "medium", "medium": "low"}


class HighRiskVendorDevice(Detector):
    kind = "high-risk-vendor-device"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = ctx.store.query(
            "SELECT * FROM assets WHERE manufacturer IS NOT NULL ORDER BY site, ip"
        )
        verdicts: dict[str, Any] = {}
        for asset in assets:
            maker = asset["manufacturer"]
            if maker not in verdicts:
                verdicts[maker] = screen(maker, ctx.registry, ctx.policy)
            verdict = verdicts[maker]
            flagged = verdict.company is not None and verdict.verdict in (
                "medium", "high", "critical")  # a maker the registry knows, flagged
            if asset["risk"] not in ("high", "critical") and not flagged:
                continue
            support = ctx.store.con.execute(
                """SELECT a.source, a.signal, a.value, a.claim,
                          (SELECT min(e.ts) FROM evidence e WHERE e.ip = a.ip
                             AND e.signal = a.signal AND e.value = a.value) AS ts
                   FROM asset_evidence a
                   WHERE a.site = ? AND a.ip = ? AND a.claim LIKE 'manufacturer=%'
                   ORDER BY a.weight DESC, a.signal, a.value""",
                [asset["site"], asset["ip"]],
            ).fetchall()
            listings = json.loads(asset["listings"])
            named = ", ".join(dict.fromkeys(
                item["list"] + (f" (via {item['via']})" if item.get("via") else "")
                for item in listings
            ))
            what = asset["device_class"] or "device"
            brand = asset["brand"]
            label = asset["manufacturer"] + (
                f" (sold as {brand})" if brand and brand != asset["manufacturer"] else ""
            )
            yield Finding(
                kind=self.kind,
                severity=max(SEVERITY_FOR_RISK.get(asset["risk"], "low"),
                             SEVERITY_FOR_VERDICT.get(verdict.verdict, "low"),
                             key=severity_rank),
                site=asset["site"],
                asset_ip=asset["ip"],
                key=asset["manufacturer"],
                summary=f"{label} {what} at {asset['ip']}: {asset['risk']}-risk maker"
                + (f"; listed: {named}" if named else "")
                + _policy_words(verdict),
                evidence=[
                    evidence_row(ts, asset["ip"], None, signal, value, source)
                    for source, signal, value, _claim, ts in support
                ],
                first_seen=asset["first_seen"],
                last_seen=asset["last_seen"],
                details={"risk": asset["risk"], "listings": listings,
                         "policy": verdict.policy, "policy_verdict": verdict.verdict,
                         "policy_reasons": list(verdict.reasons),
                         "confidence": asset["confidence"],
                         "reasons": sorted({row[3] for row in support})},
            )


def _policy_words(result: ScreeningResult) -> str:
    """'; port-critical policy: exclude (us-telecom-ban, …)' — the strongest action and
    the rules that gave the verdict."""
    at_verdict = [r for r in result.reasons if r["verdict"] == result.verdict]
    if not at_verdict:
        return ""
    action = "exclude" if any(r["action"] == "exclude" for r in at_verdict) else "flag"
    rules = ", ".join(dict.fromkeys(r["rule"] for r in at_verdict))
    return f"; {result.policy} policy: {action} ({rules})"
