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
