"""nfdump CSV (``nfdump -r FILE -o csv``), plain or gzip-compressed: one flow per row.

Two header styles are read, by column name, so any column order or subset works:

- nfdump 1.6 (and early 1.7): ``ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,
  ...,svln,dvln,ismc,odmc,idmc,osmc,...``, protocol as a name (``TCP``), followed by a
  ``Summary`` block (its lines are not flows and are ignored);
- nfdump 1.7 (``output_csv.c``): ``firstSeen,duration,proto,srcAddr,srcPort,dstAddr,
  dstPort,packets,bytes,flows`` by default, and with ``-o 'csv:%...'`` any of
  ``lastSeen``, ``inPackets``/``outPackets``, ``inBytes``/``outBytes``, ``srcVlan``/
  ``dstVlan``, ``inSrcMac``/``inDstMac``/``outSrcMac``/``outDstMac``, ``sniName``, ``ja4``.

Each row is one (usually unidirectional) flow record, stored with src and dst as given:
packets and bytes from the in counters (``ipkt``/``ibyt``), the out counters
(``opkt``/``obyt``, zero unless the exporter is bidirectional) as the dst side's. VLAN:
the source VLAN, else the destination's (0 is none). MACs: the input source and
destination MACs (the output ones when the input ones are absent); the source MAC also
becomes ``mac`` evidence about the source address (see `flowio.MacEvidence`). A TLS SNI
and JA4 (nfdump 1.7 with payload) become ``tls.sni`` / ``tls.ja4`` about the source.

Times: nfdump prints ``YYYY-MM-DD HH:MM:SS[.mmm]`` in the local time zone of the machine
that ran it, which the file does not record; they are read as UTC (run nfdump with
``TZ=UTC``). Raw epoch seconds (``%tsr``) are read as such. The last-seen time is
``te``/``lastSeen``, else first-seen plus duration.

A row whose column count differs from the header's or without usable addresses is skipped
and counted in one warning (a cut last row is reported as a truncation).
"""

from __future__ import annotations

from pathlib import Path

from vendorwatch import signals
from vendorwatch.errors import InputWarning
from vendorwatch.ingest.flowio import (
    Lines,
    MacEvidence,
    addr,
    clean,
    count,
    head_lines,
    mac,
    number,
    port,
    protocol,
    timestamp,
)
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.store.batch import FlowRecord, IngestBatch

# Header name (1.6 and 1.7 spellings) -> field.
COLUMNS = {
    "ts": "first", "firstSeen": "first", "te": "last", "lastSeen": "last",
    "td": "duration", "duration": "duration",
    "sa": "src", "srcAddr": "src", "da": "dst", "dstAddr": "dst",
    "sp": "sport", "srcPort": "sport", "dp": "dport", "dstPort": "dport",
    "pr": "proto", "proto": "proto",
    "ipkt": "spkts", "inPackets": "spkts", "pkt": "spkts", "packets": "spkts",
    "opkt": "dpkts", "outPackets": "dpkts",
    "ibyt": "sbytes", "inBytes": "sbytes", "byt": "sbytes", "bytes": "sbytes",
    "obyt": "dbytes", "outBytes": "dbytes",
    "svln": "svlan", "srcVlan": "svlan", "dvln": "dvlan", "dstVlan": "dvlan",
    "ismc": "smac", "inSrcMac": "smac", "idmc": "dmac", "inDstMac": "dmac",
    "osmc": "osmac", "outSrcMac": "osmac", "odmc": "odmac", "outDstMac": "odmac",
    "sniName": "sni", "ja4": "ja4",
}
V16_PREFIX = ("ts", "te", "td", "sa", "da", "sp", "dp", "pr")
NO_VALUE = frozenset({"", "0", "no-ja4", "no-ja3"})


def header_fields(line: bytes) -> list[str] | None:
    """The column names of an nfdump CSV header line, or None when it is not one."""
    names = [n.strip() for n in line.decode("utf-8", "replace").strip().split(",")]
    if tuple(names[: len(V16_PREFIX)]) == V16_PREFIX:
        return names
    if {"firstSeen", "srcAddr", "dstAddr"} <= set(names):
        return names
    return None


class NfdumpReader(SourceReader):
    kind = "nfdump"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        lines = head_lines(path, head, count=1)
        return bool(lines) and header_fields(lines[0].removeprefix(b"\xef\xbb\xbf")) is not None

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        source = str(path)
        lines = Lines(path, progress)
        macs = MacEvidence()
        columns: dict[str, int] = {}
        width = 0
        header = b""
        records = 0
        summary = False
        for lineno, raw in lines:
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            if not columns:
                names = header_fields(line)
                if names is None:
                    lines.bad(lineno)
                    continue
                header, width = line.strip(), len(names)
                columns = {COLUMNS[n]: i for i, n in reversed(list(enumerate(names)))
                           if n in COLUMNS}
                continue
            if line.strip() == header:
                continue  # the header again (files concatenated)
            if summary or line.strip().startswith(b"Summary"):
                summary = True  # nfdump 1.6: the summary block after the flows
                continue
            parts = line.decode("utf-8", "replace").split(",")
            if len(parts) != width:
                lines.bad(lineno)
                continue
            record = _record({f: parts[i].strip() for f, i in columns.items()})
            if record is None:
                lines.bad(lineno)
                continue
            records += 1
            batch.flow(record)
            macs.seen(record.ts_first, record.src_ip, record.src_mac, source)
            macs.seen(record.ts_first, record.dst_ip, record.dst_mac, source, emit=False)
            if record.server_name:
                batch.evidence(record.ts_first, record.src_ip, record.dst_ip, signals.TLS_SNI,
                               record.server_name, source)
            if record.ja4:
                batch.evidence(record.ts_first, record.src_ip, record.dst_ip, signals.TLS_JA4,
                               record.ja4, source)
        macs.finish(batch)
        batch.records_read = records
        batch.bytes_read = lines.size
        return lines.finish(records, "flows")


def _record(row: dict[str, str]) -> FlowRecord | None:
    src = addr(row.get("src"))
    dst = addr(row.get("dst"))
    if src is None or dst is None:
        return None
    first = _time(row.get("first"))
    last = _time(row.get("last"))
    duration = number(row.get("duration"))
    if last is None and first is not None and duration is not None and duration >= 0:
        last = first + duration
    vlan = count(row.get("svlan"), 1, 4095) or count(row.get("dvlan"), 1, 4095)
    sni = row.get("sni")
    ja4 = row.get("ja4")
    return FlowRecord(
        ts_first=first,
        ts_last=last,
        src_ip=src,
        src_port=port(row.get("sport")),
        dst_ip=dst,
        dst_port=port(row.get("dport")),
        proto=protocol(row.get("proto")),
        vlan=vlan,
        src_mac=mac(row.get("smac")) or mac(row.get("osmac")),
        dst_mac=mac(row.get("dmac")) or mac(row.get("odmac")),
        src_packets=count(row.get("spkts")),
        dst_packets=count(row.get("dpkts")),
        src_bytes=count(row.get("sbytes")),
        dst_bytes=count(row.get("dbytes")),
        server_name=clean(sni) if sni not in NO_VALUE and sni is not None else None,
        ja4=clean(ja4) if ja4 not in NO_VALUE and ja4 is not None else None,
    )


def _time(value: str | None) -> float | None:
    """Epoch seconds from nfdump's local-time text (read as UTC) or raw seconds."""
    if not value or value.startswith("0000-00-00"):
        return None
    return timestamp(value)
