"""QA of the operator's registers (issue 5) against careless and hostile input: CSV that
loses rows silently, workbooks that hide values, placeholders, maker names, screening
expiry, concentration groups, and firmware input. Each test is a problem found and fixed."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from conftest import run_cli
from test_access_policy import SITE, TODAY, entry, reg
from vendorwatch.detect import detect_context
from vendorwatch.detect.concentration import concentration, devices, select
from vendorwatch.detect.register_reconciliation import read_maker, same_plain_name
from vendorwatch.errors import InputError
from vendorwatch.firmware import add_image
from vendorwatch.ingest import ingest_path
from vendorwatch.ingest.tabular import parse_date
from vendorwatch.intel import load_registry
from vendorwatch.store import Store

HEADER = "asset_id,ip,mac,manufacturer\n"


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


def ingest(store: Store, path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    result = ingest_path(store, path, site=SITE)
    assert result.status == "ingested", result.error and result.error.line()
    kept = store.con.execute(
        "SELECT line, asset_id, ip, manufacturer FROM register_assets ORDER BY line").fetchall()
    return [w.line() for w in result.warnings], kept


# --- CSV -------------------------------------------------------------------------------------


def test_a_quote_left_open_skips_its_row_not_the_rest(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + 'A1,10.0.0.1,,Nuctech\nA2,10.0.0.2,,"Hik\nA3,10.0.0.3,,Dahua\n'
                    'A4,10.0.0.4,,Axis\n')
    warnings, kept = ingest(store, path)
    assert [k[1] for k in kept] == ["A1", "A3", "A4"]
    assert kept[1] == (4, "A3", "10.0.0.3", "Dahua")
    assert len(warnings) == 1 and "line 3" in warnings[0] and "quote" in warnings[0]


def test_a_quoted_cell_over_two_lines_is_still_one_cell(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + 'A1,10.0.0.1,,"Nuctech\nCompany"\nA2,10.0.0.2,,Hik\n')
    warnings, kept = ingest(store, path)
    assert warnings == [] and kept[0][3] == "Nuctech\nCompany" and len(kept) == 2


def test_a_huge_field_skips_its_row(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + "A1,10.0.0.1,," + "x" * 200_000 + "\nA2,10.0.0.2,,Hik\n")
    warnings, kept = ingest(store, path)
    assert [k[1] for k in kept] == ["A2"]
    assert "line 2" in warnings[0] and "field limit" in warnings[0]


def test_a_row_with_another_delimiter_is_skipped(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(HEADER + "A1,10.0.0.1,,Nuctech\nA2;10.0.0.2;;Hikvision\n"
                    "A3,10.0.0.3,,Dahua;Axis\n")
    warnings, kept = ingest(store, path)
    assert [k[1] for k in kept] == ["A1", "A3"]
    assert "line 3" in warnings[0] and "';'" in warnings[0]


def test_a_stray_nul_skips_its_row_and_padding_is_dropped(store: Store,
                                                          tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_bytes(HEADER.encode() + b"A1,10.0.0.1,,Nuc\0tech\nA2,10.0.0.2,,Hik\n"
                     + b"\0" * 500)
    warnings, kept = ingest(store, path)
    assert [k[1] for k in kept] == ["A2"]
    assert len(warnings) == 1 and "line 2" in warnings[0] and "NUL" in warnings[0]


def test_placeholders_are_empty_cells(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,ip,mac,manufacturer,capacity\nA1,-,n.v.t.,Nuctech,-\n"
                    "A2,n/a,,Hik,\n")
    warnings, kept = ingest(store, path)
    assert warnings == [] and [(k[1], k[2]) for k in kept] == [("A1", None), ("A2", None)]
    access = tmp_path / "access.csv"
    access.write_text("person,screening,access,scope,mfa,valid_until\nP,VOG,-,all,ja,\n"
                      "Q,-,remote,all,n.v.t.,n/a\n")
    result = ingest_path(store, access, site=SITE)
    assert [w.line() for w in result.warnings] == [
        f"{access} at line 2: row skipped: access: empty"]
    assert store.query("SELECT person, screening, mfa, valid_until FROM access_register") == [
        {"person": "Q", "screening": "none", "mfa": None, "valid_until": None}]


def test_excel_day_numbers_are_dates() -> None:
    assert parse_date("46023") == date(2026, 1, 1)
    with pytest.raises(ValueError):
        parse_date("123")


# --- XLSX ------------------------------------------------------------------------------------


def test_merged_cells_fill_down_their_first_column(store: Store, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["asset_id", "ip", "manufacturer", "function", "capacity"])
    sheet.append(["S1", "10.0.0.1", "Nuctech", "container scanning", 100])
    sheet.append(["S2", "10.0.0.2", "Nuctech", None, 100])
    sheet.append(["S3", "10.0.0.3", "Smiths Detection", None, 20])
    sheet.append(["C1", "10.0.0.4", "Hikvision", "CCTV", None])
    sheet.merge_cells("D2:D4")
    sheet.merge_cells("A6:E6")  # a note across the row: not spread into ip etc.
    sheet["A6"] = "X1"
    path = tmp_path / "assets.xlsx"
    book.save(path)
    result = ingest_path(store, path, site=SITE)
    assert result.status == "ingested"
    rows = store.query("SELECT asset_id, ip, function FROM register_assets ORDER BY line")
    assert [r["function"] for r in rows] == ["container scanning"] * 3 + ["CCTV", None]
    assert rows[-1] == {"asset_id": "X1", "ip": None, "function": None}


def test_a_password_protected_workbook_says_so(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4096)
    result = ingest_path(store, path, site=SITE)
    assert result.status == "failed" and result.error is not None
    assert "password-protected" in result.error.line()
    assert store.query("SELECT count(*) AS n FROM sources")[0]["n"] == 0


# --- reconciliation --------------------------------------------------------------------------


def test_a_shared_first_word_is_not_the_same_maker() -> None:
    registry = load_registry()

    def same(a: str, b: str) -> bool:
        one, two = read_maker(registry, a), read_maker(registry, b)
        assert one is not None and two is not None
        return same_plain_name(one, two)

    assert same("Dell", "Dell Technologies")
    assert not same("Shenzhen Foo Tech Co Ltd", "Shenzhen Bar Electronics")
    assert not same("Smiths Detection", "Smiths Medical")


# --- access policy ---------------------------------------------------------------------------


def test_an_expired_vog_where_none_is_required_is_no_finding(tmp_path: Path) -> None:
    from vendorwatch.detect.access_policy import AccessPolicy

    store = Store(tmp_path / "a.duckdb")
    with store.ingesting("/a.csv", "s1", "asset-register", SITE) as batch:
        batch.table_rows("register_assets", [
            reg("WS-01", 2, "10.10.0.5", "Dell", "office", "office", "low"),
            reg("SCN-01", 3, "10.30.0.20", "Nuctech", "container scanning", "scanners",
                "vital")])
    with store.ingesting("/x.csv", "s2", "access-register", SITE) as batch:
        batch.table_rows("access_register", [
            entry(2, "E", "TW", "office", "VOG", "physical", "WS-01", via=None, mfa=None,
                  expires="2026-01-01"),
            entry(3, "F", "TW", "scanner engineer", "VOG", "physical", "SCN-01", via=None,
                  mfa=None, expires="2026-01-01")])
    found = list(AccessPolicy(today=TODAY).run(detect_context(store)))
    expired = [f for f in found if f.kind == "access-screening-expired"]
    assert [f.details["person"] for f in expired] == ["F"]
    assert "a current VOG" in expired[0].summary


# --- concentration ---------------------------------------------------------------------------


def _row(asset_id: str, maker: str, function: str, brand: str | None = None
         ) -> dict[str, Any]:
    return {"line": 2, "asset_id": asset_id, "manufacturer": maker, "brand": brand,
            "function": function, "site": SITE}


def test_function_spelling_and_relabel_brands(tmp_path: Path) -> None:
    with Store(tmp_path / "c.duckdb") as store:
        with store.ingesting("assets.csv", "sha", "asset-register", SITE) as batch:
            batch.table_rows("register_assets", [
                _row("C1", "Hikvision", "CCTV"), _row("C2", "", "cctv ", brand="LTS"),
                _row("C3", "Axis", "Cctv"), _row("C4", "LTS", "CCTV")])
        registry = load_registry()
        found = devices(store, registry)
    assert {d.function for d in found} == {"CCTV"}
    rows = {(r["level"], r["name"]): r for r in concentration(found)}
    assert rows[("maker", "Hikvision")]["devices"] == 3
    assert rows[("maker", "Hikvision")]["of_devices"] == 4
    chosen, said = select(registry, found, maker="LTS")
    assert sorted(d.name for d in chosen) == ["C1", "C2", "C4"]
    assert "Hikvision" in said and "LTS" in said
    chosen, said = select(registry, found, maker="Nuctec")
    assert chosen == [] and "no maker or brand of that name" in said


# --- firmware --------------------------------------------------------------------------------


def test_an_empty_image_is_refused(tmp_path: Path) -> None:
    image = tmp_path / "empty.bin"
    image.write_bytes(b"")
    with Store(tmp_path / "fw.duckdb") as store:
        with pytest.raises(InputError, match="empty file"):
            add_image(store, image, "Hikvision", "X", "1.0")
        assert store.query("SELECT count(*) AS n FROM firmware_images")[0]["n"] == 0


def test_approval_dated_in_the_future_and_unchecked_signature(tmp_path: Path) -> None:
    db = tmp_path / "fw.duckdb"
    image = tmp_path / "fw.bin"
    image.write_bytes(b"firmware image " * 64)
    sig = tmp_path / "fw.sig"
    sig.write_bytes(b"\1" * 64)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = tmp_path / "key.pem"
    key.write_bytes(ed25519.Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    added = run_cli("firmware", "add", str(image), "--maker", "M", "--model", "X",
                    "--version", "1", "--format", "json", db=db)
    assert added.returncode == 0, added.stderr
    again = run_cli("firmware", "add", str(image), "--maker", "M", "--model", "X",
                    "--version", "1", "--signature", str(sig), "--pubkey", str(key),
                    "--format", "json", db=db)
    assert "was not checked" in again.stderr + again.stdout
    with Store(db) as store:
        fid = store.query("SELECT id FROM firmware_images")[0]["id"]
    future = run_cli("firmware", "approve", fid, "--tested-by", "J", "--date", "2999-01-01",
                     db=db)
    assert future.returncode == 2 and "in the future" in future.stderr
    assert "Traceback" not in future.stderr
    with Store(db) as store:
        assert store.query("SELECT count(*) AS n FROM firmware_approvals")[0]["n"] == 0
