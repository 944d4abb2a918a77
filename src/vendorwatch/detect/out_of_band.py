"""Out-of-band paths: ways in and out of the site that bypass its firewall.

Three kinds of finding:

- ``cellular-device``: a cellular router, gateway or modem on the LAN. Which makers and names
  mean "cellular" is in the data file `data/cellular.yaml`: the asset's manufacturer (as
  identify/ resolved it) or the IEEE organisation of its MAC (identify/oui.py) matching an
  entry whose maker builds little else (`maker_suffices`), or its identity evidence (DHCP
  host name such as ``RUT955``, LLDP/SNMP names, HTTP server banners, ...) matching an
  entry's `names`; or identify/ having classed it as a cellular router or module. High; critical
  when an operational device (`OPERATIONAL_CLASSES`) or a high-risk maker's device sends its
  internet traffic through it.
- ``second-gateway``: for each subnet (/24 IPv4, /64 IPv6, per site and VLAN), the MACs its
  traffic to public addresses goes through (``dst_mac`` of outbound flows, ``src_mac`` of
  inbound ones), plus the subnet's router for other internal subnets (a MAC that carries the
  subnet's traffic to at least two addresses outside it and is not theirs). More than one
  internet gateway, or an internet gateway that is not the subnet's router, means traffic
  leaves through more than one device: each gateway is listed with its maker (IEEE OUI) and
  the hosts that used it. High when a gateway is a cellular device or maker, else medium.
- ``intermittent-presence``: a device that falls silent again and again while the rest of the
  site keeps talking, as one that switches to another link would. A silence counts when it is
  longer than `GAP_FACTOR` times the device's median time between connection starts and at
  least `MIN_GAP_SECONDS`, and the site's own longest silence inside it is at most half of it
  (the capture was running). `MIN_GAPS` such silences make a low-severity finding, for
  devices with at least `MIN_CONNECTIONS` connections whose rhythm is otherwise steady: pauses
  of `GAP_FACTOR` times the median step (of any length) are at most `STEADY_SHARE` of their
  connections (or `MIN_GAPS`), which leaves out bursty, human-driven traffic.

Flows without MACs (most flow exports, Zeek without mac-logging) give no gateway evidence;
flows without times give no presence evidence."""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vendorwatch import signals
from vendorwatch.detect.interface import (
    DetectContext,
    Detector,
    Finding,
    asset_addresses,
    evidence_row,
)
from vendorwatch.detect.internet_exposure import OPERATIONAL_CLASSES, is_public
from vendorwatch.files import load_data_file, require_unique
from vendorwatch.identify import oui

MAX_EVIDENCE = 50
CELLULAR_CLASSES = frozenset({"cellular-router", "cellular-module"})
# Identity evidence searched for cellular names.
NAME_SIGNALS = (
    signals.DHCP_HOSTNAME, signals.DHCP_VENDOR_CLASS, signals.MDNS_NAME,
    signals.LLDP_SYSTEM_NAME, signals.LLDP_SYSTEM_DESCRIPTION, signals.CDP_DEVICE_ID,
    signals.CDP_PLATFORM, signals.SNMP_SYSNAME, signals.SNMP_SYSDESCR, signals.HTTP_SERVER,
    signals.SSDP_SERVER, signals.SOFTWARE, signals.TLS_CERT_SUBJECT,
)
# A MAC is the subnet's router for internal traffic when it carries the subnet's traffic to
# at least this many addresses outside it (a host's own MAC carries only its own).
MIN_ROUTED_PEERS = 2
# Intermittent presence.
GAP_FACTOR = 10.0
MIN_GAP_SECONDS = 300.0
MIN_GAPS = 3
MIN_CONNECTIONS = 10
SITE_SILENCE_SHARE = 0.5
# A steady device: pauses (silences of GAP_FACTOR times its median step or more, of any
# length) are at most this share of its connections. Bursty, human-driven traffic
# (workstations browsing) pauses all the time and is left out.
STEADY_SHARE = 0.1
REGULAR_SPREAD = 0.25  # gaps within ±25% of their median length are called regular
ZERO_MAC = "00:00:00:00:00:00"


# --- the data file -------------------------------------------------------------------------


class CellularEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    maker: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    makers: list[str] = Field(min_length=1)
    maker_suffices: bool
    names: list[str] = []

    @field_validator("makers", "names")
    @classmethod
    def _compile(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern {value!r} does not compile: {exc}") from None
        return values

    def maker_patterns(self) -> list[re.Pattern[str]]:
        return [_compiled(p) for p in self.makers]

    def name_patterns(self) -> list[re.Pattern[str]]:
        return [_compiled(p) for p in self.names]


class CellularCatalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int
    entries: list[CellularEntry] = Field(min_length=1)

    def maker_entry(self, text: str | None, alone: bool = False) -> CellularEntry | None:
        """The entry whose maker patterns match `text` (with `alone`, only entries whose maker
        suffices)."""
        if not text:
            return None
        for entry in self.entries:
            if alone and not entry.maker_suffices:
                continue
            if any(p.search(text) for p in entry.maker_patterns()):
                return entry
        return None

    def name_entry(self, text: str) -> CellularEntry | None:
        for entry in self.entries:
            if any(p.search(text) for p in entry.name_patterns()):
                return entry
        return None


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def load_cellular(path: Path | None = None) -> CellularCatalogue:
    """Load and validate the cellular catalogue (the packaged file unless `path` is given)."""
    packaged = resources.files("vendorwatch.detect") / "data" / "cellular.yaml"
    catalogue, label = load_data_file(CellularCatalogue, packaged, path, "cellular catalogue")
    require_unique([e.id for e in catalogue.entries], label, "cellular entry")
    return catalogue


@lru_cache(maxsize=1)
def _packaged() -> CellularCatalogue:
    return load_cellular()


# --- helpers ---------------------------------------------------------------------------------


def normal_mac(value: str | None) -> str | None:
    """A unicast, non-zero MAC in lower-case colon notation, else None."""
    if not value:
        return None
    digits = "".join(c for c in value if c.isalnum()).lower()
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        return None
    text = ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    if text == ZERO_MAC or int(digits[:2], 16) & 1:
        return None
    return text


@lru_cache(maxsize=1 << 16)
def subnet_of(address: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) of an address; None for addresses no gateway serves
    (link-local, loopback, multicast, unspecified) and for non-addresses."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.is_link_local or ip.is_loopback or ip.is_multicast or ip.is_unspecified:
        return None
    if ip.version == 4 and address == "255.255.255.255":
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass
class Cellular:
    """Why one asset is a cellular device."""

    entry_ids: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def add(self, reason: str, row: dict[str, Any] | None = None,
            entry: CellularEntry | None = None) -> None:
        if entry is not None:
            self.entry_ids.add(entry.id)
        if reason not in self.reasons:
            self.reasons.append(reason)
        if row is not None and len(self.evidence) < MAX_EVIDENCE:
            self.evidence.append(row)


@dataclass
class Gateway:
    """One MAC carrying a subnet's traffic off the subnet."""

    mac: str
    internet_hosts: set[str] = field(default_factory=set)
    internet_flows: int = 0
    internal_hosts: set[str] = field(default_factory=set)
    routed_peers: set[str] = field(default_factory=set)
    internal_flows: int = 0
    first: datetime | None = None
    last: datetime | None = None
    samples: list[tuple[datetime | None, str, str, str, str]] = field(default_factory=list)
    site_wide: bool = False  # the site's usual gateway, seen on the site's other subnets

    def seen(self, first: datetime | None, last: datetime | None) -> None:
        if first is not None and (self.first is None or first < self.first):
            self.first = first
        if last is not None and (self.last is None or last > self.last):
            self.last = last


class Assets:
    """The assets table by (site, address) and by (site, MAC)."""

    def __init__(self, ctx: DetectContext) -> None:
        self.rows = {(a["site"], a["ip"]): a for a in ctx.store.query("SELECT * FROM assets")}
        self.by_address: dict[tuple[str, str], str] = {}
        self.by_mac: dict[tuple[str, str], str] = {}
        for (site, ip), asset in self.rows.items():
            self.by_address[(site, ip)] = ip
            for other in asset_addresses(asset.get("addresses")):
                self.by_address.setdefault((site, other), ip)
            mac = normal_mac(asset.get("mac"))
            if mac:
                self.by_mac.setdefault((site, mac), ip)
                self.by_address.setdefault((site, mac), ip)  # MAC-keyed evidence hosts

    def of(self, site: str, address: str) -> dict[str, Any] | None:
        ip = self.by_address.get((site, address))
        if ip is None:
            mac = normal_mac(address) if address.count(":") == 5 else None
            ip = self.by_mac.get((site, mac)) if mac else None
        return self.rows.get((site, ip)) if ip is not None else None

    def local(self, site: str, address: str) -> bool:
        return (site, address) in self.by_address or not is_public(address)


# --- the detector ----------------------------------------------------------------------------


FOUND_MODEM = re.compile(r"\b(modem|sim|router)\b.*\b(found|present|fitted|installed)\b|"
                         r"\b(found|present)\b.*\b(modem|sim)\b", re.IGNORECASE)
GONE_MODEM = re.compile(r"^\s*no\b|\b(removed|none found|not found|taken out)\b",
                        re.IGNORECASE)


# Two ways out used within this of each other count as used together.
TOGETHER = timedelta(days=1)


def _overlapping(windows: list[tuple[Any, Any]]) -> bool:
    """Whether at least two of the (first, last) windows come within TOGETHER of each
    other; unknown times count as together (nothing says they were not)."""
    known = sorted((a, b) for a, b in windows if a is not None and b is not None)
    if len(known) < len(windows) or len(known) < 2:
        return True
    reach = known[0][1]
    for start, end in known[1:]:
        if start - reach <= TOGETHER:
            return True
        reach = max(reach, end)
    return False


def inspections_by_address(ctx: DetectContext) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Physical inspection records (inspections.csv) by the address the asset register gives
    their asset, oldest first."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in ctx.store.query(
        """SELECT r.site, r.ip, i.asset_id, i.date, i.inspector, i.finding, i.imei, i.iccid,
                  i.photo, s.path AS source
           FROM inspections i JOIN sources s ON s.id = i.source_id
           JOIN current_register_assets r
             ON lower(r.site) = lower(i.site) AND lower(r.asset_id) = lower(i.asset_id)
           WHERE r.ip IS NOT NULL ORDER BY i.date NULLS FIRST, i.line"""
    ):
        out[(row["site"], row["ip"])].append(row)
    return out


