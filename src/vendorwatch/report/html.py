"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

Every value that came from a packet or a log is attacker-controlled; Jinja2 autoescaping
is on for the whole template and the page forbids scripts by Content-Security-Policy, so a
hostile string renders as text."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment

from vendorwatch import __version__
from vendorwatch.detect.firmware_approval import FINDING_KINDS as FIRMWARE_KINDS
from vendorwatch.detect.interface import SEVERITIES
from vendorwatch.report.chart import makers_by_risk, shares_by_function
from vendorwatch.report.pages import page_environment
from vendorwatch.report.questions import answers
from vendorwatch.store import Store
from vendorwatch.store.views import list_assets, list_findings

HIGH_RISK = ("high", "critical")


def _environment() -> Environment:
    return page_environment("vendorwatch.report", {"when": _when})


def _when(iso: Any) -> str:
    """'2026-03-02T06:00:14.149589Z' → '2026-03-02 06:00:14' (UTC); '—' when unknown."""
    return iso[:19].replace("T", " ") if isinstance(iso, str) and len(iso) >= 19 else "—"


def report_context(store: Store, site: str | None = None) -> dict[str, Any]:
    assets = list_assets(store, site)
    findings = list_findings(store, site)
    sources = store.query(
        "SELECT path, kind, site, sha256, records, warning, ingested_at FROM sources "
        + ("WHERE site = ? " if site is not None else "") + "ORDER BY id",
        [site] if site is not None else [],
    )
    by_severity = {s: sum(1 for f in findings if f["severity"] == s) for s in SEVERITIES}
    high_risk = [a for a in assets if a["risk"] in HIGH_RISK]
    sites = sorted({a["site"] for a in assets} | {s["site"] for s in sources})
    makers = ownership_of_makers(assets)
    dependence = dependence_context(store, site)
    return {
        **reach_context(store, site),
        **dependence,
        "questions": answers(store, findings, dependence["concentration"], site),
        **registers_context(store, findings, site),
        "version": __version__,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "sites": [s or "(no site given)" for s in sites],
        "assets": assets,
        "high_risk": high_risk,
        "findings": findings,
        "by_severity": by_severity,
        "severities": list(reversed(SEVERITIES)),
        "sources": sources,
        "chart": makers_by_risk(assets),
        "makers_high_risk": sorted({a["manufacturer"] for a in high_risk if a["manufacturer"]}),
        "makers": makers,
    }


MAX_DESTINATIONS = 200


def reach_context(store: Store, site: str | None) -> dict[str, Any]:
    """What reaches out and what is reachable: external destinations per device (named,
    with vendor platforms) and the zone-to-zone matrix as a grid."""
    from vendorwatch.detect import detect_context
    from vendorwatch.detect.destinations import external_destinations
    from vendorwatch.detect.segmentation import zone_matrix

    ctx = detect_context(store)
    destinations = external_destinations(ctx, site=site)
    matrix = [r for r in zone_matrix(store, ctx.zones)
              if (site is None or r["site"] == site)
              and r["from_zone"] not in ("unknown", "multicast")
              and r["to_zone"] not in ("unknown", "multicast")]
    zones = sorted({r["from_zone"] for r in matrix} | {r["to_zone"] for r in matrix},
                   key=lambda z: (z == "internet", z))
    cells: dict[str, dict[str, Any]] = {}
    for row in matrix:
        key = f"{row['from_zone']}\x1f{row['to_zone']}"
        cell = cells.setdefault(key, {"flows": 0, "bytes": 0, "allowed": row["allowed"]})
        cell["flows"] += row["flows"]
        cell["bytes"] += row["bytes"]
    return {
        "destinations": destinations[:MAX_DESTINATIONS],
        "destinations_total": len(destinations),
        "platform_devices": sorted({(d["device"], d["platform"]) for d in destinations
                                    if d["platform"]}),
        "zone_names": zones,
        "zone_cells": cells,
        "zones_declared": ctx.zones.declared,
    }


