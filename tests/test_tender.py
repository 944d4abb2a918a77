"""Procurement: the tender file, the FSR test, abnormally low prices, the checklist, the
evaluation of the example's bidders, the memo and `vendorwatch tender evaluate`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from vendorwatch.cli.tender import register
from vendorwatch.errors import InputError
from vendorwatch.intel import Registry, load_registry
from vendorwatch.intel.policy import Policy, load_policy
from vendorwatch.procurement.abnormally_low import assess_price
from vendorwatch.procurement.checklist import assess_checklist
from vendorwatch.procurement.evaluation import TenderEvaluation, evaluate
from vendorwatch.procurement.fsr import fsr_test
from vendorwatch.procurement.memo import render_html, render_markdown
from vendorwatch.procurement.tender import Tender, load_tender, parse_tender

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tender.yaml"
CLEAN = {name: "yes" for name in (
    "remote_access_off_by_default", "no_undocumented_comms_modules", "signed_firmware",
    "update_validation_process", "sbom_supplied", "data_stays_in_eu", "source_code_escrow")}


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def port(reg: Registry) -> Policy:
    return load_policy("port-critical", reg)


@pytest.fixture(scope="module")
def example(reg: Registry, port: Policy) -> TenderEvaluation:
    return evaluate(load_tender(EXAMPLE), reg, port)


def tender(value: float = 300e6, lots: list[dict[str, Any]] | None = None,
           bidders: list[dict[str, Any]] | None = None, **extra: Any) -> Tender:
    raw: dict[str, Any] = {
        "title": "Test tender", "contracting_authority": "Authority", "sector": "port-critical",
        "estimated_value_eur": value, "lots": lots or [],
        "bidders": bidders or [{"name": "Bidder A", "total_price_eur": 100.0}], **extra,
    }
    return Tender.model_validate(raw)


def bid(name: str = "Bidder A", **fields: Any) -> dict[str, Any]:
    return {"name": name, "total_price_eur": 100.0, **fields}


# --- FSR thresholds ----------------------------------------------------------------------


# Below the value thresholds neither a notification nor a declaration is due (Art. 28-29).
@pytest.mark.parametrize(("value", "outcome"), [(249_990_000, "not required"),
                                                (250_000_000, "notification")])
def test_fsr_contract_value_edge(value: float, outcome: str) -> None:
    t = tender(value, bidders=[bid(foreign_financial_contributions_eur={"CN": 5e6})])
    assert fsr_test(t, t.bidders[0]).outcome == outcome


@pytest.mark.parametrize(("amount", "outcome"), [(3_990_000, "declaration"),
                                                 (4_000_000, "notification")])
def test_fsr_contributions_per_third_country_edge(amount: float, outcome: str) -> None:
    t = tender(bidders=[bid(foreign_financial_contributions_eur={"CN": amount, "US": 3e6})])
    result = fsr_test(t, t.bidders[0])
    assert result.outcome == outcome
    assert result.contributions_test is (outcome == "notification")


def test_fsr_contributions_are_per_country_not_summed_across_countries() -> None:
    t = tender(bidders=[bid(foreign_financial_contributions_eur={"CN": 3e6, "US": 3e6})])
    assert fsr_test(t, t.bidders[0]).outcome == "declaration"


def test_fsr_counts_main_subcontractors_per_country_and_ignores_eu_states() -> None:
    subs = [{"name": "Main Sub", "main": True, "foreign_financial_contributions_eur": {"CN": 2e6}},
            {"name": "Big Share", "share_of_tender_pct": 25,
             "foreign_financial_contributions_eur": {"CN": 1e6}},
            {"name": "Small Sub", "foreign_financial_contributions_eur": {"CN": 50e6}}]
    t = tender(bidders=[bid(foreign_financial_contributions_eur={"CN": 1e6, "DE": 90e6},
                            subcontractors=subs)])
    result = fsr_test(t, t.bidders[0])
    assert result.contributions_by_country == {"CN": 4e6}  # 1 + 2 + 1; not the small sub
    assert result.outcome == "notification"
    assert result.eu_entries_ignored[0]["country"] == "DE"
    assert "2022/2560" in result.citation["title"]
    assert result.citation["url"].startswith("https://eur-lex.europa.eu/")


@pytest.mark.parametrize(("lot_value", "outcome"), [(124_990_000, "not required"),
                                                    (125_000_000, "notification")])
def test_fsr_lot_threshold(lot_value: float, outcome: str) -> None:
    lots = [{"id": 1, "title": "A", "estimated_value_eur": lot_value},
            {"id": 2, "title": "B", "estimated_value_eur": 300e6 - lot_value}]
    t = tender(300e6, lots=lots, bidders=[
        {"name": "Lot one only", "lot_prices_eur": {1: 100.0},
         "foreign_financial_contributions_eur": {"CN": 10e6}}])
    result = fsr_test(t, t.bidders[0])
    assert result.lots_bid == ("1",)
    assert result.outcome == outcome


def test_fsr_lots_need_the_contract_threshold_too() -> None:
    lots = [{"id": "1", "title": "A", "estimated_value_eur": 130e6},
            {"id": "2", "title": "B", "estimated_value_eur": 110e6}]
    t = tender(240e6, lots=lots, bidders=[
        bid(lot_prices_eur={"1": 1.0}, foreign_financial_contributions_eur={"CN": 10e6})])
    assert fsr_test(t, t.bidders[0]).outcome == "not required"


def test_fsr_undeclared_contributions_ask_and_old_procedures_not_applicable() -> None:
    t = tender(bidders=[bid()])
    assert fsr_test(t, t.bidders[0]).undeclared == ("Bidder A",)
    old = tender(procedure_launched="2023-10-11",
                 bidders=[bid(foreign_financial_contributions_eur={"CN": 9e6})])
    assert fsr_test(old, old.bidders[0]).outcome == "not applicable"


# --- abnormally low -----------------------------------------------------------------------


def test_abnormally_low_against_estimate_and_other_bids() -> None:
    t = tender(100e6, bidders=[bid("A", total_price_eur=60e6), bid("B", total_price_eur=95e6),
                               bid("C", total_price_eur=100e6), bid("D", total_price_eur=71e6)])
    a, _b, c, d = (assess_price(t, x) for x in t.bidders)
    assert a.flagged and a.checks[0].flags == ("estimate", "other bids")
    assert "Art. 69" in (a.step or "") and "explain" in (a.step or "")
    assert a.citation["url"].endswith("CELEX:32014L0024")
    assert not c.flagged
    # 29% under the estimate (threshold 30%) and 15% under the others' mean (threshold 20%)
    assert not d.flagged and d.checks[0].below_estimate_pct == 29.0


def test_abnormally_low_needs_two_other_bids_to_compare() -> None:
    t = tender(100e6, bidders=[bid("A", total_price_eur=75e6), bid("B", total_price_eur=100e6)])
    check = assess_price(t, t.bidders[0]).checks[0]
    assert check.others_mean_eur is None and not check.flags


def test_abnormally_low_per_lot() -> None:
    lots = [{"id": "1", "title": "A", "estimated_value_eur": 50e6},
            {"id": "2", "title": "B", "estimated_value_eur": 50e6}]
    t = tender(100e6, lots=lots, bidders=[
        {"name": "A", "lot_prices_eur": {"1": 49e6, "2": 20e6}},
        {"name": "B", "lot_prices_eur": {"1": 50e6, "2": 50e6}}])
    result = assess_price(t, t.bidders[0])
    assert [(c.scope, c.flags) for c in result.checks] == [("lot 1", ()),
                                                            ("lot 2", ("estimate",))]


# --- checklist ------------------------------------------------------------------------------


def test_checklist_gaps_questions_and_sector_weights(port: Policy, reg: Registry) -> None:
    answers = {**CLEAN, "remote_access_off_by_default": "no",
               "sbom_supplied": {"answer": "unknown", "note": "later"}}
    del answers["source_code_escrow"]
    t = tender(bidders=[bid(checklist=answers)])
    result = assess_checklist(t, t.bidders[0], port)
    assert [i.item for i in result.gaps] == ["remote_access_off_by_default"]
    assert [(i.item, i.answer) for i in result.questions] == [
        ("sbom_supplied", "unknown"), ("source_code_escrow", "not answered")]
    assert [i.item for i in result.mandatory_gaps] == ["remote_access_off_by_default"]
    assert result.gap_score == 3 and result.question_score == 3
    general = assess_checklist(t, t.bidders[0], load_policy("general", reg))
    assert general.weights_from == "equal weights" and general.gap_score == 1
    assert general.mandatory_from == "sector default for port-critical"  # the tender's sector
    named = tender(bidders=[bid(checklist=answers)], mandatory_requirements=["sbom_supplied"])
    assert not assess_checklist(named, named.bidders[0], port).mandatory_gaps


def test_yaml_yes_no_and_norway(tmp_path: Path) -> None:
    text = yaml.safe_dump({"title": "T", "contracting_authority": "A", "sector": "general",
                           "estimated_value_eur": 1}) + (
        "bidders:\n  - name: Nordic\n    country: NO\n    total_price_eur: 1\n"
        "    foreign_financial_contributions_eur: {NO: 5}\n"
        "    checklist: {signed_firmware: yes, sbom_supplied: no, data_stays_in_eu: Unknown}\n")
    t = parse_tender(text)
    b = t.bidders[0]
    assert b.country == "NO" and b.foreign_financial_contributions_eur == {"NO": 5}
    assert [b.checklist.get(i).answer for i in ("signed_firmware", "sbom_supplied",  # type: ignore[union-attr]
                                                "data_stays_in_eu")] == ["yes", "no", "unknown"]


# --- evaluation ----------------------------------------------------------------------------


def test_example_recommendations(example: TenderEvaluation) -> None:
    got = {b.name: b.recommendation for b in example.bidders}
    assert got == {
        "Nuctech Company Limited": "exclude",
        "Smiths Detection": "proceed",
        "Noordkade Security Integration B.V.": "exclude",
        "Harbourline Inspection Systems Ltd.": "clarify",
    }


def test_example_screens_bidder_and_component_makers(example: TenderEvaluation) -> None:
    nuctech, smiths, noordkade, harbourline = example.bidders
    assert nuctech.screening.verdict == "critical"
    assert nuctech.screening.result.company and nuctech.screening.result.company["id"]
    assert smiths.screening.verdict == "low"
    assert {c.name: c.verdict for c in smiths.components} == {
        "Axis Communications": "low", "Siemens": "low"}
    assert noordkade.screening.verdict == "medium"  # unknown company under port-critical
    hik = next(c for c in noordkade.components if c.name == "Hikvision")
    assert hik.verdict == "critical" and hik.action == "exclude"
    assert noordkade.screening_verdict == "critical"
    assert any(r.level == "exclude" and "Hikvision" in r.text for r in noordkade.reasons)
    quectel = harbourline.components[0]
    assert quectel.verdict == "high" and quectel.action == "flag"


def test_example_fsr_price_and_checklist(example: TenderEvaluation) -> None:
    _nuctech, smiths, noordkade, harbourline = example.bidders
    assert [b.fsr.outcome for b in example.bidders] == [
        "notification", "declaration", "declaration", "notification"]
    assert harbourline.fsr.countries_over_threshold == ("CN",)
    assert noordkade.fsr.contributions_by_country == {"US": 800_000}  # the main supplier's
    assert [b.abnormally_low.flagged for b in example.bidders] == [False, False, False, True]
    topics = {r.topic for r in harbourline.reasons if r.level == "clarify"}
    assert topics == {"screening", "fsr", "abnormally low", "checklist"}
    assert any("Art. 69" in r.text for r in harbourline.reasons)
    assert [i.item for i in smiths.checklist.gaps] == ["source_code_escrow"]
    assert not smiths.checklist.questions


def test_mandatory_gap_excludes(reg: Registry, port: Policy) -> None:
    t = tender(bidders=[bid("Smiths Detection", foreign_financial_contributions_eur={},
                            checklist={**CLEAN, "no_undocumented_comms_modules":
                                       {"answer": "no", "note": "LTE modem"}})])
    result = evaluate(t, reg, port).bidders[0]
    assert result.recommendation == "exclude"
    assert any("LTE modem" in r.text and r.level == "exclude" for r in result.reasons)


def test_to_dict_is_json(example: TenderEvaluation) -> None:
    data = json.loads(json.dumps(example.to_dict(), default=str))
    assert data["bidders"][1]["recommendation"] == "proceed"
    assert data["bidders"][0]["screening"]["screening"]["verdict"] == "critical"


# --- memo ----------------------------------------------------------------------------------


def test_memo_markdown_and_html_key_facts(example: TenderEvaluation) -> None:
    text = render_markdown(example)
    for fact in ("Port of Example", "Nuctech Company Limited", "**EXCLUDE**", "**PROCEED**",
                 "CLARIFY before award", "notification", "CELEX:32022R2560",
                 "CELEX:32014L0024", "Art. 69", "€260M", "us-telecom-ban"):
        assert fact in text, fact
    html = render_html(example)
    assert "Content-Security-Policy" in html and "<script" not in html
    for fact in ("Harbourline Inspection Systems Ltd.", "rec-exclude", "Art. 28", "Art. 69"):
        assert fact in html, fact


def test_memo_escapes_hostile_names(reg: Registry, port: Policy) -> None:
    hostile = "<script>alert(1)</script> | *x* [l](https://evil)\x1b[31m"
    t = tender(bidders=[bid(hostile, subcontractors=[{"name": "<img src=x onerror=1>"}],
                            note="</td><script>y</script>")])
    result = evaluate(t, reg, port)
    html = render_html(result)
    assert "<script" not in html and "<img" not in html and "\x1b" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    text = render_markdown(result)
    assert "<script" not in text and "<img" not in text and "\x1b" not in text
    assert "&lt;script&gt;" in text and r"\| \*x\* \[l\]" in text


# --- CLI -------------------------------------------------------------------------------------


def _app(db: Path | None = None) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = {"db": str(db) if db else "missing.duckdb"}

    register(app)
    register(app)  # idempotent
    return app


def _run(*args: str, db: Path | None = None) -> Any:
    return CliRunner().invoke(_app(db), ["tender", "evaluate", *args])


def test_cli_formats_and_fail_on(tmp_path: Path) -> None:
    result = _run(str(EXAMPLE))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Tender evaluation memo")
    result = _run(str(EXAMPLE), "--format", "json", "--fail-on", "critical")
    assert result.exit_code == 1
    assert len(json.loads(result.stdout)["bidders"]) == 4
    out = tmp_path / "memo.html"
    result = _run(str(EXAMPLE), "--format", "html", "--out", str(out), "--fail-on", "high")
    assert result.exit_code == 1 and out.read_text().startswith("<!DOCTYPE html>")


def test_cli_clean_tender_exits_0_with_fail_on(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump({
        "title": "T", "contracting_authority": "A", "sector": "port-critical",
        "estimated_value_eur": 1_000_000,
        "bidders": [bid("Smiths Detection", checklist=CLEAN)]}))
    assert _run(str(path), "--fail-on", "medium").exit_code == 0


def test_cli_uses_existing_store_for_imported_lists(tmp_path: Path) -> None:
    from vendorwatch.store import Store

    db = tmp_path / "v.duckdb"
    Store(db).close()
    result = _run(str(EXAMPLE), "--format", "json", db=db)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["imported_lists"] is True
    assert json.loads(_run(str(EXAMPLE), "--format", "json").stdout)["imported_lists"] is False


BAD = [
    ("estimated_value_eur: 1\n", "missing required field 'title'", "line 1"),
    ("title: T\ncontracting_authority: A\nsector: port-critical\nestimated_value_eur: lots\n"
     "bidders: [{name: X, total_price_eur: 1}]\n", "estimated_value_eur: expected a number",
     "line 4"),
    ("title: T\ncontracting_authority: A\nsector: port-critical\nestimated_value_eur: 1\n"
     "bidders:\n  - name: X\n    total_price_eur: 1\n    checklist:\n"
     "      signed_firmware: maybe\n", "bidders[0].checklist.signed_firmware.answer", "line 9"),
    ("title: T\ncontracting_authority: A\nsector: port-critical\nestimated_value_eur: 1\n"
     "bidders:\n  - name: X\n    country: China\n    total_price_eur: 1\n",
     "two-letter country code", "line 7"),
    ("title: T\ncontracting_authority: A\nsector: port-critical\nestimated_value_eur: 1\n"
     "bidders:\n  - name: X\n    lot_prices_eur: {9: 1}\n", "unknown lot '9'", "line 7"),
    ("title: T\ncontracting_authority: A\nsector: harbour\nestimated_value_eur: 1\n"
     "bidders: [{name: X, total_price_eur: 1}]\n", "sector", "line 3"),
    ("title: T\ncontracting_authority: A\nsector: rail\nestimated_value_eur: 1\n"
     "bidders:\n  - name: X\n    price: 1\n", "bidders[0]: unknown field 'price'", "line 7"),
    ("title: [unclosed\n", "invalid YAML", "line 2"),
    ("- just\n- a list\n", "expected a mapping", None),
]


@pytest.mark.parametrize(("text", "reason", "where"), BAD)
def test_bad_tender_one_line_error(tmp_path: Path, text: str, reason: str,
                                   where: str | None) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as info:
        load_tender(path)
    assert reason in info.value.reason
    assert info.value.where == where
    result = _run(str(path))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {path}")
    assert reason in lines[0]


def test_cli_missing_file_and_bad_fail_on(tmp_path: Path) -> None:
    result = _run(str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "cannot read" in result.stderr
    assert _run(str(EXAMPLE), "--fail-on", "severe").exit_code == 2
