"""Beaconing detector: periodic channels scored in DuckDB, per fleet of identical devices."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from vendorwatch.detect import detect_context
from vendorwatch.detect.beaconing import (
    CONNECTIONS_SQL,
    MIN_SCORE,
    STAT_COLUMNS,
    WINDOWS_SQL,
    Beaconing,
    benign_periodic,
    pair_statistics,
    pair_statistics_pandas,
    score_pair,
)
from vendorwatch.detect.interface import Finding, severity_rank
from vendorwatch.intel import load_registry
from vendorwatch.store import Store

T0 = 1_700_000_000.0
HOURS = 2
VENDOR_IP = "47.91.20.10"  # a public address standing in for the vendor's P2P server
REGISTRY = load_registry()


def _ts(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


class Net:
    """A store with one source per site, assets and flows inserted directly."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.sources: dict[str, int] = {}
        self.rows: list[dict[str, Any]] = []

    def source(self, site: str) -> int:
        if site not in self.sources:
            row = self.store.con.execute(
                "INSERT INTO sources (path, sha256, kind, site, ingested_at) "
                "VALUES (?, ?, 'capture', ?, ?) RETURNING id",
                [f"/captures/{site}.pcap", f"{len(self.sources):064x}", site, _ts(T0)],
            ).fetchone()
            assert row is not None
            self.sources[site] = int(row[0])
        return self.sources[site]

    def asset(self, site: str, ip: str, manufacturer: str | None, model: str | None,
              device_class: str = "camera", risk: str = "low") -> None:
        self.source(site)
        self.store.con.execute(
            "INSERT INTO assets (site, ip, manufacturer, model, device_class, confidence, "
            "risk, listings) VALUES (?, ?, ?, ?, ?, 0.9, ?, '[]')",
            [site, ip, manufacturer, model, device_class, risk],
        )

    def flow(self, site: str, src: str, dst: str, start: float, *, proto: int = 17,
             dport: int = 8800, sport: int = 40000, duration: float = 0.2,
             out_bytes: int = 120, in_bytes: int = 90, packets: int = 1,
             server_name: str | None = None) -> None:
        self.rows.append({
            "source_id": self.source(site), "ts_first": _ts(start),
            "ts_last": _ts(start + duration), "src_ip": src, "src_port": sport,
            "dst_ip": dst, "dst_port": dport, "proto": proto, "src_packets": packets,
            "dst_packets": packets, "src_bytes": out_bytes, "dst_bytes": in_bytes,
            "server_name": server_name,
        })

    def beacon(self, site: str, src: str, dst: str, *, period: float = 60.0,
               jitter: float = 0.1, missed: float = 0.05, seed: int = 1,
               hours: float = HOURS, **kw: Any) -> None:
        rng = np.random.default_rng(seed)
        count = int(hours * 3600 / period)
        drop = set(rng.choice(count, round(count * missed), replace=False).tolist())
        for i in range(count):
            if i in drop:
                continue
            start = T0 + i * period + rng.uniform(-jitter, jitter) * period
            self.flow(site, src, dst, start, sport=40000 + i % 20000,
                      out_bytes=int(120 + rng.integers(0, 4)), **kw)

    def random(self, site: str, src: str, dst: str, *, count: int = 120, seed: int = 2,
               **kw: Any) -> None:
        rng = np.random.default_rng(seed)
        for i, start in enumerate(np.sort(rng.uniform(T0, T0 + HOURS * 3600, count))):
            self.flow(site, src, dst, float(start), sport=41000 + i,
                      out_bytes=int(rng.integers(80, 4000)), **kw)

    def commit(self) -> Store:
        if self.rows:
            frame = pd.DataFrame(self.rows)
            self.store.con.register("_rows", frame)
            self.store.con.execute(
                "INSERT INTO flows BY NAME SELECT * FROM _rows")
            self.store.con.unregister("_rows")
            self.rows = []
        return self.store


def run(store: Store) -> list[Finding]:
    ctx = detect_context(store, REGISTRY)
    return list(Beaconing().run(ctx))


def only(findings: list[Finding], member: str) -> Finding:
    hits = [f for f in findings if member in f.details["members"]]
    assert len(hits) == 1, [f.summary for f in findings]
    return hits[0]


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return Net(tmp_path / "db.duckdb")


