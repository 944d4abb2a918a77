"""The tender file: contracting authority, sector, value, lots and bidders with their
prices, declared foreign financial contributions, subcontractors and checklist answers.

    tender = load_tender("tender.yaml")   # raises InputError("tender.yaml", reason, "line N")

The format is documented field by field in ``examples/README.md``. Every string in it is
user input: outputs escape it. YAML is read with ``yaml.safe_load``; the YAML 1.1 spellings
``yes``/``no``/``true``/``false`` are accepted for checklist answers, and the country code
``NO`` (which YAML reads as ``false``) is taken as Norway where a country is expected.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic import ValidationError as PydanticValidationError

from vendorwatch.errors import InputError

SECTORS = ("port-critical", "rail", "general")
Sector = Literal["port-critical", "rail", "general"]

Answer = Literal["yes", "no", "unknown"]
ChecklistItem = Literal[
    "remote_access_off_by_default",
    "no_undocumented_comms_modules",
    "signed_firmware",
    "update_validation_process",
    "sbom_supplied",
    "data_stays_in_eu",
    "source_code_escrow",
]
CHECKLIST_ITEMS: tuple[str, ...] = ChecklistItem.__args__  # type: ignore[attr-defined]

Role = Literal["subcontractor", "supplier", "component_maker"]
FsrFiling = Literal["notification", "declaration", "none"]


def _country(value: Any) -> Any:
    """'cn' -> 'CN'; YAML's ``NO`` (read as false) -> 'NO' (Norway)."""
    if value is False:
        return "NO"
    return value.strip().upper() if isinstance(value, str) else value


def _answer(value: Any) -> Any:
    """``yes``/``no`` read by YAML 1.1 as booleans -> 'yes'/'no'; a bare answer -> a mapping."""
    if isinstance(value, bool):
        return {"answer": "yes" if value else "no"}
    if isinstance(value, str):
        return {"answer": value.strip().lower()}
    if isinstance(value, dict) and isinstance(value.get("answer"), bool | str):
        raw = value["answer"]
        text = ("yes" if raw else "no") if isinstance(raw, bool) else raw.strip().lower()
        return {**value, "answer": text}
    return value


def _str_keys(value: Any) -> Any:
    """Lot ids written as numbers (``1: 120000000``) are the strings '1', ..."""
    if isinstance(value, dict):
        return {str(k) if isinstance(k, int) and not isinstance(k, bool) else k: v
                for k, v in value.items()}
    return value


def _country_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {_country(k): v for k, v in value.items()}
    return value


