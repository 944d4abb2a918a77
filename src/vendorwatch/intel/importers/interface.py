"""What every list importer provides. A new published format is one new module beside this
one and one line in `vendorwatch.intel.importers.IMPORTERS`.

An importer turns one file into :class:`ImportedEntity` records (listed parties, and the
owners and assets of ownership edges) and :class:`ImportedOwnership` edges. It never writes
the store itself: `vendorwatch.intel.importers.import_file` does, in one transaction."""

from __future__ import annotations

import csv
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from vendorwatch.errors import InputError


@dataclass(frozen=True)
class DatasetInfo:
    """The dataset a file belongs to and the date it was published or exported, as far as
    the file itself says (`published` is None when it does not)."""

    name: str
    published: str | None = None


@dataclass(frozen=True)
class ImportedEntity:
    """One party from a published list. `names` holds every form as (name, kind), the
    primary name first; kind is name, alias, previousName, weakAlias or abbreviation."""

    entity_id: str
    schema: str
    name: str
    names: tuple[tuple[str, str], ...]
    line: int
    target: bool = True
    countries: tuple[str, ...] = ()
    list: str | None = None  # registry list id when known; None: the import's dataset name
    list_name: str | None = None
    program: str | None = None
    topics: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    source_url: str | None = None
    datasets: tuple[str, ...] = ()
    first_seen: str | None = None
    last_seen: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    sanctions: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class ImportedOwnership:
    """`owner_id` holds `share` percent (or an unstated part) of `asset_id`."""

    edge_id: str
    owner_id: str
    asset_id: str
    line: int
    percentage: str | None = None
    share: float | None = None
    since: str | None = None
    until: str | None = None
    source_url: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


Imported = ImportedEntity | ImportedOwnership


class ListImporter(ABC):
    """Reads one kind of published list file."""

    format: ClassVar[str]
    # What the user is told this importer reads, for the "unknown kind" error and the docs.
    description: ClassVar[str]

    @abstractmethod
    def sniff(self, path: Path, head: bytes) -> bool:
        """True when `path` is this importer's kind; `head` holds the file's first bytes.
        Decide from content, not from the file name's extension."""

    @abstractmethod
    def detect(self, path: Path) -> DatasetInfo:
        """The dataset name and publication date the file states (or this format's default
        name). Raises `InputError` for a malformed file."""

    @abstractmethod
    def read(self, path: Path) -> Iterator[Imported]:
        """Every kept record of the file. Raises `InputError(path, reason, "line N")` at the
        first malformed record; the caller then stores nothing of the file."""

    def skipped(self) -> int:
        """Records of the last `read` that were not kept (persons, vessels, ...)."""
        return 0


# --- helpers shared by the importers ---------------------------------------------------------

_PARTIAL_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")

# Published list names → ids of the packaged registry's list catalogue (intel/data/vendors.yaml),
# so that imported listings line up with curated ones. Unknown lists keep their own name.
LIST_IDS: dict[str, str] = {
    # OpenSanctions dataset names
    "us_fcc_covered_list": "fcc-covered-list",
    "us_dod_chinese_milcorps": "dod-1260h",
    # US Consolidated Screening List `source` values
    "entity list (el) - bureau of industry and security": "us-entity-list",
    "non-sdn chinese military-industrial complex companies list (cmic) - treasury department":
        "ns-cmic",
    # the documented FCC Covered List CSV form
    "fcc_covered_list": "fcc-covered-list",
}


def list_id(name: str | None) -> str | None:
    """The registry list id for a dataset or list name, or None when it is not known."""
    return LIST_IDS.get((name or "").strip().casefold()) if name else None


def partial_date(value: str | None) -> str | None:
    """YYYY, YYYY-MM or YYYY-MM-DD from a date or timestamp string; None when it is none."""
    if not value:
        return None
    text = value.strip()[:10]
    return text if _PARTIAL_DATE.fullmatch(text) else None


def split_values(value: str | None, separator: str = ";") -> list[str]:
    """A multi-valued CSV cell ('a; b; c') as its non-empty, stripped parts, in order."""
    if not value:
        return []
    return [part.strip() for part in value.split(separator) if part.strip()]


def percentage_share(value: str | None) -> float | None:
    """"38.88" or "38.88%" as 38.88; None for ranges, words or values outside 0..100."""
    if not value:
        return None
    try:
        share = float(value.strip().rstrip("%").strip())
    except ValueError:
        return None
    return share if 0 <= share <= 100 else None


def csv_header(head: bytes) -> list[str]:
    """The column names on the first line of `head` (lower-cased), or [] when it is no CSV
    header."""
    text = head.removeprefix(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    first = text.split("\n", 1)[0].rstrip("\r")
    if not first or "," not in first:
        return []
    try:
        header = next(csv.reader([first]))
    except (csv.Error, StopIteration):
        return []
    return [column.strip().lower() for column in header]


def csv_records(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line the record starts on, {column: value}) for every record after the header.
    Blank records are skipped; a record with the wrong number of fields, bad quoting or
    bytes that are not UTF-8 raise `InputError(path, reason, "line N")`."""
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    with fh:
        reader = csv.reader(fh, strict=True)
        end = 0
        try:
            header = [column.strip().lower() for column in next(reader, [])]
            end = reader.line_num
            for row in reader:
                start, end = end + 1, reader.line_num
                if not any(cell.strip(" \t\x1a") for cell in row):
                    continue
                if len(row) != len(header):
                    raise InputError(
                        path, f"expected {len(header)} fields, found {len(row)}",
                        f"line {start}")
                yield start, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise InputError(path, f"malformed CSV: {exc}", f"line {end + 1}") from None
        except UnicodeDecodeError:
            raise InputError(path, "not UTF-8 text", f"line {end + 1}") from None