def test_jittered_beacon_with_missed_beats_is_found(net: Net) -> None:
    net.asset("port", "10.0.0.10", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.beacon("port", "10.0.0.10", VENDOR_IP, server_name="p2p.easy4ipcloud.com")
    found = only(run(net.commit()), "10.0.0.10")
    assert found.details["score"] >= 0.85
    assert found.details["pattern"] == "beacon"
    assert abs(found.details["interval"] - 60) < 3
    assert 0 < found.details["jitter"] < 6
    assert found.details["destination"] == {
        "name": "p2p.easy4ipcloud.com", "ip": VENDOR_IP, "ips": [VENDOR_IP], "port": 8800,
        "proto": "udp"}
    assert found.details["endpoint"] == "dahua-easy4ip-p2p"
    assert found.details["connections"] == 114  # 120 beats, 5 % dropped
    assert found.asset_ip == "10.0.0.10"
    assert found.evidence and found.evidence[0]["signal"] == "flow"
    assert "p2p.easy4ipcloud.com" in found.evidence[0]["value"]


def test_random_intervals_to_the_same_destination_are_not_a_beacon(net: Net) -> None:
    net.asset("port", "10.0.0.10", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.asset("port", "10.0.0.11", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.beacon("port", "10.0.0.10", VENDOR_IP, server_name="p2p.easy4ipcloud.com")
    net.random("port", "10.0.0.11", VENDOR_IP, server_name="p2p.easy4ipcloud.com")
    store = net.commit()
    findings = run(store)
    assert len(findings) == 1 and findings[0].details["members"] == ["10.0.0.10"]
    stats = pair_statistics(store.con)
    row = stats[stats["src_ip"] == "10.0.0.11"].to_dict("records")[0]
    scored = score_pair(row)
    assert scored.pattern is None and scored.score < MIN_SCORE


def test_a_fleet_raises_severity_and_is_one_finding(net: Net) -> None:
    cams = [f"10.1.0.{i}" for i in (12, 3, 7, 100, 21)]
    for n, ip in enumerate(cams):
        net.asset("fleet", ip, "Dahua Technology", "IPC-HFW2431S", risk="critical")
        net.beacon("fleet", ip, VENDOR_IP, seed=10 + n, server_name="p2p.easy4ipcloud.com")
    net.asset("single", "10.2.0.5", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.beacon("single", "10.2.0.5", VENDOR_IP, seed=3, server_name="p2p.easy4ipcloud.com")
    findings = run(net.commit())
    fleet = [f for f in findings if f.site == "fleet"]
    single = [f for f in findings if f.site == "single"]
    assert len(fleet) == 1 and len(single) == 1
    assert fleet[0].details["members"] == ["10.1.0.3", "10.1.0.7", "10.1.0.12", "10.1.0.21",
                                           "10.1.0.100"]
    assert fleet[0].asset_ip == "10.1.0.3"
    assert fleet[0].details["fleet_size"] == 5
    assert severity_rank(fleet[0].severity) > severity_rank(single[0].severity)
    assert severity_rank(single[0].severity) >= severity_rank("high")
    assert fleet[0].summary.startswith("5 Dahua Technology IPC-HFW2431S devices beacon to")


def test_ntp_and_internal_dns_are_not_reported(net: Net) -> None:
    net.asset("port", "10.0.0.20", "Hikvision", "DS-2CD2143", risk="critical")
    net.beacon("port", "10.0.0.20", "162.159.200.1", period=64, jitter=0.01, missed=0,
               dport=123)
    net.beacon("port", "10.0.0.20", "10.0.0.53", period=30, jitter=0.02, missed=0,
               dport=53, seed=5, server_name="hik-connect.com")
    net.beacon("port", "10.0.0.20", "10.0.0.9", period=60, jitter=0.02, missed=0,
               dport=502, seed=6)  # polling inside the site
    store = net.commit()
    # known periodic services and in-site polling are scored, not reported
    assert run(store) == []
    scored = {(r["dst_port"], r["dest"]) for r in pair_statistics(store.con).to_dict("records")
              if score_pair(r).pattern is not None}
    # all three channels beacon; the DNS one is keyed by the resolver, not the name resolved
    assert scored == {(123, "162.159.200.1"), (53, "10.0.0.53"), (502, "10.0.0.9")}


def test_persistent_udp_heartbeat_is_one_long_flow(net: Net) -> None:
    net.asset("port", "10.0.0.30", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.asset("port", "10.0.0.31", "Axis", "P1448", risk="low")
    net.flow("port", "10.0.0.30", VENDOR_IP, T0, duration=HOURS * 3600 - 20, packets=360,
             out_bytes=360 * 48, server_name="p2p.easy4ipcloud.com")
    # a background device defines the observation window
    net.beacon("port", "10.0.0.31", "10.0.0.1", dport=554, proto=6)
    found = only(run(net.commit()), "10.0.0.30")
    assert found.details["pattern"] == "persistent"
    assert abs(found.details["interval"] - 20) < 0.5
    assert found.details["score"] >= MIN_SCORE
    assert "persistent" in found.summary


def test_components_are_in_range_and_ids_are_stable(net: Net) -> None:
    net.asset("port", "10.0.0.10", "Dahua Technology", "IPC-HFW2431S", risk="critical")
    net.asset("port", "10.0.0.11", "Hikvision", "DS-2CD2143", risk="critical")
    net.beacon("port", "10.0.0.10", VENDOR_IP, server_name="p2p.easy4ipcloud.com")
    net.beacon("port", "10.0.0.11", "52.58.1.1", period=300, jitter=0.2, missed=0.2,
               proto=6, dport=443, seed=7)
    net.random("port", "10.0.0.11", "52.58.1.2", proto=6, dport=443)
    store = net.commit()
    for row in pair_statistics(store.con).to_dict("records"):
        scored = score_pair(row)
        assert 0.0 <= scored.score <= 1.0
        assert all(0.0 <= v <= 1.0 for v in scored.components.values()), scored
    first, second = run(store), run(store)
    assert first and [f.id for f in first] == [f.id for f in second]
    assert [f.severity for f in first] == [f.severity for f in second]
    json.dumps([f.details for f in first], default=str)  # the findings table stores JSON


def test_pandas_reference_agrees_with_duckdb(net: Net) -> None:
    net.asset("a", "10.0.0.10", "Dahua Technology", "IPC-HFW2431S")
    net.asset("a", "10.0.0.11", "Hikvision", None)
    net.asset("b", "10.0.0.10", None, None)
    net.beacon("a", "10.0.0.10", VENDOR_IP, server_name="p2p.easy4ipcloud.com")
    net.beacon("a", "10.0.0.10", "52.58.1.1", period=300, jitter=0.25, missed=0.3, seed=4,
               proto=6, dport=443)
    net.random("a", "10.0.0.11", "52.58.1.2", proto=6, dport=443)
    net.beacon("b", "10.0.0.10", "8.8.8.8", period=30, seed=9, dport=53)
    # a burst (duplicate records) and a long flow
    for k in range(3):
        net.flow("a", "10.0.0.11", "52.58.1.2", T0 + 100.0, sport=50000 + k, proto=6,
                 dport=443)
    net.flow("a", "10.0.0.11", "52.58.9.9", T0, duration=3000, packets=300, dport=9000)
    store = net.commit()
    sql = store.con.execute(
        "SELECT * FROM (" + CONNECTIONS_SQL + ") ORDER BY ALL").df()
    windows = store.con.execute(WINDOWS_SQL).df()
    expected = pair_statistics(store.con)
    got = pair_statistics_pandas(sql, windows)
    assert len(expected) == len(got) == 5
    for want, have in zip(expected.to_dict("records"), got.to_dict("records"), strict=True):
        for key in ("site", "src_ip", "dest", "proto", "dst_port", "dst_ip"):
            assert want[key] == have[key]
        for column in STAT_COLUMNS:
            a, b = float(want[column]), float(have[column])
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9,
                                                                             abs=1e-9), column
        assert score_pair(want) == score_pair(have)


def test_benign_list_entries_give_reasons() -> None:
    entries = benign_periodic()
    assert {"ntp", "dns-internal", "windows-update", "connectivity-checks"} <= {
        e.id for e in entries}
    assert all(e.reason and (e.ports or e.domains) for e in entries)
