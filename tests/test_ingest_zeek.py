"""The Zeek log reader: fixtures written here (TSV and JSON, so a fresh clone exercises the
reader), real log sets and Zeek's own btest baselines from ../shared/data, and the same
evidence as the packet path on the captures those baselines came from."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vendorwatch import signals
from vendorwatch.ingest import ingest_path
from vendorwatch.ingest.zeek import ZeekReader
from vendorwatch.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MASKED = "XXXXXXXXXX.XXXXXX"


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/data not present: {path} is missing")
    return path


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


def evidence(store: Store) -> set[tuple[str, str | None, str, str]]:
    rows = store.con.execute("SELECT ip, peer_ip, signal, value FROM evidence").fetchall()
    return {tuple(row) for row in rows}


def facts(store: Store, signal: str | None = None) -> set[tuple[str, str, str]]:
    """(ip, signal, value), optionally of one signal."""
    return {
        (ip, sig, value)
        for ip, _peer, sig, value in evidence(store)
        if signal is None or sig == signal
    }


def counts(store: Store) -> tuple[int, int, int]:
    return tuple(
        store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("sources", "evidence", "flows")
    )


# ---------------------------------------------------------------------------------------
# Fixture logs, written both as Zeek TSV and as Zeek JSON from one description.

Log = tuple[list[str], list[str], list[list[Any]]]  # fields, types, rows

T0 = 1_700_000_000.5  # 2023-11-14T22:13:20.5Z
CAM, CAM_MAC = "192.168.10.20", "00:40:8c:aa:bb:01"
GATEWAY, GW_MAC = "192.168.10.1", "00:11:22:33:44:55"
CLOUD, CLIENT, NVR_MAC = "93.184.216.34", "192.168.10.5", "3c:ef:8c:00:00:01"
UA = "Mozilla/5.0\t(Cam) é"

CONN: Log = (
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
     "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
     "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
     "tunnel_parents", "orig_l2_addr", "resp_l2_addr", "vlan"],
    ["time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
     "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
     "set[string]", "string", "string", "int"],
    [
        [T0, "C1", CAM, 49152, GATEWAY, 53, "udp", "dns", 0.25, 40, 120, "SF", True, True, 0,
         "Dd", 1, 68, 1, 148, [], CAM_MAC, GW_MAC, 10],
        [T0 + 1, "C2", CAM, 49153, CLOUD, 443, "tcp", "ssl", 1.5, 500, 4000, "SF", True,
         False, 0, "ShADadFf", 10, 1020, 9, 4500, [], CAM_MAC, GW_MAC, 10],
        [T0 + 2, "C3", "fe80::1", 128, "ff02::1", 129, "icmp", None, None, None, None, "OTH",
         True, True, 0, "-", 1, 64, 0, 0, [], None, None, None],
        [T0 + 3, "C4", "10.0.0.5", 50000, "10.0.0.6", 502, "tcp", None, 2.0, 0, 0, "S0", True,
         True, 0, "S", 2, 96, 0, 0, [], None, None, None],
    ],
)
DNS: Log = (
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id",
     "query", "qtype_name", "rcode_name", "answers", "TTLs"],
    ["time", "string", "addr", "port", "addr", "port", "enum", "count", "string", "string",
     "string", "vector[string]", "vector[interval]"],
    [
        [T0 + 0.1, "C1", CAM, 49152, GATEWAY, 53, "udp", 1, "cam.vendor-cloud.example", "A",
         "NOERROR", ["edge.cdn.example", "198.51.100.7", "2001:db8::7"], [60.0, 60.0, 60.0]],
        [T0 + 0.2, "C5", CAM, 5353, "224.0.0.251", 5353, "udp", 0, "_http._tcp.local", "PTR",
         "NOERROR", ["cam._http._tcp.local"], [120.0]],
        [T0 + 0.3, "C6", CAM, 49154, GATEWAY, 53, "udp", 2, "txt.example", "TXT", "NOERROR",
         ["TXT 7 a,b=1.2", "10.9.8.7"], [5.0, 5.0]],
    ],
)
HTTP: Log = (
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth",
     "method", "host", "uri", "user_agent", "status_code", "server"],
    ["time", "string", "addr", "port", "addr", "port", "count", "string", "string", "string",
     "string", "count", "string"],
    [
        [T0 + 4, "C7", CLIENT, 40000, CAM, 80, 1, "GET", CAM, "/ISAPI/System/deviceInfo", UA,
         200, "App-webs/"],
    ],
)
SSL: Log = (
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version",
     "server_name", "cert_chain_fps"],
    ["time", "string", "addr", "port", "addr", "port", "string", "string", "vector[string]"],
    [[T0 + 1.1, "C2", CAM, 49153, CLOUD, 443, "TLSv12", "cloud.vendor.example",
      ["fp-leaf", "fp-ca"]]],
)
X509: Log = (
    ["ts", "fingerprint", "certificate.subject", "certificate.issuer", "host_cert"],
    ["time", "string", "string", "string", "bool"],
    [
        [T0 + 1.2, "fp-leaf", "CN=cloud.vendor.example,O=Vendor Ltd,C=CN",
         "CN=Vendor CA,O=Vendor Ltd,C=CN", True],
        [T0 + 1.2, "fp-ca", "CN=Vendor CA,O=Vendor Ltd,C=CN", "CN=Vendor Root", True],
        [T0 + 9, "fp-orphan", "CN=orphan.example", "CN=Orphan CA", True],
    ],
)
DHCP: Log = (
    ["ts", "uids", "client_addr", "server_addr", "mac", "host_name", "client_fqdn", "domain",
     "requested_addr", "assigned_addr", "lease_time", "msg_types", "client_software"],
    ["time", "set[string]", "addr", "addr", "string", "string", "string", "string", "addr",
     "addr", "interval", "vector[string]", "string"],
    [
        [T0 - 10, ["C8"], None, GATEWAY, CAM_MAC, "axis-cam-01", None, "site.local", CAM, CAM,
         3600.0, ["REQUEST", "ACK"], "udhcp 1.30.1"],
        [T0 + 20, ["C9"], None, None, CAM_MAC, "axis-cam-renamed", None, None, None, None,
         None, ["RELEASE"], None],
        [T0 + 30, ["C10"], None, None, NVR_MAC, "dahua-nvr", None, None, None, None, None,
         ["DISCOVER"], None],
    ],
)
SSH: Log = (
    ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "client",
     "server"],
    ["time", "string", "addr", "port", "addr", "port", "count", "string", "string"],
    [[T0 + 5, "C11", CLIENT, 50022, CAM, 22, 2, "SSH-2.0-OpenSSH_8.9",
      "SSH-2.0-dropbear_2019.78"]],
)
SOFTWARE: Log = (
    ["ts", "host", "host_p", "software_type", "name", "version.major", "version.minor",
     "version.minor2", "version.minor3", "version.addl", "unparsed_version"],
    ["time", "addr", "port", "enum", "string", "count", "count", "count", "count", "string",
     "string"],
    [
        [T0 + 4, CAM, 80, "HTTP::SERVER", "App-webs", None, None, None, None, None,
         "App-webs/"],
        [T0 + 6, CLIENT, None, "HTTP::BROWSER", "Wget", 1, 21, None, None, None, None],
    ],
)
KNOWN_SERVICES: Log = (
    ["ts", "host", "port_num", "port_proto", "service"],
    ["time", "addr", "port", "enum", "set[string]"],
    [[T0 + 7, CAM, 554, "tcp", ["RTSP"]], [T0 + 7, CAM, 443, "tcp", ["SSL", "HTTP"]]],
)
KNOWN_DEVICES: Log = (
    ["ts", "mac", "dhcp_host_name"],
    ["time", "string", "string"],
    [[T0 + 8, CAM_MAC, "axis-cam-01"], [T0 + 8, "aa:bb:cc:dd:ee:ff", "printer"]],
)
KNOWN_HOSTS: Log = (["ts", "host"], ["time", "addr"], [[T0 + 8, CAM]])

FIXTURE = {
    "conn": CONN, "dns": DNS, "http": HTTP, "ssl": SSL, "x509": X509, "dhcp": DHCP,
    "ssh": SSH, "software": SOFTWARE, "known_services": KNOWN_SERVICES,
    "known_devices": KNOWN_DEVICES, "known_hosts": KNOWN_HOSTS,
}

# Everything the fixture should give, as (ip, peer_ip, signal, value).
EXPECTED = {
    # conn: MAC of the originator (the gateway's MAC, seen only as responder, is not used);
    # service of responders that answered.
    (CAM, None, signals.MAC, CAM_MAC),
    (GATEWAY, CAM, signals.SERVICE, "udp/53 DNS"),
    (CLOUD, CAM, signals.SERVICE, "tcp/443 SSL"),
    # dns: the query and its address answers (not the CNAME, not TXT, not mDNS)
    (CAM, GATEWAY, signals.DNS_QUERY, "cam.vendor-cloud.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "cam.vendor-cloud.example=198.51.100.7"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "cam.vendor-cloud.example=2001:db8::7"),
    (CAM, GATEWAY, signals.DNS_QUERY, "txt.example"),
    (CAM, GATEWAY, signals.DNS_ANSWER, "txt.example=10.9.8.7"),
    # http
    (CLIENT, CAM, signals.HTTP_HOST, CAM),
    (CLIENT, CAM, signals.HTTP_USER_AGENT, UA),
    (CAM, CLIENT, signals.HTTP_SERVER, "App-webs/"),
    # ssl joined with the leaf of x509 (not the CA, not the orphan)
    (CAM, CLOUD, signals.TLS_SNI, "cloud.vendor.example"),
    (CLOUD, CAM, signals.TLS_CERT_SUBJECT, "CN=cloud.vendor.example,O=Vendor Ltd,C=CN"),
    (CLOUD, CAM, signals.TLS_CERT_ISSUER, "CN=Vendor CA,O=Vendor Ltd,C=CN"),
    # dhcp: the address it got; the RELEASE row goes to the address the MAC got; a MAC
    # never seen with an address stands for itself
    (CAM, None, signals.MAC, CAM_MAC),
    (CAM, None, signals.DHCP_HOSTNAME, "axis-cam-01"),
    (CAM, None, signals.DHCP_DOMAIN, "site.local"),
    (CAM, None, signals.DHCP_VENDOR_CLASS, "udhcp 1.30.1"),
    (CAM, None, signals.DHCP_HOSTNAME, "axis-cam-renamed"),
    (NVR_MAC, None, signals.MAC, NVR_MAC),
    (NVR_MAC, None, signals.DHCP_HOSTNAME, "dahua-nvr"),
    # ssh
    (CLIENT, CAM, signals.SSH_BANNER, "SSH-2.0-OpenSSH_8.9"),
    (CAM, CLIENT, signals.SSH_BANNER, "SSH-2.0-dropbear_2019.78"),
    # software, known_services, known_devices
    (CAM, None, signals.SOFTWARE, "App-webs/"),
    (CLIENT, None, signals.SOFTWARE, "Wget 1.21"),
    (CAM, None, signals.SERVICE, "tcp/554 RTSP"),
    (CAM, None, signals.SERVICE, "tcp/443 HTTP,SSL"),
    ("aa:bb:cc:dd:ee:ff", None, signals.DHCP_HOSTNAME, "printer"),
}


def _tsv_escape(value: str, set_element: bool = False) -> str:
    """Zeek's ASCII writer escaping: backslash, control and non-ASCII bytes as \\xNN."""
    out = []
    for byte in value.encode("utf-8"):
        char = chr(byte)
        if byte == 0x5C or byte < 0x20 or byte >= 0x7F or (set_element and char == ","):
            out.append(f"\\x{byte:02x}")
        else:
            out.append(char)
    text = "".join(out)
    return "\\x2d" if text == "-" else text


