"""pcap and pcapng captures: flows and application detection from NFStream (nDPI), identity
evidence from one pass of `packets.scan` over the same file, run side by side."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path
from typing import Any

from vendorwatch import signals
from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.ingest.packets.context import text
from vendorwatch.ingest.packets.records import RecordReader, capture_format
from vendorwatch.ingest.packets.scan import PacketScanner
from vendorwatch.store.batch import FlowRecord, IngestBatch

PROGRESS_EVERY = 4096
PROTOCOL_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}
UDP = 17
IP_ACCOUNTING = 1  # NFStream accounting_mode: IP-level bytes, as Zeek's *_ip_bytes


class CaptureReader(SourceReader):
    kind = "capture"

    def sniff(self, path: Path, head: bytes) -> bool:
        return path.is_file() and capture_format(head) is not None

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        source = str(path)
        flows: list[Any] = []
        failure: list[BaseException] = []
        meter = threading.Thread(
            target=_meter_flows, args=(path, flows, failure), name="nfstream", daemon=True
        )
        meter.start()

        def emit(ts: float | None, ip: str, peer: str | None, signal: str, value: str) -> None:
            batch.evidence(ts, ip, peer, signal, value, source)

        scanner = PacketScanner(emit)
        records = RecordReader(path)
        last_offset = 0
        count = 0
        for ts, linktype, frame in records:
            scanner.feed(ts, linktype, frame)
            count += 1
            if count % PROGRESS_EVERY == 0:
                progress(records.offset - last_offset, PROGRESS_EVERY)
                last_offset = records.offset
        progress(records.offset - last_offset, count % PROGRESS_EVERY)
        scanner.finish()
        meter.join()
        if failure:
            raise InputError(path, f"flow metering failed: {failure[0]}")
        for flow in flows:
            _store_flow(flow, batch, source)
        batch.records_read = records.records
        batch.bytes_read = records.offset
        warnings = []
        if records.truncation is not None:
            cut = records.truncation
            warnings.append(
                InputWarning(
                    path,
                    f"truncated capture: ingested {cut.records} complete records",
                    f"byte {cut.offset}",
                )
            )
        return warnings


def _meter_flows(path: Path, out: list[Any], failure: list[BaseException]) -> None:
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
        out.extend(streamer)
    except Exception as exc:
        failure.append(exc)


# UDP ports of services: a flow whose first packet comes *from* one of these (and not to
# one) was seen from the server's side, e.g. a DHCP offer or a DNS answer without its query;
# it is turned round so that src is the client, as Zeek's likely_server_ports heuristic does.
UDP_SERVER_PORTS = frozenset({53, 67, 69, 123, 137, 138, 161, 162, 500, 514, 1900, 3702, 4500,
                              5353, 5355})


def _group_address(ip: str) -> bool:
    """Broadcast and multicast addresses never originate traffic."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return parsed.is_multicast or ip == "255.255.255.255" or ip.endswith(".255")


def _reversed(record: FlowRecord) -> FlowRecord:
    return record._replace(
        src_ip=record.dst_ip, src_port=record.dst_port, dst_ip=record.src_ip,
        dst_port=record.src_port, src_mac=record.dst_mac, dst_mac=record.src_mac,
        src_packets=record.dst_packets, dst_packets=record.src_packets,
        src_bytes=record.dst_bytes, dst_bytes=record.src_bytes,
    )


def _ms(value: int | None) -> float | None:
    return value / 1000.0 if value else None


def _store_flow(flow: Any, batch: IngestBatch, source: str) -> None:
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
    if (
        record.proto == UDP
        and record.src_port in UDP_SERVER_PORTS
        and record.dst_port not in UDP_SERVER_PORTS
        and not _group_address(record.dst_ip)
    ):
        record = _reversed(record)
    batch.flow(record)
    ts = _ms(flow.bidirectional_first_seen_ms)
    if app and app != "Unknown":
        batch.evidence(ts, flow.src_ip, flow.dst_ip, signals.APP, app, source)
    if app and app != "Unknown" and flow.dst2src_packets and flow.dst_port:
        service = f"{PROTOCOL_NAMES.get(flow.protocol, flow.protocol)}/{flow.dst_port} {app}"
        batch.evidence(ts, flow.dst_ip, flow.src_ip, signals.SERVICE, service, source)
    if ja4 and ja4.startswith(("t", "q", "d")):
        batch.evidence(ts, flow.src_ip, flow.dst_ip, signals.TLS_JA4, ja4, source)
