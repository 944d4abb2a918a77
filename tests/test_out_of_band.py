"""Out-of-band paths: cellular devices, second gateways, intermittent presence."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendorwatch.demo.packets import (
    BROADCAST,
    DHCP_ACK,
    DHCP_DISCOVER,
    DHCP_OFFER,
    DHCP_REQUEST,
    US,
    Capture,
    Endpoint,
    TcpConnection,
    dhcp_message,
    ip_bytes,
    mac,
    udp_frame,
)
from vendorwatch.detect import detect_context
from vendorwatch.detect.interface import Finding
from vendorwatch.detect.out_of_band import OutOfBand, load_cellular, normal_mac, subnet_of
from vendorwatch.errors import InputError
from vendorwatch.identify.assets import identify_assets
from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store

CISCO = "00:1a:a1:3c:5e:01"  # Cisco OUI: the site's router
TELTONIKA = "00:1e:42:2b:fe:01"  # Teltonika OUI (as in the demo capture)
DELL = "18:66:da:40:50:01"  # Dell OUI
T0 = 1_772_431_200 * US  # 2026-03-02T06:00:00Z


def run(tmp_path: Path, *captures: Path) -> list[Finding]:
    store = Store(tmp_path / "vw.duckdb")
    for path in captures:
        assert ingest_path(store, path).status == "ingested"
    identify_assets(store)
    found = list(OutOfBand().run(detect_context(store)))
    store.close()
    return found


def written(cap: Capture, path: Path) -> Path:
    cap.write(path)
    return path


def of_kind(found: list[Finding], kind: str) -> list[Finding]:
    return [f for f in found if f.kind == kind]


def dhcp_lease(cap: Capture, ts: int, hw: bytes, ip: str, hostname: bytes,
               vlan: int | None = None) -> None:
    client = Endpoint("0.0.0.0", hw, 68)
    bcast = Endpoint("255.255.255.255", BROADCAST, 67)
    server = Endpoint("10.60.0.1", mac(CISCO), 67, 255)
    to_client = Endpoint(ip, hw, 68)
    subnet = [(1, ip_bytes("255.255.255.0")), (3, ip_bytes("10.60.0.1")),
              (54, ip_bytes("10.60.0.1"))]
    options = [(12, hostname)]
    cap.add(ts, udp_frame(client, bcast, dhcp_message(1, DHCP_DISCOVER, 7, hw, options), vlan))
    cap.add(ts + 1_000, udp_frame(server, to_client, dhcp_message(
        2, DHCP_OFFER, 7, hw, subnet, yiaddr=ip, siaddr="10.60.0.1"), vlan))
    cap.add(ts + 2_000, udp_frame(client, bcast, dhcp_message(
        1, DHCP_REQUEST, 7, hw, [(50, ip_bytes(ip)), *options]), vlan))
    cap.add(ts + 3_000, udp_frame(server, to_client, dhcp_message(
        2, DHCP_ACK, 7, hw, subnet, yiaddr=ip, siaddr="10.60.0.1"), vlan))


def session(cap: Capture, ts: int, client: Endpoint, server: Endpoint, isn: int,
            vlan: int | None = None) -> int:
    conn = TcpConnection(cap, client, server, isn_client=isn, isn_server=isn + 1, vlan=vlan)
    t = conn.open(ts)
    t = conn.exchange(t + 100, b"\x16\x03\x01\x00\x05hello", b"\x16\x03\x03\x00\x05world")
    return conn.close(t + 100)


def test_teltonika_dhcp_name_is_a_cellular_device(tmp_path: Path) -> None:
    cap = Capture()
    # a locally administered MAC: the IEEE registry says nothing, the host name does
    dhcp_lease(cap, T0, mac("02:11:22:33:44:55"), "10.60.0.254", b"RUT955")
    session(cap, T0 + US, Endpoint("10.60.0.254", mac("02:11:22:33:44:55")).at(40_000),
            Endpoint("10.60.0.10", mac(DELL)).at(443), 10)
    found = run(tmp_path, written(cap, tmp_path / "c.pcap"))
    (cell,) = of_kind(found, "cellular-device")
    assert cell.asset_ip == "10.60.0.254"
    assert cell.severity == "high"
    assert cell.details["entries"] == ["teltonika"]
    assert any("RUT955" in r for r in cell.details["reasons"])
    assert any(e["signal"] == "dhcp.hostname" and e["value"] == "RUT955" for e in cell.evidence)


def gateway_capture(path: Path, second: str) -> Path:
    """VLAN 50: two hosts reach the internet through the router, a third through `second`."""
    cap = Capture()
    public = ("58.246.10.20", "13.107.4.52", "20.190.159.2")
    hosts = (("10.50.0.21", "18:66:da:50:21:01", CISCO), ("10.50.0.22", "18:66:da:50:22:02",
             CISCO), ("10.50.0.23", "00:1b:1b:50:23:03", second))
    for i, (ip, hw, gw) in enumerate(hosts):
        session(cap, T0 + i * US, Endpoint(ip, mac(hw)).at(40_000 + i),
                Endpoint(public[i], mac(gw), ttl=50).at(443), 100 * i, vlan=50)
    cap.write(path)
    return path


def test_two_gateways_one_cellular_is_high(tmp_path: Path) -> None:
    found = run(tmp_path, gateway_capture(tmp_path / "g.pcap", TELTONIKA))
    (gw,) = of_kind(found, "second-gateway")
    assert gw.severity == "high"
    assert gw.key == "50|10.50.0.0/24" and gw.details["vlan"] == 50
    by_mac = {g["mac"]: g for g in gw.details["gateways"]}
    assert set(by_mac) == {CISCO, TELTONIKA}
    assert by_mac[TELTONIKA]["cellular"] and by_mac[TELTONIKA]["internet_hosts"] == ["10.50.0.23"]
    assert "Teltonika" in (by_mac[TELTONIKA]["oui_organisation"] or "")
    assert by_mac[CISCO]["primary"]
    assert by_mac[CISCO]["internet_hosts"] == ["10.50.0.21", "10.50.0.22"]
    assert gw.details["cellular_gateways"] == [TELTONIKA]
    assert gw.evidence


def test_two_ordinary_gateways_are_medium(tmp_path: Path) -> None:
    found = run(tmp_path, gateway_capture(tmp_path / "g.pcap", DELL))
    (gw,) = of_kind(found, "second-gateway")
    assert gw.severity == "medium"
    assert not of_kind(found, "cellular-device")


def test_demo_terminal(tmp_path: Path) -> None:
    """The demo's crane PLC pushes to a public address through the Teltonika router while the
    rest of the site leaves through the Cisco router."""
    from vendorwatch.demo.terminal import CELL_ROUTER, PLC_2, write_terminal_capture

    path = tmp_path / "terminal.pcap"
    write_terminal_capture(path)
    found = run(tmp_path, path)
    (cell,) = of_kind(found, "cellular-device")
    assert cell.asset_ip == CELL_ROUTER.ip and cell.severity == "critical"
    assert cell.details["operational_users"] == [PLC_2.ip]
    (gw,) = of_kind(found, "second-gateway")
    assert gw.severity == "high" and gw.details["subnet"] == "10.40.0.0/24"
    assert gw.details["cellular_gateways"] == [CELL_ROUTER.mac]
    assert not of_kind(found, "intermittent-presence")  # workstations are bursty, not absent


def test_intermittent_presence(tmp_path: Path) -> None:
    """A sensor reporting every 10 s falls silent three times for ten minutes while its
    neighbour keeps reporting."""
    cap = Capture()
    collector = Endpoint("10.70.0.5", mac(DELL), 5000)
    steady = Endpoint("10.70.0.20", mac("00:1b:1b:70:20:01"))
    quiet = Endpoint("10.70.0.21", mac("00:1b:1b:70:21:01"))
    silent = [(600 + k * 1200, 1200 + k * 1200) for k in range(3)]  # 10 min every 20 min
    for i, second in enumerate(range(0, 4200, 10)):
        ts = T0 + second * US
        cap.add(ts, udp_frame(steady.at(20_000 + i), collector, b"report"))
        cap.add(ts + 500, udp_frame(collector, steady.at(20_000 + i), b"ok"))
        if not any(a <= second < b for a, b in silent):
            cap.add(ts + 2_000, udp_frame(quiet.at(30_000 + i), collector, b"report"))
            cap.add(ts + 2_500, udp_frame(collector, quiet.at(30_000 + i), b"ok"))
    found = run(tmp_path, written(cap, tmp_path / "p.pcap"))
    presence = of_kind(found, "intermittent-presence")
    assert [f.asset_ip for f in presence] == ["10.70.0.21"]
    (finding,) = presence
    assert finding.severity == "low" and finding.details["regular"]
    assert len(finding.details["gaps"]) == 3
    assert all(550 <= g["seconds"] <= 620 for g in finding.details["gaps"])


def test_empty_store_and_missing_macs(tmp_path: Path) -> None:
    store = Store(tmp_path / "vw.duckdb")
    assert list(OutOfBand().run(detect_context(store))) == []
    from vendorwatch.store.batch import FlowRecord

    with store.ingesting("/nowhere", "0" * 64, "zeek", "") as batch:
        for src_mac, dst_mac in ((None, None), ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff"),
                                 (None, "not-a-mac")):
            batch.flow(FlowRecord(
                ts_first=None, ts_last=None, src_ip="10.0.0.5", src_port=None,
                dst_ip="58.246.10.20", dst_port=None, proto=None, vlan=None,
                src_mac=src_mac, dst_mac=dst_mac, src_packets=None, dst_packets=None,
                src_bytes=None, dst_bytes=None, app=None, server_name=None, user_agent=None,
                ja4=None))
    identify_assets(store)
    assert list(OutOfBand().run(detect_context(store))) == []
    store.close()


def test_helpers_and_catalogue(tmp_path: Path) -> None:
    assert normal_mac("00-1E-42-2B-FE-01") == TELTONIKA
    assert normal_mac("00:00:00:00:00:00") is None and normal_mac("01:00:5e:00:00:01") is None
    assert subnet_of("10.1.2.3") == "10.1.2.0/24"
    assert subnet_of("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert subnet_of("fe80::1") is None and subnet_of("nope") is None
    catalogue = load_cellular()
    assert all(e.reason for e in catalogue.entries)
    assert catalogue.name_entry("RUT955") is not None
    assert catalogue.maker_entry("Huawei Technologies", alone=True) is None  # not alone
    assert catalogue.name_entry("HUAWEI-B535-1234") is not None
    bad = tmp_path / "cellular.yaml"
    bad.write_text("version: 1\nentries:\n  - {id: x, maker: X, reason: r, makers: ['(']"
                   ", maker_suffices: true}\n")
    with pytest.raises(InputError):
        load_cellular(bad)


@pytest.mark.parametrize(("records", "severity", "note"), [
    ([("2026-03-05", "cellular modem found in cabinet, SIM inserted", "001245001234566")],
     "critical", "confirmed by inspection on 2026-03-05 (IMEI 001245001234566)"),
    ([("2026-03-05", "cellular modem found", None), ("2026-04-01", "modem removed", None)],
     "info", "closed by inspection on 2026-04-01 (modem removed)"),
])
def test_inspections_confirm_or_close_a_cellular_device(
    tmp_path: Path, records: list[tuple[str, str, str | None]], severity: str, note: str,
) -> None:
    """The demo's Teltonika router, registered as TW-STS-020 and inspected on site."""
    from datetime import date

    from vendorwatch.demo.terminal import CELL_ROUTER, write_terminal_capture

    path = tmp_path / "terminal.pcap"
    write_terminal_capture(path)
    store = Store(tmp_path / "vw.duckdb")
    assert ingest_path(store, path).status == "ingested"
    with store.ingesting("assets.csv", "sha-a", "asset-register", "") as batch:
        batch.table_rows("register_assets", [{"line": 2, "asset_id": "TW-STS-020",
                                              "ip": CELL_ROUTER.ip, "site": ""}])
    with store.ingesting("inspections.csv", "sha-i", "inspections", "") as batch:
        batch.table_rows("inspections", [
            {"line": n, "asset_id": "TW-STS-020", "date": date.fromisoformat(day),
             "inspector": "H. Mulder", "finding": text, "imei": imei, "site": ""}
            for n, (day, text, imei) in enumerate(records, start=2)])
    identify_assets(store)
    (cell,) = of_kind(list(OutOfBand().run(detect_context(store))), "cellular-device")
    store.close()
    assert cell.severity == severity
    assert note in cell.summary
    assert [e["signal"] for e in cell.evidence].count("inspection") == len(records)


def test_two_gateways_years_apart_are_a_change_not_a_second_path(tmp_path: Path) -> None:
    """Captures from different years under one site: the old and the new router."""
    cap = Capture()
    year = 365 * 86_400 * US
    for i, (ip, hw, gw, when) in enumerate((
            ("10.50.0.21", "18:66:da:50:21:01", CISCO, T0),
            ("10.50.0.22", "18:66:da:50:22:02", DELL, T0 + 2 * year))):
        session(cap, when, Endpoint(ip, mac(hw)).at(40_000 + i),
                Endpoint(("58.246.10.20", "13.107.4.52")[i], mac(gw), ttl=50).at(443),
                100 * i, vlan=50)
    (gw,) = of_kind(run(tmp_path, written(cap, tmp_path / "years.pcap")), "second-gateway")
    assert gw.severity == "low" and gw.details["used_together"] is False
    assert "never at the same time" in gw.summary
