"""Supplier screening: name matching, ownership resolution, policies, verdicts and the
`vendorwatch screen` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from typer.testing import CliRunner

from vendorwatch.cli.screen import register
from vendorwatch.intel import Registry, load_registry
from vendorwatch.intel.policy import Policy, PolicyError, load_policy
from vendorwatch.intel.screening import ScreeningResult, screen

POLICIES = Path(__file__).resolve().parents[1] / "src/vendorwatch/intel/policies"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


@pytest.fixture(scope="module")
def general(reg: Registry) -> Policy:
    return load_policy("general", reg)


@pytest.fixture(scope="module")
def port(reg: Registry) -> Policy:
    return load_policy("port-critical", reg)


def lists(result: ScreeningResult, applies: str | None = None) -> dict[str, dict[str, Any]]:
    return {x["list"]: x for x in result.listings if applies in (None, x["applies"])}


# --- name matching: every path explains itself -----------------------------------------


@pytest.mark.parametrize(
    ("name", "target", "method", "field"),
    [
        ("HIKVISION", "hikvision", "exact", "name"),
        ("Hangzhou Hikvision Digital Technology Co., Ltd.", "hikvision", "exact", "legal_name"),
        ("海康威视", "hikvision", "exact", "chinese_name"),
        ("Hik-Vision", "hikvision", "exact", "name"),  # spaces and hyphens ignored
        ("Hai Kang Wei Shi", "hikvision", "transliterated", "chinese_name"),
        ("Hikvision Europe B.V.", "hikvision", "contains", "distinctive"),
        ("Hikvisoin", "hikvision", "fuzzy", "name"),
        ("EZVIZ", "ezviz", "exact", "name"),
        ("LTS", "LTS", "exact", "brand"),
        ("Siemens Aktiengesellschaft", "siemens", "exact", "name"),  # rigour legal forms
        ("KCI Konecranes", "konecranes", "exact", "former_name"),
        ("上海移远通信技术股份有限公司", "quectel", "exact", "chinese_name"),
    ],
)
def test_names_resolve_with_an_explanation(
    reg: Registry, name: str, target: str, method: str, field: str
) -> None:
    found = reg.resolve_name(name).to_dict()
    assert found["matched"] is True
    assert (found["target"], found["method"], found["field"]) == (target, method, field)
    assert 0 < found["score"] <= 100


def test_fuzzy_scores_below_the_threshold_say_so(reg: Registry) -> None:
    for name in ("Dell", "Acme Port Systems"):
        found = reg.resolve_name(name).to_dict()
        assert found["matched"] is False and found["method"] is None
        assert found["score"] < found["threshold"] == 88


def test_identify_lookups_stay_exact_and_fast(reg: Registry) -> None:
    assert reg.match_organisation("Hikvisoin") is None  # no fuzzy outside screening
    found = reg.explain_organisation("Hai Kang Wei Shi")
    assert found is not None and found.maker.id == "hikvision"
    assert found.method == "transliterated" and found.matched == "海康威视"
    assert reg.match_organisation("Liebherr-International AG") is not None  # contains


# --- ownership resolution -------------------------------------------------------------------


def test_direct_listing_has_no_via_and_no_rule(reg: Registry, general: Policy) -> None:
    fcc = lists(screen("Hikvision", reg, general))["fcc-covered-list"]
    assert (fcc["applies"], fcc["via"], fcc["rule"]) == ("direct", None, None)
    assert fcc["since"] == "2021-03-12" and fcc["verified"] is True
    assert fcc["source_url"] == "https://www.fcc.gov/supplychain/coveredlist"


def test_inherited_listing_names_the_owner_and_the_list_clause(
    reg: Registry, general: Policy
) -> None:
    result = screen("EZVIZ", reg, general)
    inherited = lists(result, "inherited")
    assert {"fcc-covered-list", "ndaa-889"} == set(inherited)  # general: clauses only
    fcc = inherited["fcc-covered-list"]
    assert fcc["via"] == "hikvision" and fcc["rule"] == "list-affiliate-clause"
    assert "subsidiary or affiliate" in fcc["rule_text"]
    assert fcc["path"] == ["ezviz", "hikvision"]


def test_policy_control_rule_passes_further_lists_down(reg: Registry, port: Policy) -> None:
    inherited = lists(screen("EZVIZ", reg, port), "inherited")
    assert inherited["dod-1260h"]["rule"] == "policy-control"
    assert inherited["fcc-covered-list"]["rule"] == "list-affiliate-clause"
    nuctech = lists(screen("Nuctech", reg, port), "inherited")
    assert nuctech["dod-1260h"]["via"] == "cnnc"
    assert nuctech["dod-1260h"]["path"] == ["nuctech", "tsinghua-tongfang", "cnnc"]


def test_state_flag_travels_up_the_chain_to_the_ultimate_owner(
    reg: Registry, general: Policy
) -> None:
    result = screen("EZVIZ", reg, general)
    chain = [(link["owner"], link["depth"], link["state_owned"]) for link in result.ownership]
    assert chain == [("hikvision", 1, None), ("cethik", 2, True), ("cetc", 3, True)]
    assert [u["id"] for u in result.ultimate_owners] == ["cetc"]
    assert result.state_controlled and result.state_linked


def test_ultimate_owner_of_an_independent_maker_is_itself(
    reg: Registry, general: Policy
) -> None:
    assert [u["id"] for u in screen("Teltonika", reg, general).ultimate_owners] == [
        "teltonika"
    ]
    liebherr = screen("Liebherr", reg, general)
    assert [u["id"] for u in liebherr.ultimate_owners] == ["liebherr-family"]
    assert not liebherr.state_controlled


def test_minority_state_shareholder_links_but_does_not_control(
    reg: Registry, general: Policy
) -> None:
    dahua = screen("Dahua", reg, general)
    assert dahua.state_linked and not dahua.state_controlled
    assert [u["id"] for u in dahua.ultimate_owners] == ["dahua-founders"]


def test_ended_and_unverified_links_carry_no_control(reg: Registry) -> None:
    # Dahua until 2023; the Skywatch link is unverified
    assert reg.ownership.ultimate_owners("lorex") == ["lorex"]
    assert reg.ownership.ultimate_owners("zpmc") == ["cccc"]  # CCCG link is unverified
    assert any(link.owner == "cccg" and not link.counted for link in reg.ownership.chain("zpmc"))


# --- verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "general_verdict", "port_verdict"),
    [
        ("Hikvision", "critical", "critical"),
        ("EZVIZ", "high", "critical"),
        ("Nuctech", "high", "critical"),
        ("ZPMC", "high", "high"),
        ("Dahua", "critical", "critical"),
        ("Teltonika", "low", "low"),
        ("Axis Communications", "low", "low"),
        ("Acme Port Systems", "low", "medium"),
    ],
)
def test_verdicts(
    reg: Registry, general: Policy, port: Policy, name: str, general_verdict: str,
    port_verdict: str,
) -> None:
    assert screen(name, reg, general).verdict == general_verdict
    assert screen(name, reg, port).verdict == port_verdict


def test_reasons_cite_the_policy_rules(reg: Registry, port: Policy) -> None:
    zpmc = screen("ZPMC", reg, port)
    rules = [r["rule"] for r in zpmc.reasons]
    assert rules[0] in ("military-company", "state-controlled")
    assert {"military-company", "state-controlled", "cooperation-law-jurisdiction"} <= set(rules)
    assert all(r["source_url"].startswith("https://") for r in zpmc.reasons)
    assert zpmc.company is not None and zpmc.company["country"] == "CN"


def test_a_western_maker_has_owner_no_listing_and_a_sourced_check(
    reg: Registry, general: Policy
) -> None:
    axis = screen("Axis", reg, general)
    assert axis.listings == () and axis.reasons == ()
    assert [link["owner"] for link in axis.ownership] == ["canon"]
    check = axis.checked_lists[0]
    assert check["list"] == "fcc-covered-list" and check["result"] == "not-listed"
    assert check["verified"] is False  # compared with a copy of the list, not fcc.gov


def test_a_relabel_brand_resolves_to_its_maker(reg: Registry, general: Policy) -> None:
    lts = screen("LTS", reg, general)
    assert lts.company is not None and lts.company["id"] == "hikvision"
    assert lts.brand is not None and lts.brand["relation"] == "relabel"
    assert lts.brand["source_url"] == "https://ipvm.com/reports/6438"
    assert "relabelled-product" in [r["rule"] for r in lts.reasons]


def test_ezviz_shows_its_maker_and_owner(reg: Registry, general: Policy) -> None:
    ezviz = screen("EZVIZ", reg, general)
    assert ezviz.company is not None and ezviz.company["id"] == "ezviz"
    relation = next(r for r in ezviz.relations if r["brand"] == "EZVIZ")
    assert (relation["maker"], relation["relation"]) == ("hikvision", "subsidiary")
    assert ezviz.ownership[0]["owner"] == "hikvision"


def test_imported_listings_are_merged(reg: Registry, port: Policy) -> None:
    asked: list[list[str]] = []

    def extra(names: list[str]) -> list[dict[str, Any]]:
        asked.append(names)
        if "Acme Port Systems" in names:
            return [{"list": "us-entity-list", "since": "2024-05-01", "dataset": "us_csl",
                     "source_url": "https://www.trade.gov/consolidated-screening-list",
                     "matched_name": "ACME PORT SYSTEMS LTD"}]
        return []

    acme = screen("Acme Port Systems", reg, port, extra=extra)
    imported = acme.listings[0]
    assert (imported["origin"], imported["dataset"], imported["applies"]) == (
        "imported", "us_csl", "direct")
    assert acme.verdict == "high"
    assert "unknown-supplier" not in [r["rule"] for r in acme.reasons]
    screen("EZVIZ", reg, port, extra=extra)
    assert any("Hikvision" in names for names in asked)  # owners asked too (inherit.imported)


# --- policies ---------------------------------------------------------------------------------


def test_every_packaged_policy_loads(reg: Registry) -> None:
    for name in ("general", "port-critical", "rail"):
        policy = load_policy(name, reg)
        assert policy.name == name and policy.rules


def write_policy(tmp_path: Path, change: dict[str, Any]) -> Path:
    data = yaml.safe_load((POLICIES / "general.yaml").read_text(encoding="utf-8"))
    data.update(change)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _rule(**when: Any) -> dict[str, Any]:
    return {"id": "x", "verdict": "high", "action": "flag", "when": when, "why": "w",
            "source_url": "https://example.org/", "accessed": "2026-11-23"}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rules": [_rule(listed_on=["no-such-list"])]}, "unknown list id 'no-such-list'"),
        ({"rules": [_rule()]}, "needs at least one condition"),
        ({"rules": [{**_rule(country=["CN"]), "verdict": "severe"}]}, "rules.0.verdict"),
        ({"rules": [_rule(country=["CN"]), _rule(country=["RU"])]}, "duplicate rule id 'x'"),
        ({"rules": []}, "at least 1 item"),
        ({"inherit": {"lists": ["nope"]}}, "unknown list id 'nope'"),
        ({"schema_version": 2}, "schema_version"),
    ],
)
def test_policy_validation_failures(
    tmp_path: Path, reg: Registry, change: dict[str, Any], message: str
) -> None:
    path = write_policy(tmp_path, change)
    with pytest.raises(PolicyError) as raised:
        load_policy(path, reg)
    assert message in str(raised.value) and str(raised.value).startswith(str(path))


def test_unknown_policy_names_the_choices(reg: Registry) -> None:
    with pytest.raises(PolicyError, match="general, port-critical, rail"):
        load_policy("harbour", reg)


# --- the command -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.callback()
    def main() -> None:
        """Screen."""

    return app


def run(cli: typer.Typer, *args: str) -> Any:
    return CliRunner().invoke(cli, ["screen", *args])


def test_cli_json_shape(cli: typer.Typer) -> None:
    result = run(cli, "Hik-Vision", "Acme Port Systems", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [row["query"] for row in rows] == ["Hik-Vision", "Acme Port Systems"]
    hik = rows[0]
    assert {"match", "company", "brand", "relations", "ownership", "ultimate_owners",
            "state_controlled", "state_linked", "listings", "checked_lists", "verdict",
            "reasons", "policy"} <= set(hik)
    assert hik["match"]["method"] == "exact" and hik["company"]["id"] == "hikvision"
    assert hik["verdict"] == "critical" and rows[1]["verdict"] == "low"
    assert {"list", "since", "source_url", "applies", "via", "rule", "verified"} <= set(
        hik["listings"][0])


def test_cli_exit_codes(cli: typer.Typer) -> None:
    assert run(cli, "Teltonika", "--fail-on", "medium").exit_code == 0
    assert run(cli, "Teltonika", "ZPMC", "--fail-on", "high").exit_code == 1
    assert run(cli, "ZPMC", "--fail-on", "severe").exit_code == 2
    bad = run(cli, "ZPMC", "--policy", "harbour")
    assert bad.exit_code == 2 and "unknown policy" in bad.output


def test_cli_table_shows_chain_listings_and_reasons(cli: typer.Typer) -> None:
    result = run(cli, "EZVIZ", "--policy", "port-critical")
    assert result.exit_code == 0
    for text in ("EZVIZ", "critical", "CETHIK Group", "list-affiliate-clause",
                 "us-telecom-ban", "policy port-critical"):
        assert text in result.output


def test_a_name_only_contained_is_a_lead_not_a_verdict(reg: Registry, general: Policy) -> None:
    """'Hikvision Dental Supplies' contains a listed maker's name but may be anyone: the
    verdict is capped at medium until a person confirms, and the reason says what it
    would be."""
    result = screen("Hikvision Dental Supplies", reg, general)
    assert result.match["method"] == "contains" and result.verdict == "medium"
    first = result.reasons[0]
    assert first["rule"] == "unconfirmed-match" and "verdict is critical" in first["why"]


def test_two_makers_in_one_name_match_neither(reg: Registry, general: Policy) -> None:
    result = screen("Konecranes Hikvision", reg, general)
    assert result.company is None


def test_unverified_relabel_claims_do_not_raise_the_verdict(reg: Registry,
                                                             general: Policy) -> None:
    result = screen("Honeywell", reg, general)
    assert result.verdict == "low"
    assert all(r["rule"] != "relabelled-product" for r in result.reasons)


def test_a_near_miss_is_shown_beside_a_no_match(reg: Registry, general: Policy) -> None:
    result = screen("Huawai", reg, general)
    assert result.company is None
    assert result.reasons[0]["rule"] == "close-miss" and "Huawei" in result.reasons[0]["why"]
