"""Ingest benchmark: vendorwatch against tshark and ndpiReader on one large synthetic pcap.

    python bench/ingest.py [--size-mb 520] [--seed 1] [--reuse] [--tools vendorwatch,tshark,ndpi]

1. Generates bench/out/bench.pcap (git-ignored), at least --size-mb megabytes of a mixed
   network: DNS over UDP, TLS 1.2 sessions (ClientHello with SNI, certificate flights,
   application data), HTTP/1.1, bulk TCP transfers, a share of 802.1Q-tagged frames and of
   IPv6. Packets come from templates built once with `vendorwatch.demo.packets` (dpkt);
   each flow copies its template's frames and patches MACs, VLAN id, addresses, ports and
   TCP sequence numbers, with the IPv4 and TCP/UDP checksums updated incrementally
   (RFC 1624), so every checksum stays valid. Frames are sorted by time and written with
   one buffered write. All traffic is synthetic; the seed makes it reproducible.
2. Times, on that same file: `vendorwatch --db bench/out/bench.duckdb ingest FILE` (or, while
   the command line is missing, `vendorwatch.ingest.ingest_path` through `python -c`),
   `tshark -r FILE -T fields -e frame.len`, and `ndpiReader -i FILE` where installed
   (bench/setup.sh installs both). Each runs under a small wrapper process whose
   RUSAGE_CHILDREN gives the tool's own peak RSS and CPU time.
3. Prints a Markdown table and writes bench/out/ingest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import dpkt

from vendorwatch.demo.packets import (
    US,
    Capture,
    Endpoint,
    TcpConnection,
    dns_query,
    dns_response,
    ip_bytes,
    tls_client_finish,
    tls_client_hello,
    tls_record,
    tls_server_finish,
    tls_server_flight,
    udp_frame,
)
from vendorwatch.demo.terminal import DemoPki

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
FLOW_MIX = {"dns": 0.62, "tls": 0.32, "http": 0.06}  # shares of the non-bulk flows
BULK_SHARE = 0.12  # of the bytes
VLAN_SHARE, IPV6_SHARE = 0.25, 0.12  # of the flows
SPAN_US = 3_600 * US  # flows start within one hour
START_US = 1_772_445_600 * US  # 2026-03-02T10:00:00Z
GATEWAY_MAC = bytes.fromhex("001aa13c5e01")
TEMPLATE_CLIENT4, TEMPLATE_SERVER4 = "10.0.0.1", "192.0.2.1"
TEMPLATE_CLIENT6, TEMPLATE_SERVER6 = "2001:db8::1", "2001:db8:ffff::1"
REC = struct.Struct("<IIII")

SNI_NAMES = [
    "www.google.com", "www.youtube.com", "outlook.office365.com", "login.microsoftonline.com",
    "teams.microsoft.com", "www.office.com", "fe2cr.update.microsoft.com", "graph.microsoft.com",
    "api.github.com", "github.com", "www.linkedin.com", "www.wikipedia.org", "cdn.jsdelivr.net",
    "fonts.gstatic.com", "ajax.googleapis.com", "www.cloudflare.com", "s3.amazonaws.com",
    "www.portofrotterdam.com", "www.rijksoverheid.nl", "www.nos.nl", "www.marinetraffic.com",
    "apiieu.ezvizlife.com", "www.hik-connect.com", "www.easy4ipcloud.com", "pypi.org",
    "files.pythonhosted.org", "deb.debian.org", "www.bing.com", "edge.microsoft.com",
    "settings-win.data.microsoft.com", "www.apple.com", "www.zoom.us", "slack.com",
]
SNI_NAMES += [f"cdn{n}.static.example.net" for n in range(60)]
SNI_NAMES += [f"api{n}.saas.example.com" for n in range(60)]
HTTP_HOSTS = ["ctldl.windowsupdate.com", "www.msftconnecttest.com", "crl.example.org",
              "ocsp.example.com", "intranet.terminal.internal", "10.20.0.11"]
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36",
    "Microsoft-CryptoAPI/10.0",
    "Microsoft NCSI",
    "curl/7.88.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
]


# --- templates -----------------------------------------------------------------------------


@dataclass
class Frame:
    rel_us: int
    data: bytes
    from_client: bool
    l4: int  # offset of the transport header
    tcp: bool
    seq: int  # relative to the sender's ISN (templates use ISN 0)
    ack: int  # relative to the peer's ISN, or -1 without ACK
    ip_partial: int  # ones-complement sum of the IPv4 header without addresses and checksum
    l4_partial: int  # same for pseudo-header + transport, without addresses/ports/seq/ack


@dataclass
class Template:
    frames: list[Frame]
    vlan: bool
    v6: bool
    size: int


def _word_sum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def _analyse(rel_us: int, frame: bytes, client_mac: bytes) -> Frame:
    off = 14
    if frame[12:14] == b"\x81\x00":
        off = 18
    version = frame[off] >> 4
    if version == 4:
        proto = frame[off + 9]
        l4 = off + (frame[off] & 0x0F) * 4
        header = bytearray(frame[off:l4])
        header[10:20] = b"\x00" * 10
        ip_partial = _word_sum(bytes(header))
        length = len(frame) - l4
    else:
        proto = frame[off + 6]
        l4 = off + 40
        ip_partial = 0
        length = len(frame) - l4
    segment = bytearray(frame[l4:])
    tcp = proto == 6
    if tcp:
        seq, ack = struct.unpack_from("!II", segment, 4)
        has_ack = bool(segment[13] & 0x10)
        segment[0:12] = b"\x00" * 12
        segment[16:18] = b"\x00\x00"
    else:
        seq, ack, has_ack = 0, 0, False
        segment[0:4] = b"\x00" * 4
        segment[6:8] = b"\x00\x00"
    l4_partial = _word_sum(bytes(segment)) + proto + (length >> 16) + (length & 0xFFFF)
    return Frame(rel_us, frame, frame[6:12] == client_mac, l4, tcp, seq,
                 ack if has_ack else -1, ip_partial, l4_partial)


def _template(cap: Capture, client_mac: bytes, vlan: bool, v6: bool) -> Template:
    cap.frames.sort()
    t0 = cap.frames[0][0]
    frames = [_analyse(ts - t0, data, client_mac) for ts, _, data in cap.frames]
    return Template(frames, vlan, v6, sum(len(f.data) + 16 for f in frames))


def _endpoints(v6: bool, port: int) -> tuple[Endpoint, Endpoint]:
    client_mac = bytes.fromhex("020000000001")
    if v6:
        return (Endpoint(TEMPLATE_CLIENT6, client_mac, 40_000, 64),
                Endpoint(TEMPLATE_SERVER6, GATEWAY_MAC, port, 57))
    return (Endpoint(TEMPLATE_CLIENT4, client_mac, 40_000, 64),
            Endpoint(TEMPLATE_SERVER4, GATEWAY_MAC, port, 57))


def _tcp(cap: Capture, client: Endpoint, server: Endpoint, vlan: bool, rtt: int) -> TcpConnection:
    return TcpConnection(cap, client, server, isn_client=0, isn_server=0, rtt_us=rtt,
                         vlan=100 if vlan else None)


def _appdata(rng: random.Random, size: int) -> bytes:
    out = b""
    while size > 0:
        chunk = min(size, 16_384)
        out += tls_record(0x17, rng.randbytes(chunk))
        size -= chunk
    return out


def build_templates(rng: random.Random) -> dict[str, list[Template]]:
    pki = DemoPki(1)
    out: dict[str, list[Template]] = {"dns": [], "tls": [], "http": [], "bulk": []}
    variants = [(False, False), (True, False), (False, True)]  # (vlan, v6)
    for vlan, v6 in variants:
        for name in SNI_NAMES:
            # DNS: query and answer
            client, server = _endpoints(v6, 53)
            cap = Capture()
            ident = rng.getrandbits(16)
            answer = "2001:db8:ffff::1" if v6 else "192.0.2.1"
            qtype = dpkt.dns.DNS_AAAA if v6 else dpkt.dns.DNS_A
            tag = 100 if vlan else None
            cap.add(0, udp_frame(client, server, dns_query(ident, name, qtype), tag))
            cap.add(900 + rng.randrange(20_000),
                    udp_frame(server, client, dns_response(ident, name, [answer]), tag))
            out["dns"].append(_template(cap, client.mac, vlan, v6))
            # TLS 1.2 session
            client, server = _endpoints(v6, 443)
            cap = Capture()
            rtt = 5_000 + rng.randrange(80_000)
            conn = _tcp(cap, client, server, vlan, rtt)
            t = conn.open(0)
            crandom = rng.randbytes(32)
            t = conn.send(t + 50, tls_client_hello(crandom, name, alpn=("h2", "http/1.1"),
                                                   session_id=rng.randbytes(32)), True)
            sans = [f"alt{n}.{name}" for n in range(rng.choice((0, 2, 40)))]
            chain, key = pki.chain(name, sans)
            srandom, share = rng.randbytes(32), rng.randbytes(32)
            params = struct.pack("!BHB", 3, 0x001D, 32) + share
            flight = tls_server_flight(srandom, rng.randbytes(32), chain, share,
                                       key.sign(crandom + srandom + params))
            t = conn.send(t + rtt // 2, flight, False)
            t = conn.send(t + 200, tls_client_finish(rng.randbytes(32), rng.randbytes(40)))
            t = conn.send(t + rtt // 2, tls_server_finish(rng.randbytes(40)), False)
            for _ in range(rng.choice((1, 1, 2))):
                t = conn.send(t + 300, _appdata(rng, 300 + rng.randrange(1_500)), True)
                size = int(rng.paretovariate(1.5) * 1_200)
                t = conn.send(t + rtt // 2 + 3_000, _appdata(rng, min(size, 60_000)), False,
                              gap_us=30)
            conn.close(t + 20_000)
            out["tls"].append(_template(cap, client.mac, vlan, v6))
        for host in HTTP_HOSTS:
            for ua in USER_AGENTS[:3]:
                client, server = _endpoints(v6, 80)
                cap = Capture()
                rtt = 2_000 + rng.randrange(30_000)
                conn = _tcp(cap, client, server, vlan, rtt)
                t = conn.open(0)
                request = (f"GET /{rng.getrandbits(32):08x}/index.html HTTP/1.1\r\nHost: {host}\r\n"
                           f"User-Agent: {ua}\r\nAccept: */*\r\n\r\n").encode()
                body = rng.randbytes(500 + int(rng.paretovariate(1.2) * 3_000) % 60_000)
                response = (f"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\n"
                            f"Content-Length: {len(body)}\r\n"
                            "Content-Type: application/octet-stream\r\n\r\n").encode() + body
                t = conn.exchange(t + 50, request, response, think_us=rtt // 2 + 1_000)
                conn.close(t + 1_000, from_client=False)
                out["http"].append(_template(cap, client.mac, vlan, v6))
        for size_kb in (512, 1_024, 2_048, 4_096):
            client, server = _endpoints(v6, 445 if size_kb < 2_048 else 873)
            cap = Capture()
            conn = _tcp(cap, client, server, vlan, 800)
            t = conn.open(0)
            t = conn.send(t + 100, rng.randbytes(200), True)
            t = conn.send(t + 500, rng.randbytes(size_kb * 1_024), False, gap_us=130)
            conn.close(t + 1_000)
            out["bulk"].append(_template(cap, client.mac, vlan, v6))
    return out


# --- flows from templates -----------------------------------------------------------------------


class Pools:
    """Client and server addresses (with MACs for clients), by family and VLAN."""

    def __init__(self, rng: random.Random) -> None:
        self.clients4 = [(ip_bytes(f"10.1.{n // 250}.{n % 250 + 2}"), _mac(n)) for n in
                         range(3_000)]
        self.clients4_vlan = [
            (ip_bytes(f"10.{100 + n % 10}.{n // 250}.{n % 250 + 2}"), _mac(10_000 + n),
             100 + n % 10)
            for n in range(1_000)
        ]
        self.clients6 = [(ip_bytes(f"2001:db8:1::{n + 2:x}"), _mac(20_000 + n)) for n in
                         range(600)]
        prefixes = ("13.107", "20.190", "104.16", "142.250", "151.101", "52.167", "40.126",
                    "185.199", "23.52", "116.62", "47.96", "120.55")
        self.servers4 = [
            ip_bytes(f"{rng.choice(prefixes)}.{rng.randrange(256)}.{rng.randrange(1, 255)}")
            for _ in range(3_000)
        ]
        self.servers6 = [
            ip_bytes(f"2a00:1450:4001:{rng.randrange(0x800):x}::{rng.randrange(1, 0xFFFF):x}")
            for _ in range(600)
        ]
        self.dns4 = ip_bytes("10.1.255.53")
        self.dns6 = ip_bytes("2001:db8:1:ffff::53")


def _mac(n: int) -> bytes:
    return bytes([0x18, 0x66, 0xDA, (n >> 16) & 0xFF, (n >> 8) & 0xFF, n & 0xFF])


def _fold(total: int) -> int:
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def emit_flow(
    tmpl: Template,
    start_us: int,
    client_ip: bytes,
    client_mac: bytes,
    server_ip: bytes,
    sport: int,
    dport: int,
    vlan_id: int,
    isn_c: int,
    isn_s: int,
    keys: list[int],
    frames: list[bytearray],
) -> None:
    """Append the template's frames for one flow, patched, with their sort keys."""
    addr_sum = _word_sum(client_ip) + _word_sum(server_ip)
    port_sum = sport + dport
    pack_into = struct.pack_into
    v6 = tmpl.v6
    l3 = 18 if tmpl.vlan else 14
    gw = GATEWAY_MAC
    for f in tmpl.frames:
        buf = bytearray(f.data)
        if f.from_client:
            buf[0:12] = gw + client_mac
            src, dst, sp, dp, own, peer = client_ip, server_ip, sport, dport, isn_c, isn_s
        else:
            buf[0:12] = client_mac + gw
            src, dst, sp, dp, own, peer = server_ip, client_ip, dport, sport, isn_s, isn_c
        if tmpl.vlan:
            pack_into("!H", buf, 14, vlan_id)
        if v6:
            buf[l3 + 8 : l3 + 24] = src
            buf[l3 + 24 : l3 + 40] = dst
        else:
            pack_into("!H4s4s", buf, l3 + 10, ~_fold(f.ip_partial + addr_sum) & 0xFFFF, src, dst)
        l4 = f.l4
        if f.tcp:
            seq = (own + f.seq) & 0xFFFFFFFF
            ack = (peer + f.ack) & 0xFFFFFFFF if f.ack >= 0 else 0
            total = f.l4_partial + addr_sum + port_sum + (seq >> 16) + (seq & 0xFFFF)
            total += (ack >> 16) + (ack & 0xFFFF)
            pack_into("!HHII", buf, l4, sp, dp, seq, ack)
            pack_into("!H", buf, l4 + 16, ~_fold(total) & 0xFFFF)
        else:
            checksum = ~_fold(f.l4_partial + addr_sum + port_sum) & 0xFFFF
            pack_into("!HH", buf, l4, sp, dp)
            pack_into("!H", buf, l4 + 6, checksum or 0xFFFF)
        keys.append(((start_us + f.rel_us) << 24) | len(frames))
        frames.append(buf)


