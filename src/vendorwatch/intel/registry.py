"""The vendor-intelligence registry: schema, loader, validator and lookups.

The facts live in ``intel/data/vendors.yaml`` (its header documents every field); this
module is generic over them and names no maker. ``load_registry()`` reads and validates the
file once and returns a :class:`Registry` that the identify/ and detect/ stages query:
names to makers, brands to true makers, hosts and ports to vendor endpoints, and a maker to
its risk level and listings (own ones and those inherited from a controlling owner).

``python -m vendorwatch.intel.registry [FILE]`` validates a file and prints a summary.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from vendorwatch import signals
from vendorwatch.errors import InputError
from vendorwatch.intel.matching import (
    Explanation,
    NameEntry,
    NameIndex,
    Normaliser,
    compact,
)
from vendorwatch.intel.ownership import OwnershipGraph

RiskLevel = Literal["low", "medium", "high", "critical"]
RISK_LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")

Loc = tuple[str | int, ...]


class RegistryError(InputError):
    """The registry file is unreadable or breaks the schema; one line, naming the place."""


# --- field types ------------------------------------------------------------------------

_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")
_HTTPS_URL = re.compile(r"https://[^\s/]+\.[^\s/]+(/\S*)?")
_DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


def _partial_date(value: object) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a real calendar date (YAML hands full dates over
    as date objects)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not (match := _PARTIAL_DATE.fullmatch(value)):
        raise ValueError(f"malformed date {value!r}: expected YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        date(int(year), int(month or 1), int(day or 1))
    except ValueError as exc:
        raise ValueError(f"impossible date {value!r}: {exc}") from None
    return value


def _https_url(value: str) -> str:
    if not _HTTPS_URL.fullmatch(value):
        raise ValueError(f"source URL must be a public https:// address, got {value!r}")
    return value


def _domain(value: str) -> str:
    if not _DOMAIN.fullmatch(value):
        raise ValueError(f"not a lower-case DNS name without trailing dot: {value!r}")
    return value


PartialDate = Annotated[str, BeforeValidator(_partial_date)]
SourceUrl = Annotated[str, AfterValidator(_https_url)]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Domain = Annotated[str, AfterValidator(_domain)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sourced(_Record):
    """A fact and where it comes from. ``verified`` is false for facts the sources flag as
    unverified or weak; they are shown but never raise a risk level by default."""

    source_url: SourceUrl
    accessed: date
    verified: bool = True
    note: str | None = None

    @property
    def source(self) -> str:
        return self.source_url


# --- the records ------------------------------------------------------------------------


class Ownership(Sourced):
    """`owner` (a maker or organisation id) holds `share` percent, or controls outright."""

    owner: str
    share: float | None = Field(default=None, ge=0, le=100)
    since: PartialDate | None = None
    until: PartialDate | None = None
    controlling: bool = False


class Listing(Sourced):
    """The party is on list `list` (an id from the list catalogue) since `since`."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    list_id: str = Field(alias="list")
    since: PartialDate | None = None
    entry: str | None = None
    scope: str | None = None


class Note(Sourced):
    date: PartialDate | None = None
    text: str


class Identifier(Sourced):
    """A public identifier: an LEI, a stock code (`scheme: stock`, with `exchange`), an
    ISIN or a national register number."""

    scheme: Literal["lei", "stock", "isin", "register"]
    value: str
    exchange: str | None = None


