"""Zones, the zone matrix and the segmentation findings (closed-zone leak, zone violation,
cross-maker reach, mixed-maker segment), on flows written straight into a store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vendorwatch.detect import detect_context, run_detectors
from vendorwatch.detect.segmentation import Segmentation, zone_matrix
from vendorwatch.errors import InputError
from vendorwatch.site.zones import Zones, parse_zones
from vendorwatch.store import Store
from vendorwatch.store.batch import FlowRecord

ZONES = """
zones:
  cranes:
    cidrs: [10.40.0.0/24]
    sensitivity: vital
    closed: true
    allowed_peers: [office]
  scanners:
    cidrs: [10.30.0.0/24]
    sensitivity: high
    allowed_peers: [office]
  office:
    cidrs: [10.10.0.0/24, "2001:db8:10::/64"]
    sensitivity: low
    allowed_peers: [internet, scanners, cranes]
  cctv:
    cidrs: [10.20.0.0/24]
    sensitivity: medium
    allowed_peers: [office]
"""

T0 = 1_700_000_000.0


def flow(src: str, dst: str, dport: int, proto: int = 6, t: float = T0,
         sent: int = 500, received: int = 1500) -> FlowRecord:
    return FlowRecord(t, t + 5, src, 40000, dst, dport, proto, None, None, None, 5, 5,
                      sent, received)


def asset(store: Store, ip: str, maker: str | None, risk: str = "low",
          device_class: str | None = None) -> None:
    store.con.execute(
        "INSERT INTO assets (site, ip, manufacturer, device_class, confidence, risk, listings) "
        "VALUES ('T', ?, ?, ?, 0.9, ?, '[]')", [ip, maker, device_class, risk])


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "seg.duckdb")
    with store.ingesting("synthetic", "sha-seg", "test", "T") as batch:
        batch.flow(flow("10.40.0.11", "47.96.10.20", 443))        # crane → internet: leak
        batch.flow(flow("10.40.0.11", "10.10.0.5", 502))          # crane → office: allowed
        batch.flow(flow("10.20.0.11", "10.40.0.11", 102))         # camera → crane: violation
        batch.flow(flow("10.20.0.11", "10.10.0.10", 53, proto=17))  # DNS: infrastructure
        batch.flow(flow("10.30.0.20", "10.30.0.50", 8100))        # scanner → own workstation
        batch.flow(flow("10.30.0.50", "10.30.0.20", 443))         # workstation → scanner
        batch.flow(flow("10.10.0.5", "10.30.0.20", 22))           # office → scanner: allowed
    asset(store, "10.40.0.11", "Siemens", device_class="plc")
    asset(store, "10.20.0.11", "Hikvision", risk="critical", device_class="camera")
    asset(store, "10.30.0.20", "Nuctech", risk="critical", device_class="x-ray-scanner")
    asset(store, "10.30.0.50", "Dell", device_class="workstation")
    asset(store, "10.10.0.5", "Dell", device_class="workstation")
    asset(store, "10.10.0.10", "Dell", device_class="server")
    store.set_setting("zones", ZONES)
    return store


def by_kind(findings: list, kind: str) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f.kind == kind]


def test_zone_lookup_prefers_the_declared_zone_then_the_subnet() -> None:
    zones = Zones(parse_zones(ZONES, "zones.yaml"))
    assert zones.zone_of("10.40.0.11") == "cranes"
    assert zones.zone_of("2001:db8:10::5") == "office"
    assert zones.zone_of("8.8.8.8") == "internet"
    assert zones.zone_of("192.168.7.9") == "192.168.7.0/24"
    assert zones.zone_of("224.0.0.251") == "multicast"
    assert zones.zone("cranes").closed and zones.zone("cranes").sensitivity == "vital"


def test_a_bad_zone_file_is_one_line_naming_the_place() -> None:
    with pytest.raises(InputError, match=r"zones.yaml at zones.a.cidrs: .*not a network"):
        parse_zones("zones:\n  a:\n    cidrs: [10.0.0.300/24]\n", "zones.yaml")
    with pytest.raises(InputError, match=r"unknown zone 'nowhere'"):
        parse_zones("zones:\n  a:\n    cidrs: [10.0.0.0/24]\n    allowed_peers: [nowhere]\n",
                    "zones.yaml")
    with pytest.raises(InputError, match=r"at line 3: not valid YAML"):
        parse_zones("zones:\n  a: [\n", "zones.yaml")


def test_closed_zone_leak_is_critical_and_names_the_peer(store: Store) -> None:
    found = list(Segmentation().run(detect_context(store)))
    leaks = by_kind(found, "closed-zone-leak")
    assert [(f.asset_ip, f.severity) for f in leaks] == [("10.40.0.11", "critical")]
    assert leaks[0].details["peers"] == ["47.96.10.20"]
    # the leak is not reported a second time as a zone violation
    assert not [f for f in by_kind(found, "zone-violation") if f.asset_ip == "10.40.0.11"]


def test_flows_between_zones_not_allowed_are_violations(store: Store) -> None:
    found = by_kind(list(Segmentation().run(detect_context(store))), "zone-violation")
    assert [(f.asset_ip, f.details["from_zone"], f.details["to_zone"], f.severity)
            for f in found] == [("10.20.0.11", "cctv", "cranes", "high")]
    assert found[0].details["services"] == ["tcp/102"]


def test_without_a_zone_file_subnets_carry_no_rules(store: Store) -> None:
    store.set_setting("zones", "")
    found = list(Segmentation().run(detect_context(store)))
    assert not by_kind(found, "zone-violation")
    assert not by_kind(found, "closed-zone-leak")
    store.set_setting("closed_zones", json.dumps(["10.40.0.0/24"]))
    leaks = by_kind(list(Segmentation().run(detect_context(store))), "closed-zone-leak")
    assert [f.asset_ip for f in leaks] == ["10.40.0.11"]


def test_a_high_risk_makers_device_reaching_other_equipment(store: Store) -> None:
    found = by_kind(list(Segmentation().run(detect_context(store))), "cross-maker-reach")
    summary = {(f.asset_ip, f.key, f.severity) for f in found}
    # the camera reaches a Siemens PLC in the vital crane zone; the scanner its Dell
    # workstation; the camera's DNS query is not "reach"
    assert summary == {("10.20.0.11", "Siemens", "high"), ("10.30.0.20", "Dell", "medium")}


def test_servers_of_several_makers_in_one_segment(store: Store) -> None:
    found = by_kind(list(Segmentation().run(detect_context(store))), "mixed-maker-segment")
    assert len(found) == 1
    assert found[0].details["segment"] == "scanners"
    assert found[0].details["makers"] == {"Dell": ["10.30.0.50"], "Nuctech": ["10.30.0.20"]}
    assert found[0].severity == "high"  # a high-sensitivity zone


def test_zone_matrix_counts_flows_and_marks_what_is_allowed(store: Store) -> None:
    ctx = detect_context(store)
    matrix = {(r["from_zone"], r["to_zone"]): r for r in zone_matrix(store, ctx.zones)}
    assert matrix[("cranes", "internet")]["flows"] == 1
    assert matrix[("cranes", "internet")]["allowed"] is False
    assert matrix[("cranes", "office")]["allowed"] is True
    assert matrix[("cctv", "cranes")]["allowed"] is False
    assert matrix[("scanners", "scanners")]["flows"] == 2
    assert matrix[("scanners", "scanners")]["bytes"] == 4000


def test_finding_ids_are_stable_across_runs(store: Store) -> None:
    first = sorted(f.id for f in run_detectors(store))
    second = sorted(f.id for f in run_detectors(store))
    assert first == second and first
