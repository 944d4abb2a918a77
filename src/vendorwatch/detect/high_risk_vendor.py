"""A device made by a maker the registry rates high or critical risk is present."""

from __future__ import annotations

import json
from collections.abc import Iterable

from vendorwatch.detect.interface import DetectContext, Detector, Finding, evidence_row

SEVERITY_FOR_RISK = {"critical": "high", "high": "medium"}


class HighRiskVendorDevice(Detector):
    kind = "high-risk-vendor-device"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = ctx.store.query(
            "SELECT * FROM assets WHERE risk IN ('high', 'critical') ORDER BY site, ip"
        )
        for asset in assets:
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
                severity=SEVERITY_FOR_RISK.get(asset["risk"], "low"),
                site=asset["site"],
                asset_ip=asset["ip"],
                key=asset["manufacturer"],
                summary=f"{label} {what} at {asset['ip']}: {asset['risk']}-risk maker"
                + (f"; listed: {named}" if named else ""),
                evidence=[
                    evidence_row(ts, asset["ip"], None, signal, value, source)
                    for source, signal, value, _claim, ts in support
                ],
                first_seen=asset["first_seen"],
                last_seen=asset["last_seen"],
                details={"risk": asset["risk"], "listings": listings,
                         "confidence": asset["confidence"],
                         "reasons": sorted({row[3] for row in support})},
            )
