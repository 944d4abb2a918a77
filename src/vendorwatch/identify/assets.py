"""Assets from evidence: one row per device of a site, with its manufacturer, brand, model,
device class, confidence, risk and the evidence rows behind each attribute."""

from __future__ import annotations

import ipaddress
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vendorwatch import signals
from vendorwatch.identify.claims import Claim, ClaimSource, EvidenceRow
from vendorwatch.identify.clouds import CloudClaims
from vendorwatch.identify.fingerprints import FingerprintClaims, load_fingerprints
from vendorwatch.identify.makers import MakerNames
from vendorwatch.identify.oui import OuiClaims
from vendorwatch.intel import Registry, load_registry
from vendorwatch.store import Store

# Signals about a host's own link presence: a host with these is on the site's LAN even
# when its address is public.
LOCAL_SIGNALS = frozenset({
    signals.DHCP_HOSTNAME, signals.DHCP_VENDOR_CLASS, signals.DHCP_PARAM_LIST,
    signals.LLDP_SYSTEM_NAME, signals.LLDP_SYSTEM_DESCRIPTION, signals.CDP_DEVICE_ID,
    signals.CDP_PLATFORM,
})
# Signals never used for identity (volume without maker information).
SKIPPED_SIGNALS = ("app", "tls.ja4", "dns.answer")
BRAND_TO_MAKER = 0.8  # a device announcing a maker's name as its brand supports that maker
OEM_TO_MAKER = 0.3  # a brand known as another maker's OEM relabel supports that maker


@dataclass
class Scored:
    value: str
    maker_id: str | None
    score: float = 0.0
    support: list[tuple[EvidenceRow, Claim]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, row: EvidenceRow, claim: Claim) -> None:
        marker = (claim.reason, row.value)
        self.support.append((row, claim))
        if marker in self._seen:
            return  # the same fact from another source does not count twice
        self._seen.add(marker)
        self.score = 1 - (1 - self.score) * (1 - claim.weight)


@dataclass
class Host:
    site: str
    ip: str
    rows: list[EvidenceRow] = field(default_factory=list)
    other_addresses: list[str] = field(default_factory=list)

    def signal_values(self, signal: str) -> list[str]:
        return [r.value for r in self.rows if r.signal == signal]


def is_mac_key(host: str) -> bool:
    """A host known only by its MAC (LLDP/CDP without a management address)."""
    parts = host.split(":")
    return len(parts) == 6 and all(len(part) == 2 for part in parts)


def is_internal(address: str) -> bool:
    """Private, link-local, unique-local and shared (CGNAT) addresses; MAC-keyed hosts."""
    if is_mac_key(address):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.is_multicast or ip.is_unspecified or ip.is_loopback or ip.is_reserved:
        return False  # reserved: 240.0.0.0/4 and 255.255.255.255 are never a device
    shared = ip.version == 4 and ip in ipaddress.IPv4Network("100.64.0.0/10")
    return bool(ip.is_private or ip.is_link_local or shared)