def _tsv_value(value: Any, zeek_type: str, masked: bool) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        if not value:
            return "(empty)"
        inner = zeek_type[zeek_type.index("[") + 1 : -1]
        return ",".join(_tsv_value(v, inner, masked).replace(",", "\\x2c") for v in value)
    if isinstance(value, bool):
        return "T" if value else "F"
    if zeek_type == "time":
        return MASKED if masked else f"{value:.6f}"
    if zeek_type == "interval":
        return f"{value:.6f}"
    if isinstance(value, str):
        return _tsv_escape(value) if value else "(empty)"
    return str(value)


def write_tsv(path: Path, log_type: str, log: Log, masked: bool = False) -> Path:
    fields, types, rows = log
    lines = [
        "#separator \\x09",
        "#set_separator\t,",
        "#empty_field\t(empty)",
        "#unset_field\t-",
        f"#path\t{log_type}",
        "#open\t2023-11-14-22-13-20",
        "#fields\t" + "\t".join(fields),
        "#types\t" + "\t".join(types),
    ]
    for row in rows:
        lines.append("\t".join(_tsv_value(v, t, masked) for v, t in zip(row, types, strict=True)))
    lines.append("#close\t2023-11-14-23-00-00")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def json_rows(log: Log, iso: bool = False) -> list[dict[str, Any]]:
    fields, types, rows = log
    out = []
    for row in rows:
        obj: dict[str, Any] = {}
        for name, zeek_type, value in zip(fields, types, row, strict=True):
            if value is None:
                continue  # Zeek's JSON writer leaves unset fields out
            if zeek_type == "time" and iso:
                value = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            obj[name] = value
        out.append(obj)
    return out


