"""The bundled Terminal West capture: deterministic bytes, and every planted identity
signal comes out of ingest as evidence."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import manuf
import pytest

from vendorwatch.demo import DemoTruth, write_terminal_capture
from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store

EXPECTED_OUI_OWNER = {
    "Hikvision": "Hikvision",
    "Dahua": "Dahua",
    "Nuctech": "Nuctech",
    "Siemens": "Siemens",
    "Teltonika": "Teltonika",
    "Dell": "Dell",
    "Cisco": "Cisco",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoTruth, Store]]:
    folder = tmp_path_factory.mktemp("demo")
    capture = folder / "terminal-west.pcap"
    truth = write_terminal_capture(capture)
    store = Store(folder / "db.duckdb")
    result = ingest_path(store, capture)
    assert result.status == "ingested", result.error
    assert result.records == truth.packets
    assert not result.warnings
    yield truth, store
    store.close()


def _values(store: Store, ip: str, signal: str) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT value FROM evidence WHERE ip = ? AND signal = ?", [ip, signal]
    ).fetchall()
    return {row[0] for row in rows}


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    first = write_terminal_capture(tmp_path / "a.pcap")
    second = write_terminal_capture(tmp_path / "b.pcap")
    assert _sha256(tmp_path / "a.pcap") == _sha256(tmp_path / "b.pcap")
    assert first == second
    size = (tmp_path / "a.pcap").stat().st_size
    assert 100_000 < size < 6_000_000


def test_other_seed_other_bytes_same_truth(tmp_path: Path) -> None:
    seven = write_terminal_capture(tmp_path / "a.pcap", seed=7)
    eight = write_terminal_capture(tmp_path / "b.pcap", seed=8)
    assert _sha256(tmp_path / "a.pcap") != _sha256(tmp_path / "b.pcap")
    assert seven.devices == eight.devices


def test_scale_multiplies_volume(tmp_path: Path) -> None:
    one = write_terminal_capture(tmp_path / "a.pcap", scale=1)
    two = write_terminal_capture(tmp_path / "b.pcap", scale=2)
    assert 1.6 * one.packets < two.packets < 2.6 * one.packets


def test_truth_lists_the_planted_devices() -> None:
    from vendorwatch.demo.terminal import DEVICES

    classes = [d.device_class for d in DEVICES]
    assert classes.count("camera") == 11
    assert len([d for d in DEVICES if d.manufacturer == "Hikvision"]) == 7
    assert len([d for d in DEVICES if d.manufacturer == "Dahua"]) == 4
    relabels = [d for d in DEVICES if d.brand != d.manufacturer]
    assert [(d.brand, d.manufacturer, d.hostname) for d in relabels] == [
        ("LTS", "Hikvision", "LTS-CAM-01")
    ]
    assert len({d.ip for d in DEVICES}) == len(DEVICES)
    assert len({d.mac for d in DEVICES}) == len(DEVICES)


def test_planted_macs_belong_to_their_makers() -> None:
    from vendorwatch.demo.terminal import DEVICES

    parser = manuf.MacParser(update=False)
    for dev in DEVICES:
        owner = parser.get_all(dev.mac).manuf_long or ""
        assert EXPECTED_OUI_OWNER[dev.manufacturer] in owner, (dev.name, dev.mac, owner)


def test_onvif_scopes(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    for cam in truth.of_class("camera"):
        scopes = _values(store, cam.ip, "onvif.scope")
        name = {"Hikvision": "HIKVISION"}.get(cam.brand, cam.brand)
        assert f"onvif://www.onvif.org/name/{name}" in scopes, cam
        assert f"onvif://www.onvif.org/hardware/{cam.model}" in scopes, cam
        assert "onvif://www.onvif.org/type/video_encoder" in scopes
    relabel = truth.device("10.20.0.31")
    assert "onvif://www.onvif.org/name/LTS" in _values(store, relabel.ip, "onvif.scope")


def test_hikvision_web_banner(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    for cam in truth.made_by("Hikvision"):
        assert _values(store, cam.ip, "http.server") == {"App-webs/"}, cam
    for cam in truth.made_by("Dahua"):
        assert not _values(store, cam.ip, "http.server")


def test_vendor_cloud_calls(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    callers = [d for d in truth.devices if d.clouds]
    assert sorted(c for d in callers for c in d.clouds) == [
        "apiieu.ezvizlife.com",
        "www.easy4ipcloud.com",
        "www.hik-connect.com",
    ]
    for dev in callers:
        for host in dev.clouds:
            address = truth.cloud_address(host)
            assert host in _values(store, dev.ip, "dns.query")
            assert f"{host}={address}" in _values(store, dev.ip, "dns.answer")
    # nobody else asks for a vendor cloud
    rows = store.con.execute(
        "SELECT DISTINCT ip FROM evidence WHERE signal = 'dns.query' AND value IN "
        "('apiieu.ezvizlife.com', 'www.hik-connect.com', 'www.easy4ipcloud.com')"
    ).fetchall()
    assert {r[0] for r in rows} == {d.ip for d in callers}


def test_tls_sni_and_certificates(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    for host in ("apiieu.ezvizlife.com", "www.hik-connect.com"):
        caller = next(d for d in truth.devices if host in d.clouds)
        assert _values(store, caller.ip, "tls.sni") == {host}
        address = truth.cloud_address(host)
        assert _values(store, address, "tls.cert_subject") == {f"CN={host}"}
        assert "synthetic demo CA" in next(iter(_values(store, address, "tls.cert_issuer")))
    # beacon-like: one TLS flow every five minutes for two hours
    caller = next(d for d in truth.devices if "apiieu.ezvizlife.com" in d.clouds)
    flows = store.con.execute(
        "SELECT count(*) FROM flows WHERE src_ip = ? AND dst_port = 443", [caller.ip]
    ).fetchone()
    assert flows is not None and 20 <= flows[0] <= 26
    # the office's TLS, a certificate spanning several segments included
    assert "www.office.com" in {
        v for ws in truth.of_class("workstation") for v in _values(store, ws.ip, "tls.sni")
    }
    assert _values(store, "13.107.246.60", "tls.cert_subject") == {"CN=www.office.com"}


def test_nuctech_scanner_mac(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    (scanner,) = truth.of_class("x-ray-scanner")
    macs = _values(store, scanner.ip, "mac")
    assert macs == {scanner.mac}
    assert scanner.mac.startswith("c0:9b:f4:b")
    assert _values(store, scanner.ip, "dhcp.hostname") == {"xray-scanner-01"}
    # no internet: every flow of the scanner stays on 10.30.0.0/24
    peers = store.con.execute(
        "SELECT DISTINCT CASE WHEN src_ip = ? THEN dst_ip ELSE src_ip END FROM flows "
        "WHERE (src_ip = ? OR dst_ip = ?) AND proto = 6",
        [scanner.ip, scanner.ip, scanner.ip],
    ).fetchall()
    assert {p[0] for p in peers} == {"10.30.0.50"}


def test_macs_of_planted_devices(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    for dev in truth.devices:
        if dev.device_class == "router":
            continue  # its MAC carries every routed address: rightly not attributed
        assert dev.mac in _values(store, dev.ip, "mac"), dev


def test_dhcp_identity(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    for dev in truth.devices:
        if dev.hostname is not None:
            assert _values(store, dev.ip, "dhcp.hostname") == {dev.hostname}, dev
    for ws in truth.of_class("workstation"):
        assert _values(store, ws.ip, "dhcp.vendor_class") == {"MSFT 5.0"}
    router = truth.of_class("cellular-router")[0]
    assert _values(store, router.ip, "dhcp.hostname") == {"RUT955"}
    assert truth.device("10.20.0.31").hostname == "LTS-CAM-01"


def test_hostile_strings_are_stored_verbatim(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    admin = next(d for d in truth.devices if d.hostname == truth.hostile_hostname)
    assert truth.hostile_user_agent == "<script>alert(1)</script>"
    assert truth.hostile_user_agent in _values(store, admin.ip, "http.user_agent")
    assert _values(store, admin.ip, "dhcp.hostname") == {'TW-ADM-03<b>&"\''}


def test_switch_discovery_protocols(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    (switch,) = truth.of_class("switch")
    assert _values(store, switch.ip, "cdp.device_id") == {"tw-core-sw01.terminal-west.internal"}
    assert _values(store, switch.ip, "cdp.platform") == {f"cisco {switch.model}"}
    assert _values(store, switch.ip, "lldp.system_name") == {"tw-core-sw01"}
    assert any("C2960X" in v for v in _values(store, switch.ip, "lldp.system_description"))
    assert any("C2960X" in v for v in _values(store, switch.ip, "snmp.sysdescr"))
    assert _values(store, switch.ip, "ssh.banner") == {"SSH-2.0-Cisco-1.25"}


def test_recorder_streams_and_dahua_port(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    recorder = truth.device("10.20.0.5")
    assert "Lavf59.27.100" in _values(store, recorder.ip, "http.user_agent")
    rows = store.con.execute(
        "SELECT DISTINCT dst_ip, dst_port FROM flows WHERE src_ip = ? AND dst_port IN (554, 37777)",
        [recorder.ip],
    ).fetchall()
    assert {ip for ip, port in rows if port == 37777} == {d.ip for d in truth.made_by("Dahua")}
    assert {ip for ip, port in rows if port == 554} == {d.ip for d in truth.made_by("Hikvision")}


def test_vlans_ipv6_and_second_gateway_in_flows(ingested: tuple[DemoTruth, Store]) -> None:
    truth, store = ingested
    vlans = {r[0] for r in store.con.execute("SELECT DISTINCT vlan FROM flows").fetchall()}
    assert {20, 30, 40} <= vlans
    assert None in vlans  # the untagged office
    v6 = store.con.execute(
        "SELECT count(*), count(DISTINCT src_ip) FROM flows WHERE src_ip LIKE '%:%'"
    ).fetchone()
    assert v6 is not None and v6[0] > 10 and v6[1] >= 3
    v6_sni = store.con.execute(
        "SELECT DISTINCT value FROM evidence WHERE signal = 'tls.sni' AND ip LIKE '2001:db8:%'"
    ).fetchall()
    assert {r[0] for r in v6_sni} == {"www.microsoft.com"}
    (router,) = truth.of_class("cellular-router")
    out = store.con.execute(
        "SELECT count(*) FROM flows WHERE (src_ip = ? AND dst_ip = ? AND dst_mac = ?) "
        "OR (src_ip = ? AND dst_ip = ? AND src_mac = ?)",
        ["10.40.0.12", truth.remote_peer, router.mac, truth.remote_peer, "10.40.0.12", router.mac],
    ).fetchone()
    assert out is not None and out[0] >= 8
    s7 = store.con.execute(
        "SELECT count(*) FROM flows WHERE dst_port = 102 AND vlan = 40"
    ).fetchone()
    assert s7 is not None and s7[0] >= 3
