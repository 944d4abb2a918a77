"""Concentration and kill-switch impact: per site and function (container scanning,
ship-to-shore cranes, CCTV…), the share of devices and of declared capacity that depends
on one maker, one ultimate owner, or one country — and what stops if those devices all
stop or become unreachable.

Devices are the asset register's rows (their `function` and `capacity`) plus observed
devices the register lacks (function from the device class, `data/functions.yaml`). A
register row that matches an observed device (by address or MAC) takes the maker the
*evidence* names when identification is confident, since the question is who really made
it; the basis of each attribution is kept.

Finding ``concentration``: a high- or critical-risk maker, or an ultimate owner of one,
holds at least half (high) or a quarter (medium) of a function's devices or capacity."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from vendorwatch.detect.interface import DetectContext, Detector, Finding, evidence_row
from vendorwatch.intel import Registry
from vendorwatch.store import Store

CONFIDENT = 0.6
HIGH_SHARE, MEDIUM_SHARE = 0.5, 0.25
HIGH_RISK = frozenset({"high", "critical"})


@cache
def class_functions() -> dict[str, str]:
    text = resources.files("vendorwatch.detect").joinpath("data/functions.yaml").read_text()
    data = yaml.safe_load(text) or {}
    return {str(k): str(v) for k, v in data.items()}


@dataclass
class Device:
    site: str
    name: str                      # asset id from the register, else the address
    ip: str | None
    function: str
    maker: str                     # maker's registry name, else as written
    maker_id: str | None
    risk: str
    basis: str                     # register | observed | register, maker from evidence
    capacity: float | None = None
    owners: list[str] = field(default_factory=list)      # ultimate owners' names
    owner_ids: set[str] = field(default_factory=set)     # maker and every controller
    countries: set[str] = field(default_factory=set)     # maker's and controllers'


def _maker_of(registry: Registry, name: str) -> Any:
    """The registry maker a name denotes: a maker's own name, else a brand's true maker
    ("LTS" → Hikvision); None when neither."""
    maker = registry.match_organisation(name) if name else None
    if maker is None and name:
        brand = registry.brand(name)
        maker = registry.maker(brand.maker) if brand is not None else None
    return maker


def _attribute(registry: Registry, device: Device) -> Device:
    maker = _maker_of(registry, device.maker)
    if maker is None:
        return device
    device.maker, device.maker_id = maker.name, maker.id
    device.risk = registry.assess(maker.id).level
    graph = registry.ownership
    chain = {maker.id, *graph.controllers(maker.id)} if maker.id in graph.control else {maker.id}
    device.owner_ids = chain
    device.countries = {c for p in chain if (party := registry.party(p)) and (c := party.country)}
    tops = graph.ultimate_owners(maker.id) or [maker.id]
    device.owners = sorted(party.name for p in tops if (party := registry.party(p)))
    return device


def devices(store: Store, registry: Registry, site: str | None = None) -> list[Device]:
    """Every device that serves a function, from the register and from observation."""
    observed = store.query("SELECT site, ip, mac, manufacturer, device_class, confidence, risk "
                           "FROM assets")
    by_ip = {(a["site"], a["ip"]): a for a in observed}
    by_mac = {(a["site"], a["mac"]): a for a in observed if a["mac"]}
    matched: set[tuple[str, str]] = set()
    out: list[Device] = []
    for row in store.query(
        "SELECT asset_id, ip, mac, manufacturer, brand, function, capacity, site "
        "FROM current_register_assets ORDER BY site, asset_id"
    ):
        seen = by_ip.get((row["site"], row["ip"])) or by_mac.get((row["site"], row["mac"]))
        maker, basis = row["manufacturer"] or row["brand"] or "", "register"
        if seen is not None:
            matched.add((seen["site"], seen["ip"]))
            if seen["manufacturer"] and seen["confidence"] >= CONFIDENT and \
                    seen["manufacturer"] != maker:
                maker, basis = seen["manufacturer"], "register, maker from evidence"
        function = row["function"] or (class_functions().get(seen["device_class"] or "")
                                       if seen else None)
        if not function:
            continue
        out.append(_attribute(registry, Device(
            row["site"], row["asset_id"], row["ip"] or (seen["ip"] if seen else None),
            function, maker or "unknown", None, "low", basis, row["capacity"])))
    for asset in observed:
        function = class_functions().get(asset["device_class"] or "")
        if (asset["site"], asset["ip"]) in matched or not function:
            continue
        out.append(_attribute(registry, Device(
            asset["site"], asset["ip"], asset["ip"], function,
            asset["manufacturer"] or "unidentified", None, asset["risk"], "observed")))
    # one group per function however its rows spell it ("CCTV", "cctv"): the first
    # spelling (the register's before the device classes') names it
    spelling: dict[tuple[str, str], str] = {}
    for device in out:
        device.function = spelling.setdefault(
            (device.site, " ".join(device.function.casefold().split())),
            device.function.strip())
    return [d for d in out if site is None or d.site == site]


def concentration(found: list[Device]) -> list[dict[str, Any]]:
    """Per (site, function): each maker's and each ultimate owner's share of devices and
    of declared capacity."""
    groups: dict[tuple[str, str], list[Device]] = defaultdict(list)
    for device in found:
        groups[(device.site, device.function)].append(device)
    rows = []
    for (site, function), members in sorted(groups.items()):
        total_capacity = sum(d.capacity or 0 for d in members)
        declared = sum(1 for d in members if d.capacity is not None)
        for level, names_of in (("maker", lambda d: [d.maker]),
                                ("owner", lambda d: d.owners or [d.maker])):
            holders: dict[str, list[Device]] = defaultdict(list)
            for device in members:
                for name in names_of(device):
                    holders[name].append(device)
            for name, held in sorted(holders.items(), key=lambda kv: -len(kv[1])):
                capacity = sum(d.capacity or 0 for d in held)
                rows.append({
                    "site": site, "function": function, "level": level, "name": name,
                    "devices": len(held), "of_devices": len(members),
                    "share": round(len(held) / len(members), 3),
                    "capacity": capacity if total_capacity else None,
                    # shares of capacity count only devices that declare one
                    "capacity_declared": declared,
                    "capacity_share": round(capacity / total_capacity, 3)
                    if total_capacity else None,
                    "risk": max((d.risk for d in held), key=_risk_rank),
                    "devices_list": sorted(d.name for d in held),
                    "addresses": {d.name: d.ip for d in held},
                })
    return rows


def _risk_rank(risk: str) -> int:
    return ("low", "medium", "high", "critical").index(risk) if risk in (
        "low", "medium", "high", "critical") else 0


def select(
    registry: Registry, found: list[Device], maker: str | None = None,
    owner: str | None = None, country: str | None = None,
) -> tuple[list[Device], str]:
    """The devices that stop if a maker, an owner (and everything it controls) or a
    country's companies pull the plug; and a description of the scenario."""
    if maker is not None:
        hit = _maker_of(registry, maker)
        wanted = hit.name if hit else maker
        chosen = [d for d in found
                  if (hit and d.maker_id == hit.id) or d.maker.lower() == maker.lower()]
        if hit is not None and registry.match_organisation(maker) is None:
            wanted += f" (whose brand {maker} is)"
        elif hit is None and not chosen:
            wanted += " (no maker or brand of that name in the registry or on the devices)"
        return chosen, f"every device made by {wanted}"
    if owner is not None:
        party = _find_party(registry, owner)
        if party is None:
            return [], f"every device of a maker controlled by {owner} (not in the registry)"
        chosen = [d for d in found if party.id in d.owner_ids]
        return chosen, f"every device of a maker controlled by {party.name}"
    if country is not None:
        code = country.upper()
        chosen = [d for d in found if code in d.countries]
        return chosen, f"every device of a maker based in or controlled from {code}"
    return [], "nothing"


