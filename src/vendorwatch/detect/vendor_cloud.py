"""A device calls a vendor cloud, P2P rendezvous or platform endpoint that the registry
lists: by the names it resolves or connects to (DNS, TLS SNI, HTTP Host), or by the
registry's endpoint ports on traffic to a public address."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import pandas as pd

from vendorwatch import signals
from vendorwatch.detect.destinations import dns_resolvers
from vendorwatch.detect.interface import DetectContext, Detector, Finding, evidence_row
from vendorwatch.detect.internet_exposure import is_public

NAME_SIGNALS = (signals.DNS_QUERY, signals.TLS_SNI, signals.HTTP_HOST)
MAX_EVIDENCE = 50


class VendorCloud(Detector):
    kind = "vendor-cloud-endpoint"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = {(a["site"], a["ip"]): a for a in ctx.store.query("SELECT * FROM assets")}
        calls: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        endpoints: dict[str, Any] = {}
        names = ", ".join(f"'{s}'" for s in NAME_SIGNALS)
        resolvers = dns_resolvers(ctx.store)
        for row in ctx.store.query(
            f"""SELECT s.site, e.ts, e.ip, e.peer_ip, e.signal, e.value, e.source
                FROM evidence e JOIN sources s ON s.id = e.source_id
                WHERE e.signal IN ({names}) ORDER BY e.ts NULLS FIRST"""
        ):
            if (row["site"], row["ip"]) not in assets:
                continue
            if row["signal"] == signals.DNS_QUERY and (row["site"], row["ip"]) in resolvers:
                continue  # a resolver forwarding its clients' lookups
            endpoint = ctx.registry.endpoint_for_host(row["value"])
            if endpoint is None:
                continue
            endpoints[endpoint.id] = endpoint
            calls[(row["site"], row["ip"], endpoint.id)].append(row)
        for row in ctx.store.query(
            """SELECT s.site, min(f.ts_first) AS ts, f.src_ip AS ip, f.dst_ip AS peer_ip,
                      f.proto, f.dst_port, count(*) AS flows, min(s.path) AS source
               FROM flows f JOIN sources s ON s.id = f.source_id
               GROUP BY s.site, f.src_ip, f.dst_ip, f.proto, f.dst_port"""
        ):
            if (row["site"], row["ip"]) not in assets or not is_public(row["peer_ip"]):
                continue
            proto = {6: "tcp", 17: "udp"}.get(row["proto"])
            if proto is None or row["dst_port"] is None:
                continue
            maker = _maker_id(ctx, assets[(row["site"], row["ip"])])
            for endpoint in ctx.registry.endpoints_for_port(proto, row["dst_port"]):
                # A port number alone proves little: it counts only for a verified endpoint
                # of the device's own maker.
                if not endpoint.verified or endpoint.maker != maker:
                    continue
                endpoints[endpoint.id] = endpoint
                calls[(row["site"], row["ip"], endpoint.id)].append({
                    **row, "signal": "flow",
                    "value": f"{proto}/{row['dst_port']} to {row['peer_ip']}: "
                    f"{row['flows']} flows",
                })
        contacts = _contacts(ctx, calls)
        for key, rows in sorted(calls.items()):
            site, ip, endpoint_id = key
            yield self._finding(ctx, assets[(site, ip)], endpoints[endpoint_id], rows,
                                contacts.get(key, NO_CONTACT))

    def _finding(
        self, ctx: DetectContext, asset: dict[str, Any], endpoint: Any,
        rows: list[dict[str, Any]], contact: dict[str, Any],
    ) -> Finding:
        maker = ctx.registry.maker(endpoint.maker) if endpoint.maker else None
        maker_risk, _ = ctx.registry.risk(maker.id if maker else None)
        owner = maker.name if maker else "unknown owner"
        severity = "high" if endpoint.kind == "platform" or maker_risk in (
            "high", "critical") else "medium"
        unverified = "" if endpoint.verified else " (endpoint attribution unverified)"
        if unverified:
            severity = "low"  # unverified registry facts are shown, never escalated
        seen = sorted({r["value"] for r in rows})
        times = [r["ts"] for r in rows if r["ts"] is not None]
        times += [t for t in (contact["first_seen"], contact["last_seen"]) if t is not None]
        who = asset["manufacturer"] or "unidentified"
        volume = (f"; {contact['flows']} connections, {contact['bytes']:,} bytes"
                  if contact["flows"] else "")
        return Finding(
            kind=self.kind, severity=severity, site=asset["site"], asset_ip=asset["ip"],
            key=endpoint.id,
            summary=f"{who} {asset['device_class'] or 'device'} at {asset['ip']} calls "
            f"{owner} {endpoint.kind} endpoint {endpoint.id} ({', '.join(seen[:3])}){volume}"
            f"{unverified}",
            evidence=[
                evidence_row(r["ts"], r["ip"], r["peer_ip"], r["signal"], r["value"], r["source"])
                for r in rows[:MAX_EVIDENCE]
            ],
            first_seen=min(times, default=None),
            last_seen=max(times, default=None),
            details={"endpoint": endpoint.id, "endpoint_kind": endpoint.kind,
                     "maker": maker.id if maker else None, "maker_risk": maker_risk,
                     "verified": endpoint.verified,
                     "source_url": getattr(endpoint, "source", None),
                     "peers": contact["peers"], "flows": contact["flows"],
                     "bytes": contact["bytes"]},
        )


def _maker_id(ctx: DetectContext, asset: dict[str, Any]) -> str | None:
    found = ctx.registry.match_organisation(asset["manufacturer"]) if asset["manufacturer"] \
        else None
    return found.id if found is not None else None


NO_CONTACT: dict[str, Any] = {"peers": [], "flows": 0, "bytes": 0, "first_seen": None,
                              "last_seen": None}
CallKey = tuple[str, str, str]


def _contacts(
    ctx: DetectContext, calls: dict[CallKey, list[dict[str, Any]]]
) -> dict[CallKey, dict[str, Any]]:
    """Each device's flows to each endpoint it calls, in one query: to the public addresses
    it reached by name (SNI, Host, port rows) or that its DNS lookups of the endpoint's
    names returned."""
    answers: dict[tuple[str, str], set[str]] = defaultdict(set)
    callers = sorted({ip for _site, ip, _ in calls})
    if callers:
        marks = ", ".join("?" for _ in callers)
        for ip, value in ctx.store.con.execute(
            f"SELECT DISTINCT ip, value FROM evidence WHERE signal = 'dns.answer' "
            f"AND ip IN ({marks})", callers,
        ).fetchall():
            name, _, address = value.partition("=")
            answers[(ip, name)].add(address)
    pairs: list[tuple[int, str, str, str]] = []
    keys = list(calls)
    for index, (site, ip, endpoint_id) in enumerate(keys):
        rows = calls[(site, ip, endpoint_id)]
        peers = {r["peer_ip"] for r in rows if r["signal"] != signals.DNS_QUERY and r["peer_ip"]}
        for r in rows:
            if r["signal"] in NAME_SIGNALS:
                peers |= answers.get((ip, r["value"]), set())
        pairs += [(index, site, ip, peer) for peer in sorted(peers) if is_public(peer)]
    if not pairs:
        return {}
    frame = pd.DataFrame(pairs, columns=["k", "site", "src", "dst"])
    ctx.store.con.register("_vw_contacts", frame)
    try:
        found = ctx.store.con.execute(
            """SELECT c.k, list(DISTINCT c.dst), count(f.src_ip),
                      coalesce(sum(f.src_bytes + f.dst_bytes), 0), min(f.ts_first),
                      max(f.ts_last)
               FROM _vw_contacts c
               LEFT JOIN (SELECT fl.*, s.site FROM flows fl JOIN sources s
                          ON s.id = fl.source_id) f
                 ON f.site = c.site AND f.src_ip = c.src AND f.dst_ip = c.dst
               GROUP BY c.k"""
        ).fetchall()
    finally:
        ctx.store.con.unregister("_vw_contacts")
    return {
        keys[k]: {"peers": sorted(peers), "flows": int(n), "bytes": int(b), "first_seen": t0,
                  "last_seen": t1}
        for k, peers, n, b, t0, t1 in found
    }
