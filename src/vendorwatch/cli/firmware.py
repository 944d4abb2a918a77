"""`vendorwatch firmware add|approve|list`: the firmware and update register.

- `vendorwatch firmware add IMAGE --maker M --model X --version V [--signature SIG
  --pubkey KEY]` records an image: its id (FW- + 12 hex of the SHA-256), SHA-256, signature
  verdict (none, valid, invalid) and the host names, addresses and URLs hard-coded in it,
  flagging those of a maker's cloud in the registry. Adding the same image again changes
  nothing and says so.
- `vendorwatch firmware approve ID --tested-by NAME [--test-report REF] --date YYYY-MM-DD`
  (a day not in the future) records an approval after testing; without --test-report it
  is an approval without a test record (the `firmware` detector reports it).
- `vendorwatch firmware list` shows the images and their approvals.

Registered on the main app by ``register(app)``; the store is the main app's ``--db``.
Findings (unapproved firmware, approval without test, invalid signature, hard-coded vendor
cloud) appear at the next `vendorwatch detect`.

Exit codes: 0 done; 1 from `firmware add` when the signature is invalid (it does not match
the image, or cannot be checked with that key type) — the image is still recorded, so a
script can stop a roll-out on exit 1; re-adding such an image exits 1 again (re-adding an
image with --signature does not check it, and says so); 2 usage or
input error, as one line: a missing, empty or unreadable image, key or signature file, a key that
is not a PEM public key, a signature that is neither raw, base64 nor PEM, an unknown image
id, a bad date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from vendorwatch.cli.output import Format, emit

firmware_app = typer.Typer(
    rich_markup_mode=None,  # usage errors as one plain "Error: ..." line
    no_args_is_help=True,
    help="Firmware and update validation: record images (hash, signature, hard-coded "
    "vendor-cloud names) and their approval after testing.",
)


def register(app: typer.Typer) -> None:
    """Add the `firmware` command group to `app` (once; calling it again changes nothing)."""
    if any(group.typer_instance is firmware_app for group in app.registered_groups):
        return
    app.add_typer(firmware_app, name="firmware")


MAX_TABLE_NAMES = 100  # flagged names first, so these are never the ones cut

FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]


@firmware_app.command("add")
def add_command(
    ctx: typer.Context,
    image: Annotated[Path, typer.Argument(help="The firmware image file.")],
    maker: Annotated[str, typer.Option(help="Maker, e.g. Hikvision.")],
    model: Annotated[str, typer.Option(help="Model the image is for.")],
    version: Annotated[str, typer.Option(help="Firmware version, as the asset register "
                                              "writes it.")],
    signature: Annotated[Path | None, typer.Option(
        help="Detached signature of the image (raw, base64 or PEM).")] = None,
    pubkey: Annotated[Path | None, typer.Option(
        help="The signer's public key (PEM: Ed25519, ECDSA P-256/P-384, RSA).")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Record a firmware image: SHA-256, signature verdict, hard-coded names."""
    from vendorwatch.cli.app import _fail, _open, out, say
    from vendorwatch.errors import InputError
    from vendorwatch.firmware.images import add_image

    if (signature is None) != (pubkey is None):
        raise _fail("--signature and --pubkey go together")
    for name, value in (("--maker", maker), ("--model", model), ("--version", version)):
        if not value.strip():
            raise _fail(f"{name} must not be empty")
    with _open(ctx) as store:
        try:
            row = add_image(store, image, maker, model, version, signature, pubkey)
        except InputError as exc:
            raise _fail(exc.line()) from None
    if row["status"] == "unchanged":
        given = (maker.strip(), model.strip(), version.strip())
        recorded = (row["maker"], row["model"], row["version"])
        also = "" if given == recorded else (
            f"; recorded as {' '.join(recorded)}, not {' '.join(given)}")
        say(f"unchanged: {image} is {row['id']}, recorded on {row['added_at']}{also}")
        if signature is not None:
            say(f"warning: {signature} was not checked: the image is recorded already, with "
                f"signature {row['signature']} ({row['signature_detail']})")
    else:
        say(f"added {image} as {row['id']}: {row['maker']} {row['model']} {row['version']}, "
            f"signature {row['signature']}; run `vendorwatch detect` to update findings")
    if fmt is Format.table:
        emit([row], fmt, ["id", "sha256", "bytes", "signature", "signature_detail"],
             "Firmware image", out)
        names = _names(row)
        emit(names[:MAX_TABLE_NAMES], fmt, ["kind", "value", "endpoint", "maker"],
             "Hard-coded names", out)
        if len(names) > MAX_TABLE_NAMES:
            say(f"{len(names) - MAX_TABLE_NAMES} more hard-coded names not shown "
                "(--format json lists them all)")
    else:
        emit([row], fmt, list(row), "Firmware image", out)
    if row["signature"] == "invalid":
        raise typer.Exit(1)


