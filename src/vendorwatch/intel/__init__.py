"""Vendor intelligence: the registry of makers, owners, listings, brands and endpoints.

    from vendorwatch.intel import load_registry
    registry = load_registry()
    registry.risk("some-maker-id")  # -> ("critical", [{"list": ..., "since": ..., ...}])

The names below are resolved lazily so that ``python -m vendorwatch.intel.registry`` runs
the module once, as ``__main__``, without a stale copy imported by this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vendorwatch.intel.registry import (
        Banner,
        Brand,
        Endpoint,
        Identifier,
        ListCheck,
        Listing,
        Maker,
        NameMatch,
        Organisation,
        OwnerLink,
        Registry,
        RegistryError,
        RiskAssessment,
        load_registry,
    )

__all__ = [
    "Banner",
    "Brand",
    "Endpoint",
    "Identifier",
    "ListCheck",
    "Listing",
    "Maker",
    "NameMatch",
    "Organisation",
    "OwnerLink",
    "Registry",
    "RegistryError",
    "RiskAssessment",
    "load_registry",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("vendorwatch.intel.registry"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
