"""The vendor-intelligence registry: what it knows, how it matches names, and what it
refuses to load."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from vendorwatch.intel import Registry, RegistryError, load_registry
from vendorwatch.intel.registry import main

FCC_URL = "https://www.fcc.gov/supplychain/coveredlist"
PACKAGED = Path(__file__).resolve().parents[1] / "src/vendorwatch/intel/data/vendors.yaml"


@pytest.fixture(scope="module")
def reg() -> Registry:
    return load_registry()


def by_list(listings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["list"]: item for item in listings}


# --- what the registry knows ----------------------------------------------------------


def test_loading_is_cached_and_validated(reg: Registry) -> None:
    assert load_registry() is reg
    assert reg.maker("hikvision") is reg.makers["hikvision"]
    assert reg.maker("no-such-maker") is None


def test_every_maker_named_in_the_vendor_facts_is_present(reg: Registry) -> None:
    expected = {
        "hikvision", "ezviz", "dahua", "imou", "lorex", "uniview", "huawei", "zte", "hytera",
        "nuctech", "zpmc", "quectel", "fibocom", "tiandy", "teltonika", "sierra-wireless",
        "digi", "logink",
    }
    assert expected <= set(reg.makers)
    assert reg.makers["logink"].kind == "platform"
    assert reg.makers["teltonika"].country == "LT"
    assert "cellular-router" in reg.makers["teltonika"].device_classes


def test_hikvision_is_critical_with_dated_official_listings(reg: Registry) -> None:
    level, listings = reg.risk("hikvision")
    assert level == "critical"
    lists = by_list(listings)
    assert lists["fcc-covered-list"]["since"] == "2021-03-12"
    assert lists["fcc-covered-list"]["source_url"] == FCC_URL
    assert "critical-infrastructure surveillance" in lists["fcc-covered-list"]["scope"]
    assert lists["us-entity-list"]["since"] == "2019-10-09"
    assert lists["ndaa-889"]["source_url"] == "https://www.acq.osd.mil/dpap/dars/section889.html"
    assert all(item["via"] is None and item["verified"] for item in listings)


def test_listings_have_the_interface_keys(reg: Registry) -> None:
    _, listings = reg.risk("dahua")
    for item in listings:
        assert set(item) == {"list", "since", "source_url", "scope", "via", "verified"}


def test_ezviz_inherits_hikvision_listings_through_the_affiliate_clause(reg: Registry) -> None:
    level, listings = reg.risk("ezviz")
    inherited = {item["list"]: item for item in listings if item["via"] == "hikvision"}
    assert {"fcc-covered-list", "ndaa-889"} <= set(inherited)
    assert inherited["fcc-covered-list"]["since"] == "2021-03-12"
    # the Entity List names entities; it does not reach subsidiaries here
    assert "us-entity-list" not in inherited
    assert level == "high"  # controlled, via Hikvision, by state-owned CETC


def test_nuctech_owner_chain_reaches_state_owned_cnnc(reg: Registry) -> None:
    chain = reg.owner_chain("nuctech")
    names = [link.owner.name for link in chain]
    assert names[:2] == ["Tsinghua Tongfang", "China National Nuclear Corporation"]
    cnnc = chain[1]
    assert cnnc.owner.state_owned is True and cnnc.owned == "tsinghua-tongfang"
    assert cnnc.depth == 2 and cnnc.controlling
    level, _ = reg.risk("nuctech")
    assert level in ("high", "critical")
    assert reg.assess("nuctech").state_controlled


def test_dahua_ownership_records_state_owned_china_mobile(reg: Registry) -> None:
    chain = reg.owner_chain("dahua")
    china_mobile = next(link for link in chain if link.owner.id == "china-mobile")
    assert china_mobile.share == 10.42 and china_mobile.owner.state_owned is True
    assert reg.risk("dahua")[0] == "critical"


def test_makers_without_listings(reg: Registry) -> None:
    assert reg.risk("teltonika") == ("low", [])
    assert reg.risk("fibocom") == ("medium", [])  # China, no listing found
    assert reg.risk("lorex") == ("low", [])  # Dahua ownership ended


def test_unknown_maker_is_low_without_listings(reg: Registry) -> None:
    assert reg.risk(None) == ("low", [])
    assert reg.risk("acme-cameras") == ("low", [])


def test_unverified_listing_is_shown_but_does_not_raise_risk(reg: Registry) -> None:
    level, listings = reg.risk("tiandy")
    assert by_list(listings)["us-entity-list"]["verified"] is False
    assert level == "medium"


def test_every_fact_has_a_public_source_and_access_date(reg: Registry) -> None:
    facts = list(reg.facts())
    assert len(facts) > 100
    for where, fact in facts:
        assert fact.source_url.startswith("https://"), where
        assert isinstance(fact.accessed, date), where


# --- name matching --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "maker_id"),
    [
        ("Hangzhou Hikvision Digital Technology Co.,Ltd.", "hikvision"),
        ("Zhejiang Dahua Technology Co., Ltd.", "dahua"),
        ("ZHEJIANG DAHUA TECHNOLOGYCO.,LTD", "dahua"),  # IEEE spelling, no space
        ("Nuctech Company Limited", "nuctech"),
        ("HIKVISION", "hikvision"),
        ("Hikvision-DS-2CD2143G0-I", "hikvision"),
        ("hangzhou huacheng network technology co., ltd", "imou"),
        ("UAB Teltonika Telematics", "teltonika"),
        ("zte corporation", "zte"),
        ("杭州海康威视数字技术股份有限公司", "hikvision"),
        ("Dell Inc.", None),
        ("Shanghai Dahua Scale Factory", None),  # contains "Dahua", is someone else
        ("ZTEC Instruments, Inc.", None),  # "ZTE" is too short to look for inside names
        ("", None),
    ],
)
def test_match_organisation(reg: Registry, text: str, maker_id: str | None) -> None:
    maker = reg.match_organisation(text)
    assert (maker.id if maker else None) == maker_id


def test_a_match_says_why(reg: Registry) -> None:
    exact = reg.explain_organisation("Nuctech Company Limited")
    assert exact is not None and exact.method == "exact"
    within = reg.explain_organisation("Hikvision-DS-2CD2143G0-I")
    assert within is not None and (within.method, within.matched) == ("contains", "Hikvision")


def test_brands_resolve_to_their_true_maker(reg: Registry) -> None:
    lts = reg.brand("LTS")
    assert lts is not None and lts.maker_id == "hikvision" and lts.verified
    assert lts.source == "https://ipvm.com/reports/6438"
    swann = reg.brand("swann")
    assert swann is not None and swann.maker is None and not swann.verified
    assert set(swann.candidates) == {"hikvision", "dahua"}
    assert reg.brand("Bosch") is None


# --- endpoints and banners --------------------------------------------------------------


def test_endpoint_for_host(reg: Registry) -> None:
    ezviz = reg.endpoint_for_host("apiieu.ezvizlife.com.")
    assert ezviz is not None and (ezviz.maker_id, ezviz.kind) == ("ezviz", "cloud")
    assert reg.endpoint_for_host("APIIEU.EZVIZLIFE.COM:443") == ezviz
    assert reg.endpoint_for_host("example.com") is None
    assert reg.endpoint_for_host("notezvizlife.com") is None
    p2p = reg.endpoint_for_host("www.easy4ipcloud.com")
    assert p2p is not None and (p2p.maker, p2p.kind) == ("dahua", "p2p")


def test_the_most_specific_domain_wins(reg: Registry) -> None:
    web = reg.endpoint_for_host("www.hik-connect.com")
    api = reg.endpoint_for_host("apiieu.hik-connect.com")
    assert web is not None and web.verified
    assert api is not None and not api.verified  # weak source


def test_endpoints_for_port(reg: Registry) -> None:
    assert [e.id for e in reg.endpoints_for_port("UDP", 8800)] == ["dahua-easy4ip-p2p"]
    assert [e.maker for e in reg.endpoints_for_port("tcp", 37777)] == ["dahua"]
    sdk = reg.endpoints_for_port("tcp", 8000)
    assert [e.maker for e in sdk] == ["hikvision"] and not sdk[0].verified
    assert reg.endpoints_for_port("udp", 37777) == []


def test_banners(reg: Registry) -> None:
    assert [b.maker for b in reg.banners_for("http.server", "App-webs/")] == ["hikvision"]
    assert [b.maker for b in reg.banners_for("http.server", "dnvrs-webs")] == ["hikvision"]
    assert reg.banners_for("http.server", "Apache") == []


# --- what the validator refuses -----------------------------------------------------------


def packaged_data() -> dict[str, Any]:
    return yaml.safe_load(PACKAGED.read_text(encoding="utf-8"))


def item(data: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    return next(x for x in data[section] if x.get("id", x.get("name")) == key)


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "vendors.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _drop_source(d: dict[str, Any]) -> None:
    del item(d, "makers", "hikvision")["listings"][0]["source_url"]


def _http_source(d: dict[str, Any]) -> None:
    item(d, "makers", "dahua")["listings"][0]["source_url"] = "http://example.org/list"


def _unknown_owner(d: dict[str, Any]) -> None:
    item(d, "makers", "nuctech")["ownership"][0]["owner"] = "no-such-owner"


def _unknown_brand_maker(d: dict[str, Any]) -> None:
    item(d, "brands", "LTS")["maker"] = "no-such-maker"


def _month_13(d: dict[str, Any]) -> None:
    item(d, "makers", "hikvision")["listings"][0]["since"] = "2021-13"


def _us_style_date(d: dict[str, Any]) -> None:
    item(d, "makers", "hikvision")["listings"][0]["since"] = "03/12/2021"


def _duplicate_maker(d: dict[str, Any]) -> None:
    d["makers"].append(copy.deepcopy(item(d, "makers", "teltonika")))


def _unknown_list(d: dict[str, Any]) -> None:
    item(d, "makers", "zte")["listings"][0]["list"] = "no-such-list"


def _short_distinctive(d: dict[str, Any]) -> None:
    item(d, "makers", "hikvision")["distinctive"].append("Hik")


def _ownership_loop(d: dict[str, Any]) -> None:
    item(d, "organisations", "cnnc")["ownership"] = [
        {"owner": "nuctech", "source_url": "https://example.org/", "accessed": "2026-08-01"}
    ]


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (_drop_source, "source_url"),
        (_http_source, "https://"),
        (_unknown_owner, "not a known maker or organisation id"),
        (_unknown_brand_maker, "unknown maker 'no-such-maker'"),
        (_month_13, "impossible date '2021-13'"),
        (_us_style_date, "malformed date '03/12/2021'"),
        (_duplicate_maker, "duplicate id 'teltonika'"),
        (_unknown_list, "unknown list id 'no-such-list'"),
        (_short_distinctive, "shorter than 4 characters"),
        (_ownership_loop, "loops back to itself"),
    ],
)
def test_validator_rejects(
    tmp_path: Path, breakage: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = packaged_data()
    breakage(data)
    with pytest.raises(RegistryError) as raised:
        load_registry(path=write(tmp_path, data))
    line = str(raised.value)
    assert message in line
    assert line.startswith(str(tmp_path / "vendors.yaml") + " at line ")
    assert "\n" not in line


def test_impossible_unquoted_yaml_date_is_rejected(tmp_path: Path) -> None:
    text = PACKAGED.read_text(encoding="utf-8").replace("since: 2019-10-09", "since: 2019-02-30", 1)
    path = tmp_path / "vendors.yaml"
    path.write_text(text, encoding="utf-8")
    line = 1 + text[: text.index("since: 2019-02-30")].count("\n")
    with pytest.raises(RegistryError, match=f"at line {line}: .*day is out of range"):
        load_registry(path=path)


def test_the_error_names_the_record(tmp_path: Path) -> None:
    data = packaged_data()
    _unknown_owner(data)
    with pytest.raises(RegistryError, match=r"makers\[\d+:nuctech\]\.ownership\[0\]\.owner"):
        load_registry(path=write(tmp_path, data))


def test_a_valid_copy_loads_from_a_path(tmp_path: Path) -> None:
    reg = load_registry(path=write(tmp_path, packaged_data()))
    assert reg.risk("hikvision")[0] == "critical"


def test_main_validates_and_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "makers" in out and "listings" in out
    assert main([str(tmp_path / "missing.yaml")]) == 2
    assert "cannot read" in capsys.readouterr().err
