"""Explainable name matching: a typed company name to a registered maker, owner or brand.

Names are compared in a normalised form: Unicode NFKC, legal forms removed (the registry's
`legal_forms` tokens and `cjk_legal_forms` suffixes), case folded, punctuation turned into
spaces. Latin transliteration of other scripts (anyascii) gives a second key, so that a
Chinese name typed in pinyin or characters finds the same party.

Lookups are tried in order and the first that answers wins:

1. ``exact``          the normalised query equals a registered name, or equals it with
                      spaces and hyphens ignored ("Hik-Vision" == "Hikvision");
2. ``transliterated`` the Latin transliteration of query and registered name agree;
3. ``contains``       a registered *distinctive* name occurs as whole words in the query
                      (CJK: as a substring); the longest wins, ties between parties are no
                      answer, excluded names veto;
4. ``fuzzy``          (screening only) the best rapidfuzz ``token_sort_ratio`` at or above
                      the threshold; a best score below it is reported as such.

This module names no maker: everything comes from the registry data.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

Method = Literal["exact", "transliterated", "contains", "fuzzy"]
EntryKind = Literal["maker", "organisation", "brand"]

DEFAULT_FUZZY_THRESHOLD = 88.0


@dataclass(frozen=True)
class NameEntry:
    """One registered name: whose it is and in which field it is registered."""

    kind: EntryKind
    target: str  # party id, or the brand's name for brands
    name: str
    field: str  # name, legal_name, alias, former_name, chinese_name, distinctive, brand


@dataclass(frozen=True)
class Explanation:
    """Why a query resolved (or failed to): the entry, the method and the score 0..100.

    `entry` is None when nothing matched; `best` then holds the nearest name below the
    fuzzy threshold (if any was scored) so the answer can say how close it came."""

    query: str
    normalised: str
    entry: NameEntry | None
    method: Method | None
    score: float
    threshold: float | None = None
    best: NameEntry | None = None

    def to_dict(self) -> dict[str, object]:
        found = self.entry or self.best
        return {
            "query": self.query,
            "normalised": self.normalised,
            "matched": self.entry is not None,
            "kind": found.kind if found else None,
            "target": found.target if found else None,
            "matched_name": found.name if found else None,
            "field": found.field if found else None,
            "method": self.method,
            "score": round(self.score, 1),
            "threshold": self.threshold,
        }


class Normaliser:
    """The normal forms of names, with the registry's extra legal forms."""

    def __init__(self, legal_forms: Iterable[str] = (), cjk_legal_forms: Iterable[str] = ()):
        self.legal_forms = frozenset(form.casefold() for form in legal_forms)
        # longest first, so that "股份有限公司" goes before "有限公司"
        self.cjk_legal_forms = tuple(sorted(cjk_legal_forms, key=len, reverse=True))
        self.normalise = lru_cache(maxsize=8192)(self._normalise)
        self.transliterate = lru_cache(maxsize=8192)(self._transliterate)

    def _normalise(self, text: str) -> str:
        """'Hangzhou Hikvision Digital Technology Co.,Ltd.' -> 'hangzhou hikvision digital
        technology'; '杭州海康威视数字技术股份有限公司' -> '杭州海康威视数字技术'."""
        folded = unicodedata.normalize("NFKC", text).strip()
        for suffix in self.cjk_legal_forms:
            if folded.endswith(suffix) and len(folded) > len(suffix):
                folded = folded[: -len(suffix)]
                break
        folded = folded.casefold()
        spaced = "".join(ch if ch.isalnum() else " " for ch in folded)
        return " ".join(token for token in spaced.split() if token not in self.legal_forms)

    def _transliterate(self, text: str) -> str:
        """The normalised Latin transliteration ('海康威视' -> 'hai kang wei shi'); '' when
        the text is already plain ASCII (nothing to transliterate)."""
        if text.isascii():
            return ""
        return self.normalise(_ascii(text))


def compact(normalised: str) -> str:
    """Spaces removed: 'hik vision' -> 'hikvision'."""
    return normalised.replace(" ", "")


def is_spaceless_script(text: str) -> bool:
    """CJK names are written without spaces, so "whole word" means substring there."""
    return any(unicodedata.east_asian_width(ch) == "W" for ch in text)


def contains(haystack: str, needle: str) -> bool:
    """`needle` occurs in `haystack` as whole words (as a substring for CJK)."""
    if is_spaceless_script(needle):
        return needle in haystack
    return f" {needle} " in f" {haystack} "


