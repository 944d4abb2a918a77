"""Where each device's traffic goes outside the site: every external destination with the
name it was reached by, its country and autonomous system, the vendor cloud or platform it
belongs to, volumes, direction and times.

A destination's platform comes from names only — the TLS SNI or HTTP Host of the flow, a DNS
answer that resolved to the address, or the subject of the certificate it presented — never
from an address alone (cloud addresses are shared and reassigned)."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from vendorwatch.detect.interface import DetectContext
from vendorwatch.site.zones import INTERNET
from vendorwatch.store import Store
from vendorwatch.store.views import iso


def dns_resolvers(store: Store) -> set[tuple[str, str]]:
    """(site, address) of hosts that answer other hosts' DNS queries: their own lookups
    are mostly forwarded for others, so a name they look up is not a name they call."""
    return {(r["site"], r["ip"]) for r in store.query(
        """SELECT DISTINCT s.site, f.dst_ip AS ip FROM flows f
           JOIN sources s ON s.id = f.source_id
           WHERE f.dst_port = 53 AND f.dst_packets > 0 AND f.src_ip <> f.dst_ip""")}


def address_names(store: Store) -> dict[tuple[str, str], str]:
    """(site, address) → the name it was most often reached by: the flows' own server
    names first, then the SNI and Host names sent to it, then DNS answers, then
    certificate common names."""
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for weight, sql in (
        (1000, """SELECT s.site, f.dst_ip AS address, lower(f.server_name) AS name,
                         count(*) AS n
                  FROM flows f JOIN sources s ON s.id = f.source_id
                  WHERE f.server_name IS NOT NULL AND f.server_name <> ''
                  GROUP BY ALL"""),
        (500, """SELECT s.site, e.peer_ip AS address, lower(e.value) AS name, count(*) AS n
                 FROM evidence e JOIN sources s ON s.id = e.source_id
                 WHERE e.signal IN ('tls.sni', 'http.host') AND e.peer_ip IS NOT NULL
                 GROUP BY ALL"""),
        (10, """SELECT s.site, substr(e.value, strpos(e.value, '=') + 1) AS address,
                       lower(split_part(e.value, '=', 1)) AS name, count(*) AS n
                FROM evidence e JOIN sources s ON s.id = e.source_id
                WHERE e.signal = 'dns.answer' AND strpos(e.value, '=') > 0
                GROUP BY ALL"""),
        (1, """SELECT s.site, e.ip AS address,
                      lower(regexp_extract(e.value, 'CN=([^,/]+)', 1)) AS name, count(*) AS n
               FROM evidence e JOIN sources s ON s.id = e.source_id
               WHERE e.signal = 'tls.cert_subject' GROUP BY ALL"""),
    ):
        for row in store.query(sql):
            if row["name"] and not row["name"].startswith("*"):
                votes[(row["site"], row["address"])][row["name"]] += weight * row["n"]
    return {key: counter.most_common(1)[0][0] for key, counter in votes.items()}


def external_destinations(
    ctx: DetectContext, site: str | None = None, ip: str | None = None
) -> list[dict[str, Any]]:
    """One row per (site, device, external peer, protocol, service port, direction)."""
    zones = ctx.zones
    names = address_names(ctx.store)
    assets = {(a["site"], a["ip"]): a
              for a in ctx.store.query("SELECT site, ip, manufacturer, device_class FROM assets")}
    where, params = [], []
    if site is not None:
        where.append("s.site = ?")
        params.append(site)
    if ip is not None:
        where.append("(f.src_ip = ? OR f.dst_ip = ?)")
        params += [ip, ip]
    rows = ctx.store.query(
        f"""SELECT s.site, f.src_ip, f.dst_ip, f.proto, f.dst_port, count(*) AS flows,
                   sum(coalesce(f.src_bytes, 0)) AS src_bytes,
                   sum(coalesce(f.dst_bytes, 0)) AS dst_bytes,
                   min(f.ts_first) AS first_seen, max(f.ts_last) AS last_seen,
                   max(f.app) AS app
            FROM flows f JOIN sources s ON s.id = f.source_id
            {"WHERE " + " AND ".join(where) if where else ""}
            GROUP BY ALL""",
        params,
    )
    out = []
    for row in rows:
        src_out = zones.zone_of(row["src_ip"]) == INTERNET
        dst_out = zones.zone_of(row["dst_ip"]) == INTERNET
        if src_out == dst_out:
            continue
        inbound = src_out
        device, peer = (row["dst_ip"], row["src_ip"]) if inbound else (row["src_ip"],
                                                                         row["dst_ip"])
        if ip is not None and device != ip:
            continue
        name = names.get((row["site"], peer), "")
        endpoint = ctx.registry.endpoint_for_host(name) if name else None
        maker = ctx.registry.maker(endpoint.maker) if endpoint else None
        place = ctx.geo.lookup(peer)
        asset = assets.get((row["site"], device), {})
        out.append({
            "site": row["site"], "device": device,
            "manufacturer": asset.get("manufacturer"), "device_class": asset.get("device_class"),
            "direction": "inbound" if inbound else "outbound",
            "peer": peer, "name": name or None, "proto": row["proto"], "port": row["dst_port"],
            "country": place.country, "asn": place.asn_name,
            "platform": f"{endpoint.service} ({maker.name if maker else endpoint.maker})"
            if endpoint else None,
            "platform_id": endpoint.id if endpoint else None,
            "flows": row["flows"],
            "bytes_out": row["dst_bytes"] if inbound else row["src_bytes"],
            "bytes_in": row["src_bytes"] if inbound else row["dst_bytes"],
            "first_seen": iso(row["first_seen"]), "last_seen": iso(row["last_seen"]),
            "app": row["app"],
        })
    out.sort(key=lambda r: (r["site"], r["device"], -(r["bytes_out"] + r["bytes_in"])))
    return out