def write_json(path: Path, log: Log) -> Path:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in json_rows(log)),
        encoding="utf-8",
    )
    return path


def fixture_dir(root: Path, fmt: str = "tsv", masked: bool = False) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for log_type, log in FIXTURE.items():
        if fmt == "tsv":
            write_tsv(root / f"{log_type}.log", log_type, log, masked)
        else:
            write_json(root / f"{log_type}.log", log)
    # Neither a log nor a log type this reader maps: skipped without being read (weird.log
    # even has a short line, which would fail the source if it were read).
    (root / "README.txt").write_text("logs from the site sensor\n")
    weird = write_tsv(root / "weird.log", "weird", (["ts", "name"], ["time", "string"], []))
    with weird.open("a") as fh:
        fh.write("1700000000.000000\n")
    return root


# ---------------------------------------------------------------------------------------
# Fixture tests.


def test_tsv_directory_is_one_zeek_source(store: Store, tmp_path: Path) -> None:
    logs = fixture_dir(tmp_path / "zeek")
    result = ingest_path(store, logs)
    assert result.status == "ingested", result.error and result.error.line()
    assert result.kind == "zeek"
    assert result.warnings == []
    assert evidence(store) == EXPECTED
    assert counts(store)[0] == 1
    assert result.records == sum(len(log[2]) for log in FIXTURE.values())
    sources = {row[0] for row in store.con.execute("SELECT DISTINCT source FROM evidence")
               .fetchall()}
    assert sources == {str(logs / f"{t}.log") for t in
                       ("conn", "dns", "http", "ssl", "dhcp", "ssh", "software",
                        "known_services", "known_devices")}
    ts = store.con.execute(
        "SELECT ts FROM evidence WHERE signal = 'dns.query' AND value = 'txt.example'"
    ).fetchone()
    assert ts == (datetime(2023, 11, 14, 22, 13, 20, 800000),)


