"""The operator's asset register against what the network shows.

A site's asset register (table ``register_assets``, one row per declared asset, with the file
and line it came from) is compared with the assets identify/ derived from the captures
(table ``assets``). Only sites that have a register are compared: a store without one gives
no findings. Site names must be spelled the same on both sides (compared case-insensitively).

A register row and an observed asset are the same device when they share an IP address (the
asset's other addresses count), else a MAC, else a host name (DHCP, mDNS, SNMP or LLDP name
seen for the asset; first label, case-insensitive). Findings:

- ``unregistered-device``: an observed asset that no register row of its site names. Medium;
  high when its maker is a high-risk maker (``assets.risk`` high or critical).
- ``registered-not-seen``: a register row no observed asset matches. Low; medium when the row's
  criticality is high or vital; info when its address lies outside every subnet (/24, /64)
  the captures saw at that site (the captures cannot have seen it). Only at sites with
  observed assets.
- ``register-maker-mismatch``: the register's manufacturer (or brand) names another maker than
  the evidence. Both sides are normalised through the vendor registry ("Hikvision" and
  "Hangzhou Hikvision Digital Technology Co., Ltd." are one maker). A register naming a brand
  the registry records as the observed maker's relabel or subsidiary brand ("LTS" for a
  Hikvision-made camera) is a *relabel*: info, said so. A brand the registry only suspects of
  relabelling (candidates, unverified) is a *possible relabel*: low. Anything else is a
  contradiction: high when either side is a high-risk maker, else medium (low when neither
  name is in the registry and the plain names differ).
- ``comms-module-mismatch``: the register's ``comms_modules`` declares no cellular module, but
  a cellular path was observed for the asset — it is a cellular router or modem by maker
  (``detect/data/cellular.yaml``, makers that build little else) or device class, or a
  ``cellular-device`` / ``second-gateway`` finding names its address as the cellular device or
  as a host whose traffic left through one, or a physical inspection (table ``inspections``,
  joined by asset id) found a modem or SIM (high with an IMEI/ICCID recorded). The reverse —
  a declared modem that neither traffic nor inspection showed — is low ("declared modem not
  observed"); an inspection that found no modem where the register declares one is info.

The ``cellular-device`` and ``second-gateway`` findings are read from the findings table as it
is *before* this run: they reflect the previous detection run (the out-of-band detector
writes them in the same run as this one). A first run on a fresh store therefore sees only
the maker/device-class and inspection evidence; the next ``vendorwatch detect`` sees all.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vendorwatch import signals
from vendorwatch.detect.interface import (
    DetectContext,
    Detector,
    Finding,
    asset_addresses,
    evidence_row,
)
from vendorwatch.errors import InputError
from vendorwatch.intel import Registry

HIGH_RISK = frozenset({"high", "critical"})
CRITICALITIES = ("low", "medium", "high", "vital")
CRITICALITY_ALIASES = {"critical": "vital", "vitaal": "vital", "hoog": "high", "laag": "low",
                       "midden": "medium", "med": "medium", "middel": "medium"}
MAX_EVIDENCE = 20
# Signals whose value is a device's own name.
NAME_SIGNALS = (signals.DHCP_HOSTNAME, signals.MDNS_NAME, signals.SNMP_SYSNAME,
                signals.LLDP_SYSTEM_NAME)
# A comms_modules token that means a cellular module.
CELLULAR_TOKEN = re.compile(r"\blte|\b[2345]g\b|cellular|\bgsm|\bumts|wwan|nb-?iot|mobile|"
                            r"\bsim\b", re.IGNORECASE)
# Fallback when the cellular catalogue (detect/data/cellular.yaml) cannot be read.
CELLULAR_MAKERS = ("Teltonika", "Sierra Wireless", "Quectel", "Fibocom", "Digi", "Cradlepoint",
                   "Robustel", "InHand")
CELLULAR_CLASSES = frozenset({"cellular-router", "cellular-module", "cellular-gateway",
                              "cellular-modem"})
# Inspection outcomes.
NO_MODEM = re.compile(r"\bno\s+(cellular\s+|lte\s+|gsm\s+)?(modem|sim)|\bnot\s+found\b|"
                      r"\bnone\s+found\b|\bgeen\s+(modem|sim)", re.IGNORECASE)
MODEM_FOUND = re.compile(r"modem|\bsim\b|simkaart|\bsim[- ]?card|\blte\b|cellular|\bgsm\b|"
                         r"\bimei\b", re.IGNORECASE)


# --- shared helpers (also used by access_policy) ----------------------------------------------


def norm_text(value: Any) -> str:
    return str(value).strip().casefold() if value is not None else ""


def criticality(value: Any) -> str | None:
    """low | medium | high | vital, or None when the register says nothing usable."""
    text = norm_text(value)
    text = CRITICALITY_ALIASES.get(text, text)
    return text if text in CRITICALITIES else None


def highest(levels: Iterable[str | None]) -> str | None:
    known = [c for c in levels if c in CRITICALITIES]
    return max(known, key=CRITICALITIES.index) if known else None


def normal_mac(value: Any) -> str | None:
    digits = "".join(c for c in str(value or "") if c.isalnum()).lower()
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        return None
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def subnet(address: str | None) -> str | None:
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return None
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def json_value(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value if value is not None else {}


def register_assets(ctx: DetectContext) -> list[dict[str, Any]]:
    """Register rows with the file they came from (``path``), in file and line order."""
    return ctx.store.query(
        """SELECT r.*, s.path FROM current_register_assets r JOIN sources s ON s.id = r.source_id
           ORDER BY s.path, r.line""")


def previous_findings(ctx: DetectContext, kinds: Iterable[str]) -> list[dict[str, Any]]:
    """Findings of these kinds as the findings table holds them before this run — or, when
    the context carries this run's earlier findings (an attribute ``findings``: a list of
    Finding, should run_detectors provide one), those instead."""
    kinds = list(kinds)
    current = getattr(ctx, "findings", None)
    if isinstance(current, list):
        return [{"id": f.id, "kind": f.kind, "severity": f.severity, "site": f.site,
                 "asset_ip": f.asset_ip, "summary": f.summary, "details": f.details,
                 "evidence": f.evidence, "first_seen": f.first_seen,
                 "last_seen": f.last_seen}
                for f in current if isinstance(f, Finding) and f.kind in kinds]
    marks = ", ".join("?" for _ in kinds)
    rows = ctx.store.query(
        f"SELECT id, kind, severity, site, asset_ip, summary, details, evidence, first_seen, "
        f"last_seen FROM findings WHERE kind IN ({marks}) ORDER BY id", kinds)
    for row in rows:
        row["details"] = json_value(row["details"]) or {}
        row["evidence"] = json_value(row["evidence"]) or []
    return rows


@dataclass(frozen=True)
class MakerName:
    """A maker or brand name as the registry reads it."""

    text: str
    maker_id: str | None = None          # the name is this maker's (exact/contained match)
    maker_name: str | None = None
    brand_maker: str | None = None       # the name is a brand of this maker
    relation: str | None = None          # relabel | subsidiary | former-subsidiary
    candidates: tuple[str, ...] = ()     # unverified relabel: one of these makers
    brand_source: str | None = None
    norm: str = ""

    @property
    def known(self) -> bool:
        return bool(self.maker_id or self.brand_maker or self.candidates)

    def makers(self) -> set[str]:
        """Every maker this name may stand for (its own, the brand's owner)."""
        return {m for m in (self.maker_id, self.brand_maker) if m}


def read_maker(registry: Registry, text: Any) -> MakerName | None:
    """A maker or brand name normalised through the registry; None for an empty name."""
    name = str(text or "").strip()
    if not name:
        return None
    maker = registry.match_organisation(name)
    brand = registry.brand(name)
    return MakerName(
        text=name,
        maker_id=maker.id if maker else None,
        maker_name=maker.name if maker else None,
        brand_maker=brand.maker if brand and brand.maker else None,
        relation=brand.relation if brand else None,
        candidates=tuple(brand.candidates) if brand and not brand.maker else (),
        brand_source=brand.source_url if brand else None,
        norm=registry.normaliser.normalise(name),
    )


def maker_label(registry: Registry, maker_id: str | None) -> str:
    maker = registry.maker(maker_id)
    return maker.name if maker else (maker_id or "unknown maker")


def same_plain_name(a: MakerName, b: MakerName) -> bool:
    """Names no registry entry explains, compared as text: equal after normalisation, or
    the shorter one's words starting the longer one ("Dell" / "Dell Technologies"); a
    shared first word alone is not enough ("Shenzhen Foo" / "Shenzhen Bar")."""
    if not a.norm or not b.norm:
        return False
    if a.norm == b.norm:
        return True
    short, long = sorted((a.norm.split(), b.norm.split()), key=len)
    return len(short[0]) >= 3 and long[: len(short)] == short


# --- the detector ----------------------------------------------------------------------------


@dataclass
class Match:
    row: dict[str, Any]
    asset: dict[str, Any] | None = None
    by: str | None = None  # ip | mac | hostname


@dataclass
class CellularPath:
    """Why an observed asset has a cellular path."""

    module: list[str] = field(default_factory=list)   # the asset is the cellular device
    through: list[str] = field(default_factory=list)  # its traffic left through one
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.module or self.through)