class Identifier:
    """Weighs the claims of every claim source into asset attributes."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry or load_registry()
        names = MakerNames(self.registry)
        self.sources: list[ClaimSource] = [
            OuiClaims(names),
            FingerprintClaims(load_fingerprints(), names),
            CloudClaims(self.registry),
        ]
        self.names = names

    def attribute(self, host: Host) -> dict[str, Any]:
        scored: dict[str, dict[str, Scored]] = defaultdict(dict)
        for row in host.rows:
            for source in self.sources:
                for claim in source.claims(row):
                    self._add(scored, row, claim)
        for announced in list(scored["brand"].values()):
            self._brand_supports_maker(scored, announced)
        chosen = {attr: _best(options) for attr, options in scored.items()}
        maker = chosen.get("manufacturer")
        brand = chosen.get("brand")
        model = chosen.get("model")
        maker_id = maker.maker_id if maker else None
        risk, listings = self.registry.risk(maker_id)
        device_class = chosen.get("device_class")
        brand_name = brand.value if brand else None
        if maker and (brand is None or (brand.maker_id and brand.maker_id == maker.maker_id)):
            brand_name = maker.value  # the maker's own brand, spelled as the registry does
        return {
            "manufacturer": maker.value if maker else None,
            "brand": brand_name,
            "model": model.value if model else None,
            "device_class": device_class.value if device_class else self._maker_class(maker_id),
            "confidence": round(maker.score, 3) if maker else 0.0,
            "risk": risk,
            "listings": listings,
            "support": [(a, s) for a, s in chosen.items() if s is not None],
        }

    def _add(self, scored: dict[str, dict[str, Scored]], row: EvidenceRow, claim: Claim) -> None:
        options = scored[claim.attribute]
        entry = options.get(claim.key)
        if entry is None:
            entry = options[claim.key] = Scored(claim.value, claim.maker_id)
        entry.add(row, claim)

    def _brand_supports_maker(self, scored: dict[str, dict[str, Scored]], brand: Scored) -> None:
        """An announced brand that is a maker's own name supports that maker; a brand known
        as a maker's OEM relabel supports the true maker, more weakly."""
        row, claim = brand.support[0]
        if brand.maker_id is not None:
            maker = self.registry.maker(brand.maker_id)
            if maker is not None:
                self._add(scored, row, Claim(
                    "manufacturer", maker.name, claim.weight * BRAND_TO_MAKER,
                    f"announces brand {brand.value} ({claim.reason})", maker.id))
            return
        relabel = self.registry.brand(brand.value)
        if relabel is None or not relabel.maker:
            return
        maker = self.registry.maker(relabel.maker)
        if maker is None:
            return
        self._add(scored, row, Claim(
            "manufacturer", maker.name, OEM_TO_MAKER,
            f"brand {brand.value} is an OEM relabel of {maker.name} ({relabel.source})", maker.id))

    def _maker_class(self, maker_id: str | None) -> str | None:
        maker = self.registry.maker(maker_id) if maker_id else None
        classes = list(getattr(maker, "device_classes", []) or []) if maker else []
        return classes[0] if len(classes) == 1 else None


def _best(options: dict[str, Scored]) -> Scored | None:
    if not options:
        return None
    return max(options.values(), key=lambda s: (s.score, len(s.support), s.value))


def load_hosts(store: Store) -> list[Host]:
    """Every internal host of every site (and public ones with link-local evidence such as
    DHCP), with its identity evidence; hosts known only by MAC merge into the host that
    carries that MAC."""
    skipped = ", ".join(f"'{s}'" for s in SKIPPED_SIGNALS)
    rows = store.con.execute(
        f"""SELECT s.site, e.ip, e.signal, e.value, min(e.source), min(e.ts), max(e.ts)
            FROM evidence e JOIN sources s ON s.id = e.source_id
            WHERE e.signal NOT IN ({skipped})
            GROUP BY s.site, e.ip, e.signal, e.value
            ORDER BY s.site, e.ip, e.signal, e.value"""
    ).fetchall()
    hosts: dict[tuple[str, str], Host] = {}
    for site, ip, signal, value, source, first, last in rows:
        host = hosts.setdefault((site, ip), Host(site, ip))
        host.rows.append(EvidenceRow(site, ip, signal, value, source, first, last))
    for site, ip in store.con.execute(
        # A host that sent something: broadcast addresses and unanswered probes never do.
        """SELECT DISTINCT s.site, f.ip FROM (
               SELECT source_id, src_ip AS ip FROM flows UNION ALL
               SELECT source_id, dst_ip FROM flows WHERE dst_packets > 0) f
           JOIN sources s ON s.id = f.source_id"""
    ).fetchall():
        hosts.setdefault((site, ip), Host(site, ip))
    kept = {
        key: host for key, host in hosts.items()
        if is_internal(host.ip) or any(r.signal in LOCAL_SIGNALS for r in host.rows)
    }
    _merge_mac_keyed(kept)
    _merge_dual_stack(kept)
    return sorted(kept.values(), key=lambda h: (h.site, _sort_key(h.ip)))