def generate(path: Path, size_mb: float, seed: int) -> dict[str, object]:
    rng = random.Random(seed)
    t0 = time.perf_counter()
    templates = build_templates(rng)
    t_templates = time.perf_counter() - t0
    pools = Pools(rng)
    # flow counts that add up to the requested size: bulk transfers carry BULK_SHARE of the
    # bytes, the rest is a fixed mix of DNS, TLS and HTTP flows
    mean = {kind: sum(t.size for t in items) / len(items) for kind, items in templates.items()}
    target = size_mb * 1e6 * 1.02
    n_bulk = max(1, round(target * BULK_SHARE / mean["bulk"]))
    per_flow = sum(share * mean[kind] for kind, share in FLOW_MIX.items())
    n_flows = (target - n_bulk * mean["bulk"]) / per_flow
    plan = {kind: max(1, int(n_flows * share)) for kind, share in FLOW_MIX.items()}
    plan["bulk"] = n_bulk
    by_kind = {
        kind: {
            (vlan, v6): [t for t in items if (t.vlan, t.v6) == (vlan, v6)]
            for vlan, v6 in ((False, False), (True, False), (False, True))
        }
        for kind, items in templates.items()
    }
    keys: list[int] = []
    frames: list[bytearray] = []
    flows = 0
    for kind, count in plan.items():
        for _ in range(count):
            roll = rng.random()
            if roll < VLAN_SHARE:
                variant = (True, False)
            elif roll < VLAN_SHARE + IPV6_SHARE:
                variant = (False, True)
            else:
                variant = (False, False)
            tmpl = rng.choice(by_kind[kind][variant])
            vlan_id = 0
            if variant[1]:
                client_ip, client_mac = rng.choice(pools.clients6)
                server_ip = pools.dns6 if kind == "dns" else rng.choice(pools.servers6)
            elif variant[0]:
                client_ip, client_mac, vlan_id = rng.choice(pools.clients4_vlan)
                server_ip = pools.dns4 if kind == "dns" else rng.choice(pools.servers4)
            else:
                client_ip, client_mac = rng.choice(pools.clients4)
                server_ip = pools.dns4 if kind == "dns" else rng.choice(pools.servers4)
            dport = tmpl.frames[0].data[tmpl.frames[0].l4 + 2] << 8 | tmpl.frames[0].data[
                tmpl.frames[0].l4 + 3]
            emit_flow(tmpl, START_US + rng.randrange(SPAN_US), client_ip, client_mac, server_ip,
                      rng.randrange(32_768, 61_000), dport, vlan_id, rng.getrandbits(32),
                      rng.getrandbits(32), keys, frames)
            flows += 1
    t_flows = time.perf_counter() - t0
    keys.sort()
    mask = (1 << 24) - 1
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65_535, 1))
    pack = REC.pack
    for key in keys:
        frame = frames[key & mask]
        sec, usec = divmod(key >> 24, US)
        out += pack(sec, usec, len(frame), len(frame))
        out += frame
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        fh.write(out)
    elapsed = time.perf_counter() - t0
    return {
        "path": str(path),
        "seed": seed,
        "size_mb_requested": size_mb,
        "bytes": len(out),
        "packets": len(keys),
        "flows_planned": flows,
        "plan": plan,
        "vlan_share": VLAN_SHARE,
        "ipv6_share": IPV6_SHARE,
        "seconds": round(elapsed, 2),
        "seconds_templates": round(t_templates, 2),
        "seconds_flows": round(t_flows - t_templates, 2),
    }


