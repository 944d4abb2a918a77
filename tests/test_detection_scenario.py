"""The labelled scenario (vendorwatch.demo.scenario) through the real command line: every
planted case is found, and no benign host gets a high or critical finding.

The scenario plants one day of a container terminal: a jittered beacon, a fleet of eight
Hikvision cameras calling their cloud, a cellular router used as a second gateway, a closed
crane zone that leaks once, inbound RDP and outbound AnyDesk, a crane-to-office flow; with
benign look-alikes (NTP every 64 s, Windows Update, DNS, browsing)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from vendorwatch.demo.scenario import (
    PLANTED_KINDS,
    START,
    Scenario,
    planted_cases,
    score,
    write_scenario,
)
from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return write_scenario(tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def detected(generated: Scenario) -> tuple[Scenario, list[dict[str, Any]]]:
    """The scenario ingested with its zone file, and `vendorwatch findings --format json`."""
    scenario = generated
    db = scenario.pcap.parent / "scenario.duckdb"
    done = run_cli("ingest", str(scenario.pcap), "--zones", str(scenario.zones),
                   "--site", scenario.site, db=db)
    assert done.returncode == 0, done.stderr
    listed = run_cli("findings", "--format", "json", db=db)
    assert listed.returncode == 0, listed.stderr
    return scenario, json.loads(listed.stdout)


@pytest.mark.parametrize("kind", PLANTED_KINDS)
def test_every_planted_case_is_found(
    detected: tuple[Scenario, list[dict[str, Any]]], kind: str
) -> None:
    scenario, findings = detected
    result = score(scenario, findings)
    missed = [f"{c.asset_ip} ({c.note})" for c in result.missed if c.kind == kind]
    assert result.kinds[kind].planted > 0
    assert result.kinds[kind].recall == 1.0, f"{kind} missed: " + "; ".join(missed)


def test_no_high_or_critical_finding_on_a_benign_host(
    detected: tuple[Scenario, list[dict[str, Any]]],
) -> None:
    scenario, findings = detected
    alarms = score(scenario, findings).false_alarms
    assert not alarms, "\n".join(
        f"{f['severity']} {f['kind']} on {f['asset_ip']} "
        f"({scenario.hosts.get(f['asset_ip'], '?')}): {f['summary']}" for f in alarms
    )


def test_fleet_members_count_for_the_planted_cameras() -> None:
    """The scoring contract itself: one fleet finding covers its members; a finding of
    another kind or on another host covers nothing."""
    scenario = Scenario(
        site="s", pcap=Path("p"), zones=Path("z"), start=START, end=START, seed=0, packets=0,
        planted=planted_cases(), benign=("10.40.0.24",),
        tolerated=(("internet-traffic", "10.40.0.24"),),
    )
    cameras = [c.asset_ip for c in scenario.planted
               if c.kind == "beaconing" and c.asset_ip.startswith("10.50.")]
    findings = [
        {"kind": "beaconing", "severity": "high", "asset_ip": None,
         "details": {"members": [{"ip": cameras[0]}, *cameras[1:]]}},
        {"kind": "beaconing", "severity": "high", "asset_ip": "10.40.0.24", "details": {}},
        {"kind": "internet-traffic", "severity": "low", "asset_ip": "10.40.0.24", "details": {}},
    ]
    result = score(scenario, findings)
    assert result.kinds["beaconing"].found == len(cameras)
    assert (result.kinds["beaconing"].true_findings, result.kinds["beaconing"].findings) == (1, 2)
    assert [f["asset_ip"] for f in result.false_alarms] == ["10.40.0.24"]
    assert result.kinds["internet-traffic"].findings == 0  # tolerated, not counted


def test_generator_is_deterministic(generated: Scenario, tmp_path: Path) -> None:
    first, second = generated, write_scenario(tmp_path)
    assert first.pcap.read_bytes() == second.pcap.read_bytes()
    assert first.zones.read_text() == second.zones.read_text()
    assert first.planted == second.planted and first.benign == second.benign
    assert first.pcap.stat().st_size < 20_000_000
    assert len({c.kind for c in first.planted}) == len(PLANTED_KINDS)


def test_scenario_capture_ingests_without_warnings(generated: Scenario, tmp_path: Path) -> None:
    with Store(tmp_path / "ingest.duckdb") as store:
        result = ingest_path(store, generated.pcap, site=generated.site)
    assert result.error is None
    assert result.warnings == []
    assert result.records == generated.packets