def _merge_mac_keyed(hosts: dict[tuple[str, str], Host]) -> None:
    by_mac: dict[tuple[str, str], Host] = {}
    for host in hosts.values():
        if is_mac_key(host.ip):
            continue
        for mac in host.signal_values(signals.MAC):
            by_mac.setdefault((host.site, mac), host)
    for key, host in list(hosts.items()):
        target = by_mac.get((host.site, host.ip))
        if target is not None and target is not host:
            target.rows.extend(host.rows)
            del hosts[key]


def _merge_dual_stack(hosts: dict[tuple[str, str], Host]) -> None:
    """IPv6 hosts whose interface MAC is that of exactly one IPv4 host are that host."""
    v4_by_mac: dict[tuple[str, str], list[Host]] = {}
    for host in hosts.values():
        if "." in host.ip:
            for mac in set(host.signal_values(signals.MAC)):
                v4_by_mac.setdefault((host.site, mac), []).append(host)
    for key, host in list(hosts.items()):
        if "." in host.ip or is_mac_key(host.ip):
            continue
        macs = set(host.signal_values(signals.MAC))
        owners = {id(o): o for m in macs for o in v4_by_mac.get((host.site, m), [])}
        if len(owners) == 1:
            (target,) = owners.values()
            target.rows.extend(host.rows)
            target.other_addresses.append(host.ip)
            del hosts[key]


def _sort_key(ip: str) -> tuple[int, Any]:
    try:
        parsed = ipaddress.ip_address(ip)
        return (parsed.version, int(parsed))
    except ValueError:
        return (9, ip)


def _host_mac(host: Host) -> str | None:
    macs = sorted(set(host.signal_values(signals.MAC)))
    return macs[0] if macs else None


def _seen_bounds(store: Store) -> dict[tuple[str, str], tuple[datetime, datetime]]:
    rows = store.con.execute(
        """SELECT s.site, x.ip, min(x.t0), max(x.t1) FROM (
               SELECT source_id, src_ip AS ip, ts_first AS t0, ts_last AS t1 FROM flows
               UNION ALL SELECT source_id, dst_ip, ts_first, ts_last FROM flows
               UNION ALL SELECT source_id, ip, ts, ts FROM evidence) x
           JOIN sources s ON s.id = x.source_id GROUP BY s.site, x.ip"""
    ).fetchall()
    return {(site, ip): (first, last) for site, ip, first, last in rows}


def identify_assets(store: Store, registry: Registry | None = None) -> int:
    """Rebuild the assets and asset_evidence tables from evidence; returns the asset count."""
    identifier = Identifier(registry)
    bounds = _seen_bounds(store)
    assets: list[dict[str, Any]] = []
    support: list[dict[str, Any]] = []
    for host in load_hosts(store):
        found = identifier.attribute(host)
        seen = [bounds[(host.site, a)] for a in (host.ip, *host.other_addresses)
                if (host.site, a) in bounds]
        first = min((b[0] for b in seen if b[0]), default=None)
        last = max((b[1] for b in seen if b[1]), default=None)
        assets.append({
            "site": host.site, "ip": host.ip, "mac": _host_mac(host),
            "manufacturer": found["manufacturer"], "brand": found["brand"],
            "model": found["model"], "device_class": found["device_class"],
            "confidence": found["confidence"], "risk": found["risk"],
            "listings": json.dumps(found["listings"]), "first_seen": first, "last_seen": last,
            "addresses": json.dumps(sorted(host.other_addresses)),
        })
        for attribute, scored in found["support"]:
            for row, claim in scored.support:
                support.append({
                    "site": host.site, "ip": host.ip, "source": row.source,
                    "signal": row.signal, "value": row.value,
                    "claim": f"{attribute}={scored.value}: {claim.reason}",
                    "weight": claim.weight,
                })
    store.replace_tables({"assets": assets, "asset_evidence": support})
    return len(assets)
