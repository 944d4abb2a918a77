"""Importers for published lists: one module per format behind `interface.py`, and
`import_file`, which stores one file as one transaction.

* `ftm.py`  FollowTheMoney / OpenSanctions ``entities.ftm.json`` (incl. ``us_fcc_covered_list``)
* `csl.py`  US Consolidated Screening List CSV (trade.gov)
* `fcc.py`  the FCC Covered List in a small documented CSV form typed from the FCC page

Rules: the kind is detected from content; identical bytes (sha256) are imported once; a new
file of a dataset already loaded replaces that dataset's rows (unless it says it is older than
the loaded one); a malformed record stores nothing of its file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from vendorwatch.errors import InputError
from vendorwatch.files import file_sha256, read_head
from vendorwatch.intel.imported import normalise
from vendorwatch.intel.importers.csl import CslImporter
from vendorwatch.intel.importers.fcc import FccCsvImporter
from vendorwatch.intel.importers.ftm import FtmImporter
from vendorwatch.intel.importers.interface import (
    DatasetInfo,
    ImportedEntity,
    ImportedOwnership,
    ListImporter,
)
from vendorwatch.store import Store

IMPORTERS: list[ListImporter] = [FtmImporter(), CslImporter(), FccCsvImporter()]

HEAD_BYTES = 8192
BATCH = 5000

__all__ = [
    "IMPORTERS",
    "DatasetInfo",
    "ImportResult",
    "ListImporter",
    "detect_importer",
    "import_file",
    "list_imports",
]


def detect_importer(path: Path) -> ListImporter:
    """The importer for `path`, from its content. InputError for unknown or empty input."""
    if not path.exists():
        raise InputError(path, "no such file or directory")
    if not path.is_file():
        raise InputError(path, "not a file")
    head = read_head(path, HEAD_BYTES)
    for importer in IMPORTERS:
        if importer.sniff(path, head):
            return importer
    kinds = ", ".join(i.format for i in IMPORTERS)
    raise InputError(path, f"not a known kind of list (expected one of: {kinds})")


@dataclass
class ImportResult:
    """What happened to one file. status: imported | unchanged | older | failed."""

    path: str
    status: str = "imported"
    format: str | None = None
    dataset: str | None = None
    published: str | None = None
    import_id: int | None = None
    rows: int = 0
    ownership_rows: int = 0
    skipped: int = 0
    replaced: dict[str, Any] | None = None  # the import this one replaced (or, if older, kept)
    error: InputError | None = None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def import_file(store: Store, path: Path, dataset: str | None = None) -> ImportResult:
    """Import one list file as one transaction (see the module docstring for the rules)."""
    result = ImportResult(path=str(path))
    try:
        importer = detect_importer(path)
        result.format = importer.format
        sha = file_sha256(path)
        seen = store.query("SELECT id, dataset FROM intel_imports WHERE sha256 = ?", [sha])
        if seen:
            result.status, result.dataset = "unchanged", seen[0]["dataset"]
            result.import_id = seen[0]["id"]
            return result
        info = importer.detect(path)
        result.dataset = dataset or info.name
        result.published = info.published
        current = _current(store, result.dataset)
        if current and info.published and current["published"] and (
            info.published < current["published"]
        ):
            result.status, result.replaced = "older", current
            return result
        _store(store, importer, path, sha, result, current)
    except InputError as exc:
        result.status = "failed"
        result.error = exc
    return result


def _current(store: Store, dataset: str) -> dict[str, Any] | None:
    rows = store.query(
        "SELECT id, path, published, imported_at, rows FROM intel_imports "
        "WHERE dataset = ? AND superseded_by IS NULL ORDER BY id DESC LIMIT 1",
        [dataset],
    )
    return rows[0] if rows else None


def _store(
    store: Store,
    importer: ListImporter,
    path: Path,
    sha: str,
    result: ImportResult,
    current: dict[str, Any] | None,
) -> None:
    assert result.dataset is not None
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        import_id = int(con.execute("SELECT nextval('intel_import_id_seq')").fetchall()[0][0])
        writer = _Writer(store, import_id, result.dataset)
        for record in importer.read(path):
            writer.add(record)
        writer.flush()
        if current is not None:
            for table in ("intel_entities", "intel_names", "intel_ownership"):
                con.execute(f"DELETE FROM {table} WHERE import_id = ?", [current["id"]])
            con.execute("UPDATE intel_imports SET superseded_by = ? WHERE id = ?",
                        [import_id, current["id"]])
        con.execute(
            "INSERT INTO intel_imports (id, dataset, format, path, sha256, published, "
            "imported_at, rows, ownership_rows, skipped, replaced) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [import_id, result.dataset, importer.format, str(path.resolve()), sha,
             result.published, _now(), writer.entities, writer.edges, importer.skipped(),
             current["id"] if current else None],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    result.import_id = import_id
    result.rows, result.ownership_rows = writer.entities, writer.edges
    result.skipped = importer.skipped()
    result.replaced = current


class _Writer:
    """Buffers records and appends them to the intel_* tables in batches."""

    def __init__(self, store: Store, import_id: int, dataset: str) -> None:
        self.store = store
        self.import_id = import_id
        self.dataset = dataset
        self.entities = 0
        self.edges = 0
        self._rows: dict[str, list[dict[str, Any]]] = {
            "intel_entities": [], "intel_names": [], "intel_ownership": []}

    def add(self, record: ImportedEntity | ImportedOwnership) -> None:
        if isinstance(record, ImportedOwnership):
            self.edges += 1
            self._rows["intel_ownership"].append({
                "import_id": self.import_id, "edge_id": record.edge_id,
                "owner_id": record.owner_id, "asset_id": record.asset_id,
                "percentage": record.percentage, "share": record.share,
                "since": record.since, "until": record.until,
                "source_url": web_url(record.source_url), "line": record.line,
                "properties": _json(record.properties),
            })
        else:
            self.entities += 1
            self._rows["intel_entities"].append({
                "import_id": self.import_id, "entity_id": record.entity_id,
                "schema": record.schema, "target": record.target, "name": record.name,
                "names": _json([{"name": n, "kind": k} for n, k in record.names]),
                "country": "; ".join(record.countries) or None,
                "list": record.list or self.dataset, "list_name": record.list_name,
                "program": record.program, "topics": _json(list(record.topics)),
                "since": record.since, "until": record.until,
                "source_url": web_url(record.source_url),
                "datasets": _json(list(record.datasets or (self.dataset,))),
                "first_seen": record.first_seen, "last_seen": record.last_seen,
                "line": record.line, "properties": _json(record.properties),
                "sanctions": _json(list(record.sanctions)),
            })
            self._rows["intel_names"].extend(
                {"import_id": self.import_id, "entity_id": record.entity_id,
                 "name": name, "kind": kind, "norm": norm}
                for name, kind in record.names if (norm := normalise(name))
            )
        if sum(len(rows) for rows in self._rows.values()) >= BATCH:
            self.flush()

    def flush(self) -> None:
        for table, rows in self._rows.items():
            if rows:
                _append(self.store, table, rows)
                rows.clear()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _append(store: Store, table: str, rows: Iterable[dict[str, Any]]) -> None:
    frame = pd.DataFrame(list(rows))
    store.con.register("_vw_intel_rows", frame)
    try:
        columns = ", ".join(frame.columns)
        store.con.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _vw_intel_rows")
    finally:
        store.con.unregister("_vw_intel_rows")


def list_imports(store: Store, include_replaced: bool = False) -> list[dict[str, Any]]:
    """The imported datasets (current imports, newest first), with what each replaced."""
    where = "" if include_replaced else "WHERE i.superseded_by IS NULL"
    return store.query(
        f"""
        SELECT i.dataset, i.format, i.path AS file, i.published, i.imported_at, i.rows,
               i.ownership_rows, i.skipped, i.id AS import_id, i.sha256,
               i.superseded_by, r.id AS replaced_id, r.path AS replaced_file,
               r.published AS replaced_published, r.imported_at AS replaced_imported_at
        FROM intel_imports i LEFT JOIN intel_imports r ON r.id = i.replaced
        {where}
        ORDER BY i.dataset, i.id DESC
        """
    )


def web_url(value: str | None) -> str | None:
    """A published list's source link, kept only when it is a web address: a
    `javascript:` or `file:` value in a list file is not a source."""
    if value and value.strip().lower().startswith(("https://", "http://")):
        return value.strip()
    return None
