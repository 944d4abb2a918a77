"""Strings from packets and logs are attacker-controlled. Every output shows them inert:
control characters (terminal escapes, bells, NULs) and Unicode direction overrides (which
can make `exe.txt` read as `txt.exe`) become visible \\xNN / \\uNNNN escapes. Markup is
escaped by each output on its own (Rich Text, Jinja2 autoescape)."""

from __future__ import annotations

import re

_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str, keep_newlines: bool = True) -> str:
    """`text` with control and direction-override characters made visible."""

    def show(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    cleaned = _HIDDEN.sub(show, text)
    return cleaned if keep_newlines else cleaned.replace("\n", "⏎").replace("\t", " ")


def spreadsheet_safe(text: str) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    cleaned = inert(text)
    # OWASP's CSV-injection list: formula starters, and tab and carriage return before them
    return "'" + cleaned if cleaned[:1] in ("=", "+", "-", "@", "\t", "\r") else cleaned
