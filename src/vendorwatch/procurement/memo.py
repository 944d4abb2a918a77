"""The evaluation memo a procurement officer can file: Markdown, or one self-contained HTML
page (inline CSS, no script, no network); JSON is :meth:`TenderEvaluation.to_dict`.

Every value from the tender file is user input. In Markdown it is made inert (control and
direction-override characters shown as escapes), HTML-escaped and stripped of Markdown
syntax, so a bidder called ``<script>`` or ``| x |`` stays text. The HTML page uses Jinja2
autoescaping with :func:`vendorwatch.safe_text.inert` as finalize and forbids scripts by
Content-Security-Policy, as the report does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Environment

from vendorwatch.procurement.evaluation import TenderEvaluation
from vendorwatch.procurement.fsr import eur
from vendorwatch.report.pages import page_environment, safe_url
from vendorwatch.safe_text import inert

RECOMMENDATION_TEXT = {
    "exclude": "EXCLUDE",
    "clarify": "CLARIFY before award",
    "proceed": "PROCEED",
}
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_ENTITY_START = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def md(value: Any) -> str:
    """One value as inert Markdown text on one line."""
    if value is None:
        return ""
    text = inert(str(value), keep_newlines=False)
    text = _ENTITY_START.sub("&amp;", text).replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def _link(url: Any) -> str:
    ok = safe_url(url)
    return f"<{ok}>" if ok else md(url)


def _money(value: Any) -> str:
    return eur(value) if isinstance(value, int | float) else "—"


def render_markdown(evaluation: TenderEvaluation) -> str:
    d = evaluation.to_dict()
    lines: list[str] = [
        f"# Tender evaluation memo — {md(d['title'])}",
        "",
        f"- **Reference:** {md(d['reference']) or '—'}",
        f"- **Contracting authority:** {md(d['contracting_authority'])}"
        + (f" ({md(d['authority_country'])})" if d["authority_country"] else ""),
        f"- **Sector / screening policy:** {md(d['sector'])} — {md(d['policy_title'])}",
        f"- **Estimated value:** {_money(d['estimated_value_eur'])} (net of VAT)",
    ]
    if d["procedure_launched"]:
        lines.append(f"- **Procedure launched:** {md(d['procedure_launched'])}")
    for lot in d["lots"]:
        lines.append(f"- **Lot {md(lot['id'])}:** {md(lot['title'])} — "
                     f"{_money(lot['estimated_value_eur'])}")
    lines += [
        f"- **Prepared:** {d['generated']} by vendorwatch {d['version']}"
        + ("; screening includes imported lists" if d["imported_lists"] else ""),
        "",
        "## Summary",
        "",
        "| Bidder | Price | Screening (bidder / worst incl. components) | FSR | "
        "Abnormally low | Checklist gaps / questions | Recommendation |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in d["bidders"]:
        lines.append(
            f"| {md(b['name'])} | {_price(b)} | {b['screening']['verdict']} / "
            f"{b['screening_verdict']} | {b['fsr']['outcome']} | "
            f"{'yes' if b['abnormally_low']['flagged'] else 'no'} | "
            f"{len(b['checklist']['gaps'])} / {len(b['checklist']['questions'])} | "
            f"**{RECOMMENDATION_TEXT[b['recommendation']]}** |")
    for b in d["bidders"]:
        lines += ["", *_bidder_md(b)]
    lines += ["", "## About the recommendations", "",
              "EXCLUDE means the sector screening policy (" + md(d.get("policy") or "")
              + ") excludes the bidder or a declared party; it is not by itself a ground for "
              "exclusion under Directive 2014/24/EU. Before deciding, establish the legal "
              "ground that applies to this procedure (for example the security and "
              "essential-interest provisions of national procurement law, or the tender's "
              "own selection criteria) and record it."]
    lines += ["", "## Legal basis", ""]
    lines += [f"- {md(x['title'])}, {md(x['article'])}: {_link(x['url'])}"
              for x in d["legal_basis"]]
    t = d["thresholds"]
    lines += [
        "",
        "## Thresholds used",
        "",
        f"- FSR notification: contract ≥ {eur(t['fsr_contract_eur'])} (lots tendered for ≥ "
        f"{eur(t['fsr_lots_eur'])}) and ≥ "
        f"{eur(t['fsr_contributions_per_third_country_eur'])} per third country over "
        "three years.",
        f"- Abnormally low (this tool's screening thresholds, not the Directive's): more "
        f"than {t['abnormally_low_below_estimate']:.0%} under the estimate, or more than "
        f"{t['abnormally_low_below_others_mean']:.0%} under the mean of the other bids "
        f"(with at least {t['abnormally_low_min_other_bids']} other bids).",
        "",
        "_Decision support for the contracting authority, not a decision. Screening facts "
        "carry their public sources; the bidders' declarations are taken as stated in the "
        "tender file._",
        "",
    ]
    return "\n".join(lines)


def _price(b: dict[str, Any]) -> str:
    if b["lot_prices_eur"]:
        return "; ".join(f"lot {md(k)} {_money(v)}" for k, v in b["lot_prices_eur"].items())
    return _money(b["total_price_eur"])


def _bidder_md(b: dict[str, Any]) -> list[str]:
    out = [
        f"## {md(b['name'])}" + (f" ({md(b['country'])})" if b["country"] else ""),
        "",
        f"**Recommendation: {RECOMMENDATION_TEXT[b['recommendation']]}**",
        "",
    ]
    if b["note"]:
        out += [f"Note from the tender file: {md(b['note'])}", ""]
    if b["reasons"]:
        out += ["Reasons:", ""]
        out += [f"{i}. [{r['level']}] {md(r['text'])}"
                + (f" — {_link(r['source_url'])}" if r["source_url"] else "")
                for i, r in enumerate(b["reasons"], 1)]
        out.append("")
    out += ["### Screening", "",
            "| Party | Role | Matched as | Verdict | Listings | Owners |",
            "|---|---|---|---|---|---|"]
    for p in [b["screening"], *b["components"]]:
        matched = (f"{md(p['company'])} ({md(p['company_country'] or '?')}, "
                   f"score {p['match_score']:.0f})" if p["matched"] and p["company"]
                   else "no match")
        listings = "; ".join(
            f"{md(x['list'])}"
            + (f" since {md(x['since'])}" if x["since"] else "")
            + (f" via {md(x['via'])}" if x["via"] else "")
            for x in p["listings"]) or "none"
        owners = "; ".join(md(o) for o in p["ultimate_owners"] if o) or "—"
        role = md(p["role"]) + (f": {md(p['supplies'])}" if p["supplies"] else "")
        out.append(f"| {md(p['name'])} | {role} | {matched} | {p['verdict']} | "
                   f"{listings} | {owners} |")
    cited = [(p["name"], x) for p in [b["screening"], *b["components"]]
             for x in p["listings"] if x["source_url"]]
    if cited:
        out += ["", "Listing sources:", ""]
        out += [f"- {md(name)}: {md(x['list'])}"
                + (f" since {md(x['since'])}" if x["since"] else "")
                + f" — {_link(x['source_url'])}" for name, x in cited]
    f = b["fsr"]
    out += ["", "### Foreign Subsidies Regulation", "",
            f"Outcome: **{f['outcome']}**"
            + (f" (bidder filed: {md(f['filing'])})" if f["filing"] else ""), ""]
    out += [f"- {md(reason)}" for reason in f["reasons"]]
    out += [f"- {md(c['party'])} ({md(c['role'])}): {md(c['country'])} {eur(c['eur'])}"
            for c in f["contributions_by_party"]]
    out.append(f"- {md(f['citation']['article'])}: {_link(f['citation']['url'])}")
    a = b["abnormally_low"]
    out += ["", "### Price", "",
            "| Scope | Price | Estimate | Under estimate | Mean of other bids | Under mean | "
            "Flag |", "|---|---|---|---|---|---|---|"]
    for c in a["checks"]:
        out.append(
            f"| {md(c['scope'])} | {_money(c['price_eur'])} | {_money(c['estimate_eur'])} | "
            f"{_pct(c['below_estimate_pct'])} | {_money(c['others_mean_eur'])} "
            f"({c['others_count']}) | {_pct(c['below_others_pct'])} | "
            f"{', '.join(c['flags']) or '—'} |")
    if a["flagged"]:
        out += ["", f"Abnormally low: {md(a['step'])} {_link(a['citation']['url'])}"]
    c = b["checklist"]
    out += ["", "### Cybersecurity checklist", "",
            f"Weights: {md(c['weights_from'])}; mandatory items: {md(c['mandatory_from'])}. "
            f"Gap score {c['gap_score']}, open questions {c['question_score']} "
            f"of {c['max_score']}.", "",
            "| Requirement | Answer | Weight | Status | Note |", "|---|---|---|---|---|"]
    for item in c["items"]:
        out.append(f"| {md(item['requirement'])}{' (mandatory)' if item['mandatory'] else ''}"
                   f" | {md(item['answer'])} | {item['weight']} | {item['status']} | "
                   f"{md(item['note'])} |")
    return out


def _pct(value: Any) -> str:
    if value is None:
        return "—"
    return f"{value:.0f}%" if value >= 0 else f"+{-value:.0f}% over"


# --- HTML -------------------------------------------------------------------------------


def _environment() -> Environment:
    return page_environment("vendorwatch.procurement", {"eur": _money, "pct": _pct})


def render_html(evaluation: TenderEvaluation) -> str:
    return _environment().get_template("memo.html.j2").render(
        e=evaluation.to_dict(), recommendation_text=RECOMMENDATION_TEXT)


def write_text(path: Path, text: str) -> None:
    """Write atomically: a half-written file never replaces a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
