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
An address in no declared zone falls in its subnet's zone (or in a network named closed
with `--closed-zone`, whatever its length); public addresses are "internet", multicast and
broadcast groups "multicast", and 0.0.0.0 / :: "unknown". These names are not for declared
zones, and neither is one network in two zones.
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
RESERVED = (INTERNET, "multicast", "unknown")
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
            network = _network(cidr)
            if network is None:
                raise ValueError(f"not a network: {cidr!r}")
            if network.prefixlen == 0:
                raise ValueError(f"{cidr!r} is every address: nothing would be internet")
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
        # by (version, prefix length), most specific first: the network's leading bits ->
        # zone, so a lookup costs one probe per prefix length, not one per network
        self._tables: dict[tuple[int, int], dict[int, str]] = {}
        for network, name in self._networks:
            shift = network.max_prefixlen - network.prefixlen
            table = self._tables.setdefault((network.version, network.prefixlen), {})
            table.setdefault(int(network.network_address) >> shift, name)
        # a closed network outside the declared zones (--closed-zone 10.40.0.0/16) is a zone
        # of its own, named by its canonical form, whatever its prefix length
        self._unknown_closed = sorted(n for n in closed_names - set(self._zones)
                                      if _network(n) is None)
        self._closed_networks = sorted(
            {net for n in closed_names - set(self._zones) if (net := _network(n))},
            key=lambda net: -net.prefixlen)
        self._closed_subnets = {str(net) for net in self._closed_networks}
        self._lookup = lru_cache(maxsize=1 << 16)(self._zone_name)

    @property
    def names(self) -> list[str]:
        return list(self._zones)

    def unknown_closed(self) -> set[str]:
        """Zones named closed (--closed-zone) that are neither declared nor a subnet zone."""
        return set(self._unknown_closed)

    def closed_problems(self) -> list[str]:
        """Why a zone named closed (`--closed-zone`) would check nothing, one line each:
        a name that is no declared zone, or a network that lies inside declared zones (its
        addresses belong to those zones; close them by name)."""
        known = ", ".join(self._zones) or "none declared"
        problems = [f"--closed-zone {name!r}: no such zone (zones: {known}; or give a "
                    f"subnet such as 10.20.0.0/24)" for name in self._unknown_closed]
        for net in self._closed_networks:
            inside = sorted({name for declared, name in self._networks
                             if declared.version == net.version
                             and net.network_address in declared
                             and net.broadcast_address in declared})
            if inside:
                problems.append(f"--closed-zone {str(net)!r} lies in declared zone "
                                f"{inside[0]!r}: close that zone by name")
        return problems

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
        bits = parsed.max_prefixlen
        for (version, prefixlen), table in self._tables.items():
            if version == parsed.version:
                found = table.get(int(parsed) >> (bits - prefixlen))
                if found is not None:
                    return found
        for network in self._closed_networks:
            if parsed.version == network.version and parsed in network:
                return str(network)
        if parsed.is_global and not parsed.is_multicast:
            return INTERNET
        if parsed.is_multicast or str(parsed) == "255.255.255.255":
            return "multicast"  # group and broadcast addresses: no one's zone
        if parsed.is_unspecified:
            return "unknown"  # 0.0.0.0 / :: (a host before DHCP gave it an address)
        prefix = 24 if parsed.version == 4 else 64
        return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


def _network(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def parse_zones(text: str, origin: str | Path) -> ZoneFile:
    """Validate a zone file's text; a one-line InputError naming the place otherwise.
    Zone names the matrix gives itself (internet, multicast, unknown, subnets such as
    10.20.0.0/24) are refused, as is one network claimed by two zones."""
    spec = load_yaml_model(text, origin, ZoneFile)
    owners: dict[Network, str] = {}
    for name, zone in spec.zones.items():
        if not name.strip():
            raise InputError(origin, "a zone needs a name", "zones")
        if name in RESERVED or _network(name) is not None:
            raise InputError(origin, f"zone name {name!r} is reserved: the zone matrix "
                             f"names {', '.join(RESERVED)} and undeclared subnets itself",
                             f"zones.{name}")
        for cidr in zone.cidrs:
            network = ipaddress.ip_network(cidr, strict=False)
            if owners.setdefault(network, name) != name:
                raise InputError(origin, f"{cidr} is in zone {owners[network]!r} too",
                                 f"zones.{name}.cidrs")
        for peer in zone.allowed_peers:
            if peer != INTERNET and peer not in spec.zones:
                raise InputError(origin, f"unknown zone {peer!r}", f"zones.{name}.allowed_peers")
    return spec


def read_zone_file(path: Path) -> str:
    """The zone file's text, validated (InputError otherwise)."""
    text = read_text(path)
    parse_zones(text, path)
    return text
