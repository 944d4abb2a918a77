"""Evaluate a tender's bidders: screening of each bidder and each declared subcontractor or
component maker, the FSR outcome, abnormally low prices, checklist gaps and a
recommendation with its reasons.

    result = evaluate(tender, registry, policy, extra=ImportedLists(store).listings_for)
    result.bidders[0].recommendation, result.to_dict()

Recommendation, the most severe level among the reasons:

* ``exclude`` - the sector policy excludes the bidder or one of its declared
  subcontractors/component makers (the tender as submitted includes that party's goods or
  services), or the bidder answers "no" to a mandatory requirement;
* ``clarify`` - something must be asked or checked before award: a policy flag on the
  bidder or a component maker, an FSR notification due (or foreign financial contributions
  not declared), an abnormally low price (Art. 69 explanation), an open checklist question;
* ``proceed`` - nothing above; notes (a gap in a non-mandatory requirement, policy notes)
  are still listed for the award decision.

It is decision support for a procurement officer, not a decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from vendorwatch import __version__
from vendorwatch.intel.policy import Policy, verdict_rank
from vendorwatch.intel.registry import RISK_LEVELS, Registry, RiskLevel
from vendorwatch.intel.screening import Extra, ScreeningResult, screen
from vendorwatch.procurement.abnormally_low import (
    ART69_CITATION,
    AbnormallyLowOutcome,
    assess_price,
)
from vendorwatch.procurement.checklist import ChecklistOutcome, assess_checklist
from vendorwatch.procurement.fsr import (
    CONTRACT_THRESHOLD_EUR,
    CONTRIBUTION_THRESHOLD_EUR,
    FSR_CITATION,
    LOT_THRESHOLD_EUR,
    FsrOutcome,
    eur,
    fsr_test,
)
from vendorwatch.procurement.tender import Bidder, Tender

Recommendation = Literal["exclude", "clarify", "proceed"]
Level = Literal["exclude", "clarify", "note"]
_LEVEL_RANK = {"note": 0, "clarify": 1, "exclude": 2}
_ACTION_LEVEL: dict[str, Level] = {"exclude": "exclude", "flag": "clarify", "note": "note"}

LEGAL_BASIS: tuple[dict[str, str], ...] = (
    FSR_CITATION,
    ART69_CITATION,
    {"title": "Directive (EU) 2022/2555 (NIS2)",
     "article": "Art. 21(2)(d) supply-chain security; Art. 21(3) suppliers' vulnerabilities "
                "and secure development practices",
     "url": "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32022L2555"},
    {"title": "Cybersecurity of 5G networks - EU Toolbox of risk mitigating measures "
              "(2020-01-29), implemented by COM(2020) 50",
     "article": "SM03 restrict high-risk suppliers for critical and sensitive assets; SM05 "
                "multi-vendor strategy; non-technical criteria: state interference, the "
                "law of the supplier's home country",
     "url": "https://eur-lex.europa.eu/legal-content/EN/ALL/?uri=COM%3A2020%3A0050%3AFIN"},
)


@dataclass(frozen=True)
class PartyScreening:
    """A bidder or a declared subcontractor/component maker and its screening."""

    name: str
    role: str
    supplies: str | None
    declared_country: str | None
    result: ScreeningResult

    @property
    def verdict(self) -> RiskLevel:
        return self.result.verdict

    @property
    def action(self) -> str | None:
        """The most severe policy action among the rules that held, if any."""
        actions = [r["action"] for r in self.result.reasons]
        for action in ("exclude", "flag", "note"):
            if action in actions:
                return action
        return None

    def to_dict(self) -> dict[str, Any]:
        r = self.result
        company = r.company or {}
        return {
            "name": self.name,
            "role": self.role,
            "supplies": self.supplies,
            "declared_country": self.declared_country,
            "verdict": r.verdict,
            "action": self.action,
            "matched": bool(r.match.get("matched")),
            "matched_name": r.match.get("matched_name"),
            "match_score": r.match.get("score"),
            "company": company.get("name"),
            "company_country": company.get("country"),
            "brand_of": (r.brand or {}).get("maker"),
            "state_controlled": r.state_controlled,
            "ultimate_owners": [u.get("name") for u in r.ultimate_owners],
            "listings": [{"list": x["list"], "since": x["since"], "applies": x["applies"],
                          "via": x["via_name"], "source_url": x["source_url"]}
                         for x in r.listings],
            "rules": [{"rule": x["rule"], "verdict": x["verdict"], "action": x["action"],
                       "why": x["why"], "source_url": x["source_url"]} for x in r.reasons],
            "screening": r.to_dict(),
        }


@dataclass(frozen=True)
class Reason:
    level: Level
    topic: str
    text: str
    source_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "topic": self.topic, "text": self.text,
                "source_url": self.source_url}


@dataclass(frozen=True)
class BidderEvaluation:
    name: str
    country: str | None
    total_price_eur: float | None
    lot_prices_eur: dict[str, float]
    screening: PartyScreening
    components: tuple[PartyScreening, ...]
    fsr: FsrOutcome
    abnormally_low: AbnormallyLowOutcome
    checklist: ChecklistOutcome
    recommendation: Recommendation
    reasons: tuple[Reason, ...]
    note: str | None = None

    @property
    def screening_verdict(self) -> RiskLevel:
        """The most severe verdict of the bidder and its declared parties."""
        verdicts = [self.screening.verdict, *(c.verdict for c in self.components)]
        return max(verdicts, key=verdict_rank)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "country": self.country,
            "total_price_eur": self.total_price_eur,
            "lot_prices_eur": dict(self.lot_prices_eur),
            "recommendation": self.recommendation,
            "reasons": [r.to_dict() for r in self.reasons],
            "screening_verdict": self.screening_verdict,
            "screening": self.screening.to_dict(),
            "components": [c.to_dict() for c in self.components],
            "fsr": self.fsr.to_dict(),
            "abnormally_low": self.abnormally_low.to_dict(),
            "checklist": self.checklist.to_dict(),
            "note": self.note,
        }


@dataclass(frozen=True)
class TenderEvaluation:
    reference: str | None
    title: str
    contracting_authority: str
    authority_country: str | None
    sector: str
    policy: str
    policy_title: str
    estimated_value_eur: float
    procedure_launched: str | None
    lots: tuple[dict[str, Any], ...]
    bidders: tuple[BidderEvaluation, ...]
    generated: str
    version: str = __version__
    imported_lists: bool = False
    legal_basis: tuple[dict[str, str], ...] = LEGAL_BASIS
    thresholds: dict[str, Any] = field(default_factory=dict)

    @property
    def worst_verdict(self) -> RiskLevel:
        return max((b.screening_verdict for b in self.bidders), key=verdict_rank,
                   default=RISK_LEVELS[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "title": self.title,
            "contracting_authority": self.contracting_authority,
            "authority_country": self.authority_country,
            "sector": self.sector,
            "policy": self.policy,
            "policy_title": self.policy_title,
            "estimated_value_eur": self.estimated_value_eur,
            "procedure_launched": self.procedure_launched,
            "lots": [dict(lot) for lot in self.lots],
            "bidders": [b.to_dict() for b in self.bidders],
            "generated": self.generated,
            "version": self.version,
            "imported_lists": self.imported_lists,
            "legal_basis": [dict(x) for x in self.legal_basis],
            "thresholds": dict(self.thresholds),
        }


def evaluate(
    tender: Tender,
    registry: Registry,
    policy: Policy,
    extra: Extra | None = None,
    now: datetime | None = None,
) -> TenderEvaluation:
    """Evaluate every bidder under `policy` (normally the sector's: see
    :attr:`Tender.policy_name`); `extra` adds imported listings to the screening."""
    from vendorwatch.procurement import abnormally_low

    bidders = tuple(_bidder(tender, bidder, registry, policy, extra)
                    for bidder in tender.bidders)
    return TenderEvaluation(
        reference=tender.reference,
        title=tender.title,
        contracting_authority=tender.contracting_authority.name,
        authority_country=tender.contracting_authority.country,
        sector=tender.sector,
        policy=policy.name,
        policy_title=policy.title,
        estimated_value_eur=tender.estimated_value_eur,
        procedure_launched=(tender.procedure_launched.isoformat()
                            if tender.procedure_launched else None),
        lots=tuple({"id": lot.id, "title": lot.title,
                    "estimated_value_eur": lot.estimated_value_eur} for lot in tender.lots),
        bidders=bidders,
        generated=(now or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC"),
        imported_lists=extra is not None,
        thresholds={
            "fsr_contract_eur": CONTRACT_THRESHOLD_EUR,
            "fsr_lots_eur": LOT_THRESHOLD_EUR,
            "fsr_contributions_per_third_country_eur": CONTRIBUTION_THRESHOLD_EUR,
            "abnormally_low_below_estimate": abnormally_low.BELOW_ESTIMATE,
            "abnormally_low_below_others_mean": abnormally_low.BELOW_OTHERS_MEAN,
            "abnormally_low_min_other_bids": abnormally_low.MIN_OTHER_BIDS,
        },
    )


def _bidder(tender: Tender, bidder: Bidder, registry: Registry, policy: Policy,
            extra: Extra | None) -> BidderEvaluation:
    own = PartyScreening(bidder.name, "bidder", None, bidder.country,
                         screen(bidder.name, registry, policy, extra))
    components = tuple(
        PartyScreening(sub.name, sub.role.replace("_", " "), sub.supplies, sub.country,
                       screen(sub.name, registry, policy, extra))
        for sub in bidder.subcontractors
    )
    fsr = fsr_test(tender, bidder)
    price = assess_price(tender, bidder)
    checklist = assess_checklist(tender, bidder, policy)
    reasons = [*_screening_reasons(own, components, policy), *_fsr_reasons(fsr),
               *_price_reasons(price), *_checklist_reasons(checklist)]
    reasons.sort(key=lambda r: -_LEVEL_RANK[r.level])
    top = max((_LEVEL_RANK[r.level] for r in reasons), default=0)
    recommendation: Recommendation = ("exclude" if top == 2 else "clarify" if top == 1
                                      else "proceed")
    return BidderEvaluation(
        name=bidder.name, country=bidder.country, total_price_eur=bidder.total_price_eur,
        lot_prices_eur=dict(bidder.lot_prices_eur), screening=own, components=components,
        fsr=fsr, abnormally_low=price, checklist=checklist, recommendation=recommendation,
        reasons=tuple(reasons), note=bidder.note,
    )


def _screening_reasons(own: PartyScreening, components: tuple[PartyScreening, ...],
                       policy: Policy) -> list[Reason]:
    out: list[Reason] = []
    for party in (own, *components):
        result = party.result
        who = "the bidder" if party is own else (
            f"declared {party.role} {party.name}"
            + (f" ({party.supplies})" if party.supplies else ""))
        matched = result.company["name"] if result.company else None
        if party.action is not None:
            top = result.reasons[0]
            held = ", ".join(r["rule"] for r in result.reasons)
            level = _ACTION_LEVEL[party.action]
            text = (f"{who}"
                    + (f" (matched {matched})" if matched and matched != party.name else "")
                    + f": screening verdict {result.verdict} under policy {policy.name} "
                      f"({held}); {top['why']}")
            if level == "exclude" and party is not own:
                text += " The tender as submitted includes this party's goods or services."
            out.append(Reason(level, "screening", text, top["source_url"]))
        registry_country = result.company.get("country") if result.company else None
        if party.declared_country and registry_country and (
                party.declared_country != registry_country):
            out.append(Reason("note", "screening",
                              f"{who}: declared country {party.declared_country}, the "
                              f"registry's {matched} is {registry_country}; check the "
                              "legal entity that bids or supplies"))
    return out


def _fsr_reasons(fsr: FsrOutcome) -> list[Reason]:
    url = FSR_CITATION["url"]
    out: list[Reason] = []
    if fsr.outcome == "notification":
        missing = fsr.filing not in (None, "notification")
        text = ("FSR notification required (" + "; ".join(fsr.reasons[:2]) + "). "
                + ("The bidder filed a " + str(fsr.filing) + " instead: ask for the "
                   "notification. " if missing else
                   "Check that the notification was made through the contracting "
                   "authority. " if fsr.filing is None else "")
                + "The contract cannot be awarded to this bidder while the Commission "
                  "reviews the notification.")
        out.append(Reason("clarify", "fsr", text, url))
    elif fsr.outcome == "declaration":
        text = "FSR declaration (no notification): " + "; ".join(fsr.reasons[:2])
        if fsr.filing == "none":
            out.append(Reason("clarify", "fsr", text + ". No declaration was filed: ask "
                              "for it.", url))
        else:
            out.append(Reason("note", "fsr", text, url))
    if fsr.undeclared:
        out.append(Reason("clarify", "fsr",
                          "foreign financial contributions not declared by "
                          + ", ".join(fsr.undeclared)
                          + f": ask for them per third country over the last three years "
                            f"(FSR threshold {eur(CONTRIBUTION_THRESHOLD_EUR)} per country)",
                          url))
    return out


def _price_reasons(price: AbnormallyLowOutcome) -> list[Reason]:
    if not price.flagged:
        return []
    return [Reason("clarify", "abnormally low",
                   "abnormally low price - " + "; ".join(price.reasons) + ". " + (price.step or ""),
                   price.citation["url"])]


def _checklist_reasons(checklist: ChecklistOutcome) -> list[Reason]:
    out: list[Reason] = []
    for item in checklist.gaps:
        note = f" ({item.note})" if item.note else ""
        if item.mandatory:
            out.append(Reason("exclude", "checklist",
                              f"mandatory requirement not met: {item.requirement}{note} "
                              f"- mandatory per {checklist.mandatory_from}"))
        else:
            out.append(Reason("note", "checklist",
                              f"requirement not met: {item.requirement}{note} "
                              f"- weight {item.weight}"))
    for item in checklist.questions:
        note = f" ({item.note})" if item.note else ""
        out.append(Reason("clarify", "checklist",
                          f"open question: {item.requirement} - answered {item.answer}{note} "
                          f"- weight {item.weight}{', mandatory' if item.mandatory else ''}"))
    return out
