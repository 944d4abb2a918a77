"""Shared test fixtures: the ../shared/data directory (skipped on a fresh clone without it)
and small captures generated on the fly."""

from __future__ import annotations

from pathlib import Path

import dpkt
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} not present: public test captures live beside the checkout")
    return SHARED_DATA


def write_pcap(path: Path, frames: list[tuple[float, bytes]]) -> Path:
    """A classic pcap (Ethernet) holding the given (timestamp, frame) records."""
    with path.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in frames:
            writer.writepkt(frame, ts=ts)
    return path


def http_frame(src: str, dst: str, payload: bytes, sport: int = 40000, dport: int = 80,
               src_mac: bytes = b"\x00\x1b\x1b\x00\x00\x01") -> bytes:
    """One Ethernet/IPv4/TCP frame carrying `payload` (PSH+ACK)."""
    import socket

    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=1000, ack=1, flags=0x18, data=payload)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=6, data=tcp)
    ip.len = len(ip)
    eth = dpkt.ethernet.Ethernet(src=src_mac, dst=b"\x00\x11\x22\x33\x44\x55",
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)


@pytest.fixture
def small_capture(tmp_path: Path) -> Path:
    """Three HTTP packets: a request with a hostile User-Agent, and a response."""
    request = (b"GET / HTTP/1.1\r\nHost: cam.example\r\n"
               b"User-Agent: <script>alert(1)</script>\r\n\r\n")
    response = b"HTTP/1.1 200 OK\r\nServer: App-webs/\r\nContent-Length: 0\r\n\r\n"
    frames = [
        (1_700_000_000.0, http_frame("10.0.0.5", "10.0.0.9", request)),
        (1_700_000_000.5, http_frame("10.0.0.9", "10.0.0.5", response, sport=80, dport=40000,
                                     src_mac=b"\xbc\xad\x28\x00\x00\x09")),
        (1_700_000_001.0, http_frame("10.0.0.5", "10.0.0.9", request)),
    ]
    return write_pcap(tmp_path / "small.pcap", frames)


def run_cli(*args: str, db: Path, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    """Run the real `vendorwatch` entry point; returns the CompletedProcess (text)."""
    import os
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "vendorwatch", "--db", str(db), *args],
        capture_output=True, text=True, check=False, cwd=cwd, timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
