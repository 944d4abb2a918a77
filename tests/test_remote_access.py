"""Remote-access detection: real captures (../shared) and captures written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from vendorwatch.demo.packets import US, Capture, Endpoint, TcpConnection, mac
from vendorwatch.demo.terminal import S7_SETUP, s7_connect_confirm, s7_connect_request, s7_pdu
from vendorwatch.detect import detect_context
from vendorwatch.detect.interface import Finding
from vendorwatch.detect.remote_access import RemoteAccess, load_tools
from vendorwatch.errors import InputError
from vendorwatch.identify.assets import identify_assets
from vendorwatch.ingest import ingest_path
from vendorwatch.store import Store


def findings_for(tmp_path: Path, *inputs: Path) -> list[Finding]:
    store = Store(tmp_path / "vw.duckdb")
    for path in inputs:
        result = ingest_path(store, path)
        assert result.status == "ingested", result.error
    identify_assets(store)
    found = list(RemoteAccess().run(detect_context(store)))
    store.close()
    return found


def tools(found: list[Finding]) -> set[str]:
    return {f.details["tool"] for f in found}


@pytest.mark.parametrize(("relative", "tool"), [
    ("ndpi/pcap/anydesk.pcapng", "AnyDesk"),
    ("ndpi/pcap/rdp.pcap", "RDP"),
    ("ndpi/pcap/telnet.pcap", "Telnet"),
    ("ndpi/pcap/openvpn.pcap", "OpenVPN"),
    ("zeek-btest/traces/rdp/rdp-to-ssl.pcap", "RDP"),
    ("zeek-btest/traces/ssh/ssh.pcap", "SSH"),
    ("zeek-btest/traces/socks.pcap", "SOCKS"),
    ("zeek-btest/traces/http/connect-with-header.pcap", "HTTP CONNECT"),
    # Zeek's own logs of the same traces (btest baselines): conn.log services
    ("zeek-btest/baselines/scripts.base.protocols.ssh.basic", "SSH"),
    ("zeek-btest/baselines/scripts.base.protocols.http.http-connect-with-header",
     "HTTP CONNECT"),
])
def test_real_captures_name_the_tool(shared_data: Path, tmp_path: Path, relative: str,
                                     tool: str) -> None:
    path = shared_data / relative
    if not path.exists():
        pytest.skip(f"{path} not present: this copy of ../shared/data lacks the capture")
    found = findings_for(tmp_path, path)
    assert tool in tools(found)
    for finding in found:
        assert finding.kind == "remote-access"
        assert finding.key.startswith(finding.details["tool_id"] + "|")
        assert finding.evidence


def test_real_capture_details(shared_data: Path, tmp_path: Path) -> None:
    found = findings_for(tmp_path, shared_data / "ndpi/pcap/anydesk.pcapng")
    relay = [f for f in found if f.details["direction"] == "outbound"]
    assert relay and all(f.severity == "high" for f in relay)
    assert {f.details["asset_role"] for f in relay} == {"client"}  # the agent phones a relay
    assert all(f.details["peer_country"] for f in relay)
    lookups = [f for f in found if f.details["direction"] == "lookup"]
    assert lookups and any("anydesk.com" in n for f in lookups for n in f.details["names"])

    (tmp_path / "ssh").mkdir()
    ssh = findings_for(tmp_path / "ssh", shared_data / "zeek-btest/traces/ssh/ssh.pcap")
    odd = [f for f in ssh if f.details["peer"] == "128.2.6.88"]
    # outbound SSH on port 41644: a possible reverse tunnel, one step above outbound
    assert odd and odd[0].severity == "critical"
    assert "unusual-port" in odd[0].details["behaviours"]
    inside = [f for f in ssh if f.details["direction"] == "internal"]
    assert inside and all(f.severity == "medium" for f in inside)
    assert all(f.details["asset_role"] == "server" for f in inside)

    (tmp_path / "socks").mkdir()
    socks = findings_for(tmp_path / "socks", shared_data / "zeek-btest/traces/socks.pcap")
    (proxy,) = [f for f in socks if f.details["tool"] == "SOCKS"]
    assert proxy.details["peer_country"] == "CN" and proxy.asset_ip == "10.0.0.55"


def test_zeek_log_directories(shared_data: Path, tmp_path: Path) -> None:
    """Every Zeek log directory whose conn.log names a remote-access service gets it named."""
    wanted = {"rdp": "RDP", "ssh": "SSH", "socks": "SOCKS"}
    for directory in sorted((shared_data / "zeek-logs").iterdir()):
        if not directory.is_dir():
            continue
        store = Store(tmp_path / f"{directory.name}.duckdb")
        ingest_path(store, directory)
        identify_assets(store)
        services = {part for (app,) in store.con.execute(
            "SELECT DISTINCT app FROM flows WHERE app IS NOT NULL").fetchall()
            for part in app.lower().split(",")}
        found = tools(list(RemoteAccess().run(detect_context(store))))
        store.close()
        for service, tool in wanted.items():
            if service in services:
                assert tool in found, directory


# --- captures written here ----------------------------------------------------------------

CISCO = "00:1a:a1:3c:5e:01"  # the site's router (Cisco OUI)
SIEMENS_PLC = "00:1b:1b:6a:11:01"  # Siemens OUI
DELL = "18:66:da:40:50:01"  # Dell OUI
T0 = 1_772_431_200 * US  # 2026-03-02T06:00:00Z


def tpkt(payload: bytes) -> bytes:
    return b"\x03\x00" + (len(payload) + 4).to_bytes(2, "big") + payload


RDP_REQUEST = tpkt(b"\x26\xe0\x00\x00\x00\x00\x00Cookie: mstshash=engineer\r\n"
                   b"\x01\x00\x08\x00\x03\x00\x00\x00")
RDP_CONFIRM = tpkt(b"\x0e\xd0\x00\x00\x12\x34\x00\x02\x00\x08\x00\x02\x00\x00\x00")


def crane_capture(path: Path) -> Path:
    """A crane PLC polled over S7comm by its operator station, reached over RDP from a
    public address, and an internal SSH session between two hosts of the crane LAN."""
    cap = Capture()
    plc = Endpoint("10.40.0.11", mac(SIEMENS_PLC))
    ops = Endpoint("10.40.0.50", mac(DELL), ttl=128)
    poll = TcpConnection(cap, ops.at(50_001), plc.at(102), isn_client=1, isn_server=2)
    t = poll.open(T0)
    t = poll.exchange(t + 100, s7_connect_request(0x0200), s7_connect_confirm(0x0200))
    t = poll.exchange(t + 100, s7_pdu(1, 1, S7_SETUP), s7_pdu(3, 1, S7_SETUP))
    poll.close(t + 100)
    outsider = Endpoint("58.246.10.20", mac(CISCO), ttl=49)  # geoip2fast: CN
    rdp = TcpConnection(cap, outsider.at(51_000), plc.at(3389), isn_client=3, isn_server=4,
                        rtt_us=300_000)
    t = rdp.open(T0 + 60 * US)
    t = rdp.exchange(t + 1_000, RDP_REQUEST, RDP_CONFIRM)
    for i in range(20):
        t = rdp.exchange(t + 2 * US, bytes([0x30 + i % 10]) * 120, b"\x17" * 900)
    rdp.close(t + 1_000)
    server = Endpoint("10.40.0.60", mac("18:66:da:40:60:01"))
    ssh = TcpConnection(cap, ops.at(50_100), server.at(22), isn_client=5, isn_server=6)
    t = ssh.open(T0 + 120 * US)
    t = ssh.exchange(t + 100, b"SSH-2.0-OpenSSH_9.6\r\n", b"SSH-2.0-OpenSSH_8.9p1 Ubuntu\r\n")
    for _ in range(5):
        t = ssh.exchange(t + 500_000, b"\x00\x00\x00\x2c\x06\x14" + b"\x11" * 42,
                         b"\x00\x00\x01\x0c\x0a\x14" + b"\x22" * 266)
    ssh.close(t + 100)
    cap.write(path)
    return path


def test_inbound_rdp_to_crane_controller_is_critical(tmp_path: Path) -> None:
    path = crane_capture(tmp_path / "crane.pcap")
    store = Store(tmp_path / "vw.duckdb")
    ingest_path(store, path)
    identify_assets(store)
    detector = RemoteAccess()
    found = [f for f in detector.run(detect_context(store)) if f.details["tool"] == "RDP"]
    (rdp,) = found
    assert rdp.asset_ip == "10.40.0.11" and rdp.details["peer"] == "58.246.10.20"
    assert rdp.details["direction"] == "inbound" and rdp.details["asset_role"] == "server"
    assert rdp.details["peer_country"] == "CN"
    assert rdp.details["bytes_out"] > rdp.details["bytes_in"] > 0
    assert rdp.details["connections"] == 1 and rdp.details["longest_s"] > 30
    assert rdp.severity == "critical"  # inbound, interactive, and a PLC
    assert rdp.first_seen is not None and rdp.last_seen is not None
    # The operator's register says it is a ZPMC crane controller: still critical, and the
    # id does not change (kind, site, asset, tool + peer).
    store.con.execute("UPDATE assets SET device_class = 'crane-controller', "
                      "manufacturer = 'ZPMC', risk = 'high' WHERE ip = '10.40.0.11'")
    (again,) = [f for f in detector.run(detect_context(store)) if f.details["tool"] == "RDP"]
    assert again.severity == "critical" and again.id == rdp.id
    assert "ZPMC crane-controller" in again.summary
    store.close()


def test_internal_ssh_is_medium(tmp_path: Path) -> None:
    found = findings_for(tmp_path, crane_capture(tmp_path / "crane.pcap"))
    (ssh,) = [f for f in found if f.details["tool"] == "SSH"]
    assert ssh.severity == "medium"
    assert ssh.asset_ip == "10.40.0.60" and ssh.details["peer"] == "10.40.0.50"
    assert ssh.details["direction"] == "internal" and ssh.details["asset_role"] == "server"
    assert ssh.key == "ssh|10.40.0.50"


def test_empty_store_and_null_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "vw.duckdb")
    assert list(RemoteAccess().run(detect_context(store))) == []
    with store.ingesting("/nowhere", "0" * 64, "zeek", "") as batch:
        from vendorwatch.store.batch import FlowRecord

        for app, dport in (("SSH", None), (None, None), (None, 3389), ("ssl,http", 8080)):
            batch.flow(FlowRecord(
                ts_first=None, ts_last=None, src_ip="10.0.0.5", src_port=None,
                dst_ip="58.246.10.20", dst_port=dport, proto=6 if dport else None, vlan=None,
                src_mac=None, dst_mac=None, src_packets=None, dst_packets=1 if dport else None,
                src_bytes=None, dst_bytes=None, app=app, server_name=None, user_agent=None,
                ja4=None))
    identify_assets(store)
    found = list(RemoteAccess().run(detect_context(store)))
    assert tools(found) == {"SSH", "RDP", "HTTP CONNECT"}
    rdp = next(f for f in found if f.details["tool"] == "RDP")
    assert rdp.details["matched_by"] == ["port"]
    assert rdp.severity == "medium"  # outbound high, one step lower by port only
    store.close()


def test_catalogue_is_validated(tmp_path: Path) -> None:
    matcher = load_tools()
    assert {"anydesk", "teamviewer", "rdp", "vnc", "ssh", "telnet", "openvpn", "wireguard",
            "tailscale", "ipsec", "socks", "http-connect", "radmin", "nomachine"} \
        <= set(matcher.tools)
    assert all(t.reason for t in matcher.tools.values())
    bad = tmp_path / "tools.yaml"
    bad.write_text("version: 1\ntools:\n  - {id: x, name: X, kind: interactive, "
                   "controlled: server, ports: [tcp/99999], port_alone: true, reason: r}\n")
    with pytest.raises(InputError):
        load_tools(bad)
    bad.write_text("version: 1\ntools:\n"
                   "  - {id: a, name: A, kind: tunnel, controlled: client, ndpi: [X], reason: r}\n"
                   "  - {id: b, name: B, kind: tunnel, controlled: client, ndpi: [x], reason: r}\n")
    with pytest.raises(InputError, match="named by both"):
        load_tools(bad)