def _eui64_mac(address: str) -> str | None:
    """The MAC an IPv6 address's modified EUI-64 interface id was made from, if it was."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if parsed.version != 6:
        return None
    iid = parsed.packed[8:]
    if iid[3:5] != b"\xff\xfe":
        return None
    raw = bytes([iid[0] ^ 0x02]) + iid[1:3] + iid[5:8]
    return ":".join(f"{b:02x}" for b in raw)


class RegisterReconciliation(Detector):
    kind = "register"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        rows = register_assets(ctx)
        if not rows:
            return
        by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_site[norm_text(row["site"])].append(row)
        assets: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for asset in ctx.store.query("SELECT * FROM assets ORDER BY site, ip"):
            assets[norm_text(asset["site"])].append(asset)
        names = self._names(ctx)
        inspections = self._inspections(ctx)
        cellular = self._cellular_paths(ctx)
        catalogue = _cellular_catalogue()
        for site_key, site_rows in sorted(by_site.items()):
            site_assets = assets.get(site_key, [])
            matches, unmatched = self._match(site_rows, site_assets, names)
            yield from self._unregistered(ctx, unmatched, site_rows)
            yield from self._not_seen(matches, site_assets)
            for match in matches:
                if match.asset is not None:
                    found = self._maker_mismatch(ctx, match)
                    if found is not None:
                        yield found
                yield from self._comms(ctx, match, cellular, catalogue,
                                       inspections.get((site_key, norm_text(
                                           match.row["asset_id"])), []))

    # -- matching ---------------------------------------------------------------------------

    def _names(self, ctx: DetectContext) -> dict[tuple[str, str], set[str]]:
        marks = ", ".join("?" for _ in NAME_SIGNALS)
        out: dict[tuple[str, str], set[str]] = defaultdict(set)
        for site, ip, value in ctx.store.con.execute(
            f"""SELECT DISTINCT s.site, e.ip, e.value FROM evidence e
                JOIN sources s ON s.id = e.source_id WHERE e.signal IN ({marks})""",
            list(NAME_SIGNALS),
        ).fetchall():
            label = _host_label(value)
            if label:
                out[(norm_text(site), ip)].add(label)
        return out

    def _match(
        self, rows: list[dict[str, Any]], site_assets: list[dict[str, Any]],
        names: dict[tuple[str, str], set[str]],
    ) -> tuple[list[Match], list[dict[str, Any]]]:
        by_ip: dict[str, dict[str, Any]] = {}
        by_mac: dict[str, dict[str, Any]] = {}
        by_name: dict[str, dict[str, Any]] = {}
        for asset in site_assets:
            for address in (asset["ip"], *asset_addresses(asset.get("addresses"))):
                by_ip.setdefault(norm_text(address), asset)
            mac = normal_mac(asset.get("mac"))
            if mac:
                by_mac.setdefault(mac, asset)
            for label in names.get((norm_text(asset["site"]), asset["ip"]), ()):
                by_name.setdefault(label, asset)
        matches: list[Match] = []
        matched: set[str] = set()
        for row in rows:
            match = Match(row)
            ip = norm_text(row.get("ip"))
            mac = normal_mac(row.get("mac"))
            label = _host_label(row.get("hostname"))
            if ip and ip in by_ip:
                match.asset, match.by = by_ip[ip], "ip"
            elif mac and mac in by_mac:
                match.asset, match.by = by_mac[mac], "mac"
            elif label and label in by_name:
                match.asset, match.by = by_name[label], "hostname"
            if match.asset is not None:
                matched.add(match.asset["ip"])
            matches.append(match)
        # a registered device's other interfaces (a router's VLAN addresses, its IPv6
        # link-local address made from its MAC) are the same registered device
        macs = {m for m in (normal_mac(r.get("mac")) for r in rows) if m}
        return matches, [a for a in site_assets if a["ip"] not in matched
                         and normal_mac(a.get("mac")) not in macs
                         and _eui64_mac(a["ip"]) not in macs]

    # -- seen, not registered ----------------------------------------------------------------

    def _unregistered(
        self, ctx: DetectContext, unmatched: list[dict[str, Any]],
        site_rows: list[dict[str, Any]],
    ) -> Iterable[Finding]:
        files = sorted({r["path"] for r in site_rows})
        for asset in unmatched:
            severity = "high" if asset["risk"] in HIGH_RISK else "medium"
            what = " ".join(x for x in (asset["manufacturer"], asset["model"]) if x) \
                or "unidentified"
            risk = f" (high-risk maker: {asset['risk']})" if asset["risk"] in HIGH_RISK else ""
            yield Finding(
                kind="unregistered-device", severity=severity, site=asset["site"],
                asset_ip=asset["ip"], key="unregistered",
                summary=f"{what} {asset['device_class'] or 'device'} at {asset['ip']}"
                        f"{' (' + asset['mac'] + ')' if asset['mac'] else ''}{risk} is on the "
                        f"network but in no row of the asset register "
                        f"({', '.join(files)}; {len(site_rows)} rows; compared by IP, MAC and "
                        f"host name)",
                evidence=_asset_evidence(ctx, asset["site"], asset["ip"]),
                first_seen=asset["first_seen"], last_seen=asset["last_seen"],
                details={"manufacturer": asset["manufacturer"], "brand": asset["brand"],
                         "model": asset["model"], "device_class": asset["device_class"],
                         "mac": asset["mac"], "risk": asset["risk"], "register_files": files,
                         "register_rows": len(site_rows)},
            )

    # -- registered, not seen ----------------------------------------------------------------

    def _not_seen(
        self, matches: list[Match], site_assets: list[dict[str, Any]],
    ) -> Iterable[Finding]:
        if not site_assets:
            return  # nothing captured at this site: every row would be "not seen"
        seen_subnets = {s for a in site_assets
                        for s in (subnet(a["ip"]), *map(subnet, asset_addresses(
                            a.get("addresses")))) if s}
        for match in matches:
            if match.asset is not None:
                continue
            row = match.row
            level = criticality(row["criticality"])
            net = subnet(row.get("ip"))
            covered = net is None or net in seen_subnets
            severity = ("info" if not covered
                        else "medium" if level in ("high", "vital") else "low")
            what = " ".join(x for x in (row["manufacturer"] or row["brand"], row["model"]) if x)
            where = ", ".join(f"{k} {row[k]}" for k in ("ip", "mac", "hostname") if row.get(k))
            note = (f"; its subnet {net} is outside every subnet the captures saw at this site"
                    if not covered else "")
            yield Finding(
                kind="registered-not-seen", severity=severity, site=row["site"],
                asset_ip=row.get("ip") or None, key=str(row["asset_id"]),
                summary=f"Register asset {row['asset_id']} ({what or 'unspecified'}"
                        f"{'; ' + row['function'] if row['function'] else ''}"
                        f"{'; criticality ' + level if level else ''}) was not seen in the "
                        f"captures ({where or 'no address, MAC or host name in the register'})"
                        f"{note} — {row['path']} line {row['line']}",
                evidence=[_register_evidence(row)],
                details={"asset_id": row["asset_id"], "register_file": row["path"],
                         "register_line": row["line"], "criticality": level,
                         "ip": row.get("ip"), "mac": row.get("mac"),
                         "hostname": row.get("hostname"), "subnet": net,
                         "subnet_captured": covered},
            )

    # -- maker ---------------------------------------------------------------------------------

    def _maker_mismatch(self, ctx: DetectContext, match: Match) -> Finding | None:
        row, asset = match.row, match.asset
        assert asset is not None
        registry = ctx.registry
        claims = [c for c in (read_maker(registry, row["manufacturer"]),
                              read_maker(registry, row["brand"])) if c is not None]
        observed = [o for o in (read_maker(registry, asset["manufacturer"]),
                                read_maker(registry, asset["brand"])) if o is not None]
        if not claims or not observed or not asset["manufacturer"]:
            return None
        seen = observed[0]  # the evidence's manufacturer
        observed_makers = set().union(*(o.makers() for o in observed))
        # Consistent: a register name is the observed maker (or the same plain name).
        for claim in claims:
            if claim.maker_id and claim.maker_id in {o.maker_id for o in observed}:
                return None
            if not claim.known and not seen.known and same_plain_name(claim, seen):
                return None
            if any(not o.known and same_plain_name(claim, o) for o in observed):
                return None
        verdict, relabel_of, claim_used = "contradiction", None, claims[0]
        for claim in claims:
            if claim.brand_maker and claim.brand_maker in observed_makers:
                verdict, relabel_of, claim_used = "relabel", claim.brand_maker, claim
                break
            if claim.maker_id and any(o.brand_maker == claim.maker_id for o in observed):
                verdict, relabel_of, claim_used = "relabel", claim.maker_id, claim
                break
        if verdict == "contradiction":
            for claim in claims:
                if observed_makers & set(claim.candidates):
                    verdict, claim_used = "possible-relabel", claim
                    relabel_of = sorted(observed_makers & set(claim.candidates))[0]
                    break
        register_makers = set().union(*(c.makers() for c in claims))
        risky = sorted(m for m in register_makers | observed_makers
                       if registry.risk(m)[0] in HIGH_RISK)
        if asset["risk"] in HIGH_RISK and not risky:
            risky = [asset["manufacturer"]]
        register_side = " / ".join(
            f"{label} {value}" for label, value in (("manufacturer", row["manufacturer"]),
                                                    ("brand", row["brand"])) if value)
        evidence_side = f"{asset['manufacturer']}" + (
            f" (brand {asset['brand']})" if asset["brand"] else "")
        where = f"{row['path']} line {row['line']}"
        if verdict == "relabel":
            relation = claim_used.relation or "relabel"
            severity = "info"
            kind_of = {"relabel": "an OEM relabel brand", "subsidiary": "a subsidiary brand",
                       "former-subsidiary": "a former subsidiary brand"}.get(relation, relation)
            what = (f"{claim_used.text} is {kind_of} of {maker_label(registry, relabel_of)}: "
                    f"a relabel, not a contradiction")
        elif verdict == "possible-relabel":
            severity = "low"
            what = (f"the register names {claim_used.text}, a brand the registry suspects of "
                    f"relabelling {maker_label(registry, relabel_of)} (unverified) — check "
                    f"the device")
        else:
            known = any(c.known for c in claims) or any(o.known for o in observed)
            severity = "high" if risky else ("medium" if known else "low")
            what = ("the register and the evidence name different makers"
                    + ("" if known else " (neither name is in the registry; compared as text)")
                    + (f"; high-risk: {', '.join(maker_label(registry, m) for m in risky)}"
                       if risky else ""))
        return Finding(
            kind="register-maker-mismatch", severity=severity, site=asset["site"],
            asset_ip=asset["ip"], key=str(row["asset_id"]),
            summary=f"{row['asset_id']} at {asset['ip']}: register says {register_side}, "
                    f"evidence says {evidence_side} — {what} ({where})",
            evidence=[_register_evidence(row, asset["ip"]),
                      *_asset_evidence(ctx, asset["site"], asset["ip"],
                                       claims=("manufacturer=", "brand="))],
            first_seen=asset["first_seen"], last_seen=asset["last_seen"],
            details={
                "asset_id": row["asset_id"], "verdict": verdict,
                "register": {"manufacturer": row["manufacturer"], "brand": row["brand"],
                             "model": row["model"], "file": row["path"], "line": row["line"],
                             "makers": sorted(register_makers)},
                "evidence": {"manufacturer": asset["manufacturer"], "brand": asset["brand"],
                             "model": asset["model"], "confidence": asset["confidence"],
                             "makers": sorted(observed_makers)},
                "relabel_of": relabel_of,
                "brand_source": claim_used.brand_source if verdict != "contradiction" else None,
                "high_risk_makers": risky, "matched_by": match.by,
            },
        )

    # -- communication modules ---------------------------------------------------------------

    def _cellular_paths(self, ctx: DetectContext) -> dict[tuple[str, str], CellularPath]:
        """Cellular paths the previous run's out-of-band findings name, by (site, address or
        MAC)."""
        out: dict[tuple[str, str], CellularPath] = defaultdict(CellularPath)
        for f in previous_findings(ctx, ("cellular-device", "second-gateway")):
            site = norm_text(f["site"])
            row = evidence_row(f["first_seen"], f["asset_ip"] or "", None,
                               f"finding.{f['kind']}", f"{f['id']}: {f['summary']}",
                               "findings")
            details = f["details"] if isinstance(f["details"], dict) else {}
            if f["kind"] == "cellular-device" and f["asset_ip"]:
                path = out[(site, f["asset_ip"])]
                path.module.append(f"{f['id']} (cellular-device)")
                path.evidence.append(row)
                for host in details.get("gateway_for") or ():
                    used = out[(site, str(host))]
                    used.through.append(f"{f['id']} (via cellular device {f['asset_ip']})")
                    used.evidence.append(row)
            elif f["kind"] == "second-gateway":
                for gw in details.get("gateways") or ():
                    if not isinstance(gw, dict) or not gw.get("cellular"):
                        continue
                    for key in (gw.get("ip"), normal_mac(gw.get("mac"))):
                        if key:
                            path = out[(site, str(key))]
                            path.module.append(f"{f['id']} (cellular gateway {gw.get('mac')})")
                            path.evidence.append(row)
                    for host in gw.get("internet_hosts") or ():
                        used = out[(site, str(host))]
                        used.through.append(f"{f['id']} (via cellular gateway {gw.get('mac')})")
                        used.evidence.append(row)
        return out

    def _inspections(self, ctx: DetectContext) -> dict[tuple[str, str], list[dict[str, Any]]]:
        out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in ctx.store.query(
            """SELECT i.*, s.path FROM inspections i JOIN sources s ON s.id = i.source_id
               ORDER BY i.date NULLS LAST, s.path, i.line"""):
            out[(norm_text(row["site"]), norm_text(row["asset_id"]))].append(row)
        return out

    def _comms(
        self, ctx: DetectContext, match: Match, cellular: dict[tuple[str, str], CellularPath],
        catalogue: Any, inspections: list[dict[str, Any]],
    ) -> Iterable[Finding]:
        row, asset = match.row, match.asset
        site_key = norm_text(row["site"])
        modules = [m.strip() for m in re.split(r"[;,]", row["comms_modules"] or "") if m.strip()]
        declared = [m for m in modules if CELLULAR_TOKEN.search(m)]
        level = criticality(row["criticality"])
        ip = asset["ip"] if asset else (row.get("ip") or None)
        where = f"{row['path']} line {row['line']}"
        path = CellularPath()
        if asset is not None:
            reason = _cellular_identity(asset, catalogue)
            if reason:
                path.module.append(reason)
                path.evidence.extend(_asset_evidence(ctx, asset["site"], asset["ip"],
                                                     claims=("manufacturer=", "device_class=")))
            keys = {asset["ip"], *asset_addresses(asset.get("addresses"))}
            mac = normal_mac(asset.get("mac"))
            if mac:
                keys.add(mac)
            for key in sorted(keys):
                found = cellular.get((site_key, key))
                if found:
                    path.module += found.module
                    path.through += found.through
                    path.evidence += found.evidence
        positive = [i for i in inspections if _inspection_found_modem(i["finding"])]
        negative = [i for i in inspections if NO_MODEM.search(i["finding"] or "")]
        first = asset["first_seen"] if asset else None
        last = asset["last_seen"] if asset else None
        if not declared and (path or positive):
            identified = [i for i in positive if i.get("imei") or i.get("iccid")]
            risky = (asset is not None and asset["risk"] in HIGH_RISK)
            if identified or (path and (level in ("high", "vital") or risky)):
                severity = "high"
            else:
                severity = "medium"
            why = []
            if path.module:
                why.append("it is a cellular device (" + "; ".join(path.module[:3]) + ")")
            if path.through:
                why.append("its traffic left through a cellular device ("
                           + "; ".join(path.through[:3]) + ")")
            for i in positive[:3]:
                ident = ", ".join(f"{k.upper()} {i[k]}" for k in ("imei", "iccid") if i.get(k))
                why.append(f"inspection {i['date'] or 'undated'} by {i['inspector'] or 'unknown'}"
                           f": {i['finding']}{' (' + ident + ')' if ident else ''}")
            listed = row["comms_modules"] or "none"
            yield Finding(
                kind="comms-module-mismatch", severity=severity, site=row["site"],
                asset_ip=ip, key=f"{row['asset_id']}|undeclared-cellular",
                summary=f"{row['asset_id']}{' at ' + ip if ip else ''}: the register declares no "
                        f"cellular module (comms_modules: {listed}) but "
                        + "; ".join(why) + f" — {where}",
                evidence=[_register_evidence(row, ip), *[_inspection_evidence(i, ip)
                                                         for i in positive],
                          *path.evidence][:MAX_EVIDENCE],
                first_seen=first, last_seen=last,
                details={"asset_id": row["asset_id"], "declared_modules": modules,
                         "cellular_device": path.module, "cellular_path": path.through,
                         "inspections": [_inspection_detail(i) for i in positive],
                         "register_file": row["path"], "register_line": row["line"],
                         "criticality": level},
            )
        if declared and not path and not positive and asset is not None:
            yield Finding(
                kind="comms-module-mismatch", severity="low", site=row["site"], asset_ip=ip,
                key=f"{row['asset_id']}|declared-not-observed",
                summary=f"{row['asset_id']} at {ip}: declared modem not observed — the register "
                        f"lists {', '.join(declared)} but no cellular device, cellular gateway "
                        f"or inspection shows one (is it unused, disabled or removed?) — {where}",
                evidence=[_register_evidence(row, ip)],
                first_seen=first, last_seen=last,
                details={"asset_id": row["asset_id"], "declared_modules": modules,
                         "register_file": row["path"], "register_line": row["line"]},
            )
        if declared and negative and not positive:
            i = negative[-1]
            yield Finding(
                kind="comms-module-mismatch", severity="info", site=row["site"], asset_ip=ip,
                key=f"{row['asset_id']}|inspection-no-modem",
                summary=f"{row['asset_id']}: the register lists {', '.join(declared)} but the "
                        f"inspection of {i['date'] or 'undated'} by {i['inspector'] or 'unknown'}"
                        f" found none ({i['finding']}) — update the register ({where}; "
                        f"{i['path']} line {i['line']})",
                evidence=[_register_evidence(row, ip), _inspection_evidence(i, ip)],
                first_seen=first, last_seen=last,
                details={"asset_id": row["asset_id"], "declared_modules": modules,
                         "inspections": [_inspection_detail(x) for x in negative]},
            )


# --- helpers -----------------------------------------------------------------------------------


def _host_label(value: Any) -> str:
    text = norm_text(value).rstrip(".")
    return text.split(".")[0] if text else ""


def _cellular_catalogue() -> Any:
    """The out-of-band detector's cellular catalogue, or None (then CELLULAR_MAKERS)."""
    try:
        from vendorwatch.detect.out_of_band import load_cellular
        return load_cellular()
    except (ImportError, InputError):
        return None


