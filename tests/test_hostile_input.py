"""Regressions from an adversarial review: one packet must not re-badge a device, odd
captures fail in one line, outputs stay inert, and an interrupted run is caught up."""

from __future__ import annotations

import json
import socket
import struct
from pathlib import Path

import dpkt

from conftest import run_cli, write_pcap
from vendorwatch.detect import run_detectors
from vendorwatch.identify.assets import identify_assets
from vendorwatch.ingest import ingest_path
from vendorwatch.safe_text import inert, spreadsheet_safe
from vendorwatch.store import Store
from vendorwatch.store.batch import FlowRecord
from vendorwatch.store.views import list_assets, list_findings

HIKVISION_MAC = bytes.fromhex("bcad284e9999")


def dhcp_discover(chaddr: bytes, requested: str) -> bytes:
    msg = dpkt.dhcp.DHCP(
        op=dpkt.dhcp.DHCP_OP_REQUEST, chaddr=chaddr + b"\0" * 10, xid=7,
        opts=[(53, b"\x01"), (50, socket.inet_aton(requested)), (12, b"evil")],
    )
    udp = dpkt.udp.UDP(sport=68, dport=67, data=bytes(msg))
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=b"\0\0\0\0", dst=b"\xff\xff\xff\xff", p=17, ttl=64, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(src=chaddr, dst=b"\xff" * 6, data=ip,
                                        type=dpkt.ethernet.ETH_TYPE_IP))


def test_a_requested_dhcp_address_does_not_rebadge_its_owner(tmp_path: Path,
                                                              small_capture: Path) -> None:
    """The small capture's 10.0.0.5 sends from a Siemens interface; a DISCOVER from a
    Hikvision MAC asking for 10.0.0.5 must not make 10.0.0.5 a Hikvision device."""
    spoof = write_pcap(tmp_path / "spoof.pcap",
                       [(1_700_000_100.0, dhcp_discover(HIKVISION_MAC, "10.0.0.5"))])
    with Store(tmp_path / "db.duckdb") as store:
        ingest_path(store, small_capture)
        ingest_path(store, spoof)
        identify_assets(store)
        assets = {a["ip"]: a for a in list_assets(store)}
    assert assets["10.0.0.5"]["manufacturer"] == "Siemens"
    assert assets["bc:ad:28:4e:99:99"]["manufacturer"] == "Hikvision"  # known by its MAC


def test_a_port_alone_does_not_make_a_vendor_cloud_finding(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        with store.ingesting("x", "2" * 64, "zeek", "") as batch:
            batch.flow(FlowRecord(1.0, 2.0, "192.168.5.50", 50000, "93.184.216.34", 8000, 6,
                                  None, None, None, 5, 5, 500, 500))
        identify_assets(store)
        run_detectors(store)
        kinds = {f["kind"] for f in list_findings(store)}
    assert "vendor-cloud-endpoint" not in kinds
    assert "internet-traffic" in kinds


def _pcapng(blocks: list[bytes]) -> bytes:
    shb = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
    idb_body = struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, 0) + b"\0" * 4
    idb = struct.pack("<II", 1, 12 + len(idb_body)) + idb_body + struct.pack("<I",
                                                                             12 + len(idb_body))
    return shb + idb + b"".join(blocks)


def test_short_packet_block_and_absurd_timestamp_fail_in_one_line(tmp_path: Path) -> None:
    short = tmp_path / "short.pcapng"
    short.write_bytes(_pcapng([struct.pack("<III", 6, 16, 0) + struct.pack("<I", 16)]))
    frame = b"\0" * 60
    epb = struct.pack("<IIIII", 0, 0xFFFFFFFF, 0xFFFFFFFF, 60, 60) + frame
    far = tmp_path / "far.pcapng"
    far.write_bytes(_pcapng([struct.pack("<II", 6, 12 + len(epb)) + epb
                             + struct.pack("<I", 12 + len(epb))]))
    db = tmp_path / "db.duckdb"
    done = run_cli("ingest", str(short), str(far), db=db)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {short} at byte ") and "too short" in lines[0]
    assert lines[1].startswith(f"error: {far} at byte ") and "out of range" in lines[1]
    assert "Traceback" not in done.stderr