# --- timing -------------------------------------------------------------------------------------

_MEASURE = r"""
import json, resource, subprocess, sys, time
start = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "wall": wall, "user": use.ru_utime,
                  "sys": use.ru_stime, "max_rss_kb": use.ru_maxrss,
                  "stderr": proc.stderr.decode(errors="replace")[-1500:]}))
"""

_INGEST = (
    "import sys; from pathlib import Path; from vendorwatch.store import Store; "
    "from vendorwatch.ingest import ingest_path; "
    "r = ingest_path(Store(sys.argv[1]), Path(sys.argv[2])); "
    "print(r.status, r.records, r.flow_rows, r.evidence_rows, r.error); "
    "sys.exit(0 if r.status == 'ingested' else 1)"
)


def measure(cmd: list[str]) -> dict[str, object]:
    """Run `cmd` under a fresh wrapper process: its RUSAGE_CHILDREN is this command alone."""
    done = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True)
    if done.returncode != 0:
        return {"rc": done.returncode, "error": done.stderr[-1500:]}
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def vendorwatch_command(db: Path, pcap: Path) -> tuple[str, list[str]]:
    """The console script when it has an `ingest` command, else ingest_path via python -c."""
    exe = Path(sys.executable).with_name("vendorwatch")
    cli = str(exe) if exe.exists() else shutil.which("vendorwatch")
    if cli:
        probe = subprocess.run([cli, "--help"], capture_output=True, text=True)
        if probe.returncode == 0 and "ingest" in probe.stdout:
            return "vendorwatch ingest (CLI)", [cli, "--db", str(db), "ingest", str(pcap)]
    return "vendorwatch ingest_path (python -c)", [sys.executable, "-c", _INGEST, str(db),
                                                    str(pcap)]


