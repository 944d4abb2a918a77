"""Who has access to what, with which screening, checked against the sector's access policy;
and remote sessions seen in traffic matched to the people authorised for them.

The access register (table ``access_register``: person, employer, role, screening,
screening_expires, access physical|remote|admin, scope, via, mfa, valid_until) is checked
against the access policy in force — store setting ``access_policy``: ``port`` (default),
``airport``, ``rail`` (``site/access_policies/*.yaml``) or a policy file path. A register-less
store gives no findings.

Scope items (';'-separated) are register asset ids, zones (``register_assets.zone`` or the
zone file's names), functions (``register_assets.function``) or ``all`` / ``*``, compared
case-insensitively within the entry's site. An entry's criticality is the highest criticality
among the assets in scope (a declared zone named in scope counts with its sensitivity); when
the scope resolves to nothing the policy's ``default_criticality`` is assumed, and said so.

The policy rule for (criticality, access) gives the minimum screening (none < VOG < VGB-C <
VGB-B < VGB-A; VGB level A is the highest), whether MFA is required and the approved paths
(``via``). Findings, one per person and rule (register lines of the same person, kind and
rule are merged):

- ``access-screening-insufficient``: screening below the rule's minimum.
- ``access-screening-expired``: ``screening_expires`` before today (not where the rule
  requires no screening).
- ``access-scope-unresolved`` (low): scope items that match nothing in the register (a
  typo hides what the access really reaches).
- ``access-not-via-approved-path``: remote/admin access not through one of the rule's paths.
- ``access-without-mfa``: the rule requires MFA and the register does not record it.
- ``access-scope-too-wide``: ``all``/``*`` in scope, or assets of functions other than the
  role's (the policy's role → functions mapping; roles mapped to ``*`` are site-wide).
- ``access-expired-still-listed``: ``valid_until`` before today; the entry should be removed
  or renewed (no other rule is applied to it).
- ``maker-permanent-remote-access``: the employer is the maker of an asset in scope
  (normalised through the registry, brands included) and has remote/admin access without
  ``valid_until`` or for longer than the policy's ``max_days``.
- ``remote-session-unregistered``: a ``remote-access`` finding (remote_access detector) on an
  asset no current remote/admin entry of its site covers. High. The remote-access findings
  are read from the findings table as it is *before* this run, i.e. from the previous
  detection run; a fresh store needs a second ``vendorwatch detect``.

Person-level findings (screening, expiry) carry no asset address; the others carry the first
asset in scope that has one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from vendorwatch.detect.interface import DetectContext, Detector, Finding, evidence_row
from vendorwatch.detect.register_reconciliation import (
    CRITICALITIES,
    HIGH_RISK,
    criticality,
    highest,
    norm_text,
    previous_findings,
    read_maker,
    register_assets,
)
from vendorwatch.errors import InputError
from vendorwatch.files import load_yaml_model, read_text
from vendorwatch.intel.registry import Slug, SourceUrl
from vendorwatch.site.triage import today as utc_today

POLICY_NAMES = ("port", "airport", "rail")
DEFAULT_POLICY = "port"
SCREENING_LEVELS = ("none", "VOG", "VGB-C", "VGB-B", "VGB-A")
Screening = Literal["none", "VOG", "VGB-C", "VGB-B", "VGB-A"]
Criticality = Literal["low", "medium", "high", "vital"]
AccessKind = Literal["physical", "remote", "admin"]
ACCESS_KINDS = ("physical", "remote", "admin")
REMOTE = ("remote", "admin")
WILDCARDS = ("all", "*")
SESSION_DIRECTIONS_SKIPPED = ("lookup", "transit", "loopback")
MAX_EVIDENCE = 20


# --- the policy file ---------------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Record):
    why: str = Field(min_length=1)
    source_url: SourceUrl
    accessed: date
    verified: bool = True
    note: str | None = None


class AccessRule(Sourced):
    """Requirements for access of these kinds to assets of these criticalities."""

    id: Slug
    criticality: tuple[Criticality, ...] = Field(min_length=1)
    access: tuple[AccessKind, ...] = Field(min_length=1)
    min_screening: Screening
    mfa: bool = False
    via: tuple[str, ...] = ()  # approved paths (e.g. jump-host); empty: any path


class MakerRemoteAccess(Sourced):
    """A maker's own engineers: time-boxed remote access only."""

    access: tuple[AccessKind, ...] = ("remote", "admin")
    max_days: int = Field(ge=1)


