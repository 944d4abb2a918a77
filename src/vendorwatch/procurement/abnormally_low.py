"""Abnormally low tenders (Directive 2014/24/EU, Art. 69): a price far under the estimate or
under the other bidders' prices for the same lot.

The Directive sets no number; these are this tool's screening thresholds, to be set by the
contracting authority (change the constants or pass your own to :func:`assess_price`):

* ``BELOW_ESTIMATE`` - more than 30% under the estimated value of the lot (or contract);
* ``BELOW_OTHERS_MEAN`` - more than 20% under the mean of the other bids for the same lot
  (or for the whole contract), compared only when at least ``MIN_OTHER_BIDS`` other bids
  exist.

A flag triggers Art. 69(1): the authority must ask the bidder to explain the price or costs.
It may reject the tender only where the evidence does not account for the low price (69(3));
where the tender is abnormally low because of state aid, it may be rejected on that ground
alone only after consulting the bidder and if the bidder cannot prove, within a sufficient
time limit, that the aid was compatible with the internal market (69(4)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from vendorwatch.procurement.fsr import eur
from vendorwatch.procurement.tender import Bidder, Tender

BELOW_ESTIMATE = 0.30
BELOW_OTHERS_MEAN = 0.20
MIN_OTHER_BIDS = 2

ART69_CITATION = {
    "title": "Directive 2014/24/EU on public procurement",
    "article": "Art. 69 (abnormally low tenders)",
    "url": "https://eur-lex.europa.eu/legal-content/EN/TXT/?uri=CELEX:32014L0024",
}
ART69_STEP = (
    "Art. 69(1): ask the bidder to explain the price or costs proposed (e.g. the economics "
    "of the manufacturing process or services, technical solutions, subcontracting, "
    "the possibility of the bidder obtaining state aid). Reject only if the evidence does "
    "not account for the low price (69(3)); on grounds of state aid only after consulting "
    "the bidder and if it cannot prove within a sufficient time limit that the aid was "
    "compatible with the internal market, informing the Commission (69(4))."
)


@dataclass(frozen=True)
class PriceCheck:
    scope: str
    price_eur: float
    estimate_eur: float | None
    below_estimate_pct: float | None
    others_count: int
    others_mean_eur: float | None
    below_others_pct: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class AbnormallyLowOutcome:
    flagged: bool
    checks: tuple[PriceCheck, ...]
    thresholds: dict[str, float]
    reasons: tuple[str, ...]
    step: str | None
    citation: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [{**c, "flags": list(c["flags"])} for c in data["checks"]]
        data["reasons"] = list(self.reasons)
        return data


def assess_price(
    tender: Tender,
    bidder: Bidder,
    below_estimate: float = BELOW_ESTIMATE,
    below_others_mean: float = BELOW_OTHERS_MEAN,
    min_other_bids: int = MIN_OTHER_BIDS,
) -> AbnormallyLowOutcome:
    """Compare each lot price (or the whole-contract price when no lot is priced) with the
    estimate and with the other bids for the same scope."""
    others = [b for b in tender.bidders if b is not bidder]
    scopes: list[tuple[str, float, float | None, list[float]]] = []
    for lot in tender.lots:
        price = bidder.lot_prices_eur.get(lot.id)
        if price is not None:
            rivals = [b.lot_prices_eur[lot.id] for b in others if lot.id in b.lot_prices_eur]
            scopes.append((f"lot {lot.id}", price, lot.estimated_value_eur, rivals))
    total = bidder.total(tender)
    if not bidder.lot_prices_eur and total is not None:
        rivals = [t for t in (b.total(tender) for b in others) if t is not None]
        scopes.append(("whole contract", total, tender.estimated_value_eur, rivals))

    checks: list[PriceCheck] = []
    reasons: list[str] = []
    for scope, price, estimate, rivals in scopes:
        flags: list[str] = []
        under_estimate = _under(price, estimate)
        if under_estimate is not None and under_estimate > below_estimate:
            flags.append("estimate")
            reasons.append(f"{scope}: {eur(price)} is {under_estimate:.0%} under the estimate "
                           f"{eur(estimate or 0)} (threshold {below_estimate:.0%})")
        mean = sum(rivals) / len(rivals) if len(rivals) >= min_other_bids else None
        under_others = _under(price, mean)
        if under_others is not None and under_others > below_others_mean:
            flags.append("other bids")
            reasons.append(f"{scope}: {eur(price)} is {under_others:.0%} under the mean of "
                           f"the {len(rivals)} other bids {eur(mean or 0)} "
                           f"(threshold {below_others_mean:.0%})")
        checks.append(PriceCheck(
            scope=scope, price_eur=price, estimate_eur=estimate,
            below_estimate_pct=None if under_estimate is None else round(under_estimate * 100, 1),
            others_count=len(rivals), others_mean_eur=mean,
            below_others_pct=None if under_others is None else round(under_others * 100, 1),
            flags=tuple(flags),
        ))
    flagged = any(c.flags for c in checks)
    return AbnormallyLowOutcome(
        flagged=flagged,
        checks=tuple(checks),
        thresholds={"below_estimate": below_estimate, "below_others_mean": below_others_mean,
                    "min_other_bids": min_other_bids},
        reasons=tuple(reasons),
        step=ART69_STEP if flagged else None,
        citation=ART69_CITATION,
    )


def _under(price: float, reference: float | None) -> float | None:
    """How far `price` is under `reference`, as a fraction (negative when over)."""
    if reference is None or reference <= 0:
        return None
    return (reference - price) / reference
