"""`vendorwatch screen NAME...`: supplier screening under a sector policy.

Exit codes: 0 done, 1 a verdict at or above --fail-on, 2 usage error (bad policy, bad
option)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from vendorwatch.cli.output import console_for_stdout, visible
from vendorwatch.intel.policy import PolicyError, load_policy, verdict_rank
from vendorwatch.intel.registry import RISK_LEVELS, RegistryError, load_registry
from vendorwatch.intel.screening import ScreeningResult, screen

VERDICT_STYLE = {"low": "green", "medium": "yellow", "high": "red", "critical": "bold red"}


class ScreenFormat(StrEnum):
    table = "table"
    json = "json"


def _check_level(value: str | None) -> str | None:
    if value is not None and value not in RISK_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(RISK_LEVELS)}")
    return value


def register(app: typer.Typer) -> None:
    """Add the `screen` command to `app`."""
    app.command("screen")(screen_command)


def screen_command(
    ctx: typer.Context,
    names: Annotated[list[str], typer.Argument(help="Supplier, maker or brand names as "
                                                    "you know them.")],
    policy: Annotated[str, typer.Option(help="general, port-critical, rail or a policy "
                                             ".yaml file.")] = "general",
    fmt: Annotated[ScreenFormat, typer.Option("--format", help="table or json")]
    = ScreenFormat.table,
    fail_on: Annotated[str | None, typer.Option(callback=_check_level,
                                                help="Exit 1 if a verdict is at or above "
                                                     "(low, medium, high, critical).")]
    = None,
) -> None:
    """Screen suppliers: the matched company, brands, owners up to the state, listings
    (direct or inherited, with dates and sources) and a verdict with the policy's
    reasons."""
    if any(not name.strip() for name in names):
        Console(stderr=True).print(Text("error: an empty name cannot be screened"),
                                   soft_wrap=True)
        raise typer.Exit(2)
    try:
        registry = load_registry()
        active = load_policy(policy, registry)
    except (PolicyError, RegistryError) as exc:
        Console(stderr=True).print(Text(visible(f"error: {exc.line()}")), soft_wrap=True)
        raise typer.Exit(2) from None
    with _imported_lists(ctx) as extra:
        results = [screen(name, registry, active, extra) for name in names]
    if fmt is ScreenFormat.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in results], indent=2,
                                    ensure_ascii=False, default=str) + "\n")
    else:
        out = console_for_stdout()
        for result in results:
            out.print(_panel(result))
    if fail_on is not None and any(
        verdict_rank(r.verdict) >= verdict_rank(fail_on) for r in results
    ):
        raise typer.Exit(1)


@contextmanager
def _imported_lists(ctx: typer.Context) -> Iterator[Any]:
    """Listings from lists imported into the store (`intel import`), when there is one."""
    db = (ctx.obj or {}).get("db")
    if db is None or not Path(db).exists():
        yield None
        return
    from vendorwatch.intel.imported import ImportedLists
    from vendorwatch.store import Store

    with Store(db) as store:
        yield ImportedLists(store).listings_for


def _panel(result: ScreeningResult) -> Panel:
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    for label, value in _facts(result):
        facts.add_row(label, Text(visible(value)))
    parts: list[Table] = [facts]
    if result.listings:
        listings = Table(title="listings", title_justify="left", expand=True)
        for column in ("list", "since", "applies", "via / rule", "verified", "source"):
            listings.add_column(column, overflow="fold")
        for x in result.listings:
            via = f"{x['via_name']} ({x['rule']})" if x["via"] else ""
            listings.add_row(*(Text(visible(v)) for v in (
                x["list"], x["since"], x["applies"], via,
                "yes" if x["verified"] else "NO", x["source_url"])))
        parts.append(listings)
    if result.reasons:
        reasons = Table(title="reasons", title_justify="left", expand=True)
        for column in ("verdict", "rule", "action", "why"):
            reasons.add_column(column, overflow="fold")
        for r in result.reasons:
            reasons.add_row(*(Text(visible(v)) for v in (r["verdict"], r["rule"],
                                                          r["action"], r["why"])))
        parts.append(reasons)
    title = Text(visible(result.query))
    title.append(f"  {result.verdict}", style=VERDICT_STYLE[result.verdict])
    return Panel(Group(*parts), title=title, title_align="left",
                 subtitle=visible(f"policy {result.policy}"), subtitle_align="right")


def _facts(result: ScreeningResult) -> list[tuple[str, str]]:
    m = result.match
    if m["matched"]:
        how = f"{m['matched_name']} ({m['field']}, {m['method']}, score {m['score']:.0f})"
    elif m["matched_name"]:
        how = (f"no match - nearest {m['matched_name']} scored {m['score']:.0f}, "
               f"below {m['threshold']:.0f}")
    else:
        how = "no match"
    rows = [("match", how)]
    company = result.company
    if company:
        rows.append(("company", f"{company['name']} ({company['country'] or '?'})"
                     + ("" if company["verified"] else " [unverified]")))
        rows += [("identifier", f"{i['scheme']} {i['value']} {i['exchange'] or ''}".strip())
                 for i in company["identifiers"]]
    if result.brand:
        b = result.brand
        rows.append(("brand", f"{b['name']}: {b['relation']} of "
                     f"{b['maker'] or ' or '.join(b['candidates'])} ({b['source_url']})"))
    rows += [("relation", f"{r['brand']}: {r['relation']} ({r['attribution']}) "
                          f"{r['source_url']}") for r in result.relations
             if not result.brand or r["brand"] != result.brand["name"]]
    for link in result.ownership:
        share = f"{link['share']:g}%" if link["share"] is not None else "share ?"
        flags = ", ".join(flag for flag, on in (
            ("controlling", link["controlling"]), ("STATE", link["state_owned"] is True),
            ("unverified", not link["verified"])) if on)
        rows.append((f"owner {'  ' * (link['depth'] - 1)}↑{link['depth']}",
                     f"{link['owner_name']} owns {share} of {link['owned']} [{flags}]"))
    if result.ultimate_owners:
        rows.append(("ultimate owner", "; ".join(
            f"{u['name']}{' (state)' if u['state_owned'] else ''}"
            for u in result.ultimate_owners)))
    rows.append(("state", f"controlled: {result.state_controlled}; "
                          f"linked: {result.state_linked}"))
    rows += [("checked", f"not on {c['list']} ({c['checked']}"
                         f"{', unverified' if not c['verified'] else ''})")
             for c in result.checked_lists]
    return rows
