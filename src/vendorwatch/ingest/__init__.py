"""Source readers: one module per input format, all writing the same evidence and flow tables."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from vendorwatch.errors import InputError, InputWarning
from vendorwatch.files import file_sha256, read_head
from vendorwatch.ingest.access_register import AccessRegisterReader
from vendorwatch.ingest.asset_register import AssetRegisterReader
from vendorwatch.ingest.capture import CaptureReader
from vendorwatch.ingest.inspections import InspectionsReader
from vendorwatch.ingest.interface import Progress, SourceReader, no_progress
from vendorwatch.ingest.ipfix import IpfixReader
from vendorwatch.ingest.joy import JoyReader
from vendorwatch.ingest.nfdump import NfdumpReader
from vendorwatch.ingest.suricata_eve import SuricataEveReader
from vendorwatch.ingest.tabular import RegisterReader, using_column_map
from vendorwatch.ingest.zeek import ZeekReader
from vendorwatch.store import Store

# Tried in order; each sniffs on content distinctive to its format (binary magic or
# version words first, then Zeek's headers and keys, then the flow exporters' keys), so
# none takes another's files.
READERS: list[SourceReader] = [
    CaptureReader(), ZeekReader(), IpfixReader(), NfdumpReader(), SuricataEveReader(),
    JoyReader(), AssetRegisterReader(), AccessRegisterReader(), InspectionsReader(),
]

HEAD_BYTES = 4096


def detect_reader(path: Path) -> SourceReader:
    """The reader for `path`, from its content. Raises InputError for unknown or empty input."""
    if not path.exists():
        raise InputError(path, "no such file or directory")
    head = read_head(path, HEAD_BYTES) if path.is_file() else b""
    for reader in READERS:
        if reader.sniff(path, head):
            return reader
    kinds = ", ".join(r.kind for r in READERS)
    raise InputError(path, f"not a known kind of input (expected one of: {kinds})")


def content_sha256(path: Path, files: dict[Path, str]) -> str:
    """sha256 of a file's bytes; for a directory, of the relative names and hashes of the
    files its reader reads (`files`: path -> sha256), so a README dropped beside Zeek logs
    changes nothing."""
    if path.is_file():
        return files.get(path) or file_sha256(path)
    digest = hashlib.sha256()
    for child in sorted(files):
        digest.update(str(child.relative_to(path)).encode())
        digest.update(b"\0")
        digest.update(files[child].encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass
class IngestResult:
    """What happened to one input."""

    path: str
    kind: str | None = None
    status: str = "ingested"  # ingested | unchanged | failed
    evidence_rows: int = 0
    flow_rows: int = 0
    records: int = 0
    bytes: int = 0
    warnings: list[InputWarning] = field(default_factory=list)
    error: InputError | None = None


def ingest_path(
    store: Store, path: Path, site: str = "", progress: Progress = no_progress,
    columns: Mapping[str, str] | None = None,
) -> IngestResult:
    """Ingest one input as one transaction. Re-ingesting identical content changes nothing.
    `columns` maps a register's own headers to canonical names (`--columns`)."""
    result = IngestResult(path=str(path))
    try:
        with using_column_map(columns) if columns else nullcontext():
            return _ingest(store, path, site, progress, dict(columns or {}), result)
    except InputError as exc:
        result.status = "failed"
        result.error = exc
    except Exception as exc:  # a reader's bug on odd input: this input fails, the rest go on
        result.status = "failed"
        detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        result.error = InputError(path, f"could not be read ({type(exc).__name__}: {detail})")
    return result


def _ingest(
    store: Store, path: Path, site: str, progress: Progress, columns: dict[str, str],
    result: IngestResult,
) -> IngestResult:
    reader = detect_reader(path)
    result.kind = reader.kind
    files = {f: file_sha256(f) for f in reader.files(path)}
    sha = content_sha256(path, files)
    # a register's rows live in its own table (forgotten with it when read again)
    tables: tuple[str, ...] = (reader.table,) if isinstance(reader, RegisterReader) else ()
    registers = bool(tables)
    if registers:
        # a register is read through its column map: the same file under another map is
        # other content; and a register is the site's current truth, read whenever it is
        # given anew (it replaces the earlier one, see current_register_assets)
        sha = hashlib.sha256(f"{sha}\n{sorted(columns.items())}\n{site}".encode()).hexdigest()
        already: set[str] = set()
    else:
        already = store.files_already_read(set(files.values()))
    earlier = store.source_by_sha256(sha)
    again = registers and earlier is not None and store.superseded(earlier)
    if (earlier is not None and not again) or (files and already >= set(files.values())):
        result.status = "unchanged"
        return result
    with store.ingesting(str(path.resolve()), sha, reader.kind, site,
                         replaces=earlier if again else None, tables=tables) as batch:
        batch.column_map = columns
        batch.skip_files = {f for f, digest in files.items() if digest in already}
        result.warnings = reader.read(path, batch, progress)
        batch.files_read = {str(f.resolve()): digest for f, digest in files.items()
                            if f not in batch.skip_files}
        if registers and not site:
            result.warnings += _siteless_rows(store, path, batch.source_id, tables[0])
        if result.warnings:
            batch.warning = "; ".join(w.line() for w in result.warnings)
        batch.flush()
        result.evidence_rows = batch.evidence_rows
        result.flow_rows = batch.flow_rows
        result.records = batch.records_read
        result.bytes = batch.bytes_read
    return result


def _siteless_rows(store: Store, path: Path, source_id: int, table: str) -> list[InputWarning]:
    """A register whose rows name no site, ingested without --site, while the store holds
    sites: its rows will match none of their devices (a forgotten --site)."""
    row = store.con.execute(f"SELECT count(*) FROM {table} WHERE source_id = ? AND site = ''",
                            [source_id]).fetchone()
    sites = [r[0] for r in store.con.execute(
        "SELECT DISTINCT site FROM sources WHERE site <> '' ORDER BY site").fetchall()]
    if not row or not row[0] or not sites:
        return []
    return [InputWarning(path, f"{row[0]} row(s) name no site and no --site was given, while "
                               f"the store holds site(s) {', '.join(sites[:3])}: they will "
                               "match none of those devices (give --site)")]
