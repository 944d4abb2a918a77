"""Importers for published lists (OpenSanctions FtM JSON lines, US Consolidated Screening
List CSV, FCC Covered List CSV form), the imported-lists lookup, and `intel import|status`.

Fixtures in tests/fixtures/intel/ are written for these tests in each list's published format;
their rows restate public facts (who is listed since when) or are synthetic (ids, persons)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import vendorwatch.intel.importers as importers
from vendorwatch.intel.imported import ImportedLists, normalise
from vendorwatch.intel.importers import detect_importer, import_file, list_imports
from vendorwatch.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "intel"
FTM = FIXTURES / "us_fcc_covered_list.ftm.json"
CSL = FIXTURES / "consolidated_screening_list.csv"
FCC = FIXTURES / "fcc_covered_list.csv"
FCC_URL = "https://www.fcc.gov/supplychain/coveredlist"
TABLES = ("intel_imports", "intel_entities", "intel_names", "intel_ownership")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    with Store(tmp_path / "db.duckdb") as opened:
        yield opened


def entities(store: Store, dataset: str) -> dict[str, dict[str, Any]]:
    rows = store.query(
        "SELECT e.* FROM intel_entities e JOIN intel_imports i ON i.id = e.import_id "
        "WHERE i.dataset = ?", [dataset])
    for row in rows:
        for key in ("names", "topics", "datasets", "properties", "sanctions"):
            row[key] = json.loads(row[key])
    return {row["entity_id"]: row for row in rows}


def table_counts(store: Store) -> dict[str, int]:
    return {t: store.query(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in TABLES}


# --- detection ------------------------------------------------------------------------------


def test_kind_is_detected_from_content_not_name(tmp_path: Path) -> None:
    assert detect_importer(FTM).format == "ftm"
    assert detect_importer(CSL).format == "csl-csv"
    assert detect_importer(FCC).format == "fcc-csv"
    renamed = tmp_path / "list.json"
    shutil.copy(FCC, renamed)
    assert detect_importer(renamed).format == "fcc-csv"


# --- each importer on its fixture ------------------------------------------------------------


def test_ftm_opensanctions_fixture(store: Store) -> None:
    result = import_file(store, FTM)
    assert result.error is None
    assert (result.status, result.format) == ("imported", "ftm")
    assert result.dataset == "us_fcc_covered_list"  # the one dataset every record is in
    assert result.published == "2026-07-30"  # latest last_seen
    assert (result.rows, result.ownership_rows, result.skipped) == (5, 2, 2)

    rows = entities(store, "us_fcc_covered_list")
    assert set(rows) == {"us-fcc-huawei", "us-fcc-hikvision", "us-fcc-dahua",
                         "us-fcc-cethik", "us-fcc-cetc"}  # no Person, no unreferenced company
    hik = rows["us-fcc-hikvision"]
    assert hik["target"] is True and hik["schema"] == "Company"
    assert hik["name"] == "Hangzhou Hikvision Digital Technology Company"
    assert hik["names"] == [
        {"name": "Hangzhou Hikvision Digital Technology Company", "kind": "name"},
        {"name": "Hikvision", "kind": "alias"},
        {"name": "杭州海康威视数字技术股份有限公司", "kind": "alias"},
    ]
    assert hik["list"] == "fcc-covered-list"  # OpenSanctions dataset → registry list id
    assert hik["since"] == "2021-03-12"  # Sanction startDate
    assert rows["us-fcc-huawei"]["since"] == "2021-03-12"  # Sanction listingDate
    assert hik["source_url"] == FCC_URL
    assert hik["list_name"] == "Federal Communications Commission"
    assert hik["program"] == "FCC Covered List"
    assert hik["country"] == "CN" and hik["topics"] == ["sanction"]
    assert hik["datasets"] == ["us_fcc_covered_list"]
    assert hik["first_seen"] == "2023-02-06T09:12:00"
    assert len(hik["sanctions"]) == 1 and hik["line"] == 3
    assert rows["us-fcc-cethik"]["target"] is False  # kept only as an owner in an edge

    edges = store.query("SELECT * FROM intel_ownership ORDER BY line")
    assert [(e["owner_id"], e["asset_id"], e["share"]) for e in edges] == [
        ("us-fcc-cethik", "us-fcc-hikvision", 38.88),
        ("us-fcc-cetc", "us-fcc-cethik", None),
    ]


def test_csl_csv_fixture(store: Store) -> None:
    result = import_file(store, CSL)
    assert result.error is None
    assert (result.format, result.dataset, result.published) == ("csl-csv", "us_trade_csl", None)
    assert (result.rows, result.ownership_rows, result.skipped) == (4, 0, 2)  # person, vessel

    rows = {r["name"]: r for r in entities(store, "us_trade_csl").values()}
    hik = rows["Hangzhou Hikvision Digital Technology Co., Ltd."]
    assert [n["name"] for n in hik["names"]] == [
        "Hangzhou Hikvision Digital Technology Co., Ltd.", "Hikvision",
        "Hangzhou Hikvision Digital Technology"]
    assert hik["list"] == "us-entity-list"
    assert hik["list_name"] == "Entity List (EL) - Bureau of Industry and Security"
    assert (hik["since"], hik["until"], hik["program"]) == ("2019-10-09", None, "EAR")
    assert hik["source_url"] == (
        "https://www.bis.doc.gov/index.php/policy-guidance/lists-of-parties-of-concern")
    assert hik["schema"] == "LegalEntity" and hik["country"] == "CN"
    assert hik["properties"]["federal_register_notice"] == "84 FR 54002"
    cmic = rows["HANGZHOU HIKVISION DIGITAL TECHNOLOGY CO., LTD."]
    assert (cmic["list"], cmic["since"], cmic["schema"]) == ("ns-cmic", "2021-06-03",
                                                             "Organization")
    assert cmic["line"] == 4  # its remarks span lines 4-5
    nuctech = rows["Nuctech Company Limited"]
    assert nuctech["country"] == "CN; HK" and nuctech["line"] == 8
    assert nuctech["since"] == "2020-12-22"
    assert "EXAMPLE, John" not in rows and "EXAMPLE STAR" not in rows


def test_fcc_csv_fixture(store: Store) -> None:
    result = import_file(store, FCC)
    assert result.error is None
    assert (result.format, result.dataset, result.rows) == ("fcc-csv", "fcc_covered_list", 5)
    rows = entities(store, "fcc_covered_list")
    hik = rows["hangzhou-hikvision-digital-technology-company"]
    assert [n["name"] for n in hik["names"]] == [
        "Hangzhou Hikvision Digital Technology Company", "Hikvision", "海康威视"]
    assert (hik["list"], hik["since"], hik["source_url"]) == (
        "fcc-covered-list", "2021-03-12", FCC_URL)
    assert hik["program"].startswith("Video surveillance and telecommunications equipment")
    assert all(r["since"] == "2021-03-12" for r in rows.values())


# --- the lookup API ---------------------------------------------------------------------------


def test_listings_for_finds_every_imported_listing(store: Store) -> None:
    for path in (FTM, CSL, FCC):
        assert import_file(store, path).error is None
    lists = ImportedLists(store)
    found = lists.listings_for(["HIKVISION"])
    by_dataset = {(f["dataset"], f["list"]): f for f in found}
    assert set(by_dataset) == {
        ("fcc_covered_list", "fcc-covered-list"), ("us_fcc_covered_list", "fcc-covered-list"),
        ("us_trade_csl", "us-entity-list"), ("us_trade_csl", "ns-cmic")}
    fcc = by_dataset[("fcc_covered_list", "fcc-covered-list")]
    assert {k: fcc[k] for k in ("list", "since", "source_url", "matched_name", "entity_id")} == {
        "list": "fcc-covered-list", "since": "2021-03-12", "source_url": FCC_URL,
        "matched_name": "Hikvision",
        "entity_id": "hangzhou-hikvision-digital-technology-company"}
    assert {"program", "imported_at", "dataset"} <= set(fcc)
    assert fcc["imported_at"].endswith("Z")
    # legal forms and punctuation do not matter; other companies are not found
    legal = lists.listings_for(["Hangzhou Hikvision Digital Technology Co.,Ltd."])
    assert len(legal) == 4
    assert {f["entity_id"] for f in lists.listings_for(["Zhejiang Dahua Technology"])} == {
        "us-fcc-dahua", "0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3"}
    assert lists.listings_for(["Axis Communications AB"]) == []
    assert lists.listings_for(["CETHIK Group"]) == []  # owners are not listings
    assert lists.listings_for([]) == []


def test_owners_of_follows_imported_ownership_edges(store: Store) -> None:
    import_file(store, FTM)
    lists = ImportedLists(store)
    [edge] = lists.owners_of(["Hikvision"])
    assert (edge["owner"], edge["share"], edge["asset"], edge["dataset"]) == (
        "CETHIK Group Co., Ltd.", 38.88, "Hangzhou Hikvision Digital Technology Company",
        "us_fcc_covered_list")
    assert edge["source_url"] == "https://en.wikipedia.org/wiki/Hikvision"
    [up] = lists.owners_of(["CETHIK Group"])
    assert (up["owner"], up["share"], up["owner_names"]) == (
        "China Electronics Technology Group Corporation", None,
        ["China Electronics Technology Group Corporation", "CETC"])
    assert lists.owners_of(["Huawei"]) == []


def test_normalise() -> None:
    assert normalise("Hangzhou Hikvision Digital Technology Co.,Ltd.") == (
        "hangzhou hikvision digital technology")
    assert normalise("HIKVISION") == normalise("Hikvision Inc.") == "hikvision"
    assert normalise("Ｈｉｋｖｉｓｉｏｎ") == "hikvision"


# --- re-import, replacement, bad input ----------------------------------------------------------


def test_reimport_changes_nothing(store: Store, tmp_path: Path) -> None:
    import_file(store, FCC)
    before = table_counts(store)
    copy = tmp_path / "again.csv"
    shutil.copy(FCC, copy)  # same bytes under another name
    for path in (FCC, copy):
        again = import_file(store, path)
        assert (again.status, again.dataset) == ("unchanged", "fcc_covered_list")
    assert table_counts(store) == before


def test_newer_file_replaces_the_dataset(store: Store, tmp_path: Path) -> None:
    first = import_file(store, FCC)
    lines = FCC.read_text(encoding="utf-8").splitlines(keepends=True)
    newer = tmp_path / "fcc-newer.csv"
    newer.write_text("".join(lines[:-1]), encoding="utf-8")  # Dahua row dropped
    second = import_file(store, newer)
    assert second.status == "imported" and second.rows == 4
    assert second.replaced is not None and second.replaced["id"] == first.import_id
    assert len(entities(store, "fcc_covered_list")) == 4
    assert table_counts(store)["intel_entities"] == 4  # the first import's rows are gone
    [current] = list_imports(store)
    assert (current["import_id"], current["replaced_id"]) == (second.import_id,
                                                              first.import_id)
    assert ImportedLists(store).listings_for(["Dahua"]) == []
    assert import_file(store, FCC).status == "unchanged"  # its bytes were seen


def test_ftm_replacement_follows_the_published_date(store: Store, tmp_path: Path) -> None:
    import_file(store, FTM)
    text = FTM.read_text(encoding="utf-8")
    older = tmp_path / "older.ftm.json"
    older.write_text(text.replace("2026-07-30T06:04:12", "2025-01-02T00:00:00"),
                     encoding="utf-8")
    result = import_file(store, older)
    assert result.status == "older" and result.published == "2025-01-02"
    assert table_counts(store)["intel_imports"] == 1
    newer = tmp_path / "newer.ftm.json"
    newer.write_text(text.replace("2026-07-30T06:04:12", "2026-08-15T00:00:00"),
                     encoding="utf-8")
    result = import_file(store, newer)
    assert result.status == "imported" and result.published == "2026-08-15"
    assert [r["published"] for r in list_imports(store)] == ["2026-08-15"]
    assert len(list_imports(store, include_replaced=True)) == 2


def test_dataset_option_overrides_the_detected_name(store: Store) -> None:
    result = import_file(store, CSL, dataset="csl-2026-08")
    assert result.dataset == "csl-2026-08"
    assert [r["dataset"] for r in list_imports(store)] == ["csl-2026-08"]


def _assert_nothing_stored(store: Store, path: Path, message: str) -> None:
    result = import_file(store, path)
    assert result.status == "failed" and result.error is not None
    assert result.error.line() == message
    assert "\n" not in message
    assert table_counts(store) == dict.fromkeys(TABLES, 0)


def test_malformed_ftm_line(store: Store, tmp_path: Path) -> None:
    lines = FTM.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.ftm.json"
    bad.write_text("".join(lines[:4]) + '{"id": "x", "schema": "Company", "properties": \n'
                   + "".join(lines[4:]), encoding="utf-8")
    _assert_nothing_stored(store, bad, f"{bad} at line 5: invalid JSON: Expecting value "
                                       "(column 48)")
    shape = tmp_path / "shape.ftm.json"
    shape.write_text("".join(lines[:2])
                     + '{"id": "y", "schema": "Company", "properties": {"name": "Acme"}}\n',
                     encoding="utf-8")
    _assert_nothing_stored(store, shape, f"{shape} at line 3: property 'name' is not a list "
                                         "of strings")


def test_malformed_csl_row_rolls_back_rows_already_written(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importers, "BATCH", 1)  # earlier rows reach the table before the error
    lines = CSL.read_text(encoding="utf-8").splitlines(keepends=True)
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines[:3]) + lines[2].rstrip("\n") + ",extra\n", encoding="utf-8")
    _assert_nothing_stored(store, bad, f"{bad} at line 4: expected 29 fields, found 30")


def test_malformed_fcc_rows(store: Store, tmp_path: Path) -> None:
    header = "entity,equipment_or_service,date_added,source_url\n"
    bad = tmp_path / "date.csv"
    bad.write_text(header + f"ZTE Corporation,Telecommunications equipment,2021-03-12,{FCC_URL}\n"
                   f"Hytera Communications Corporation,Radios,12 March 2021,{FCC_URL}\n",
                   encoding="utf-8")
    _assert_nothing_stored(store, bad, f"{bad} at line 3: date_added '12 March 2021' is not a "
                                       "date (YYYY-MM-DD)")
    url = tmp_path / "url.csv"
    url.write_text(header + "ZTE Corporation,Telecom,2021-03-12,fcc.gov\n", encoding="utf-8")
    _assert_nothing_stored(store, url, f"{url} at line 2: source_url 'fcc.gov' is not an "
                                       "http(s) URL")
    quote = tmp_path / "quote.csv"
    quote.write_text(header + 'ZTE Corporation,"Telecom" equipment,2021-03-12,https://x.org\n',
                     encoding="utf-8")
    _assert_nothing_stored(store, quote, f"{quote} at line 2: malformed CSV: ',' expected "
                                         "after '\"'")


def test_unknown_and_empty_files(store: Store, tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("Huawei, ZTE and Hikvision are on the FCC list.\n", encoding="utf-8")
    _assert_nothing_stored(store, text, f"{text}: not a known kind of list (expected one of: "
                                        "ftm, csl-csv, fcc-csv)")
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    _assert_nothing_stored(store, empty, f"{empty}: empty file")


# --- the command line -------------------------------------------------------------------------

# The `intel` group registered on the real app (cli/app.py adds it with the same call).
CLI = ("from vendorwatch.cli.app import app; from vendorwatch.cli.intel import register; "
       "register(app); register(app); app(prog_name='vendorwatch')")


def intel_cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CLI, "--db", str(db), "intel", *args],
        capture_output=True, text=True, check=False, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )


def test_cli_import_and_status(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not a list")
    done = intel_cli(db, "import", str(FTM), str(junk), str(CSL), str(FCC))
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"imported {FTM} (ftm): dataset us_fcc_covered_list (published 2026-07-30): "
        "5 entities, 2 ownership edges, 2 records skipped",
        f"error: {junk}: not a known kind of list (expected one of: ftm, csl-csv, fcc-csv)",
        f"imported {CSL} (csl-csv): dataset us_trade_csl (no publication date in the file): "
        "4 entities, 0 ownership edges, 2 records skipped",
        f"imported {FCC} (fcc-csv): dataset fcc_covered_list (no publication date in the "
        "file): 5 entities, 0 ownership edges, 0 records skipped",
    ]
    again = intel_cli(db, "import", str(FCC))
    assert again.returncode == 0
    assert again.stderr.strip() == (
        f"unchanged: {FCC} (already imported as dataset fcc_covered_list)")

    status = intel_cli(db, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["registry"]["file"].endswith("vendors.yaml")
    assert data["registry"]["makers"] > 0 and data["registry"]["schema_version"] >= 1
    assert [(i["dataset"], i["format"], i["published"], i["rows"]) for i in data["imports"]] == [
        ("fcc_covered_list", "fcc-csv", None, 5),
        ("us_fcc_covered_list", "ftm", "2026-07-30", 5),
        ("us_trade_csl", "csl-csv", None, 4),
    ]
    assert data["imports"][0]["file"] == str(FCC.resolve())
    assert data["imports"][0]["imported_at"].endswith("Z")

    table = intel_cli(db, "status")
    assert table.returncode == 0
    assert "Packaged registry" in table.stdout and "Imported lists (3)" in table.stdout
    assert "us_fcc_covered_list.ftm.json" in table.stdout and "2026-07-30" in table.stdout


def test_cli_replacement_is_shown(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    assert intel_cli(db, "import", str(FCC)).returncode == 0
    newer = tmp_path / "fcc-newer.csv"
    newer.write_text("".join(FCC.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]),
                     encoding="utf-8")
    done = intel_cli(db, "import", str(newer))
    assert done.returncode == 0
    assert done.stderr.strip().endswith("; replaced import #1 of no date (5 entities)")
    data = json.loads(intel_cli(db, "status", "--format", "json").stdout)
    [current] = data["imports"]
    assert current["rows"] == 4 and current["replaced"]["import_id"] == 1
    assert current["replaced"]["file"] == str(FCC.resolve())
    assert "#1 of no date" in intel_cli(db, "status").stdout


def test_cli_bad_rows_exit_2_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    bad = tmp_path / "bad.csv"
    bad.write_text("entity,equipment_or_service,date_added,source_url\n"
                   f",Radios,2021-03-12,{FCC_URL}\n", encoding="utf-8")
    done = intel_cli(db, "import", str(bad), "--dataset", "mine")
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {bad} at line 2: row without an entity"
    assert "Traceback" not in done.stderr
    assert json.loads(intel_cli(db, "status", "--format", "json").stdout)["imports"] == []
    assert intel_cli(db, "status", "--format", "csv").returncode == 2


def test_screening_merges_lists_imported_into_the_store(tmp_path: Path) -> None:
    """`screen` adds what `intel import` loaded to the registry's own listings."""
    import json as _json

    from conftest import run_cli

    db = tmp_path / "db.duckdb"
    csl = Path(__file__).parent / "fixtures" / "intel" / "consolidated_screening_list.csv"
    assert run_cli("intel", "import", str(csl), db=db).returncode == 0
    done = run_cli("screen", "Nuctech", "--format", "json", db=db)
    (result,) = _json.loads(done.stdout)
    imported = [x for x in result["listings"] if x["origin"] == "imported"]
    assert imported and imported[0]["dataset"] == "us_trade_csl"
    assert imported[0]["matched_name"] == "Nuctech Company Limited"


def test_weak_aliases_never_match_alone(tmp_path: Path) -> None:
    """FtM's weakAlias "HIK" must not make "HIK GmbH" a listed company."""
    with Store(tmp_path / "db.duckdb") as store:
        import_file(store, FIXTURES / "us_fcc_covered_list.ftm.json")
        lists = ImportedLists(store)
        assert lists.listings_for(["HIK GmbH"]) == []
        assert lists.listings_for(["HIKVISION"])
