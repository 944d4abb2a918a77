"""Lookups over the lists imported with `vendorwatch intel import`, for screening.

    from vendorwatch.intel.imported import ImportedLists
    lists = ImportedLists(store)
    lists.listings_for(["Hikvision", "Hangzhou Hikvision Digital Technology Co., Ltd."])
    lists.owners_of(["Hikvision"])

Names are compared exactly after :func:`normalise` (case, width, punctuation and legal forms
such as Co., Ltd., Inc. dropped); pass every form of a company's name you know. Only the
current import of each dataset is searched (a replaced one's rows are gone). Plain SQL over
the ``intel_*`` tables (store/migrations/003_intel_imports.sql), one query per call.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime
from typing import Any

from vendorwatch.store import Store

# Legal-form words dropped from names before comparing (a superset of the packaged
# registry's `matching.legal_forms`). Stored names are normalised at import time with this
# list; changing it means re-importing.
LEGAL_FORMS = frozenset({
    "co", "ltd", "limited", "company", "corp", "corporation", "inc", "incorporated", "llc",
    "plc", "gmbh", "ag", "sa", "bv", "nv", "uab", "ulc", "oy", "ab", "kg", "spa", "srl",
    "pte", "pty", "lp", "llp", "jsc", "pjsc", "ooo", "oao", "zao", "sarl", "sas", "as", "aps",
})


def normalise(name: str) -> str:
    """'Hangzhou Hikvision Digital Technology Co.,Ltd.' -> 'hangzhou hikvision digital
    technology'; 'HIKVISION' -> 'hikvision'; CJK text is kept as it is (folded)."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    spaced = "".join(ch if ch.isalnum() else " " for ch in folded)
    return " ".join(token for token in spaced.split() if token not in LEGAL_FORMS)


class ImportedLists:
    """Listings and ownership edges from the imported lists in `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        found = store.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'intel_imports'"
        ).fetchall()[0]
        self.available = bool(found and found[0])

    def _norms(self, names: list[str]) -> list[str]:
        return sorted({n for n in (normalise(name) for name in names if name) if n})

    def listings_for(self, names: list[str]) -> list[dict[str, Any]]:
        """One entry per listed entity whose normalised name or alias equals one of
        `names`'s: {list, since, source_url, dataset, matched_name, entity_id, program,
        imported_at} plus name, schema, list_name, until, country, published."""
        norms = self._norms(names)
        if not self.available or not norms:
            return []
        rows = self.store.query(
            """
            SELECT e.list, e.since, e.source_url, i.dataset, n.name AS matched_name,
                   e.entity_id, e.program, i.imported_at, e.name, e.schema, e.list_name,
                   e.until, e.country, i.published, n.kind AS matched_kind
            FROM intel_names n
            JOIN intel_entities e ON e.import_id = n.import_id AND e.entity_id = n.entity_id
            JOIN intel_imports i ON i.id = e.import_id
            WHERE n.norm IN (SELECT unnest(?::VARCHAR[])) AND e.target
              AND i.superseded_by IS NULL
            ORDER BY e.list, e.since NULLS LAST, i.dataset, e.entity_id,
                     n.kind <> 'name', n.name
            """,
            [norms],
        )
        seen: set[tuple[str, str]] = set()
        out = []
        for row in rows:
            key = (row["dataset"], row["entity_id"])
            if key not in seen:
                seen.add(key)
                out.append(_iso(row))
        return out

    def owners_of(self, names: list[str]) -> list[dict[str, Any]]:
        """Ownership edges whose asset's normalised name equals one of `names`'s: {owner,
        owner_id, owner_schema, asset, asset_id, matched_name, share, percentage, since,
        until, source_url, dataset, imported_at}. Direct owners only; call again with the
        owner's name to walk up."""
        norms = self._norms(names)
        if not self.available or not norms:
            return []
        rows = self.store.query(
            """
            SELECT coalesce(o.name, w.owner_id) AS owner, w.owner_id, o.schema AS owner_schema,
                   a.name AS asset, w.asset_id, min(n.name) AS matched_name, w.share,
                   w.percentage, w.since, w.until, w.source_url, i.dataset, i.imported_at,
                   w.edge_id, o.country AS owner_country, o.names AS owner_names
            FROM intel_names n
            JOIN intel_entities a ON a.import_id = n.import_id AND a.entity_id = n.entity_id
            JOIN intel_ownership w ON w.import_id = a.import_id AND w.asset_id = a.entity_id
            JOIN intel_imports i ON i.id = w.import_id
            LEFT JOIN intel_entities o ON o.import_id = w.import_id AND o.entity_id = w.owner_id
            WHERE n.norm IN (SELECT unnest(?::VARCHAR[])) AND i.superseded_by IS NULL
            GROUP BY ALL
            ORDER BY w.share DESC NULLS LAST, owner
            """,
            [norms],
        )
        for row in rows:
            names_json = row.pop("owner_names")
            row["owner_names"] = [n["name"] for n in json.loads(names_json)] if names_json else []
            _iso(row)
        return rows


def _iso(row: dict[str, Any]) -> dict[str, Any]:
    """`imported_at` as an ISO 8601 UTC string, so the rows serialise as they are."""
    value = row.get("imported_at")
    if isinstance(value, datetime):
        row["imported_at"] = value.isoformat(timespec="seconds") + "Z"
    return row
