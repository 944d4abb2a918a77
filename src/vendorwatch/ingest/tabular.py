"""The operator's own registers as tables: CSV (comma, semicolon or tab; UTF-8 with or
without BOM, UTF-16 with BOM, else Windows-1252) and XLSX (read with openpyxl in read-only
mode; formulas are never evaluated), read into ``(line, {canonical column: text})`` rows.

Headers are normalised (case, surrounding space; spaces and dashes become underscores)
and then named by the user's column map (``vendorwatch ingest --columns map.yaml``, YAML
``{their header: canonical name}``), else by a canonical name or a few common English
aliases; other columns are ignored. The header is the first of the first
`HEADER_SEARCH_ROWS` non-empty rows that looks like the register (so a title row above it
is fine); line numbers are the file's (CSV: the line a record starts on; XLSX: the row).

Which register a table is comes from its header alone (`header_kind`): each kind scores
the columns it knows, and a kind qualifies with all its required columns or with at least
`SNIFF_MIN_COLUMNS` of its own (so that a register missing a required column is still
recognised and refused by name). Cell text is kept as written (stripped): ``=cmd|...``,
``<script>`` and the like are data, not instructions.

The column map reaches content sniffing through `using_column_map` (sniffing happens
before an ingest batch exists); readers also take `IngestBatch.column_map`."""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar

import yaml

from vendorwatch.errors import InputError, InputWarning
from vendorwatch.files import read_text
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.store.batch import IngestBatch

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a password-protected workbook, or .xls
HEADER_SEARCH_ROWS = 10
SNIFF_MIN_COLUMNS = 3
MAX_COLUMNS = 256  # cells beyond this in an XLSX row are not read
MAX_SHEETS = 32  # sheets looked at for a register's header
MAX_BYTES = 256 * 1024 * 1024  # a register bigger than this is refused, not read into memory
MAX_ROW_WARNINGS = 100  # per file; the rest are counted in one last warning
MAX_SHOWN = 60  # characters of a bad value repeated in a warning
PROGRESS_ROWS = 1000

ASSET_REGISTER, ACCESS_REGISTER, INSPECTIONS = "asset-register", "access-register", "inspections"

# Each register's canonical columns (besides `site`, which every register may carry).
REGISTER_COLUMNS: dict[str, tuple[str, ...]] = {
    ASSET_REGISTER: (
        "asset_id", "ip", "mac", "hostname", "manufacturer", "brand", "model", "serial",
        "firmware", "zone", "room", "function", "criticality", "comms_modules", "owner",
        "capacity",
    ),
    ACCESS_REGISTER: (
        "person", "employer", "role", "screening", "screening_expires", "access", "scope",
        "via", "mfa", "valid_until",
    ),
    INSPECTIONS: ("asset", "date", "inspector", "finding", "imei", "iccid", "photo"),
}
SHARED_COLUMNS = ("site",)
KNOWN_COLUMNS = frozenset(
    c for columns in REGISTER_COLUMNS.values() for c in columns) | set(SHARED_COLUMNS)

# Per kind: columns that must all be present, and groups of which one must be.
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    ASSET_REGISTER: (("asset_id",), ("ip", "mac", "hostname")),
    ACCESS_REGISTER: (("person",), ("screening",), ("access",), ("scope",)),
    INSPECTIONS: (("asset",), ("finding",)),
}
# A column another kind calls by its own name (an inspection's asset is an asset id).
KIND_ALIASES: dict[str, dict[str, str]] = {INSPECTIONS: {"asset_id": "asset"}}

# Common spellings in exported inventories, after normalisation.
ALIASES: dict[str, str] = {
    "ip_address": "ip", "ipaddress": "ip", "ipv4": "ip", "ip_addr": "ip",
    "mac_address": "mac", "macaddress": "mac", "mac_addr": "mac",
    "host_name": "hostname", "host": "hostname",
    "serial_number": "serial", "serial_no": "serial",
    "firmware_version": "firmware",
    "comms": "comms_modules", "communication_modules": "comms_modules",
    "asset_tag": "asset_id",
}

_active_map: ContextVar[Mapping[str, str] | None] = ContextVar("vendorwatch_column_map",
                                                                default=None)