def test_conn_rows_become_flows(store: Store, tmp_path: Path) -> None:
    ingest_path(store, fixture_dir(tmp_path / "zeek"))
    flows = store.con.execute(
        "SELECT ts_first, ts_last, src_ip, src_port, dst_ip, dst_port, proto, vlan, src_mac, "
        "dst_mac, src_packets, dst_packets, src_bytes, dst_bytes, app FROM flows "
        "ORDER BY ts_first"
    ).fetchall()
    start = datetime(2023, 11, 14, 22, 13, 20, 500000)
    assert flows == [
        (start, datetime(2023, 11, 14, 22, 13, 20, 750000), CAM, 49152, GATEWAY, 53, 17, 10,
         CAM_MAC, GW_MAC, 1, 1, 68, 148, "dns"),
        (datetime(2023, 11, 14, 22, 13, 21, 500000), datetime(2023, 11, 14, 22, 13, 23),
         CAM, 49153, CLOUD, 443, 6, 10, CAM_MAC, GW_MAC, 10, 9, 1020, 4500, "ssl"),
        (datetime(2023, 11, 14, 22, 13, 22, 500000), datetime(2023, 11, 14, 22, 13, 22, 500000),
         "fe80::1", 128, "ff02::1", 129, 58, None, None, None, 1, 0, 64, 0, None),
        (datetime(2023, 11, 14, 22, 13, 23, 500000), datetime(2023, 11, 14, 22, 13, 25, 500000),
         "10.0.0.5", 50000, "10.0.0.6", 502, 6, None, None, None, 2, 0, 96, 0, None),
    ]


def test_json_logs_give_the_same_as_tsv(tmp_path: Path) -> None:
    def ingest(path: Path) -> tuple[set[Any], list[Any]]:
        with Store(":memory:") as store:
            result = ingest_path(store, path)
            assert result.status == "ingested", result.error and result.error.line()
            assert result.kind == "zeek"
            rows = store.con.execute(
                "SELECT ts, ip, peer_ip, signal, value FROM evidence").fetchall()
            flows = store.con.execute(
                "SELECT * EXCLUDE (source_id) FROM flows ORDER BY ts_first").fetchall()
            return set(rows), flows

    tsv = ingest(fixture_dir(tmp_path / "tsv"))
    as_json = ingest(fixture_dir(tmp_path / "json", fmt="json"))
    assert as_json == tsv
    assert {row[1:] for row in as_json[0]} == EXPECTED

    # One mixed stream, as Security Onion or a JSON streaming writer keeps it: each row
    # names its log in _path, times are ISO-8601, and some rows nest their `id`.
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    with (mixed / "zeek-stream.ndjson").open("w", encoding="utf-8") as fh:
        for log_type, log in FIXTURE.items():
            for number, row in enumerate(json_rows(log, iso=True)):
                row["_path"] = log_type
                if number % 2 and "id.orig_h" in row:
                    row["id"] = {k[3:]: row.pop(k) for k in list(row) if k.startswith("id.")}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    # Within one file a fact is kept once, at its first time, so compare without times.
    mixed_rows, mixed_flows = ingest(mixed)
    assert mixed_flows == tsv[1]
    assert {row[1:] for row in mixed_rows} == EXPECTED


def test_masked_timestamps_are_null(store: Store, tmp_path: Path) -> None:
    result = ingest_path(store, fixture_dir(tmp_path / "masked", masked=True))
    assert result.status == "ingested"
    assert evidence(store) == EXPECTED
    assert store.con.execute("SELECT count(*) FROM evidence WHERE ts IS NOT NULL").fetchone() \
        == (0,)
    assert store.con.execute(
        "SELECT count(*), count(ts_first), count(ts_last) FROM flows").fetchone() == (4, 0, 0)


def test_single_files_are_sniffed_by_content(store: Store, tmp_path: Path) -> None:
    tsv = write_tsv(tmp_path / "export-1.txt", "dns", DNS)
    result = ingest_path(store, tsv)
    assert (result.status, result.kind) == ("ingested", "zeek")
    assert (CAM, signals.DNS_QUERY, "cam.vendor-cloud.example") in facts(store)

    stream = tmp_path / "events"
    stream.write_text("".join(json.dumps({**row, "_path": "ssh"}) + "\n"
                              for row in json_rows(SSH)))
    result = ingest_path(store, stream)
    assert (result.status, result.kind) == ("ingested", "zeek")
    assert (CAM, signals.SSH_BANNER, "SSH-2.0-dropbear_2019.78") in facts(store)

    # JSON with ts and uid, no _path: the log type comes from the file name.
    named = write_json(tmp_path / "http.2023-11-14.log.json", HTTP)
    assert ingest_path(store, named).status == "ingested"
    assert (CLIENT, signals.HTTP_USER_AGENT, UA) in facts(store)

    # A log type without identity signals is refused in one line and not stored: stored,
    # its bytes would block the same content later given under a name that is read.
    weird = write_tsv(tmp_path / "weird.log", "weird",
                      (["ts", "name"], ["time", "string"], [[T0, "bad_TCP_checksum"]]))
    before = store.counts()
    result = ingest_path(store, weird)
    assert result.status == "failed" and result.error is not None
    assert result.error.line().startswith(f"{weird}: a Zeek weird log: nothing here is read")
    assert store.counts() == before

    for name, content in (("notes.log", "#just a comment\n"), ("other.json", '{"a": 1}\n')):
        path = tmp_path / name
        path.write_text(content)
        result = ingest_path(store, path)
        assert result.status == "failed"
        assert result.error is not None
        assert result.error.reason.startswith("not a known kind of input")


def test_directory_without_zeek_logs_is_not_sniffed(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "README.txt").write_text("nothing here\n")
    (folder / "conn.log").write_text("not a zeek log\n")
    result = ingest_path(store, folder)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.path == str(folder)
    assert result.error.reason.startswith("not a known kind of input")
    assert counts(store) == (0, 0, 0)


