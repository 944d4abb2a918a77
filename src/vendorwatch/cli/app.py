"""`vendorwatch` commands. They only wire ingest/, identify/, detect/ and report/ together.

Exit codes: 0 success, 1 findings at or above --fail-on, 2 usage or input error."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.text import Text

from vendorwatch.cli.output import Format, console_for_stdout, emit, visible
from vendorwatch.errors import InputError
from vendorwatch.store import Store, default_db_path
from vendorwatch.store.views import list_assets, list_evidence, list_findings

app = typer.Typer(
    rich_markup_mode=None,  # usage errors as one plain "Error: ..." line
    add_completion=False,
    pretty_exceptions_show_locals=False,
    no_args_is_help=True,
    help="Which networked equipment from high-risk vendors runs here, what it talks to, "
    "and what to do about it.",
)
err = Console(stderr=True)
out = console_for_stdout()

SEVERITY_CHOICES = ("info", "low", "medium", "high", "critical")


def say(line: str) -> None:
    """One line on stderr, never wrapped or styled (it may hold hostile file names)."""
    err.print(Text(visible(line)), highlight=False, soft_wrap=True)


def _fail(message: str) -> typer.Exit:
    say(f"error: {message}")
    return typer.Exit(2)


def _open(ctx: typer.Context, reading: bool = False) -> Store:
    """The store of `--db`. Commands that only read it need it to exist, and say so when
    its assets and findings lag behind its sources (an ingest cut off before detection)."""
    path = ctx.obj["db"]
    if reading and not Path(path).exists():
        raise _fail(f"{path}: no store here (ingest something first, or give --db)")
    try:
        store = Store(path)
    except InputError as exc:
        raise _fail(exc.line()) from None
    if reading and store.is_stale():
        say(f"warning: {path}: sources were added since the last detection; "
            "run `vendorwatch detect`")
    return store


def _check_severity(value: str | None) -> str | None:
    if value is not None and value not in SEVERITY_CHOICES:
        raise typer.BadParameter(f"must be one of {', '.join(SEVERITY_CHOICES)}")
    return value


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", help="Store file. Default: $VENDORWATCH_DB, "
                     "else ./vendorwatch.duckdb"),
    ] = None,
) -> None:
    ctx.obj = {"db": default_db_path(str(db) if db else None)}


class RateColumn(ProgressColumn):
    """Records (packets or log rows) per second."""

    def render(self, task: Task) -> Text:
        records = task.fields.get("records", 0)
        elapsed = task.elapsed or 0
        rate = records / elapsed if elapsed > 0 else 0
        return Text(f"{records:,} pkts {rate:,.0f} pkt/s", style="progress.data.speed")


FailOnOption = Annotated[
    str | None,
    typer.Option(callback=_check_severity, help="Exit 1 if an open finding is at or above."),
]
PolicyOption = Annotated[
    str | None,
    typer.Option(help="Sector policy for detection: general, port-critical, rail or a policy "
                      ".yaml file; kept in the store for later runs."),
]


def _set_policy(store: Store, policy: str | None) -> bool:
    """Validate and keep the sector policy; True when it changed (findings need a rerun)."""
    if policy is None or policy == store.setting("policy", ""):
        return False
    from vendorwatch.intel import load_registry
    from vendorwatch.intel.policy import load_policy

    try:
        load_policy(policy, load_registry())
    except InputError as exc:
        raise _fail(exc.line()) from None
    store.set_setting("policy", policy)
    return True


ZonesOption = Annotated[
    Path | None,
    typer.Option("--zones", help="Zone file (YAML: zone → cidrs, sensitivity, closed, "
                                 "allowed_peers); kept in the store for later runs."),
]
ClosedZoneOption = Annotated[
    list[str] | None,
    typer.Option("--closed-zone", help="A zone (name from the zone file, or a subnet such as "
                                       "10.20.0.0/24) that must have no external traffic; "
                                       "repeatable; kept in the store."),
]
AccessPolicyOption = Annotated[
    str | None,
    typer.Option("--access-policy", help="Access screening policy: port, airport, rail or a "
                                         ".yaml file; kept in the store."),
]
AllowlistOption = Annotated[
    Path | None,
    typer.Option("--allowlist", help="Allowlist of expected endpoints (YAML, each entry with "
                                     "a reason and an expiry); kept in the store."),
]


def _set_site_files(
    store: Store, zones: Path | None, closed: list[str] | None, allowlist: Path | None,
    access_policy: str | None = None,
) -> bool:
    """Validate and keep the zone file, closed zones, allowlist and access policy; True
    when any changed."""
    from vendorwatch.detect.access_policy import load_access_policy
    from vendorwatch.site.allowlist import read_allowlist_file
    from vendorwatch.site.zones import read_zone_file

    wanted: dict[str, str] = {}
    try:
        if zones is not None:
            wanted["zones"] = read_zone_file(zones)
        if allowlist is not None:
            wanted["allowlist"] = read_allowlist_file(allowlist)
            _warn_expired(allowlist, wanted["allowlist"])
        if access_policy is not None:
            load_access_policy(access_policy)
            wanted["access_policy"] = access_policy
    except InputError as exc:
        raise _fail(exc.line()) from None
    if closed:
        from vendorwatch.site.zones import Zones, parse_zones

        text = wanted.get("zones", store.setting("zones", ""))
        try:
            spec = parse_zones(text, "zones") if text else None
        except InputError as exc:
            raise _fail(exc.line()) from None
        problems = Zones(spec, closed=closed).closed_problems()
        if problems:
            raise _fail(problems[0])
        wanted["closed_zones"] = json.dumps(sorted(set(closed)))
    changed = False
    for key, value in wanted.items():
        if store.setting(key, "") != value:
            store.set_setting(key, value)
            changed = True
    return changed


def _warn_expired(path: Path, text: str) -> None:
    """Say which allowlist entries have already expired (they allow nothing)."""
    from vendorwatch.site.allowlist import parse_allowlist
    from vendorwatch.site.triage import today

    on = today()
    for index, entry in enumerate(parse_allowlist(text, path).entries):
        if entry.expires < on:
            say(f"warning: {path} at entries.{index}: {entry.endpoint!r} expired on "
                f"{entry.expires.isoformat()}; it allows nothing until renewed")


def _refresh(store: Store) -> tuple[int, list[Any]]:
    """Re-identify assets and re-run the detectors; a broken data file (registry,
    fingerprints, policy) is a one-line input error."""
    from vendorwatch.detect import run_detectors
    from vendorwatch.identify.assets import identify_assets

    try:
        result = identify_assets(store), run_detectors(store)
    except InputError as exc:
        raise _fail(exc.line()) from None
    store.mark_refreshed()
    return result


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(
        help="Captures (pcap, pcapng), Zeek log files or directories, flow exports (nfdump "
             "CSV, IPFIX, NetFlow v9, Suricata EVE, Joy), registers (CSV, XLSX).")],
    site: Annotated[str, typer.Option(help="Site the inputs belong to, e.g. 'Terminal West'.")]
    = "",
    fail_on: FailOnOption = None,
    policy: PolicyOption = None,
    zones: ZonesOption = None,
    closed_zone: ClosedZoneOption = None,
    allowlist: AllowlistOption = None,
    access_policy: AccessPolicyOption = None,
    columns: Annotated[Path | None, typer.Option(
        "--columns", help="YAML mapping a register's own column headers to vendorwatch's "
                          "(e.g. 'IP-adres: ip').")] = None,
) -> None:
    """Ingest captures, logs, flow exports and the site's registers (asset register, access
    register, inspections; CSV or XLSX) — kind detected from content — then identify and
    detect."""
    from vendorwatch.ingest import detect_reader, ingest_path
    from vendorwatch.ingest.tabular import load_column_map

    try:
        column_map = load_column_map(columns) if columns is not None else None
    except InputError as exc:
        raise _fail(exc.line()) from None
    store = _open(ctx)
    changed = _set_policy(store, policy)
    changed = _set_site_files(store, zones, closed_zone, allowlist, access_policy) or changed
    failed = False
    current: list[dict[str, Any]] = []
    with store, Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), RateColumn(), TimeElapsedColumn(), console=err, transient=True,
    ) as progress:
        for path in paths:
            try:
                total = detect_reader(path).size(path)
            except InputError:
                total = None
            task = progress.add_task(visible(path.name), total=total, records=0)

            seen = [0]

            def advance(
                nbytes: int, records: int, task: Any = task, seen: list[int] = seen
            ) -> None:
                seen[0] += records
                progress.update(task, advance=nbytes, records=seen[0])

            started = time.monotonic()
            try:
                result = ingest_path(store, path, site=site, progress=advance,
                                     columns=column_map)
            except KeyboardInterrupt:
                progress.stop()
                say(f"interrupted: {path} was rolled back; inputs ingested before it are kept")
                raise typer.Exit(130) from None
            progress.remove_task(task)
            for warning in result.warnings:
                say(f"warning: {warning.line()}")
            if result.error is not None:
                failed = True
                say(f"error: {result.error.line()}")
            elif result.status == "unchanged":
                say(f"unchanged: {path} (already ingested)")
            else:
                changed = True
                seconds = time.monotonic() - started
                say(f"ingested {path} ({result.kind}): {result.records:,} records, "
                    f"{result.flow_rows:,} flows, {result.evidence_rows:,} evidence rows "
                    f"in {seconds:.1f} s")
        if changed or store.is_stale():
            assets, findings = _refresh(store)
            say(f"{assets} assets, {len(findings)} findings")
        current = list_findings(store)
    if failed:
        raise typer.Exit(2)
    _exit_on(current, fail_on)


@app.command()
def detect(
    ctx: typer.Context,
    fail_on: FailOnOption = None,
    policy: PolicyOption = None,
    zones: ZonesOption = None,
    closed_zone: ClosedZoneOption = None,
    allowlist: AllowlistOption = None,
    access_policy: AccessPolicyOption = None,
) -> None:
    """Re-identify assets and re-run every detector on what is stored."""
    with _open(ctx) as store:
        _set_policy(store, policy)
        _set_site_files(store, zones, closed_zone, allowlist, access_policy)
        assets, findings = _refresh(store)
        say(f"{assets} assets, {len(findings)} findings")
        _exit_on(findings_list=list_findings(store), fail_on=fail_on)


def _exit_on(findings_list: list[dict[str, Any]], fail_on: str | None) -> None:
    if fail_on is None:
        return
    from vendorwatch.detect import severity_rank
    from vendorwatch.site.triage import SETTLED_STATES

    # accepted, false-positive, mitigated and allowlisted findings do not fail a run
    if any(severity_rank(f["severity"]) >= severity_rank(fail_on)
           and f["state"] not in SETTLED_STATES for f in findings_list):
        raise typer.Exit(1)


FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]


@app.command()
def assets(
    ctx: typer.Context,
    fmt: FormatOption = Format.table,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
) -> None:
    """The device inventory: maker, brand, model, class, confidence, risk."""
    with _open(ctx, reading=True) as store:
        rows = list_assets(store, site)
    if fmt is Format.table:
        for row in rows:
            row["lists"] = len({item["list"] for item in row["listings"]}) or ""
    emit(rows, fmt, ["ip", "mac", "manufacturer", "brand", "model", "device_class",
                     "confidence", "risk", "lists"], "Assets", out)


@app.command()
def findings(
    ctx: typer.Context,
    fmt: FormatOption = Format.table,
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    severity: Annotated[str | None, typer.Option(callback=_check_severity,
                                                 help="Only at or above this severity.")]
    = None,
    fail_on: FailOnOption = None,
    state: Annotated[str | None, typer.Option(
        help="Only findings in this state: open, accepted, false_positive, mitigated, "
             "allowlisted.")] = None,
) -> None:
    """Findings with their severity, asset and summary (evidence in json/csv)."""
    states = ("open", "accepted", "false_positive", "mitigated", "allowlisted")
    if state is not None and state not in states:
        raise _fail(f"--state must be one of {', '.join(states)}")
    with _open(ctx, reading=True) as store:
        rows = list_findings(store, site, severity)
    if state is not None:
        rows = [r for r in rows if r["state"] == state]
    emit(rows, fmt, ["id", "severity", "kind", "asset_ip", "summary", "state"], "Findings", out)
    _exit_on(rows, fail_on)


@app.command()
def evidence(
    ctx: typer.Context,
    ip: Annotated[str | None, typer.Option(help="Only facts about this host.")] = None,
    signal: Annotated[str | None, typer.Option(help="Only this signal, e.g. tls.sni.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many rows.")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Raw identity evidence: {ts, ip, peer_ip, signal, value, source}."""
    with _open(ctx, reading=True) as store:
        rows = list_evidence(store, ip, signal, limit)
    if fmt is Format.table:
        for row in rows:
            row["source"] = Path(row["source"]).name
    emit(rows, fmt, ["ts", "ip", "peer_ip", "signal", "value", "source"], "Evidence", out)


