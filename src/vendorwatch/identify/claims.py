"""Claims: what one evidence row says about its host, and how much it counts.

Every identity signal family is a `ClaimSource` in its own module (oui, fingerprints,
clouds); `assets.py` weighs the claims of all of them per host."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Attribute = Literal["manufacturer", "brand", "model", "device_class"]


@dataclass(frozen=True)
class EvidenceRow:
    """One distinct identity fact about a host, over all sources of a site."""

    site: str
    ip: str
    signal: str
    value: str
    source: str
    first_seen: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class Claim:
    """`attribute` = `value` for the row's host, with `weight` in 0..1 and a reason a
    reader can check (a rule id and its source, an IEEE block, a vendor endpoint)."""

    attribute: Attribute
    value: str
    weight: float
    reason: str
    maker_id: str | None = None

    @property
    def key(self) -> str:
        """Claims about the same thing add up: the maker id when known, else the value."""
        return self.maker_id or " ".join(self.value.lower().split())


class ClaimSource(Protocol):
    def claims(self, row: EvidenceRow) -> list[Claim]:
        """Claims that `row` makes about its host (none when it says nothing)."""
        ...