@contextmanager
def using_column_map(mapping: Mapping[str, str]) -> Iterator[None]:
    """Within the block, sniffing and reading tables apply `mapping` (from
    `load_column_map`) — for ``vendorwatch ingest --columns``."""
    token = _active_map.set(dict(mapping))
    try:
        yield
    finally:
        _active_map.reset(token)


def active_column_map(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The column map in use (`using_column_map`), with `extra` (a batch's) on top."""
    return {**(_active_map.get() or {}), **(extra or {})}


def normalise_header(name: object) -> str:
    """``' IP-adres '`` → ``'ip_adres'``: lower case, spaces and dashes to underscores."""
    text = str(name if name is not None else "").replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text).strip("_")


def load_column_map(path: Path) -> dict[str, str]:
    """A column map file: YAML ``{their header: canonical name}``. Keys are compared with
    headers after normalisation; an unknown canonical name, a value that is not text, or
    two spellings of one header mapped differently is a one-line InputError naming the key
    and its line."""
    text = read_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(path, "not valid YAML",
                         f"line {mark.line + 1}" if mark is not None else None) from None
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise InputError(path, "expected a mapping of {your header: canonical column}",
                         f"line {node.start_mark.line + 1}")
    known = ", ".join(sorted(KNOWN_COLUMNS))
    mapping: dict[str, str] = {}
    for key_node, value_node in node.value:
        where = f"line {key_node.start_mark.line + 1}"
        if not isinstance(key_node, yaml.ScalarNode) or not key_node.value.strip():
            raise InputError(path, "each key must be a header name", where)
        key = key_node.value
        if not isinstance(value_node, yaml.ScalarNode) or value_node.tag.endswith(":null"):
            raise InputError(path, f"{key!r}: expected a canonical column name", where)
        value = normalise_header(value_node.value)
        if value not in KNOWN_COLUMNS:
            raise InputError(
                path, f"{key!r}: unknown column {value_node.value!r} (known: {known})", where)
        header = normalise_header(key)
        if mapping.get(header, value) != value:
            raise InputError(path, f"{key!r}: mapped twice, to {mapping[header]!r} and "
                                   f"{value!r}", where)
        mapping[header] = value
    return mapping


def canonical_names(headers: Iterable[object], column_map: Mapping[str, str],
                    kind: str | None = None) -> list[str | None]:
    """The canonical column each header stands for (None: not one this tool reads)."""
    user = {normalise_header(k): v for k, v in column_map.items()}
    out: list[str | None] = []
    for header in headers:
        name = normalise_header(header)
        canonical = user.get(name) or (name if name in KNOWN_COLUMNS else ALIASES.get(name))
        if kind is not None and canonical is not None:
            canonical = KIND_ALIASES.get(kind, {}).get(canonical, canonical)
        out.append(canonical)
    return out


def _score(kind: str, names: set[str]) -> tuple[bool, int]:
    aliases = KIND_ALIASES.get(kind, {})
    own = {aliases.get(n, n) for n in names} & set(REGISTER_COLUMNS[kind])
    complete = all(any(c in own for c in group) for group in REQUIRED[kind])
    return complete, len(own)


def header_kind(headers: Iterable[object], column_map: Mapping[str, str]) -> str | None:
    """The register a header row belongs to, or None. Kinds qualify with all their
    required columns or with `SNIFF_MIN_COLUMNS` of their own; the most complete and best
    matched qualifying kind wins (ties: asset register, access register, inspections)."""
    names = {n for n in canonical_names(headers, column_map) if n}
    best: tuple[bool, int] | None = None
    chosen = None
    for kind in REGISTER_COLUMNS:
        complete, score = _score(kind, names)
        if not complete and score < SNIFF_MIN_COLUMNS:
            continue
        if best is None or (complete, score) > best:
            best, chosen = (complete, score), kind
    return chosen


def missing_columns(kind: str, names: Iterable[str | None]) -> list[str]:
    """Required columns (or 'a or b' groups) a header lacks."""
    present = {n for n in names if n}
    return [" or ".join(group) for group in REQUIRED[kind]
            if not any(c in present for c in group)]


# --- cell text ---------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """An XLSX cell's value as text: formulas as written, whole floats without '.0',
    midnight datetimes as dates, booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, str):
        return value.strip()
    text = getattr(value, "text", None)  # openpyxl ArrayFormula and friends
    return (text if isinstance(text, str) else str(value)).strip()


