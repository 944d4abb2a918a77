"""Network zones of a site: which addresses belong together, how sensitive each zone is,
whether it is closed to the outside, and which other zones it may talk to.

A zone file is YAML::

    zones:
      cranes:
        cidrs: [10.20.0.0/24]
        sensitivity: vital        # low | medium | high | vital
        closed: true              # no traffic to or from outside the site is expected
        allowed_peers: [scada]    # zones it may open connections to; "internet" allows external
      scada:
        cidrs: [10.30.0.0/24, "fd00:30::/64"]
        sensitivity: high
        allowed_peers: [cranes, office]

Without a zone file every internal subnet (/24 for IPv4, /64 for IPv6) is a zone of its own
with no declared rules: the zone matrix is still drawn, but no flow is "not allowed".
An address in no declared zone falls in its subnet's zone; public addresses are "internet",
multicast and broadcast groups "multicast", and 0.0.0.0 / :: "unknown".
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vendorwatch.errors import InputError
from vendorwatch.files import load_yaml_model, read_text

INTERNET = "internet"
SENSITIVITIES = ("low", "medium", "high", "vital")
Sensitivity = Literal["low", "medium", "high", "vital"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class ZoneSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    cidrs: tuple[str, ...] = Field(min_length=1)
    sensitivity: Sensitivity = "medium"
    closed: bool = False
    allowed_peers: tuple[str, ...] = ()
    description: str = ""

    @field_validator("cidrs")
    @classmethod
    def _valid_cidrs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"not a network: {cidr!r}") from None
        return value


class ZoneFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    zones: dict[str, ZoneSpec] = Field(min_length=1)


@dataclass(frozen=True)
class Zone:
    name: str
    sensitivity: Sensitivity
    closed: bool
    allowed_peers: frozenset[str]
    declared: bool

    def allows(self, other: str) -> bool:
        return other == self.name or other in self.allowed_peers


class Zones:
    """Looks up the zone of an address (longest matching prefix of the declared zones,
    else the address's subnet)."""

    def __init__(self, spec: ZoneFile | None = None, closed: Iterable[str] = ()) -> None:
        self.declared = spec is not None
        self._zones: dict[str, Zone] = {}
        self._networks: list[tuple[Network, str]] = []
        closed_names = set(closed)
        for name, zone in (spec.zones.items() if spec else ()):
            self._zones[name] = Zone(name, zone.sensitivity, zone.closed or name in closed_names,
                                     frozenset(zone.allowed_peers), declared=True)
            for cidr in zone.cidrs:
                self._networks.append((ipaddress.ip_network(cidr, strict=False), name))
        # most specific network first
        self._networks.sort(key=lambda item: -item[0].prefixlen)
        self._closed_subnets = closed_names - set(self._zones)
        self._lookup = lru_cache(maxsize=1 << 16)(self._zone_name)

    @property
    def names(self) -> list[str]:
        return list(self._zones)

    def unknown_closed(self) -> set[str]:
        """Zones named closed (--closed-zone) that are neither declared nor a subnet zone."""
        out = set()
        for name in self._closed_subnets:
            try:
                ipaddress.ip_network(name, strict=False)
            except ValueError:
                out.add(name)
        return out

    def zone_of(self, address: str) -> str:
        return self._lookup(address)

    def zone(self, name: str) -> Zone:
        if name in self._zones:
            return self._zones[name]
        return Zone(name, "medium", name in self._closed_subnets, frozenset(), declared=False)

    def _zone_name(self, address: str) -> str:
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return "unknown"
        for network, name in self._networks:
            if parsed.version == network.version and parsed in network:
                return name
        if parsed.is_global and not parsed.is_multicast:
            return INTERNET
        if parsed.is_multicast or str(parsed) == "255.255.255.255":
            return "multicast"  # group and broadcast addresses: no one's zone
        if parsed.is_unspecified:
            return "unknown"  # 0.0.0.0 / :: (a host before DHCP gave it an address)
        prefix = 24 if parsed.version == 4 else 64
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def parse_zones(text: str, origin: str | Path) -> ZoneFile:
    """Validate a zone file's text; a one-line InputError naming the place otherwise."""
    spec = load_yaml_model(text, origin, ZoneFile)
    for name, zone in spec.zones.items():
        for peer in zone.allowed_peers:
            if peer != INTERNET and peer not in spec.zones:
                raise InputError(origin, f"unknown zone {peer!r}", f"zones.{name}.allowed_peers")
    return spec


def read_zone_file(path: Path) -> str:
    """The zone file's text, validated (InputError otherwise)."""
    text = read_text(path)
    parse_zones(text, path)
    return text
