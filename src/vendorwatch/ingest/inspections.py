"""Physical inspection records (CSV or XLSX) into ``inspections``: what an inspector found
in a cabinet, e.g. a cellular modem nobody declared, with its IMEI and SIM (ICCID).

Columns (canonical names; map your own with ``--columns``): asset (``asset_id`` works
too), date, inspector, finding, imei, iccid, photo, site. Required: asset and finding.

Checks per row (a row that fails one is skipped with a warning naming its line, the column
and the value; the other rows are kept):

- asset and finding: present;
- date: YYYY-MM-DD or DD-MM-YYYY (also with '/' or '.');
- imei: 15 digits whose last is the Luhn check digit (spaces, dashes, dots and slashes
  between the digits are dropped);
- iccid: 18 to 22 digits (spaces and dashes dropped).

Only table rows are written: an inspection names an asset id, and the address that would
tie it to evidence is in the asset register, another source; detectors join the two by
asset id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from vendorwatch.ingest.tabular import (
    INSPECTIONS,
    Record,
    RegisterReader,
    check,
    parse_date,
    required,
    shown,
    text_or_none,
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def parse_imei(value: str) -> str:
    digits = re.sub(r"[\s\-./]", "", value)
    if not re.fullmatch(r"[0-9]{15}", digits):
        raise ValueError(f"{shown(value)} is not an IMEI (15 digits)")
    if not luhn_ok(digits):
        raise ValueError(f"{shown(value)} is not an IMEI (its check digit is wrong)")
    return digits


def parse_iccid(value: str) -> str:
    digits = re.sub(r"[\s\-]", "", value)
    if not re.fullmatch(r"[0-9]{18,22}", digits):
        raise ValueError(f"{shown(value)} is not an ICCID (18 to 22 digits)")
    return digits


class InspectionsReader(RegisterReader):
    """Inspection records: one ``inspections`` row per inspection."""

    kind: ClassVar[str] = INSPECTIONS
    table: ClassVar[str] = "inspections"

    def convert(self, values: dict[str, str], problems: list[str], state: dict[str, Any],
                place: Callable[[int], str]) -> list[Record]:
        return [{
            "asset_id": required(problems, "asset", values),
            "date": check(problems, "date", values, parse_date),
            "inspector": text_or_none(values, "inspector"),
            "finding": required(problems, "finding", values),
            "imei": check(problems, "imei", values, parse_imei),
            "iccid": check(problems, "iccid", values, parse_iccid),
            "photo": text_or_none(values, "photo"),
        }]