def test_gzip_logs(store: Store, tmp_path: Path) -> None:
    plain = fixture_dir(tmp_path / "plain")
    packed = tmp_path / "packed"
    packed.mkdir()
    for log in plain.glob("*.log"):
        # rotated names, as zeekctl archives them; the type still comes from #path
        target = packed / f"{log.stem}.00:00:00-01:00:00.log.gz"
        target.write_bytes(gzip.compress(log.read_bytes()))
    result = ingest_path(store, packed)
    assert result.status == "ingested", result.error and result.error.line()
    assert evidence(store) == EXPECTED
    assert counts(store)[2] == 4
    assert result.bytes == sum(p.stat().st_size for p in packed.glob("*.gz"))


def test_truncated_gzip_keeps_complete_lines_with_a_warning(store: Store,
                                                             tmp_path: Path) -> None:
    plain = write_tsv(tmp_path / "conn.log", "conn", CONN)
    packed = tmp_path / "cut" / "conn.log.gz"
    packed.parent.mkdir()
    data = gzip.compress(plain.read_bytes())
    packed.write_bytes(data[: len(data) - 12])  # loses the trailer and some data
    result = ingest_path(store, packed)
    assert result.status == "ingested"
    assert len(result.warnings) == 1
    assert "truncated gzip data" in result.warnings[0].reason


def test_wrong_column_count_fails_the_source(store: Store, tmp_path: Path) -> None:
    ingest_path(store, write_tsv(tmp_path / "ok-dns.log", "dns", DNS))
    before = counts(store)
    assert before[1] > 0

    (tmp_path / "bad").mkdir()
    bad = write_tsv(tmp_path / "bad" / "conn.log", "conn", CONN)
    lines = bad.read_text().splitlines()
    lines[9] = lines[9].rsplit("\t", 1)[0]  # the second data row loses its last column
    bad.write_text("\n".join(lines) + "\n")
    result = ingest_path(store, bad)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.line() == f"{bad} at line 10: expected 24 columns, found 23"
    assert counts(store) == before


def test_one_bad_log_fails_the_whole_directory(store: Store, tmp_path: Path) -> None:
    logs = fixture_dir(tmp_path / "zeek")
    ssh = logs / "ssh.log"
    with ssh.open("a") as fh:
        fh.write("1700000000.000000\tCx\t10.0.0.1\t1\t10.0.0.2\t22\t2\tSSH-2.0-x\tSSH-2.0-y\textra\n")
    result = ingest_path(store, logs)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.line() == f"{ssh} at line 11: expected 9 columns, found 10"
    assert counts(store) == (0, 0, 0)


def test_invalid_json_line(store: Store, tmp_path: Path) -> None:
    log = write_json(tmp_path / "dns.log", DNS)
    with log.open("a") as fh:
        fh.write('{"ts": 1700000000.0, "uid": "Cq", "query": \n')
    result = ingest_path(store, log)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.path == str(log)
    assert result.error.where == "line 4"
    assert result.error.reason.startswith("invalid JSON: ")
    assert counts(store) == (0, 0, 0)

    listed = tmp_path / "listed" / "dns.log"
    listed.parent.mkdir()
    listed.write_text(json.dumps(json_rows(DNS)[0]) + "\n[1, 2]\n")
    result = ingest_path(store, listed)
    assert result.error is not None
    assert result.error.line() == f"{listed} at line 2: invalid JSON: not an object"


def test_data_before_fields_header(store: Store, tmp_path: Path) -> None:
    log = tmp_path / "conn.log"
    log.write_text("#separator \\x09\n#path\tconn\n1700000000.0\tC1\t10.0.0.1\n")
    result = ingest_path(store, log)
    assert result.status == "failed"
    assert result.error is not None
    assert result.error.line() == f"{log} at line 3: data line before the #fields header"


def test_reingest_is_unchanged(store: Store, tmp_path: Path) -> None:
    logs = fixture_dir(tmp_path / "zeek")
    assert ingest_path(store, logs).status == "ingested"
    before = counts(store)
    again = ingest_path(store, logs)
    assert (again.status, again.kind) == ("unchanged", "zeek")
    assert counts(store) == before


def test_progress_adds_up_to_size(store: Store, tmp_path: Path) -> None:
    logs = fixture_dir(tmp_path / "zeek")
    calls: list[tuple[int, int]] = []
    result = ingest_path(store, logs, progress=lambda b, r: calls.append((b, r)))
    size = ZeekReader().size(logs)
    assert size == sum(p.stat().st_size for p in logs.glob("*.log"))
    assert sum(b for b, _ in calls) == size == result.bytes
    assert sum(r for _, r in calls) == result.records
    assert store.con.execute("SELECT bytes, records FROM sources").fetchone() == (
        size, result.records)


