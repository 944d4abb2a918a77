"""Supplier screening: a name as a buyer types it -> the company, its brands, its owners up
to the state, every listing (direct or inherited, with the rule) and a reasoned verdict
under a sector policy.

    from vendorwatch.intel import load_registry
    from vendorwatch.intel.policy import load_policy
    from vendorwatch.intel.screening import screen

    result = screen("Hik-Vision", load_registry(), load_policy("port-critical"))
    result.verdict, result.to_dict()

`extra` plugs in listings from imported datasets: a callable taking a list of names and
returning dicts with at least ``list``, ``since``, ``source_url``, ``dataset`` and
``matched_name``. It is asked about the screened party (direct listings) and, when the
policy says imported listings pass down (``inherit.imported``), about each controlling
owner (inherited listings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from vendorwatch.intel.ownership import ListingPath
from vendorwatch.intel.policy import ANY_LIST, Policy, PolicyCondition, verdict_rank
from vendorwatch.intel.registry import Brand, Party, Registry, RiskLevel

Extra = Callable[[list[str]], list[dict[str, Any]]]


@dataclass(frozen=True)
class ScreeningResult:
    """The answer for one name; :meth:`to_dict` is its JSON form."""

    query: str
    policy: str
    match: dict[str, Any]
    company: dict[str, Any] | None
    brand: dict[str, Any] | None
    relations: tuple[dict[str, Any], ...]
    ownership: tuple[dict[str, Any], ...]
    ultimate_owners: tuple[dict[str, Any], ...]
    state_controlled: bool
    state_linked: bool
    listings: tuple[dict[str, Any], ...]
    checked_lists: tuple[dict[str, Any], ...]
    verdict: RiskLevel
    reasons: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in data.items()
        }


def screen(
    name: str, registry: Registry, policy: Policy, extra: Extra | None = None
) -> ScreeningResult:
    """Screen one supplier name under `policy` (see the module docstring)."""
    found = registry.resolve_name(name)
    brand: Brand | None = None
    party: Party | None = None
    if found.entry is not None:
        if found.entry.kind == "brand":
            brand = registry.brand(found.entry.target)
            party = registry.party(brand.maker) if brand and brand.maker else None
        else:
            party = registry.party(found.entry.target)
    listings = _registry_listings(registry, policy, party)
    listings += _imported_listings(registry, policy, party, name, extra)
    state_controlled = party is not None and registry.ownership.state_controlled(party.id)
    state_linked = party is not None and registry.ownership.state_linked(party.id)
    facts = _Facts(
        listings=[x for x in listings if x["verified"] or policy.count_unverified],
        state_controlled=state_controlled,
        state_linked=state_linked,
        country=party.country if party else None,
        relabel=brand is not None and brand.relation == "relabel" and brand.verified,
        unmatched=found.entry is None and not listings,
    )
    held = [rule for rule in policy.rules if facts.satisfy(rule.when)]
    held.sort(key=lambda rule: -verdict_rank(rule.verdict))
    verdict = held[0].verdict if held else policy.default_verdict
    reasons: list[dict[str, Any]] = [
        {
            "rule": r.id,
            "verdict": r.verdict,
            "action": r.action,
            "why": r.why,
            "source_url": r.source_url,
        }
        for r in held
    ]
    if (
        found.entry is not None
        and found.method in UNCONFIRMED_METHODS
        and verdict_rank(verdict) > verdict_rank(UNCONFIRMED_CAP)
    ):
        reasons.insert(
            0,
            {
                "rule": "unconfirmed-match",
                "verdict": UNCONFIRMED_CAP,
                "action": "flag",
                "why": f"Matched {found.entry.name} only {found.method} (score "
                f"{found.score:.0f}): confirm it is the same company. If it is, the "
                f"verdict is {verdict}.",
                "source_url": None,
            },
        )
        verdict = UNCONFIRMED_CAP
    elif found.entry is None and found.best is not None and found.score >= CLOSE_MISS:
        reasons.insert(
            0,
            {
                "rule": "close-miss",
                "verdict": verdict,
                "action": "flag",
                "why": f"No registered name matched; nearest {found.best.name} scored "
                f"{found.score:.0f} (threshold {found.threshold or 0:.0f}): check the "
                "spelling before relying on this verdict.",
                "source_url": None,
            },
        )
    return ScreeningResult(
        query=name,
        policy=policy.name,
        match=found.to_dict(),
        company=_company(party) if party else None,
        brand=_brand(brand) if brand else None,
        relations=tuple(_relations(registry, party, brand)),
        ownership=tuple(_ownership(registry, party)),
        ultimate_owners=tuple(
            _party_summary(registry.party(p))
            for p in (registry.ownership.ultimate_owners(party.id) if party else ())
        ),
        state_controlled=state_controlled,
        state_linked=state_linked,
        listings=tuple(listings),
        checked_lists=tuple(_checks(registry, party)),
        verdict=verdict,
        reasons=tuple(reasons),
    )


# A name found only inside a longer name, or only fuzzily, is a lead, not an identity: its
# verdict is capped until a person confirms it (the cap and the reason say so).
UNCONFIRMED_METHODS = ("contains", "fuzzy")
UNCONFIRMED_CAP: RiskLevel = "medium"
CLOSE_MISS = 75.0  # a nearest name scoring this much is shown beside a no-match verdict


@dataclass(frozen=True)
class _Facts:
    listings: list[dict[str, Any]]
    state_controlled: bool
    state_linked: bool
    country: str | None
    relabel: bool
    unmatched: bool

    def satisfy(self, when: PolicyCondition) -> bool:
        return all(
            (
                when.listed_on is None or self._listed(when.listed_on, when.applies),
                when.imported is None
                or any(x["origin"] == "imported" for x in self.listings) == when.imported,
                when.state_controlled is None or self.state_controlled == when.state_controlled,
                when.state_linked is None or self.state_linked == when.state_linked,
                when.country is None or self.country in when.country,
                when.relabel is None or self.relabel == when.relabel,
                when.unmatched is None or self.unmatched == when.unmatched,
            )
        )

    def _listed(self, lists: Iterable[str], applies: str) -> bool:
        wanted = set(lists)
        return any(
            (ANY_LIST in wanted or x["list"] in wanted) and applies in ("any", x["applies"])
            for x in self.listings
        )


def _registry_listings(
    registry: Registry, policy: Policy, party: Party | None
) -> list[dict[str, Any]]:
    if party is None:
        return []
    return [
        _listing(registry, path)
        for path in registry.ownership.listings(party.id, policy.inherit.lists)
    ]


def _listing(registry: Registry, path: ListingPath) -> dict[str, Any]:
    x = path.listing
    list_def = registry.lists[x.list_id]
    owner = registry.party(path.via) if path.via else None
    return {
        "list": x.list_id,
        "list_name": list_def.name,
        "since": x.since,
        "scope": x.scope,
        "entry": x.entry,
        "applies": "inherited" if path.via else "direct",
        "via": path.via,
        "via_name": owner.name if owner else None,
        "rule": path.rule,
        "rule_text": (
            list_def.affiliate_clause
            if path.rule == "list-affiliate-clause"
            else "policy: listings of a controlling owner pass down"
            if path.rule
            else None
        ),
        "path": list(path.path),
        "source_url": x.source_url,
        "verified": x.verified,
        "origin": "registry",
        "dataset": None,
        "matched_name": None,
    }


def _imported_listings(
    registry: Registry, policy: Policy, party: Party | None, query: str, extra: Extra | None
) -> list[dict[str, Any]]:
    if extra is None:
        return []
    subject_names = _dedupe([query, *(_formal_names(party) if party else ())])
    found = [_imported(item, None, None) for item in extra(subject_names)]
    if party is not None and policy.inherit.imported:
        for owner_id in registry.ownership.controllers(party.id):
            owner = registry.party(owner_id)
            if owner is not None:
                found += [
                    _imported(item, owner, registry.ownership.control_path(party.id, owner_id))
                    for item in extra(_dedupe(_formal_names(owner)))
                ]
    return found


def _imported(
    item: dict[str, Any], owner: Party | None, path: tuple[str, ...] | None
) -> dict[str, Any]:
    return {
        "list": str(item.get("list", "")),
        "list_name": item.get("list_name") or item.get("list"),
        "since": item.get("since"),
        "scope": item.get("scope"),
        "entry": item.get("matched_name"),
        "applies": "inherited" if owner else "direct",
        "via": owner.id if owner else None,
        "via_name": owner.name if owner else None,
        "rule": "policy-control" if owner else None,
        "rule_text": "policy: imported listings of a controlling owner pass down"
        if owner
        else None,
        "path": list(path) if path else [],
        "source_url": item.get("source_url"),
        "verified": True,
        "origin": "imported",
        "dataset": item.get("dataset"),
        "matched_name": item.get("matched_name"),
    }


def _formal_names(party: Party) -> list[str]:
    return [party.name, *party.legal_names, *party.former_names]


def _dedupe(names: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(n for n in names if n))


def _company(party: Party) -> dict[str, Any]:
    return {
        **_party_summary(party),
        "legal_names": list(party.legal_names),
        "chinese_names": list(party.chinese_names),
        "former_names": list(party.former_names),
        "identifiers": [
            {
                "scheme": i.scheme,
                "value": i.value,
                "exchange": i.exchange,
                "source_url": i.source_url,
                "verified": i.verified,
            }
            for i in party.identifiers
        ],
        "source_url": party.source_url,
        "verified": party.verified,
    }


def _party_summary(party: Party | None) -> dict[str, Any]:
    if party is None:
        return {}
    return {
        "id": party.id,
        "name": party.name,
        "kind": getattr(party, "kind", None),
        "country": party.country,
        "state_owned": party.state_owned,
    }


def _brand(brand: Brand) -> dict[str, Any]:
    return {
        "name": brand.name,
        "maker": brand.maker,
        "candidates": list(brand.candidates),
        "relation": brand.relation,
        "since": brand.since,
        "until": brand.until,
        "source_url": brand.source_url,
        "verified": brand.verified,
        "note": brand.note,
    }


def _relations(
    registry: Registry, party: Party | None, brand: Brand | None
) -> Iterable[dict[str, Any]]:
    """Brands this maker is behind (own, relabel, candidate) and, for a brand, its maker."""
    seen: set[str] = set()
    for record in registry.brands:
        names_party = party is not None and (
            record.maker == party.id
            or party.id in record.candidates
            or registry.normaliser.normalise(record.name)
            == registry.normaliser.normalise(party.name)
        )
        if (names_party or record is brand) and record.name not in seen:
            seen.add(record.name)
            yield {
                "brand": record.name,
                "maker": record.maker,
                "candidates": list(record.candidates),
                "relation": record.relation,
                "attribution": "maker" if record.maker else "candidate",
                "source_url": record.source_url,
                "verified": record.verified,
            }


def _ownership(registry: Registry, party: Party | None) -> Iterable[dict[str, Any]]:
    if party is None:
        return
    for link in registry.ownership.chain(party.id):
        owner = registry.party(link.owner)
        if owner is None:
            continue
        yield {
            "owner": owner.id,
            "owner_name": owner.name,
            "owned": link.owned,
            "depth": link.depth,
            "share": link.share,
            "controlling": link.controlling,
            "state_owned": owner.state_owned,
            "country": owner.country,
            "since": link.since,
            "verified": link.verified,
            "counted": link.counted,
            "source_url": link.source_url,
        }


def _checks(registry: Registry, party: Party | None) -> Iterable[dict[str, Any]]:
    if party is None:
        return
    for check in party.checked_lists:
        yield {
            "list": check.list_id,
            "list_name": registry.lists[check.list_id].name,
            "result": check.result,
            "checked": check.accessed.isoformat(),
            "source_url": check.source_url,
            "verified": check.verified,
            "note": check.note,
        }
