"""Maker names as display names, resolved against the vendor registry where it knows them."""

from __future__ import annotations

import re
from functools import lru_cache

from vendorwatch.intel import Registry

_LEGAL_FORMS = re.compile(
    r"[\s,.]+(co\.?,?\s*ltd\.?|company\s+limited|co\.?|ltd\.?|limited|inc\.?|incorporated|"
    r"corp\.?|corporation|gmbh(\s*&\s*co\.?\s*kg)?|ag|s\.?a\.?|b\.?v\.?|llc|plc|pty|oy|ab|"
    r"s\.?r\.?l\.?|s\.?p\.?a\.?|kg)\s*$",
    re.IGNORECASE,
)


def short_organisation(name: str) -> str:
    """'Cisco Systems, Inc' → 'Cisco Systems'; 'Dell Inc.' → 'Dell'."""
    text = " ".join(name.split())
    while True:
        trimmed = _LEGAL_FORMS.sub("", text).strip(" ,.")
        if trimmed == text or not trimmed:
            return text
        text = trimmed


class MakerNames:
    """Resolves a name seen in evidence to (display name, registry maker id or None)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    @lru_cache(maxsize=4096)  # noqa: B019 - one instance per identify run
    def resolve(self, name: str) -> tuple[str, str | None]:
        maker = self.registry.match_organisation(name)
        if maker is not None:
            return maker.name, maker.id
        return short_organisation(name), None
