"""Triage that sticks: decisions and allowlist entries survive re-ingest and re-detection
(finding ids are stable), and lapse — re-opening the finding — when their date passes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from conftest import run_cli
from vendorwatch.detect import run_detectors
from vendorwatch.site import triage as triage_module
from vendorwatch.site.allowlist import Allowlist, parse_allowlist
from vendorwatch.store import Store
from vendorwatch.store.batch import FlowRecord
from vendorwatch.store.views import list_findings

T0 = 1_700_000_000.0
CAMERA = "10.20.0.11"
CLOUD = "47.96.10.20"


def _store(path: Path) -> Path:
    """A Hikvision camera calling one internet address, with its TLS name in the flow."""
    with Store(path) as store:
        with store.ingesting("synthetic", "sha-triage", "test", "T") as batch:
            batch.flow(FlowRecord(T0, T0 + 5, CAMERA, 40000, CLOUD, 443, 6, None, None, None,
                                  5, 5, 500, 1500, None, "www.hik-connect.com"))
            batch.evidence(T0, CAMERA, CLOUD, "tls.sni", "www.hik-connect.com", "synthetic")
        store.con.execute(
            "INSERT INTO assets (site, ip, manufacturer, device_class, confidence, risk, "
            "listings) VALUES ('T', ?, 'Hikvision', 'camera', 0.9, 'critical', '[]')", [CAMERA])
        run_detectors(store)
        store.mark_refreshed()
    return path


def _findings(db: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    with Store(db) as store:
        return {f["kind"]: f for f in list_findings(store)}


def test_a_decision_survives_re_detection_and_re_ingest(tmp_path: Path) -> None:
    db = _store(tmp_path / "t.duckdb")
    target = _findings(db)["internet-traffic"]
    done = run_cli("triage", target["id"], "--state", "accepted", "--note",
                   "camera replaced in Q1, ticket 42", "--format", "json", db=db)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["state"] == "accepted"
    assert _findings(db)["internet-traffic"]["state"] == "accepted"
    accepted = json.loads(run_cli("findings", "--state", "accepted", "--format", "json",
                                  db=db).stdout)
    assert [f["id"] for f in accepted] == [target["id"]]
    assert run_cli("detect", db=db).returncode == 0
    after = _findings(db)["internet-traffic"]
    assert after["id"] == target["id"] and after["state"] == "accepted"
    assert after["details"]["triage"]["note"] == "camera replaced in Q1, ticket 42"
    # other findings are untouched
    assert _findings(db)["vendor-cloud-endpoint"]["state"] == "open"
    # a settled finding does not fail --fail-on; an open one does
    assert run_cli("findings", "--severity", "high", "--fail-on", "high", db=db).returncode == 1
    others = [f for f in _findings(db).values() if f["state"] == "open"]
    for finding in others:
        run_cli("triage", finding["id"], "--state", "mitigated", "--note", "x", db=db)
    assert run_cli("findings", "--fail-on", "low", db=db).returncode == 0


def test_a_lapsed_decision_reopens_the_finding(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    db = _store(tmp_path / "t.duckdb")
    target = _findings(db)["internet-traffic"]
    soon = (date.today() + timedelta(days=3)).isoformat()
    assert run_cli("triage", target["id"], "--state", "false_positive", "--note", "lab camera",
                   "--until", soon, db=db).returncode == 0
    assert _findings(db)["internet-traffic"]["state"] == "false_positive"
    later = date.today() + timedelta(days=10)
    monkeypatch.setattr(triage_module, "today", lambda: later)
    # read after the date, before any re-detection: open again, saying why
    reopened = _findings(db)["internet-traffic"]
    assert reopened["state"] == "open" and "lapsed" in reopened["details"]["reopened"]
    with Store(db) as store:
        run_detectors(store)
    again = _findings(db)["internet-traffic"]
    assert again["state"] == "open"
    assert f"lapsed after {soon}" in again["details"]["reopened"]


def test_triage_errors_are_one_line(tmp_path: Path) -> None:
    db = _store(tmp_path / "t.duckdb")
    target = _findings(db)["internet-traffic"]["id"]
    missing = run_cli("triage", "VW-000000000000", "--state", "accepted", "--note", "x", db=db)
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("error: no finding with id VW-000000000000 "
                                      "(see `vendorwatch findings`)")
    bad_date = run_cli("triage", target, "--state", "accepted", "--note", "x",
                       "--until", "next week", db=db)
    assert bad_date.returncode == 2 and "YYYY-MM-DD" in bad_date.stderr
    assert "Traceback" not in bad_date.stderr
    bad_state = run_cli("triage", target, "--state", "ignored", "--note", "x", db=db)
    assert bad_state.returncode == 2


ALLOW = """
entries:
  - endpoint: "*.hik-connect.com"
    assets: [10.20.0.0/24]
    kinds: [internet-traffic]
    reason: vendor cloud kept for remote support until the cameras are replaced
    expires: {expires}
    owner: security officer
"""


def test_allowlist_entries_settle_findings_until_they_expire(tmp_path: Path) -> None:
    db = _store(tmp_path / "t.duckdb")
    allow = tmp_path / "allow.yaml"
    allow.write_text(ALLOW.format(expires=(date.today() + timedelta(days=30)).isoformat()))
    assert run_cli("detect", "--allowlist", str(allow), db=db).returncode == 0
    found = _findings(db)
    assert found["internet-traffic"]["state"] == "allowlisted"
    assert found["internet-traffic"]["details"]["allowlist"]["owner"] == "security officer"
    # kinds restrict the entry: the vendor-cloud finding is still open
    assert found["vendor-cloud-endpoint"]["state"] == "open"
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    allow.write_text(ALLOW.format(expires=yesterday))
    done = run_cli("detect", "--allowlist", str(allow), db=db)
    assert done.returncode == 0
    assert (f"warning: {allow} at entries.0: '*.hik-connect.com' expired on {yesterday}; "
            "it allows nothing until renewed") in done.stderr
    expired = _findings(db)["internet-traffic"]
    assert expired["state"] == "open" and "expired on" in expired["details"]["reopened"]


def test_an_allowlist_entry_covers_by_address_or_name_and_by_asset() -> None:
    spec = parse_allowlist(
        "entries:\n"
        "  - {endpoint: 47.96.0.0/16, reason: r, expires: 2030-01-01}\n"
        "  - {endpoint: ntp.example.org, assets: [10.1.0.0/16], reason: r,"
        " expires: 2030-01-01}\n", "allow.yaml")
    allow = Allowlist(spec)
    on = date(2027, 1, 1)
    assert allow.decide("x", "10.9.9.9", [("47.96.1.1", "")], on)[0] == "allowlisted"
    assert allow.decide("x", "10.1.2.3", [("1.2.3.4", "NTP.example.org.")], on)[0] \
        == "allowlisted"
    assert allow.decide("x", "10.9.9.9", [("1.2.3.4", "ntp.example.org")], on)[0] == "none"
    # every endpoint must be covered
    assert allow.decide("x", "10.1.2.3", [("47.96.1.1", ""), ("8.8.8.8", "")], on)[0] == "none"


def test_a_bad_allowlist_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    db = _store(tmp_path / "t.duckdb")
    allow = tmp_path / "allow.yaml"
    allow.write_text("entries:\n  - endpoint: x\n    reason: r\n")
    done = run_cli("detect", "--allowlist", str(allow), db=db)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {allow} at entries.0.expires: Field required"
    with Store(db) as store:
        assert store.setting("allowlist", "") == ""
