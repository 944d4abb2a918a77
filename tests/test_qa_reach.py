"""QA of the reach features (issue 4) against careless and hostile input: flow exports with
impossible times, nesting too deep for the JSON parser, alerts-only EVE files, NetFlow /
IPFIX messages that would make the parser spin; zone files and allowlists that silently
check nothing or everything; triage decisions that lapse at once; remote access on the
capturing host's loopback."""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from vendorwatch.errors import InputError
from vendorwatch.ingest import ingest_path
from vendorwatch.ingest.flowio import first_json_objects, timestamp
from vendorwatch.site.allowlist import parse_allowlist
from vendorwatch.site.zones import Zones, parse_zones
from vendorwatch.store import Store

LOCAL, CLOUD = "10.0.0.5", "93.184.216.34"
EVE_TS = "2024-01-01T10:00:00.000000+0000"


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


def counts(store: Store) -> tuple[int, int, int]:
    return tuple(store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("sources", "evidence", "flows"))


def eve(event_type: str, **fields: Any) -> str:
    return json.dumps({"timestamp": EVE_TS, "event_type": event_type, "src_ip": LOCAL,
                       "dest_ip": CLOUD, **fields})


def deep_line(prefix: str) -> str:
    return prefix + "[" * 100_000 + "]" * 100_000 + "}"


