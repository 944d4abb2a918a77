"""pcap and pcapng captures: flows and application detection from NFStream (nDPI), identity
evidence from one pass of `packets.scan` over the same file, run side by side."""

from __future__ import annotations

import gc
import ipaddress
import multiprocessing
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vendorwatch import signals
from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.ingest.packets import worker
from vendorwatch.ingest.packets.context import text
from vendorwatch.ingest.packets.records import capture_format
from vendorwatch.ingest.packets.worker import Row, scan_capture
from vendorwatch.store.batch import FlowRecord, IngestBatch

FORK_WAIT_SECONDS = 2.0  # how long to keep SIGINT ignored while NFStream starts its meter
# Below this size a second process costs more (its start-up) than it saves.
PARALLEL_SCAN_BYTES = 32 * 1024 * 1024
PROTOCOL_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}
TCP, UDP = 6, 17
WELL_KNOWN_PORTS = 1024
IP_ACCOUNTING = 1  # NFStream accounting_mode: IP-level bytes, as Zeek's *_ip_bytes


class CaptureReader(SourceReader):
    kind = "capture"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.is_file() and capture_format(head) is not None

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        flows: list[tuple[FlowRecord, list[Row]]] = []
        failure: list[BaseException] = []
        meter = threading.Thread(
            target=_meter_flows, args=(path, flows, failure), name="nfstream", daemon=True
        )
        # NFStream forks its meter process from this thread. Garbage still waiting in the
        # parent (a dropped DuckDB connection, say) would be finalised in the child and can
        # crash it, leaving the parent waiting forever: collect it now and freeze the rest
        # out of the child's collections.
        gc.collect()
        gc.freeze()
        try:
            with _children_ignore_interrupts():
                meter.start()
            return self._read_beside_meter(path, batch, progress, meter, flows, failure)
        finally:
            gc.unfreeze()

    def _read_beside_meter(
        self,
        path: Path,
        batch: IngestBatch,
        progress: Progress,
        meter: threading.Thread,
        flows: list[tuple[FlowRecord, list[Row]]],
        failure: list[BaseException],
    ) -> list[InputWarning]:
        source = str(path)

        def add_rows(rows: list[Row]) -> None:
            for ts, ip, peer, name, value in rows:
                batch.evidence(ts, ip, peer, name, value, source)

        if path.stat().st_size >= PARALLEL_SCAN_BYTES:
            records, offset, cut = _scan_in_worker(path, add_rows, progress)
        else:
            reader, _ = scan_capture(path, add_rows)
            progress(reader.offset, reader.records)
            records, offset = reader.records, reader.offset
            cut = (reader.truncation.offset, reader.truncation.records) \
                if reader.truncation else None
        meter.join()
        if failure:
            raise InputError(path, f"flow metering failed: {failure[0]}")
        for record, facts in flows:
            batch.flow(record)
            add_rows(facts)
        batch.records_read = records
        batch.bytes_read = offset
        if cut is None:
            return []
        return [InputWarning(path, f"truncated capture: ingested {cut[1]} complete records",
                             f"byte {cut[0]}")]


@contextmanager
def _children_ignore_interrupts() -> Iterator[None]:
    """Ctrl-C is the parent's to handle (it rolls the source back and says so in one line):
    NFStream's meter, forked while SIGINT is ignored, keeps ignoring it instead of dying
    with a traceback of its own. The parent's handler is back once the child exists."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {p.pid for p in multiprocessing.active_children()}
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
        deadline = time.monotonic() + FORK_WAIT_SECONDS
        while time.monotonic() < deadline and not (
            {p.pid for p in multiprocessing.active_children()} - before
        ):
            time.sleep(0.01)
    finally:
        signal.signal(signal.SIGINT, previous)


def _scan_in_worker(
    path: Path, add_rows: Any, progress: Progress
) -> tuple[int, int, tuple[int, int] | None]:
    """Run the packet scan in a child process; take its rows and progress as they come."""
    context = multiprocessing.get_context("spawn")
    position = context.Array("q", 2)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=worker.run, args=(str(path), sender, position), daemon=True)
    child.start()
    sender.close()
    shown = [0, 0]

    def show() -> None:
        offset, count = position[0], position[1]
        if offset > shown[0]:
            progress(offset - shown[0], count - shown[1])
            shown[0], shown[1] = offset, count

    try:
        while True:
            if not receiver.poll(0.1):
                show()
                if not child.is_alive() and not receiver.poll(0):
                    raise InputError(path, "packet scan stopped unexpectedly")
                continue
            message = receiver.recv()
            if message[0] == "rows":
                add_rows(message[1])
            elif message[0] == "error":
                raise InputError(path, message[1], message[2])
            else:
                show()
                return message[1], message[2], message[3]
    finally:
        receiver.close()
        child.join(timeout=5)
        if child.is_alive():
            child.terminate()


def _meter_flows(
    path: Path, out: list[tuple[FlowRecord, list[Row]]], failure: list[BaseException]
) -> None:
    """NFStream's flows as flow records and flow evidence, converted as they arrive."""
    from nfstream import NFStreamer

    try:
        streamer = NFStreamer(
            source=str(path),
            decode_tunnels=True,
            statistical_analysis=False,
            splt_analysis=0,
            n_dissections=20,
            accounting_mode=IP_ACCOUNTING,
            n_meters=1,
        )
        out.extend(_flow_rows(flow) for flow in streamer)
    except Exception as exc:
        failure.append(exc)