def known_name(
    registry: Registry, found: list[Device], maker: str | None = None,
    owner: str | None = None,
) -> bool:
    """Whether a maker (or brand) or owner name denotes anyone: the registry knows it, or
    a device carries it. A country is always a valid question."""
    if maker is not None:
        return _maker_of(registry, maker) is not None or any(
            d.maker.lower() == maker.lower() for d in found)
    if owner is not None:
        return _find_party(registry, owner) is not None
    return True


def _find_party(registry: Registry, name: str) -> Any:
    wanted = name.strip().lower()
    for party in [*registry.makers.values(), *registry.organisations.values()]:
        names = {party.id, party.name, *party.legal_names, *party.aliases}
        if wanted in {n.lower() for n in names}:
            return party
    return registry.match_organisation(name)


def impact(found: list[Device], lost: list[Device]) -> list[dict[str, Any]]:
    """Per (site, function): how much stops when the `lost` devices stop."""
    lost_names = {(d.site, d.name) for d in lost}
    groups: dict[tuple[str, str], list[Device]] = defaultdict(list)
    for device in found:
        groups[(device.site, device.function)].append(device)
    rows: list[dict[str, Any]] = []
    for (site, function), members in sorted(groups.items()):
        gone = [d for d in members if (d.site, d.name) in lost_names]
        capacity = sum(d.capacity or 0 for d in members)
        capacity_lost = sum(d.capacity or 0 for d in gone)
        rows.append({
            "site": site, "function": function, "devices": len(members),
            "devices_lost": len(gone), "share_lost": round(len(gone) / len(members), 3),
            "capacity": capacity or None, "capacity_lost": capacity_lost if capacity else None,
            "capacity_declared": sum(1 for d in members if d.capacity is not None),
            "capacity_share_lost": round(capacity_lost / capacity, 3) if capacity else None,
            "remaining": len(members) - len(gone),
            "lost": sorted(f"{d.name} ({d.maker}; {d.basis})" for d in gone),
        })
    rows.sort(key=lambda r: (-r["share_lost"], r["site"], r["function"]))
    return rows


class Concentration(Detector):
    kind = "concentration"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        found = devices(ctx.store, ctx.registry)
        for row in concentration(found):
            if row["risk"] not in HIGH_RISK or row["of_devices"] < 2:
                continue
            share = max(row["share"], row["capacity_share"] or 0)
            if share < MEDIUM_SHARE:
                continue
            what = "maker" if row["level"] == "maker" else "ultimate owner"
            capacity = (f", {row['capacity_share']:.0%} of declared capacity"
                        if row["capacity_share"] is not None else "")
            if capacity and row["capacity_declared"] < row["of_devices"]:
                capacity += (f" — declared for {row['capacity_declared']} of "
                             f"{row['of_devices']} devices")
            yield Finding(
                kind=self.kind, severity="high" if share >= HIGH_SHARE else "medium",
                site=row["site"], asset_ip=None,
                key=f"{row['function']}|{row['level']}|{row['name']}",
                summary=f"{row['function']}: {row['devices']} of {row['of_devices']} devices "
                        f"({row['share']:.0%}{capacity}) depend on {what} {row['name']} "
                        f"({row['risk']} risk)",
                evidence=[evidence_row(None, row["addresses"][name] or name, None, "device",
                                       f"{row['function']}: {name} ({row['name']})",
                                       "register/observation")
                          for name in row["devices_list"][:50]],
                details={k: v for k, v in row.items() if k != "addresses"},
            )