def test_escapes_and_hostile_values(store: Store, tmp_path: Path) -> None:
    fields = ["ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "host",
              "user_agent"]
    long_ua = "A" * 5000
    log = tmp_path / "http.log"
    log.write_bytes(
        b"#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n"
        b"#path\thttp\n#fields\t" + "\t".join(fields).encode() + b"\n"
        # escaped tab, escaped NUL, escaped backslash, raw UTF-8 (Zeek 5+ writes it as is)
        b"1.0\tC1\t10.0.0.1\t1\t10.0.0.2\t80\ta\\x00b\\x5cx41\tcurl\\x09/8 \xc3\xa9\n"
        # invalid UTF-8 in a value is kept visible as an escape, as the packet path does
        b"2.0\tC2\t10.0.0.1\t1\t10.0.0.2\t80\tbad\\xff.example\t" + long_ua.encode() + b"\n"
        # addresses that are not addresses, absurd timestamps: the row gives nothing
        b"1e300\tC3\tnot-an-ip\t1\t10.0.0.2\t80\tx.example\tx\n"
        b"nan\tC4\t10.0.0.3\t99999999\t10.0.0.2\t80\t\\x2d\t(empty)\n"
    )
    result = ingest_path(store, log)
    assert result.status == "ingested", result.error and result.error.line()
    got = facts(store)
    assert ("10.0.0.1", signals.HTTP_HOST, "ab\\x41") in got
    assert ("10.0.0.1", signals.HTTP_USER_AGENT, "curl\t/8 é") in got
    assert ("10.0.0.1", signals.HTTP_HOST, "bad\\xff.example") in got
    assert ("10.0.0.1", signals.HTTP_USER_AGENT, "A" * 1024) in got
    assert ("10.0.0.3", signals.HTTP_HOST, "-") in got  # an escaped '-' is a value
    assert not any(value in ("x.example", "x") for _, _, value in got)
    assert store.con.execute(
        "SELECT count(*) FROM evidence WHERE ip = '10.0.0.3' AND ts IS NULL").fetchone() == (1,)

    conn = tmp_path / "conn" / "conn.log"
    conn.parent.mkdir()
    conn.write_text(
        "#separator \\x09\n#path\tconn\n#fields\tts\tid.orig_h\tid.orig_p\tid.resp_h\t"
        "id.resp_p\tproto\tduration\torig_pkts\torig_ip_bytes\tvlan\n"
        "1.0\t10.0.0.1\t70000\t10.0.0.2\t-5\tsctp\tinf\t99999999999999999999\tx\t5000\n"
    )
    result = ingest_path(store, conn)
    assert result.status == "ingested", result.error and result.error.line()
    assert store.con.execute(
        "SELECT src_port, dst_port, proto, ts_first = ts_last, src_packets, src_bytes, vlan "
        "FROM flows WHERE src_ip = '10.0.0.1'").fetchone() == (
        None, None, None, True, None, None, None)


def test_router_macs_and_public_addresses_are_not_hosts(store: Store, tmp_path: Path) -> None:
    fields = ["ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
              "orig_l2_addr", "resp_l2_addr"]
    router, host_mac = "00:00:5e:00:01:01", "00:1b:ae:00:0c:d1"
    rows = [f"1.0\t192.168.1.50\t1000\t10.20.0.{n}\t80\ttcp\t{host_mac}\t{router}"
            for n in range(1, 6)]
    rows.append(f"2.0\t10.30.0.9\t1000\t192.168.1.50\t22\ttcp\t{router}\t{host_mac}")
    rows.append(f"3.0\t8.8.8.8\t53\t192.168.1.50\t5000\tudp\t00:aa:00:00:00:01\t{host_mac}")
    rows.append("4.0\t192.168.1.60\t68\t255.255.255.255\t67\tudp\t01:00:5e:00:00:01\t-")
    log = tmp_path / "conn.log"
    log.write_text("#separator \\x09\n#path\tconn\n#fields\t" + "\t".join(fields) + "\n"
                   + "\n".join(rows) + "\n")
    assert ingest_path(store, log).status == "ingested"
    # the router MAC (6 addresses) is skipped, so is the public 8.8.8.8 and the group MAC
    assert facts(store, signals.MAC) == {("192.168.1.50", signals.MAC, host_mac)}


# ---------------------------------------------------------------------------------------
# Real log sets from ../shared/data.