def test_outputs_make_control_and_direction_characters_visible() -> None:
    assert inert("a\x1b[2Jb\x07") == "a\\x1b[2Jb\\x07"
    assert inert("invoice\u202etxt.exe") == "invoice\\u202etxt.exe"
    assert spreadsheet_safe("=HYPERLINK(1)") == "'=HYPERLINK(1)"


def test_csv_and_report_carry_no_raw_escape(tmp_path: Path) -> None:
    from conftest import http_frame

    request = b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: =cmd\x1b[2J\x07\xe2\x80\xae\r\n\r\n"
    capture = write_pcap(tmp_path / "esc.pcap",
                         [(1_700_000_000.0, http_frame("10.0.0.5", "10.0.0.9", request))])
    db = tmp_path / "db.duckdb"
    run_cli("ingest", str(capture), db=db)
    csv_out = run_cli("evidence", "--signal", "http.user_agent", "--format", "csv", db=db).stdout
    assert "\x1b" not in csv_out and "\x07" not in csv_out and "\u202e" not in csv_out
    assert "'=cmd\\x1b[2J\\x07" in csv_out
    run_cli("report", "--out", str(tmp_path / "r.html"), db=db)
    html = (tmp_path / "r.html").read_text()
    assert "\x1b" not in html and "\u202e" not in html


def test_an_ingest_cut_off_before_detection_is_caught_up(tmp_path: Path,
                                                         small_capture: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        ingest_path(store, small_capture)  # committed, but identify/detect never ran
    warned = run_cli("assets", "--format", "json", db=db)
    assert "sources were added since the last detection" in warned.stderr
    assert json.loads(warned.stdout) == []
    again = run_cli("ingest", str(small_capture), db=db)
    assert "unchanged" in again.stderr and "assets" in again.stderr
    assets = json.loads(run_cli("assets", "--format", "json", db=db).stdout)
    assert {a["ip"] for a in assets} >= {"10.0.0.5", "10.0.0.9"}


def test_reading_commands_need_an_existing_store(tmp_path: Path) -> None:
    done = run_cli("assets", db=tmp_path / "typo.duckdb")
    assert done.returncode == 2
    assert "no store here" in done.stderr
    assert not (tmp_path / "typo.duckdb").exists()
    assert run_cli("evidence", "--limit", "-1", db=tmp_path / "typo.duckdb").returncode == 2


CONN_LOG = """#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tconn
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tcount\tcount
1700000000.000000\tC1\t10.0.0.5\t40000\t8.8.8.8\t53\tudp\tdns\t0.1\t1\t60\t1\t90
"""


def test_a_file_beside_the_logs_does_not_make_them_new(tmp_path: Path) -> None:
    logs = tmp_path / "zeek"
    logs.mkdir()
    (logs / "conn.log").write_text(CONN_LOG)
    with Store(tmp_path / "db.duckdb") as store:
        assert ingest_path(store, logs).status == "ingested"
        (logs / "NOTES.txt").write_text("collected on the quay switch\n")
        assert ingest_path(store, logs).status == "unchanged"
        assert store.counts()["flows"] == 1


def test_overlapping_inputs_count_each_log_once(tmp_path: Path) -> None:
    """A directory, then one of its logs on its own, then the directory with one more
    log: every flow is stored once."""
    logs = tmp_path / "zeek"
    logs.mkdir()
    (logs / "conn.log").write_text(CONN_LOG)
    with Store(tmp_path / "db.duckdb") as store:
        assert ingest_path(store, logs).status == "ingested"
        assert ingest_path(store, logs / "conn.log").status == "unchanged"
        (logs / "dns.log").write_text(CONN_LOG.replace("#path\tconn", "#path\tdns")
                                      .replace("1700000000.000000\tC1", "1700000001.000000\tC2"))
        second = ingest_path(store, logs)
        assert second.status == "ingested"
        assert store.counts()["flows"] == 1
        rows = store.con.execute("SELECT count(*) FROM source_files").fetchone()
        assert rows is not None and rows[0] == 2