class ListCheck(Sourced):
    """The party was looked for on list `list` (the official source at `source_url`, on
    the `accessed` date) and not found: the absence of a listing, sourced."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    list_id: str = Field(alias="list")
    result: Literal["not-listed"] = "not-listed"


class Party(Sourced):
    """Anyone that can own or be listed: a device maker, a platform or an owner."""

    id: Slug
    name: str
    legal_names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    distinctive: tuple[str, ...] = ()
    excluded_names: tuple[str, ...] = ()
    chinese_names: tuple[str, ...] = ()
    former_names: tuple[str, ...] = ()
    country: Country | None = None
    state_owned: bool | None = None
    identifiers: tuple[Identifier, ...] = ()
    ownership: tuple[Ownership, ...] = ()
    listings: tuple[Listing, ...] = ()
    checked_lists: tuple[ListCheck, ...] = ()
    notes: tuple[Note, ...] = ()

    def names(self) -> tuple[str, ...]:
        """Every name matched exactly (after normalisation)."""
        return tuple(entry.name for entry in self.name_entries("maker"))

    def name_entries(self, kind: Literal["maker", "organisation"]) -> list[NameEntry]:
        """Every registered name with the field it comes from."""
        # distinctive last: a name registered twice is explained by its more telling field
        fields = (("name", (self.name,)), ("legal_name", self.legal_names),
                  ("alias", self.aliases), ("chinese_name", self.chinese_names),
                  ("former_name", self.former_names), ("distinctive", self.distinctive))
        return [NameEntry(kind, self.id, name, field)
                for field, names in fields for name in names]


class Maker(Party):
    """A maker of networked devices, or a platform (`kind: platform`) devices talk to."""

    kind: Literal["maker", "platform"] = "maker"
    device_classes: tuple[str, ...] = ()


class Organisation(Party):
    """An owner that makes no devices: state group, holding, persons, trade union."""

    kind: Literal["company", "state-body", "persons", "trade-union"] = "company"


class Brand(Sourced):
    """A brand and its true maker; `maker` is None when the source names only `candidates`."""

    name: str
    aliases: tuple[str, ...] = ()
    maker: str | None = None
    candidates: tuple[str, ...] = ()
    relation: Literal["relabel", "subsidiary", "former-subsidiary"]
    since: PartialDate | None = None
    until: PartialDate | None = None

    @property
    def maker_id(self) -> str | None:
        return self.maker


class Port(_Record):
    proto: Literal["tcp", "udp"]
    port: int = Field(ge=1, le=65535)


class Endpoint(Sourced):
    """A vendor cloud, P2P rendezvous, platform, or a device's own service port."""

    id: Slug
    maker: str
    kind: Literal["cloud", "p2p", "platform", "device-service"]
    service: str
    domains: tuple[Domain, ...] = ()
    ports: tuple[Port, ...] = ()

    @property
    def maker_id(self) -> str:
        return self.maker


class Banner(Sourced):
    """A banner value (of evidence signal `signal`) that identifies a maker."""

    id: Slug
    maker: str
    signal: str
    match: Literal["exact", "prefix", "regex"]
    pattern: str

    @property
    def maker_id(self) -> str:
        return self.maker

    def matches(self, value: str) -> bool:
        text = value.strip()
        if self.match == "exact":
            return text.casefold() == self.pattern.casefold()
        if self.match == "prefix":
            return text.casefold().startswith(self.pattern.casefold())
        return re.search(self.pattern, text, re.IGNORECASE) is not None


class ListDef(Sourced):
    """One list or decision a party can be on."""

    id: Slug
    name: str
    jurisdiction: str
    kind: Literal[
        "telecom-security", "procurement", "export-control", "military",
        "investment-sanctions", "platform-ban", "national-decision", "local-decision",
    ]
    covers_affiliates: bool = False
    affiliate_clause: str | None = None
    since: PartialDate | None = None
    description: str


class RiskCondition(_Record):
    """Conditions of one risk rule; all that are given must hold."""

    listed_on: tuple[str, ...] | None = None
    inherited_listing: bool | None = None
    state_linked: bool | None = None
    state_controlled: bool | None = None
    country: tuple[Country, ...] | None = None


class RiskRule(_Record):
    level: RiskLevel
    when: RiskCondition
    why: str


class RiskPolicy(_Record):
    """The documented rule from listings and ownership to a risk level (see the YAML)."""

    default: RiskLevel = "low"
    count_unverified: bool = False
    state_owned_min_share: float = Field(ge=0, le=100)
    control_min_share: float = Field(ge=0, le=100)
    state_link_lists: tuple[str, ...] = ()
    rules: tuple[RiskRule, ...]


class Matching(_Record):
    legal_forms: tuple[str, ...] = ()
    cjk_legal_forms: tuple[str, ...] = ()
    min_contains_length: int = Field(default=4, ge=1)
    fuzzy_threshold: float = Field(default=88.0, ge=50, le=100)


