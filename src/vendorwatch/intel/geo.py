"""Country and autonomous system of public addresses, offline, from geoip2fast's bundled
data (country + ASN, IPv4 and IPv6)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from functools import lru_cache

DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"


@dataclass(frozen=True)
class Place:
    country: str | None  # ISO 3166 alpha-2, None when unknown
    country_name: str | None
    asn_name: str | None
    network: str | None


class Geo:
    """Looks up public addresses; private and reserved ones give an empty Place."""

    def __init__(self) -> None:
        from geoip2fast import GeoIP2Fast

        with contextlib.redirect_stdout(io.StringIO()):
            self._db = GeoIP2Fast(geoip2fast_data_file=DATA_FILE)
        self.lookup = lru_cache(maxsize=200_000)(self._lookup)

    def _lookup(self, ip: str) -> Place:
        try:
            found = self._db.lookup(ip)
        except Exception:  # geoip2fast raises plain exceptions on malformed input
            return Place(None, None, None, None)
        code = found.country_code or ""
        if len(code) != 2 or not code.isalpha() or getattr(found, "is_private", False):
            return Place(None, None, found.asn_name or None, None)
        return Place(code, found.country_name or None, found.asn_name or None,
                     found.asn_cidr or found.cidr or None)
