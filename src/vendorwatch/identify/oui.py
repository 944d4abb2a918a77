"""MAC address → organisation from the IEEE registry as packaged.

netaddr bundles the MA-L (24-bit) assignments only; Wireshark's database (PyPI `manuf`)
also carries the MA-M (28-bit) and MA-S (36-bit) blocks, where smaller makers such as
Nuctech (C0-9B-F4-B) sit inside a larger company's prefix. The longest block wins."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import manuf
import netaddr

from vendorwatch import signals
from vendorwatch.identify.claims import Claim, EvidenceRow
from vendorwatch.identify.makers import MakerNames


@dataclass(frozen=True)
class OuiAssignment:
    organisation: str
    block: str  # MA-S, MA-M or MA-L
    prefix: str  # e.g. C0:9B:F4:B0:00:00/28


_BLOCKS = ((12, "MA-S", 36), (20, "MA-M", 28))


@lru_cache(maxsize=1)
def _wireshark() -> manuf.MacParser:
    return manuf.MacParser(update=False)


def is_locally_administered(mac: str) -> bool:
    """Randomised and locally assigned MACs (bit 1 of the first octet) have no maker."""
    try:
        return bool(int(mac[:2], 16) & 0x02)
    except ValueError:
        return True


@lru_cache(maxsize=65536)
def lookup(mac: str) -> OuiAssignment | None:
    """The IEEE assignment covering `mac` (any common notation), or None."""
    digits = "".join(c for c in mac if c.isalnum()).lower()
    if len(digits) != 12 or is_locally_administered(digits):
        return None
    try:
        value = int(digits, 16)
    except ValueError:
        return None
    if value >> 40 & 1 or value >> 24 == 0:
        return None  # group (multicast) address; 00:00:00 is a placeholder far more often
        # than the 1980s Xerox interface its IEEE assignment names
    parser = _wireshark()
    for shift, block, bits in _BLOCKS:
        vendor = parser._masks.get((shift, value >> shift))
        if vendor is not None:
            return OuiAssignment(vendor.manuf_long or vendor.manuf, block, _prefix(value, bits))
    try:
        org = netaddr.EUI(value).oui.registration().org
    except (netaddr.NotRegisteredError, netaddr.AddrFormatError, IndexError):
        vendor = parser._masks.get((24, value >> 24))
        org = (vendor.manuf_long or vendor.manuf) if vendor is not None else None
    if not org or "IEEE Registration Authority" in org:
        return None
    return OuiAssignment(org.strip(), "MA-L", _prefix(value, 24))


def _prefix(value: int, bits: int) -> str:
    digits = f"{value >> (48 - bits) << (48 - bits):012X}"
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)) + f"/{bits}"


class OuiClaims:
    """`mac` evidence → manufacturer of the network interface (IEEE registry)."""

    WEIGHT = 0.6  # an interface maker is usually, not always, the device maker

    def __init__(self, names: MakerNames) -> None:
        self.names = names

    def claims(self, row: EvidenceRow) -> list[Claim]:
        if row.signal != signals.MAC:
            return []
        found = lookup(row.value)
        if found is None:
            return []
        display, maker_id = self.names.resolve(found.organisation)
        reason = f"IEEE {found.block} {found.prefix} {found.organisation}"
        return [Claim("manufacturer", display, self.WEIGHT, reason, maker_id)]