RECONCILIATION_KINDS = ("unregistered-device", "registered-not-seen", "register-maker-mismatch",
                        "comms-module-mismatch")


def registers_context(
    store: Store, findings: list[dict[str, Any]], site: str | None
) -> dict[str, Any]:
    """The operator's own registers beside the evidence: reconciliation findings, the
    access register with each person's problems, and the firmware register."""
    where, params = ("WHERE site = ?", [site]) if site is not None else ("", [])
    people = store.query(
        f"""SELECT person, employer, role, screening, screening_expires, access, scope, via,
                   mfa, valid_until FROM current_access_register {where}
            ORDER BY person, access""", params)
    problems: dict[str, list[str]] = {}
    for finding in findings:
        person = finding["details"].get("person") if isinstance(finding["details"], dict) \
            else None
        if person:
            problems.setdefault(person, []).append(finding["kind"])
    for row in people:
        row["problems"] = sorted(set(problems.get(row["person"], [])))
    images = store.query(
        """SELECT i.id, i.maker, i.model, i.version, i.signature, i.flagged,
                  count(a.image_id) AS approvals,
                  count(a.image_id) FILTER (WHERE coalesce(a.test_report, '') <> '') AS tested
           FROM firmware_images i LEFT JOIN firmware_approvals a ON a.image_id = i.id
           GROUP BY ALL ORDER BY i.maker, i.model, i.version""")
    return {
        "reconciliation": [f for f in findings if f["kind"] in RECONCILIATION_KINDS],
        "access_people": people,
        "firmware_images": images,
        "firmware_findings": [f for f in findings if f["kind"] in FIRMWARE_KINDS],
    }


def dependence_context(store: Store, site: str | None) -> dict[str, Any]:
    """Concentration per function and what stops if every device of a maker based in or
    controlled from China stopped (the kill-switch question)."""
    from vendorwatch.detect.concentration import concentration, devices, impact, select
    from vendorwatch.intel import load_registry

    registry = load_registry()
    found = devices(store, registry, site)
    rows = concentration(found)
    lost, scenario = select(registry, found, country="CN")
    return {
        "concentration": [r for r in rows if r["level"] == "maker"],
        "registered": store.query(
            "SELECT count(*) AS n FROM current_register_assets"
            + (" WHERE site = ?" if site is not None else ""),
            [site] if site is not None else [])[0]["n"],
        "concentration_owners": [r for r in rows if r["level"] == "owner"],
        "concentration_chart": shares_by_function(rows),
        "kill_switch": impact(found, lost),
        "kill_switch_scenario": scenario,
    }


def ownership_of_makers(assets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For every registered maker with devices here: who owns it, up to the ultimate
    owners, with state flags and sources, and how its risk level was reached."""
    from vendorwatch.intel import load_registry

    registry = load_registry()
    counts: dict[str, int] = {}
    for asset in assets:
        maker = registry.match_organisation(asset["manufacturer"]) \
            if asset["manufacturer"] else None
        if maker is not None:
            counts[maker.id] = counts.get(maker.id, 0) + 1
    out = []
    for maker_id, devices in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        maker = registry.maker(maker_id)
        assert maker is not None
        assessment = registry.assess(maker_id)
        out.append({
            "name": maker.name, "country": maker.country, "devices": devices,
            "risk": assessment.level, "why": assessment.why,
            "owners": [
                {"name": link.owner.name, "depth": link.depth, "share": link.share,
                 "controlling": link.controlling, "state": bool(link.owner.state_owned),
                 "verified": link.verified, "source_url": link.source_url}
                for link in registry.owner_chain(maker_id)
            ],
        })
    return out


def render_report(store: Store, site: str | None = None) -> str:
    return _environment().get_template("report.html.j2").render(**report_context(store, site))


def write_report(store: Store, path: Path, site: str | None = None) -> None:
    """Write the report atomically (a half-written file never replaces a good one)."""
    html = render_report(store, site)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(path)