class ScopeRule(Sourced):
    """Role → functions it may reach ('*': any, and 'all' is allowed)."""

    roles: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    def functions_for(self, role: str | None) -> tuple[str, ...] | None:
        """The role's functions (casefolded): exact name, else the longest mapped role
        contained in it ("Nuctech scanner engineer" → "scanner engineer"); None if unmapped."""
        text = norm_text(role)
        if not text:
            return None
        table = {norm_text(k): tuple(norm_text(f) for f in v) for k, v in self.roles.items()}
        if text in table:
            return table[text]
        inside = sorted((k for k in table if re.search(rf"\b{re.escape(k)}\b", text)),
                        key=len, reverse=True)
        return table[inside[0]] if inside else None


class PolicySource(_Record):
    title: str
    source_url: SourceUrl
    accessed: date


class AccessPolicyFile(_Record):
    schema_version: Literal[1]
    name: Slug
    sector: str
    title: str
    description: str
    default_criticality: Criticality = "medium"
    sources: tuple[PolicySource, ...] = ()
    rules: tuple[AccessRule, ...] = Field(min_length=1)
    maker_remote_access: MakerRemoteAccess
    scope: ScopeRule

    @model_validator(mode="after")
    def _one_rule_per_case(self) -> AccessPolicyFile:
        seen: dict[tuple[str, str], str] = {}
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"duplicate rule id {duplicates[0]!r}")
        for rule in self.rules:
            for level in rule.criticality:
                for kind in rule.access:
                    other = seen.get((level, kind))
                    if other is not None:
                        raise ValueError(f"rules {other!r} and {rule.id!r} both cover "
                                         f"{kind} access to {level} assets")
                    seen[(level, kind)] = rule.id
        return self

    def rule_for(self, level: str, access: str) -> AccessRule | None:
        return next((r for r in self.rules if level in r.criticality and access in r.access),
                    None)

    def all_sourced(self) -> list[tuple[str, Sourced]]:
        """Every rule-like entry with its place, for checks and reports."""
        return [*((f"rules/{r.id}", r) for r in self.rules),
                ("maker_remote_access", self.maker_remote_access), ("scope", self.scope)]


def load_access_policy(name_or_path: str | Path) -> AccessPolicyFile:
    """A packaged access policy ('port', 'airport', 'rail') or a policy file, validated;
    a one-line InputError naming the file and place otherwise."""
    name = str(name_or_path)
    if name in POLICY_NAMES:
        text, label = _packaged(name)
    else:
        path = Path(name)
        if path.suffix not in (".yaml", ".yml"):
            raise InputError(name, "unknown access policy; expected one of "
                                   f"{', '.join(POLICY_NAMES)} or a .yaml file")
        text, label = read_text(path), str(path)
    return load_yaml_model(text, label, AccessPolicyFile)


@cache
def _packaged(name: str) -> tuple[str, str]:
    resource = resources.files("vendorwatch.site") / "access_policies" / f"{name}.yaml"
    return resource.read_text(encoding="utf-8"), str(resource)


def screening_level(value: Any) -> str | None:
    """A register's screening value as one of SCREENING_LEVELS ('VGB B', 'vgb-b', 'VGB (B)'
    → 'VGB-B'; '', 'geen' → 'none'); None when unrecognised."""
    text = re.sub(r"[\s_()\-./]+", "", str(value or "")).upper()
    if text in ("", "NONE", "GEEN", "NO", "N/A", "NA"):
        return "none"
    if text == "VOG":
        return "VOG"
    match = re.fullmatch(r"VGB([ABC])", text) or re.fullmatch(r"([ABC])VGB", text)
    return f"VGB-{match.group(1)}" if match else None


def screening_rank(level: str | None) -> int:
    return SCREENING_LEVELS.index(level) if level in SCREENING_LEVELS else 0


# --- scope -----------------------------------------------------------------------------------


@dataclass
class Scope:
    items: list[str]
    assets: list[dict[str, Any]] = field(default_factory=list)  # register rows in scope
    zones: list[str] = field(default_factory=list)              # declared zones named
    wildcard: bool = False
    unresolved: list[str] = field(default_factory=list)
    level: str | None = None

    def first_ip(self) -> str | None:
        return next((a["ip"] for a in self.assets if a.get("ip")), None)

    def describe(self) -> str:
        return "; ".join(self.items) or "(empty scope)"