def shown(value: str) -> str:
    """A bad value quoted for a warning, cut to `MAX_SHOWN` characters."""
    return repr(value if len(value) <= MAX_SHOWN else value[:MAX_SHOWN] + "…")


# --- decoding CSV --------------------------------------------------------------------------


def decode(data: bytes, partial: bool = False) -> str | None:
    """Text of a CSV file: UTF-16 with BOM, UTF-8 (BOM or not), else Windows-1252; None
    for binary content (NUL bytes outside UTF-16 beyond a few and 1%; NUL padding at the end is
    dropped, and a row with a stray NUL is skipped by the reader). `partial` allows a cut
    final character (a head of the file)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace" if partial else "strict")
        return text.lstrip("\ufeff")
    data = data.rstrip(b"\0")  # NUL padding after the text (a damaged or pre-sized file)
    if data.count(b"\0") > len(data) // 100 + 8:
        return None  # binary; a stray NUL is left for its row to be skipped
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            text = data[: exc.start].decode("utf-8-sig")
        else:
            text = data.decode("cp1252", errors="replace")
    return text


_SEP_LINE = re.compile(r"^sep=(.)$")


def _sep_line(cells: list[str], delimiter: str) -> bool:
    return bool(_SEP_LINE.match(delimiter.join(cells).strip()))


def delimiter_of(lines: list[str], column_map: Mapping[str, str]) -> str:
    """',', ';' or tab: Excel's ``sep=`` line when the text starts with one; else the one
    that makes one of the first rows a register's header; else whichever splits the first
    non-empty line into the most fields."""
    lines = [line for line in lines if line.strip()][:HEADER_SEARCH_ROWS]
    if not lines:
        return ","
    if match := _SEP_LINE.match(lines[0].strip()):
        return match.group(1)
    for delimiter in (",", ";", "\t"):
        if any(header_kind(row, column_map) for row in csv.reader(lines, delimiter=delimiter)):
            return delimiter
    best, fields = ",", 0
    for delimiter in (",", ";", "\t"):
        width = len(next(csv.reader(lines[:1], delimiter=delimiter), []))
        if width > fields:
            best, fields = delimiter, width
    return best


# --- tables ------------------------------------------------------------------------------


@dataclass
class Row:
    line: int
    values: dict[str, str]
    error: str | None = None  # the row cannot be read as a row (e.g. too many fields)


@dataclass
class Table:
    """A register's header and rows, from a CSV file or an XLSX sheet."""

    path: Path
    kind: str
    header_line: int
    headers: list[str]  # as written
    names: list[str | None]  # canonical, per position
    rows: Iterator[Row]
    sheet: str | None = None
    warnings: list[InputWarning] = field(default_factory=list)

    def place(self, line: int) -> str:
        return f"sheet {self.sheet!r} row {line}" if self.sheet is not None else f"line {line}"


