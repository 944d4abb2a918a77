"""The questions operators and parliament ask about a facility (the Buitenweg questions on
the scanners in the port of Rotterdam, 2021), answered for one site from what is stored:
each answer is a sentence with its numbers and the ids of the findings behind it, or says
plainly that the store holds no evidence either way."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from vendorwatch.detect.firmware_approval import FINDING_KINDS as FIRMWARE_KINDS
from vendorwatch.store import Store

SCANNING = "container scanning"
CELLULAR_KINDS = ("cellular-device", "second-gateway")
ACCESS_PREFIX = "access-"


def _ids(findings: list[dict[str, Any]]) -> list[str]:
    return [f["id"] for f in findings]


def _of(findings: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["kind"] in kinds]


def answers(
    store: Store, findings: list[dict[str, Any]], concentration: list[dict[str, Any]],
    site: str | None,
) -> list[dict[str, Any]]:
    """[{question, answer, findings: [ids]}] in the order the questions are asked."""
    out = [
        _scanner_share(concentration),
        _closed_network(findings),
        _mobile_link(store, findings, site),
        _shared_rooms(store, findings, site),
        _access(store, findings),
        _updates(store, findings),
    ]
    return [a for a in out if a is not None]


def _scanner_share(concentration: list[dict[str, Any]]) -> dict[str, Any]:
    question = "Is it true that half of the large scanners were supplied by Nuctech?"
    rows = [r for r in concentration if r["function"] == SCANNING and r["level"] == "maker"]
    if not rows:
        return {"question": question, "findings": [],
                "answer": "No container scanner is known here: give an asset register with a "
                          "function column, or a capture in which the scanners appear."}
    total = rows[0]["of_devices"]
    parts = []
    for row in sorted(rows, key=lambda r: -r["devices"]):
        capacity = (f", {row['capacity_share']:.0%} of declared capacity"
                    if row["capacity_share"] is not None else "")
        if capacity and row["capacity_declared"] < total:
            capacity += f", capacity declared for {row['capacity_declared']} of {total}"
        parts.append(f"{row['name']} {row['devices']} of {total} ({row['share']:.0%}"
                     f"{capacity})")
    return {"question": question, "findings": [],
            "answer": "Container scanners by maker: " + "; ".join(parts) + "."}


def _closed_network(findings: list[dict[str, Any]]) -> dict[str, Any]:
    question = ("Are the scans run on a closed data network, as promised — or does "
                "equipment talk to the outside?")
    leaks = _of(findings, "closed-zone-leak")
    outside = [f for f in _of(findings, "internet-traffic", "vendor-cloud-endpoint",
                              "beaconing") if f["severity"] in ("high", "critical")]
    if not leaks and not outside:
        return {"question": question, "findings": [],
                "answer": "No closed zone leaked and no operational or high-risk device "
                          "exchanged traffic with the internet in the data ingested."}
    hosts = sorted({f["asset_ip"] for f in leaks + outside if f["asset_ip"]})
    text = (f"{len(leaks)} leak(s) from zones declared closed; {len(outside)} high or "
            f"critical finding(s) of devices reaching outside ({', '.join(hosts[:8])}"
            f"{' …' if len(hosts) > 8 else ''}).")
    return {"question": question, "answer": text, "findings": _ids(leaks + outside)}


def _mobile_link(
    store: Store, findings: list[dict[str, Any]], site: str | None
) -> dict[str, Any]:
    question = ("Can technicians open a mobile data connection to head office "
                "(a cellular path around the site's network)?")
    cellular = _of(findings, *CELLULAR_KINDS)
    mismatches = [f for f in _of(findings, "comms-module-mismatch")
                  if f["severity"] in ("medium", "high", "critical")]
    where, params = ("WHERE site = ?", [site]) if site else ("", [])
    found_modems = store.query(
        f"""SELECT asset_id, date, finding, imei FROM inspections {where}
            ORDER BY date""", params)
    modems = [r for r in found_modems if "modem found" in (r["finding"] or "").lower()
              and not (r["finding"] or "").lower().startswith("no ")]
    if not cellular and not mismatches and not modems:
        return {"question": question, "findings": [],
                "answer": "No cellular router, modem or second way out was observed, and no "
                          "inspection recorded one."}
    parts = []
    if cellular:
        parts.append(f"{len(cellular)} cellular device or second-gateway finding(s)")
    if modems:
        parts.append("inspections found modems in " + ", ".join(
            f"{r['asset_id']} ({r['date']}{', IMEI ' + r['imei'] if r['imei'] else ''})"
            for r in modems[:5]))
    if mismatches:
        parts.append(f"{len(mismatches)} asset(s) where the register and what was seen "
                     "disagree on cellular modules")
    return {"question": question, "answer": "Yes: " + "; ".join(parts) + ".",
            "findings": _ids(cellular + mismatches)}


def _shared_rooms(
    store: Store, findings: list[dict[str, Any]], site: str | None
) -> dict[str, Any]:
    question = "Are the servers of different scanner makers housed in one room or segment?"
    mixed = _of(findings, "mixed-maker-segment")
    rooms: dict[str, set[str]] = defaultdict(set)
    where, params = ("AND site = ?", [site]) if site else ("", [])
    for row in store.query(
        f"""SELECT room, coalesce(manufacturer, brand) AS maker FROM current_register_assets
            WHERE room IS NOT NULL AND room <> '' AND function = ? {where}""",
        [SCANNING, *params],
    ):
        if row["maker"]:
            rooms[row["room"]].add(row["maker"])
    shared = {room: makers for room, makers in rooms.items() if len(makers) > 1}
    parts = [f"room {room}: {', '.join(sorted(makers))}" for room, makers in sorted(
        shared.items())]
    if mixed:
        parts.append(f"{len(mixed)} network segment(s) with servers of several makers")
    if not parts:
        return {"question": question, "findings": [],
                "answer": "No room (in the register) or segment (in the traffic) holds "
                          "scanning equipment of more than one maker."}
    return {"question": question, "answer": "Yes — " + "; ".join(parts) + ".",
            "findings": _ids(mixed)}


def _access(store: Store, findings: list[dict[str, Any]]) -> dict[str, Any]:
    policy = store.setting("access_policy", "port")
    question = ("How is access to the scanners arranged, and is a certificate of conduct "
                f"(VOG) enough where the airport requires a VGB? (policy applied: {policy})")
    access = [f for f in findings if f["kind"].startswith(ACCESS_PREFIX)
              or f["kind"] in ("maker-permanent-remote-access", "remote-session-unregistered")]
    people = store.query("SELECT count(DISTINCT person) AS n FROM current_access_register")[0]["n"]
    if not people and not access:
        return {"question": question, "findings": [],
                "answer": "No access register was ingested (access.csv)."}
    by_kind: dict[str, int] = defaultdict(int)
    for finding in access:
        by_kind[finding["kind"]] += 1
    listing = ", ".join(f"{k} ×{n}" for k, n in sorted(by_kind.items())) or "none"
    return {"question": question,
            "answer": f"{people or 0} people in the access register; findings: {listing}.",
            "findings": _ids(access)}


def _updates(store: Store, findings: list[dict[str, Any]]) -> dict[str, Any]:
    question = ("Are equipment tests and update validation as strict as at the airport: "
                "is every firmware version tested and approved?")
    firmware = _of(findings, *FIRMWARE_KINDS)
    images = store.query(
        """SELECT count(*) AS images,
                  count(*) FILTER (WHERE id IN (SELECT image_id FROM firmware_approvals
                                               WHERE test_report IS NOT NULL
                                                 AND test_report <> '')) AS tested
           FROM firmware_images""")[0]
    if not images["images"] and not firmware:
        return {"question": question, "findings": _ids(firmware),
                "answer": "No firmware image was recorded (vendorwatch firmware add)."
                + (f" {len(firmware)} finding(s) on firmware." if firmware else "")}
    return {"question": question, "findings": _ids(firmware),
            "answer": f"{images['images']} image(s) recorded, {images['tested']} approved "
                      f"with a test record; {len(firmware)} firmware finding(s)."}