def resolve_scope(
    ctx: DetectContext, text: str | None, site_rows: list[dict[str, Any]],
) -> Scope:
    items = [i.strip() for i in re.split(r"[;,]", text or "") if i.strip()]
    scope = Scope(items)
    declared = {norm_text(z): z for z in ctx.zones.names}
    chosen: dict[str, dict[str, Any]] = {}
    levels: list[str | None] = []
    for item in items:
        key = norm_text(item)
        if key in WILDCARDS:
            scope.wildcard = True
            for row in site_rows:
                chosen.setdefault(norm_text(row["asset_id"]), row)
            continue
        hits = [row for row in site_rows
                if key in (norm_text(row["asset_id"]), norm_text(row.get("zone")),
                           norm_text(row.get("function")))]
        if key in declared:
            zone = declared[key]
            scope.zones.append(zone)
            levels.append(ctx.zones.zone(zone).sensitivity)
            hits += [row for row in site_rows
                     if row.get("ip") and ctx.zones.zone_of(str(row["ip"])) == zone]
        if not hits and key not in declared:
            scope.unresolved.append(item)
        for row in hits:
            chosen.setdefault(norm_text(row["asset_id"]), row)
    scope.assets = list(chosen.values())
    levels += [criticality(r.get("criticality")) for r in scope.assets]
    scope.level = highest(levels)
    return scope


def covers(ctx: DetectContext, scope: Scope, ip: str) -> bool:
    """Whether a scope reaches the asset at this address."""
    if scope.wildcard:
        return True
    if any(str(a.get("ip") or "").strip() == ip for a in scope.assets):
        return True
    return bool(scope.zones) and ctx.zones.zone_of(ip) in scope.zones


# --- the detector ----------------------------------------------------------------------------


@dataclass
class Entry:
    row: dict[str, Any]
    scope: Scope
    level: str
    assumed: bool
    screening: str | None

    @property
    def person(self) -> str:
        return str(self.row["person"]).strip()

    @property
    def access(self) -> str:
        return norm_text(self.row["access"])

    def line(self) -> str:
        return f"{self.row['path']} line {self.row['line']}"

    def who(self) -> str:
        extra = ", ".join(str(x) for x in (self.row.get("employer"), self.row.get("role")) if x)
        return f"{self.person}{' (' + extra + ')' if extra else ''}"

    def evidence(self) -> dict[str, Any]:
        fields = ("person", "employer", "role", "screening", "screening_expires", "access",
                  "scope", "via", "mfa", "valid_until")
        value = "; ".join(f"{k}={self.row[k]}" for k in fields
                          if self.row.get(k) not in (None, ""))
        return evidence_row(None, self.scope.first_ip() or "", None, "register.access",
                            f"line {self.row['line']}: {value}", self.row["path"])


@dataclass
class Violation:
    kind: str
    severity: str
    rule: str
    entry: Entry
    problem: str
    requirement: str
    person_level: bool = False
    details: dict[str, Any] = field(default_factory=dict)


# A rule's `via: [jump-host]` is met by naming any of the site's jump hosts: asset-register
# rows whose function is a jump host or bastion (by asset id, host name or address).
JUMP_HOST_PATH = "jump-host"
JUMP_HOST = re.compile(r"jump|bastion", re.IGNORECASE)


