"""The US Consolidated Screening List (CSL) as CSV, published by the International Trade
Administration (https://www.trade.gov/consolidated-screening-list; the file is
``consolidated.csv`` beside the ``consolidated.json`` the ITA's data service serves).

Header, as downloaded (order may vary; columns are found by name)::

    _id,source,entity_number,type,programs,name,title,addresses,federal_register_notice,
    start_date,end_date,standard_order,license_requirement,license_policy,call_sign,
    vessel_type,gross_tonnage,gross_registered_tonnage,vessel_flag,vessel_owner,remarks,
    source_list_url,alt_names,citizenships,dates_of_birth,nationalities,places_of_birth,
    source_information_url,ids

Multi-valued cells (``programs``, ``alt_names``, ``addresses``) separate values with "; ";
an address ends with its ISO country code. Kept: rows whose ``type`` is ``Entity`` or empty
(the BIS lists leave it empty); ``Individual``, ``Vessel`` and ``Aircraft`` rows are counted
as skipped. ``source`` names the list (e.g. "Entity List (EL) - Bureau of Industry and
Security"); the listing date is ``start_date``. The file states no publication date.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from vendorwatch.errors import InputError
from vendorwatch.intel.importers.interface import (
    DatasetInfo,
    Imported,
    ImportedEntity,
    ListImporter,
    csv_header,
    csv_records,
    list_id,
    partial_date,
    split_values,
)

REQUIRED = frozenset({"source", "name", "type", "alt_names", "source_list_url"})
SCHEMAS = {"": "LegalEntity", "entity": "Organization"}
_COUNTRY = re.compile(r"[A-Z]{2}")


class CslImporter(ListImporter):
    format = "csl-csv"
    description = "US Consolidated Screening List CSV"

    def __init__(self) -> None:
        self._skipped = 0

    def sniff(self, path: Path, head: bytes) -> bool:
        return set(csv_header(head)) >= REQUIRED

    def detect(self, path: Path) -> DatasetInfo:
        return DatasetInfo("us_trade_csl", None)

    def skipped(self) -> int:
        return self._skipped

    def read(self, path: Path) -> Iterator[Imported]:
        self._skipped = 0
        for line, row in csv_records(path):
            schema = SCHEMAS.get(row["type"].strip().lower())
            if schema is None:
                self._skipped += 1
                continue
            name = row["name"].strip()
            if not name:
                raise InputError(path, "row without a name", f"line {line}")
            names = [(name, "name")]
            names += [(alias, "alias") for alias in split_values(row.get("alt_names"))
                      if alias != name]
            source = row["source"].strip()
            countries = []
            for address in split_values(row.get("addresses")):
                last = address.rsplit(",", 1)[-1].strip()
                if _COUNTRY.fullmatch(last) and last not in countries:
                    countries.append(last)
            yield ImportedEntity(
                entity_id=row.get("_id", "").strip() or row.get("entity_number", "").strip()
                or f"line-{line}",
                schema=schema,
                name=name,
                names=tuple(dict.fromkeys(names)),
                line=line,
                countries=tuple(countries),
                list=list_id(source) or source or None,
                list_name=source or None,
                program="; ".join(split_values(row.get("programs"))) or None,
                since=partial_date(row.get("start_date")),
                until=partial_date(row.get("end_date")),
                source_url=(row.get("source_information_url", "").strip()
                            or row.get("source_list_url", "").strip() or None),
                properties={k: v for k, v in row.items() if v.strip()},
            )
