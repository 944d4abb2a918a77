"""The flow-export readers: nfdump CSV, Suricata EVE, Cisco Joy and IPFIX / NetFlow v9,
each on fixtures written here (so a fresh clone exercises them), their bad input (a
warning naming the place, or one line and the store unchanged), content sniffing beside
the capture and Zeek readers, and the NEMEA-SIoT Edimax camera flows from ../shared/data
through identification and detection."""

from __future__ import annotations

import gzip
import json
import socket
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dpkt
import pytest

from conftest import run_cli
from vendorwatch import signals
from vendorwatch.detect import run_detectors
from vendorwatch.identify.assets import identify_assets
from vendorwatch.ingest import detect_reader, ingest_path
from vendorwatch.store import Store

T0 = 1_700_000_000.5  # 2023-11-14T22:13:20.5Z
CAM, CAM_MAC = "192.168.10.20", "00:40:8c:aa:bb:01"
GATEWAY, CLOUD, CLIENT = "192.168.10.1", "93.184.216.34", "192.168.10.5"

FLOW_COLUMNS = ("ts_first, ts_last, src_ip, src_port, dst_ip, dst_port, proto, vlan, src_mac, "
                "dst_mac, src_packets, dst_packets, src_bytes, dst_bytes, app, server_name, ja4")


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