def _cellular_identity(asset: dict[str, Any], catalogue: Any) -> str | None:
    if (asset.get("device_class") or "") in CELLULAR_CLASSES:
        return f"device class {asset['device_class']}"
    maker = asset.get("manufacturer") or ""
    if not maker:
        return None
    if catalogue is not None:
        entry = catalogue.maker_entry(maker, alone=True)
        return f"maker {maker}: {entry.reason.rstrip('.')}" if entry is not None else None
    lowered = maker.casefold()
    hit = next((m for m in CELLULAR_MAKERS if m.casefold() in lowered), None)
    return f"maker {maker} builds cellular routers and modems" if hit else None


def _inspection_found_modem(text: str | None) -> bool:
    return bool(text) and not NO_MODEM.search(text or "") and bool(MODEM_FOUND.search(text or ""))


def _register_evidence(row: dict[str, Any], ip: str | None = None) -> dict[str, Any]:
    fields = ("asset_id", "ip", "mac", "hostname", "manufacturer", "brand", "model",
              "function", "criticality", "comms_modules")
    value = "; ".join(f"{k}={row[k]}" for k in fields if row.get(k) not in (None, ""))
    return evidence_row(None, ip or row.get("ip") or "", None, "register.asset",
                        f"line {row['line']}: {value}", row["path"])


