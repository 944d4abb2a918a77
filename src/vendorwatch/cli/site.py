"""Commands about one site's traffic and decisions:

- `vendorwatch triage FINDING_ID --state accepted|false_positive|mitigated|open --note TEXT
  [--until DATE]` — a decision that survives re-ingest and re-detection;
- `vendorwatch exposure [--ip IP]` — every external destination per device, with name,
  country, AS, vendor platform, volumes and times;
- `vendorwatch zones` — the zone-to-zone flow matrix.

Exit codes: 0 done, 2 usage or input error (unknown finding, bad or past date, a stored
zone file or allowlist that no longer validates)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

import typer

from vendorwatch.cli.output import Format, emit
from vendorwatch.errors import InputError


class TriageState(StrEnum):
    accepted = "accepted"
    false_positive = "false_positive"
    mitigated = "mitigated"
    open = "open"


def _parse_day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("a date as YYYY-MM-DD") from None


def _finding_id(value: str) -> str:
    """A finding id as `findings` prints it, from one pasted with spaces or in another case
    (``vw-C543…``)."""
    value = value.strip()
    if value[:3].upper() == "VW-":
        return "VW-" + value[3:].lower()
    return value


def register(app: typer.Typer) -> None:
    app.command()(triage)
    app.command()(exposure)
    app.command()(zones)
    app.command()(impact)


def triage(
    ctx: typer.Context,
    finding_id: Annotated[str, typer.Argument(help="Finding id, e.g. VW-1a2b3c4d5e6f.")],
    state: Annotated[TriageState, typer.Option(help="accepted, false_positive, mitigated, "
                                                    "or open to withdraw a decision.")],
    note: Annotated[str, typer.Option(help="Why: who decided, on what grounds.")],
    until: Annotated[str | None, typer.Option(help="The decision lapses after this day "
                                                   "(YYYY-MM-DD); the finding re-opens.")]
    = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:
    """Record a triage decision on a finding; it survives re-ingest and re-detection."""
    from vendorwatch.cli.app import _fail, _open, out, say
    from vendorwatch.site.triage import record_decision, today

    day = _parse_day(until)
    if not note.strip():
        raise _fail("--note must say why")
    if day is not None and state is not TriageState.open and day < today():
        raise _fail(f"--until {day.isoformat()} has passed: the decision would lapse at once")
    finding_id = _finding_id(finding_id)
    with _open(ctx, reading=True) as store:
        try:
            result = record_decision(store, finding_id, state.value, note, day)
        except KeyError:
            raise _fail(f"no finding with id {finding_id} (see `vendorwatch findings`)") \
                from None
        except InputError as exc:  # a stored allowlist that no longer validates
            raise _fail(exc.line()) from None
    if fmt is Format.table:
        say(f"{finding_id}: {result['state']}" + (f" until {day.isoformat()}" if day else ""))
    else:
        emit([result], fmt, ["id", "state"], "Triage", out)


def exposure(
    ctx: typer.Context,
    ip: Annotated[str | None, typer.Option(help="Only this device.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:
    """Every external destination per device: name, country, AS, vendor platform, volumes."""
    from vendorwatch.cli.app import _fail, _open, out
    from vendorwatch.detect import detect_context
    from vendorwatch.detect.destinations import external_destinations

    with _open(ctx, reading=True) as store:
        try:
            rows = external_destinations(detect_context(store), site=site, ip=ip)
        except InputError as exc:  # stored zones or policy that no longer validate
            raise _fail(exc.line()) from None
    emit(rows, fmt, ["device", "manufacturer", "direction", "peer", "name", "port", "country",
                     "asn", "platform", "flows", "bytes_out", "bytes_in"], "External destinations",
         out)


def zones(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:
    """The zone-to-zone flow matrix (zones from --zones, else subnets)."""
    from vendorwatch.cli.app import _fail, _open, out, say
    from vendorwatch.detect import load_zones
    from vendorwatch.detect.segmentation import zone_matrix

    with _open(ctx, reading=True) as store:
        try:
            site_zones = load_zones(store)
        except InputError as exc:  # a stored zone file that no longer validates
            raise _fail(exc.line()) from None
        rows = zone_matrix(store, site_zones)
    for problem in site_zones.closed_problems():
        say(f"warning: {problem}")
    emit(rows, fmt, ["from_zone", "to_zone", "flows", "bytes", "from_hosts", "to_hosts",
                     "allowed"], "Zone matrix", out)


def impact(
    ctx: typer.Context,
    maker: Annotated[str | None, typer.Option(help="Every device this maker made stops.")]
    = None,
    owner: Annotated[str | None, typer.Option(help="Every device of makers this owner "
                                                   "controls stops (e.g. CETC).")] = None,
    country: Annotated[str | None, typer.Option(help="Every device of makers based in or "
                                                     "controlled from this country (e.g. CN) "
                                                     "stops.")] = None,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, json or csv")] = Format.table,
) -> None:
    """What stops per function (scanning, cranes, CCTV…) if one maker, owner or country's
    devices are all switched off or unreachable: devices and declared capacity lost."""
    from vendorwatch.cli.app import _fail, _open, out, say
    from vendorwatch.detect.concentration import devices, known_name, select
    from vendorwatch.detect.concentration import impact as impact_of
    from vendorwatch.intel import load_registry

    chosen = [o for o in (maker, owner, country) if o is not None]
    if len(chosen) != 1:
        raise _fail("give exactly one of --maker, --owner or --country")
    registry = load_registry()
    with _open(ctx, reading=True) as store:
        found = devices(store, registry, site)
    lost, scenario = select(registry, found, maker=maker, owner=owner, country=country)
    if not known_name(registry, found, maker=maker, owner=owner):
        raise _fail(f"{maker or owner}: no maker, brand or owner of that name in the registry "
                    "or on the devices (see `vendorwatch assets`)")
    rows = impact_of(found, lost)
    if fmt is Format.table:
        say(f"if {scenario} stops: {len(lost)} of {len(found)} devices serving a function")
        for row in rows:
            row["devices_lost"] = f"{row['devices_lost']} of {row['devices']}"
            row["share_lost"] = f"{row['share_lost']:.0%}"
            if row["capacity_share_lost"] is not None:
                row["capacity_share_lost"] = f"{row['capacity_share_lost']:.0%}"
                row["capacity_lost"] = f"{row['capacity_lost']:g} of {row['capacity']:g}"
    emit(rows, fmt, ["site", "function", "devices_lost", "share_lost", "capacity_lost",
                     "capacity_share_lost", "remaining"], "Kill-switch impact", out)