def _version(cmd: list[str]) -> str | None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip() and "Running as user" not in line:
            return line.strip()[:120]
    return None


def run_tools(pcap: Path, gen: dict[str, object], tools: list[str]) -> list[dict[str, object]]:
    size = pcap.stat().st_size
    packets = int(str(gen["packets"]))
    rows: list[dict[str, object]] = []
    runs: list[tuple[str, str, Callable[[], list[str] | None], Callable[[], None]]] = []
    db = OUT / "bench.duckdb"

    def fresh_db() -> None:
        for suffix in ("", ".wal"):
            Path(str(db) + suffix).unlink(missing_ok=True)

    if "vendorwatch" in tools:
        label, vw_cmd = vendorwatch_command(db, pcap)
        runs.append(("vendorwatch", label, lambda: vw_cmd, fresh_db))
        if "CLI" in label:  # the CLI also identifies and detects; time the ingest alone too
            runs.append(("vendorwatch", "vendorwatch ingest_path only (python -c)",
                         lambda: [sys.executable, "-c", _INGEST, str(db), str(pcap)], fresh_db))
    if "tshark" in tools:
        tshark = shutil.which("tshark")
        runs.append(("tshark", "tshark -r FILE -T fields -e frame.len",
                     lambda: [tshark, "-r", str(pcap), "-T", "fields", "-e", "frame.len"]
                     if tshark else None, lambda: None))
    if "ndpi" in tools:
        ndpi = shutil.which("ndpiReader")
        runs.append(("ndpiReader", "ndpiReader -i FILE",
                     lambda: [ndpi, "-i", str(pcap)] if ndpi else None, lambda: None))
    for tool, label, command, prepare in runs:
        cmd = command()
        if cmd is None:
            rows.append({"tool": tool, "command": label, "status": "not installed"})
            continue
        prepare()
        print(f"running {label} ...", file=sys.stderr, flush=True)
        got = measure(cmd)
        row: dict[str, object] = {"tool": tool, "command": label, **got}
        if got.get("rc") == 0 and isinstance(got.get("wall"), float):
            wall = float(got["wall"])  # type: ignore[arg-type]
            row["status"] = "ok"
            row["mb_per_s"] = round(size / 1e6 / wall, 1)
            row["packets_per_s"] = round(packets / wall)
            row["peak_rss_mb"] = round(int(str(got["max_rss_kb"])) / 1024, 1)
        else:
            row["status"] = f"failed (rc {got.get('rc')})"
        if tool == "vendorwatch" and db.exists():
            row.update(_store_counts(db))
            fresh_db()
        rows.append(row)
    return rows


