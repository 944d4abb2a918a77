"""The access register against the sector access policy (port, airport, rail), and remote
sessions seen in traffic matched to authorised people. Stores are built with SQL and the
ingest batch; the date is fixed."""

from __future__ import annotations

import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from vendorwatch.detect import detect_context
from vendorwatch.detect.access_policy import (
    POLICY_NAMES,
    SCREENING_LEVELS,
    AccessPolicy,
    load_access_policy,
    screening_level,
)
from vendorwatch.detect.interface import Finding
from vendorwatch.errors import InputError
from vendorwatch.store import Store

SITE = "Terminal West"
TODAY = date(2026, 11, 23)
ACCESS_FILE = "/data/access.csv"


def reg(asset_id: str, line: int, ip: str, maker: str, function: str, zone: str,
        level: str) -> dict[str, Any]:
    return {"line": line, "asset_id": asset_id, "ip": ip, "manufacturer": maker,
            "site": SITE, "zone": zone, "function": function, "criticality": level,
            "comms_modules": ""}


def entry(line: int, person: str, employer: str, role: str, screening: str, access: str,
          scope: str, via: str | None = "jump-host", mfa: bool | None = True,
          valid_until: str | None = None, expires: str | None = "2028-01-01"
          ) -> dict[str, Any]:
    return {"line": line, "person": person, "employer": employer, "role": role,
            "screening": screening, "screening_expires": expires, "access": access,
            "scope": scope, "via": via, "mfa": mfa, "valid_until": valid_until, "site": SITE}


ASSETS = [
    reg("SCN-01", 2, "10.30.0.20", "Nuctech", "container scanning", "scanners", "vital"),
    reg("CAM-01", 3, "10.20.0.11", "Hikvision", "CCTV", "cctv", "high"),
    reg("CRN-01", 4, "10.40.0.11", "ZPMC", "ship-to-shore crane", "cranes", "vital"),
    reg("WS-01", 5, "10.10.0.5", "Dell", "office", "office", "low"),
]

ACCESS = [
    # VOG for admin access to a vital scanner: the port asks VGB-B or higher
    entry(2, "Jan de Vries", "Terminal West", "scanner engineer", "VOG", "admin", "SCN-01"),
    # VOG for physical access to CCTV: enough in the port, not at an airport
    entry(3, "Piet Bakker", "Terminal West", "cctv technician", "VOG", "physical", "CCTV",
          via=None, mfa=None),
    # screening lapsed
    entry(4, "Els Jansen", "Terminal West", "scanner engineer", "VGB-B", "remote",
          "scanners", expires="2025-01-01"),
    # remote through a VPN, not the jump host
    entry(5, "Kees Smit", "Terminal West", "scanner engineer", "VGB A", "remote", "SCN-01",
          via="vendor-vpn"),
    # admin without MFA
    entry(6, "Anna Visser", "Terminal West", "scanner engineer", "VGB-B", "admin", "SCN-01",
          mfa=False),
    # a CCTV technician with physical access to everything
    entry(7, "Tom Mulder", "Terminal West", "cctv technician", "VOG", "physical", "all",
          via=None, mfa=None),
    # the maker's own engineer, remote, no end date
    entry(8, "Li Wei", "Nuctech Company Limited", "scanner engineer", "VGB-B", "remote",
          "SCN-01"),
    # the maker's own engineer, remote, a time box far too long
    entry(9, "Zhang San", "ZPMC", "crane engineer", "VGB-B", "remote", "CRN-01",
          valid_until="2027-06-01"),
    # access ended but still listed
    entry(10, "Oud Medewerker", "Terminal West", "crane technician", "VOG", "remote",
          "CRN-01", valid_until="2025-06-30"),
    # a CCTV technician whose scope reaches the scanners
    entry(11, "Bram Dekker", "Terminal West", "cctv technician", "VOG", "physical",
          "CCTV;container scanning", via=None, mfa=None),
    # a compliant maker engineer: time-boxed, VGB-B, MFA, jump host
    entry(12, "Mei Chen", "Hikvision", "cctv technician", "VGB-B", "remote", "CAM-01",
          valid_until="2026-11-30"),
]