class AccessPolicy(Detector):
    kind = "access"

    _jump_hosts: dict[str, set[str]]

    def __init__(self, today: date | None = None) -> None:
        self._today = today

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        rows = ctx.store.query(
            """SELECT a.*, s.path FROM current_access_register a
               JOIN sources s ON s.id = a.source_id ORDER BY s.path, a.line""")
        if not rows:
            return
        policy = load_access_policy(ctx.store.setting("access_policy", DEFAULT_POLICY))
        on = self._today or utc_today()
        by_site: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in register_assets(ctx):
            by_site[norm_text(row["site"])].append(row)
        observed = {(norm_text(a["site"]), a["ip"]): a
                    for a in ctx.store.query("SELECT site, ip, manufacturer, risk FROM assets")}
        entries = []
        for row in rows:
            scope = resolve_scope(ctx, row["scope"], by_site.get(norm_text(row["site"]), []))
            level = scope.level or policy.default_criticality
            entries.append(Entry(row, scope, level, scope.level is None,
                                 screening_level(row["screening"])))
        self._jump_hosts = {
            site: {norm_text(v) for r in site_rows if JUMP_HOST.search(r.get("function") or "")
                   for v in (r["asset_id"], r.get("hostname"), r.get("ip")) if v}
            for site, site_rows in by_site.items()}
        violations: list[Violation] = []
        for entry in entries:
            violations += self._check(ctx, policy, entry, on, observed)
        yield from self._findings(policy, violations)
        yield from self._sessions(ctx, entries, on)

    # -- one register line ---------------------------------------------------------------------

    def _check(
        self, ctx: DetectContext, policy: AccessPolicyFile, entry: Entry, on: date,
        observed: dict[tuple[str, str], dict[str, Any]],
    ) -> list[Violation]:
        row, level, access = entry.row, entry.level, entry.access
        out: list[Violation] = []
        remote = access in REMOTE
        if row.get("valid_until") is not None and row["valid_until"] < on:
            out.append(Violation(
                "access-expired-still-listed", "medium" if remote else "low", "valid-until",
                entry, f"{access} access ended on {row['valid_until']} but is still listed",
                "the entry removed (with its account or pass) or renewed", person_level=True,
                details={"valid_until": row["valid_until"]}))
            return out
        if entry.scope.unresolved:
            # a typo in a scope hides access to whatever it meant: say so
            out.append(Violation(
                "access-scope-unresolved", "low", "scope-resolves", entry,
                f"scope names {', '.join(entry.scope.unresolved)}, which no asset id, zone "
                f"or function in the register matches (judged as {level})",
                "a scope of register asset ids, zones or functions",
                details={"unresolved": entry.scope.unresolved}))
        rule = policy.rule_for(level, access)
        high = level in ("high", "vital")
        if rule is not None:
            have = entry.screening
            if screening_rank(have) < screening_rank(rule.min_screening):
                shown = have if have is not None else f"unrecognised ({row['screening']})"
                out.append(Violation(
                    "access-screening-insufficient",
                    "high" if high else ("medium" if level == "medium" else "low"), rule.id,
                    entry, f"screening {shown} for {access} access to {level} assets",
                    f"at least {rule.min_screening}", person_level=True,
                    details={"screening": have, "required": rule.min_screening}))
            if remote and rule.via:
                paths = {norm_text(v) for v in re.split(r"[;,]", row.get("via") or "")
                         if v.strip()}
                approved = {norm_text(v) for v in rule.via}
                if JUMP_HOST_PATH in rule.via:
                    # the site's own jump hosts: register rows whose function says so
                    approved |= self._jump_hosts.get(norm_text(row["site"]), set())
                if not paths & approved:
                    out.append(Violation(
                        "access-not-via-approved-path", "high" if level == "vital" else "medium",
                        rule.id, entry,
                        f"{access} access via {row.get('via') or 'no recorded path'}",
                        f"access only via {' or '.join(rule.via)}",
                        details={"via": row.get("via"), "approved": list(rule.via)}))
            if rule.mfa and row.get("mfa") is not True:
                state = "without MFA" if row.get("mfa") is False else "with no MFA recorded"
                out.append(Violation(
                    "access-without-mfa", "high" if high else "medium", rule.id, entry,
                    f"{access} access {state}", "multi-factor authentication",
                    details={"mfa": row.get("mfa")}))
        if row.get("screening_expires") is not None and row["screening_expires"] < on \
                and entry.screening not in (None, "none") \
                and (rule is None or rule.min_screening != "none"):
            out.append(Violation(
                "access-screening-expired", "high" if high else "medium", "screening-expiry",
                entry, f"{entry.screening} expired on {row['screening_expires']}",
                f"a current {rule.min_screening if rule else entry.screening}",
                person_level=True, details={"screening_expires": row["screening_expires"]}))
        out += self._scope_width(policy, entry)
        out += self._maker_access(ctx, policy, entry, on, observed)
        return out

    def _scope_width(self, policy: AccessPolicyFile, entry: Entry) -> list[Violation]:
        allowed = policy.scope.functions_for(entry.row.get("role"))
        site_wide = allowed is not None and "*" in allowed
        if site_wide:
            return []
        severity = ("high" if entry.access in REMOTE and entry.level == "vital" else "medium")
        if entry.scope.wildcard:
            return [Violation(
                "access-scope-too-wide", severity, "scope", entry,
                f"{entry.access} access to all assets of the site",
                f"access limited to the role's functions ({', '.join(allowed)})" if allowed
                else "access limited to named assets, zones or functions",
                details={"allowed_functions": list(allowed or ()), "wildcard": True})]
        if not allowed:
            return []
        outside = sorted({str(a["function"]) for a in entry.scope.assets
                          if a.get("function") and norm_text(a["function"]) not in allowed})
        if not outside:
            return []
        assets = [a["asset_id"] for a in entry.scope.assets
                  if a.get("function") and norm_text(a["function"]) not in allowed]
        return [Violation(
            "access-scope-too-wide", severity, "scope", entry,
            f"scope reaches {', '.join(outside)} ({', '.join(map(str, assets[:5]))}"
            f"{' …' if len(assets) > 5 else ''}) beyond the role "
            f"{entry.row.get('role')!r}", f"only {', '.join(allowed)}",
            details={"allowed_functions": list(allowed), "outside_functions": outside,
                     "outside_assets": assets})]

    def _maker_access(
        self, ctx: DetectContext, policy: AccessPolicyFile, entry: Entry, on: date,
        observed: dict[tuple[str, str], dict[str, Any]],
    ) -> list[Violation]:
        rule = policy.maker_remote_access
        if entry.access not in rule.access:
            return []
        employer = read_maker(ctx.registry, entry.row.get("employer"))
        if employer is None or not employer.makers():
            return []
        own = employer.makers()
        site = norm_text(entry.row["site"])
        theirs: list[str] = []
        for asset in entry.scope.assets:
            names = [read_maker(ctx.registry, asset.get("manufacturer")),
                     read_maker(ctx.registry, asset.get("brand"))]
            seen = observed.get((site, str(asset.get("ip") or "").strip()))
            if seen is not None:
                names.append(read_maker(ctx.registry, seen.get("manufacturer")))
            if any(n is not None and n.makers() & own for n in names):
                theirs.append(str(asset["asset_id"]))
        if not theirs:
            return []
        maker_id = sorted(own)[0]
        maker = ctx.registry.maker(maker_id)
        maker_name = maker.name if maker else maker_id
        risky = ctx.registry.risk(maker_id)[0] in HIGH_RISK
        until = entry.row.get("valid_until")
        limit = on + timedelta(days=rule.max_days)
        if until is None:
            problem = f"{maker_name}'s own engineer has permanent {entry.access} access " \
                      f"(no valid_until) to {', '.join(theirs[:5])}"
            severity = "critical" if risky and entry.level == "vital" else "high"
        elif until > limit:
            problem = (f"{maker_name}'s own engineer has {entry.access} access to "
                       f"{', '.join(theirs[:5])} until {until} ({(until - on).days} days)")
            severity = "high" if risky else "medium"
        else:
            return []
        return [Violation(
            "maker-permanent-remote-access", severity, "maker-remote-access", entry, problem,
            f"time-boxed access, at most {rule.max_days} days ahead (until {limit} at the "
            f"latest)", details={"maker": maker_id, "maker_high_risk": risky,
                                 "maker_assets": theirs, "valid_until": until,
                                 "max_days": rule.max_days})]

    # -- findings ------------------------------------------------------------------------------

    def _findings(
        self, policy: AccessPolicyFile, violations: list[Violation],
    ) -> Iterable[Finding]:
        groups: dict[tuple[str, str, str, str], list[Violation]] = defaultdict(list)
        for v in violations:
            groups[(str(v.entry.row["site"]), v.kind, norm_text(v.entry.person),
                    v.rule)].append(v)
        rank = ("info", "low", "medium", "high", "critical")
        sourced = dict(policy.all_sourced())
        for (site, kind, _person, rule_id), group in sorted(groups.items()):
            first = group[0]
            entry = first.entry
            severity = max((v.severity for v in group), key=rank.index)
            rule = sourced.get(f"rules/{rule_id}") or (
                policy.maker_remote_access if rule_id == "maker-remote-access"
                else policy.scope if rule_id == "scope" else None)
            lines = "; ".join(v.entry.line() for v in group)
            problems = "; ".join(dict.fromkeys(
                f"{v.problem} (scope {v.entry.scope.describe()}, criticality "
                f"{v.entry.level}{' assumed' if v.entry.assumed else ''})" for v in group))
            asset_ip = None if first.person_level else next(
                (ip for v in group if (ip := v.entry.scope.first_ip())), None)
            source = getattr(rule, "source_url", None)
            unverified = "" if rule is None or getattr(rule, "verified", True) else \
                "; vendorwatch's recommendation, not a published requirement"
            yield Finding(
                kind=kind, severity=severity, site=site, asset_ip=asset_ip,
                key=f"{entry.person.casefold()}|{rule_id}",
                summary=f"{entry.who()}: {problems}; the {policy.name} policy requires "
                        f"{first.requirement} (rule {rule_id}{unverified}) — {lines}",
                evidence=[v.entry.evidence() for v in group][:MAX_EVIDENCE],
                details={
                    "person": entry.person, "employer": entry.row.get("employer"),
                    "role": entry.row.get("role"), "policy": policy.name, "rule": rule_id,
                    "rule_source_url": source,
                    "rule_verified": getattr(rule, "verified", None),
                    "requirement": first.requirement,
                    "entries": [{"file": v.entry.row["path"], "line": v.entry.row["line"],
                                 "access": v.entry.access, "scope": v.entry.scope.items,
                                 "criticality": v.entry.level,
                                 "criticality_assumed": v.entry.assumed,
                                 "unresolved_scope": v.entry.scope.unresolved,
                                 "assets": [a["asset_id"] for a in v.entry.scope.assets][:50],
                                 **{k: _plain(x) for k, x in v.details.items()}}
                                for v in group],
                },
            )

    # -- observed remote sessions -------------------------------------------------------------

    def _sessions(self, ctx: DetectContext, entries: list[Entry], on: date) -> Iterable[Finding]:
        sessions = previous_findings(ctx, ("remote-access",))
        if not sessions:
            return
        by_site: dict[str, list[Entry]] = defaultdict(list)
        for entry in entries:
            if entry.access in REMOTE:
                by_site[norm_text(entry.row["site"])].append(entry)
        sites_with_register = {norm_text(e.row["site"]) for e in entries}
        for session in sessions:
            site = norm_text(session["site"])
            ip = session["asset_ip"]
            details = session["details"] if isinstance(session["details"], dict) else {}
            direction = str(details.get("direction") or "")
            if not ip or site not in sites_with_register \
                    or direction in SESSION_DIRECTIONS_SKIPPED:
                continue
            covering = [e for e in by_site.get(site, []) if covers(ctx, e.scope, ip)]
            current = [e for e in covering
                       if e.row.get("valid_until") is None or e.row["valid_until"] >= on]
            if current:
                continue
            tool = details.get("tool") or "remote-access tool"
            peer = details.get("peer") or "unknown peer"
            lapsed = ""
            if covering:
                lapsed = " (only lapsed authorisations: " + "; ".join(
                    f"{e.who()} until {e.row['valid_until']}, {e.line()}"
                    for e in covering[:3]) + ")"
            yield Finding(
                kind="remote-session-unregistered", severity="high", site=session["site"],
                asset_ip=ip, key=f"{details.get('tool_id') or tool}|{peer}",
                summary=f"{tool} session {direction or ''} with {peer} on {ip} matches no "
                        f"remote/admin entry of the access register covering {ip}{lapsed} "
                        f"(from finding {session['id']}: {session['summary']})",
                evidence=[evidence_row(session["first_seen"], ip, str(peer),
                                       "finding.remote-access",
                                       f"{session['id']}: {session['summary']}",
                                       "findings"),
                          *[e.evidence() for e in covering[:5]],
                          *[r for r in session["evidence"] if isinstance(r, dict)]
                          ][:MAX_EVIDENCE],
                first_seen=session["first_seen"], last_seen=session["last_seen"],
                details={"remote_access_finding": session["id"], "tool": tool,
                         "direction": direction, "peer": peer,
                         "lapsed_entries": [{"person": e.person, "file": e.row["path"],
                                             "line": e.row["line"],
                                             "valid_until": _plain(e.row["valid_until"])}
                                            for e in covering]},
            )


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


__all__ = ["CRITICALITIES", "SCREENING_LEVELS", "AccessPolicy", "AccessPolicyFile",
           "load_access_policy", "resolve_scope", "screening_level"]
