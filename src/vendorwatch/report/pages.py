"""The one way vendorwatch renders HTML pages (report, tender memo): Jinja2 with
autoescaping everywhere, every printed value made inert first, and links only to https."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from vendorwatch.safe_text import inert

_LINK_BREAKERS = re.compile(r"[\s<>\"'`()\[\]\\]")


def safe_url(url: Any) -> str | None:
    """Only plain https URLs become links (nothing that could end a Markdown or HTML
    link early: spaces, quotes, brackets, angle brackets, backslashes)."""
    if (isinstance(url, str) and url.startswith("https://")
            and not _LINK_BREAKERS.search(url)):
        return url
    return None


def page_environment(package: str, filters: dict[str, Callable[..., Any]] | None = None
                     ) -> Environment:
    """A template environment for `package`'s templates/ folder."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["safe_url"] = safe_url
    env.filters.update(filters or {})
    env.finalize = _finalize
    return env


def _finalize(value: Any) -> Any:
    """Every value printed by a template, made inert before autoescaping."""
    return inert(value) if isinstance(value, str) else value
