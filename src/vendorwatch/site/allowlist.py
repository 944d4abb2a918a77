"""Endpoints the operator expects devices to reach, each with a reason and an expiry.

An allowlist file is YAML::

    entries:
      - endpoint: "*.windowsupdate.com"   # host name (shell-style pattern), address or CIDR
        assets: [10.40.0.0/24]            # optional: only for these devices (addresses, CIDRs)
        kinds: [internet-traffic, beaconing]   # optional: only findings of these kinds
        reason: Windows Update for the office PCs
        expires: 2027-06-30               # required: an allowance is reviewed, not forever
        owner: IT operations

An endpoint that matches everything ("*", "*.*", 0.0.0.0/0) is refused unless the entry
names both its assets and its kinds: it would silence every finding about an endpoint.

A finding is allowlisted while every endpoint it is about is covered by an entry that has
not expired; once the entry expires the finding is open again. Findings that are not
about endpoints (a maker's device being present) cannot be allowlisted, only triaged.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vendorwatch.files import load_yaml_model, read_text


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _matches_everything(endpoint: str) -> bool:
    """A pattern of nothing but wildcards and dots ("*", "*.*", "?*") or a /0 network."""
    network = _network(endpoint)
    if network is not None:
        return network.prefixlen == 0
    return not endpoint.strip().strip("*?.[]!")


class AllowEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: str = Field(min_length=1)
    assets: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    reason: str = Field(min_length=1)
    expires: date
    owner: str = ""

    @field_validator("assets")
    @classmethod
    def _valid_assets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if _network(item) is None:
                raise ValueError(f"not an address or network: {item!r}")
        return value

    @model_validator(mode="after")
    def _not_everything(self) -> AllowEntry:
        if _matches_everything(self.endpoint) and not (self.assets and self.kinds):
            raise ValueError(
                f"endpoint {self.endpoint!r} matches every endpoint and would silence every "
                f"finding about one: name the endpoints, or limit it with both assets and kinds")
        return self

    def covers_endpoint(self, endpoint: str) -> bool:
        wanted = _network(self.endpoint)
        if wanted is not None:
            try:
                return ipaddress.ip_address(endpoint) in wanted
            except ValueError:
                return False
        return fnmatch.fnmatch(endpoint.lower().rstrip("."), self.endpoint.lower().rstrip("."))

    def covers_asset(self, asset_ip: str | None) -> bool:
        if not self.assets:
            return True
        if asset_ip is None:
            return False
        try:
            address = ipaddress.ip_address(asset_ip)
        except ValueError:
            return False
        return any(address in net for net in (_network(a) for a in self.assets) if net)


class AllowlistFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: tuple[AllowEntry, ...] = ()


class Allowlist:
    def __init__(self, spec: AllowlistFile | None = None) -> None:
        self.entries = spec.entries if spec else ()

    def decide(
        self, kind: str, asset_ip: str | None, endpoints: Iterable[Endpoint], today: date
    ) -> tuple[str, AllowEntry | None]:
        """("allowlisted", entry) when every endpoint is covered by a live entry;
        ("expired", entry) when they were covered only with entries that have expired;
        ("none", None) otherwise. An endpoint is an (address, name) pair: an entry covers
        it by either."""
        wanted = sorted(set(endpoints), key=str)
        if not wanted or not self.entries:
            return "none", None
        candidates = [e for e in self.entries
                      if (not e.kinds or kind in e.kinds) and e.covers_asset(asset_ip)]
        live = [e for e in candidates if e.expires >= today]
        if live and all(_covered(p, live) for p in wanted):
            return "allowlisted", next(e for e in live if any(_covered(p, [e]) for p in wanted))
        if candidates and all(_covered(p, candidates) for p in wanted):
            expired = [e for e in candidates
                       if e.expires < today and any(_covered(p, [e]) for p in wanted)]
            return "expired", max(expired, key=lambda e: e.expires)
        return "none", None


# (address, name): either may be empty
Endpoint = tuple[str, str]


def _covered(endpoint: Endpoint, entries: Iterable[AllowEntry]) -> bool:
    address, name = endpoint
    return any((address and e.covers_endpoint(address)) or (name and e.covers_endpoint(name))
               for e in entries)


def parse_allowlist(text: str, origin: str | Path) -> AllowlistFile:
    return load_yaml_model(text, origin, AllowlistFile)


def read_allowlist_file(path: Path) -> str:
    """The allowlist file's text, validated (InputError otherwise)."""
    text = read_text(path)
    parse_allowlist(text, path)
    return text
