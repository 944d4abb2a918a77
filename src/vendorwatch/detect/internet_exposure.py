"""A device exchanges traffic with the internet: every public peer with its country and
autonomous system (offline, geoip2fast), volumes, direction and times."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from vendorwatch.detect.interface import (
    SEVERITIES,
    DetectContext,
    Detector,
    Finding,
    evidence_row,
    proto_name,
)

MAX_EVIDENCE = 50
# Device classes that run operations (terminal, crane, scanner, signalling): any internet
# traffic is a finding of its own weight, whoever made them.
OPERATIONAL_CLASSES = frozenset({"plc", "x-ray-scanner", "crane-controller", "rail-signalling",
                                 "building-controller"})


@lru_cache(maxsize=1 << 16)
def is_public(address: str) -> bool:
    """A globally routed unicast address (multicast groups are never a peer)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return parsed.is_global and not parsed.is_multicast


class InternetExposure(Detector):
    kind = "internet-traffic"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = {(a["site"], a["ip"]): a for a in ctx.store.query("SELECT * FROM assets")}
        peers: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in ctx.store.query(
            """SELECT s.site, f.src_ip, f.dst_ip, f.proto, f.dst_port,
                      count(*) AS flows, sum(f.src_bytes) AS sent, sum(f.dst_bytes) AS received,
                      min(f.ts_first) AS first_seen, max(f.ts_last) AS last_seen,
                      max(f.server_name) AS server_name, max(f.app) AS app, min(s.path) AS source
               FROM flows f JOIN sources s ON s.id = f.source_id
               GROUP BY s.site, f.src_ip, f.dst_ip, f.proto, f.dst_port"""
        ):
            site = row["site"]
            if (site, row["src_ip"]) in assets and is_public(row["dst_ip"]):
                peers[(site, row["src_ip"])].append({**row, "inbound": False})
            elif (site, row["dst_ip"]) in assets and is_public(row["src_ip"]):
                peers[(site, row["dst_ip"])].append({**row, "inbound": True})
        for (site, ip), talks in sorted(peers.items()):
            yield self._finding(ctx, assets[(site, ip)], talks)

    def _finding(
        self, ctx: DetectContext, asset: dict[str, Any], talks: list[dict[str, Any]]
    ) -> Finding:
        maker = ctx.registry.match_organisation(asset["manufacturer"]) if asset["manufacturer"] \
            else None
        home = getattr(maker, "country", None)
        countries: dict[str, int] = defaultdict(int)
        evidence: list[dict[str, Any]] = []
        inbound = False
        talks.sort(key=lambda t: -(t["sent"] or 0) - (t["received"] or 0))
        peers: set[str] = set()
        def peer_of(talk: dict[str, Any]) -> str:
            return str(talk["src_ip"] if talk["inbound"] else talk["dst_ip"])

        for talk in talks:
            peer = peer_of(talk)
            peers.add(peer)
            # bytes from the device's side: it is the responder on inbound flows
            out_b, in_b = ((talk["received"], talk["sent"]) if talk["inbound"]
                           else (talk["sent"], talk["received"]))
            place = ctx.geo.lookup(peer)
            country = place.country or "??"
            countries[country] += (talk["sent"] or 0) + (talk["received"] or 0)
            inbound = inbound or talk["inbound"]
            talk["country"], talk["asn"] = country, place.asn_name
            if len(evidence) < MAX_EVIDENCE:
                direction = "from" if talk["inbound"] else "to"
                name = f" ({talk['server_name']})" if talk["server_name"] else ""
                evidence.append(evidence_row(
                    talk["first_seen"], asset["ip"], peer, "flow",
                    f"{proto_name(talk['proto'])}"
                    + (f"/{talk['dst_port']}" if talk["dst_port"] is not None else "")
                    + f" {direction} {peer}{name} "
                    f"{country} {place.asn_name or 'AS?'}: {talk['flows']} flows, "
                    f"{out_b or 0} B out, {in_b or 0} B in",
                    talk["source"],
                ))
        severity = "low"
        if asset["device_class"] in OPERATIONAL_CLASSES:
            severity = "high"  # a controller or scanner should not talk to the internet at all
        elif asset["risk"] in ("high", "critical"):
            severity = "high" if home and home in countries else "medium"
        if inbound:
            severity = SEVERITIES[min(SEVERITIES.index(severity) + 1, len(SEVERITIES) - 1)]
        ranked = sorted(countries.items(), key=lambda kv: -kv[1])
        where = ", ".join(f"{c} ({b} B)" for c, b in ranked[:5])
        who = asset["manufacturer"] or "unidentified"
        return Finding(
            kind=self.kind, severity=severity, site=asset["site"], asset_ip=asset["ip"],
            key="internet",
            summary=f"{who} {asset['device_class'] or 'device'} at {asset['ip']} exchanges "
            f"traffic with {len(peers)} internet peer(s)"
            + (" (inbound connections too)" if inbound else "") + f": {where}",
            evidence=evidence,
            first_seen=min((t["first_seen"] for t in talks if t["first_seen"]), default=None),
            last_seen=max((t["last_seen"] for t in talks if t["last_seen"]), default=None),
            details={"countries": dict(ranked), "peers": len(peers), "inbound": inbound,
                     "endpoints": [{"ip": a, "name": n} for a, n in
                                   sorted({(peer_of(t), t["server_name"] or "") for t in talks})]},
        )