def remote_session(store: Store, fid: str, ip: str, tool: str, peer: str,
                   direction: str = "outbound") -> None:
    store.con.execute(
        "INSERT INTO findings (id, kind, severity, site, asset_ip, summary, details, evidence) "
        "VALUES (?, 'remote-access', 'high', ?, ?, ?, ?, '[]')",
        [fid, SITE, ip, f"{tool} {direction} with {peer}",
         json.dumps({"tool": tool, "tool_id": tool.lower(), "direction": direction,
                     "peer": peer})])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "access.duckdb")
    with store.ingesting("/data/assets.csv", "sha-assets", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", ASSETS)
    with store.ingesting(ACCESS_FILE, "sha-access", "access-register", SITE) as batch:
        batch.table_rows("access_register", ACCESS)
    return store


def run(store: Store) -> list[Finding]:
    return list(AccessPolicy(today=TODAY).run(detect_context(store)))


def of(found: list[Finding], kind: str, person: str | None = None) -> list[Finding]:
    return [f for f in found if f.kind == kind
            and (person is None or f.details.get("person") == person)]


def test_vog_for_admin_on_vital_is_insufficient_in_the_port(store: Store) -> None:
    [f] = of(run(store), "access-screening-insufficient", "Jan de Vries")
    assert f.severity == "high"
    assert f.details["rule"] == "port-remote-vital"
    assert "VGB-B" in f.summary and "VOG" in f.summary
    assert f"{ACCESS_FILE} line 2" in f.summary
    assert f.asset_ip is None  # about a person
    assert f.details["rule_source_url"].startswith("https://")


def test_expired_screening(store: Store) -> None:
    [f] = of(run(store), "access-screening-expired", "Els Jansen")
    assert f.severity == "high"  # zone 'scanners' holds a vital asset
    assert "2025-01-01" in f.summary


def test_not_via_the_jump_host(store: Store) -> None:
    [f] = of(run(store), "access-not-via-approved-path", "Kees Smit")
    assert f.severity == "high"
    assert "vendor-vpn" in f.summary and "jump-host" in f.summary
    assert f.asset_ip == "10.30.0.20"
    assert not of(run(store), "access-screening-insufficient", "Kees Smit")  # "VGB A" ≥ B


def test_admin_without_mfa(store: Store) -> None:
    [f] = of(run(store), "access-without-mfa", "Anna Visser")
    assert f.severity == "high"
    assert "without MFA" in f.summary


def test_scope_too_wide(store: Store) -> None:
    found = run(store)
    [everything] = of(found, "access-scope-too-wide", "Tom Mulder")
    assert everything.details["entries"][0]["wildcard"] is True
    [scanners] = of(found, "access-scope-too-wide", "Bram Dekker")
    assert scanners.details["entries"][0]["outside_functions"] == ["container scanning"]
    assert not of(found, "access-scope-too-wide", "Piet Bakker")


def test_maker_engineer_with_permanent_remote_access(store: Store) -> None:
    found = run(store)
    [permanent] = of(found, "maker-permanent-remote-access", "Li Wei")
    assert permanent.severity == "critical"  # high-risk maker, vital scanner
    assert "permanent" in permanent.summary and "Nuctech" in permanent.summary
    [too_long] = of(found, "maker-permanent-remote-access", "Zhang San")
    assert "2027-06-01" in too_long.summary and "14 days" in too_long.summary
    assert not of(found, "maker-permanent-remote-access", "Mei Chen")  # 7 days: allowed


def test_expired_access_still_listed(store: Store) -> None:
    found = run(store)
    [f] = of(found, "access-expired-still-listed", "Oud Medewerker")
    assert f.severity == "medium"
    assert not [x for x in found if x.details.get("person") == "Oud Medewerker"
                and x.kind != "access-expired-still-listed"]


def test_compliant_entries_give_no_findings(store: Store) -> None:
    found = run(store)
    assert not [f for f in found if f.details.get("person") in ("Piet Bakker", "Mei Chen")]


def test_port_and_airport_policies_disagree_on_the_same_entry(store: Store) -> None:
    assert not of(run(store), "access-screening-insufficient", "Piet Bakker")
    store.set_setting("access_policy", "airport")
    [f] = of(run(store), "access-screening-insufficient", "Piet Bakker")
    assert f.details["rule"] == "airport-physical-sra"
    assert f.details["requirement"] == "at least VGB-B"
    assert "airport policy" in f.summary


def test_unregistered_remote_session(store: Store) -> None:
    remote_session(store, "VW-111111111111", "10.30.0.20", "TeamViewer", "203.0.113.5")
    remote_session(store, "VW-222222222222", "10.10.0.5", "AnyDesk", "198.51.100.7")
    remote_session(store, "VW-333333333333", "10.10.0.5", "AnyDesk", "-", direction="lookup")
    remote_session(store, "VW-444444444444", "10.40.0.11", "SSH", "192.0.2.9")
    found = of(run(store), "remote-session-unregistered")
    # SCN-01 has current remote/admin entries; CRN-01 has Zhang San's; WS-01 has none
    assert [(f.asset_ip, f.severity) for f in found] == [("10.10.0.5", "high")]
    assert "AnyDesk" in found[0].summary and "VW-222222222222" in found[0].summary


def test_lapsed_authorisation_does_not_cover_a_session(tmp_path: Path) -> None:
    store = Store(tmp_path / "lapsed.duckdb")
    with store.ingesting("/data/assets.csv", "sha-a", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", ASSETS)
    with store.ingesting(ACCESS_FILE, "sha-b", "access-register", SITE) as batch:
        batch.table_rows("access_register", [ACCESS[8]])  # ended 2025-06-30
    remote_session(store, "VW-555555555555", "10.40.0.11", "SSH", "192.0.2.9")
    [f] = of(run(store), "remote-session-unregistered")
    assert "lapsed" in f.summary and "Oud Medewerker" in f.summary


def test_findings_are_keyed_by_person_and_rule(store: Store) -> None:
    found = run(store)
    keys = [(f.kind, f.site, f.asset_ip, f.key) for f in found]
    assert len(keys) == len(set(keys))
    [f] = of(found, "access-without-mfa", "Anna Visser")
    assert f.key == "anna visser|port-remote-vital"


def test_no_register_no_findings(tmp_path: Path) -> None:
    store = Store(tmp_path / "bare.duckdb")
    remote_session(store, "VW-666666666666", "10.10.0.5", "AnyDesk", "198.51.100.7")
    assert run(store) == []


def test_every_policy_rule_has_a_source() -> None:
    for name in POLICY_NAMES:
        policy = load_access_policy(name)
        assert policy.sources
        for place, rule in policy.all_sourced():
            assert rule.source_url.startswith("https://"), (name, place)
            assert rule.why.strip(), (name, place)
        for source in policy.sources:
            assert source.source_url.startswith("https://"), (name, source.title)


def test_every_case_has_exactly_one_rule() -> None:
    for name in POLICY_NAMES:
        policy = load_access_policy(name)
        for level in ("low", "medium", "high", "vital"):
            for access in ("physical", "remote", "admin"):
                assert policy.rule_for(level, access) is not None, (name, level, access)


def test_screening_order_puts_vgb_a_highest() -> None:
    assert SCREENING_LEVELS == ("none", "VOG", "VGB-C", "VGB-B", "VGB-A")
    assert [screening_level(x) for x in ("VGB B", "vgb-a", "VGB (C)", "vog", "", "geen",
                                         "secret")] == [
        "VGB-B", "VGB-A", "VGB-C", "VOG", "none", "none", None]


def test_overlapping_rules_are_rejected(tmp_path: Path) -> None:
    text = (resources.files("vendorwatch.site") / "access_policies" / "port.yaml").read_text(
        encoding="utf-8")
    bad = text.replace("criticality: [medium, high, vital]\n    access: [physical]",
                       "criticality: [low, medium, high, vital]\n    access: [physical]")
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InputError, match="both cover physical access to low"):
        load_access_policy(path)


def test_zone_file_names_resolve_scope_and_cover_sessions(store: Store) -> None:
    store.set_setting("zones", "zones:\n  scada:\n    cidrs: [10.50.0.0/24]\n"
                               "    sensitivity: vital\n")
    with store.ingesting("/data/access2.csv", "sha-access2", "access-register", SITE) as batch:
        batch.table_rows("access_register", [
            entry(2, "Sven Kok", "Terminal West", "network administrator", "VOG", "admin",
                  "SCADA")])
    remote_session(store, "VW-777777777777", "10.50.0.7", "RDP", "10.10.0.5",
                   direction="internal")
    found = run(store)
    [f] = of(found, "access-screening-insufficient", "Sven Kok")
    assert f.details["entries"][0]["criticality"] == "vital"  # the zone's sensitivity
    assert not of(found, "access-scope-too-wide", "Sven Kok")  # site-wide role
    assert not [x for x in of(found, "remote-session-unregistered") if x.asset_ip == "10.50.0.7"]


def test_the_sites_own_jump_host_is_the_approved_path(tmp_path: Path) -> None:
    store = Store(tmp_path / "jump.duckdb")
    with store.ingesting("/data/assets.csv", "sha-assets", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", [
            *ASSETS, {**reg("IT-9", 90, "10.10.0.9", "Dell", "jump host", "office", "high"),
                      "hostname": "bastion-tw01"}])
    with store.ingesting(ACCESS_FILE, "sha-access", "access-register", SITE) as batch:
        batch.table_rows("access_register", [
            entry(2, "A. Admin", "Terminal West", "IT administrator", "VGB-B", "admin",
                  "SCN-01", via="bastion-tw01"),
            entry(3, "B. Admin", "Terminal West", "IT administrator", "VGB-B", "admin",
                  "SCN-01", via="some-laptop")])
    flagged = {f.details.get("person") for f in of(run(store), "access-not-via-approved-path")}
    assert flagged == {"B. Admin"}


def test_a_scope_that_names_nothing_is_reported(tmp_path: Path) -> None:
    store = Store(tmp_path / "typo.duckdb")
    with store.ingesting("/data/assets.csv", "sha-assets", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", ASSETS)
    with store.ingesting(ACCESS_FILE, "sha-access", "access-register", SITE) as batch:
        batch.table_rows("access_register", [
            entry(2, "C. Typo", "Terminal West", "IT administrator", "VGB-B", "admin",
                  "SCN-0l;CAM-01")])
    [found] = of(run(store), "access-scope-unresolved", "C. Typo")
    assert found.severity == "low"
    assert "scope names SCN-0l, which no asset id, zone or function" in found.summary
