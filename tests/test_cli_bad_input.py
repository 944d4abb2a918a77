"""Bad input never gives a traceback: one line naming the file and the place, exit 2 for
unusable input, a warning for a truncated capture, and the store unchanged for that file."""

from __future__ import annotations

import struct
from pathlib import Path

from conftest import run_cli
from vendorwatch.store import Store


def counts(db: Path) -> dict[str, int]:
    with Store(db) as store:
        return store.counts()


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    done = run_cli("ingest", str(empty), db=tmp_path / "db.duckdb")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {empty}: empty file"


def test_random_bytes(tmp_path: Path) -> None:
    noise = tmp_path / "noise.bin"
    noise.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4000)))
    done = run_cli("ingest", str(noise), db=tmp_path / "db.duckdb")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {noise}: not a known kind of input "
        "(expected one of: capture, zeek, ipfix, nfdump, suricata-eve, joy, asset-register, "
        "access-register, inspections)"
    )
    assert "Traceback" not in done.stderr


def test_missing_file(tmp_path: Path) -> None:
    done = run_cli("ingest", str(tmp_path / "nope.pcap"), db=tmp_path / "db.duckdb")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path / 'nope.pcap'}: no such file or directory"


def _record_offsets(data: bytes) -> list[int]:
    offsets, off = [], 24
    while off < len(data):
        offsets.append(off)
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    return offsets


def test_truncated_capture_is_ingested_up_to_its_last_complete_record(
    tmp_path: Path, small_capture: Path
) -> None:
    data = small_capture.read_bytes()
    last = _record_offsets(data)[-1]
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[: last + 30])  # the third record loses its tail
    db = tmp_path / "db.duckdb"
    done = run_cli("ingest", str(cut), db=db)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0] == (
        f"warning: {cut} at byte {last}: truncated capture: ingested 2 complete records"
    )
    with Store(db) as store:
        row = store.con.execute("SELECT records, warning FROM sources").fetchone()
        agents = store.con.execute(
            "SELECT count(*) FROM evidence WHERE signal = 'http.user_agent'").fetchone()
    assert row is not None and row[0] == 2 and "truncated" in row[1]
    assert agents is not None and agents[0] == 1


def test_corrupt_record_header_keeps_nothing_of_that_file(
    tmp_path: Path, small_capture: Path
) -> None:
    data = bytearray(small_capture.read_bytes())
    second = _record_offsets(bytes(data))[1]
    struct.pack_into("<I", data, second + 8, 0x7FFFFFFF)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(bytes(data))
    db = tmp_path / "db.duckdb"
    before = counts(db)
    done = run_cli("ingest", str(bad), db=db)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: {bad} at byte {second}: corrupt record header: "
        "captured length 2147483647 exceeds 262144"
    )
    assert counts(db) == before


def test_other_files_in_the_same_command_are_still_ingested(
    tmp_path: Path, small_capture: Path
) -> None:
    empty = tmp_path / "empty.pcapng"
    empty.write_bytes(b"")
    db = tmp_path / "db.duckdb"
    done = run_cli("ingest", str(empty), str(small_capture), db=db)
    assert done.returncode == 2
    assert f"error: {empty}: empty file" in done.stderr.splitlines()
    with Store(db) as store:
        sources = store.con.execute("SELECT path FROM sources").fetchall()
    assert sources == [(str(small_capture.resolve()),)]


def test_hostile_file_name_is_shown_inert(tmp_path: Path) -> None:
    hostile = tmp_path / "x\x1b[31m[bold]red.pcap"
    hostile.write_bytes(b"")
    done = run_cli("ingest", str(hostile), db=tmp_path / "db.duckdb")
    assert done.returncode == 2
    assert "\x1b" not in done.stderr
    assert "\\x1b[31m[bold]red.pcap: empty file" in done.stderr
