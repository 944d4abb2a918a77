"""EU Foreign Subsidies Regulation (EU) 2022/2560, Art. 28: does a bidder have to notify its
foreign financial contributions, or only declare them?

A notification is due when both hold:
* the estimated value of the contract (net of VAT) is at least EUR 250 million and, when
  the procurement is divided into lots, the lot or the lots the bidder tenders for are
  together worth at least EUR 125 million;
* the bidder, together with its main subcontractors and suppliers (as declared), was granted
  foreign financial contributions of at least EUR 4 million per third country over the
  previous three years (summed per country).
When the value test holds but no third country reaches EUR 4 million, the bidder declares
its contributions instead (Art. 29); below the value thresholds neither is due. The rules apply
to procedures launched from 2023-10-12. Contributions from EU member states are not foreign
and are left out.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Literal

from vendorwatch.procurement.tender import Bidder, Tender

CONTRACT_THRESHOLD_EUR = 250_000_000
LOT_THRESHOLD_EUR = 125_000_000
CONTRIBUTION_THRESHOLD_EUR = 4_000_000
MAIN_SUBCONTRACTOR_SHARE_PCT = 20
APPLIES_FROM = date(2023, 10, 12)

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "GR", "HR", "HU",
    "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})

FSR_CITATION = {
    "title": "Regulation (EU) 2022/2560 on foreign subsidies distorting the internal market",
    "article": "Art. 28 (notifiable foreign financial contributions in public procurement)",
    "url": "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32022R2560",
}

Outcome = Literal["notification", "declaration", "not required", "not applicable"]


@dataclass(frozen=True)
class FsrOutcome:
    outcome: Outcome
    contract_value_eur: float
    contract_test: bool
    lots_bid: tuple[str, ...]
    lots_value_eur: float | None
    lot_test: bool | None
    contributions_by_country: dict[str, float]
    contributions_by_party: tuple[dict[str, Any], ...]
    countries_over_threshold: tuple[str, ...]
    contributions_test: bool
    undeclared: tuple[str, ...]
    eu_entries_ignored: tuple[dict[str, Any], ...]
    filing: str | None
    reasons: tuple[str, ...]
    citation: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}


def fsr_test(tender: Tender, bidder: Bidder) -> FsrOutcome:
    """The FSR outcome for one bidder (see the module docstring)."""
    contract_test = tender.estimated_value_eur >= CONTRACT_THRESHOLD_EUR
    lots_bid = bidder.lots_bid(tender)
    lots_value: float | None = None
    lot_test: bool | None = None
    if tender.lots:
        lots_value = sum(lot.estimated_value_eur for lot in tender.lots if lot.id in lots_bid)
        lot_test = lots_value >= LOT_THRESHOLD_EUR

    parties: list[tuple[str, str, dict[str, float] | None]] = [
        (bidder.name, "bidder", bidder.foreign_financial_contributions_eur)]
    parties += [(sub.name, f"main {sub.role.replace('_', ' ')}",
                 sub.foreign_financial_contributions_eur)
                for sub in bidder.subcontractors if sub.is_main]
    by_country: dict[str, float] = {}
    by_party: list[dict[str, Any]] = []
    ignored: list[dict[str, Any]] = []
    undeclared: list[str] = []
    for name, role, contributions in parties:
        if contributions is None:
            undeclared.append(name)
            continue
        for country, amount in sorted(contributions.items()):
            if country in EU_MEMBER_STATES:
                ignored.append({"party": name, "country": country, "eur": amount})
                continue
            by_country[country] = by_country.get(country, 0.0) + amount
            by_party.append({"party": name, "role": role, "country": country, "eur": amount})
    over = tuple(sorted(c for c, eur in by_country.items()
                        if eur >= CONTRIBUTION_THRESHOLD_EUR))
    value_test = contract_test and lot_test is not False
    launched = tender.procedure_launched
    if launched is not None and launched < APPLIES_FROM:
        outcome: Outcome = "not applicable"
    else:
        outcome = ("not required" if not value_test
                   else "notification" if over else "declaration")

    reasons = [_value_reason(tender, contract_test, lots_bid, lots_value, lot_test)]
    if over:
        reasons.append("foreign financial contributions of at least "
                       f"{eur(CONTRIBUTION_THRESHOLD_EUR)} from " + ", ".join(
                           f"{c} ({eur(by_country[c])})" for c in over)
                       + " over the previous three years (bidder and main subcontractors "
                         "and suppliers, summed per third country)")
    else:
        largest = max(by_country.items(), key=lambda kv: kv[1], default=None)
        reasons.append(
            f"no third country reaches {eur(CONTRIBUTION_THRESHOLD_EUR)} "
            + (f"(largest: {largest[0]} {eur(largest[1])})" if largest else
               "(no foreign financial contributions declared)"))
    if undeclared:
        reasons.append("no declaration of foreign financial contributions from: "
                       + ", ".join(undeclared))
    if outcome == "not applicable":
        reasons.append(f"procedure launched {launched}, before the FSR's procurement rules "
                       f"applied ({APPLIES_FROM})")
    return FsrOutcome(
        outcome=outcome,
        contract_value_eur=tender.estimated_value_eur,
        contract_test=contract_test,
        lots_bid=lots_bid,
        lots_value_eur=lots_value,
        lot_test=lot_test,
        contributions_by_country=by_country,
        contributions_by_party=tuple(by_party),
        countries_over_threshold=over,
        contributions_test=bool(over),
        undeclared=tuple(undeclared),
        eu_entries_ignored=tuple(ignored),
        filing=bidder.fsr_filing,
        reasons=tuple(reasons),
        citation=FSR_CITATION,
    )


def _value_reason(tender: Tender, contract_test: bool, lots_bid: tuple[str, ...],
                  lots_value: float | None, lot_test: bool | None) -> str:
    sign = "≥" if contract_test else "<"
    text = (f"estimated contract value {eur(tender.estimated_value_eur)} {sign} "
            f"{eur(CONTRACT_THRESHOLD_EUR)}")
    if lots_value is not None:
        sign = "≥" if lot_test else "<"
        text += (f"; lots tendered for ({', '.join(lots_bid) or 'none'}) "
                 f"{eur(lots_value)} {sign} {eur(LOT_THRESHOLD_EUR)}")
    return text


def eur(amount: float) -> str:
    """12500000 -> '€12.5M'; 980000 -> '€980,000'. Millions are cut, not rounded, to two
    decimals, so an amount under a threshold never reads as the threshold (€3.99M, not €4M)."""
    if amount >= 1_000_000:
        millions = math.floor(amount / 10_000) / 100
        return f"€{millions:,.2f}".rstrip("0").rstrip(".") + "M"
    return f"€{amount:,.0f}"