@app.command()
def report(
    ctx: typer.Context,
    out_path: Annotated[Path, typer.Option("--out", help="HTML file to write.")],
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
) -> None:
    """A self-contained HTML report: makers and risk chart, high-risk inventory, findings."""
    from vendorwatch.report.html import write_report

    with _open(ctx, reading=True) as store:
        try:
            write_report(store, out_path, site=site)
        except OSError as exc:
            raise _fail(f"{out_path}: cannot write: {exc.strerror}") from None
        except InputError as exc:  # a stored zone file or allowlist that no longer passes
            raise _fail(exc.line()) from None
    say(f"report written: {out_path.resolve()}")


@app.command()
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where to put the demo's files.")]
    = Path("demo-output"),
    extra: Annotated[list[Path] | None, typer.Option(
        "--with", help="Further inputs for the demo site, e.g. the example asset register, "
                       "access register and inspections in examples/terminal-west/.")] = None,
) -> None:
    """Generate the bundled synthetic container-terminal capture, ingest it and write the
    HTML report; prints the report's path."""
    from importlib.resources import files

    from vendorwatch.demo.terminal import write_terminal_capture
    from vendorwatch.ingest import ingest_path
    from vendorwatch.report.html import write_report

    capture = directory / "terminal-west.pcap"
    db = directory / "demo.duckdb"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for stale in (db, db.with_name(db.name + ".wal")):
            stale.unlink(missing_ok=True)
        write_terminal_capture(capture)
    except OSError as exc:
        raise _fail(f"{directory}: cannot write the demo: {exc.strerror}") from None
    with Store(db) as store:
        store.set_setting("zones", files("vendorwatch.demo").joinpath("zones.yaml").read_text())
        for path in [capture, *(extra or [])]:
            result = ingest_path(store, path, site="Terminal West")
            if result.error is not None:
                raise _fail(result.error.line())
            for warning in result.warnings:
                say(f"warning: {warning.line()}")
        asset_count, found = _refresh(store)
        report_path = directory / "report.html"
        write_report(store, report_path)
    say(f"demo: {capture} → {asset_count} assets, {len(found)} findings; store {db}")
    out.print(Text(str(report_path.resolve())), highlight=False, soft_wrap=True)


def _register_command_groups() -> None:
    """Command modules beside this one add their commands here, one line each."""
    from vendorwatch.cli import firmware, intel, screen, site, tender

    site.register(app)
    firmware.register(app)
    screen.register(app)
    intel.register(app)
    tender.register(app)


_register_command_groups()


def main() -> None:
    app(prog_name="vendorwatch")
