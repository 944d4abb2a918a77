"""`vendorwatch intel import FILE...` and `vendorwatch intel status`.

Registered on the main app by ``register(app)``; the store is the main app's ``--db``
(``ctx.obj["db"]``). Exit codes as everywhere: 0 success, 2 usage or input error (one line
naming the file and the line; the other files of the same command are still imported)."""

from __future__ import annotations

import hashlib
import json
import sys
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from vendorwatch.cli.output import Format, console_for_stdout, emit, visible
from vendorwatch.errors import InputError
from vendorwatch.store import Store

intel_app = typer.Typer(
    rich_markup_mode=None,  # usage errors as one plain "Error: ..." line
    no_args_is_help=True,
    help="Vendor intelligence: import published lists (OpenSanctions FtM, US Consolidated "
    "Screening List, FCC Covered List) and show what is loaded.",
)
err = Console(stderr=True)


def _say(line: str) -> None:
    """One line on stderr, never wrapped or styled (it may hold hostile file names)."""
    err.print(Text(visible(line)), highlight=False, soft_wrap=True)


def _open(ctx: typer.Context) -> Store:
    try:
        return Store(ctx.obj["db"])
    except InputError as exc:
        _say(f"error: {exc.line()}")
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    """Add the `intel` command group to `app` (once; calling it again changes nothing)."""
    if any(group.typer_instance is intel_app for group in app.registered_groups):
        return
    app.add_typer(intel_app, name="intel")


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def _dated(dataset: str | None, published: Any) -> str:
    when = f"published {published}" if published else "no publication date in the file"
    return f"dataset {dataset} ({when})"


def _iso(value: Any) -> Any:
    return value.isoformat(timespec="seconds") + "Z" if isinstance(value, datetime) else value


@intel_app.command("import")
def import_(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(
        help="List files: OpenSanctions entities.ftm.json, trade.gov consolidated.csv, "
             "or the FCC Covered List CSV form (kind detected from content).")],
    dataset: Annotated[str | None, typer.Option(
        help="Dataset name to file the imports under (default: from the file).")] = None,
) -> None:
    """Import published lists; a newer file of a dataset replaces that dataset's rows."""
    from vendorwatch.intel.importers import import_file

    failed = False
    with _open(ctx) as store:
        for path in files:
            result = import_file(store, path, dataset=dataset)
            if result.error is not None:
                failed = True
                _say(f"error: {result.error.line()}")
            elif result.status == "unchanged":
                _say(f"unchanged: {path} (already imported as dataset {result.dataset})")
            elif result.status == "older" and result.replaced:
                _say(f"not imported: {path}: dataset {result.dataset} of {result.published} "
                     f"is older than the loaded one of {result.replaced['published']} "
                     f"({result.replaced['path']})")
            else:
                replaced = ""
                if result.replaced:
                    replaced = (f"; replaced import #{result.replaced['id']} of "
                                f"{result.replaced['published'] or 'no date'} "
                                f"({result.replaced['rows']:,} entities)")
                _say(f"imported {path} ({result.format}): "
                     f"{_dated(result.dataset, result.published)}: {result.rows:,} entities, "
                     f"{result.ownership_rows:,} ownership edges, {result.skipped:,} "
                     f"records skipped{replaced}")
    if failed:
        raise typer.Exit(2)


def _registry_summary() -> dict[str, Any]:
    from vendorwatch.intel import load_registry

    registry = load_registry()
    try:
        sha = hashlib.sha256(Path(registry.path).read_bytes()).hexdigest()
    except OSError:
        sha = None
    parties = [*registry.makers.values(), *registry.organisations.values()]
    return {
        "file": registry.path,
        "schema_version": registry.data.schema_version,
        "sha256": sha,
        "makers": len(registry.makers),
        "organisations": len(registry.organisations),
        "brands": len(registry.brands),
        "lists": len(registry.lists),
        "listings": sum(len(party.listings) for party in parties),
        "endpoints": len(registry.endpoints),
    }


@intel_app.command()
def status(
    ctx: typer.Context,
    fmt: Annotated[StatusFormat, typer.Option("--format", help="table or json")]
    = StatusFormat.table,
) -> None:
    """The packaged registry and every imported dataset: file, date, when, rows."""
    from vendorwatch.intel.importers import list_imports
    from vendorwatch.intel.registry import RegistryError

    try:
        registry = _registry_summary()
    except RegistryError as exc:
        _say(f"error: {exc.line()}")
        raise typer.Exit(2) from None
    with _open(ctx) as store:
        imports = list_imports(store)
    for row in imports:
        replaced_id = row.pop("replaced_id")
        replaced = {
            "import_id": replaced_id,
            "file": row.pop("replaced_file"),
            "published": row.pop("replaced_published"),
            "imported_at": row.pop("replaced_imported_at"),
        }
        row["replaced"] = replaced if replaced_id is not None else None
        row.pop("superseded_by")
        row["imported_at"] = _iso(row["imported_at"])
        if replaced_id is not None:
            replaced["imported_at"] = _iso(replaced["imported_at"])
    if fmt is StatusFormat.json:
        sys.stdout.write(json.dumps({"registry": registry, "imports": imports}, indent=2,
                                    ensure_ascii=False, default=str))
        sys.stdout.write("\n")
        return
    out = console_for_stdout()
    registry_row = {**registry, "file": Path(registry["file"]).name,
                    "sha256": (registry["sha256"] or "")[:12]}
    emit([registry_row], Format.table, list(registry_row), "Packaged registry", out)
    table_rows = []
    for row in imports:
        replaced = row["replaced"]
        table_rows.append({
            **row,
            "file": Path(row["file"]).name,
            "published": row["published"] or "-",
            "imported_at": row["imported_at"].replace("T", " ").rstrip("Z"),
            "replaced": (f"#{replaced['import_id']} of {replaced['published'] or 'no date'}"
                         if replaced else ""),
        })
    emit(table_rows, Format.table,
         ["dataset", "format", "file", "published", "imported_at", "rows", "ownership_rows",
          "replaced"], "Imported lists", out)
