"""Fingerprint rules (data/fingerprints.yaml): regular expressions over evidence values
that claim a host's manufacturer, brand, model or device class."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vendorwatch.files import load_data_file, require_unique
from vendorwatch.identify.claims import Attribute, Claim, EvidenceRow
from vendorwatch.identify.makers import MakerNames


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    signals: list[str] = Field(min_length=1)
    pattern: str
    claims: dict[Attribute, str] = Field(min_length=1)
    weight: float = Field(gt=0, le=1)
    source: str = Field(pattern=r"^https://")
    note: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"pattern does not compile: {exc}") from None
        return value

    def compiled(self) -> re.Pattern[str]:
        return _compile(self.pattern)


class Fingerprints(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    rules: list[Rule]

    def by_signal(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for signal in rule.signals:
                out.setdefault(signal, []).append(rule)
        return out


@lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def load_fingerprints(path: Path | None = None) -> Fingerprints:
    """Load and validate the fingerprint rules (the packaged file unless `path` is given).
    Invalid rules raise InputError naming the file and the first problem."""
    packaged = resources.files("vendorwatch.identify") / "data" / "fingerprints.yaml"
    data, label = load_data_file(Fingerprints, packaged, path, "fingerprint rules")
    require_unique([rule.id for rule in data.rules], label, "fingerprint rule")
    return data


def fill(template: str, match: re.Match[str]) -> str:
    """A claim value with {group} references replaced by the match's named groups."""
    groups = {k: v or "" for k, v in match.groupdict().items()}
    try:
        return template.format(**groups).strip()
    except (KeyError, IndexError, ValueError):
        return template


class FingerprintClaims:
    """Evidence values matched against the fingerprint rules."""

    def __init__(self, fingerprints: Fingerprints, names: MakerNames) -> None:
        self.rules = fingerprints.by_signal()
        self.names = names

    def claims(self, row: EvidenceRow) -> list[Claim]:
        out: list[Claim] = []
        for rule in self.rules.get(row.signal, ()):
            match = rule.compiled().match(row.value)
            if match is None:
                continue
            for attribute, template in rule.claims.items():
                value = fill(template, match)
                if not value:
                    continue
                maker_id = None
                if attribute in ("manufacturer", "brand"):
                    display, maker_id = self.names.resolve(value)
                    value = display if attribute == "manufacturer" else value
                out.append(Claim(attribute, value, rule.weight, f"{rule.id} ({rule.source})",
                                 maker_id))
        return out
