"""Listing output as a terminal table, JSON or CSV. Values from packets and logs are
attacker-controlled: tables show them as plain text (no Rich markup) with control
characters made visible, so a hostile string can neither style nor drive the terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Columns that may wrap; the others (addresses, ids, short labels) stay on one line.
WRAPPED = frozenset({"summary", "value"})


def console_for_stdout() -> Console:
    """The terminal's width on a terminal; wide lines when piped into a file or a pager."""
    wide = not sys.stdout.isatty() and "COLUMNS" not in os.environ
    return Console(width=220 if wide else None)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def visible(value: Any) -> str:
    """A value as one safe line of terminal text."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, str) and _ISO_TIME.fullmatch(value):
        return value[:19].replace("T", " ")
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    text = str(value).replace("\n", "⏎").replace("\t", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def emit(
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    columns: Sequence[str],
    title: str,
    console: Console,
) -> None:
    """Write rows to stdout: all fields for json and csv, `columns` for the table."""
    if fmt is Format.json:
        sys.stdout.write(json.dumps(list(rows), indent=2, ensure_ascii=False, default=str))
        sys.stdout.write("\n")
        return
    if fmt is Format.csv:
        fields = list(rows[0].keys()) if rows else list(columns)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({
                k: json.dumps(v, ensure_ascii=False, default=str)
                if isinstance(v, list | dict) else v
                for k, v in row.items()
            })
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=f"{title} ({len(rows)})", show_lines=False, expand=False)
    for column in columns:
        if column in WRAPPED:
            table.add_column(column, overflow="fold", ratio=1, min_width=24)
        else:
            table.add_column(column, no_wrap=True, overflow="ellipsis")
    for row in rows:
        table.add_row(*(Text(visible(row.get(c))) for c in columns))
    console.print(table)
