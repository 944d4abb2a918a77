"""The operator's access register (CSV or XLSX) into ``access_register``: who may reach
which equipment, how, and with which screening.

Columns (canonical names; map your own with ``--columns``): person, employer, role,
screening, screening_expires, access, scope, via, mfa, valid_until, site. Required:
person, screening, access and scope.

Checks per row (a row that fails one is skipped with a warning naming its line, the column
and the value; the other rows are kept):

- person and scope: present;
- screening: none, VOG, VGB-A, VGB-B or VGB-C, in any case and spacing (``vgb a``,
  ``VGB(B)``); stored as written here. An empty cell is ``none`` (no screening on
  record); ``geen`` is ``none`` too; a VGB without its category is an error;
- access: physical, remote or admin (any case; Dutch fysiek, op afstand, beheer). Several
  in one cell (``remote; admin``) give one row each, with the same line;
- scope: asset ids, zones or functions separated by ';' or ','; stored ';'-separated;
  ``*``, ``alle`` and ``alles`` are stored as ``all``;
- mfa: yes/no, true/false, ja/nee (also y/n, j/n, 1/0); empty is unknown (NULL);
- screening_expires, valid_until: a date, YYYY-MM-DD or DD-MM-YYYY (also with '/' or
  '.'); empty is none (no expiry recorded, or access without end date).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from vendorwatch.ingest.tabular import (
    ACCESS_REGISTER,
    Record,
    RegisterReader,
    check,
    parse_bool,
    parse_date,
    required,
    shown,
    split_list,
    text_or_none,
)

SCREENINGS = {"NONE": "none", "GEEN": "none", "VOG": "VOG", "VGBA": "VGB-A", "VGBB": "VGB-B",
              "VGBC": "VGB-C"}
ACCESS = {"physical": "physical", "fysiek": "physical", "remote": "remote",
          "op_afstand": "remote", "admin": "admin", "beheer": "admin",
          "beheerder": "admin"}
ALL_SCOPES = frozenset({"all", "*", "alle", "alles"})


def parse_screening(value: str) -> str:
    key = re.sub(r"[\s\-_()]+", "", value).upper()
    screening = SCREENINGS.get(key)
    if screening is None:
        hint = " (a VGB needs its category: VGB-A, VGB-B or VGB-C)" if key == "VGB" else ""
        raise ValueError(f"{shown(value)} is not one of none, VOG, VGB-A, VGB-B, VGB-C{hint}")
    return screening


def parse_access(value: str) -> list[str]:
    kinds = []
    for item in split_list(value):
        kind = ACCESS.get(re.sub(r"[\s\-]+", "_", item.lower()))
        if kind is None:
            raise ValueError(f"{shown(item)} is not one of physical, remote, admin")
        kinds.append(kind)
    return list(dict.fromkeys(kinds))


def scope_of(value: str) -> str:
    return ";".join(dict.fromkeys(
        "all" if item.lower() in ALL_SCOPES else item for item in split_list(value)))


class AccessRegisterReader(RegisterReader):
    """An access register: one ``access_register`` row per person and kind of access."""

    kind: ClassVar[str] = ACCESS_REGISTER
    table: ClassVar[str] = "access_register"

    def convert(self, values: dict[str, str], problems: list[str], state: dict[str, Any],
                place: Callable[[int], str]) -> list[Record]:
        person = required(problems, "person", values)
        before = len(problems)
        access = check(problems, "access", values, parse_access)
        if not access and len(problems) == before:
            problems.append("access: empty")
        scope = scope_of(values.get("scope", ""))
        if not scope:
            problems.append("scope: empty")
        screening = check(problems, "screening", values, parse_screening) or "none"
        common: Record = {
            "person": person,
            "employer": text_or_none(values, "employer"),
            "role": text_or_none(values, "role"),
            "screening": screening,
            "screening_expires": check(problems, "screening_expires", values, parse_date),
            "scope": scope,
            "via": text_or_none(values, "via"),
            "mfa": check(problems, "mfa", values, parse_bool),
            "valid_until": check(problems, "valid_until", values, parse_date),
        }
        return [{**common, "access": kind} for kind in access or []]
