"""FollowTheMoney entity JSON lines, as OpenSanctions publishes them (`entities.ftm.json`).

One JSON object per line: ``{"id", "schema", "properties": {prop: [values]}, "caption",
"datasets", "referents", "first_seen", "last_seen", "last_change", "target"}``
(https://www.opensanctions.org/docs/bulk/json). Property names follow the FtM schema
(https://followthemoney.tech; schema files in the followthemoney repository):

* kept parties: ``Company``, ``Organization``, ``PublicBody``, ``LegalEntity`` that are
  targets (``target`` true, or no ``target`` key in a plain FtM file), plus any legal
  entity or ``Person`` named as owner or asset of a kept ``Ownership`` edge;
  names from ``name``, ``alias``, ``previousName`` (not ``weakAlias``/``abbreviation``:
  too weak to match alone);
  countries from ``country``, ``jurisdiction``, ``mainCountry``; also ``topics``,
  ``program``, ``sourceUrl``, ``createdAt``;
* ``Sanction`` records (``entity``, ``program``, ``authority``, ``listingDate``,
  ``startDate``, ``endDate``, ``sourceUrl``) are merged into the party they name: the
  listing date is the earliest ``listingDate``/``startDate``;
* ``Ownership`` edges: ``owner`` holds ``percentage`` of ``asset`` from ``startDate`` to
  ``endDate``.

The dataset name is the one dataset every record belongs to (an OpenSanctions per-dataset
export such as ``us_fcc_covered_list``), else the folder name OpenSanctions publishes the
file under, else ``opensanctions``; the published date is the latest ``last_seen``.

The file is parsed here as documented JSON rather than through the ``followthemoney``
package: that package brings some 30 further dependencies (ICU, rdflib, SQLAlchemy, ...)
for what is a plain JSON reading job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendorwatch.errors import InputError
from vendorwatch.intel.importers.interface import (
    DatasetInfo,
    Imported,
    ImportedEntity,
    ImportedOwnership,
    ListImporter,
    list_id,
    partial_date,
    percentage_share,
)

PARTIES = frozenset({"Company", "Organization", "PublicBody", "LegalEntity"})
OWNERS = PARTIES | {"Person"}
# weakAlias and abbreviation are left out: FollowTheMoney marks them as too weak to match on
# their own ("HIK" would make "HIK GmbH" a listed company); they stay in the raw record.
NAME_KINDS = ("name", "alias", "previousName")
COUNTRY_PROPS = ("country", "jurisdiction", "mainCountry")
_SLUG = re.compile(r"[a-z][a-z0-9_]{2,}")
_GENERIC_FOLDERS = frozenset({"latest", "data", "datasets", "downloads", "tmp", "intel"})
_HEAD = re.compile(rb'^\s*(\xef\xbb\xbf)?\s*\{.*"(id|schema)"\s*:', re.DOTALL)


@dataclass
class _Scan:
    """What the first pass learns: dataset, date, sanctions per entity, ids in edges."""

    datasets: set[str] | None = None
    last_seen: str | None = None
    sanctions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    edge_ends: set[str] = field(default_factory=set)


class FtmImporter(ListImporter):
    format = "ftm"
    description = "FollowTheMoney / OpenSanctions entities JSON lines"

    def __init__(self) -> None:
        self._cache: tuple[tuple[str, int, int], _Scan] | None = None
        self._skipped = 0

    def sniff(self, path: Path, head: bytes) -> bool:
        if not _HEAD.match(head):
            return False
        first = head.lstrip(b"\xef\xbb\xbf \t\r\n").split(b"\n", 1)[0]
        return b'"schema"' in first or len(first) == len(head.lstrip())

    def detect(self, path: Path) -> DatasetInfo:
        scan = self._scan(path)
        published = partial_date(scan.last_seen)
        if scan.datasets and len(scan.datasets) == 1:
            return DatasetInfo(next(iter(scan.datasets)), published)
        folder = path.resolve().parent.name
        if _SLUG.fullmatch(folder) and folder not in _GENERIC_FOLDERS:
            return DatasetInfo(folder, published)
        return DatasetInfo("opensanctions", published)

    def skipped(self) -> int:
        return self._skipped

    def read(self, path: Path) -> Iterator[Imported]:
        scan = self._scan(path)
        self._skipped = 0
        for line, obj in _records(path):
            schema = obj["schema"]
            entity_id = obj["id"]
            if schema == "Ownership":
                yield _edge(path, line, obj)
            elif schema in OWNERS and (
                entity_id in scan.edge_ends
                or (schema in PARTIES and obj.get("target", True) is True)
            ):
                yield _entity(path, line, obj, scan.sanctions.get(entity_id, []))
            elif schema != "Sanction":
                self._skipped += 1

    def _scan(self, path: Path) -> _Scan:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if self._cache and self._cache[0] == key:
            return self._cache[1]
        scan = _Scan()
        for line, obj in _records(path):
            datasets = obj.get("datasets")
            if isinstance(datasets, list) and datasets:
                names = {str(d) for d in datasets}
                scan.datasets = names if scan.datasets is None else scan.datasets & names
            seen = obj.get("last_seen")
            if isinstance(seen, str) and (scan.last_seen is None or seen > scan.last_seen):
                scan.last_seen = seen
            props = obj["properties"]
            if obj["schema"] == "Sanction":
                for target in props.get("entity", []):
                    scan.sanctions.setdefault(target, []).append(props)
            elif obj["schema"] == "Ownership":
                owners, assets = props.get("owner", []), props.get("asset", [])
                if not owners or not assets:
                    raise InputError(path, "Ownership without owner or asset", f"line {line}")
                scan.edge_ends.update(owners)
                scan.edge_ends.update(assets)
        self._cache = (key, scan)
        return scan


def _records(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line; InputError at the first bad one."""
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    with fh:
        for number, raw in enumerate(fh, start=1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            where = f"line {number}"
            try:
                obj = json.loads(raw.rstrip(b"\r\n"))
            except UnicodeDecodeError:
                raise InputError(path, "not UTF-8 text", where) from None
            except json.JSONDecodeError as exc:
                raise InputError(path, f"invalid JSON: {exc.msg} (column {exc.colno})",
                                 where) from None
            yield number, _checked(path, where, obj)


def _checked(path: Path, where: str, obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise InputError(path, "expected one JSON object per line", where)
    for key in ("id", "schema"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            raise InputError(path, f"entity without {key!r}", where)
    props = obj.get("properties", {})
    if not isinstance(props, dict):
        raise InputError(path, "'properties' is not an object", where)
    for name, values in props.items():
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InputError(path, f"property {name!r} is not a list of strings", where)
    obj["properties"] = props
    return obj


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v.strip() for v in values if v.strip()))


def _entity(
    path: Path, line: int, obj: dict[str, Any], sanctions: list[dict[str, Any]]
) -> ImportedEntity:
    props: dict[str, list[str]] = obj["properties"]
    names: list[tuple[str, str]] = []
    seen: set[str] = set()
    for kind in NAME_KINDS:
        for value in _unique(props.get(kind, [])):
            if value not in seen:
                seen.add(value)
                names.append((value, kind))
    target = obj.get("target", True) is True and obj["schema"] in PARTIES
    caption = obj.get("caption") if isinstance(obj.get("caption"), str) else None
    if not names:
        if target and not caption:
            raise InputError(path, f"{obj['schema']} {obj['id']!r} has no name",
                             f"line {line}")
        names.append((caption or obj["id"], "name"))
    primary = caption if caption in seen else names[0][0]
    names.sort(key=lambda item: item[0] != primary)

    dates = [d for s in sanctions
             for d in (partial_date(v) for v in s.get("listingDate", []) + s.get("startDate", []))
             if d]
    ends = [e for e in (partial_date(next(iter(s.get("endDate", [])), None))
                        for s in sanctions) if e]
    programs = _unique(props.get("program", []) + [p for s in sanctions
                                                    for p in s.get("program", [])])
    sources = [u for s in sanctions for u in s.get("sourceUrl", [])] + props.get("sourceUrl", [])
    authorities = _unique([a for s in sanctions for a in s.get("authority", [])])
    created = [d for d in (partial_date(v) for v in props.get("createdAt", [])) if d]
    datasets = tuple(str(d) for d in obj.get("datasets", []) if isinstance(d, str))
    return ImportedEntity(
        entity_id=obj["id"],
        schema=obj["schema"],
        name=primary,
        names=tuple(names),
        line=line,
        target=target,
        countries=tuple(_unique([c.upper() for p in COUNTRY_PROPS for c in props.get(p, [])])),
        list=next((i for i in map(list_id, datasets) if i), None),
        list_name="; ".join(authorities) or None,
        program="; ".join(programs) or None,
        topics=tuple(_unique(props.get("topics", []))),
        since=min(dates) if dates else (min(created) if created else None),
        until=max(ends) if sanctions and len(ends) == len(sanctions) else None,
        source_url=sources[0] if sources else None,
        datasets=datasets,
        first_seen=obj.get("first_seen") if isinstance(obj.get("first_seen"), str) else None,
        last_seen=obj.get("last_seen") if isinstance(obj.get("last_seen"), str) else None,
        properties=props,
        sanctions=tuple(sanctions),
    )


def _edge(path: Path, line: int, obj: dict[str, Any]) -> ImportedOwnership:
    props: dict[str, list[str]] = obj["properties"]
    percentage = next(iter(props.get("percentage", [])), None)
    return ImportedOwnership(
        edge_id=obj["id"],
        owner_id=props["owner"][0],
        asset_id=props["asset"][0],
        line=line,
        percentage=percentage,
        share=percentage_share(percentage),
        since=partial_date(next(iter(props.get("startDate", [])), None)),
        until=partial_date(next(iter(props.get("endDate", [])), None)),
        source_url=next(iter(props.get("sourceUrl", [])), None),
        properties=props,
    )