def _inspection_evidence(i: dict[str, Any], ip: str | None) -> dict[str, Any]:
    ident = "; ".join(f"{k}={i[k]}" for k in ("imei", "iccid", "photo") if i.get(k))
    return evidence_row(None, ip or "", None, "inspection",
                        f"line {i['line']}: {i['date'] or 'undated'} {i['inspector'] or ''}: "
                        f"{i['finding']}{'; ' + ident if ident else ''}", i["path"])


def _inspection_detail(i: dict[str, Any]) -> dict[str, Any]:
    return {"date": i["date"].isoformat() if i.get("date") else None,
            "inspector": i.get("inspector"), "finding": i.get("finding"),
            "imei": i.get("imei"), "iccid": i.get("iccid"), "photo": i.get("photo"),
            "file": i.get("path"), "line": i.get("line")}


def _asset_evidence(
    ctx: DetectContext, site: str, ip: str, claims: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    rows = ctx.store.query(
        "SELECT source, signal, value, claim, weight FROM asset_evidence "
        "WHERE site = ? AND ip = ? ORDER BY weight DESC, signal, value", [site, ip])
    if claims:
        rows = [r for r in rows if any(r["claim"].startswith(c) for c in claims)]
    return [evidence_row(None, ip, None, r["signal"], f"{r['value']} ({r['claim']})",
                         r["source"]) for r in rows[:MAX_EVIDENCE]]