def with_inspections(finding: Finding, records: list[dict[str, Any]]) -> Finding:
    """A cellular-device finding confirmed by an inspection that found the modem, or closed
    (info) by a later one that found it gone."""
    if not records:
        return finding
    finding.details["inspections"] = [
        {k: (str(v) if v is not None else None) for k, v in r.items() if k != "site"}
        for r in records]
    for record in records:
        finding.evidence.append(evidence_row(
            None, finding.asset_ip or "", None, "inspection",
            f"{record['date']} {record['inspector'] or ''}: {record['finding']}"
            + (f"; IMEI {record['imei']}" if record["imei"] else ""), record["source"]))
    latest = records[-1]
    seen_last = finding.last_seen.date() if finding.last_seen else None
    if GONE_MODEM.search(latest["finding"] or "") and (
            seen_last is None or latest["date"] is None or latest["date"] >= seen_last):
        finding.severity = "info"
        finding.summary += (f" — closed by inspection on {latest['date']} "
                            f"({latest['finding']}); check it stays gone")
        finding.details["closed_by_inspection"] = str(latest["date"])
    elif any(FOUND_MODEM.search(r["finding"] or "") for r in records):
        confirmed = next(r for r in reversed(records) if FOUND_MODEM.search(r["finding"] or ""))
        finding.summary += (f" — confirmed by inspection on {confirmed['date']}"
                            + (f" (IMEI {confirmed['imei']})" if confirmed["imei"] else ""))
        finding.details["confirmed_by_inspection"] = str(confirmed["date"])
    return finding


