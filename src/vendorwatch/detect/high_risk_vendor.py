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
                """SELECT source, signal, value, claim FROM asset_evidence
                   WHERE site = ? AND ip = ? AND claim LIKE 'manufacturer=%'
                   ORDER BY weight DESC, signal, value""",
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
                    evidence_row(None, asset["ip"], None, signal, value, source)
                    for source, signal, value, _claim in support
                ],
                first_seen=asset["first_seen"],
                last_seen=asset["last_seen"],
                details={"risk": asset["risk"], "listings": listings,
                         "confidence": asset["confidence"],
                         "reasons": sorted({claim for *_, claim in support})},
            )