def _nonempty(rows: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
    return ((n, cells) for n, cells in rows if any(c.strip() for c in cells))


def _find_header(
    rows: Iterator[tuple[int, list[str]]], kind: str | None, column_map: Mapping[str, str]
) -> tuple[tuple[int, list[str]] | None, list[tuple[int, list[str]]]]:
    """The header row (the first of the first rows that looks like `kind`, else the first
    row) and the rows read past it that belong to the body."""
    looked: list[tuple[int, list[str]]] = []
    for line, cells in islice(_nonempty(rows), HEADER_SEARCH_ROWS):
        looked.append((line, cells))
        found = header_kind(cells, column_map)
        if found is not None and (kind is None or found == kind):
            return (line, cells), []  # rows above it are titles
    if not looked:
        return None, []
    return looked[0], looked[1:]


class _Lines:
    """A CSV text's physical lines, handed to csv.reader one at a time; `pos` (lines
    consumed so far) lets a reader restart on the line after a bad record."""

    def __init__(self, text: str) -> None:
        self.lines = io.StringIO(text, newline="").readlines()
        self.pos = 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _line_cells(line: str, delimiter: str) -> list[str]:
    """One physical line read as a record on its own."""
    try:
        cells = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        cells = line.split(delimiter)
    return [c.strip() for c in cells]


@dataclass
class _CsvRecords:
    """A CSV text's records with the line each starts on. A record the csv module cannot
    read (a field over its size limit), or one whose quoted cell runs over later lines that
    are rows of their own (a quote left open), is yielded as its first line's cells with
    its problem in `errors`; reading resumes on the next line, so the rows after it stay.
    `width` is the header's once known (before that, nothing counts as swallowed)."""

    text: str
    delimiter: str
    width: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        src = _Lines(self.text)
        reader = csv.reader(src, delimiter=self.delimiter)
        while True:
            start = src.pos
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                problem = f"not readable as CSV ({exc})"
            else:
                if start == 0 and _sep_line(cells, self.delimiter):
                    continue  # Excel's sep= line
                if not self._swallows(src.lines[start + 1 : src.pos]):
                    yield start + 1, [c.strip() for c in cells]
                    continue
                problem = (f"a quote opened on this line is not closed before line "
                           f"{src.pos} (the {src.pos - start - 1} rows below it would be "
                           f"one cell)")
            self.errors[start + 1] = problem
            cells = _line_cells(src.lines[start], self.delimiter)
            yield start + 1, [c[:MAX_SHOWN] for c in cells] if any(cells) else ["?"]
            src.pos = start + 1
            reader = csv.reader(src, delimiter=self.delimiter)

    def _swallows(self, continued: list[str]) -> bool:
        return self.width > 1 and any(
            len(_line_cells(line, self.delimiter)) >= self.width for line in continued)


def _other_delimiter(cells: list[str], delimiter: str, width: int) -> str | None:
    """The delimiter a short row seems written with instead of the file's (one of its
    cells split by it would fill the row), or None."""
    if not cells or len(cells) >= width:
        return None
    for other in (",", ";", "\t"):
        if other != delimiter and any(len(c.split(other)) > width - len(cells)
                                      for c in cells):
            return other
    return None


def _read_csv_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(path, f"too large for a register ({size} bytes)")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    text = decode(data)
    if text is None:
        raise InputError(path, "not a text (CSV) file")
    return text


def _csv_table(path: Path, kind: str, column_map: Mapping[str, str]) -> Table:
    text = _read_csv_text(path)
    delimiter = delimiter_of(text[:65_536].splitlines(), column_map)
    records = _CsvRecords(text, delimiter)
    stream = iter(records)
    header, pending = _find_header(stream, kind, column_map)
    if header is None:
        raise InputError(path, "no header row")
    line, headers = header
    names = canonical_names(headers, column_map, kind)
    width = records.width = len(headers)

    def rows() -> Iterator[Row]:
        for n, cells in _nonempty([*pending, *stream]):
            error = records.errors.get(n)
            extra = [c for c in cells[width:] if c]
            other = _other_delimiter(cells, delimiter, width)
            if error is not None:
                pass
            elif extra:
                error = f"{len(cells)} fields where the header has {width}"
            elif other is not None:
                error = (f"{len(cells)} field{'s' if len(cells) > 1 else ''} where the header "
                         f"has {width}: written with {other!r} where the file uses "
                         f"{delimiter!r}?")
            elif any("\0" in c for c in cells):
                error = "a NUL byte in the row (a damaged export?)"
            values = {name: cells[i] if i < len(cells) else ""
                      for i, name in enumerate(names) if name}
            yield Row(n, values, error)

    return Table(path, kind, line, headers, names, rows())


def _open_workbook(path: Path) -> Any:
    import openpyxl  # a heavy import, only for workbooks

    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise InputError(path, "too large for a register")
        # a file object, so openpyxl does not judge the file by its extension
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except InputError:
        raise
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # zipfile.BadZipFile, KeyError, XML errors, ...
        raise InputError(path, f"not a readable XLSX workbook ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    detail = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _sheet_rows(sheet: Any, width: int = MAX_COLUMNS) -> Iterator[tuple[int, list[str]]]:
    """A sheet's rows as text, `width` cells each (openpyxl pads every row to it)."""
    counter = 0
    for cells in sheet.iter_rows(max_col=max(1, min(width, MAX_COLUMNS))):
        counter += 1
        line = next((c.row for c in cells if getattr(c, "row", None)), counter)
        counter = line
        yield line, [cell_text(c.value) for c in cells]


_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*?\bref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


def _merged_below(sheet: Any) -> dict[int, list[tuple[int, int]]]:
    """Cells under the top of a merged range (a function or maker merged down over its
    rows), which read-only openpyxl leaves empty: {row: [(column index, top row)]}. Only a
    range's first column is filled: the merged block shows one value, that column's. Read
    from the sheet's XML, where the ranges follow the rows; {} when it cannot be."""
    from openpyxl.utils import column_index_from_string

    archive = getattr(getattr(sheet, "parent", None), "_archive", None)
    member = getattr(sheet, "_worksheet_path", None)
    if archive is None or not isinstance(member, str):
        return {}
    ranges: set[tuple[bytes, ...]] = set()
    with archive.open(member) as fh:
        tail = b""
        while chunk := fh.read(1 << 20):
            data = tail + chunk
            ranges.update(m.groups() for m in _MERGE.finditer(data))
            tail = data[-256:]
    out: dict[int, list[tuple[int, int]]] = {}
    for first_col, top, _last_col, bottom in ranges:
        col = column_index_from_string(first_col.decode()) - 1
        for row in range(int(top) + 1, min(int(bottom), int(top) + 1_048_576) + 1):
            out.setdefault(row, []).append((col, int(top)))
    return out


def _xlsx_table(path: Path, kind: str, column_map: Mapping[str, str]) -> Table:
    book = _open_workbook(path)
    try:
        # the first sheet whose header is this register's, else the first with a header
        chosen: tuple[Any, tuple[int, list[str]]] | None = None
        for sheet in book.worksheets[:MAX_SHEETS]:
            header, _ = _find_header(_sheet_rows(sheet), kind, column_map)
            if header is None:
                continue
            if header_kind(header[1], column_map) == kind:
                chosen = (sheet, header)
                break
            if chosen is None:
                chosen = (sheet, header)
        if chosen is None:
            raise InputError(path, "no sheet with a header row")
        sheet, (line, cells) = chosen
        # rows are read again from the top of the chosen sheet, past the header
        while cells and not cells[-1]:
            cells = cells[:-1]
        headers = cells
        names = canonical_names(headers, column_map, kind)
        fills = _merged_below(sheet)
        top_rows = {top for spans in fills.values() for _, top in spans}
        tops: dict[tuple[int, int], str] = {}
        rows: list[Row] = []
        for n, values in _nonempty(_sheet_rows(sheet, len(headers))):
            if n <= line:
                continue
            for col, top in fills.get(n, ()):
                if col < len(values) and not values[col]:
                    values[col] = tops.get((col, top), "")
            if n in top_rows:
                tops.update(((col, n), value) for col, value in enumerate(values))
            rows.append(Row(n, {name: values[i] if i < len(values) else ""
                                for i, name in enumerate(names) if name}))
    except InputError:
        raise
    except Exception as exc:  # a corrupt sheet part
        raise InputError(path, f"not a readable XLSX workbook ({_why(exc)})") from None
    finally:
        book.close()
    return Table(path, kind, line, headers, names, iter(rows), sheet=str(sheet.title))


def open_table(path: Path, kind: str, column_map: Mapping[str, str]) -> Table:
    """The register of `kind` in a CSV or XLSX file (told apart by content). Raises
    InputError for an unreadable file or a header missing a required column (nothing is
    kept)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(len(OLE_MAGIC))
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if magic == OLE_MAGIC:
        raise InputError(path, "a password-protected workbook or an Excel 97-2003 (.xls) "
                               "file: save it as .xlsx without a password, or as CSV")
    table = (_xlsx_table if magic[:4] == ZIP_MAGIC else _csv_table)(path, kind, column_map)
    missing = missing_columns(kind, table.names)
    if missing:
        raise InputError(path, f"missing required column{'s' if len(missing) > 1 else ''}: "
                               f"{', '.join(missing)}", table.place(table.header_line))
    seen: dict[str, str] = {}
    for header, name in zip(table.headers, table.names, strict=True):
        if name is None:
            continue
        if name in seen:
            raise InputError(path, f"columns {seen[name]!r} and {header!r} both give {name}",
                             table.place(table.header_line))
        seen[name] = header
    return table


# --- sniffing ------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _xlsx_kinds(path: str, _mtime: int, _size: int, column_map: tuple[tuple[str, str], ...]
                ) -> tuple[str | None, ...] | None:
    """The register kind of each sheet's header; None when the workbook cannot be read."""
    try:
        book = _open_workbook(Path(path))
    except InputError:
        return None
    try:
        kinds = []
        for sheet in book.worksheets[:MAX_SHEETS]:
            header, _ = _find_header(_sheet_rows(sheet), None, dict(column_map))
            kinds.append(header_kind(header[1], dict(column_map)) if header else None)
        return tuple(kinds)
    except Exception:
        return None
    finally:
        book.close()


def _head_kind(head: bytes, column_map: Mapping[str, str]) -> str | None:
    text = decode(head, partial=True)
    if text is None:
        return None
    lines = text.splitlines()
    if len(head) >= 4096 and len(lines) > 1:
        lines = lines[:-1]  # the last line of a head may be cut
    lines = lines[: HEADER_SEARCH_ROWS * 4]
    if not lines:
        return None
    delimiter = delimiter_of(lines, column_map)
    try:
        rows = [(n, cells) for n, cells in
                enumerate(csv.reader(lines, delimiter=delimiter), start=1)
                if not (n == 1 and _sep_line(cells, delimiter))]
    except csv.Error:
        return None
    for _, cells in islice(_nonempty(rows), HEADER_SEARCH_ROWS):
        found = header_kind(cells, column_map)
        if found is not None:
            return found
    return None


def sniff_kind(path: Path, head: bytes, column_map: Mapping[str, str] | None = None
               ) -> str | None:
    """The register `path` holds, from its content: an XLSX workbook (ZIP magic; only then
    is the workbook opened) by its sheets' headers — the first sheet that is a register —
    else CSV text by its header. 'broken-xlsx' for a ZIP that names workbook parts but
    cannot be opened, or for an OLE2 file (a password-protected workbook or an old .xls)."""
    mapping = active_column_map(column_map)
    if not path.is_file():
        return None
    if head.startswith(OLE_MAGIC):
        return BROKEN_XLSX  # refused with the reason when read
    if head.startswith(ZIP_MAGIC):
        try:
            stat = path.stat()
        except OSError:
            return None
        kinds = _xlsx_kinds(str(path), stat.st_mtime_ns, stat.st_size,
                            tuple(sorted(mapping.items())))
        if kinds is None:
            return BROKEN_XLSX if _looks_like_workbook(path, head) else None
        return next((k for k in kinds if k is not None), None)
    return _head_kind(head, mapping)


BROKEN_XLSX = "broken-xlsx"


def _looks_like_workbook(path: Path, head: bytes) -> bool:
    if b"xl/" in head or b"[Content_Types].xml" in head:
        return True
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.startswith("xl/") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def sniff_header(head: bytes, path: Path, kind: str,
                 column_map: Mapping[str, str] | None = None) -> bool:
    """True when `path` is the register `kind` (see `sniff_kind`)."""
    return sniff_kind(path, head, column_map) == kind


# --- row validation --------------------------------------------------------------------------


class RowReport:
    """Warnings for the rows a reader skips: one per row (up to `MAX_ROW_WARNINGS`),
    naming the place, the column and the value."""

    def __init__(self, table: Table, progress: Progress) -> None:
        self.table = table
        self.progress = progress
        self.warnings: list[InputWarning] = list(table.warnings)
        self.skipped = 0
        self.first_error: str | None = None
        self.records = 0
        self._pending = 0

    def seen(self) -> None:
        self.records += 1
        self._pending += 1
        if self._pending >= PROGRESS_ROWS:
            self.progress(0, self._pending)
            self._pending = 0

    def skip(self, line: int, problems: list[str]) -> None:
        self.skipped += 1
        reason = "row skipped: " + "; ".join(problems)
        place = self.table.place(line)
        if self.first_error is None:
            self.first_error = f"{place}: {reason}"
        if self.skipped <= MAX_ROW_WARNINGS:
            self.warnings.append(InputWarning(self.table.path, reason, place))

    def finish(self, kept: int, size: int) -> list[InputWarning]:
        """The warnings; InputError when there were rows and none could be kept."""
        self.progress(size, self._pending)
        if self.records and not kept:
            raise InputError(self.table.path,
                             f"no usable rows ({self.skipped} skipped; first at "
                             f"{self.first_error})")
        if self.skipped > MAX_ROW_WARNINGS:
            self.warnings.append(InputWarning(
                self.table.path, f"{self.skipped - MAX_ROW_WARNINGS} more rows skipped"))
        if not self.records:
            self.warnings.append(InputWarning(self.table.path, "no rows below the header",
                                              self.table.place(self.table.header_line)))
        return self.warnings


DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y")
# Excel's day numbers (a date column left unformatted shows 46023): 1990-01-01..2099-12-31
EXCEL_EPOCH, EXCEL_DAYS = date(1899, 12, 30), range(32874, 73416)


def parse_date(value: str) -> date:
    """YYYY-MM-DD, or the Dutch DD-MM-YYYY (also with '/' or '.'); a trailing time (as XLSX
    cells give) is dropped; an Excel day number of 1990-2099 is that day. ValueError
    otherwise."""
    text = value.strip()
    if text.isdigit() and int(text) in EXCEL_DAYS:
        return EXCEL_EPOCH + timedelta(days=int(text))
    text = re.sub(r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$", "", text)
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{shown(value)} is not a date (YYYY-MM-DD or DD-MM-YYYY)")


TRUE_WORDS = frozenset({"yes", "true", "ja", "j", "y", "1", "waar"})
FALSE_WORDS = frozenset({"no", "false", "nee", "n", "0", "onwaar"})


def parse_bool(value: str) -> bool:
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{shown(value)} is not yes/no (yes, no, true, false, ja, nee)")


def split_list(value: str) -> list[str]:
    """Items separated by ';' or ',' (or new lines), trimmed, empty ones dropped, each
    kept once in order."""
    items = [part.strip() for part in re.split(r"[;,\n]", value)]
    return list(dict.fromkeys(item for item in items if item))


# --- the readers' common part ----------------------------------------------------------------

Record = dict[str, Any]


class RegisterReader(SourceReader):
    """A register in CSV or XLSX: rows are checked one by one (`convert`); a row with a
    problem is skipped with a warning naming its line, column and value, the others land
    in `table` with their line and site (the row's ``site`` column, else ``--site``)."""

    table: ClassVar[str]

    def sniff(self, path: Path, head: bytes) -> bool:
        return sniff_header(head, path, self.kind)

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        table = open_table(path, self.kind, active_column_map(batch.column_map))
        report = RowReport(table, progress)
        state: dict[str, Any] = {}
        kept: list[Record] = []
        for row in table.rows:
            report.seen()
            if row.error is not None:
                report.skip(row.line, [row.error])
                continue
            problems: list[str] = []
            records = self.convert(row.values, problems, state, table.place)
            if problems:
                report.skip(row.line, problems)
                continue
            site = row.values.get("site") or batch.site
            kept.extend({**record, "line": row.line, "site": site} for record in records)
            self.accepted(row.values, row.line, state)
        batch.table_rows(self.table, kept)
        size = path.stat().st_size
        batch.records_read += report.records
        batch.bytes_read += size
        return report.finish(len(kept), size)

    @abstractmethod
    def convert(self, values: dict[str, str], problems: list[str], state: dict[str, Any],
                place: Callable[[int], str]) -> list[Record]:
        """The table rows for one register row (usually one); problems are appended to
        `problems` as 'column: value is not …'. `state` is per file."""

    def accepted(self, values: dict[str, str], line: int, state: dict[str, Any]) -> None:
        """Called for each row that was kept (e.g. to remember its id)."""


def text_or_none(values: dict[str, str], column: str) -> str | None:
    """A column's text; None when the column is absent or the cell empty."""
    return values.get(column) or None


# Cells that say "no value" in registers kept by hand (n.v.t.: niet van toepassing).
NO_VALUE = frozenset({"-", "--", "–", "—", "n/a", "n.a.", "nvt", "n.v.t."})


def check(problems: list[str], column: str, values: dict[str, str],
          parse: Callable[[str], Any]) -> Any:
    """`parse` of a column's cell (None when absent, empty or a `NO_VALUE` such as '-' or
    'n.v.t.'); a ValueError becomes a problem 'column: message'."""
    value = values.get(column, "")
    if not value or value.casefold() in NO_VALUE:
        return None
    try:
        return parse(value)
    except ValueError as exc:
        problems.append(f"{column}: {exc}")
        return None


def required(problems: list[str], column: str, values: dict[str, str]) -> str:
    value = values.get(column, "")
    if not value:
        problems.append(f"{column}: empty")
    return value
