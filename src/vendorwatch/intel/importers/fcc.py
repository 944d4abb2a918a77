"""The FCC Covered List, typed from the FCC's page.

The FCC publishes the Covered List (https://www.fcc.gov/supplychain/coveredlist) as a web
page and PDF, not in a machine format. Two ways in:

* the OpenSanctions dataset ``us_fcc_covered_list`` (``entities.ftm.json``), read by the
  FollowTheMoney importer (its dataset name is recognised and mapped to the registry's
  ``fcc-covered-list``);
* this small CSV form, which a user can type from the FCC page. Header (order free)::

      entity,equipment_or_service,date_added,source_url

  with two optional columns, ``aliases`` (other names, "; "-separated) and ``country``
  (ISO 3166 alpha-2). ``entity`` is the company as the list names it, ``date_added`` the
  date the entry was added (YYYY-MM-DD), ``source_url`` the page it was read from.
  Every row must have an entity, a valid date and an http(s) URL.

The dataset is ``fcc_covered_list`` unless ``--dataset`` says otherwise; the file states no
publication date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from vendorwatch.errors import InputError
from vendorwatch.intel.importers.interface import (
    DatasetInfo,
    Imported,
    ImportedEntity,
    ListImporter,
    csv_header,
    csv_records,
    split_values,
)

REQUIRED = frozenset({"entity", "equipment_or_service", "date_added", "source_url"})
OPTIONAL = frozenset({"aliases", "country"})
_COUNTRY = re.compile(r"[A-Za-z]{2}")


def slug(text: str) -> str:
    return "-".join(re.findall(r"[0-9a-z]+", text.casefold())) or "entity"


class FccCsvImporter(ListImporter):
    format = "fcc-csv"
    description = "FCC Covered List CSV (entity,equipment_or_service,date_added,source_url)"

    def sniff(self, path: Path, head: bytes) -> bool:
        columns = set(csv_header(head))
        return REQUIRED <= columns <= REQUIRED | OPTIONAL

    def detect(self, path: Path) -> DatasetInfo:
        return DatasetInfo("fcc_covered_list", None)

    def read(self, path: Path) -> Iterator[Imported]:
        ids: set[str] = set()
        for line, row in csv_records(path):
            where = f"line {line}"
            entity = row["entity"].strip()
            if not entity:
                raise InputError(path, "row without an entity", where)
            added = row["date_added"].strip()
            try:
                date.fromisoformat(added)
            except ValueError:
                raise InputError(path, f"date_added {added!r} is not a date (YYYY-MM-DD)",
                                 where) from None
            url = row["source_url"].strip()
            if not url.startswith(("https://", "http://")):
                raise InputError(path, f"source_url {url!r} is not an http(s) URL", where)
            country = row.get("country", "").strip()
            if country and not _COUNTRY.fullmatch(country):
                raise InputError(path, f"country {country!r} is not an ISO 3166 code", where)
            entity_id, n = slug(entity), 1
            while entity_id in ids:
                n += 1
                entity_id = f"{slug(entity)}-{n}"
            ids.add(entity_id)
            names = [(entity, "name")]
            names += [(a, "alias") for a in split_values(row.get("aliases")) if a != entity]
            yield ImportedEntity(
                entity_id=entity_id,
                schema="Company",
                name=entity,
                names=tuple(dict.fromkeys(names)),
                line=line,
                countries=(country.upper(),) if country else (),
                list="fcc-covered-list",
                list_name="FCC Covered List",
                program=row["equipment_or_service"].strip() or None,
                since=added,
                source_url=url,
                properties={k: v for k, v in row.items() if v.strip()},
            )
