"""Triage that sticks: an operator's decision on a finding (accepted, false positive,
mitigated), optionally until a date, and the allowlist of expected endpoints. Both are
kept outside the findings table and applied after every detection run; a decision or an
allowance that has lapsed re-opens the finding, saying why.

Precedence: an explicit triage decision beats the allowlist."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

from vendorwatch.site.allowlist import Allowlist, Endpoint, parse_allowlist
from vendorwatch.store import Store

TRIAGE_STATES = ("accepted", "false_positive", "mitigated", "open")
# states that take a finding off the list of things to act on (and out of --fail-on)
SETTLED_STATES = frozenset({"accepted", "false_positive", "mitigated", "allowlisted"})
NAME_SIGNALS = frozenset({"tls.sni", "http.host", "dns.query"})


def today() -> date:
    return datetime.now(UTC).date()


def load_allowlist(store: Store) -> Allowlist:
    text = store.setting("allowlist", "")
    return Allowlist(parse_allowlist(text, "allowlist (stored; give a corrected one with "
                                           "--allowlist)") if text else None)


def latest_decisions(store: Store) -> dict[str, dict[str, Any]]:
    """The latest triage decision per finding id."""
    return {
        row["finding_id"]: row
        for row in store.query(
            """SELECT finding_id, state, note, until, decided_at FROM triage
               QUALIFY row_number() OVER (PARTITION BY finding_id
                                          ORDER BY decided_at DESC) = 1"""
        )
    }


def finding_endpoints(details: dict[str, Any], evidence: list[dict[str, Any]]) -> list[Endpoint]:
    """What a finding is about on the far side: details["endpoints"] when the detector
    gives them ([{ip, name}]), else the peers and names in its evidence rows."""
    given = details.get("endpoints")
    if isinstance(given, list):
        return [(str(e.get("ip") or ""), str(e.get("name") or "")) for e in given
                if isinstance(e, dict)]
    out: list[Endpoint] = []
    for row in evidence:
        if row.get("signal") in NAME_SIGNALS:
            out.append((str(row.get("peer_ip") or ""), str(row.get("value") or "")))
        elif row.get("peer_ip"):
            out.append((str(row["peer_ip"]), ""))
    return out


def decide_state(
    finding_id: str,
    kind: str,
    asset_ip: str | None,
    details: dict[str, Any],
    evidence: list[dict[str, Any]],
    decisions: dict[str, dict[str, Any]],
    allowlist: Allowlist,
    on: date,
) -> tuple[str, dict[str, Any]]:
    """The finding's state and what it rests on (merged into its details)."""
    decision = decisions.get(finding_id)
    reopened: str | None = None
    if decision is not None and decision["state"] != "open":
        until = decision["until"]
        record = {"state": decision["state"], "note": decision["note"],
                  "until": until.isoformat() if until else None,
                  "decided_at": decision["decided_at"].isoformat() + "Z"}
        if until is None or until >= on:
            return decision["state"], {"triage": record}
        reopened = f"triage '{decision['state']}' lapsed after {until.isoformat()}"
    verdict, entry = allowlist.decide(kind, asset_ip, finding_endpoints(details, evidence), on)
    if verdict == "allowlisted" and entry is not None:
        return "allowlisted", {"allowlist": {"endpoint": entry.endpoint, "reason": entry.reason,
                                             "expires": entry.expires.isoformat(),
                                             "owner": entry.owner}}
    if verdict == "expired" and entry is not None and reopened is None:
        reopened = (f"allowlist entry {entry.endpoint!r} ({entry.reason}) expired on "
                    f"{entry.expires.isoformat()}")
    return "open", ({"reopened": reopened} if reopened else {})


def current_state(state: str, details: dict[str, Any], on: date) -> tuple[str, str | None]:
    """A stored state re-read today: a decision or allowance whose date has passed since
    detection ran no longer holds."""
    for key, field in (("triage", "until"), ("allowlist", "expires")):
        record = details.get(key)
        if state != "open" and isinstance(record, dict) and record.get(field):
            lapsed = date.fromisoformat(record[field])
            if lapsed < on:
                return "open", f"{key} lapsed after {lapsed.isoformat()}"
    return state, None


def record_decision(
    store: Store, finding_id: str, state: str, note: str, until: date | None
) -> dict[str, Any]:
    """Keep a decision and apply it to the stored finding at once. KeyError when the
    finding does not exist."""
    row = store.con.execute(
        "SELECT kind, asset_ip, details, evidence FROM findings WHERE id = ?", [finding_id]
    ).fetchone()
    if row is None:
        raise KeyError(finding_id)
    decided_at = datetime.now(UTC).replace(tzinfo=None)
    store.con.execute("BEGIN TRANSACTION")
    try:
        store.con.execute("INSERT INTO triage VALUES (?, ?, ?, ?, ?)",
                          [finding_id, state, note, until, decided_at])
        kind, asset_ip, details_json, evidence_json = row
        details = _without_state(json.loads(details_json))
        new_state, basis = decide_state(
            finding_id, kind, asset_ip, details, json.loads(evidence_json),
            latest_decisions(store), load_allowlist(store), today())
        store.con.execute("UPDATE findings SET state = ?, details = ? WHERE id = ?",
                          [new_state, json.dumps({**details, **basis}, default=str), finding_id])
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return {"id": finding_id, "state": new_state, **basis}


def _without_state(details: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in details.items() if k not in ("triage", "allowlist", "reopened")}
