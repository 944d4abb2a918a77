"""The cybersecurity requirements checklist per bidder: a "no" is a gap, "unknown" (or no
answer) a question to ask.

Weights say how much an item matters in a sector (1 ordinary, 2 important, 3 essential);
they come from the sector policy when it carries ``checklist_weights``, else from
``SECTOR_WEIGHTS`` below, else ``DEFAULT_WEIGHT``. Mandatory items - a "no" makes the
tender non-compliant - are the tender's ``mandatory_requirements`` when it names them, else
``SECTOR_MANDATORY``. The sector defaults follow NIS2 Art. 21(2)(d)-(e) (supply-chain
security; security in acquisition, development and maintenance, including vulnerability
handling) and the EU 5G toolbox's concern with remote access and state interference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

from vendorwatch.intel.policy import Policy
from vendorwatch.procurement.tender import CHECKLIST_ITEMS, Bidder, Tender

REQUIREMENTS: dict[str, str] = {
    "remote_access_off_by_default": "Remote access (vendor or cloud) is off by default",
    "no_undocumented_comms_modules": "No undocumented communication modules "
                                     "(e.g. cellular modems)",
    "signed_firmware": "Firmware is signed and verified before installation",
    "update_validation_process": "Updates go through a documented validation process",
    "sbom_supplied": "A software bill of materials (SBOM) is supplied",
    "data_stays_in_eu": "Operational data stays in the EU",
    "source_code_escrow": "Source code is held in escrow",
}
assert tuple(REQUIREMENTS) == CHECKLIST_ITEMS

DEFAULT_WEIGHT = 1
ESSENTIAL_WEIGHT = 3
_CRITICAL_WEIGHTS = {
    "remote_access_off_by_default": 3,
    "no_undocumented_comms_modules": 3,
    "signed_firmware": 3,
    "update_validation_process": 2,
    "sbom_supplied": 2,
    "data_stays_in_eu": 2,
    "source_code_escrow": 1,
}
SECTOR_WEIGHTS: dict[str, dict[str, int]] = {
    "port-critical": _CRITICAL_WEIGHTS,
    "rail": _CRITICAL_WEIGHTS,
    "general": {},
}
SECTOR_MANDATORY: dict[str, tuple[str, ...]] = {
    "port-critical": ("remote_access_off_by_default", "no_undocumented_comms_modules",
                      "signed_firmware"),
    "rail": ("remote_access_off_by_default", "no_undocumented_comms_modules",
             "signed_firmware"),
    "general": (),
}

Status = Literal["met", "gap", "question"]


@dataclass(frozen=True)
class ItemResult:
    item: str
    requirement: str
    answer: str
    note: str | None
    weight: int
    mandatory: bool
    status: Status


@dataclass(frozen=True)
class ChecklistOutcome:
    items: tuple[ItemResult, ...]
    weights_from: str
    mandatory_from: str
    gap_score: int
    question_score: int
    max_score: int

    @property
    def gaps(self) -> tuple[ItemResult, ...]:
        return tuple(i for i in self.items if i.status == "gap")

    @property
    def questions(self) -> tuple[ItemResult, ...]:
        return tuple(i for i in self.items if i.status == "question")

    @property
    def mandatory_gaps(self) -> tuple[ItemResult, ...]:
        return tuple(i for i in self.gaps if i.mandatory)

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [asdict(i) for i in self.items],
            "gaps": [i.item for i in self.gaps],
            "questions": [i.item for i in self.questions],
            "mandatory_gaps": [i.item for i in self.mandatory_gaps],
            "weights_from": self.weights_from,
            "mandatory_from": self.mandatory_from,
            "gap_score": self.gap_score,
            "question_score": self.question_score,
            "max_score": self.max_score,
        }


def sector_weights(policy: Policy) -> tuple[dict[str, int], str]:
    """Weights per item and where they came from."""
    custom = getattr(policy, "checklist_weights", None)
    if isinstance(custom, Mapping):
        return ({item: int(custom.get(item, DEFAULT_WEIGHT)) for item in CHECKLIST_ITEMS},
                f"policy {policy.name}")
    if SECTOR_WEIGHTS.get(policy.name):
        table = SECTOR_WEIGHTS[policy.name]
        return ({item: table.get(item, DEFAULT_WEIGHT) for item in CHECKLIST_ITEMS},
                f"sector default for {policy.name}")
    return {item: DEFAULT_WEIGHT for item in CHECKLIST_ITEMS}, "equal weights"


def assess_checklist(tender: Tender, bidder: Bidder, policy: Policy) -> ChecklistOutcome:
    weights, weights_from = sector_weights(policy)
    if tender.mandatory_requirements is not None:
        mandatory: set[str] = set(tender.mandatory_requirements)
        mandatory_from = "the tender"
    else:
        mandatory = set(SECTOR_MANDATORY.get(tender.sector, ()))
        mandatory_from = f"sector default for {tender.sector}"
    items: list[ItemResult] = []
    for item in CHECKLIST_ITEMS:
        given = bidder.checklist.get(item)
        answer = given.answer if given else "not answered"
        status: Status = ("met" if answer == "yes" else "gap" if answer == "no"
                          else "question")
        items.append(ItemResult(item=item, requirement=REQUIREMENTS[item], answer=answer,
                                note=given.note if given else None, weight=weights[item],
                                mandatory=item in mandatory, status=status))
    return ChecklistOutcome(
        items=tuple(items),
        weights_from=weights_from,
        mandatory_from=mandatory_from,
        gap_score=sum(i.weight for i in items if i.status == "gap"),
        question_score=sum(i.weight for i in items if i.status == "question"),
        max_score=sum(i.weight for i in items),
    )
