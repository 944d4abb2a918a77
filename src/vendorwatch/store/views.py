"""The contract shapes of assets, findings and evidence (PRODUCT.md, "Interface contract"),
read from the store. The CLI, the report and later the web side all read through here."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from vendorwatch.store.db import Store


def iso(value: datetime | None) -> str | None:
    """A stored UTC time as the contract writes it: ISO 8601 with a Z."""
    return value.isoformat() + "Z" if value is not None else None


def list_assets(store: Store, site: str | None = None) -> list[dict[str, Any]]:
    where, params = ("WHERE site = ?", [site]) if site is not None else ("", [])
    assets = store.query(f"SELECT * FROM assets {where} ORDER BY site, ip", params)
    support: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in store.query(
        f"""SELECT site, ip, source, signal, value, max(weight) AS weight,
                   string_agg(DISTINCT claim, '; ' ORDER BY claim) AS claims
            FROM asset_evidence {where} GROUP BY site, ip, source, signal, value
            ORDER BY site, ip, weight DESC, signal, value""",
        params,
    ):
        support.setdefault((row["site"], row["ip"]), []).append(
            {"source": row["source"], "signal": row["signal"], "value": row["value"],
             "claims": row["claims"]}
        )
    seen_as = _names_seen(store, site)
    out = []
    for asset in assets:
        names = seen_as.get((asset["site"], asset["ip"]), {})
        out.append({
            "ip": asset["ip"], "mac": asset["mac"], "site": asset["site"],
            "other_addresses": json.loads(asset["addresses"] or "[]"),
            "manufacturer": asset["manufacturer"], "brand": asset["brand"],
            "model": asset["model"], "device_class": asset["device_class"],
            "confidence": asset["confidence"], "risk": asset["risk"],
            "listings": json.loads(asset["listings"]),
            "evidence": support.get((asset["site"], asset["ip"]), []),
            "first_seen": iso(asset["first_seen"]), "last_seen": iso(asset["last_seen"]),
            "hostnames": names.get("hostnames", []),
            "user_agents": names.get("user_agents", []),
        })
    return out


HOSTNAME_SIGNALS = ("dhcp.hostname", "mdns.name", "cdp.device_id", "lldp.system_name",
                    "snmp.sysname")
MAX_NAMES = 5


def _names_seen(store: Store, site: str | None) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Host names a device gave itself and the user agents it sent (as observed, hostile
    or not), a few of each, for people recognising their devices."""
    wanted = ", ".join(f"'{s}'" for s in (*HOSTNAME_SIGNALS, "http.user_agent"))
    where, params = ("AND s.site = ?", [site]) if site is not None else ("", [])
    out: dict[tuple[str, str], dict[str, list[str]]] = {}
    for row in store.query(
        f"""SELECT DISTINCT s.site, e.ip, e.signal, e.value FROM evidence e
            JOIN sources s ON s.id = e.source_id
            WHERE e.signal IN ({wanted}) {where} ORDER BY s.site, e.ip, e.signal, e.value""",
        params,
    ):
        key = "user_agents" if row["signal"] == "http.user_agent" else "hostnames"
        bucket = out.setdefault((row["site"], row["ip"]), {}).setdefault(key, [])
        if len(bucket) < MAX_NAMES and row["value"] not in bucket:
            bucket.append(row["value"])
    return out


def list_findings(
    store: Store, site: str | None = None, min_severity: str | None = None
) -> list[dict[str, Any]]:
    from vendorwatch.detect.interface import SEVERITIES, severity_rank
    from vendorwatch.site.triage import current_state, today

    where, params = ("WHERE site = ?", [site]) if site is not None else ("", [])
    rows = store.query(f"SELECT * FROM findings {where}", params)
    floor = severity_rank(min_severity) if min_severity else 0
    on = today()
    out = []
    for row in rows:
        if severity_rank(row["severity"]) < floor:
            continue
        details = json.loads(row["details"])
        state, lapsed = current_state(row["state"], details, on)
        if lapsed:
            details["reopened"] = lapsed
        out.append({
            "id": row["id"], "kind": row["kind"], "severity": row["severity"],
            "site": row["site"], "asset_ip": row["asset_ip"], "summary": row["summary"],
            "evidence": json.loads(row["evidence"]),
            "first_seen": iso(row["first_seen"]), "last_seen": iso(row["last_seen"]),
            "state": state, "details": details,
        })
    out.sort(key=lambda f: (-SEVERITIES.index(f["severity"]), f["kind"], f["asset_ip"] or ""))
    return out


def list_evidence(
    store: Store, ip: str | None = None, signal: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    clauses, params = [], []
    if ip is not None:
        clauses.append("ip = ?")
        params.append(ip)
    if signal is not None:
        clauses.append("signal = ?")
        params.append(signal)
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    tail = f"LIMIT {int(limit)}" if limit else ""
    rows = store.query(
        f"""SELECT ts, ip, peer_ip, signal, value, source FROM evidence {where}
            ORDER BY ts NULLS FIRST, ip, signal, value {tail}""",
        params,
    )
    for row in rows:
        row["ts"] = iso(row["ts"])
    return rows
