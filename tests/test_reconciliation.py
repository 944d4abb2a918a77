"""The asset register against the observed assets: seen-not-registered, registered-not-seen,
maker contradiction vs relabel, and declared vs observed cellular modules (traffic and
physical inspection). Stores are built with SQL and the ingest batch, not from files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vendorwatch.detect import detect_context
from vendorwatch.detect.interface import Finding
from vendorwatch.detect.register_reconciliation import RegisterReconciliation
from vendorwatch.store import Store

SITE = "Terminal West"


def reg(asset_id: str, line: int, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "line": line, "asset_id": asset_id, "ip": None, "mac": None, "hostname": None,
        "manufacturer": None, "brand": None, "model": None, "site": SITE, "zone": None,
        "function": None, "criticality": "medium", "comms_modules": "",
    }
    row.update(fields)
    return row


def asset(store: Store, ip: str, maker: str | None, risk: str = "low",
          device_class: str | None = None, mac: str | None = None,
          brand: str | None = None, site: str = SITE) -> None:
    store.con.execute(
        "INSERT INTO assets (site, ip, mac, manufacturer, brand, device_class, confidence, "
        "risk, listings) VALUES (?, ?, ?, ?, ?, ?, 0.9, ?, '[]')",
        [site, ip, mac, maker, brand, device_class, risk])


def claim(store: Store, ip: str, signal: str, value: str, text: str) -> None:
    store.con.execute("INSERT INTO asset_evidence VALUES (?, ?, 'capture.pcap', ?, ?, ?, 0.8)",
                      [SITE, ip, signal, value, text])


def finding_row(store: Store, fid: str, kind: str, asset_ip: str | None,
                details: dict[str, Any], summary: str = "previous run") -> None:
    store.con.execute(
        "INSERT INTO findings (id, kind, severity, site, asset_ip, summary, details, evidence) "
        "VALUES (?, ?, 'high', ?, ?, ?, ?, '[]')",
        [fid, kind, SITE, asset_ip, summary, json.dumps(details)])


REGISTER = [
    # maker as the legal name of the observed maker: consistent
    reg("CAM-01", 2, ip="10.20.0.11", manufacturer="Hangzhou Hikvision Digital Technology "
        "Co., Ltd.", function="CCTV", criticality="high"),
    # only the brand, an OEM relabel of the observed maker
    reg("CAM-02", 3, ip="10.20.0.12", brand="LTS", model="CMIP3042", function="CCTV"),
    # a different maker than the evidence
    reg("CAM-03", 4, ip="10.20.0.13", manufacturer="Axis", function="CCTV"),
    # vital scanner, no modem declared, traffic left through a cellular gateway
    reg("SCN-01", 5, ip="10.30.0.20", manufacturer="Nuctech", function="container scanning",
        criticality="vital", comms_modules="ethernet"),
    # a cellular router registered as plain ethernet
    reg("RTR-01", 6, ip="10.10.0.2", manufacturer="Teltonika", comms_modules="ethernet"),
    # crane: not seen (its subnet was never captured), inspection found a modem with IMEI
    reg("CRN-01", 7, ip="10.40.0.11", manufacturer="ZPMC", function="ship-to-shore crane",
        criticality="vital", comms_modules=""),
    # vital, in a captured subnet, not seen
    reg("SCN-02", 8, ip="10.30.0.21", manufacturer="Rapiscan", criticality="vital"),
    # declares a modem that nothing showed; an inspection found none
    reg("GW-01", 9, ip="10.10.0.1", manufacturer="Siemens", comms_modules="lte-modem;wifi"),
    # matched by MAC (no address in the register)
    reg("WS-01", 10, mac="AA-BB-CC-00-11-22", manufacturer="Dell"),
    # matched by host name
    reg("HMI-01", 11, hostname="HMI-01.terminal.local", manufacturer="Siemens"),
]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "reg.duckdb")
    with store.ingesting("/data/assets.csv", "sha-register", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", REGISTER)
    with store.ingesting("/data/inspections.csv", "sha-insp", "inspections", SITE) as batch:
        batch.table_rows("inspections", [
            {"line": 2, "asset_id": "CRN-01", "date": "2026-10-02", "inspector": "R. Smit",
             "finding": "cellular modem found in crane electrical room, SIM inserted",
             "imei": "356938035643809", "iccid": "8931081234567890123", "photo": "crn01.jpg",
             "site": SITE},
            {"line": 3, "asset_id": "GW-01", "date": "2026-10-03", "inspector": "R. Smit",
             "finding": "no modem found", "imei": None, "iccid": None, "photo": None,
             "site": SITE},
        ])
    with store.ingesting("/data/capture.pcap", "sha-cap", "capture", SITE) as batch:
        batch.evidence(None, "10.10.0.80", None, "dhcp.hostname", "hmi-01", "capture.pcap")
    asset(store, "10.20.0.11", "Hikvision", "critical", "camera")
    asset(store, "10.20.0.12", "Hikvision", "critical", "camera")
    asset(store, "10.20.0.13", "Hikvision", "critical", "camera")
    asset(store, "10.30.0.20", "Nuctech", "critical", "x-ray-scanner")
    asset(store, "10.10.0.2", "Teltonika", "low", "router")
    asset(store, "10.10.0.1", "Siemens", "low", "router")
    asset(store, "10.10.0.70", "Dell", "low", "workstation", mac="aa:bb:cc:00:11:22")
    asset(store, "10.10.0.80", "Siemens", "low", "hmi")
    asset(store, "10.20.0.50", "Dahua", "critical", "camera")     # not in the register
    asset(store, "10.10.0.60", "Dell", "low", "workstation")      # not in the register
    claim(store, "10.20.0.13", "http.server", "Hikvision-Webs", "manufacturer=Hikvision")
    claim(store, "10.20.0.13", "mac", "44:19:b6:00:00:13", "manufacturer=Hikvision")
    # the previous run's out-of-band finding: SCN-01's traffic left through a cellular gateway
    finding_row(store, "VW-aaaaaaaaaaaa", "second-gateway", None, {
        "subnet": "10.30.0.0/24", "gateways": [
            {"mac": "00:1e:42:00:00:99", "ip": "10.30.0.99", "cellular": True,
             "internet_hosts": ["10.30.0.20"], "internal_hosts": []},
            {"mac": "00:1a:a1:00:00:01", "ip": "10.30.0.1", "cellular": False,
             "internet_hosts": ["10.30.0.50"], "internal_hosts": []}]})
    return store


def run(store: Store) -> list[Finding]:
    return list(RegisterReconciliation().run(detect_context(store)))


def of(found: list[Finding], kind: str, asset_ip: str | None = None,
       key: str | None = None) -> list[Finding]:
    return [f for f in found if f.kind == kind
            and (asset_ip is None or f.asset_ip == asset_ip)
            and (key is None or f.key.startswith(key))]


def test_seen_but_not_registered(store: Store) -> None:
    found = of(run(store), "unregistered-device")
    assert {f.asset_ip: f.severity for f in found} == {"10.20.0.50": "high",
                                                       "10.10.0.60": "medium"}
    dahua = next(f for f in found if f.asset_ip == "10.20.0.50")
    assert "Dahua" in dahua.summary and "/data/assets.csv" in dahua.summary


def test_matching_by_mac_and_hostname(store: Store) -> None:
    found = run(store)
    unregistered = {f.asset_ip for f in of(found, "unregistered-device")}
    assert "10.10.0.70" not in unregistered  # WS-01 by MAC (AA-BB-… normalised)
    assert "10.10.0.80" not in unregistered  # HMI-01 by DHCP host name, case-insensitive
    assert not of(found, "registered-not-seen", key="WS-01")
    assert not of(found, "registered-not-seen", key="HMI-01")


def test_registered_but_not_seen(store: Store) -> None:
    found = {f.key: f for f in of(run(store), "registered-not-seen")}
    assert set(found) == {"CRN-01", "SCN-02"}
    assert found["SCN-02"].severity == "medium"  # vital, in a captured subnet
    assert "line 8" in found["SCN-02"].summary
    assert found["CRN-01"].severity == "info"    # 10.40.0.0/24 was never captured
    assert found["CRN-01"].details["subnet_captured"] is False


def test_legal_name_of_the_same_maker_is_no_mismatch(store: Store) -> None:
    assert not of(run(store), "register-maker-mismatch", key="CAM-01")


def test_relabel_brand_is_info_not_contradiction(store: Store) -> None:
    [f] = of(run(store), "register-maker-mismatch", key="CAM-02")
    assert f.severity == "info"
    assert f.details["verdict"] == "relabel"
    assert f.details["relabel_of"] == "hikvision"
    assert "LTS" in f.summary and "relabel" in f.summary


def test_contradicting_maker_shows_both_sides(store: Store) -> None:
    [f] = of(run(store), "register-maker-mismatch", key="CAM-03")
    assert f.severity == "high"  # Hikvision is a high-risk maker
    assert f.details["verdict"] == "contradiction"
    assert "Axis" in f.summary and "Hikvision" in f.summary
    assert f.details["register"]["line"] == 4
    signals = {e["signal"] for e in f.evidence}
    assert {"register.asset", "http.server", "mac"} <= signals
    assert any(e["source"] == "/data/assets.csv" for e in f.evidence)


def test_cellular_path_not_declared(store: Store) -> None:
    found = run(store)
    [scanner] = of(found, "comms-module-mismatch", key="SCN-01|undeclared")
    assert scanner.severity == "high"  # vital scanner of a high-risk maker
    assert "VW-aaaaaaaaaaaa" in scanner.summary
    [router] = of(found, "comms-module-mismatch", key="RTR-01|undeclared")
    assert "Teltonika" in router.summary


def test_declared_modem_not_observed(store: Store) -> None:
    found = run(store)
    [declared] = of(found, "comms-module-mismatch", key="GW-01|declared-not-observed")
    assert declared.severity == "low"
    assert "declared modem not observed" in declared.summary
    [inspected] = of(found, "comms-module-mismatch", key="GW-01|inspection-no-modem")
    assert inspected.severity == "info"


def test_inspection_confirms_an_undeclared_modem(store: Store) -> None:
    [f] = of(run(store), "comms-module-mismatch", key="CRN-01|undeclared")
    assert f.severity == "high"
    assert f.asset_ip == "10.40.0.11"
    assert "356938035643809" in f.summary
    assert any(e["signal"] == "inspection" and e["source"] == "/data/inspections.csv"
               for e in f.evidence)


def test_previous_cellular_device_finding_counts(store: Store) -> None:
    finding_row(store, "VW-bbbbbbbbbbbb", "cellular-device", "10.10.0.60",
                {"gateway_for": ["10.10.0.80"]})
    [f] = of(run(store), "comms-module-mismatch", key="HMI-01|undeclared")
    assert "VW-bbbbbbbbbbbb" in f.summary


def test_no_register_no_findings(tmp_path: Path) -> None:
    store = Store(tmp_path / "bare.duckdb")
    asset(store, "10.20.0.50", "Dahua", "critical", "camera")
    assert run(store) == []


def test_site_without_register_is_left_alone(store: Store) -> None:
    asset(store, "10.20.0.77", "Dahua", "critical", "camera", site="Terminal East")
    assert not [f for f in run(store) if f.site == "Terminal East"]


def test_finding_ids_are_stable(store: Store) -> None:
    assert sorted(f.id for f in run(store)) == sorted(f.id for f in run(store))


def test_this_runs_findings_are_used_when_the_context_carries_them(store: Store) -> None:
    ctx = detect_context(store)
    cell = Finding(kind="cellular-device", severity="high", site=SITE, asset_ip="10.10.0.1",
                   key="cellular", summary="Siemens router is a cellular path", evidence=[])
    ctx.findings = [cell]  # type: ignore[attr-defined]
    found = list(RegisterReconciliation().run(ctx))
    # the table's second-gateway finding is not read; this run's cellular-device finding is
    assert not of(found, "comms-module-mismatch", key="SCN-01|undeclared")
    assert not of(found, "comms-module-mismatch", key="GW-01|declared-not-observed")


def test_a_registered_routers_other_interfaces_are_registered(store: Store) -> None:
    # 10.10.0.70 is registered with MAC aa:bb:cc:00:11:22; the same device seen on another
    # VLAN address and by its IPv6 link-local (EUI-64) address is not "unregistered"
    asset(store, "10.99.0.1", "Dell", "low", "workstation", mac="aa:bb:cc:00:11:22")
    asset(store, "fe80::a8bb:ccff:fe00:1122", None)
    found = {f.asset_ip for f in of(run(store), "unregistered-device")}
    assert found == {"10.20.0.50", "10.10.0.60"}
