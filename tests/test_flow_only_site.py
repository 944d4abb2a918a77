"""A site that has only flow exports and IDS logs: the detectors work on them as on
captures — inbound RDP from Suricata EVE, a LOGINK connection named by TLS, and a leak from
a closed crane zone in an nfdump export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conftest import run_cli
from test_flow_readers import NFDUMP_16_HEADER, nfdump16_row

T0 = 1_772_431_200.0  # 2026-03-02T06:00:00Z
ZONES = """
zones:
  office: {cidrs: [10.10.0.0/24], sensitivity: low, allowed_peers: [internet, cranes]}
  cranes: {cidrs: [10.40.0.0/24], sensitivity: vital, closed: true, allowed_peers: [office]}
"""


def _eve(event_type: str, ts: float, src: str, sport: int, dst: str, dport: int,
         **body: Any) -> str:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    return json.dumps({"timestamp": stamp, "event_type": event_type, "src_ip": src,
                       "src_port": sport, "dest_ip": dst, "dest_port": dport, "proto": "TCP",
                       **body}) + "\n"


def _flow(start: float, seconds: float, up: int, down: int) -> dict[str, Any]:
    fmt = "%Y-%m-%dT%H:%M:%S.%f+0000"
    return {"pkts_toserver": 40, "pkts_toclient": 38, "bytes_toserver": up,
            "bytes_toclient": down,
            "start": datetime.fromtimestamp(start, UTC).strftime(fmt),
            "end": datetime.fromtimestamp(start + seconds, UTC).strftime(fmt)}


def test_detectors_work_on_flow_exports(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    eve.write_text(
        # an RDP session from the internet to an office workstation, 20 minutes
        _eve("flow", T0, "92.223.65.10", 51000, "10.10.0.21", 3389, app_proto="rdp",
             flow=_flow(T0, 1200, 250_000, 4_800_000))
        # the office PC talks to the LOGINK platform (named by TLS SNI)
        + _eve("tls", T0 + 60, "10.10.0.22", 50500, "47.100.1.2", 443,
               tls={"sni": "www.logink.cn", "version": "TLS 1.2"})
        + _eve("flow", T0 + 60, "10.10.0.22", 50500, "47.100.1.2", 443, app_proto="tls",
               flow=_flow(T0 + 60, 30, 5_000, 40_000)))
    nfdump = tmp_path / "crane-flows.csv"
    nfdump.write_text("\n".join([
        NFDUMP_16_HEADER,
        nfdump16_row("2026-03-02 06:10:00", "2026-03-02 06:10:05", "5.000", "10.40.0.12",
                     "58.246.10.20", "49200", "102", "TCP", 8, 5360),
        nfdump16_row("2026-03-02 06:11:00", "2026-03-02 06:11:01", "1.000", "10.40.0.12",
                     "10.10.0.21", "49201", "502", "TCP", 4, 400),
    ]) + "\n")
    zones = tmp_path / "zones.yaml"
    zones.write_text(ZONES)
    db = tmp_path / "flows.duckdb"
    done = run_cli("ingest", str(eve), str(nfdump), "--zones", str(zones), "--site", "Quay 7",
                   db=db)
    assert done.returncode == 0, done.stderr
    found = json.loads(run_cli("findings", "--format", "json", db=db).stdout)
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for finding in found:
        by_kind.setdefault(finding["kind"], []).append(finding)

    rdp = by_kind["remote-access"]
    assert [(f["asset_ip"], f["details"]["tool"], f["details"]["direction"]) for f in rdp] \
        == [("10.10.0.21", "RDP", "inbound")]
    assert rdp[0]["severity"] in ("high", "critical")

    logink = by_kind["vendor-cloud-endpoint"]
    assert [f["asset_ip"] for f in logink] == ["10.10.0.22"]
    assert "LOGINK platform endpoint" in logink[0]["summary"]
    # the registry marks this endpoint's attribution unverified: shown, never escalated
    assert "attribution unverified" in logink[0]["summary"] and logink[0]["severity"] == "low"

    leak = by_kind["closed-zone-leak"]
    assert [(f["asset_ip"], f["severity"]) for f in leak] == [("10.40.0.12", "critical")]
    assert leak[0]["details"]["peers"] == ["58.246.10.20"]

    exposure = json.loads(run_cli("exposure", "--ip", "10.10.0.22", "--format", "json",
                                  db=db).stdout)
    assert [(r["name"], r["platform_id"]) for r in exposure] == [("www.logink.cn",
                                                                   "logink-platform")]


def test_an_inbound_probe_is_an_attempt_not_a_session(tmp_path: Path) -> None:
    eve = tmp_path / "eve.json"
    probe = _flow(T0, 0.2, 120, 60)
    probe.update(pkts_toserver=2, pkts_toclient=1)
    eve.write_text(_eve("flow", T0, "92.223.65.10", 51000, "10.10.0.21", 3389,
                        app_proto="rdp", flow=probe))
    db = tmp_path / "probe.duckdb"
    assert run_cli("ingest", str(eve), db=db).returncode == 0
    [rdp] = [f for f in json.loads(run_cli("findings", "--format", "json", db=db).stdout)
             if f["kind"] == "remote-access"]
    assert "an attempt only, no session" in rdp["summary"]
    assert rdp["severity"] == "medium"   # high - 2 for the attempt, +1 interactive from outside
