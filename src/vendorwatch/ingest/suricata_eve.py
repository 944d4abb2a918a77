"""Suricata EVE JSON lines (eve.json), plain or gzip-compressed.

What each event type gives (``ip`` is the host a fact is about, ``peer`` the other end;
Suricata logs app-layer events in the flow's direction, so ``src_ip`` is the client):

- flow: one flow record (``flow.start``/``end``, ``pkts_toserver``/``toclient``,
  ``bytes_toserver``/``toclient`` as Suricata counts them, i.e. whole packets; the first
  ``vlan`` tag; ``ether`` MACs when logged), ``app_proto`` as the flow's application;
  ``app`` evidence about the client and ``service`` (``tcp/443 TLS``) about the server
  when it answered, as the packet path does; the client's MAC as ``mac`` evidence (see
  `flowio.MacEvidence`).
- dns: ``dns.query`` about the client for each name asked, and ``dns.answer``
  (``query=address`` for A/AAAA answers) about the client, from version 1 events (one
  event per answer record, ``rdata``), version 2 (``answers`` list, or only ``grouped``)
  and version 3 (``queries`` / ``answers``). The client is the end that is not on port
  53 (answers are logged from the server's side by some versions). mDNS, LLMNR and
  NetBIOS name traffic (ports 5353, 5355, 137) is skipped, as in the Zeek reader.
- tls: ``tls.sni`` and ``tls.ja4`` about the client; the certificate's ``subject`` and
  ``issuerdn`` (as Suricata prints them) about the server.
- http: ``http.host`` and ``http.user_agent`` about the client; ``http.server`` about the
  server from a ``server`` field (custom logging) or the ``Server`` response header.
- ssh: ``ssh.banner`` (``SSH-<proto_version>-<software_version>``) about each side.
- alert, stats, fileinfo, anomaly and the rest: read and ignored; a file of nothing
  else (an alerts-only eve.json) fails, as it says nothing about who talks to whom.

A line that is not a JSON object is skipped and counted in one warning (a cut last line
is reported as a truncation); input with no usable line fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vendorwatch import signals
from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.flowio import (
    Lines,
    MacEvidence,
    addr,
    clean,
    count,
    first_json_objects,
    head_lines,
    json_line,
    mac,
    port,
    protocol,
    timestamp,
)
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.store.batch import FlowRecord, IngestBatch

LOCAL_NAME_PORTS = frozenset({137, 5353, 5355})
ADDRESS_TYPES = frozenset({"A", "AAAA"})
NO_APP = frozenset({"", "failed", "unknown"})
PROTOCOL_NAMES = {6: "tcp", 17: "udp", 132: "sctp"}

Event = dict[str, Any]


def is_eve(obj: dict[str, Any]) -> bool:
    return isinstance(obj.get("event_type"), str) and "timestamp" in obj


class SuricataEveReader(SourceReader):
    kind = "suricata-eve"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        objects = first_json_objects(head_lines(path, head, count=1), limit=1)
        return bool(objects) and is_eve(objects[0])

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        lines = Lines(path, progress)
        mapper = _Mapper(batch, str(path))
        records = 0
        read = 0
        others: dict[str, int] = {}  # event types not read -> first line
        for lineno, line in lines:
            if not line.strip():
                continue
            event = json_line(line)
            if event is None or not is_eve(event):
                lines.bad(lineno)
                continue
            records += 1
            handler = HANDLERS.get(event["event_type"])
            if handler is None:
                others.setdefault(event["event_type"], lineno)
            else:
                read += 1
                try:
                    handler(mapper, event)
                except Exception:  # hostile values must never stop the source
                    lines.bad(lineno)
        mapper.macs.finish(batch)
        batch.records_read = records
        batch.bytes_read = lines.size
        warnings = lines.finish(records, "events")
        if records and not read:
            # e.g. an eve.json of alerts only: nothing here says who talks to whom
            types = ", ".join(sorted(others)[:5])
            raise InputError(path, f"no {', '.join(READ_TYPES[:-1])} or {READ_TYPES[-1]} "
                                   f"events to read ({records} events of types {clean(types)})",
                             f"line {min(others.values())}")
        return warnings


def _section(event: Event, key: str) -> dict[str, Any]:
    value = event.get(key)
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    return [] if value is None else [value]


class _Mapper:
    def __init__(self, batch: IngestBatch, source: str) -> None:
        self.batch = batch
        self.source = source
        self.macs = MacEvidence()

    def emit(self, ts: float | None, ip: str | None, peer: str | None, signal: str,
             value: str | None) -> None:
        if ip and value:
            self.batch.evidence(ts, ip, peer, signal, value, self.source)

    def flow(self, event: Event) -> None:
        src = addr(event.get("src_ip"))
        dst = addr(event.get("dest_ip"))
        if src is None or dst is None:
            return
        flow = _section(event, "flow")
        ether = _section(event, "ether")
        first = timestamp(flow.get("start")) or timestamp(event.get("timestamp"))
        last = timestamp(flow.get("end")) or first
        app_proto = clean(event.get("app_proto"))
        app = None if app_proto is None or app_proto.lower() in NO_APP else app_proto
        vlans = _list(event.get("vlan"))
        src_mac = mac(ether.get("src_mac")) or next(
            (m for v in _list(ether.get("src_macs")) if (m := mac(v))), None)
        dst_mac = mac(ether.get("dest_mac")) or next(
            (m for v in _list(ether.get("dest_macs")) if (m := mac(v))), None)
        record = FlowRecord(
            ts_first=first,
            ts_last=last,
            src_ip=src,
            src_port=port(event.get("src_port")),
            dst_ip=dst,
            dst_port=port(event.get("dest_port")),
            proto=protocol(event.get("proto")),
            vlan=count(vlans[0], 0, 4095) if vlans else None,
            src_mac=src_mac,
            dst_mac=dst_mac,
            src_packets=count(flow.get("pkts_toserver")),
            dst_packets=count(flow.get("pkts_toclient")),
            src_bytes=count(flow.get("bytes_toserver")),
            dst_bytes=count(flow.get("bytes_toclient")),
            app=app,
        )
        self.batch.flow(record)
        self.macs.seen(first, src, src_mac, self.source)
        self.macs.seen(first, dst, dst_mac, self.source, emit=False)
        if app is None:
            return
        name = app.upper()
        self.emit(first, src, dst, signals.APP, name)
        if record.dst_packets and record.dst_port is not None:
            proto = PROTOCOL_NAMES.get(record.proto or 0, str(record.proto))
            self.emit(first, dst, src, signals.SERVICE, f"{proto}/{record.dst_port} {name}")

    def dns(self, event: Event) -> None:
        sport, dport = port(event.get("src_port")), port(event.get("dest_port"))
        if sport in LOCAL_NAME_PORTS or dport in LOCAL_NAME_PORTS:
            return
        client, server = addr(event.get("src_ip")), addr(event.get("dest_ip"))
        if sport == 53 and dport != 53:  # logged from the server's side
            client, server = server, client
        if client is None:
            return
        ts = timestamp(event.get("timestamp"))
        dns = _section(event, "dns")
        # v3: queries / answers lists; v2 query and v1 events: rrname on the event itself.
        asked = [clean(q.get("rrname")) for q in _list(dns.get("queries")) if isinstance(q, dict)]
        if not asked and dns.get("type") in ("query", "request"):
            asked = [clean(dns.get("rrname"))]
        for name in asked:
            self.emit(ts, client, server, signals.DNS_QUERY, name)
        question = next((n for n in asked if n), None)
        answers: list[tuple[str | None, Any]] = []
        v1_answer = dns.get("type") == "answer" and "rdata" in dns  # one answer per event
        if v1_answer and dns.get("rrtype") in ADDRESS_TYPES:
            answers.append((clean(dns.get("rrname")), dns.get("rdata")))
        for answer in _list(dns.get("answers")):
            if isinstance(answer, dict) and answer.get("rrtype") in ADDRESS_TYPES:
                answers.append((clean(answer.get("rrname")), answer.get("rdata")))
        if not answers and isinstance(dns.get("grouped"), dict):
            owner = question or clean(dns.get("rrname"))
            for rrtype in ADDRESS_TYPES:
                answers += [(owner, value) for value in _list(dns["grouped"].get(rrtype))]
        if answers and question is None:
            # v1/v2 answers name the question in rrname (of the event or, behind a CNAME
            # chain, of the first answer).
            question = clean(dns.get("rrname")) or next(
                (clean(a.get("rrname")) for a in _list(dns.get("answers"))
                 if isinstance(a, dict) and a.get("rrname")), None)
        for owner, rdata in answers:
            address = addr(rdata)
            name = question or owner
            if address is not None and name:
                self.emit(ts, client, server, signals.DNS_ANSWER, clean(f"{name}={address}"))

    def tls(self, event: Event) -> None:
        client, server = addr(event.get("src_ip")), addr(event.get("dest_ip"))
        ts = timestamp(event.get("timestamp"))
        tls = _section(event, "tls")
        self.emit(ts, client, server, signals.TLS_SNI, clean(tls.get("sni")))
        ja4 = clean(tls.get("ja4"))
        if isinstance(tls.get("ja4"), dict):
            ja4 = clean(tls["ja4"].get("hash"))
        self.emit(ts, client, server, signals.TLS_JA4, ja4)
        self.emit(ts, server, client, signals.TLS_CERT_SUBJECT, clean(tls.get("subject")))
        self.emit(ts, server, client, signals.TLS_CERT_ISSUER, clean(tls.get("issuerdn")))

    def http(self, event: Event) -> None:
        client, server = addr(event.get("src_ip")), addr(event.get("dest_ip"))
        ts = timestamp(event.get("timestamp"))
        http = _section(event, "http")
        self.emit(ts, client, server, signals.HTTP_HOST, clean(http.get("hostname")))
        self.emit(ts, client, server, signals.HTTP_USER_AGENT, clean(http.get("http_user_agent")))
        banner = clean(http.get("server"))
        if banner is None:
            banner = next(
                (clean(h.get("value")) for h in _list(http.get("response_headers"))
                 if isinstance(h, dict) and str(h.get("name", "")).lower() == "server"), None)
        self.emit(ts, server, client, signals.HTTP_SERVER, banner)

    def ssh(self, event: Event) -> None:
        client, server = addr(event.get("src_ip")), addr(event.get("dest_ip"))
        ts = timestamp(event.get("timestamp"))
        ssh = _section(event, "ssh")
        for side, ip, peer in (("client", client, server), ("server", server, client)):
            info = _section(ssh, side)
            software = clean(info.get("software_version"))
            if software is None:
                continue
            version = clean(info.get("proto_version"))
            self.emit(ts, ip, peer, signals.SSH_BANNER,
                      f"SSH-{version}-{software}" if version else software)


HANDLERS = {
    "flow": _Mapper.flow,
    "dns": _Mapper.dns,
    "tls": _Mapper.tls,
    "http": _Mapper.http,
    "ssh": _Mapper.ssh,
}
READ_TYPES = tuple(HANDLERS)
