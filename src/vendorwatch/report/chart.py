"""Devices by maker and risk as a horizontal stacked bar chart, as SVG geometry for the
report template (no script, no external resources)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

RISK_ORDER = ("critical", "high", "medium", "low")
RISK_COLOURS = {"critical": "#8e0000", "high": "#d9480f", "medium": "#f2c94c", "low": "#9bb7c9"}
BAR_HEIGHT, GAP, LABEL_WIDTH, BAR_WIDTH = 22, 6, 220, 420


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    colour: str
    risk: str
    count: int


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    total: int
    segments: list[Segment]


def makers_by_risk(assets: list[dict[str, Any]], limit: int = 20) -> dict[str, Any]:
    """Bars (one per maker, most devices first) split by risk, and the SVG's size."""
    counts: dict[str, Counter[str]] = {}
    for asset in assets:
        maker = asset["manufacturer"] or "unidentified"
        counts.setdefault(maker, Counter())[asset["risk"]] += 1
    ranked = sorted(
        counts.items(),
        key=lambda kv: (min(RISK_ORDER.index(r) for r in kv[1]), -sum(kv[1].values()), kv[0]),
    )[:limit]
    largest = max((sum(c.values()) for _, c in ranked), default=1)
    bars = []
    for index, (maker, by_risk) in enumerate(ranked):
        x = float(LABEL_WIDTH)
        segments = []
        for risk in RISK_ORDER:
            if by_risk.get(risk):
                width = BAR_WIDTH * by_risk[risk] / largest
                segments.append(Segment(x, width, RISK_COLOURS[risk], risk, by_risk[risk]))
                x += width
        bars.append(Bar(maker, index * (BAR_HEIGHT + GAP), sum(by_risk.values()), segments))
    return {
        "bars": bars,
        "width": LABEL_WIDTH + BAR_WIDTH + 60,
        "height": max(len(bars), 1) * (BAR_HEIGHT + GAP),
        "bar_height": BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
        "legend": [(risk, RISK_COLOURS[risk]) for risk in RISK_ORDER],
    }


def shares_by_function(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One bar per (site, function), split into each maker's share of its devices and
    coloured by the maker's risk: where one maker holds the function, it shows."""
    functions: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in rows:
        if row["level"] == "maker":
            functions.setdefault((row["site"], row["function"]), []).append(row)
    bars = []
    for index, ((site, function), held) in enumerate(sorted(functions.items())):
        x = float(LABEL_WIDTH)
        segments = []
        for row in sorted(held, key=lambda r: (RISK_ORDER.index(r["risk"])
                                               if r["risk"] in RISK_ORDER else 9, -r["share"])):
            width = BAR_WIDTH * row["share"]
            segments.append(Segment(x, width, RISK_COLOURS.get(row["risk"], "#9bb7c9"),
                                    f"{row['name']} ({row['risk']} risk)", row["devices"]))
            x += width
        label = function if len({s for s, _ in functions}) < 2 else f"{site}: {function}"
        bars.append(Bar(label, index * (BAR_HEIGHT + GAP), len(held), segments))
    return {
        "bars": bars,
        "width": LABEL_WIDTH + BAR_WIDTH + 60,
        "height": max(len(bars), 1) * (BAR_HEIGHT + GAP),
        "bar_height": BAR_HEIGHT,
        "label_width": LABEL_WIDTH,
    }