def _store_counts(db: Path) -> dict[str, object]:
    try:
        import duckdb

        con = duckdb.connect(str(db), read_only=True)
        flows = con.execute("SELECT count(*) FROM flows").fetchone()
        evidence = con.execute("SELECT count(*) FROM evidence").fetchone()
        con.close()
    except Exception as exc:  # the store may be mid-migration while the CLI is written
        return {"store_error": str(exc)[:200]}
    return {"flow_rows": flows[0] if flows else None,
            "evidence_rows": evidence[0] if evidence else None}


def markdown(gen: dict[str, object], rows: list[dict[str, object]]) -> str:
    size_mb = int(str(gen["bytes"])) / 1e6
    lines = [
        f"Capture: {size_mb:.0f} MB, {gen['packets']:,} packets, {gen['flows_planned']:,} flows "
        f"(generated in {gen['seconds']} s)",
        "",
        "| tool | wall s | MB/s | packets/s | peak RSS MB | CPU s (user+sys) | status |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        if r.get("status") == "ok":
            cpu = float(str(r["user"])) + float(str(r["sys"]))
            lines.append(
                f"| {r['command']} | {float(str(r['wall'])):.1f} | {r['mb_per_s']} | "
                f"{int(str(r['packets_per_s'])):,} | {r['peak_rss_mb']} | {cpu:.1f} | ok |"
            )
        else:
            lines.append(f"| {r['command']} | | | | | | {r.get('status')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=float, default=520.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true",
                        help="keep bench/out/bench.pcap if it was made with the same size and seed")
    parser.add_argument("--tools", default="vendorwatch,tshark,ndpi")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    pcap = OUT / "bench.pcap"
    meta = OUT / "bench.pcap.json"
    gen: dict[str, object] | None = None
    if args.reuse and pcap.exists() and meta.exists():
        old = json.loads(meta.read_text())
        if (old.get("seed"), old.get("size_mb_requested"), old.get("bytes")) == (
            args.seed, args.size_mb, pcap.stat().st_size):
            gen = old
            print(f"reusing {pcap}", file=sys.stderr)
    if gen is None:
        print(f"generating {pcap} ({args.size_mb:.0f} MB) ...", file=sys.stderr, flush=True)
        gen = generate(pcap, args.size_mb, args.seed)
        meta.write_text(json.dumps(gen, indent=2))
        print(f"generated {int(str(gen['bytes'])) / 1e6:.0f} MB, {gen['packets']:,} packets, "
              f"{gen['flows_planned']:,} flows in {gen['seconds']} s", file=sys.stderr)
    if args.generate_only:
        return 0
    rows = run_tools(pcap, gen, [t.strip() for t in args.tools.split(",") if t.strip()])
    report = {
        "capture": gen,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "versions": {
            "tshark": _version(["tshark", "--version"]) if shutil.which("tshark") else None,
            "ndpiReader": _version(["ndpiReader", "-h"]) if shutil.which("ndpiReader") else None,
        },
        "results": rows,
    }
    (OUT / "ingest.json").write_text(json.dumps(report, indent=2, default=str))
    print(markdown(gen, rows))
    return 0 if all(r.get("status") in ("ok", "not installed") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