def data_rows(log: Path) -> int:
    with log.open("rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith(b"#"))


@pytest.mark.shared
def test_m57_short(store: Store) -> None:
    logs = shared("zeek-logs", "m57-short")
    result = ingest_path(store, logs)
    assert (result.status, result.kind) == ("ingested", "zeek"), result.error
    assert result.warnings == []
    assert counts(store)[2] == result.flow_rows == data_rows(logs / "conn.log") == 2164
    got = facts(store)
    assert {
        ("192.168.1.106", signals.DHCP_HOSTNAME, "m57-jo"),
        ("192.168.1.106", signals.MAC, "00:0b:db:63:5e:a7"),
        ("192.168.1.106", signals.DHCP_DOMAIN, "m57.biz"),
        ("192.168.1.105", signals.DHCP_HOSTNAME, "M57-TERRY"),
        ("192.168.1.105", signals.DHCP_VENDOR_CLASS, "MSFT 5.0"),
        ("192.168.1.103", signals.DNS_QUERY, "dl.javafx.com"),
        ("192.168.1.103", signals.DNS_ANSWER, "dl.javafx.com=72.5.123.29"),
        ("192.168.1.106", signals.HTTP_USER_AGENT, "SCSDK-6.0.0"),
        ("192.168.1.105", signals.TLS_SNI, "www.update.microsoft.com"),
        ("87.106.9.29", signals.SOFTWARE,
         "Apache/2.2.9 (Debian) PHP/5.2.6-1+lenny3 with Suhosin-Patch"),
        ("192.168.1.1", signals.SERVICE, "udp/53 DNS"),
    } <= got
    # btest masks certificate names as '+': no certificate evidence rather than junk
    assert not facts(store, signals.TLS_CERT_SUBJECT)
    # NetBIOS and mDNS names are not DNS queries
    assert not any(v.endswith(".local") for _, _, v in facts(store, signals.DNS_QUERY))
    # the router's MAC is seen with 40 addresses: no mac evidence for 192.168.1.1
    assert not {f for f in facts(store, signals.MAC) if f[0] == "192.168.1.1"}
    assert store.con.execute("SELECT count(*) FROM evidence WHERE ts IS NOT NULL").fetchone() \
        == (0,)


@pytest.mark.shared
def test_tridium_jace2_bro_2_4(store: Store) -> None:
    logs = shared("zeek-logs", "tridium-jace2")
    result = ingest_path(store, logs)
    assert (result.status, result.kind) == ("ingested", "zeek"), result.error
    assert counts(store)[2] == data_rows(logs / "conn.log") == 1730
    got = facts(store)
    assert {
        # Bro 2.4 dhcp.log: mac and assigned_ip only
        ("192.168.1.112", signals.MAC, "00:1b:ae:00:0c:d1"),
        ("192.168.1.120", signals.MAC, "00:a0:d1:23:40:3f"),
        ("192.168.1.103", signals.MAC, "00:26:4a:3c:c9:9c"),
        ("192.168.1.120", signals.HTTP_HOST, "liveupdate.symantecliveupdate.com"),
        ("192.168.1.120", signals.HTTP_USER_AGENT,
         "Mozilla/4.0 (compatible; UPnP/1.0; Windows NT/5.1)"),
    } <= got
    # all-zero client hardware addresses (and the broadcast address) are not hosts
    assert not {f for f in got if f[0] in ("00:00:00:00:00:00", "255.255.255.255")}
    # the first conn.log row: real (Bro 2.4) timestamps, ts_last = ts + duration
    first = store.con.execute(
        "SELECT ts_first, ts_last, dst_ip, proto, src_packets, src_bytes, app FROM flows "
        "WHERE src_ip = '192.168.1.102' AND src_port = 137 ORDER BY ts_first LIMIT 1"
    ).fetchall()
    assert first == [(datetime(2009, 11, 6, 21, 13, 54, 796425),
                      datetime(2009, 11, 6, 21, 13, 55, 546440), "192.168.1.255", 17, 2, 156,
                      "dns")]


@pytest.mark.shared
def test_digitalbond_modbus_bro_2_4(store: Store) -> None:
    logs = shared("zeek-logs", "digitalbond-modbus")
    result = ingest_path(store, logs)
    assert (result.status, result.kind) == ("ingested", "zeek"), result.error
    assert result.records == 2  # modbus.log is not a log type read for identity
    flows = store.con.execute(
        "SELECT src_ip, dst_ip, dst_port, proto, src_packets, dst_packets, src_bytes, "
        "dst_bytes, ts_last - ts_first FROM flows ORDER BY ts_first").fetchall()
    assert len(flows) == data_rows(logs / "conn.log") == 2
    assert flows[1][:8] == ("192.168.66.235", "166.161.16.230", 502, 6, 167, 181, 8380, 8522)
    assert flows[1][8].total_seconds() == pytest.approx(85.560847)


@pytest.mark.shared
def test_btest_ssl_basic(store: Store) -> None:
    logs = shared("zeek-btest", "baselines", "scripts.base.protocols.ssl.basic")
    result = ingest_path(store, logs)
    assert (result.status, result.kind) == ("ingested", "zeek"), result.error
    assert evidence(store) == {
        ("192.168.1.105", "74.125.224.79", signals.TLS_SNI, "ssl.gstatic.com"),
        ("74.125.224.79", "192.168.1.105", signals.TLS_CERT_SUBJECT,
         "CN=*.gstatic.com,O=Google Inc,L=Mountain View,ST=California,C=US"),
        ("74.125.224.79", "192.168.1.105", signals.TLS_CERT_ISSUER,
         "CN=Google Internet Authority,O=Google Inc,C=US"),
    }


@pytest.mark.shared
def test_btest_old_ssl_subject_fields_and_known_services(store: Store) -> None:
    # rdp-to-ssl's ssl.log carries subject/issuer itself and has no x509.log beside it
    ingest_path(store, shared("zeek-btest", "baselines", "scripts.base.protocols.rdp.rdp-to-ssl"))
    assert ("192.168.1.150", signals.TLS_CERT_SUBJECT, "CN=WIN2K8R2.awakecoding.ath.cx") in \
        facts(store)
    ingest_path(store, shared("zeek-btest", "baselines",
                              "scripts.policy.protocols.conn.known-services"))
    assert {
        ("172.16.238.131", signals.SERVICE, "tcp/22 SSH"),
        ("172.16.238.2", signals.SERVICE, "udp/53 DNS"),
        ("69.50.219.51", signals.SERVICE, "udp/123 NTP"),
    } <= facts(store, signals.SERVICE)


# ---------------------------------------------------------------------------------------
# The same evidence as the packet path, on the captures the btest baselines came from
# (MANIFEST.tsv: "expected Zeek output for traces/…").
#
# Both sides go through `ingest_path`, each into a store of its own.

PAIRS = {
    "scripts.base.protocols.dhcp.dhcp-all-msg-types": "traces/dhcp/dhcp.pcap",
    "scripts.base.protocols.dhcp.dhcp-discover-msg-types":
        "traces/dhcp/dhcp_discover_param_req_and_client_id.pcap",
    "scripts.base.protocols.dns.flip": "traces/dns53.pcap",
    "scripts.base.protocols.dns.multiple-txt-strings": "traces/dns-txt-multiple.pcap",
    "scripts.base.protocols.http.http-connect-with-header": "traces/http/connect-with-header.pcap",
    "scripts.base.protocols.http.http-pipelining": "traces/http/pipelined-requests.pcap",
    "scripts.base.protocols.rdp.rdp-to-ssl": "traces/rdp/rdp-to-ssl.pcap",
    "scripts.base.protocols.ssh.basic": "traces/ssh/ssh.pcap",
    "scripts.base.protocols.ssl.basic": "traces/tls/tls-conn-with-extensions.pcap",
    "scripts.base.protocols.ssl.tls-1.2": "traces/tls/tls1.2.pcap",
}

# Which signals a baseline can be compared on: those of the logs the btest kept.
COMPARED = {
    "dns.log": {signals.DNS_QUERY, signals.DNS_ANSWER},
    "http.log": {signals.HTTP_HOST, signals.HTTP_USER_AGENT},
    "ssl.log": {signals.TLS_SNI, signals.TLS_CERT_SUBJECT, signals.TLS_CERT_ISSUER},
    # mac: only the MACs DHCP names
    "dhcp.log": {signals.DHCP_HOSTNAME, signals.DHCP_DOMAIN, signals.MAC},
    "ssh.log": {signals.SSH_BANNER},
}

# Differences kept between the Zeek-log path and the packet path, each with its reason:
# baseline -> (facts only in Zeek's logs, facts only in the capture, why). None today.
KNOWN_DIFFERENCES: dict[str, tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], str]] = {}


