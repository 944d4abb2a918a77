"""Opening the store, applying migrations, and ingesting one source as one transaction."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from vendorwatch.store.batch import IngestBatch

ENV_DB = "VENDORWATCH_DB"
DEFAULT_DB = "vendorwatch.duckdb"


def default_db_path(explicit: str | None = None) -> Path:
    """`--db`, else `$VENDORWATCH_DB`, else ./vendorwatch.duckdb."""
    return Path(explicit or os.environ.get(ENV_DB) or DEFAULT_DB)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("vendorwatch.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


@dataclass(frozen=True)
class SourceRecord:
    id: int
    path: str
    sha256: str
    kind: str
    site: str


class Store:
    """A DuckDB database holding sources, evidence, flows, assets and findings."""

    def __init__(self, path: Path | str, read_only: bool = False) -> None:
        self.path = Path(path)
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            from vendorwatch.errors import InputError

            raise InputError(self.path, f"cannot open store: {_first_line(exc)}") from None
        if not read_only:
            self.migrate()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        has = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        ).fetchone()
        if not has or not has[0]:
            return 0
        row = self.con.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def migrate(self) -> None:
        """Apply every migration newer than the store's version, each in its own transaction."""
        current = self.schema_version
        for version, sql in _migrations():
            if version <= current:
                continue
            self.con.execute("BEGIN TRANSACTION")
            try:
                if version == 1:
                    self.con.execute(
                        "CREATE TABLE schema_version (version INTEGER NOT NULL, "
                        "applied_at TIMESTAMP NOT NULL)"
                    )
                self.con.execute(sql)
                self.con.execute(
                    "INSERT INTO schema_version VALUES (?, ?)", [version, _now()]
                )
                self.con.execute("COMMIT")
            except Exception:
                self.con.execute("ROLLBACK")
                raise

    def files_already_read(self, digests: set[str]) -> set[str]:
        """Which of these file hashes some earlier source has read."""
        if not digests:
            return set()
        marks = ", ".join("?" for _ in digests)
        rows = self.con.execute(
            f"SELECT DISTINCT sha256 FROM source_files WHERE sha256 IN ({marks})",
            sorted(digests),
        ).fetchall()
        return {row[0] for row in rows}

    def source_by_sha256(self, sha256: str) -> SourceRecord | None:
        row = self.con.execute(
            "SELECT id, path, sha256, kind, site FROM sources WHERE sha256 = ?", [sha256]
        ).fetchone()
        return SourceRecord(*row) if row else None

    def superseded(self, source: SourceRecord) -> bool:
        """True when a later source of the same kind was ingested (a register given again
        after a newer one must become the register in force again)."""
        row = self.con.execute("SELECT count(*) FROM sources WHERE kind = ? AND id > ?",
                               [source.kind, source.id]).fetchone()
        return bool(row and row[0])

    @contextmanager
    def ingesting(
        self, path: str, sha256: str, kind: str, site: str,
        replaces: SourceRecord | None = None, tables: tuple[str, ...] = (),
    ) -> Iterator[IngestBatch]:
        """One source, one transaction: on any error nothing of this source remains.
        `replaces` is an earlier source of the same content, forgotten in the same
        transaction (its rows in `tables` with it) so the content is read anew."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            if replaces is not None:
                for table in tables:
                    self.con.execute(f"DELETE FROM {table} WHERE source_id = ?", [replaces.id])
                self.con.execute("DELETE FROM source_files WHERE source_id = ?", [replaces.id])
                self.con.execute("DELETE FROM sources WHERE id = ?", [replaces.id])
            row = self.con.execute(
                "INSERT INTO sources (path, sha256, kind, site, ingested_at) "
                "VALUES (?, ?, ?, ?, ?) RETURNING id",
                [path, sha256, kind, site, _now()],
            ).fetchone()
            assert row is not None
            batch = IngestBatch(self.con, int(row[0]), site)
            yield batch
            batch.flush()
            self.con.execute(
                "UPDATE sources SET bytes = ?, records = ?, warning = ? WHERE id = ?",
                [batch.bytes_read, batch.records_read, batch.warning, batch.source_id],
            )
            if batch.files_read:
                self.con.executemany(
                    "INSERT INTO source_files VALUES (?, ?, ?)",
                    [[batch.source_id, p, digest] for p, digest in batch.files_read.items()],
                )
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def replace_tables(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        """Replace the rows of derived tables (assets, findings…) in one transaction."""
        self.con.execute("BEGIN TRANSACTION")
        try:
            for table, rows in tables.items():
                self.con.execute(f"DELETE FROM {table}")
                if not rows:
                    continue
                frame = pd.DataFrame(rows)
                self.con.register("_vw_rows", frame)
                columns = ", ".join(frame.columns)
                self.con.execute(
                    f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _vw_rows"
                )
                self.con.unregister("_vw_rows")
            self.con.execute("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def setting(self, key: str, default: str) -> str:
        row = self.con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return str(row[0]) if row else default

    def set_setting(self, key: str, value: str) -> None:
        self.con.execute("BEGIN TRANSACTION")
        self.con.execute("DELETE FROM settings WHERE key = ?", [key])
        self.con.execute("INSERT INTO settings VALUES (?, ?)", [key, value])
        self.con.execute("COMMIT")

    def mark_refreshed(self) -> None:
        """Record that assets and findings now reflect every stored source."""
        self.con.execute(
            "INSERT INTO refreshes SELECT ?, count(*) FROM sources", [_now()]
        )

    def is_stale(self) -> bool:
        """True when sources were added (or a refresh was cut off) since the last refresh."""
        row = self.con.execute(
            """SELECT (SELECT count(*) FROM sources),
                      (SELECT sources FROM refreshes ORDER BY refreshed_at DESC LIMIT 1)"""
        ).fetchone()
        assert row is not None
        return bool(row[0]) and row[0] != row[1]

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Rows of a query as dicts (column name → value)."""
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        out = {}
        for table in ("sources", "evidence", "flows", "assets", "findings"):
            row = self.con.execute(f"SELECT count(*) FROM {table}").fetchone()
            out[table] = int(row[0]) if row else 0
        return out


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
