"""The operator's asset register (CSV or XLSX) into ``register_assets``: what the operator
says it runs, to hold against what the network shows.

Columns (canonical names; map your own with ``--columns``): asset_id, ip, mac, hostname,
manufacturer, brand, model, serial, firmware, site, zone, room, function, criticality,
comms_modules, owner, capacity. Required: asset_id and one of ip, mac or hostname.

Checks per row (a row that fails one is skipped with a warning naming its line, the column
and the value; the other rows are kept):

- asset_id: present, and not used by an earlier row of the file (compared ignoring case);
- ip: an IPv4 or IPv6 address, stored in its standard form;
- mac: six bytes written ``aa:bb:cc:dd:ee:ff``, ``aa-bb-…``, ``aabb.ccdd.eeff`` or bare,
  stored as ``aa:bb:cc:dd:ee:ff``;
- criticality: low, medium, high or vital (any case; Dutch laag, middel/midden/gemiddeld,
  hoog and vitaal too);
- capacity: a number ≥ 0 (a decimal comma and a unit after it, ``120 scans/h``, are fine);
- comms_modules: items separated by ';' or ',', lower-cased, spaces as dashes
  (``LTE modem`` → ``lte-modem``), stored ';'-separated; empty, ``none``, ``geen`` or ``-``
  is '' (none declared). Without the column the field is NULL (not declared either way).

This reader also claims a ZIP that names workbook parts but cannot be opened (a corrupt
XLSX) and an OLE2 file (a password-protected workbook, an old .xls), so that ingesting it
fails with the reason rather than "not a known kind".
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from vendorwatch.ingest.tabular import (
    ASSET_REGISTER,
    BROKEN_XLSX,
    Record,
    RegisterReader,
    check,
    required,
    shown,
    sniff_kind,
    split_list,
    text_or_none,
)

CRITICALITY = {
    "low": "low", "medium": "medium", "high": "high", "vital": "vital",
    "laag": "low", "middel": "medium", "midden": "medium", "gemiddeld": "medium",
    "hoog": "high", "vitaal": "vital",
}
NO_MODULES = frozenset({"none", "geen", "-", "n/a", "nvt", "n.v.t."})
TEXT_COLUMNS = ("hostname", "manufacturer", "brand", "model", "serial", "firmware", "zone",
                "room", "function", "owner")

_MAC_FORMS = (
    re.compile(r"^[0-9a-f]{1,2}([:-])[0-9a-f]{1,2}(\1[0-9a-f]{1,2}){4}$"),
    re.compile(r"^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$"),
    re.compile(r"^[0-9a-f]{12}$"),
)
_CAPACITY = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)(?:\s*[^\W\d][\w/ .]*)?$")


def parse_ip(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IPv4 or IPv6 address") from None


def parse_mac(value: str) -> str:
    text = value.strip().lower()
    if not any(form.match(text) for form in _MAC_FORMS):
        raise ValueError(f"{shown(value)} is not a MAC address (aa:bb:cc:dd:ee:ff)")
    if "." in text or len(text) == 12:
        digits = text.replace(".", "")
    else:
        digits = "".join(part.zfill(2) for part in re.split(r"[:-]", text))
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def parse_criticality(value: str) -> str:
    level = CRITICALITY.get(value.strip().lower())
    if level is None:
        raise ValueError(f"{shown(value)} is not one of low, medium, high, vital")
    return level


def parse_capacity(value: str) -> float:
    match = _CAPACITY.match(value.strip())
    if match is None:
        raise ValueError(f"{shown(value)} is not a number")
    return float(match.group(1).replace(",", "."))


def comms_modules(value: str) -> str:
    """``'LTE modem, WiFi'`` → ``'lte-modem;wifi'``; none → ''."""
    items = [re.sub(r"[\s_]+", "-", item.lower()) for item in split_list(value)]
    return ";".join(dict.fromkeys(item for item in items if item not in NO_MODULES))


class AssetRegisterReader(RegisterReader):
    """An asset register: one ``register_assets`` row per asset."""

    kind: ClassVar[str] = ASSET_REGISTER
    table: ClassVar[str] = "register_assets"

    def sniff(self, path: Path, head: bytes) -> bool:
        """Its own files; also a workbook that cannot be opened, so that reading it
        reports why (no other reader takes ZIP files)."""
        return sniff_kind(path, head) in (ASSET_REGISTER, BROKEN_XLSX)

    def convert(self, values: dict[str, str], problems: list[str], state: dict[str, Any],
                place: Callable[[int], str]) -> list[Record]:
        asset_id = required(problems, "asset_id", values)
        first = state.get(asset_id.casefold()) if asset_id else None
        if first is not None:
            problems.append(f"asset_id: {shown(asset_id)} already used at {place(first)}")
        record: Record = {
            "asset_id": asset_id,
            "ip": check(problems, "ip", values, parse_ip),
            "mac": check(problems, "mac", values, parse_mac),
            "criticality": check(problems, "criticality", values, parse_criticality),
            "capacity": check(problems, "capacity", values, parse_capacity),
            "comms_modules": comms_modules(values["comms_modules"])
            if "comms_modules" in values else None,
        }
        for column in TEXT_COLUMNS:
            record[column] = text_or_none(values, column)
        return [record]

    def accepted(self, values: dict[str, str], line: int, state: dict[str, Any]) -> None:
        state[values["asset_id"].casefold()] = line
