"""The tour a port security officer takes: demo, assets, findings, evidence, report — with
the JSON contract of PRODUCT.md and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

ASSET_KEYS = {"ip", "mac", "manufacturer", "brand", "model", "device_class", "confidence",
              "evidence", "risk", "listings"}
FINDING_KEYS = {"id", "kind", "severity", "asset_ip", "summary", "evidence", "first_seen",
                "last_seen", "state"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo")
    done = subprocess.run([sys.executable, "-m", "vendorwatch", "demo", "--dir", str(directory)],
                          capture_output=True, text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str((directory / "report.html").resolve())
    return directory


def test_demo_inventory_names_the_high_risk_devices(demo: Path) -> None:
    done = run_cli("assets", "--format", "json", db=demo / "demo.duckdb")
    assets = {a["ip"]: a for a in json.loads(done.stdout)}
    assert all(a.keys() >= ASSET_KEYS for a in assets.values())
    makers = [a["manufacturer"] for a in assets.values()]
    assert makers.count("Hikvision") == 7 and makers.count("Dahua") == 4
    scanner = assets["10.30.0.20"]
    assert (scanner["manufacturer"], scanner["device_class"]) == ("Nuctech", "x-ray-scanner")
    assert any("MA-M C0:9B:F4:B0:00:00/28" in e["claims"] for e in scanner["evidence"])
    relabel = assets["10.20.0.31"]
    assert (relabel["manufacturer"], relabel["brand"]) == ("Hikvision", "LTS")
    assert relabel["risk"] == "critical"
    fcc = next(item for item in relabel["listings"] if item["list"] == "fcc-covered-list")
    assert fcc["since"] == "2021-03-12" and fcc["source_url"].startswith("https://")
    assert assets["10.40.0.254"]["manufacturer"] == "Teltonika"
    assert all(0 <= a["confidence"] <= 1 for a in assets.values())


def test_demo_findings_and_fail_on_exit_code(demo: Path) -> None:
    db = demo / "demo.duckdb"
    done = run_cli("findings", "--format", "json", "--fail-on", "high", db=db)
    assert done.returncode == 1
    findings = json.loads(done.stdout)
    assert all(f.keys() >= FINDING_KEYS for f in findings)
    kinds = {(f["kind"], f["asset_ip"]) for f in findings}
    assert ("high-risk-vendor-device", "10.30.0.20") in kinds
    assert ("vendor-cloud-endpoint", "10.20.0.11") in kinds  # EZVIZ cloud
    assert ("vendor-cloud-endpoint", "10.20.0.23") in kinds  # Easy4IP P2P
    assert ("internet-traffic", "10.40.0.12") in kinds  # PLC out through the LTE router
    cloud = next(f for f in findings if f["kind"] == "vendor-cloud-endpoint"
                 and f["asset_ip"] == "10.20.0.11")
    assert cloud["severity"] == "high" and cloud["evidence"]
    assert any(e["value"] == "apiieu.ezvizlife.com" for e in cloud["evidence"])
    plc = next(f for f in findings if f["kind"] == "internet-traffic"
               and f["asset_ip"] == "10.40.0.12")
    assert plc["severity"] == "critical"  # a crane PLC reached from the internet
    assert "inbound" in plc["summary"]
    assert run_cli("findings", "--fail-on", "critical", "--site", "elsewhere",
                   db=db).returncode == 0


def test_finding_ids_are_stable_across_detection_runs(demo: Path) -> None:
    db = demo / "demo.duckdb"
    before = {f["id"] for f in json.loads(run_cli("findings", "--format", "json", db=db).stdout)}
    assert run_cli("detect", db=db).returncode == 0
    after = {f["id"] for f in json.loads(run_cli("findings", "--format", "json", db=db).stdout)}
    assert before == after and before


def test_evidence_filters_and_csv(demo: Path) -> None:
    db = demo / "demo.duckdb"
    rows = json.loads(run_cli("evidence", "--ip", "10.20.0.11", "--format", "json", db=db).stdout)
    assert rows and {r["ip"] for r in rows} == {"10.20.0.11"}
    assert {"ts", "ip", "peer_ip", "signal", "value", "source"} == set(rows[0])
    csv_out = run_cli("evidence", "--signal", "tls.sni", "--format", "csv", db=db).stdout
    assert csv_out.splitlines()[0] == "ts,ip,peer_ip,signal,value,source"
    assert "apiieu.ezvizlife.com" in csv_out


def test_usage_errors_exit_2(demo: Path) -> None:
    db = demo / "demo.duckdb"
    bad = run_cli("findings", "--fail-on", "dreadful", db=db)
    assert bad.returncode == 2
    assert "Error: Invalid value for '--fail-on': must be one of info, low, medium, high, " \
        "critical" in bad.stderr.splitlines()
    assert run_cli("assets", "--format", "xml", db=db).returncode == 2


def test_report_is_written_where_asked(demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "r.html"
    done = run_cli("report", "--out", str(out), db=demo / "demo.duckdb")
    assert done.returncode == 0
    html = out.read_text()
    assert "Nuctech" in html and "fcc-covered-list" in html and "<svg" in html
    owners = html[html.index("Who owns the makers present"):html.index("<h2>Findings")]
    assert "China National Nuclear Corporation" in owners and "state-owned" in owners
    assert "CETHIK Group" in owners


def test_sector_policy_shapes_the_findings_and_is_kept(demo: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "policy.duckdb"
    shutil.copy(demo / "demo.duckdb", db)
    assert run_cli("detect", "--policy", "nonsense", db=db).returncode == 2
    assert run_cli("detect", "--policy", "port-critical", db=db).returncode == 0
    assert run_cli("detect", db=db).returncode == 0  # the policy is kept in the store
    findings = json.loads(run_cli("findings", "--format", "json", db=db).stdout)
    scanner = next(f for f in findings if f["kind"] == "high-risk-vendor-device"
                   and f["asset_ip"] == "10.30.0.20")
    assert "port-critical policy: exclude" in scanner["summary"]
    assert scanner["details"]["policy_verdict"] == "critical"
    makers = {f["summary"].split()[0] for f in findings if f["kind"] == "high-risk-vendor-device"}
    assert makers == {"Hikvision", "Dahua", "Nuctech"}  # makers the registry does not know
    # (Dell, Cisco) are not reported as vendor risks


def test_demo_zones_show_the_closed_crane_network_leaking(demo: Path) -> None:
    db = demo / "demo.duckdb"
    found = json.loads(run_cli("findings", "--format", "json", db=db).stdout)
    leaks = [f for f in found if f["kind"] == "closed-zone-leak"]
    assert [(f["asset_ip"], f["severity"]) for f in leaks] == [("10.40.0.12", "critical")]
    matrix = json.loads(run_cli("zones", "--format", "json", db=db).stdout)
    crossings = {(r["from_zone"], r["to_zone"]): r["allowed"] for r in matrix}
    assert crossings[("cranes", "internet")] is False
    assert crossings[("office", "internet")] is True


def test_exposure_names_the_vendor_platform_a_device_reaches(demo: Path) -> None:
    rows = json.loads(run_cli("exposure", "--ip", "10.20.0.12", "--format", "json",
                              db=demo / "demo.duckdb").stdout)
    assert rows and {r["device"] for r in rows} == {"10.20.0.12"}
    cloud = [r for r in rows if r["name"] == "www.hik-connect.com"]
    assert cloud and "(Hikvision)" in cloud[0]["platform"]
    assert cloud[0]["country"] and cloud[0]["bytes_out"] > 0


def test_report_has_the_zone_grid_and_external_destinations(demo: Path) -> None:
    html = (demo / "report.html").read_text()
    assert "Zones: who talks to whom" in html and "background:#f8d7d3" in html
    assert "What reaches out: external destinations" in html
    assert "www.hik-connect.com" in html