def packet_facts(capture: Path) -> set[tuple[str, str, str]]:
    with Store(":memory:") as store:
        result = ingest_path(store, capture)
        assert (result.status, result.kind) == ("ingested", "capture"), result.error
        return facts(store)


@pytest.mark.shared
def test_pairs_match_the_manifest() -> None:
    manifest = shared("MANIFEST.tsv").read_text(encoding="utf-8").splitlines()
    found = {}
    for line in manifest[1:]:
        local_path, truth = line.split("\t")[1], line.split("\t")[7]
        prefix = "expected Zeek output for "
        if local_path.startswith("zeek-btest/baselines/") and truth.startswith(prefix):
            found[local_path.split("/")[2]] = truth[len(prefix):].split()[0]
    comparable = {
        name for name in found
        if any((SHARED / "zeek-btest" / "baselines" / name / log).exists() for log in COMPARED)
    }
    assert comparable == set(PAIRS)
    assert {name: found[name] for name in PAIRS} == PAIRS


@pytest.mark.shared
@pytest.mark.parametrize("baseline", sorted(PAIRS))
def test_same_evidence_as_the_packet_path(baseline: str) -> None:
    logs = shared("zeek-btest", "baselines", baseline)
    capture = shared("zeek-btest", PAIRS[baseline])
    compared = set().union(*(sigs for log, sigs in COMPARED.items() if (logs / log).exists()))
    with Store(":memory:") as store:
        result = ingest_path(store, logs)
        assert (result.status, result.kind) == ("ingested", "zeek"), result.error
        zeek = facts(store)
        dhcp_macs = {
            value for (value,) in store.con.execute(
                "SELECT value FROM evidence WHERE signal = 'mac' AND source LIKE '%dhcp.log'"
            ).fetchall()
        }
    packets = packet_facts(capture)

    def kept(fact: tuple[str, str, str]) -> bool:
        return fact[1] in compared and (fact[1] != signals.MAC or fact[2] in dhcp_macs)

    zeek = {f for f in zeek if kept(f)}
    packets = {f for f in packets if kept(f)}
    assert zeek, "the baseline gave nothing to compare"
    only_zeek, only_packets, _why = KNOWN_DIFFERENCES.get(baseline, (set(), set(), ""))
    assert zeek - packets == only_zeek
    assert packets - zeek == only_packets


@pytest.mark.shared
def test_conn_macs_are_a_subset_of_the_packet_path() -> None:
    """conn.log's orig_l2_addr gives fewer MACs than the capture: the packet path also has
    ARP (which announces public addresses on the link too) and every frame's sender,
    while Zeek's conn.log names the originator's MAC only."""
    logs = shared("zeek-btest", "baselines", "scripts.policy.protocols.conn.mac-logging")
    capture = shared("zeek-btest", "traces", "wikipedia.pcap")
    with Store(":memory:") as store:
        assert ingest_path(store, logs).status == "ingested"
        zeek = facts(store, signals.MAC)
    assert zeek == {
        ("fe80::217:f2ff:fed7:cf65", signals.MAC, "00:17:f2:d7:cf:65"),
        ("fe80::3074:17d5:2052:c324", signals.MAC, "f0:4d:a2:47:ba:25"),
    }
    assert zeek <= {f for f in packet_facts(capture) if f[1] == signals.MAC}

