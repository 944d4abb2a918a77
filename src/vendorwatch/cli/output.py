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

from vendorwatch.safe_text import inert, spreadsheet_safe

_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


# Columns that may wrap; the others (addresses, ids, short labels) stay on one line.
WRAPPED = frozenset({"summary", "value"})
# Short labels shown whole on one line; other columns fold on narrow terminals.
KEPT = frozenset({"mac", "risk", "confidence", "lists", "severity", "id", "state", "ts",
                  "signal", "kind"})
MAX_KEPT_WIDTH = 24


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
    return inert(str(value), keep_newlines=False)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return spreadsheet_safe(value) if isinstance(value, str) else value


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
            writer.writerow({k: _csv_cell(v) for k, v in row.items()})
        sys.stdout.write(buffer.getvalue())
        return
    table = Table(title=f"{title} ({len(rows)})", show_lines=False, expand=False)
    cells = [[visible(row.get(c)) for c in columns] for row in rows]
    for index, column in enumerate(columns):
        if column in WRAPPED:
            table.add_column(column, overflow="fold", ratio=1, min_width=24)
        else:
            longest = max((len(line[index]) for line in cells), default=0)
            if column in KEPT:
                table.add_column(column, no_wrap=True,
                                 min_width=min(max(longest, len(column)), MAX_KEPT_WIDTH))
            else:
                table.add_column(column, overflow="fold")
    for line in cells:
        table.add_row(*(Text(cell) for cell in line))
    console.print(table)