# UDP ports of services: a flow whose first packet comes *from* one of these (and not to
# one) was seen from the server's side, e.g. a DHCP offer or a DNS answer without its query;
# it is turned round so that src is the client, as Zeek's likely_server_ports heuristic does.
UDP_SERVER_PORTS = frozenset({53, 67, 69, 123, 137, 138, 161, 162, 500, 514, 1900, 3702, 4500,
                              5353, 5355})


def seen_from_server_side(record: FlowRecord) -> bool:
    """A flow whose first packet came from the service's end: a UDP answer without its
    question, or a TCP connection caught mid-stream (from a well-known port to an
    ephemeral one)."""
    src, dst = record.src_port or 0, record.dst_port or 0
    if record.proto == UDP:
        return (src in UDP_SERVER_PORTS and dst not in UDP_SERVER_PORTS
                and not _group_address(record.dst_ip))
    return record.proto == TCP and src < WELL_KNOWN_PORTS <= dst


def _group_address(ip: str) -> bool:
    """Broadcast and multicast addresses never originate traffic."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return parsed.is_multicast or ip == "255.255.255.255" or ip.endswith(".255")


def reversed_flow(record: FlowRecord) -> FlowRecord:
    return record._replace(
        src_ip=record.dst_ip, src_port=record.dst_port, dst_ip=record.src_ip,
        dst_port=record.src_port, src_mac=record.dst_mac, dst_mac=record.src_mac,
        src_packets=record.dst_packets, dst_packets=record.src_packets,
        src_bytes=record.dst_bytes, dst_bytes=record.src_bytes,
    )


def _ms(value: int | None) -> float | None:
    return value / 1000.0 if value else None


def _flow_rows(flow: Any) -> tuple[FlowRecord, list[Row]]:
    """One NFStream flow as a flow record (src = client) and the evidence it carries:
    the application nDPI found (about the client), the service (about the server) and the
    TLS client fingerprint (JA4)."""
    app = flow.application_name or None
    server_name = text(flow.requested_server_name.encode()) if flow.requested_server_name else None
    user_agent = text(flow.user_agent.encode()) if flow.user_agent else None
    ja4 = flow.client_fingerprint or None
    record = FlowRecord(
        ts_first=_ms(flow.bidirectional_first_seen_ms),
        ts_last=_ms(flow.bidirectional_last_seen_ms),
        src_ip=flow.src_ip,
        src_port=flow.src_port,
        dst_ip=flow.dst_ip,
        dst_port=flow.dst_port,
        proto=flow.protocol,
        vlan=flow.vlan_id or None,
        src_mac=flow.src_mac or None,
        dst_mac=flow.dst_mac or None,
        src_packets=flow.src2dst_packets,
        dst_packets=flow.dst2src_packets,
        src_bytes=flow.src2dst_bytes,
        dst_bytes=flow.dst2src_bytes,
        app=app,
        server_name=server_name,
        user_agent=user_agent,
        ja4=ja4,
    )
    if seen_from_server_side(record):
        record = reversed_flow(record)
    facts: list[Row] = []
    ts = record.ts_first
    if app and app != "Unknown":
        facts.append((ts, record.src_ip, record.dst_ip, signals.APP, app))
        if record.dst_packets and record.dst_port:
            proto = PROTOCOL_NAMES.get(record.proto or 0, str(record.proto))
            facts.append((ts, record.dst_ip, record.src_ip, signals.SERVICE,
                          f"{proto}/{record.dst_port} {app}"))
    if ja4 and ja4.startswith(("t", "q", "d")):
        facts.append((ts, record.src_ip, record.dst_ip, signals.TLS_JA4, ja4))
    return record, facts
