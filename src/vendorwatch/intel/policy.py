"""Screening policies per sector: which listings and ownership traits exclude or flag a
supplier, and with what verdict.

A policy is a YAML file under ``intel/policies/`` (``port-critical``, ``rail``,
``general``) or any path. Every rule is tried; the verdict is the most severe of the rules
that hold (``default_verdict`` when none does) and every rule that held is a reason.

Conditions a rule can use (all that are given must hold):

``listed_on: [list ids]``     a counted listing on one of these lists ("*": any list);
                               ``applies: direct|inherited|any`` restricts it to the
                               party's own listings or those passed down from an owner
``imported: true``             a listing from an imported dataset (``screen(extra=...)``)
``state_controlled: true``     the party or an owner controlling it is state-owned
``state_linked: true``         see :meth:`OwnershipGraph.state_linked`
``country: [codes]``           the party's home country
``relabel: true``              the name is a brand relabelling another maker's products
``unmatched: true``            the name matched nothing in the registry

``inherit.lists`` extends inheritance ("policy-control" rule) to lists without an
affiliate clause of their own; ``inherit.imported`` does so for imported listings.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from vendorwatch.errors import InputError
from vendorwatch.intel.registry import RISK_LEVELS, Country, RiskLevel, Slug, SourceUrl

if TYPE_CHECKING:
    from vendorwatch.intel.registry import Registry

POLICY_NAMES = ("general", "port-critical", "rail")
ANY_LIST = "*"


class PolicyError(InputError):
    """A policy file is missing, unreadable or breaks the schema; one line."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicyCondition(_Record):
    listed_on: tuple[str, ...] | None = None
    applies: Literal["direct", "inherited", "any"] = "any"
    imported: bool | None = None
    state_controlled: bool | None = None
    state_linked: bool | None = None
    country: tuple[Country, ...] | None = None
    relabel: bool | None = None
    unmatched: bool | None = None

    def is_empty(self) -> bool:
        return all(
            getattr(self, name) is None for name in type(self).model_fields if name != "applies"
        )


class PolicyRule(_Record):
    id: Slug
    verdict: RiskLevel
    action: Literal["exclude", "flag", "note"]
    when: PolicyCondition
    why: str
    source_url: SourceUrl
    accessed: date


class Inherit(_Record):
    lists: tuple[str, ...] = ()
    imported: bool = False


class PolicySource(_Record):
    title: str
    source_url: SourceUrl
    accessed: date


class Policy(_Record):
    """One sector's screening policy."""

    schema_version: Literal[1]
    name: Slug
    title: str
    description: str
    count_unverified: bool = False
    default_verdict: RiskLevel = "low"
    inherit: Inherit = Field(default_factory=Inherit)
    sources: tuple[PolicySource, ...] = ()
    rules: tuple[PolicyRule, ...] = Field(min_length=1)


def verdict_rank(level: str) -> int:
    """low 0 < medium 1 < high 2 < critical 3."""
    return [str(x) for x in RISK_LEVELS].index(level)


def load_policy(name_or_path: str | Path, registry: Registry | None = None) -> Policy:
    """A packaged policy by name ('general', 'port-critical', 'rail') or a policy file,
    validated (list ids against `registry`, by default the packaged one).

    Raises :class:`PolicyError` with one line naming the file and the problem.
    """
    from vendorwatch.intel.registry import load_registry

    registry = registry or load_registry()
    text, label = _read(str(name_or_path))
    policy = _parse(text, label)
    known = set(registry.lists) | {ANY_LIST}
    for i, rule in enumerate(policy.rules):
        if rule.when.is_empty():
            raise PolicyError(label, f"rule {rule.id!r} needs at least one condition",
                              f"rules[{i}]")
        for list_id in rule.when.listed_on or ():
            if list_id not in known:
                raise PolicyError(label, f"rule {rule.id!r}: unknown list id {list_id!r}",
                                  f"rules[{i}].when.listed_on")
    for list_id in policy.inherit.lists:
        if list_id not in known - {ANY_LIST}:
            raise PolicyError(label, f"inherit: unknown list id {list_id!r}", "inherit.lists")
    ids = [rule.id for rule in policy.rules]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise PolicyError(label, f"duplicate rule id {duplicate!r}")
    return policy


def _read(name: str) -> tuple[str, str]:
    if name in POLICY_NAMES:
        return _packaged(name)
    path = Path(name)
    if path.suffix not in (".yaml", ".yml"):
        raise PolicyError(name, f"unknown policy; expected one of {', '.join(POLICY_NAMES)} "
                                "or a .yaml file")
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as exc:
        raise PolicyError(path, f"cannot read: {exc.strerror or exc}") from None


@cache
def _packaged(name: str) -> tuple[str, str]:
    resource = resources.files("vendorwatch.intel") / "policies" / f"{name}.yaml"
    return resource.read_text(encoding="utf-8"), str(resource)


def _parse(text: str, label: str) -> Policy:
    try:
        raw = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PolicyError(label, f"invalid YAML: {getattr(exc, 'problem', None) or exc}",
                          f"line {mark.line + 1}" if mark else None) from None
    if not isinstance(raw, dict):
        raise PolicyError(label, "expected a mapping at the top level")
    try:
        return Policy.model_validate(raw)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        reason = (f"missing required field {first['loc'][-1]!r}" if first["type"] == "missing"
                  else first["msg"].removeprefix("Value error, "))
        raise PolicyError(label, reason, where) from None