def ingest_within(store: Store, path: Path, seconds: float = 30.0) -> Any:
    """ingest_path, failing the test (not hanging it) when the reader never returns."""
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(ingest_path(store, path)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert box, f"ingesting {path.name} did not finish in {seconds} s"
    return box[0]


# ---------------------------------------------------------------------------------------
# Flow exports


def test_a_date_in_the_year_9999_is_no_time_not_1978() -> None:
    # Zeek's milliseconds rule divided 253402300799 (9999-12-31 as seconds) by 1000
    assert timestamp("9999-12-31 23:59:59") is None
    assert timestamp("9999-12-31T23:59:59.000000+0000") is None
    assert timestamp("2024-01-01T10:00:00.000000+0000") == 1_704_103_200.0
    assert timestamp("-5") is None and timestamp("nan") is None


def test_nfdump_eve_and_joy_rows_from_the_year_9999_keep_no_time(
    store: Store, tmp_path: Path
) -> None:
    nfdump = tmp_path / "nf.csv"
    nfdump.write_text("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,"
                      f"bytes,flows\n9999-12-31 23:59:59,0,6,{LOCAL},40000,{CLOUD},443,1,60,1\n")
    eve_file = tmp_path / "eve.json"
    eve_file.write_text(eve("flow", proto="TCP", flow={"start": "9999-12-31T23:59:59+0000",
                                                       "end": "9999-12-31T23:59:59+0000"},
                            timestamp="9999-12-31T23:59:59.000000+0000") + "\n")
    joy = tmp_path / "joy.json"
    joy.write_text(json.dumps({"sa": LOCAL, "da": CLOUD, "pr": 6, "sp": 40000, "dp": 443,
                               "time_start": 253402300799.0, "time_end": 253402300799.0,
                               "num_pkts_out": 1, "bytes_out": 60}) + "\n")
    for path in (nfdump, eve_file, joy):
        assert ingest_path(store, path).status == "ingested"
    rows = store.con.execute("SELECT ts_first, ts_last FROM flows").fetchall()
    assert rows == [(None, None)] * 3


def test_json_nested_too_deep_is_an_unusable_line_not_a_crash(
    store: Store, tmp_path: Path
) -> None:
    assert first_json_objects([b'{"a": 1}\n', deep_line('{"x": ').encode()]) == [{"a": 1}]
    eve_file = tmp_path / "eve.json"
    eve_file.write_text(eve("flow", proto="TCP") + "\n" + deep_line(eve("flow")[:-1] + ', "x": ')
                        + "\n")
    joy = tmp_path / "joy.json"
    joy.write_text(json.dumps({"sa": LOCAL, "da": CLOUD, "pr": 6, "time_start": 1.7e9,
                               "num_pkts_out": 1}) + "\n" + deep_line('{"sa": "x", "y": ') + "\n")
    for path, kind in ((eve_file, "suricata-eve"), (joy, "joy")):
        result = ingest_path(store, path)
        assert result.status == "ingested" and result.kind == kind, result.error
        assert [w.line() for w in result.warnings] == [
            f"{path} at line 2: 1 unusable lines skipped"]


def test_an_alerts_only_eve_file_fails_in_one_line_and_stores_nothing(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "eve.json"
    path.write_text("\n".join([eve("alert", alert={"signature": "ET SCAN"})] * 3
                              + [eve("stats", stats={})]) + "\n")
    before = counts(store)
    result = ingest_path(store, path)
    assert result.status == "failed" and result.error is not None
    assert result.error.line() == (
        f"{path} at line 1: no flow, dns, tls, http or ssh events to read (4 events of "
        "types alert, stats)")
    assert counts(store) == before


def v9_packet(flowsets: list[bytes], count: int) -> bytes:
    return struct.pack("!HHIIII", 9, count, 1000, 1_700_000_000, 1, 0) + b"".join(flowsets)


def test_a_netflow_v9_template_of_zero_bytes_does_not_hang_the_reader(
    store: Store, tmp_path: Path
) -> None:
    # template 256 with no fields, then a data flowset for it: the netflow package spun
    # for ever on records of zero bytes
    path = tmp_path / "v9.bin"
    path.write_bytes(v9_packet([struct.pack("!HHHH", 0, 8, 256, 0),
                                struct.pack("!HH", 256, 8) + b"\x01\x02\x03\x04"], 2))
    result = ingest_within(store, path)
    assert result.status == "failed" and result.error is not None
    assert "no usable message" in result.error.line() and str(path) in result.error.line()
    assert counts(store) == (0, 0, 0)


def test_an_ipfix_set_of_length_zero_does_not_hang_the_reader(
    store: Store, tmp_path: Path
) -> None:
    template = struct.pack("!HHHHHH", 256, 2, 8, 4, 12, 4)
    sets = struct.pack("!HH", 2, 4 + len(template)) + template + struct.pack("!HH", 2, 0)
    message = struct.pack("!HHIII", 10, 16 + len(sets), 1_700_000_000, 1, 0) + sets
    record = struct.pack("!HH", 256, 12) + bytes([10, 0, 0, 5, 8, 8, 8, 8])
    good = struct.pack("!HHIII", 10, 16 + len(template) + 4 + len(record), 1_700_000_000, 2,
                       0) + struct.pack("!HH", 2, 4 + len(template)) + template + record
    path = tmp_path / "flows.ipfix"
    path.write_bytes(message + good)
    result = ingest_within(store, path)
    assert result.status == "ingested", result.error
    assert [w.line() for w in result.warnings] == [f"{path} at byte 0: 1 malformed messages "
                                                   "skipped"]
    assert store.con.execute("SELECT src_ip, dst_ip FROM flows").fetchall() == [
        ("10.0.0.5", "8.8.8.8")]


# ---------------------------------------------------------------------------------------
# Zone files


@pytest.mark.parametrize(("text", "message"), [
    ("zones:\n  internet: {cidrs: [10.1.0.0/24]}\n", "zones.internet: zone name 'internet' "
                                                     "is reserved"),
    ("zones:\n  multicast: {cidrs: [10.1.0.0/24]}\n", "zone name 'multicast' is reserved"),
    ("zones:\n  10.9.0.0/24: {cidrs: [10.1.0.0/24]}\n", "zone name '10.9.0.0/24' is reserved"),
    ("zones:\n  '': {cidrs: [10.1.0.0/24]}\n", "zones: a zone needs a name"),
    ("zones:\n  a: {cidrs: [10.0.0.0/8]}\n  b: {cidrs: [10.0.0.0/8]}\n",
     "zones.b.cidrs: 10.0.0.0/8 is in zone 'a' too"),
    ("zones:\n  all: {cidrs: ['::/0'], closed: true}\n", "'::/0' is every address"),
])
def test_zone_files_that_would_blur_the_matrix_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_zones(text, "zones.yaml")
    assert message in caught.value.line()


def test_a_closed_network_of_any_length_is_closed() -> None:
    # --closed-zone 10.40.0.0/16 (or 10.40.0.7/24) named a "subnet zone" no address was in
    zones = Zones(None, closed=["10.40.0.0/16", "10.50.0.7/24"])
    for address, zone in (("10.40.3.9", "10.40.0.0/16"), ("10.50.0.200", "10.50.0.0/24")):
        assert zones.zone_of(address) == zone
        assert zones.zone(zone).closed
    assert zones.zone_of("10.60.0.1") == "10.60.0.0/24"
    assert not zones.zone("10.60.0.0/24").closed
    assert zones.closed_problems() == []


def test_closed_zones_that_check_nothing_are_named() -> None:
    spec = parse_zones("zones:\n  cranes: {cidrs: [10.40.0.0/24]}\n", "zones.yaml")
    zones = Zones(spec, closed=["crane", "10.40.0.0/25", "cranes"])
    assert zones.closed_problems() == [
        "--closed-zone 'crane': no such zone (zones: cranes; or give a subnet such as "
        "10.20.0.0/24)",
        "--closed-zone '10.40.0.0/25' lies in declared zone 'cranes': close that zone by name",
    ]


def test_zone_lookup_does_not_scan_every_network() -> None:
    text = "zones:\n  big:\n    cidrs:\n" + "".join(
        f"      - 10.{i // 256}.{i % 256}.0/24\n" for i in range(20_000))
    text += "  small: {cidrs: [10.1.2.128/25, '2001:db8::/48']}\n"
    zones = Zones(parse_zones(text, "zones.yaml"))
    assert zones.zone_of("10.1.2.200") == "small"  # the longest prefix wins
    assert zones.zone_of("10.1.2.7") == "big"
    assert zones.zone_of("2001:db8::5") == "small"
    assert zones.zone_of("8.8.8.8") == "internet"
    import time

    started = time.monotonic()
    for i in range(5_000):
        zones.zone_of(f"172.16.{i // 256}.{i % 256}")
    assert time.monotonic() - started < 2.0  # was ~70 s: 5,000 × 20,000 containment tests


# ---------------------------------------------------------------------------------------
# Allowlists


@pytest.mark.parametrize("endpoint", ["*", "*.*", "?*", "0.0.0.0/0", "::/0"])
def test_an_allowlist_entry_for_everything_is_refused(endpoint: str) -> None:
    text = f"entries:\n  - {{endpoint: '{endpoint}', reason: quiet, expires: 2099-01-01}}\n"
    with pytest.raises(InputError) as caught:
        parse_allowlist(text, "allowlist.yaml")
    assert "matches every endpoint" in caught.value.line()
    assert caught.value.line().startswith("allowlist.yaml at entries.0: ")


def test_an_allowlist_entry_for_everything_may_be_scoped() -> None:
    text = ("entries:\n  - {endpoint: '*', assets: [10.10.0.0/24], kinds: [internet-traffic],"
            " reason: office browsing, expires: 2099-01-01}\n")
    assert parse_allowlist(text, "allowlist.yaml").entries[0].endpoint == "*"


# ---------------------------------------------------------------------------------------
# The command line: triage, closed zones, a stored file that no longer validates


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    done = run_cli("demo", "--dir", str(root), db=root / "demo.duckdb")
    assert done.returncode == 0, done.stderr
    return root / "demo.duckdb"


def copy_of(db: Path, tmp_path: Path) -> Path:
    target = tmp_path / "store.duckdb"
    target.write_bytes(db.read_bytes())
    return target


def leak_id(db: Path) -> str:
    done = run_cli("findings", "--format", "json", db=db)
    return next(f["id"] for f in json.loads(done.stdout) if f["kind"] == "closed-zone-leak")


def test_triage_refuses_a_decision_that_lapses_at_once_and_takes_ids_as_pasted(
    demo_db: Path, tmp_path: Path
) -> None:
    db = copy_of(demo_db, tmp_path)
    finding = leak_id(db)
    done = run_cli("triage", finding, "--state", "accepted", "--note", "x", "--until",
                   "2001-01-01", db=db)
    assert done.returncode == 2
    assert done.stderr.strip() == ("error: --until 2001-01-01 has passed: the decision "
                                   "would lapse at once")
    done = run_cli("triage", f" {finding.lower().replace('vw-', 'Vw-')} ", "--state",
                   "accepted", "--note", "ticket 4711", db=db)
    assert done.returncode == 0, done.stderr
    states = {f["id"]: f["state"] for f in json.loads(
        run_cli("findings", "--format", "json", db=db).stdout)}
    assert states[finding] == "accepted"


def test_zones_names_a_closed_zone_that_checks_nothing(demo_db: Path, tmp_path: Path) -> None:
    db = copy_of(demo_db, tmp_path)
    # refused when given (exit 2, nothing stored) ...
    refused = run_cli("detect", "--closed-zone", "crane", db=db)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "error: --closed-zone 'crane': no such zone (zones: office, cctv, scanners, cranes; "
        "or give a subnet such as 10.20.0.0/24)")
    # ... and reported by `zones` when one was stored before (by an earlier version)
    with Store(db) as opened:
        opened.set_setting("closed_zones", '["crane"]')
    done = run_cli("zones", "--format", "json", db=db)
    assert done.returncode == 0
    assert "warning: --closed-zone 'crane': no such zone (zones: office, cctv, scanners, " \
           "cranes; or give a subnet such as 10.20.0.0/24)" in done.stderr


def test_a_stored_allowlist_or_zone_file_that_no_longer_validates_is_one_line(
    demo_db: Path, tmp_path: Path
) -> None:
    db = copy_of(demo_db, tmp_path)
    finding = leak_id(db)
    with Store(db) as opened:  # accepted by an earlier version
        opened.set_setting("allowlist", "entries:\n  - {endpoint: '*', reason: quiet, "
                                        "expires: 2099-01-01}\n")
        opened.set_setting("zones", "zones:\n  internet: {cidrs: [10.40.0.0/24]}\n")
    done = run_cli("triage", finding, "--state", "accepted", "--note", "x", db=db)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: allowlist (stored; give a corrected one with "
                                  "--allowlist) at entries.0: ")
    for command in (["zones"], ["exposure"]):
        done = run_cli(*command, db=db)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert done.stderr.startswith("error: zones (stored) at zones.internet: ")


# ---------------------------------------------------------------------------------------
# Detectors


def test_remote_access_on_loopback_is_information_not_a_site_finding(
    store: Store, tmp_path: Path
) -> None:
    from vendorwatch.detect import run_detectors
    from vendorwatch.identify.assets import identify_assets

    path = tmp_path / "eve.json"
    path.write_text("\n".join([
        eve("flow", src_ip="127.0.0.1", dest_ip="127.0.0.1", src_port=50000, dest_port=3389,
            proto="TCP", app_proto="rdp",
            flow={"start": EVE_TS, "end": "2024-01-01T10:05:00.000000+0000",
                  "pkts_toserver": 50, "pkts_toclient": 50, "bytes_toserver": 9000,
                  "bytes_toclient": 90000}),
        eve("flow", src_ip="::1", dest_ip="::1", src_port=50001, dest_port=3389,
            proto="TCP", app_proto="rdp",
            flow={"start": EVE_TS, "end": "2024-01-01T10:05:00.000000+0000",
                  "pkts_toserver": 50, "pkts_toclient": 50, "bytes_toserver": 9000,
                  "bytes_toclient": 90000}),
    ]) + "\n")
    assert ingest_path(store, path).status == "ingested"
    identify_assets(store)
    found = [f for f in run_detectors(store) if f.kind == "remote-access"]
    assert {f.asset_ip for f in found} == {"127.0.0.1", "::1"}
    for finding in found:
        assert finding.severity == "info"
        assert finding.details["direction"] == "loopback"
        assert "on the capturing host itself (loopback)" in finding.summary


def test_zeek_json_nested_absurdly_deep_is_one_line(tmp_path: Path) -> None:
    import json as _json

    from vendorwatch.ingest import ingest_path
    from vendorwatch.store import Store

    log = tmp_path / "conn.log"
    good = {"_path": "conn", "ts": 1.0, "id.orig_h": "10.0.0.1", "id.orig_p": 1,
            "id.resp_h": "10.0.0.2", "id.resp_p": 80, "proto": "tcp"}
    log.write_text(_json.dumps(good) + "\n" + '{"x":' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with Store(tmp_path / "z.duckdb") as store:
        result = ingest_path(store, log)
    assert result.error is not None
    assert result.error.line() == f"{log} at line 2: invalid JSON: nested too deeply"


def test_zeek_iso_dates_far_ahead_are_not_read_as_milliseconds() -> None:
    from vendorwatch.ingest.zeek import timestamp_value

    assert timestamp_value("9999-12-31T23:59:59Z") is None
    assert timestamp_value("2026-03-02T06:00:00Z") == 1_772_431_200.0


def test_a_header_only_flow_export_warns(tmp_path: Path) -> None:
    from vendorwatch.ingest import ingest_path
    from vendorwatch.store import Store

    path = tmp_path / "empty-export.csv"
    path.write_text("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt\n")
    with Store(tmp_path / "h.duckdb") as store:
        result = ingest_path(store, path)
    assert result.status == "ingested" and result.kind == "nfdump"
    assert [w.line() for w in result.warnings] == [f"{path}: no flows in it (a header only?)"]
