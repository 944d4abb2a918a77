"""Cisco Joy JSON flow records (one JSON object per line, plain or gzip-compressed), such
as the CESNET NEMEA-SIoT IoT data sets.

Each record with ``sa``/``da`` is one flow: ``time_start``/``time_end``, ``sp``/``dp``,
``pr``, ``num_pkts_out``/``num_pkts_in``, ``bytes_out``/``bytes_in`` (Joy counts
transport payload bytes, not IP-level ones). Joy names the end that sent the first packet
it saw ``sa``; a flow seen from the server's side (a DNS answer whose question Joy filed
apart, a TCP stream caught from a well-known port) is turned round, as the packet path
does, so that src is the client. Joy's configuration line and fields added by annotation
tools (``flow_type``) are ignored.

Evidence, preferring Joy's structured fields:

- ``dns``: ``dns.query`` for each ``qn``/``rn``, and ``dns.answer`` (``query=address``)
  for each ``a``/``aaaa`` answer in ``rr``, about the client.
- ``tls``: ``tls.sni`` from ``sni`` about the client; the first ``s_cert``'s subject and
  issuer (as RFC 4514 strings, most specific attribute first, like the packet path)
  about the server.
- ``http``: ``http.host`` / ``http.user_agent`` from the request headers (``out``) about
  the client, ``http.server`` from the response (``in``) about the server.
- ``idp_out`` / ``idp_in`` (the first IP packet each way, hex, when Joy ran with
  ``idp``): decoded by the packet path's extractors (`packets.scan.PacketScanner`) for
  what the structured fields lack: DNS answers (Joy often prints only the question's
  side), the TLS client hello's SNI and the certificate when it fits in that packet,
  HTTP and SSDP headers, SSH banners. A signal the structured fields gave for the flow
  is not taken from the payload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vendorwatch import signals
from vendorwatch.errors import InputWarning
from vendorwatch.ingest.capture import reversed_flow, seen_from_server_side
from vendorwatch.ingest.flowio import (
    Lines,
    addr,
    clean,
    count,
    first_json_objects,
    head_lines,
    json_line,
    number,
    port,
    protocol,
    timestamp,
)
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.ingest.packets.scan import LINK_RAW, PacketScanner
from vendorwatch.ingest.zeek import MAX_TS
from vendorwatch.store.batch import FlowRecord, IngestBatch

FLOW_KEYS = ("time_start", "num_pkts_out", "bytes_out")
MAX_IDP_HEX = 2 * 65_535
# X.509 attribute names as Joy (OpenSSL's long names) prints them -> RFC 4514 / OpenSSL
# short names, as the packet path writes them.
DN_NAMES = {
    "countryName": "C", "stateOrProvinceName": "ST", "localityName": "L",
    "organizationName": "O", "organizationalUnitName": "OU", "commonName": "CN",
    "streetAddress": "street", "domainComponent": "DC", "userId": "UID",
}
DN_SPECIAL = str.maketrans({c: "\\" + c for c in ',+"\\<>;'})

Row = tuple[float | None, str, str | None, str, str]


def is_joy_flow(obj: dict[str, Any]) -> bool:
    return "sa" in obj and "da" in obj and "pr" in obj and any(k in obj for k in FLOW_KEYS)


def is_joy_config(obj: dict[str, Any]) -> bool:
    """Joy's first output line describes its run (version, interface, options)."""
    return "version" in obj and ("interface" in obj or "joy_version" in obj) \
        and "sa" not in obj


class JoyReader(SourceReader):
    kind = "joy"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        objects = first_json_objects(head_lines(path, head, count=2), limit=2)
        if objects and is_joy_config(objects[0]):
            objects = objects[1:]
        return bool(objects) and is_joy_flow(objects[0])

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        lines = Lines(path, progress)
        source = str(path)
        records = 0
        for lineno, line in lines:
            if not line.strip():
                continue
            obj = json_line(line)
            if obj is None:
                lines.bad(lineno)
                continue
            if is_joy_config(obj):
                continue
            try:
                found = _flow(obj)
            except Exception:  # hostile values must never stop the source
                found = None
            if found is None:
                lines.bad(lineno)
                continue
            records += 1
            record, rows = found
            batch.flow(record)
            for ts, ip, peer, signal, value in rows:
                batch.evidence(ts, ip, peer, signal, value, source)
        batch.records_read = records
        batch.bytes_read = lines.size
        return lines.finish(records, "flows")