def when(ts: float) -> datetime:
    """How the store gives back an epoch time (naive UTC)."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None)


def evidence(store: Store) -> set[tuple[str, str | None, str, str]]:
    rows = store.con.execute("SELECT ip, peer_ip, signal, value FROM evidence").fetchall()
    return {tuple(row) for row in rows}


def flows(store: Store) -> list[tuple[Any, ...]]:
    return store.con.execute(
        f"SELECT {FLOW_COLUMNS} FROM flows ORDER BY ts_first, src_ip, src_port").fetchall()


def counts(store: Store) -> tuple[int, int, int]:
    return tuple(
        store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("sources", "evidence", "flows")
    )


def ingested(store: Store, path: Path, kind: str) -> Any:
    result = ingest_path(store, path)
    assert result.status == "ingested", result.error and result.error.line()
    assert result.kind == kind
    return result


# ---------------------------------------------------------------------------------------
# nfdump CSV

NFDUMP_16_HEADER = (
    "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,"
    "dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,"
    "mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
)
ZERO_MAC = "00:00:00:00:00:00"


def nfdump16_row(ts: str, te: str, td: str, sa: str, da: str, sp: str, dp: str, pr: str,
                 ipkt: int, ibyt: int, svln: int = 0, ismc: str = ZERO_MAC,
                 idmc: str = ZERO_MAC) -> str:
    fields = [ts, te, td, sa, da, sp, dp, pr, "...AP.S.", "0", "0", str(ipkt), str(ibyt),
              "0", "0", "1", "2", "0", "0", "24", "24", "0", "0", "0.0.0.0", "0.0.0.0",
              str(svln), "0", ismc, ZERO_MAC, idmc, ZERO_MAC]
    fields += ["0-0-0"] * 10 + ["0.000", "0.000", "0.000", "10.0.0.254", "0/0", "1",
                                "2023-11-14 22:20:00.000"]
    return ",".join(fields)


NFDUMP_16 = "\n".join([
    NFDUMP_16_HEADER,
    nfdump16_row("2023-11-14 22:13:20", "2023-11-14 22:13:22", "2.000", CAM, CLOUD, "49153",
                 "443", "TCP", 10, 1020, svln=10, ismc=CAM_MAC, idmc="00:11:22:33:44:55"),
    nfdump16_row("2023-11-14 22:13:21", "2023-11-14 22:13:21", "0.000", CAM, GATEWAY, "0",
                 "8.0", "ICMP", 1, 84),
    "Summary",
    "flows,bytes,packets,avg_bps,avg_pps,avg_bpp",
    "2,1104,11,4416,5,100",
]) + "\n"

NFDUMP_17 = "\n".join([
    "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows",
    f"2023-11-14 22:13:20.500,1.250,6,{CAM},49160,{CLOUD},55443,12,3400,1",
    "2023-11-14 22:13:25.000,0.000,17,2001:db8::20,5353,ff02::fb,5353,1,120,1",
]) + "\n"


def test_nfdump_16_csv_rows_become_flows_and_the_summary_is_ignored(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "flows-export.txt"
    path.write_text(NFDUMP_16)
    result = ingested(store, path, "nfdump")
    assert result.warnings == []
    assert result.records == 2
    assert flows(store) == [
        (when(1_700_000_000), when(1_700_000_002), CAM, 49153, CLOUD, 443, 6, 10, CAM_MAC,
         "00:11:22:33:44:55", 10, 0, 1020, 0, None, None, None),
        (when(1_700_000_001), when(1_700_000_001), CAM, 0, GATEWAY, None, 1, None, None,
         None, 1, 0, 84, 0, None, None, None),
    ]
    assert evidence(store) == {(CAM, None, signals.MAC, CAM_MAC)}


def test_nfdump_17_csv_and_gzip(tmp_path: Path) -> None:
    plain = tmp_path / "nf17.csv"
    plain.write_text(NFDUMP_17)
    packed = tmp_path / "nf17.csv.gz"
    packed.write_bytes(gzip.compress(NFDUMP_17.encode()))
    expected = [
        (when(T0), when(T0 + 1.25), CAM, 49160, CLOUD, 55443, 6, None, None, None, 12, None,
         3400, None, None, None, None),
        (when(1_700_000_005), when(1_700_000_005), "2001:db8::20", 5353, "ff02::fb", 5353, 17,
         None, None, None, 1, None, 120, None, None, None, None),
    ]
    for path in (plain, packed):
        with Store(":memory:") as store:
            ingested(store, path, "nfdump")
            assert flows(store) == expected


def test_nfdump_cut_and_corrupt_rows(store: Store, tmp_path: Path) -> None:
    cut = tmp_path / "cut.csv"
    cut.write_text(NFDUMP_17[:-30])  # the last row loses its tail (and its newline)
    result = ingested(store, cut, "nfdump")
    assert [w.line() for w in result.warnings] == [
        f"{cut} at line 3: truncated: last line incomplete, ingested 1 flows"]
    assert counts(store) == (1, 0, 1)

    bad = tmp_path / "bad.csv"
    bad.write_text(NFDUMP_17.splitlines()[0] + "\nnot,a,flow\n2023-11-14,x\n")
    result = ingest_path(store, bad)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.line() == f"{bad} at line 2: no usable flows: 2 unusable lines"
    assert counts(store) == (1, 0, 1)  # unchanged


# ---------------------------------------------------------------------------------------
# Suricata EVE

def eve(event_type: str, ts: float, src: str, sport: int, dst: str, dport: int,
        proto: str = "TCP", **body: Any) -> dict[str, Any]:
    stamp = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    return {"timestamp": stamp, "flow_id": 1234, "in_iface": "eth0", "event_type": event_type,
            "src_ip": src, "src_port": sport, "dest_ip": dst, "dest_port": dport,
            "proto": proto, **body}


UA = "<script>alert(1)</script> Cam/1.0"
EVE_EVENTS = [
    eve("flow", T0 + 5, CAM, 49153, CLOUD, 443, app_proto="tls", vlan=[10],
        ether={"src_mac": CAM_MAC, "dest_mac": "00:11:22:33:44:55"},
        flow={"pkts_toserver": 10, "pkts_toclient": 9, "bytes_toserver": 1100,
              "bytes_toclient": 4600, "start": "2023-11-14T22:13:21.500000+0000",
              "end": "2023-11-14T22:13:23.000000+0000", "age": 2, "state": "closed",
              "reason": "timeout", "alerted": False}),
    eve("flow", T0 + 6, CAM, 50000, "10.0.0.6", 502, app_proto="failed",
        flow={"pkts_toserver": 2, "pkts_toclient": 0, "bytes_toserver": 120,
              "bytes_toclient": 0, "start": "2023-11-14T22:13:23.500000+0000",
              "end": "2023-11-14T22:13:25.500000+0000"}),
    # DNS version 1: a query event, and one event per answer logged from the server's side
    eve("dns", T0, CAM, 40000, GATEWAY, 53, "UDP",
        dns={"type": "query", "id": 1, "rrname": "cam.vendor-cloud.example", "rrtype": "A",
             "tx_id": 0}),
    eve("dns", T0, GATEWAY, 53, CAM, 40000, "UDP",
        dns={"type": "answer", "id": 1, "rcode": "NOERROR", "rrname": "cam.vendor-cloud.example",
             "rrtype": "A", "ttl": 60, "rdata": "198.51.100.7"}),
    eve("dns", T0, GATEWAY, 53, CAM, 40000, "UDP",
        dns={"type": "answer", "id": 1, "rcode": "NOERROR", "rrname": "cam.vendor-cloud.example",
             "rrtype": "CNAME", "ttl": 60, "rdata": "edge.example"}),
    # version 2: one answer event with the detailed list
    eve("dns", T0 + 1, CAM, 40001, GATEWAY, 53, "UDP",
        dns={"version": 2, "type": "answer", "id": 2, "flags": "8180", "qr": True,
             "rrname": "api.vendor-cloud.example", "rrtype": "AAAA", "rcode": "NOERROR",
             "answers": [{"rrname": "api.vendor-cloud.example", "rrtype": "CNAME",
                          "ttl": 5, "rdata": "edge.example"},
                         {"rrname": "edge.example", "rrtype": "AAAA", "ttl": 5,
                          "rdata": "2001:db8::7"}]}),
    # version 2 with only the grouped format
    eve("dns", T0 + 2, CAM, 40002, GATEWAY, 53, "UDP",
        dns={"version": 2, "type": "answer", "id": 3, "rrname": "ntp.example", "rrtype": "A",
             "rcode": "NOERROR", "grouped": {"A": ["203.0.113.5"]}}),
    # version 3 (Suricata 8): queries and answers in one response
    eve("dns", T0 + 3, CAM, 40003, GATEWAY, 53, "UDP",
        dns={"version": 3, "type": "response", "id": 4, "rcode": "NOERROR",
             "queries": [{"rrname": "fw.vendor.example", "rrtype": "A"}],
             "answers": [{"rrname": "fw.vendor.example", "rrtype": "A", "ttl": 5,
                          "rdata": "198.51.100.9"}]}),
    # mDNS is not read
    eve("dns", T0 + 3, CAM, 5353, "224.0.0.251", 5353, "UDP",
        dns={"type": "query", "id": 0, "rrname": "_http._tcp.local", "rrtype": "PTR"}),
    eve("tls", T0 + 5.1, CAM, 49153, CLOUD, 443,
        tls={"subject": "C=CN, O=Vendor Ltd, CN=cloud.vendor.example",
             "issuerdn": "C=CN, O=Vendor Ltd, CN=Vendor CA", "serial": "01",
             "fingerprint": "aa:bb", "sni": "cloud.vendor.example", "version": "TLS 1.2",
             "ja3": {"hash": "x", "string": "y"}, "ja4": "t12d1909h2_d83cc789557e_7af1ed941c26"}),
    eve("http", T0 + 7, CLIENT, 40000, CAM, 80,
        http={"hostname": CAM, "url": "/ISAPI/System/deviceInfo", "http_user_agent": UA,
              "http_method": "GET", "protocol": "HTTP/1.1", "status": 200, "length": 0,
              "response_headers": [{"name": "Content-Type", "value": "text/xml"},
                                   {"name": "Server", "value": "App-webs/"}]}),
    eve("ssh", T0 + 8, CLIENT, 50022, CAM, 22,
        ssh={"client": {"proto_version": "2.0", "software_version": "OpenSSH_8.9"},
             "server": {"proto_version": "2.0", "software_version": "dropbear_2019.78"}}),
    eve("alert", T0 + 9, CLOUD, 443, CAM, 49153,
        alert={"action": "allowed", "signature_id": 1, "signature": "ET TEST",
               "category": "Test", "severity": 3}),
]

EVE_EXPECTED = {
    (CAM, None, signals.MAC, CAM_MAC),
    (CAM, CLOUD, signals.APP, "TLS"),
    (CLOUD, CAM, signals.SERVICE, "tcp/443 TLS"),
    (CAM, GATEWAY, signals.DNS_QUERY, "cam.vendor-cloud.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "cam.vendor-cloud.example=198.51.100.7"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "api.vendor-cloud.example=2001:db8::7"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "ntp.example=203.0.113.5"),
    (CAM, GATEWAY, signals.DNS_QUERY, "fw.vendor.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "fw.vendor.example=198.51.100.9"),
    (CAM, CLOUD, signals.TLS_SNI, "cloud.vendor.example"),
    (CAM, CLOUD, signals.TLS_JA4, "t12d1909h2_d83cc789557e_7af1ed941c26"),
    (CLOUD, CAM, signals.TLS_CERT_SUBJECT, "C=CN, O=Vendor Ltd, CN=cloud.vendor.example"),
    (CLOUD, CAM, signals.TLS_CERT_ISSUER, "C=CN, O=Vendor Ltd, CN=Vendor CA"),
    (CLIENT, CAM, signals.HTTP_HOST, CAM),
    (CLIENT, CAM, signals.HTTP_USER_AGENT, UA),
    (CAM, CLIENT, signals.HTTP_SERVER, "App-webs/"),
    (CLIENT, CAM, signals.SSH_BANNER, "SSH-2.0-OpenSSH_8.9"),
    (CAM, CLIENT, signals.SSH_BANNER, "SSH-2.0-dropbear_2019.78"),
}


def write_lines(path: Path, objects: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return path


def test_eve_events_become_flows_and_evidence(store: Store, tmp_path: Path) -> None:
    result = ingested(store, write_lines(tmp_path / "eve.json", EVE_EVENTS), "suricata-eve")
    assert result.warnings == []
    assert result.records == len(EVE_EVENTS)
    assert evidence(store) == EVE_EXPECTED
    assert flows(store) == [
        (when(T0 + 1), when(T0 + 2.5), CAM, 49153, CLOUD, 443, 6, 10, CAM_MAC,
         "00:11:22:33:44:55", 10, 9, 1100, 4600, "tls", None, None),
        (when(T0 + 3), when(T0 + 5), CAM, 50000, "10.0.0.6", 502, 6, None, None, None, 2, 0,
         120, 0, None, None, None),
    ]


def test_eve_gzip_and_bad_lines(store: Store, tmp_path: Path) -> None:
    text = "".join(json.dumps(o) + "\n" for o in EVE_EVENTS[:3])
    lines = text.splitlines(keepends=True)
    broken = tmp_path / "eve-broken.json.gz"
    broken.write_bytes(gzip.compress((lines[0] + "{not json\n" + lines[1] + lines[2][:40])
                                     .encode()))
    result = ingested(store, broken, "suricata-eve")
    assert [w.line() for w in result.warnings] == [
        f"{broken} at line 2: 2 unusable lines skipped"]
    assert result.flow_rows == 2

    cut = tmp_path / "eve-cut.json"
    cut.write_text(text[:-20])
    result = ingested(store, cut, "suricata-eve")
    assert [w.line() for w in result.warnings] == [
        f"{cut} at line 3: truncated: last line incomplete, ingested 2 events"]


# ---------------------------------------------------------------------------------------
# Cisco Joy

def dns_response(query: str, answer: str, txid: int = 7) -> bytes:
    msg = dpkt.dns.DNS(id=txid, rcode=0)
    msg.qr = dpkt.dns.DNS_R
    msg.qd = [dpkt.dns.DNS.Q(name=query, type=dpkt.dns.DNS_A)]
    msg.an = [dpkt.dns.DNS.RR(name=query, type=dpkt.dns.DNS_A, ttl=60,
                              rdata=socket.inet_aton(answer))]
    return bytes(msg)


def ip_udp(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = len(udp)
    packet = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=17, ttl=64,
                        data=udp)
    packet.len = len(packet)
    return bytes(packet)


JOY_FLOWS = [
    # a TLS flow with Joy's structured tls and http fields (and an annotation)
    {"sa": CAM, "da": CLOUD, "pr": 6, "sp": 49153, "dp": 443, "bytes_out": 517,
     "num_pkts_out": 6, "bytes_in": 3900, "num_pkts_in": 5, "time_start": T0 + 1,
     "time_end": T0 + 3, "flow_type": "TLS (vendor cloud)",
     "tls": {"c_version": 3, "s_version": 3, "sni": ["cloud.vendor.example"],
             "s_cert": [{"length": 900,
                         "issuer": [{"countryName": "CN"}, {"organizationName": "Vendor Ltd"},
                                    {"commonName": "Vendor CA"}],
                         "subject": [{"countryName": "CN"},
                                     {"organizationName": "Vendor, Ltd"},
                                     {"commonName": "cloud.vendor.example"}]}]}},
    # a DNS exchange Joy filed from the answer's side, the answer only in idp_out
    {"sa": GATEWAY, "da": CAM, "pr": 17, "sp": 53, "dp": 40000, "bytes_out": 60,
     "num_pkts_out": 1, "bytes_in": 34, "num_pkts_in": 1, "time_start": T0,
     "time_end": T0 - 0.0004, "dns": [{"qn": "cam.vendor-cloud.example", "rc": 0, "rr": []}],
     "idp_out": ip_udp(GATEWAY, CAM, 53, 40000,
                       dns_response("cam.vendor-cloud.example", "198.51.100.7")).hex(),
     "idp_len_out": 80},
    # structured answers win over the payload's
    {"sa": CAM, "da": GATEWAY, "pr": 17, "sp": 40001, "dp": 53, "bytes_out": 30,
     "num_pkts_out": 1, "bytes_in": 46, "num_pkts_in": 1, "time_start": T0 + 4,
     "time_end": T0 + 4.01,
     "dns": [{"qn": "ntp.example", "rc": 0, "rr": [{"a": "203.0.113.5", "ttl": 60}]}],
     "idp_in": ip_udp(GATEWAY, CAM, 53, 40001, dns_response("ntp.example", "10.9.9.9")).hex()},
    {"sa": CLIENT, "da": CAM, "pr": 6, "sp": 40000, "dp": 80, "bytes_out": 120,
     "num_pkts_out": 3, "bytes_in": 300, "num_pkts_in": 2, "time_start": T0 + 7,
     "time_end": T0 + 7.5,
     "http": [{"out": {"method": "GET", "uri": "/", "v": "HTTP/1.1", "Host": CAM,
                       "User-Agent": UA},
               "in": {"v": "HTTP/1.1", "code": 200, "reason": "OK", "Server": "App-webs/"}}]},
    # one-way, no ports (IGMP)
    {"sa": CAM, "da": "224.0.0.251", "pr": 2, "sp": None, "dp": None, "bytes_out": 8,
     "num_pkts_out": 1, "time_start": T0 + 9, "time_end": T0 + 9, "expire_type": "i"},
]

JOY_EXPECTED = {
    (CAM, CLOUD, signals.TLS_SNI, "cloud.vendor.example"),
    (CLOUD, CAM, signals.TLS_CERT_SUBJECT, "CN=cloud.vendor.example,O=Vendor\\, Ltd,C=CN"),
    (CLOUD, CAM, signals.TLS_CERT_ISSUER, "CN=Vendor CA,O=Vendor Ltd,C=CN"),
    (CAM, GATEWAY, signals.DNS_QUERY, "cam.vendor-cloud.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "cam.vendor-cloud.example=198.51.100.7"),
    (CAM, GATEWAY, signals.DNS_QUERY, "ntp.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "ntp.example=203.0.113.5"),
    (CLIENT, CAM, signals.HTTP_HOST, CAM),
    (CLIENT, CAM, signals.HTTP_USER_AGENT, UA),
    (CAM, CLIENT, signals.HTTP_SERVER, "App-webs/"),
}


def test_joy_records_become_flows_and_evidence(store: Store, tmp_path: Path) -> None:
    config = {"version": "4.3.0", "interface": "none", "promisc": 0, "output": "none"}
    path = write_lines(tmp_path / "joy-out.json", [config, *JOY_FLOWS])
    result = ingested(store, path, "joy")
    assert result.warnings == []
    assert result.records == len(JOY_FLOWS)
    assert evidence(store) == JOY_EXPECTED
    assert flows(store) == [
        # turned round: the camera asked
        (when(T0), when(T0), CAM, 40000, GATEWAY, 53, 17, None, None, None, 1, 1, 34, 60,
         None, None, None),
        (when(T0 + 1), when(T0 + 3), CAM, 49153, CLOUD, 443, 6, None, None, None, 6, 5, 517,
         3900, None, "cloud.vendor.example", None),
        (when(T0 + 4), when(T0 + 4.01), CAM, 40001, GATEWAY, 53, 17, None, None, None, 1, 1,
         30, 46, None, None, None),
        (when(T0 + 7), when(T0 + 7.5), CLIENT, 40000, CAM, 80, 6, None, None, None, 3, 2, 120,
         300, None, None, None),
        (when(T0 + 9), when(T0 + 9), CAM, None, "224.0.0.251", None, 2, None, None, None, 1,
         None, 8, None, None, None, None),
    ]


def test_joy_corrupt_input(store: Store, tmp_path: Path) -> None:
    text = "".join(json.dumps(o) + "\n" for o in JOY_FLOWS)
    cut = tmp_path / "joy-cut.json"
    cut.write_text(text[:-15])
    result = ingested(store, cut, "joy")
    assert [w.line() for w in result.warnings] == [
        f"{cut} at line 5: truncated: last line incomplete, ingested 4 flows"]
    assert result.flow_rows == 4

    before = counts(store)
    useless = write_lines(tmp_path / "joy-useless.json", [
        {**JOY_FLOWS[0], "sa": "not-an-address"}, {**JOY_FLOWS[3], "da": 12}])
    result = ingest_path(store, useless)
    assert result.status == "failed" and result.error is not None
    assert result.error.line() == f"{useless} at line 1: no usable flows: 2 unusable lines"
    assert counts(store) == before


# ---------------------------------------------------------------------------------------
# IPFIX and NetFlow v9, built with struct

def ipfix_message(sets: list[bytes], export_time: int = 1_700_000_100, seq: int = 0,
                  domain: int = 1) -> bytes:
    body = b"".join(sets)
    return struct.pack("!HHIII", 10, 16 + len(body), export_time, seq, domain) + body


def ipfix_set(set_id: int, records: bytes) -> bytes:
    return struct.pack("!HH", set_id, 4 + len(records)) + records


def template(template_id: int, fields: list[tuple[int, int]]) -> bytes:
    return struct.pack("!HH", template_id, len(fields)) + b"".join(
        struct.pack("!HH", ie, length) for ie, length in fields)


V4_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 8), (2, 8), (152, 8), (153, 8),
             (56, 6), (80, 6), (58, 2)]
V6_FIELDS = [(27, 16), (28, 16), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (150, 4), (151, 4)]


def v4_record(src: str, dst: str, sport: int, dport: int, proto: int, octets: int,
              packets: int, start_ms: int, end_ms: int, smac: str, dmac: str,
              vlan: int) -> bytes:
    return (socket.inet_aton(src) + socket.inet_aton(dst)
            + struct.pack("!HHBQQQQ", sport, dport, proto, octets, packets, start_ms, end_ms)
            + bytes.fromhex(smac.replace(":", "")) + bytes.fromhex(dmac.replace(":", ""))
            + struct.pack("!H", vlan))


def v6_record(src: str, dst: str, sport: int, dport: int, proto: int, octets: int,
              packets: int, start: int, end: int) -> bytes:
    return (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
            + struct.pack("!HHBIIII", sport, dport, proto, octets, packets, start, end))


def v9_packet(flowsets: list[bytes], uptime: int, unix_secs: int, count: int,
              source_id: int = 7) -> bytes:
    return struct.pack("!HHIIII", 9, count, uptime, unix_secs, 1, source_id) + b"".join(
        flowsets)


def v9_flowset(flowset_id: int, body: bytes) -> bytes:
    pad = (-(4 + len(body))) % 4
    return struct.pack("!HH", flowset_id, 4 + len(body) + pad) + body + b"\0" * pad


V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (1, 4), (2, 4), (22, 4), (21, 4),
             (56, 6)]
IPFIX_START_MS = int(T0 * 1000)


def ipfix_file() -> bytes:
    messages = [
        ipfix_message([
            ipfix_set(2, template(256, V4_FIELDS)),
            ipfix_set(256, v4_record(CAM, CLOUD, 49153, 443, 6, 1020, 10, IPFIX_START_MS,
                                     IPFIX_START_MS + 1500, CAM_MAC, "00:11:22:33:44:55", 10)
                      + v4_record(CAM, GATEWAY, 40000, 53, 17, 68, 1, IPFIX_START_MS + 100,
                                  IPFIX_START_MS + 100, CAM_MAC, "00:11:22:33:44:55", 10)),
        ], seq=0),
        # data for a template this file never defines: skipped, counted
        ipfix_message([ipfix_set(300, b"\x01" * 12)], seq=2),
        ipfix_message([
            ipfix_set(2, template(257, V6_FIELDS)),
            ipfix_set(257, v6_record("2001:db8::20", "2001:db8:1::1", 50000, 443, 6, 900, 7,
                                     1_700_000_010, 1_700_000_012)),
        ], seq=2),
    ]
    # NetFlow v9: template, then data, in two packets (the template carried across)
    v9_template = v9_flowset(0, template(260, V9_FIELDS))
    v9_data = v9_flowset(260, socket.inet_aton(CLIENT) + socket.inet_aton(CAM)
                         + struct.pack("!HHBIIII", 40000, 80, 6, 300, 4, 9_000, 10_000)
                         + bytes.fromhex("3cef8c000001"))
    messages += [v9_packet([v9_template], 10_000, 1_700_000_020, 1),
                 v9_packet([v9_data], 11_000, 1_700_000_021, 1)]
    return b"".join(messages)


IPFIX_FLOWS = [
    (when(T0), when(T0 + 1.5), CAM, 49153, CLOUD, 443, 6, 10, CAM_MAC, "00:11:22:33:44:55", 10,
     None, 1020, None, None, None, None),
    (when(T0 + 0.1), when(T0 + 0.1), CAM, 40000, GATEWAY, 53, 17, 10, CAM_MAC,
     "00:11:22:33:44:55", 1, None, 68, None, None, None, None),
    (when(1_700_000_010), when(1_700_000_012), "2001:db8::20", 50000, "2001:db8:1::1", 443, 6,
     None, None, None, 7, None, 900, None, None, None, None),
    # v9: FIRST/LAST_SWITCHED 9.0 s / 10.0 s of uptime, header at 11.0 s = 1_700_000_021
    (when(1_700_000_019), when(1_700_000_020), CLIENT, 40000, CAM, 80, 6, None,
     "3c:ef:8c:00:00:01", None, 4, None, 300, None, None, None, None),
]


def test_ipfix_and_v9_messages_become_flows(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "export.bin"
    data = ipfix_file()
    path.write_bytes(data)
    result = ingested(store, path, "ipfix")
    skipped_at = len(ipfix_message([
        ipfix_set(2, template(256, V4_FIELDS)),
        ipfix_set(256, b"\0" * 2 * (4 + 4 + 2 + 2 + 1 + 8 + 8 + 8 + 8 + 6 + 6 + 2))]))
    assert [w.line() for w in result.warnings] == [
        f"{path} at byte {skipped_at}: 1 messages skipped: template not (yet) known"]
    assert flows(store) == IPFIX_FLOWS
    assert evidence(store) == {(CAM, None, signals.MAC, CAM_MAC),
                               (CLIENT, None, signals.MAC, "3c:ef:8c:00:00:01")}
    assert result.records == 4

    packed = tmp_path / "export.bin.gz"
    packed.write_bytes(gzip.compress(data))
    with Store(":memory:") as other:
        ingested(other, packed, "ipfix")
        assert flows(other) == IPFIX_FLOWS


def test_ipfix_cut_and_corrupt(store: Store, tmp_path: Path) -> None:
    data = ipfix_file()
    first = ipfix_message([
        ipfix_set(2, template(256, V4_FIELDS)),
        ipfix_set(256, b"\0" * 2 * 59)])
    cut = tmp_path / "cut.ipfix"
    cut.write_bytes(data[: len(first) + 18])  # the second message loses its tail
    result = ingested(store, cut, "ipfix")
    assert [w.line() for w in result.warnings] == [
        f"{cut} at byte {len(first)}: truncated: the last message needs 32 bytes, 18 remain; "
        "ingested 1 complete messages"]
    assert result.flow_rows == 2

    before = counts(store)
    broken = tmp_path / "broken.ipfix"
    # a plausible first header whose set is cut short
    broken.write_bytes(struct.pack("!HHIII", 10, 200, 1, 0, 1) + struct.pack("!HH", 2, 40)
                       + b"\0" * 20)
    result = ingest_path(store, broken)
    assert result.status == "failed" and result.error is not None
    assert result.error.line() == (
        f"{broken} at byte 0: truncated: the last message needs 200 bytes, 40 remain")
    assert counts(store) == before


# ---------------------------------------------------------------------------------------
# Sniffing: each reader keeps to its own files.

def test_each_kind_goes_to_its_reader(tmp_path: Path, small_capture: Path) -> None:
    zeek_json = write_lines(tmp_path / "conn.json", [
        {"ts": T0, "uid": "C1", "id.orig_h": CAM, "id.orig_p": 49152, "id.resp_h": GATEWAY,
         "id.resp_p": 53, "proto": "udp", "service": "dns", "orig_pkts": 1, "resp_pkts": 1}])
    zeek_nested = write_lines(tmp_path / "stream.ndjson", [
        {"_path": "dns", "ts": "2023-11-14T22:13:20.500000Z", "uid": "C1",
         "id": {"orig_h": CAM, "orig_p": 1, "resp_h": GATEWAY, "resp_p": 53},
         "query": "a.example"}])
    eve_path = write_lines(tmp_path / "conn.log", EVE_EVENTS[:1])  # a Zeek-like name
    joy_path = write_lines(tmp_path / "dns.json", JOY_FLOWS[:1])
    nf = tmp_path / "conn.json.csv"
    nf.write_text(NFDUMP_17)
    ipfix_path = tmp_path / "capture.pcap"  # the name says pcap, the content says IPFIX
    ipfix_path.write_bytes(ipfix_file())
    expected = {zeek_json: "zeek", zeek_nested: "zeek", eve_path: "suricata-eve",
                joy_path: "joy", nf: "nfdump", ipfix_path: "ipfix", small_capture: "capture"}
    assert {path: detect_reader(path).kind for path in expected} == expected
    packed = tmp_path / "eve.json.gz"
    packed.write_bytes(gzip.compress(eve_path.read_bytes()))
    assert detect_reader(packed).kind == "suricata-eve"


def test_cli_ingests_eve_and_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    good = write_lines(tmp_path / "eve.json", EVE_EVENTS)
    done = run_cli("ingest", str(good), db=db)
    assert done.returncode == 0, done.stderr
    bad = tmp_path / "bad-joy.json"
    bad.write_text(json.dumps({**JOY_FLOWS[0], "sa": "x"}) + "\n")
    done = run_cli("ingest", str(bad), db=db)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        f"error: {bad} at line 1: no usable flows: 1 unusable lines"]


# ---------------------------------------------------------------------------------------
# The NEMEA-SIoT Edimax IC-9110W camera, in cloud and local mode (../shared/data).

CAMERA = "192.168.5.20"


def _cloud_findings(path: Path) -> list[Any]:
    with Store(":memory:") as store:
        ingested(store, path, "joy")
        identify_assets(store)
        findings = run_detectors(store)
        return [f for f in findings if f.kind == "vendor-cloud-endpoint"]


def test_edimax_camera_cloud_calls(shared_data: Path) -> None:
    root = shared_data / "nemea-ipcam-flows"
    cloud = _cloud_findings(root / "cloud" / "cloud-video.json")
    assert [(f.asset_ip, f.details["endpoint"]) for f in cloud] == [
        (CAMERA, "edimax-camera-cloud")]
    assert "myedimax.com" in cloud[0].summary
    values = {e["value"] for e in cloud[0].evidence}
    assert "www.myedimax.com" in values
    assert _cloud_findings(root / "no-cloud" / "no-cloud-video.json") == []


def test_long_records_are_sniffed_and_progress_covers_each_file(tmp_path: Path) -> None:
    # Joy with packet details writes records of ~100 kB; its first line describes the run.
    big = {**JOY_FLOWS[0], "ppi": [{"b": 1448, "seq": n, "dir": ">"} for n in range(4000)]}
    config = {"version": "4.3.0", "interface": "none", "promisc": 0}
    joy_path = write_lines(tmp_path / "joy-big.json", [config, big])
    assert len(joy_path.read_bytes()) > 100_000
    nf = tmp_path / "nf.csv"
    nf.write_text(NFDUMP_16)
    eve_path = write_lines(tmp_path / "eve.json", EVE_EVENTS)
    ipfix_path = tmp_path / "export.ipfix"
    ipfix_path.write_bytes(ipfix_file())
    for path, kind in ((joy_path, "joy"), (nf, "nfdump"), (eve_path, "suricata-eve"),
                       (ipfix_path, "ipfix")):
        seen: list[tuple[int, int]] = []
        with Store(":memory:") as store:
            result = ingest_path(store, path, progress=lambda b, r, seen=seen: seen.append(
                (b, r)))
        assert result.kind == kind and result.status == "ingested"
        assert sum(b for b, _ in seen) == path.stat().st_size
        assert sum(r for _, r in seen) > 0
