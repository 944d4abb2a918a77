"""`vendorwatch tender evaluate FILE`: evaluate a tender's bidders and write the memo.

Registered on the main app by ``register(app)``. The sector in the tender file picks the
screening policy; when the global ``--db`` store exists, its imported lists join the
screening. Exit codes: 0 done, 1 a bidder's screening verdict (its own or a declared
subcontractor's/component maker's) at or above --fail-on, 2 bad input (one line naming the
file and the line) or a file that cannot be written."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from vendorwatch.cli.output import visible
from vendorwatch.errors import InputError
from vendorwatch.intel.registry import RISK_LEVELS

tender_app = typer.Typer(
    rich_markup_mode=None,  # usage errors as one plain "Error: ..." line
    no_args_is_help=True,
    help="Procurement: screen a tender's bidders and their component makers, test the EU "
    "Foreign Subsidies Regulation thresholds, flag abnormally low prices and checklist "
    "gaps, and write a memo.",
)
err = Console(stderr=True)


class MemoFormat(StrEnum):
    md = "md"
    json = "json"
    html = "html"


def _say(line: str) -> None:
    """One line on stderr, never wrapped or styled (it may hold hostile names)."""
    err.print(Text(visible(line)), highlight=False, soft_wrap=True)


def _check_level(value: str | None) -> str | None:
    if value is not None and value not in RISK_LEVELS:
        raise typer.BadParameter(f"must be one of {', '.join(RISK_LEVELS)}")
    return value


def register(app: typer.Typer) -> None:
    """Add the `tender` command group to `app` (once; calling it again changes nothing)."""
    if any(group.typer_instance is tender_app for group in app.registered_groups):
        return
    app.add_typer(tender_app, name="tender")


@tender_app.command("evaluate")
def evaluate_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The tender file (YAML; see examples/README.md).")],
    fmt: Annotated[MemoFormat, typer.Option("--format", help="md, json or html")]
    = MemoFormat.md,
    out: Annotated[Path | None, typer.Option("--out", help="Write the memo to this file "
                                                            "instead of stdout.")] = None,
    fail_on: Annotated[str | None, typer.Option(
        callback=_check_level,
        help="Exit 1 if a bidder's screening verdict (own or a declared subcontractor's) is "
             "at or above (low, medium, high, critical).")] = None,
) -> None:
    """Evaluate every bidder: screening of the bidder and its declared subcontractors and
    component makers, FSR notification or declaration, abnormally low price (Directive
    2014/24/EU Art. 69), checklist gaps, and a recommendation with reasons."""
    from vendorwatch.intel.policy import load_policy, verdict_rank
    from vendorwatch.intel.registry import load_registry
    from vendorwatch.procurement.evaluation import evaluate
    from vendorwatch.procurement.memo import render_html, render_markdown, write_text
    from vendorwatch.procurement.tender import load_tender

    try:
        tender = load_tender(file)
        registry = load_registry()
        policy = load_policy(tender.policy_name, registry)
        with ExitStack() as stack:
            extra = _imported(ctx, stack)
            result = evaluate(tender, registry, policy, extra=extra)
    except InputError as exc:
        _say(f"error: {exc.line()}")
        raise typer.Exit(2) from None
    if fmt is MemoFormat.json:
        text = json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
    elif fmt is MemoFormat.html:
        text = render_html(result)
    else:
        text = render_markdown(result)
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            write_text(out, text)
        except OSError as exc:
            _say(f"error: {out}: cannot write: {exc.strerror or exc}")
            raise typer.Exit(2) from None
        _say(f"memo written: {out.resolve()}")
    if fail_on is not None and verdict_rank(result.worst_verdict) >= verdict_rank(fail_on):
        raise typer.Exit(1)


def _imported(ctx: typer.Context, stack: ExitStack) -> Any:
    """`ImportedLists(store).listings_for` when the global --db store exists, else None."""
    obj = ctx.find_root().obj
    db = obj.get("db") if isinstance(obj, dict) else None
    if not db or not Path(db).is_file():
        return None
    from vendorwatch.intel.imported import ImportedLists
    from vendorwatch.store import Store

    store = stack.enter_context(Store(db, read_only=True))
    lists = ImportedLists(store)
    return lists.listings_for if lists.available else None