def _lot_id(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Country = Annotated[str, BeforeValidator(_country), Field(pattern=r"^[A-Z]{2}$")]
Money = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
LotId = Annotated[str, BeforeValidator(_lot_id),
                  StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Contributions = Annotated[dict[Country, Money], BeforeValidator(_country_keys)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ChecklistAnswer(_Record):
    """An answer: ``yes`` (the requirement is met), ``no`` or ``unknown``, with a note."""

    answer: Answer
    note: Note | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        return _answer(value)


class Checklist(_Record):
    """The cybersecurity requirements checklist; a missing item is 'not answered'."""

    remote_access_off_by_default: ChecklistAnswer | None = None
    no_undocumented_comms_modules: ChecklistAnswer | None = None
    signed_firmware: ChecklistAnswer | None = None
    update_validation_process: ChecklistAnswer | None = None
    sbom_supplied: ChecklistAnswer | None = None
    data_stays_in_eu: ChecklistAnswer | None = None
    source_code_escrow: ChecklistAnswer | None = None

    def get(self, item: str) -> ChecklistAnswer | None:
        answer: ChecklistAnswer | None = getattr(self, item)
        return answer


class Subcontractor(_Record):
    """A declared subcontractor, supplier or component maker."""

    name: Text
    role: Role = "subcontractor"
    supplies: Text | None = None
    country: Country | None = None
    # A main subcontractor or supplier in the FSR sense: it ensures key elements of the
    # contract's performance, or its share exceeds 20% of the tender's value.
    main: bool = False
    share_of_tender_pct: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)] | None = None
    foreign_financial_contributions_eur: Contributions | None = None

    @property
    def is_main(self) -> bool:
        return self.main or (self.share_of_tender_pct or 0) > 20


class Bidder(_Record):
    name: Text
    country: Country | None = None
    total_price_eur: Money | None = None
    lot_prices_eur: Annotated[dict[LotId, Money], BeforeValidator(_str_keys)] = Field(
        default_factory=dict)
    foreign_financial_contributions_eur: Contributions | None = None
    fsr_filing: FsrFiling | None = None
    subcontractors: tuple[Subcontractor, ...] = ()
    checklist: Checklist = Field(default_factory=Checklist)
    note: Note | None = None

    def lots_bid(self, tender: Tender) -> tuple[str, ...]:
        """The lots this bidder bids for: those it prices, else all of them."""
        if self.lot_prices_eur:
            return tuple(lot.id for lot in tender.lots if lot.id in self.lot_prices_eur)
        return tuple(lot.id for lot in tender.lots)

    def total(self, tender: Tender) -> float | None:
        """The price for the whole contract: the total given, else the sum of the lot
        prices when every lot is priced."""
        if self.total_price_eur is not None:
            return self.total_price_eur
        if tender.lots and all(lot.id in self.lot_prices_eur for lot in tender.lots):
            return sum(self.lot_prices_eur[lot.id] for lot in tender.lots)
        return None


class Authority(_Record):
    name: Text
    country: Country | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class Lot(_Record):
    id: LotId
    title: Text
    estimated_value_eur: Money


class Tender(_Record):
    schema_version: Literal[1] = 1
    reference: Text | None = None
    title: Text
    contracting_authority: Authority
    sector: Sector
    estimated_value_eur: Money
    procedure_launched: date | None = None
    lots: tuple[Lot, ...] = ()
    mandatory_requirements: tuple[ChecklistItem, ...] | None = None
    bidders: tuple[Bidder, ...] = Field(min_length=1)

    @property
    def policy_name(self) -> str:
        """The screening policy for the sector (port-critical, rail or general)."""
        return self.sector

    def lot(self, lot_id: str) -> Lot | None:
        return next((lot for lot in self.lots if lot.id == lot_id), None)


# --- loading ----------------------------------------------------------------------------

Loc = tuple[str | int, ...]


def load_tender(path: Path | str) -> Tender:
    """Read and validate a tender file; :class:`InputError` names the file, line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return parse_tender(text, str(path))


def parse_tender(text: str, label: str = "<tender>") -> Tender:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(label, f"invalid YAML: {problem}",
                         f"line {mark.line + 1}" if mark else None) from None
    if not isinstance(raw, dict):
        raise InputError(label, "expected a mapping (contracting_authority, sector, "
                                "estimated_value_eur, lots, bidders) at the top level")
    try:
        tender = Tender.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(part for part in first["loc"] if part != "[key]")
        shown = loc[:-1] if first["type"] in ("missing", "extra_forbidden") else loc
        prefix = f"{_dotted(shown)}: " if shown else ""
        raise InputError(label, f"{prefix}{_reason(first)}", _line(text, loc)) from None
    problem = _cross_check(tender)
    if problem is not None:
        loc, reason = problem
        raise InputError(label, f"{_dotted(loc)}: {reason}", _line(text, loc))
    return tender


def _cross_check(tender: Tender) -> tuple[Loc, str] | None:
    """Rules across fields: unique ids and names, prices for known lots, a price per bidder."""
    seen: set[str] = set()
    for i, lot in enumerate(tender.lots):
        if lot.id in seen:
            return ("lots", i, "id"), f"duplicate lot id {lot.id!r}"
        seen.add(lot.id)
    names: set[str] = set()
    for i, bidder in enumerate(tender.bidders):
        key = bidder.name.casefold()
        if key in names:
            return ("bidders", i, "name"), f"duplicate bidder {bidder.name!r}"
        names.add(key)
        if bidder.total_price_eur is None and not bidder.lot_prices_eur:
            return ("bidders", i), "needs total_price_eur or lot_prices_eur"
        for lot_id in bidder.lot_prices_eur:
            if tender.lot(lot_id) is None:
                known = ", ".join(lot.id for lot in tender.lots) or "none: the tender has no lots"
                return (("bidders", i, "lot_prices_eur", lot_id),
                        f"unknown lot {lot_id!r} (lots: {known})")
    return None


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _reason(error: Any) -> str:
    kind = error["type"]
    got = error.get("input")
    if kind == "missing":
        return f"missing required field {error['loc'][-1]!r}"
    if kind == "extra_forbidden":
        return f"unknown field {error['loc'][-1]!r}"
    if kind in ("float_type", "int_type", "float_parsing"):
        return f"expected a number (EUR, e.g. 125000000), got {_shown(got)}"
    if kind == "string_pattern_mismatch":
        return f"expected a two-letter country code such as CN or NL, got {_shown(got)}"
    if kind == "string_type":
        return f"expected text, got {_shown(got)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_shown(got)}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {_shown(got)}"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return type(value).__name__
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line(text: str, loc: Loc) -> str | None:
    """The line of the deepest node of `loc` found in the YAML text."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    if node is None:
        return None
    line = node.start_mark.line
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == str(part) or (part == "NO" and key.value in ("NO", "no")):
                    child = value
                    line = key.start_mark.line
                    break
        elif (isinstance(node, yaml.SequenceNode) and isinstance(part, int)
              and 0 <= part < len(node.value)):
            child = node.value[part]
            line = child.start_mark.line
        if child is None:
            break
        node = child
    return f"line {line + 1}"