def _flow(obj: dict[str, Any]) -> tuple[FlowRecord, list[Row]] | None:
    src, dst = addr(obj.get("sa")), addr(obj.get("da"))
    if src is None or dst is None:
        return None
    first = _seconds(obj.get("time_start"))
    last = _seconds(obj.get("time_end"))
    if first is not None and (last is None or last < first):
        last = first  # Joy's end time can precede the start by a fraction for one-packet flows
    record = FlowRecord(
        ts_first=first,
        ts_last=last,
        src_ip=src,
        src_port=port(obj.get("sp")),
        dst_ip=dst,
        dst_port=port(obj.get("dp")),
        proto=protocol(obj.get("pr")),
        vlan=None,
        src_mac=None,
        dst_mac=None,
        src_packets=count(obj.get("num_pkts_out")),
        dst_packets=count(obj.get("num_pkts_in")),
        src_bytes=count(obj.get("bytes_out")),
        dst_bytes=count(obj.get("bytes_in")),
    )
    if seen_from_server_side(record):
        record = reversed_flow(record)
    client, server = record.src_ip, record.dst_ip
    rows: list[Row] = []

    def emit(ip: str, peer: str, signal: str, value: str | None) -> None:
        if value:
            rows.append((first, ip, peer, signal, value))

    # dns
    for message in _list(obj.get("dns")):
        if not isinstance(message, dict):
            continue
        name = clean(message.get("qn")) or clean(message.get("rn"))
        emit(client, server, signals.DNS_QUERY, name)
        for answer in _list(message.get("rr")):
            if not isinstance(answer, dict) or not name:
                continue
            for key in ("a", "aaaa"):
                address = addr(answer.get(key))
                if address is not None:
                    emit(client, server, signals.DNS_ANSWER, clean(f"{name}={address}"))
    # tls
    tls = obj.get("tls")
    if isinstance(tls, dict):
        sni = next((n for v in _list(tls.get("sni")) if (n := clean(v))), None)
        emit(client, server, signals.TLS_SNI, sni)
        certs = [c for c in _list(tls.get("s_cert")) if isinstance(c, dict)]
        if certs:
            emit(server, client, signals.TLS_CERT_SUBJECT, _dn(certs[0].get("subject")))
            emit(server, client, signals.TLS_CERT_ISSUER, _dn(certs[0].get("issuer")))
    # http
    for exchange in _list(obj.get("http")):
        if not isinstance(exchange, dict):
            continue
        request, response = _headers(exchange.get("out")), _headers(exchange.get("in"))
        emit(client, server, signals.HTTP_HOST, clean(request.get("host")))
        emit(client, server, signals.HTTP_USER_AGENT, clean(request.get("user-agent")))
        emit(server, client, signals.HTTP_SERVER, clean(response.get("server")))
    rows += _payload_rows(obj, first, {signal for _, _, _, signal, _ in rows})
    sni = next((value for _, ip, _, signal, value in rows
                if signal == signals.TLS_SNI and ip == client), None)
    if sni is not None:
        record = record._replace(server_name=sni)
    return record, rows


def _payload_rows(obj: dict[str, Any], ts: float | None, have: set[str]) -> list[Row]:
    """Evidence from the first packet each way (``idp_out``/``idp_in``), for the signals
    the structured fields did not give."""
    payloads = []
    for key in ("idp_out", "idp_in"):
        value = obj.get(key)
        if isinstance(value, str) and 40 <= len(value) <= MAX_IDP_HEX:
            try:
                payloads.append(bytes.fromhex(value))
            except ValueError:
                continue
    if not payloads:
        return []
    found: list[Row] = []

    def collect(ts_: float | None, ip: str, peer: str | None, signal: str, value: str) -> None:
        if signal not in have and signal != signals.MAC:
            found.append((ts_, ip, peer, signal, value))

    scanner = PacketScanner(collect)
    for packet in payloads:
        scanner.feed(ts or 0.0, LINK_RAW[0], packet)
    if ts is None:
        found = [(None, ip, peer, signal, value) for _, ip, peer, signal, value in found]
    return found


def _seconds(value: Any) -> float | None:
    """Joy's times are epoch seconds; a number too large for one (year 9999) is no time,
    not milliseconds."""
    found = number(value)
    return timestamp(value) if found is not None and 0 <= found < MAX_TS else None


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


def _headers(value: Any) -> dict[str, Any]:
    """HTTP headers of one direction of a Joy ``http`` record, by lower-case name."""
    if not isinstance(value, dict):
        return {}
    return {str(k).lower(): v for k, v in value.items()}


def _dn(items: Any) -> str | None:
    """A Joy certificate name (a list of one-key objects, in certificate order) as an
    RFC 4514 string, most specific attribute first."""
    parts = []
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if isinstance(value, str) and value:
                name = DN_NAMES.get(str(key), str(key))
                parts.append(f"{name}={value.translate(DN_SPECIAL)}")
    return clean(",".join(reversed(parts))) if parts else None