def _names(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Flagged vendor-cloud names first, then every other domain, address and URL."""
    flagged = {f["value"]: f for f in row["flagged"]}
    names = [{"kind": "domain", "value": f["value"], "endpoint": f["endpoint"],
              "maker": f["maker"]} for f in row["flagged"]]
    for kind, key in (("domain", "domains"), ("ip", "ips"), ("url", "urls")):
        names += [{"kind": kind, "value": value, "endpoint": None, "maker": None}
                  for value in row["strings"].get(key, []) if value not in flagged]
    return names


def _day(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter("a date as YYYY-MM-DD") from None
    if day > datetime.now(UTC).date() + timedelta(days=1):  # a day's grace for time zones
        raise typer.BadParameter(f"{day} is in the future; give the day of the test")
    return day


@firmware_app.command("approve")
def approve_command(
    ctx: typer.Context,
    image_id: Annotated[str, typer.Argument(help="Image id (FW-…) or its SHA-256.")],
    tested_by: Annotated[str, typer.Option(help="Who tested it.")],
    tested_on: Annotated[str, typer.Option("--date", help="Day of the test, YYYY-MM-DD.")],
    test_report: Annotated[str | None, typer.Option(
        help="Reference to the test record; without it the approval has no test record.")]
    = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Approve a recorded image after testing it in a staging environment."""
    from vendorwatch.cli.app import _fail, _open, out, say
    from vendorwatch.firmware.images import approve_image

    day = _day(tested_on)
    if not tested_by.strip():
        raise _fail("--tested-by must name who tested it")
    with _open(ctx, reading=True) as store:
        try:
            row = approve_image(store, image_id, tested_by, test_report, day)
        except KeyError:
            raise _fail(f"no firmware image {image_id} (see `vendorwatch firmware list`)") \
                from None
    what = f"{row['image_id']} ({row['maker']} {row['model']} {row['version']})"
    if row["status"] == "unchanged":
        say(f"unchanged: {what} was approved so before, on {row['approved_at']}")
    else:
        tested = (f"test record {row['test_report']}" if row["test_report"]
                  else "WITHOUT a test record")
        say(f"approved {what}: tested by {row['tested_by']} on {row['tested_on']}, {tested}")
    if row["signature"] == "invalid":
        say(f"warning: {row['image_id']} has an invalid signature")
    if fmt is not Format.table:
        emit([row], fmt, list(row), "Approval", out)


@firmware_app.command("list")
def list_command(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Recorded images with signature verdict, approvals and hard-coded vendor-cloud names."""
    from vendorwatch.cli.app import _open, out
    from vendorwatch.firmware.images import list_images

    with _open(ctx, reading=True) as store:
        rows = list_images(store)
    if fmt is Format.table:
        for row in rows:
            latest = row["approvals"][-1] if row["approvals"] else None
            row["approved"] = latest["tested_on"] or "yes" if latest else ""
            row["test_report"] = (latest["test_report"] or "NONE") if latest else ""
            row["vendor_cloud"] = ", ".join(f["value"] for f in row["flagged"])
    emit(rows, fmt, ["id", "maker", "model", "version", "signature", "approved",
                     "test_report", "vendor_cloud"], "Firmware images", out)
