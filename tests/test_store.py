"""The store: versioned schema, one transaction per source, identical content ingested once."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store, default_db_path


def test_fresh_store_is_migrated_to_the_latest_version(tmp_path: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        assert store.schema_version >= 1
        tables = {r[0] for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"sources", "evidence", "flows", "assets", "asset_evidence", "findings",
            "schema_version"} <= tables


def test_reopening_does_not_reapply_migrations(tmp_path: Path) -> None:
    Store(tmp_path / "db.duckdb").close()
    with Store(tmp_path / "db.duckdb") as store:
        rows = store.con.execute("SELECT count(*) FROM schema_version").fetchone()
        assert rows is not None and rows[0] == store.schema_version


def test_db_path_flag_then_environment_then_default(monkeypatch) -> None:
    monkeypatch.delenv("VENDORWATCH_DB", raising=False)
    assert default_db_path() == Path("vendorwatch.duckdb")
    monkeypatch.setenv("VENDORWATCH_DB", "/tmp/env.duckdb")
    assert default_db_path() == Path("/tmp/env.duckdb")
    assert default_db_path("/tmp/flag.duckdb") == Path("/tmp/flag.duckdb")


def test_reingesting_identical_content_changes_nothing(tmp_path: Path, small_capture: Path) -> None:
    with Store(tmp_path / "db.duckdb") as store:
        first = ingest_path(store, small_capture)
        counts = store.counts()
        copy = tmp_path / "renamed-copy.bin"
        copy.write_bytes(small_capture.read_bytes())
        second = ingest_path(store, copy)
        assert first.status == "ingested" and second.status == "unchanged"
        assert store.counts() == counts


def test_failure_inside_a_source_leaves_nothing_of_it(tmp_path: Path, small_capture: Path,
                                                       monkeypatch) -> None:
    from vendorwatch.ingest.capture import CaptureReader

    with Store(tmp_path / "db.duckdb") as store:
        before = store.counts()

        def explode(self, path, batch, progress):  # type: ignore[no-untyped-def]
            batch.evidence(1.0, "10.0.0.1", None, "mac", "00:00:00:00:00:01", str(path))
            batch.flush()
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(CaptureReader, "read", explode)
        with contextlib.suppress(RuntimeError):
            ingest_path(store, small_capture)
        assert store.counts() == before


KILL_SCRIPT = """
import os, sys
from pathlib import Path
from vendorwatch.store import Store
store = Store(sys.argv[1])
with store.ingesting("x.pcap", "f" * 64, "capture", "") as batch:
    for i in range(50_000):
        batch.evidence(1.0, f"10.0.{i // 250}.{i % 250}", None, "mac", "00:00:00:00:00:01", "x")
    batch.flush()
    os._exit(9)  # killed mid-transaction: no commit, no rollback
"""


def test_a_kill_mid_ingest_leaves_the_store_as_before(tmp_path: Path, small_capture: Path) -> None:
    db = tmp_path / "db.duckdb"
    with Store(db) as store:
        ingest_path(store, small_capture)
        before = store.counts()
    done = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(db)], check=False)
    assert done.returncode == 9
    with Store(db) as store:
        assert store.counts() == before
        assert store.source_by_sha256("f" * 64) is None