class NameIndex:
    """Every registered name under its normal forms, for fast exact lookups and an
    explainable fuzzy fallback."""

    def __init__(
        self,
        normaliser: Normaliser,
        entries: Iterable[NameEntry],
        min_contains_length: int,
        excluded: dict[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.normaliser = normaliser
        self.entries = tuple(entries)
        self._exact: dict[str, NameEntry] = {}
        self._compact: dict[str, NameEntry] = {}
        self._latin: dict[str, NameEntry] = {}
        self._within: list[tuple[str, NameEntry]] = []
        self._excluded = {
            target: tuple(normaliser.normalise(n) for n in names)
            for target, names in (excluded or {}).items()
        }
        for entry in self.entries:
            norm = normaliser.normalise(entry.name)
            if not norm:
                continue
            self._exact.setdefault(norm, entry)
            if len(compact(norm)) >= min_contains_length:
                self._compact.setdefault(compact(norm), entry)
            latin = normaliser.transliterate(entry.name)
            if latin:
                self._latin.setdefault(compact(latin), entry)
            if entry.field == "distinctive":
                self._within.append((norm, entry))
        self._within.sort(key=lambda item: -len(item[0]))
        self._fuzzy_keys = list(self._exact)

    def kinds(self, kinds: Iterable[EntryKind]) -> NameIndex:
        """The same index restricted to entries of these kinds."""
        wanted = set(kinds)
        subset = NameIndex.__new__(NameIndex)
        subset.normaliser = self.normaliser
        subset.entries = tuple(e for e in self.entries if e.kind in wanted)
        subset._excluded = self._excluded
        subset._exact = {k: e for k, e in self._exact.items() if e.kind in wanted}
        subset._compact = {k: e for k, e in self._compact.items() if e.kind in wanted}
        subset._latin = {k: e for k, e in self._latin.items() if e.kind in wanted}
        subset._within = [(k, e) for k, e in self._within if e.kind in wanted]
        subset._fuzzy_keys = list(subset._exact)
        return subset

    def _vetoed(self, entry: NameEntry, norm: str) -> bool:
        return any(contains(norm, excluded) for excluded in self._excluded.get(entry.target, ()))

    def lookup(self, text: str | None) -> Explanation:
        """Exact, transliterated and contained matches only (no fuzzy scoring): fast enough
        for every asset of a capture."""
        query = text or ""
        norm = self.normaliser.normalise(query)
        if not norm:
            return Explanation(query, norm, None, None, 0.0)
        for key, table in ((norm, self._exact), (compact(norm), self._compact)):
            entry = table.get(key)
            if entry and not self._vetoed(entry, norm):
                return Explanation(query, norm, entry, "exact", 100.0)
        latin = compact(self.normaliser.transliterate(query) or norm)
        entry = self._latin.get(latin) or (
            self._compact.get(latin) if latin != compact(norm) else None
        )
        if entry and not self._vetoed(entry, norm):
            return Explanation(query, norm, entry, "transliterated", 100.0)
        return self._contained(query, norm)

    def _contained(self, query: str, norm: str) -> Explanation:
        hits = [(needle, entry) for needle, entry in self._within
                if contains(norm, needle) and not self._vetoed(entry, norm)]
        if not hits:
            return Explanation(query, norm, None, None, 0.0)
        # Two different parties named in one query ("Konecranes Hikvision") is no answer:
        # choosing either would hide the other.
        if len({(e.kind, e.target) for _needle, e in hits}) > 1:
            return Explanation(query, norm, None, None, 0.0)
        needle, entry = hits[0]
        # how much of the query the distinctive name covers, as the score
        score = 100.0 * len(compact(needle)) / max(len(compact(norm)), 1)
        return Explanation(query, norm, entry, "contains", round(score, 1))

    def resolve(self, text: str | None, threshold: float = DEFAULT_FUZZY_THRESHOLD) -> Explanation:
        """:meth:`lookup`, then the best fuzzy score if it reaches `threshold`."""
        found = self.lookup(text)
        if found.entry is not None or not found.normalised:
            return found
        from rapidfuzz import fuzz, process

        best = process.extractOne(found.normalised, self._fuzzy_keys, scorer=fuzz.token_sort_ratio)
        if best is None:
            return Explanation(found.query, found.normalised, None, None, 0.0, threshold)
        key, score, _ = best
        entry = self._exact[key]
        if score >= threshold and not self._vetoed(entry, found.normalised):
            return Explanation(found.query, found.normalised, entry, "fuzzy", score, threshold)
        return Explanation(found.query, found.normalised, None, None, score, threshold, entry)


def _ascii(text: str) -> str:
    """Latin transliteration (anyascii: pure Python, no ICU to compile), syllables of
    ideographic scripts separated so that typed pinyin matches word by word."""
    from anyascii import anyascii

    return " ".join(anyascii(ch) if ord(ch) > 0x2E7F else ch for ch in text).strip() \
        if any(ord(ch) > 0x2E7F for ch in text) else anyascii(text)
