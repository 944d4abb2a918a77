"""Segmentation: which zones talk to which, and what should not.

Zones come from the operator's zone file (`--zones`) or, without one, from subnets
(see `vendorwatch.site.zones`). Findings:

- ``closed-zone-leak`` (critical): a host in a zone declared closed (``closed: true`` or
  ``--closed-zone``) exchanged traffic with the internet — "the closed data network" is
  not closed.
- ``zone-violation``: a host opened a connection to a zone its own zone may not reach
  (``allowed_peers``), or the internet reached into a zone that does not allow it.
  Only with a zone file: subnets carry no rules.
- ``cross-maker-reach``: a device of a high-risk maker opened connections to another
  maker's equipment, or into a high or vital zone other than its own (infrastructure
  services — DNS, DHCP, NTP, mDNS, SSDP — excluded).
- ``mixed-maker-segment``: servers of different makers share one segment and at least one
  of them is a high-risk maker's ("do different makers' servers share one room").

The zone-to-zone flow matrix (`zone_matrix`) is computed in SQL over the flows table with a
small address → zone table, so it scales with the number of flows, not Python loops.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from vendorwatch.detect.interface import (
    SEVERITIES,
    DetectContext,
    Detector,
    Finding,
    evidence_row,
    proto_name,
)
from vendorwatch.site.zones import INTERNET, SENSITIVITIES, Zones
from vendorwatch.store import Store

# Services every device uses from the site's infrastructure; reaching them is not "reach".
INFRASTRUCTURE_PORTS = frozenset({53, 67, 68, 123, 137, 138, 514, 1900, 3702, 5353, 5355})
# Connections answered on ports below this count a host as a server.
SERVER_PORT_LIMIT = 49152
HIGH_RISK = frozenset({"high", "critical"})
MAX_EVIDENCE = 20
SENSITIVITY_SEVERITY = {"low": "low", "medium": "medium", "high": "high", "vital": "high"}


@contextmanager
def address_zones(store: Store, zones: Zones) -> Iterator[None]:
    """Within the block, the table `_vw_zones` (address, zone) holds the zone of every
    address in the flows, for SQL to join on."""
    addresses = [r[0] for r in store.con.execute(
        "SELECT src_ip FROM flows UNION SELECT dst_ip FROM flows").fetchall()]
    store.con.register("_vw_zones", pd.DataFrame(
        {"address": addresses, "zone": [zones.zone_of(a) for a in addresses]}))
    try:
        yield
    finally:
        store.con.unregister("_vw_zones")


def zone_matrix(store: Store, zones: Zones) -> list[dict[str, Any]]:
    """Flows, bytes and hosts from each zone to each zone (src is the initiator), with
    whether the zone file allows it (None when there is no rule to apply)."""
    with address_zones(store, zones):
        rows = store.query(
            """SELECT s.site, zs.zone AS from_zone, zd.zone AS to_zone, count(*) AS flows,
                      sum(coalesce(f.src_bytes, 0) + coalesce(f.dst_bytes, 0)) AS bytes,
                      count(DISTINCT f.src_ip) AS from_hosts,
                      count(DISTINCT f.dst_ip) AS to_hosts,
                      min(f.ts_first) AS first_seen, max(f.ts_last) AS last_seen
               FROM flows f JOIN sources s ON s.id = f.source_id
               JOIN _vw_zones zs ON zs.address = f.src_ip
               JOIN _vw_zones zd ON zd.address = f.dst_ip
               GROUP BY ALL ORDER BY s.site, bytes DESC"""
        )
    for row in rows:
        row["allowed"] = _allowed(zones, row["from_zone"], row["to_zone"])
    return rows


def _allowed(zones: Zones, src: str, dst: str) -> bool | None:
    """Whether a connection from zone `src` to zone `dst` is allowed; None without a rule."""
    if src == dst or dst == "multicast":
        return True
    if src == INTERNET:
        target = zones.zone(dst)
        return INTERNET in target.allowed_peers if target.declared else None
    origin = zones.zone(src)
    if not origin.declared:
        return None
    return origin.allows(dst)


def _raise(severity: str, steps: int = 1) -> str:
    return SEVERITIES[min(SEVERITIES.index(severity) + steps, len(SEVERITIES) - 1)]


class Segmentation(Detector):
    kind = "segmentation"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        zones = ctx.zones
        store = ctx.store
        with address_zones(store, zones):
            talks = store.query(
                """SELECT s.site, f.src_ip, f.dst_ip, zs.zone AS src_zone, zd.zone AS dst_zone,
                          f.proto, f.dst_port, count(*) AS flows,
                          sum(coalesce(f.src_bytes, 0)) AS sent,
                          sum(coalesce(f.dst_bytes, 0)) AS received,
                          min(f.ts_first) AS first_seen, max(f.ts_last) AS last_seen,
                          min(s.path) AS source
                   FROM flows f JOIN sources s ON s.id = f.source_id
                   JOIN _vw_zones zs ON zs.address = f.src_ip
                   JOIN _vw_zones zd ON zd.address = f.dst_ip
                   WHERE zs.zone <> zd.zone OR zs.zone = 'internet' OR zd.zone = 'internet'
                      OR f.dst_port < ?
                   GROUP BY ALL""",
                [SERVER_PORT_LIMIT],
            )
        assets = {(a["site"], a["ip"]): a for a in store.query("SELECT * FROM assets")}
        yield from self._closed_leaks(zones, talks)
        yield from self._violations(zones, talks)
        yield from self._cross_maker(zones, talks, assets)
        yield from self._mixed_segments(zones, talks, assets)

    # -- closed zones ---------------------------------------------------------------------
    def _closed_leaks(self, zones: Zones, talks: list[dict[str, Any]]) -> Iterable[Finding]:
        leaks: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for talk in talks:
            for inside, outside, host in ((talk["src_zone"], talk["dst_zone"], talk["src_ip"]),
                                          (talk["dst_zone"], talk["src_zone"], talk["dst_ip"])):
                if outside == INTERNET and inside != INTERNET and zones.zone(inside).closed:
                    leaks[(talk["site"], inside, host)].append(talk)
        for (site, zone, host), rows in sorted(leaks.items()):
            peers = sorted({r["dst_ip"] if r["src_ip"] == host else r["src_ip"] for r in rows})
            yield Finding(
                kind="closed-zone-leak", severity="critical", site=site, asset_ip=host,
                key=zone,
                summary=f"{host} in closed zone {zone} exchanged traffic with "
                        f"{len(peers)} internet address(es): {', '.join(peers[:5])}",
                evidence=_flow_evidence(rows, host),
                first_seen=_first(rows), last_seen=_last(rows),
                details={"zone": zone, "peers": peers, "flows": sum(r["flows"] for r in rows),
                         "endpoints": [{"ip": p, "name": ""} for p in peers]},
            )

    # -- zone rules -----------------------------------------------------------------------
    def _violations(self, zones: Zones, talks: list[dict[str, Any]]) -> Iterable[Finding]:
        if not zones.declared:
            return
        crossings: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for talk in talks:
            src, dst = talk["src_zone"], talk["dst_zone"]
            if _allowed(zones, src, dst) is not False:
                continue
            if (dst == INTERNET and zones.zone(src).closed) or (
                    src == INTERNET and zones.zone(dst).closed):
                continue  # a closed-zone leak says it louder
            host = talk["dst_ip"] if src == INTERNET else talk["src_ip"]
            crossings[(talk["site"], host, src, dst)].append(talk)
        for (site, host, src, dst), rows in sorted(crossings.items()):
            levels = [zones.zone(z).sensitivity for z in (src, dst) if z != INTERNET]
            top = max(levels, key=SENSITIVITIES.index) if levels else "medium"
            severity = SENSITIVITY_SEVERITY[top]
            if INTERNET in (src, dst):
                severity = _raise(severity)
            services = sorted({f"{proto_name(r['proto'])}/{r['dst_port']}" for r in rows})
            yield Finding(
                kind="zone-violation", severity=severity, site=site, asset_ip=host,
                key=f"{src}->{dst}",
                summary=f"{host}: connections from zone {src} to zone {dst}, which the zone "
                        f"file does not allow ({', '.join(services[:5])})",
                evidence=_flow_evidence(rows, host),
                first_seen=_first(rows), last_seen=_last(rows),
                details={"from_zone": src, "to_zone": dst, "services": services,
                         "flows": sum(r["flows"] for r in rows),
                         "endpoints": [{"ip": r["dst_ip"] if r["src_ip"] == host
                                        else r["src_ip"], "name": ""} for r in rows]},
            )

    # -- one maker's equipment reaching another's --------------------------------------------
    def _cross_maker(
        self, zones: Zones, talks: list[dict[str, Any]],
        assets: dict[tuple[str, str], dict[str, Any]],
    ) -> Iterable[Finding]:
        reach: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
        for talk in talks:
            if talk["dst_port"] in INFRASTRUCTURE_PORTS or INTERNET in (talk["src_zone"],
                                                                        talk["dst_zone"]):
                continue
            src = assets.get((talk["site"], talk["src_ip"]))
            if src is None or src["risk"] not in HIGH_RISK or not src["manufacturer"]:
                continue
            dst = assets.get((talk["site"], talk["dst_ip"]))
            other_maker = (dst is not None and dst["manufacturer"]
                           and dst["manufacturer"] != src["manufacturer"])
            target_zone = zones.zone(talk["dst_zone"])
            sensitive = (talk["dst_zone"] != talk["src_zone"]
                         and target_zone.sensitivity in ("high", "vital"))
            if not (other_maker or sensitive):
                continue
            target = dst["manufacturer"] if other_maker and dst else f"zone {talk['dst_zone']}"
            reach[(talk["site"], talk["src_ip"], target)].append(talk)
        for (site, host, target), rows in sorted(reach.items()):
            src = assets[(site, host)]
            vital = any(zones.zone(r["dst_zone"]).sensitivity == "vital" for r in rows)
            peers = sorted({r["dst_ip"] for r in rows})
            services = sorted({f"{proto_name(r['proto'])}/{r['dst_port']}" for r in rows})
            yield Finding(
                kind="cross-maker-reach", severity="high" if vital else "medium", site=site,
                asset_ip=host, key=target,
                summary=f"{src['manufacturer']} {src['device_class'] or 'device'} at {host} "
                        f"opens connections to {target} ({len(peers)} host(s): "
                        f"{', '.join(peers[:5])}; {', '.join(services[:5])})",
                evidence=_flow_evidence(rows, host),
                first_seen=_first(rows), last_seen=_last(rows),
                details={"maker": src["manufacturer"], "target": target, "peers": peers,
                         "services": services, "zones": sorted({r["dst_zone"] for r in rows})},
            )

    # -- servers of several makers in one segment -----------------------------------------
    def _mixed_segments(
        self, zones: Zones, talks: list[dict[str, Any]],
        assets: dict[tuple[str, str], dict[str, Any]],
    ) -> Iterable[Finding]:
        servers: dict[tuple[str, str], dict[str, dict[str, Any]]] = defaultdict(dict)
        for talk in talks:
            if (talk["proto"] != 6 or (talk["dst_port"] or SERVER_PORT_LIMIT) >= SERVER_PORT_LIMIT
                    or not talk["received"] or talk["src_zone"] == INTERNET
                    or talk["dst_zone"] == INTERNET):
                continue
            asset = assets.get((talk["site"], talk["dst_ip"]))
            if asset is None or not asset["manufacturer"]:
                continue
            servers[(talk["site"], talk["dst_zone"])][talk["dst_ip"]] = asset
        for (site, zone), members in sorted(servers.items()):
            makers = defaultdict(list)
            for ip, asset in sorted(members.items()):
                makers[asset["manufacturer"]].append(ip)
            risky = sorted(m for m, ips in makers.items()
                           if any(members[ip]["risk"] in HIGH_RISK for ip in ips))
            if len(makers) < 2 or not risky:
                continue
            sensitivity = zones.zone(zone).sensitivity
            first = makers[risky[0]][0]
            listing = "; ".join(f"{m}: {', '.join(ips[:4])}" for m, ips in sorted(makers.items()))
            yield Finding(
                kind="mixed-maker-segment",
                severity="high" if sensitivity in ("high", "vital") else "medium",
                site=site, asset_ip=first, key=zone,
                summary=f"Servers of {len(makers)} makers share segment {zone}, including "
                        f"high-risk {', '.join(risky)} ({listing})",
                evidence=[evidence_row(None, ip, None, "server",
                                       f"{asset['manufacturer']} {asset['device_class'] or ''}"
                                       .strip(), "assets")
                          for ip, asset in sorted(members.items())][:MAX_EVIDENCE],
                details={"segment": zone, "makers": {m: ips for m, ips in makers.items()},
                         "high_risk_makers": risky},
            )


def _flow_evidence(rows: list[dict[str, Any]], host: str) -> list[dict[str, Any]]:
    rows = sorted(rows, key=lambda r: -(r["sent"] + r["received"]))[:MAX_EVIDENCE]
    return [evidence_row(
        r["first_seen"], host, r["dst_ip"] if r["src_ip"] == host else r["src_ip"], "flow",
        f"{r['src_ip']} ({r['src_zone']}) -> {r['dst_ip']} ({r['dst_zone']}) "
        f"{proto_name(r['proto'])}/{r['dst_port']}: {r['flows']} flows, {r['sent']} B sent, "
        f"{r['received']} B received", r["source"]) for r in rows]


def _first(rows: list[dict[str, Any]]) -> Any:
    return min((r["first_seen"] for r in rows if r["first_seen"]), default=None)


def _last(rows: list[dict[str, Any]]) -> Any:
    return max((r["last_seen"] for r in rows if r["last_seen"]), default=None)
