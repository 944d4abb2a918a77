"""Concentration and kill-switch impact: shares per function by maker and ultimate owner,
from the asset register and from observation, and `vendorwatch impact` figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_cli
from vendorwatch.detect import run_detectors
from vendorwatch.detect.concentration import concentration, devices, impact, select
from vendorwatch.intel import load_registry
from vendorwatch.store import Store

SITE = "Terminal West"


def _register(asset_id: str, maker: str, function: str, capacity: float | None = None,
              ip: str | None = None) -> dict[str, object]:
    return {"line": 2, "asset_id": asset_id, "ip": ip, "manufacturer": maker,
            "function": function, "capacity": capacity, "site": SITE}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Four large scanners (two Nuctech, one Rapiscan, one Smiths), two cranes (ZPMC and
    Konecranes), and an observed Hikvision camera not in the register."""
    path = tmp_path / "c.duckdb"
    with Store(path) as store:
        with store.ingesting("assets.csv", "sha-reg", "asset-register", SITE) as batch:
            batch.table_rows("register_assets", [
                _register("SC-1", "Nuctech", "container scanning", 120, "10.30.0.20"),
                _register("SC-2", "Nuctech Company Limited", "container scanning", 120),
                _register("SC-3", "Rapiscan Systems", "container scanning", 100),
                _register("SC-4", "Smiths Detection", "container scanning", 60),
                _register("STS-1", "ZPMC", "ship-to-shore crane", 30),
                _register("STS-2", "Konecranes", "ship-to-shore crane", 30),
            ])
        for ip, maker, device_class in (("10.30.0.20", "Nuctech", "x-ray-scanner"),
                                        ("10.20.0.11", "Hikvision", "camera")):
            store.con.execute(
                "INSERT INTO assets (site, ip, manufacturer, device_class, confidence, risk, "
                "listings) VALUES (?, ?, ?, ?, 0.9, 'critical', '[]')",
                [SITE, ip, maker, device_class])
        run_detectors(store)
        store.mark_refreshed()
    return path


def test_half_the_large_scanners_are_nuctech(db: Path) -> None:
    with Store(db) as store:
        found = devices(store, load_registry())
    rows = {(r["function"], r["level"], r["name"]): r for r in concentration(found)}
    nuctech = rows[("container scanning", "maker", "Nuctech")]
    assert (nuctech["devices"], nuctech["of_devices"], nuctech["share"]) == (2, 4, 0.5)
    assert nuctech["capacity"] == 240 and nuctech["capacity_share"] == 0.6
    # the ultimate owner is the state group above Nuctech
    owner = [r for r in rows.values() if r["function"] == "container scanning"
             and r["level"] == "owner" and "Nuclear" in r["name"]]
    assert owner and owner[0]["devices"] == 2
    # an observed camera outside the register counts for its function
    assert rows[("CCTV", "maker", "Hikvision")]["devices"] == 1


def test_the_concentration_finding_states_the_share(db: Path) -> None:
    found = [f for f in json.loads(run_cli("findings", "--format", "json", db=db).stdout)
             if f["kind"] == "concentration"]
    scanning = [f for f in found if f["details"]["function"] == "container scanning"
                and f["details"]["level"] == "maker"]
    assert [f["severity"] for f in scanning] == ["high"]
    assert "2 of 4 devices (50%, 60% of declared capacity) depend on maker Nuctech" \
        in scanning[0]["summary"]
    assert scanning[0]["details"]["devices_list"] == ["SC-1", "SC-2"]


def test_impact_of_one_maker_and_of_one_country(db: Path) -> None:
    registry = load_registry()
    with Store(db) as store:
        found = devices(store, registry)
    lost, scenario = select(registry, found, maker="nuctech")
    assert scenario == "every device made by Nuctech"
    rows = {r["function"]: r for r in impact(found, lost)}
    assert (rows["container scanning"]["devices_lost"], rows["container scanning"]["devices"]) \
        == (2, 4)
    assert rows["container scanning"]["capacity_share_lost"] == 0.6
    assert rows["ship-to-shore crane"]["devices_lost"] == 0
    lost_cn, _ = select(registry, found, country="CN")
    by_function = {r["function"]: r for r in impact(found, lost_cn)}
    assert by_function["ship-to-shore crane"]["devices_lost"] == 1      # ZPMC
    assert by_function["container scanning"]["devices_lost"] == 2       # Nuctech, not Smiths
    assert by_function["CCTV"]["share_lost"] == 1.0


def test_impact_command(db: Path) -> None:
    done = run_cli("impact", "--maker", "Nuctech", "--format", "json", db=db)
    assert done.returncode == 0, done.stderr
    rows = {r["function"]: r for r in json.loads(done.stdout)}
    assert rows["container scanning"]["share_lost"] == 0.5
    assert rows["container scanning"]["lost"][0].startswith("SC-1 (Nuctech")
    table = run_cli("impact", "--owner", "CETC", db=db)
    assert table.returncode == 0 and "CCTV" in table.stdout
    assert run_cli("impact", db=db).returncode == 2
    assert run_cli("impact", "--maker", "x", "--country", "CN", db=db).returncode == 2


def test_capacity_shares_say_how_many_devices_declare_one(tmp_path: Path) -> None:
    path = tmp_path / "partial.duckdb"
    with Store(path) as store:
        with store.ingesting("assets.csv", "sha-part", "asset-register", SITE) as batch:
            batch.table_rows("register_assets", [
                _register("SC-1", "Nuctech", "container scanning", 120),
                _register("SC-2", "Rapiscan Systems", "container scanning", None),
                _register("SC-3", "Nuctech", "container scanning", 100),
            ])
        found = [f for f in run_detectors(store) if f.kind == "concentration"
                 and f.details["level"] == "maker"]
    [nuctech] = [f for f in found if f.details["name"] == "Nuctech"]
    assert nuctech.details["capacity_share"] == 1.0
    assert nuctech.details["capacity_declared"] == 2
    assert "100% of declared capacity — declared for 2 of 3 devices" in nuctech.summary
