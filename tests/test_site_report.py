"""The report for one site with its registers: the MPs' questions answered with numbers,
the register against the evidence, the access register with each person's problems, and
hostile register cells shown as text."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

EXAMPLES = ROOT / "examples" / "terminal-west"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> str:
    directory = tmp_path_factory.mktemp("site")
    access = directory / "access.csv"
    shutil.copy(EXAMPLES / "access.csv", access)
    with access.open("a", encoding="utf-8") as fh:
        fh.write('"<script>alert(1)</script>",Evil B.V.,tech,VOG,,physical,cctv,,no,\n')
    done = run_cli("demo", "--dir", str(directory), "--with", str(EXAMPLES / "assets.csv"),
                   "--with", str(access), "--with", str(EXAMPLES / "inspections.csv"),
                   db=directory / "unused.duckdb")
    assert done.returncode == 0, done.stderr
    return (directory / "report.html").read_text(encoding="utf-8")


def test_the_questions_are_answered_with_numbers(report: str) -> None:
    assert "Is it true that half of the large scanners were supplied by Nuctech?" in report
    assert "Nuctech 3 of 5 (60%, 83% of declared capacity)" in report
    assert "inspections found modems in TW-STS-001" in report
    assert "room Mobile (yard): Nuctech, Smiths Detection" in report
    assert "people in the access register" in report


def test_register_and_access_sections(report: str) -> None:
    assert "The asset register against what was seen" in report
    assert "register says manufacturer Bosch" in report
    assert "Who has access, with which screening" in report
    assert "maker-permanent-remote-access" in report
    assert "Firmware: tested and approved?" in report
    assert "unapproved-firmware" in report


def test_a_hostile_register_cell_is_text(report: str) -> None:
    assert "<script>alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_ingest_with_the_operators_own_headers(tmp_path: Path) -> None:
    db = tmp_path / "own.duckdb"
    without = run_cli("ingest", str(EXAMPLES / "assets-own-headers.csv"), db=db)
    assert without.returncode == 2 and "not a known kind of input" in without.stderr
    done = run_cli("ingest", str(EXAMPLES / "assets-own-headers.csv"), "--columns",
                   str(EXAMPLES / "columns.yaml"), "--site", "Terminal West", db=db)
    assert done.returncode == 0, done.stderr
    assert "(asset-register): 27 records" in done.stderr
    bad = tmp_path / "columns.yaml"
    bad.write_text("Objectnummer: asset_nummer\n")
    wrong = run_cli("ingest", str(EXAMPLES / "assets.csv"), "--columns", str(bad), db=db)
    assert wrong.returncode == 2
    assert wrong.stderr.count("\n") == 1 and "asset_nummer" in wrong.stderr


def test_an_older_register_given_again_is_in_force_again(tmp_path: Path) -> None:
    from vendorwatch.ingest import ingest_path
    from vendorwatch.store import Store

    first, second = tmp_path / "v1.csv", tmp_path / "v2.csv"
    first.write_text("asset_id,ip,manufacturer\nA-1,10.0.0.1,Nuctech\nA-2,10.0.0.2,Nuctech\n")
    second.write_text("asset_id,ip,manufacturer\nA-1,10.0.0.1,Rapiscan\n")
    with Store(tmp_path / "r.duckdb") as store:
        for path, status in ((first, "ingested"), (second, "ingested"), (first, "ingested"),
                             (first, "unchanged")):
            assert ingest_path(store, path, site="T").status == status
        rows = store.query("SELECT asset_id, manufacturer FROM current_register_assets "
                           "ORDER BY asset_id")
        assert rows == [{"asset_id": "A-1", "manufacturer": "Nuctech"},
                        {"asset_id": "A-2", "manufacturer": "Nuctech"}]
        assert store.query("SELECT count(*) AS n FROM register_assets")[0]["n"] == 3


def test_a_register_without_a_site_warns(tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    assert run_cli("ingest", str(EXAMPLES / "assets.csv"), "--site", "Terminal West",
                   db=db).returncode == 0
    done = run_cli("ingest", str(EXAMPLES / "access.csv"), db=db)
    assert done.returncode == 0
    assert "name no site and no --site was given" in done.stderr
    assert "Terminal West" in done.stderr


def test_impact_of_an_unknown_name_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "i.duckdb"
    assert run_cli("ingest", str(EXAMPLES / "assets.csv"), "--site", "Terminal West",
                   db=db).returncode == 0
    typo = run_cli("impact", "--maker", "Nuctec", db=db)
    assert typo.returncode == 2 and "Nuctec: no maker, brand or owner" in typo.stderr
    nobody = run_cli("impact", "--owner", "Nobody Holdings", db=db)
    assert nobody.returncode == 2
    known = run_cli("impact", "--maker", "Dahua", db=db)   # known maker, none registered here
    assert known.returncode == 0