class RegistryData(_Record):
    """The whole file."""

    schema_version: Literal[1]
    matching: Matching
    device_classes: tuple[str, ...]
    lists: tuple[ListDef, ...]
    risk: RiskPolicy
    makers: tuple[Maker, ...]
    organisations: tuple[Organisation, ...] = ()
    brands: tuple[Brand, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    banners: tuple[Banner, ...] = ()


# --- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NameMatch:
    """Why a name resolved to a maker: `method` is "exact", "transliterated" or
    "contains" (see :mod:`vendorwatch.intel.matching`); `matched` is the registry name that
    matched, `field` where it is registered, `score` 0..100."""

    maker: Maker
    method: Literal["exact", "transliterated", "contains", "fuzzy"]
    matched: str
    field: str = "name"
    score: float = 100.0


@dataclass(frozen=True)
class OwnerLink:
    """One owner in a party's ownership chain: `owner` holds part of `owned`."""

    owner: Party
    owned: str
    depth: int
    share: float | None
    controlling: bool
    verified: bool
    source_url: str


@dataclass(frozen=True)
class RiskAssessment:
    level: RiskLevel
    why: str
    listings: list[dict[str, Any]]
    state_linked: bool
    state_controlled: bool


# --- name normalisation -------------------------------------------------------------------


def normalise_name(text: str, legal_forms: Iterable[str] = ()) -> str:
    """Case-, width- and punctuation-insensitive form of a name, without legal forms:
    'Hangzhou Hikvision Digital Technology Co.,Ltd.' -> 'hangzhou hikvision digital
    technology'."""
    return Normaliser(legal_forms).normalise(text)


# --- loading ------------------------------------------------------------------------------


def load_registry(path: str | Path | None = None) -> Registry:
    """The registry from `path`, or the packaged one (read and validated once, then cached).

    Raises :class:`RegistryError` (one line: file, place, reason) on invalid data.
    """
    if path is None:
        return _packaged_registry()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(file, f"cannot read: {exc.strerror or exc}") from None
    return _parse(text, str(file))


@cache
def _packaged_registry() -> Registry:
    resource = resources.files("vendorwatch.intel") / "data" / "vendors.yaml"
    return _parse(resource.read_text(encoding="utf-8"), str(resource))


def _parse(text: str, label: str) -> Registry:
    try:
        raw = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark else None
        raise RegistryError(label, f"invalid YAML: {exc.problem or exc}", where) from None
    except (yaml.YAMLError, ValueError) as exc:  # ValueError: impossible unquoted dates
        line = _bad_timestamp_line(text)
        where = f"line {line}" if line else None
        raise RegistryError(label, f"invalid YAML value: {exc}", where) from None
    if not isinstance(raw, dict):
        raise RegistryError(label, "expected a mapping at the top level")
    try:
        data = RegistryData.model_validate(raw)
    except PydanticValidationError as exc:
        errors = exc.errors()
        first = errors[0]
        loc = tuple(first["loc"])
        reason = (
            f"missing required field {loc[-1]!r}" if first["type"] == "missing"
            else first["msg"].removeprefix("Value error, ")
        )
        more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
        raise RegistryError(label, f"{reason}{more}", _where(text, raw, loc)) from None
    problems = list(_check(data))
    if problems:
        loc, reason = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise RegistryError(label, f"{reason}{more}", _where(text, raw, loc))
    return Registry(data, label)


def _where(text: str, raw: Any, loc: Loc) -> str:
    """'line 120 (makers[0:hikvision].listings[2].since)': the YAML line of `loc`, and
    the path with the ids of the list items it passes through."""
    parts: list[str] = []
    value = raw
    for key in loc:
        if isinstance(key, int) and isinstance(value, list) and key < len(value):
            value = value[key]
            label = (value.get("id") or value.get("name")) if isinstance(value, dict) else None
            parts.append(f"[{key}:{label}]" if label else f"[{key}]")
        else:
            value = value.get(key) if isinstance(value, dict) else None
            parts.append(f".{key}" if parts else str(key))
    path = "".join(parts)
    line = _line_of(text, loc)
    return f"line {line} ({path})" if line else path


def _bad_timestamp_line(text: str) -> int | None:
    """The line of the first unquoted date YAML cannot turn into a real date."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    constructor = yaml.constructor.SafeConstructor()
    stack = [root] if root is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            if node.tag == "tag:yaml.org,2002:timestamp":
                try:
                    constructor.construct_yaml_timestamp(node)
                except ValueError:
                    return node.start_mark.line + 1
        elif isinstance(node, yaml.MappingNode):
            stack.extend(v for pair in reversed(node.value) for v in reversed(pair))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(reversed(node.value))
    return None


def _line_of(text: str, loc: Loc) -> int | None:
    node: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
    best = node
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
            node = node.value[key] if key < len(node.value) else None
        else:
            node = None
        if node is None:
            break
        best = node
    return best.start_mark.line + 1 if best is not None else None


# --- cross-record validation --------------------------------------------------------------


def _check(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    """References, uniqueness and name rules the per-record schema cannot see."""
    yield from _unique_ids("lists", [d.id for d in data.lists])
    yield from _unique_ids("endpoints", [e.id for e in data.endpoints])
    yield from _unique_ids("banners", [b.id for b in data.banners])
    yield from _check_parties(data)
    yield from _check_names(data)
    yield from _check_brands(data)
    yield from _check_endpoints_and_banners(data)
    yield from _check_risk(data)


def _parties(data: RegistryData) -> list[tuple[Loc, Party]]:
    return [
        *((("makers", i), m) for i, m in enumerate(data.makers)),
        *((("organisations", i), o) for i, o in enumerate(data.organisations)),
    ]


def _check_parties(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    parties = _parties(data)
    party_ids: dict[str, Loc] = {}
    for loc, party in parties:
        if party.id in party_ids:
            yield (*loc, "id"), f"duplicate id {party.id!r}"
        party_ids.setdefault(party.id, loc)
    list_ids = {d.id for d in data.lists}
    classes = set(data.device_classes)
    for loc, party in parties:
        for i, link in enumerate(party.ownership):
            if link.owner not in party_ids:
                yield (*loc, "ownership", i, "owner"), (
                    f"owner {link.owner!r} is not a known maker or organisation id"
                )
            yield from _ordered((*loc, "ownership", i), link.since, link.until)
        for i, listing in enumerate(party.listings):
            if listing.list_id not in list_ids:
                yield (*loc, "listings", i, "list"), f"unknown list id {listing.list_id!r}"
        listed = {x.list_id for x in party.listings}
        for i, check in enumerate(party.checked_lists):
            if check.list_id not in list_ids:
                yield (*loc, "checked_lists", i, "list"), f"unknown list id {check.list_id!r}"
            elif check.list_id in listed:
                yield (*loc, "checked_lists", i, "list"), (
                    f"{party.id!r} is listed on {check.list_id!r} and checked as not listed"
                )
        for i, device_class in enumerate(getattr(party, "device_classes", ())):
            if device_class not in classes:
                yield (*loc, "device_classes", i), f"unknown device class {device_class!r}"
    yield from _ownership_cycles(parties)


def _normaliser(data: RegistryData) -> Normaliser:
    return Normaliser(data.matching.legal_forms, data.matching.cjk_legal_forms)


def _check_brands(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    maker_ids = {m.id for m in data.makers}
    normaliser = _normaliser(data)
    seen: set[str] = set()
    for i, brand in enumerate(data.brands):
        for name in (brand.name, *brand.aliases):
            key = normaliser.normalise(name)
            if key in seen:
                yield ("brands", i, "name"), f"duplicate brand name {name!r}"
            seen.add(key)
        for maker in (brand.maker, *brand.candidates):
            if maker is not None and maker not in maker_ids:
                yield ("brands", i, "maker"), (
                    f"brand {brand.name!r} points at unknown maker {maker!r}"
                )
        if brand.maker is not None and brand.candidates:
            yield ("brands", i, "candidates"), "a brand has a maker or candidates, not both"
        yield from _ordered(("brands", i), brand.since, brand.until)


def _check_endpoints_and_banners(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    maker_ids = {m.id for m in data.makers}
    for section, makers in (("endpoints", [e.maker for e in data.endpoints]),
                            ("banners", [b.maker for b in data.banners])):
        for i, maker in enumerate(makers):
            if maker not in maker_ids:
                yield (section, i, "maker"), f"unknown maker {maker!r}"
    for i, endpoint in enumerate(data.endpoints):
        if not endpoint.domains and not endpoint.ports:
            yield ("endpoints", i), "an endpoint needs domains or ports"
    known_signals = {v for k, v in vars(signals).items() if k.isupper() and isinstance(v, str)}
    for i, banner in enumerate(data.banners):
        if banner.signal not in known_signals:
            yield ("banners", i, "signal"), f"unknown evidence signal {banner.signal!r}"
        if banner.match == "regex":
            try:
                re.compile(banner.pattern)
            except re.error as exc:
                yield ("banners", i, "pattern"), f"invalid regular expression: {exc}"


def _check_risk(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    list_ids = {d.id for d in data.lists}
    for i, list_id in enumerate(data.risk.state_link_lists):
        if list_id not in list_ids:
            yield ("risk", "state_link_lists", i), f"unknown list id {list_id!r}"
    for i, rule in enumerate(data.risk.rules):
        for list_id in rule.when.listed_on or ():
            if list_id not in list_ids:
                yield ("risk", "rules", i, "when", "listed_on"), f"unknown list id {list_id!r}"
        if rule.when == RiskCondition():
            yield ("risk", "rules", i, "when"), "a rule needs at least one condition"


def _unique_ids(section: str, ids: list[str]) -> Iterator[tuple[Loc, str]]:
    seen: set[str] = set()
    for i, record_id in enumerate(ids):
        if record_id in seen:
            yield (section, i, "id"), f"duplicate id {record_id!r}"
        seen.add(record_id)


def _ordered(loc: Loc, since: str | None, until: str | None) -> Iterator[tuple[Loc, str]]:
    if since and until and until < since:
        yield (*loc, "until"), f"until {until} is before since {since}"


def _ownership_cycles(parties: list[tuple[Loc, Party]]) -> Iterator[tuple[Loc, str]]:
    owners = {p.id: [o.owner for o in p.ownership] for _, p in parties}
    for loc, party in parties:
        stack, seen = list(owners[party.id]), set()
        while stack:
            current = stack.pop()
            if current == party.id:
                yield (*loc, "ownership"), f"ownership of {party.id!r} loops back to itself"
                break
            if current not in seen:
                seen.add(current)
                stack.extend(owners.get(current, ()))


def _check_names(data: RegistryData) -> Iterator[tuple[Loc, str]]:
    """Names must survive normalisation and name one party (makers and organisations share
    the name space, spaces ignored, so that a screened name never has two answers)."""
    normaliser = _normaliser(data)
    owner_of: dict[str, str] = {}
    for loc, party in _parties(data):
        for name in party.names():
            key = compact(normaliser.normalise(name))
            if not key:
                yield loc, f"name {name!r} is empty once normalised"
            elif owner_of.setdefault(key, party.id) != party.id:
                yield loc, f"name {name!r} also names {owner_of[key]!r}"
    for i, maker in enumerate(data.makers):
        for j, name in enumerate(maker.distinctive):
            if len(normaliser.normalise(name)) < data.matching.min_contains_length:
                yield ("makers", i, "distinctive", j), (
                    f"distinctive name {name!r} is shorter than "
                    f"{data.matching.min_contains_length} characters"
                )


# --- the registry -------------------------------------------------------------------------


class Registry:
    """Validated registry data with the lookups the pipeline needs."""

    def __init__(self, data: RegistryData, path: str) -> None:
        self.data = data
        self.path = path
        self.makers: dict[str, Maker] = {m.id: m for m in data.makers}
        self._organisation_memo: dict[str | None, NameMatch | None] = {}
        self.organisations: dict[str, Organisation] = {o.id: o for o in data.organisations}
        self.lists: dict[str, ListDef] = {d.id: d for d in data.lists}
        self.brands: tuple[Brand, ...] = data.brands
        self.endpoints: tuple[Endpoint, ...] = data.endpoints
        self.banners: tuple[Banner, ...] = data.banners
        self.policy: RiskPolicy = data.risk
        self.ownership = OwnershipGraph(data)
        self.normaliser = Normaliser(data.matching.legal_forms, data.matching.cjk_legal_forms)
        entries = [
            *(e for m in data.makers for e in m.name_entries("maker")),
            *(e for o in data.organisations for e in o.name_entries("organisation")),
            *(NameEntry("brand", b.name, name, "brand")
              for b in data.brands for name in (b.name, *b.aliases)),
        ]
        excluded = {p.id: p.excluded_names for p in (*data.makers, *data.organisations)}
        self.names = NameIndex(self.normaliser, entries, data.matching.min_contains_length,
                               excluded)
        self._maker_names = self.names.kinds(["maker"])
        self._brands = {
            self.normaliser.normalise(name): brand
            for brand in data.brands
            for name in (brand.name, *brand.aliases)
        }

    # -- parties ------------------------------------------------------------------------

    def maker(self, maker_id: str | None) -> Maker | None:
        return self.makers.get(maker_id) if maker_id else None

    def party(self, party_id: str) -> Party | None:
        return self.makers.get(party_id) or self.organisations.get(party_id)

    def match_organisation(self, text: str | None) -> Maker | None:
        """The maker an IEEE OUI organisation, banner vendor, certificate O= value or
        similar name denotes, or None. See :meth:`explain_organisation`."""
        found = self.explain_organisation(text)
        return found.maker if found else None

    def explain_organisation(self, text: str | None) -> NameMatch | None:
        """Exact match on a maker's normalised names (spaces ignored) first, then on their
        Latin transliteration; else the longest distinctive name found as whole words
        inside the text (never names shorter than the minimum, never when the text is one
        of the maker's excluded names; two makers tying is no match). No fuzzy scoring:
        this runs for every asset, and is remembered per text."""
        if text in self._organisation_memo:
            return self._organisation_memo[text]
        found = self._maker_names.lookup(text)
        match = None
        if found.entry is not None and found.method is not None:
            match = NameMatch(self.makers[found.entry.target], found.method, found.entry.name,
                              found.entry.field, found.score)
        if len(self._organisation_memo) < 100_000:
            self._organisation_memo[text] = match
        return match

    def resolve_name(self, text: str | None, fuzzy: bool = True) -> Explanation:
        """A name as typed by a person, against makers, owners and brands, with fuzzy
        scoring (threshold from the registry's `matching.fuzzy_threshold`)."""
        if not fuzzy:
            return self.names.lookup(text)
        return self.names.resolve(text, self.data.matching.fuzzy_threshold)

    def brand(self, name: str | None) -> Brand | None:
        """The brand record for a brand name (case/punctuation-insensitive), or None."""
        return self._brands.get(self.normaliser.normalise(name or ""))

    # -- endpoints and banners --------------------------------------------------------------

    def endpoint_for_host(self, hostname: str | None) -> Endpoint | None:
        """The endpoint whose domain is the host or a parent of it (longest domain wins);
        case-insensitive, trailing dot and ':port' ignored."""
        host = (hostname or "").strip().lower().rstrip(".")
        host = re.sub(r":\d+$", "", host)
        best: tuple[int, Endpoint] | None = None
        for endpoint in self.endpoints:
            for domain in endpoint.domains:
                if (host == domain or host.endswith("." + domain)) and (
                    best is None or len(domain) > best[0]
                ):
                    best = (len(domain), endpoint)
        return best[1] if best else None

    def endpoints_for_port(self, proto: str, port: int) -> list[Endpoint]:
        proto = proto.lower()
        return [e for e in self.endpoints
                if any(p.proto == proto and p.port == port for p in e.ports)]

    def banners_for(self, signal: str, value: str) -> list[Banner]:
        """Banner records of evidence signal `signal` that `value` matches."""
        return [b for b in self.banners if b.signal == signal and b.matches(value)]

    # -- ownership and listings -------------------------------------------------------------

    def owner_chain(self, party_id: str) -> list[OwnerLink]:
        """Every current owner up the chain, nearest first (ended links left out)."""
        return [
            OwnerLink(owner, link.owned, link.depth, link.share, link.controlling,
                      link.verified, link.source_url)
            for link in self.ownership.chain(party_id)
            if (owner := self.party(link.owner)) is not None
        ]

    def listings(self, maker_id: str | None) -> list[dict[str, Any]]:
        """The maker's listings as ``{list, since, source_url, scope, via, verified}``:
        its own (via None) and those of controlling owners on lists that cover
        subsidiaries and affiliates (via = the listed owner's id)."""
        if not maker_id:
            return []
        return [_listing_dict(path.listing, path.via)
                for path in self.ownership.listings(maker_id)]

    # -- risk ----------------------------------------------------------------------------

    def risk(self, maker_id: str | None) -> tuple[RiskLevel, list[dict[str, Any]]]:
        """(risk level, listings incl. inherited ones). Unknown maker: default, no listings."""
        assessment = self.assess(maker_id)
        return assessment.level, assessment.listings

    def assess(self, maker_id: str | None) -> RiskAssessment:
        """The risk level with the rule that gave it."""
        party = self.party(maker_id) if maker_id else None
        if party is None:
            return RiskAssessment(self.policy.default, "not in the registry", [], False, False)
        listings = self.listings(party.id)
        counted = [x for x in listings if x["verified"] or self.policy.count_unverified]
        facts = _RiskFacts(
            own_lists={x["list"] for x in counted if x["via"] is None},
            inherited=any(x["via"] is not None for x in counted),
            state_linked=self.ownership.state_linked(party.id),
            state_controlled=self.ownership.state_controlled(party.id),
            country=party.country,
        )
        rule = next((r for r in self.policy.rules if facts.satisfy(r.when)), None)
        return RiskAssessment(
            rule.level if rule else self.policy.default,
            rule.why if rule else "no risk rule applies",
            listings, facts.state_linked, facts.state_controlled,
        )

    # -- whole-registry views ----------------------------------------------------------------

    def facts(self) -> Iterator[tuple[str, Sourced]]:
        """Every sourced fact with a readable place, e.g. 'makers/hikvision/listings/0'."""
        for list_def in self.data.lists:
            yield f"lists/{list_def.id}", list_def
        for section, parties in (("makers", self.data.makers),
                                 ("organisations", self.data.organisations)):
            for party in parties:
                base = f"{section}/{party.id}"
                yield base, party
                for kind, items in (("identifiers", party.identifiers),
                                    ("ownership", party.ownership),
                                    ("listings", party.listings),
                                    ("checked_lists", party.checked_lists),
                                    ("notes", party.notes)):
                    for i, fact in enumerate(items):
                        yield f"{base}/{kind}/{i}", fact
        for brand in self.brands:
            yield f"brands/{brand.name}", brand
        for endpoint in self.endpoints:
            yield f"endpoints/{endpoint.id}", endpoint
        for banner in self.banners:
            yield f"banners/{banner.id}", banner

    def summary(self) -> str:
        facts = [fact for _, fact in self.facts()]
        listings = sum(len(p.listings) for p in (*self.data.makers, *self.data.organisations))
        return (
            f"{self.path}: valid - {len(self.makers)} makers, {len(self.organisations)} "
            f"organisations, {len(self.lists)} lists, {listings} listings, "
            f"{len(self.endpoints)} endpoints, {len(self.banners)} banners, "
            f"{len(self.brands)} brands; {len(facts)} sourced facts, "
            f"{sum(not f.verified for f in facts)} unverified"
        )


def _listing_dict(listing: Listing, via: str | None) -> dict[str, Any]:
    return {
        "list": listing.list_id,
        "since": listing.since,
        "source_url": listing.source_url,
        "scope": listing.scope,
        "via": via,
        "verified": listing.verified,
    }


@dataclass(frozen=True)
class _RiskFacts:
    """What the risk conditions are evaluated against, for one party."""

    own_lists: set[str]
    inherited: bool
    state_linked: bool
    state_controlled: bool
    country: str | None

    def satisfy(self, when: RiskCondition) -> bool:
        return all((
            when.listed_on is None or bool(self.own_lists & set(when.listed_on)),
            when.inherited_listing is None or self.inherited == when.inherited_listing,
            when.state_linked is None or self.state_linked == when.state_linked,
            when.state_controlled is None or self.state_controlled == when.state_controlled,
            when.country is None or self.country in when.country,
        ))


def main(argv: list[str] | None = None) -> int:
    """Validate the packaged registry (or FILE) and print a one-line summary."""
    args = sys.argv[1:] if argv is None else argv
    try:
        registry = load_registry(args[0] if args else None)
    except RegistryError as exc:
        print(exc.line(), file=sys.stderr)
        return 2
    print(registry.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