class OutOfBand(Detector):
    kind = "out-of-band"

    def __init__(self, catalogue: CellularCatalogue | None = None) -> None:
        self._catalogue = catalogue

    @property
    def catalogue(self) -> CellularCatalogue:
        return self._catalogue or _packaged()

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = Assets(ctx)
        cellular = self._cellular(ctx, assets)
        gateway_findings, users = self._gateways(ctx, assets, cellular)
        inspected = inspections_by_address(ctx)
        for (site, ip), found in sorted(cellular.items()):
            finding = self._cellular_finding(assets.rows[(site, ip)], found,
                                             users.get((site, ip), {}), assets)
            yield with_inspections(finding, inspected.get((site, ip), []))
        yield from gateway_findings
        yield from self._intermittent(ctx, assets)

    # (a) cellular devices ------------------------------------------------------------------

    def _cellular(self, ctx: DetectContext, assets: Assets) -> dict[tuple[str, str], Cellular]:
        catalogue = self.catalogue
        found: dict[tuple[str, str], Cellular] = defaultdict(Cellular)
        for (site, ip), asset in assets.rows.items():
            if asset["device_class"] in CELLULAR_CLASSES:
                found[(site, ip)].add(f"identified as {asset['device_class']}")
            mac = normal_mac(asset.get("mac"))
            assignment = oui.lookup(mac) if mac else None
            for label, text in (("manufacturer", asset["manufacturer"]),
                                ("IEEE OUI organisation",
                                 assignment.organisation if assignment else None)):
                entry = catalogue.maker_entry(text, alone=True)
                if entry is None:
                    continue
                source = (f"IEEE {assignment.block} {assignment.prefix}" if assignment
                          and label != "manufacturer" else "assets")
                found[(site, ip)].add(
                    f"{label} {text}: {entry.reason}",
                    evidence_row(asset["first_seen"], ip, None,
                                 signals.MAC if label != "manufacturer" else "manufacturer",
                                 f"{mac or ''} {text}".strip(), source),
                    entry)
        if assets.rows:
            for (site, ip), row in self._name_rows(ctx, assets):
                entry = catalogue.name_entry(row["value"])
                if entry is None:
                    continue
                found[(site, ip)].add(
                    f"{row['signal']} {row['value']!r}: {entry.reason}",
                    evidence_row(row["ts"], ip, row["peer_ip"], row["signal"], row["value"],
                                 row["source"]),
                    entry)
        # identify/'s own reasons for a cellular class
        for (site, ip), cell in found.items():
            if assets.rows[(site, ip)]["device_class"] not in CELLULAR_CLASSES:
                continue
            for row in ctx.store.query(
                """SELECT source, signal, value, claim FROM asset_evidence
                   WHERE site = ? AND ip = ? AND claim LIKE 'device_class=%' LIMIT 10""",
                [site, ip],
            ):
                if len(cell.evidence) < MAX_EVIDENCE:
                    cell.evidence.append(evidence_row(None, ip, None, row["signal"],
                                                      f"{row['value']} ({row['claim']})",
                                                      row["source"]))
        return dict(found)

    def _name_rows(
        self, ctx: DetectContext, assets: Assets
    ) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
        catalogue = self.catalogue
        distinct = ctx.store.con.execute(
            "SELECT DISTINCT signal, value FROM evidence WHERE list_contains(?, signal)",
            [list(NAME_SIGNALS)],
        ).fetchall()
        keys = [f"{s}\x1f{v}" for s, v in distinct if catalogue.name_entry(v) is not None]
        if not keys:
            return
        for row in ctx.store.query(
            """SELECT s.site, e.ts, e.ip, e.peer_ip, e.signal, e.value, e.source
               FROM evidence e JOIN sources s ON s.id = e.source_id
               WHERE list_contains(?, e.signal || chr(31) || e.value)
               ORDER BY e.ts NULLS FIRST""",
            [keys],
        ):
            asset = assets.of(row["site"], row["ip"])
            if asset is not None:
                yield (asset["site"], asset["ip"]), row

    def _cellular_finding(
        self, asset: dict[str, Any], cell: Cellular, users: dict[str, set[str]], assets: Assets,
    ) -> Finding:
        site = asset["site"]
        severe = sorted(
            host for host in users.get("internet", set())
            if (a := assets.of(site, host)) is not None
            and (a["device_class"] in OPERATIONAL_CLASSES or a["risk"] in ("high", "critical"))
        )
        severity = "critical" if severe else "high"
        makers = sorted(self._entry_makers(cell.entry_ids))
        who = asset["manufacturer"] or (makers[0] if makers else "unidentified")
        what = asset["device_class"] or "cellular device"
        used = sorted(users.get("internet", set()))
        use = ""
        if used:
            use = (f"; {len(used)} host(s) send internet traffic through it: "
                   f"{', '.join(used[:5])}{' …' if len(used) > 5 else ''}")
        if severe:
            use += f" (operational or high-risk: {', '.join(severe[:5])})"
        return Finding(
            kind="cellular-device", severity=severity, site=site, asset_ip=asset["ip"],
            key="cellular",
            summary=f"{who} {what} at {asset['ip']} is a cellular path out of the site "
                    f"({cell.reasons[0]}){use}",
            evidence=cell.evidence,
            first_seen=asset["first_seen"], last_seen=asset["last_seen"],
            details={"reasons": cell.reasons, "entries": sorted(cell.entry_ids),
                     "mac": asset["mac"], "gateway_for": used,
                     "operational_users": severe},
        )

    def _entry_makers(self, ids: set[str]) -> list[str]:
        return [e.maker for e in self.catalogue.entries if e.id in ids]

    # (b) second gateway ----------------------------------------------------------------------

    def _gateways(
        self, ctx: DetectContext, assets: Assets, cellular: dict[tuple[str, str], Cellular]
    ) -> tuple[list[Finding], dict[tuple[str, str], dict[str, set[str]]]]:
        subnets: dict[tuple[str, int | None, str], dict[str, Gateway]] = defaultdict(dict)
        for (site, vlan, src, dst, smac, dmac, flows, first, last, source,
             answered) in ctx.store.con.execute(
            """SELECT s.site, f.vlan, f.src_ip, f.dst_ip, f.src_mac, f.dst_mac, count(*),
                      min(f.ts_first), max(f.ts_last), min(s.path), max(f.dst_packets) > 0
               FROM flows f JOIN sources s ON s.id = f.source_id
               WHERE f.src_mac IS NOT NULL OR f.dst_mac IS NOT NULL
               GROUP BY ALL"""
        ).fetchall():
            s_local, d_local = assets.local(site, src), assets.local(site, dst)
            s_net, d_net = subnet_of(src), subnet_of(dst)
            if s_local and not d_local and s_net and subnet_of(dst):
                self._note(subnets, (site, vlan, s_net), dmac, src, dst, flows, first, last,
                           source, internet=True)
            elif d_local and not s_local and d_net and subnet_of(src) and answered:
                self._note(subnets, (site, vlan, d_net), smac, dst, src, flows, first, last,
                           source, internet=True)
            elif s_local and d_local and s_net and d_net and s_net != d_net:
                self._note(subnets, (site, vlan, s_net), dmac, src, dst, flows, first, last,
                           source, internet=False)
                if answered:
                    self._note(subnets, (site, vlan, d_net), smac, dst, src, flows, first,
                               last, source, internet=False)
        findings: list[Finding] = []
        users: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set))
        # each site's internet gateways over all its subnets: MAC -> subnets, hosts
        site_nets: dict[tuple[str, str], set[tuple[int | None, str]]] = defaultdict(set)
        site_hosts: dict[tuple[str, str], set[str]] = defaultdict(set)
        for (site, vlan, net), gateways in subnets.items():
            for mac, gw in gateways.items():
                if gw.internet_hosts:
                    site_nets[(site, mac)].add((vlan, net))
                    site_hosts[(site, mac)] |= gw.internet_hosts
        for (site, vlan, net), gateways in sorted(subnets.items(),
                                                  key=lambda kv: (kv[0][0], kv[0][1] or -1,
                                                                  kv[0][2])):
            internet = {m: g for m, g in gateways.items() if g.internet_hosts}
            for mac, gw in internet.items():
                owner = assets.by_mac.get((site, mac))
                if owner is not None:
                    users[(site, owner)]["internet"] |= gw.internet_hosts
            routers = {m: g for m, g in gateways.items()
                       if len(g.routed_peers) >= MIN_ROUTED_PEERS
                       and not any(assets.by_mac.get((site, m)) == assets.by_address.get(
                           (site, p)) for p in g.routed_peers)}
            if not internet:
                continue
            shown = {**routers, **internet}
            if len(internet) < 2 and (not routers or set(internet) <= set(routers)):
                # Site-wide: this subnet's only way out is a cellular device that no other
                # subnet uses, while the site's other subnets leave through another gateway.
                odd = [m for m in internet if site_nets[(site, m)] == {(vlan, net)}
                       and self._is_cellular(site, m, assets, cellular)]
                usual = sorted(
                    (m for (s, m), nets in site_nets.items()
                     if s == site and m not in internet and nets - {(vlan, net)}),
                    key=lambda m: (-len(site_hosts[(site, m)]), m))
                if not odd or not usual:
                    continue
                main = Gateway(usual[0], internet_hosts=set(site_hosts[(site, usual[0])]),
                               site_wide=True)
                shown = {**shown, usual[0]: main}
            findings.append(self._gateway_finding(site, vlan, net, shown, assets, cellular))
        return findings, users

    def _is_cellular(self, site: str, mac: str, assets: Assets,
                     cellular: dict[tuple[str, str], Cellular]) -> bool:
        owner_ip = assets.by_mac.get((site, mac))
        if owner_ip is not None and (site, owner_ip) in cellular:
            return True
        assignment = oui.lookup(mac)
        return self.catalogue.maker_entry(
            assignment.organisation if assignment else None, alone=True) is not None

    @staticmethod
    def _note(subnets: dict[tuple[str, int | None, str], dict[str, Gateway]],
              key: tuple[str, int | None, str], mac_text: str | None, host: str, peer: str,
              flows: int, first: datetime | None, last: datetime | None, source: str,
              internet: bool) -> None:
        mac = normal_mac(mac_text)
        if mac is None:
            return
        gateways = subnets[key]
        gw = gateways.get(mac)
        if gw is None:
            gw = gateways[mac] = Gateway(mac)
        gw.seen(first, last)
        if internet:
            gw.internet_hosts.add(host)
            gw.internet_flows += flows
        else:
            gw.internal_hosts.add(host)
            gw.routed_peers.add(peer)
            gw.internal_flows += flows
        if len(gw.samples) < 10 and (internet or len(gw.samples) < 5):
            gw.samples.append((first, host, peer, "internet" if internet else "internal",
                               source))

    def _gateway_finding(
        self, site: str, vlan: int | None, net: str, gateways: dict[str, Gateway],
        assets: Assets, cellular: dict[tuple[str, str], Cellular],
    ) -> Finding:
        def weight(gw: Gateway) -> tuple[int, int, str]:
            return (len(gw.internet_hosts | gw.internal_hosts),
                    gw.internet_flows + gw.internal_flows, gw.mac)

        ordered = sorted(gateways.values(), key=weight, reverse=True)
        primary = next((g.mac for g in ordered if g.site_wide), ordered[0].mac)
        listed: list[dict[str, Any]] = []
        evidence: list[dict[str, Any]] = []
        cellular_gateways: list[str] = []
        for gw in ordered:
            assignment = oui.lookup(gw.mac)
            org = assignment.organisation if assignment else None
            owner_ip = assets.by_mac.get((site, gw.mac))
            owner = assets.rows.get((site, owner_ip)) if owner_ip else None
            is_cellular = self._is_cellular(site, gw.mac, assets, cellular)
            if is_cellular and gw.internet_hosts:
                cellular_gateways.append(gw.mac)
            maker = (owner["manufacturer"] if owner and owner["manufacturer"] else org)
            listed.append({
                "mac": gw.mac, "maker": maker, "oui_organisation": org,
                "oui_block": assignment.prefix if assignment else None,
                "ip": owner_ip, "device_class": owner["device_class"] if owner else None,
                "cellular": is_cellular, "primary": gw.mac == primary,
                "scope": "site" if gw.site_wide else "subnet",
                "internet_hosts": sorted(gw.internet_hosts),
                "internal_hosts": sorted(gw.internal_hosts),
                "internet_flows": gw.internet_flows, "internal_flows": gw.internal_flows,
                "first_seen": gw.first, "last_seen": gw.last,
            })
            for ts, host, peer, leg, source in gw.samples:
                if len(evidence) < MAX_EVIDENCE:
                    evidence.append(evidence_row(
                        ts, host, peer, "flow",
                        f"{host} → {peer} ({leg}) through gateway {gw.mac} "
                        f"({maker or 'unknown maker'}{', cellular' if is_cellular else ''})",
                        source))
        severity = "high" if cellular_gateways else "medium"
        # two ways out used at different times (a router replaced, captures from different
        # years under one site) are a change, not a second path: shown, at low
        together = _overlapping([(g.first, g.last) for g in ordered])
        if not together:
            severity = "low"

        def describe(g: dict[str, Any]) -> str:
            what = ", ".join(x for x in (g["maker"] or "unknown maker", g["device_class"],
                                         g["ip"]) if x)
            hosts = g["internet_hosts"] or g["internal_hosts"]
            path = "internet" if g["internet_hosts"] else "internal routing only"
            if g["scope"] == "site":
                path = "the site's usual internet gateway, on its other subnets"
            more = " …" if len(hosts) > 4 else ""
            return (f"{g['mac']} ({what}{'; CELLULAR' if g['cellular'] else ''}; {path}; "
                    f"{len(hosts)} host(s): {', '.join(hosts[:4])}{more})")

        where = f"{net}" + (f" VLAN {vlan}" if vlan is not None else "")
        times = [g.first for g in ordered if g.first] + [g.last for g in ordered if g.last]
        # the asset is the odd way out (a cellular one first) when its address is known
        odd = [g for g in listed if not g["primary"] and g["ip"]]
        odd.sort(key=lambda g: not g["cellular"])
        return Finding(
            kind="second-gateway", severity=severity, site=site,
            asset_ip=odd[0]["ip"] if odd else None,
            key=f"{vlan if vlan is not None else '-'}|{net}",
            summary=f"Subnet {where} leaves the site through {len(ordered)} gateways"
                    + ("" if together else " (never at the same time: a change of router?)")
                    + ": " + "; ".join(describe(g) for g in listed),
            evidence=evidence,
            first_seen=min(times, default=None), last_seen=max(times, default=None),
            details={"subnet": net, "vlan": vlan, "gateways": listed,
                     "used_together": together,
                     "cellular_gateways": cellular_gateways, "primary": primary},
        )

    # (c) intermittent presence ---------------------------------------------------------------

    def _intermittent(self, ctx: DetectContext, assets: Assets) -> Iterator[Finding]:
        if not assets.rows:
            return
        candidates = ctx.store.con.execute(
            """WITH ev AS (
                   SELECT s.site, f.src_ip AS ip, f.ts_first AS t0,
                          coalesce(f.ts_last, f.ts_first) AS t1, s.path
                   FROM flows f JOIN sources s ON s.id = f.source_id
                   WHERE f.ts_first IS NOT NULL
                   UNION ALL
                   SELECT s.site, f.dst_ip, f.ts_first, coalesce(f.ts_last, f.ts_first), s.path
                   FROM flows f JOIN sources s ON s.id = f.source_id
                   WHERE f.ts_first IS NOT NULL AND f.dst_packets > 0),
               a AS (SELECT ev.* FROM ev JOIN assets x ON x.site = ev.site AND x.ip = ev.ip),
               w AS (SELECT site, ip, t0, path,
                            epoch(t0) - epoch(lag(t0) OVER byip) AS step,
                            max(t1) OVER (byip ROWS BETWEEN UNBOUNDED PRECEDING
                                          AND 1 PRECEDING) AS covered
                     FROM a WINDOW byip AS (PARTITION BY site, ip ORDER BY t0, t1)),
               m AS (SELECT site, ip, count(*) + 1 AS n,
                            median(step) FILTER (WHERE step > 0) AS typical, min(path) AS path
                     FROM w WHERE step IS NOT NULL GROUP BY site, ip),
               g AS (SELECT w.site, w.ip, w.covered, w.t0,
                            epoch(w.t0) - epoch(w.covered) AS silence, m.typical, m.n, m.path
                     FROM w JOIN m USING (site, ip)
                     WHERE m.n >= ? AND m.typical IS NOT NULL AND w.covered IS NOT NULL
                       AND epoch(w.t0) - epoch(w.covered) >= ? * m.typical)
               SELECT site, ip, covered, t0, silence, typical, n, path,
                      count(*) OVER (PARTITION BY site, ip) AS pauses
               FROM g QUALIFY silence >= ? AND pauses <= greatest(?, ? * n)
               ORDER BY site, ip, t0""",
            [MIN_CONNECTIONS, GAP_FACTOR, MIN_GAP_SECONDS, MIN_GAPS, STEADY_SHARE],
        ).fetchall()
        if not candidates:
            return
        per_asset: dict[tuple[str, str], list[tuple[datetime, datetime, float]]] = defaultdict(
            list)
        meta: dict[tuple[str, str], tuple[float, int, str]] = {}
        for site, ip, start, end, seconds, typical, n, path, _pauses in candidates:
            per_asset[(site, ip)].append((start, end, float(seconds)))
            meta[(site, ip)] = (float(typical), int(n), path)
        timelines = self._timelines(ctx, {site for site, _ in per_asset})
        for key, gaps in sorted(per_asset.items()):
            site, ip = key
            timeline = timelines.get(site, [])
            kept = [g for g in gaps if _site_active(timeline, g[0], g[1])]
            if len(kept) < MIN_GAPS:
                continue
            yield self._presence_finding(assets.rows[key], kept, *meta[key])

    @staticmethod
    def _timelines(ctx: DetectContext, sites: set[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        for site in sorted(sites):
            out[site] = [t for (t,) in ctx.store.con.execute(
                """SELECT DISTINCT epoch(f.ts_first) AS t FROM flows f
                   JOIN sources s ON s.id = f.source_id
                   WHERE s.site = ? AND f.ts_first IS NOT NULL ORDER BY t""",
                [site],
            ).fetchall()]
        return out

    @staticmethod
    def _presence_finding(asset: dict[str, Any], gaps: list[tuple[datetime, datetime, float]],
                          typical: float, connections: int, path: str) -> Finding:
        lengths = [g[2] for g in gaps]
        middle = statistics.median(lengths)
        regular = all(abs(x - middle) <= REGULAR_SPREAD * middle for x in lengths)
        who = asset["manufacturer"] or "unidentified"
        what = asset["device_class"] or "device"
        shortest, longest = min(lengths), max(lengths)
        span = (f"{_duration(shortest)}" if shortest == longest
                else f"{_duration(shortest)}–{_duration(longest)}")
        return Finding(
            kind="intermittent-presence", severity="low", site=asset["site"],
            asset_ip=asset["ip"], key="presence",
            summary=f"{who} {what} at {asset['ip']} falls silent {len(gaps)} times for {span} "
                    f"({'regular' if regular else 'irregular'} gaps; it usually starts a "
                    f"connection every {_duration(typical)}) while the rest of the site keeps "
                    f"talking: traffic may be leaving another way",
            evidence=[evidence_row(start, asset["ip"], None, "silence",
                                   f"no traffic for {_duration(seconds)} "
                                   f"({start.isoformat()}Z to {end.isoformat()}Z)", path)
                      for start, end, seconds in gaps[:MAX_EVIDENCE]],
            first_seen=asset["first_seen"], last_seen=asset["last_seen"],
            details={"gaps": [{"from": s, "to": e, "seconds": round(x, 3)} for s, e, x in gaps],
                     "median_step_s": round(typical, 3), "connections": connections,
                     "gap_factor": GAP_FACTOR, "min_gap_s": MIN_GAP_SECONDS,
                     "regular": regular},
        )


def _site_active(timeline: list[float], start: datetime, end: datetime) -> bool:
    """The site's longest silence between `start` and `end` is at most SITE_SILENCE_SHARE of
    the gap: the capture was running while the device was silent."""
    a, b = _epoch(start), _epoch(end)
    if b <= a:
        return False
    lo = bisect.bisect_right(timeline, a)
    hi = bisect.bisect_left(timeline, b)
    points = [a, *timeline[lo:hi], b]
    longest = max(y - x for x, y in itertools.pairwise(points))
    return longest <= SITE_SILENCE_SHARE * (b - a)


def _epoch(value: datetime) -> float:
    """Seconds since 1970 of a store timestamp (naive UTC, as DuckDB's epoch() counts)."""
    if value.tzinfo is not None:
        return value.timestamp()
    return (value - datetime(1970, 1, 1)).total_seconds()


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
