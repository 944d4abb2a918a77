"""Zeek logs: a directory of logs (one source) or a single log, TSV or JSON lines, plain or
gzip-compressed, from Zeek or Bro 2.x, mapped onto the same evidence signals and flows as
the packet path (`vendorwatch.ingest.packets`).

What each log gives (``ip`` is the host the fact is about, ``peer`` the other end):

- conn: one flow per row (IP-level bytes from ``*_ip_bytes``); ``service`` about the
  responder (``tcp/22 SSH``) when the responder answered and Zeek named the protocol; and
  ``mac`` from ``orig_l2_addr`` about the originator only (the responder's address is
  usually the gateway's). As in the packet path, a MAC seen with more than
  `MAX_MACS_PER_HOST` addresses (counting both ends of every connection) is a router's and
  is skipped, and so are globally routed addresses (a frame from one has crossed a router),
  group MACs and unspecified addresses.
- dns: ``dns.query`` and ``dns.answer`` (``query=address`` for each address answer) about
  the client; ``original_query`` (the name as sent) is preferred to Zeek's lower-cased
  ``query``, as the packet path keeps the case. Zeek logs no owner names, so behind a
  CNAME the answer is paired with the query, where the packet path names the A record's
  owner. mDNS, LLMNR and NetBIOS rows (ports 5353, 5355, 137) are skipped: the packet path
  reads only unicast DNS there, and Zeek's dns.log lacks the owner names mDNS needs.
- http: ``http.host`` and ``http.user_agent`` about the client; ``http.server`` about the
  server when a deployment logs a ``server`` field.
- ssl: ``tls.sni`` about the client; the leaf certificate's subject and issuer about the
  server, from the row itself (old ``subject``/``issuer`` fields) or joined with x509.log
  through the first of ``cert_chain_fps`` / ``cert_chain_fuids``. x509 rows no ssl row
  points at are skipped (there is no host to attach them to). Values that are not
  distinguished names (btest masks them as ``+``) are dropped.
- dhcp: ``mac``, ``dhcp.hostname``, ``dhcp.domain`` and ``dhcp.vendor_class`` (from
  ``client_software``, policy/protocols/dhcp/software) about the client's address
  (assigned, else client; Bro 2.4's ``assigned_ip`` / ``id.orig_h``; never the requested
  address, which any client may claim).
  Rows without an address wait for the end of the source and go to the last address
  assigned to that MAC, else the address conn.log saw it with, else the MAC itself, as
  the packet path does. Zeek's ``domain`` is the one the server hands out (option 15 in
  OFFER/ACK); the packet path reads option 15 from client messages only. The all-zero
  MAC (Bro 2.4 writes it for messages without one) is no MAC.
- ssh: ``ssh.banner``: the client string about the client, the server string about the
  server.
- software: ``software`` (``unparsed_version``, else name and version) about ``host``.
- known_services: ``service`` (``tcp/22 SSH``) about ``host``.
- known_certs: ``tls.cert_subject`` / ``tls.cert_issuer`` about ``host``.
- known_devices: ``dhcp.hostname`` about the MAC's address when the source maps it (as for
  DHCP rows), else about the MAC string itself.
- known_hosts: nothing; that a host exists says nothing about who made it, and its flows
  are in conn.log anyway.

Other log types in a directory are skipped without being read. Strings have Zeek's
``\\xNN`` escapes undone and then go through `packets.context.text`, as packet bytes do.
A TSV row whose column count differs from ``#fields``, or a line that is not JSON, fails
the whole source (all its logs) with the file and line.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import math
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

from vendorwatch import signals
from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.ingest.packets.context import text
from vendorwatch.ingest.packets.scan import MAX_MACS_PER_HOST
from vendorwatch.store.batch import FlowRecord, IngestBatch

GZIP_MAGIC = b"\x1f\x8b"
PROBE_BYTES = 65_536
MAX_FIRST_LINE = 1 << 20
PROGRESS_EVERY = 8192

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
LOCAL_NAME_PORTS = frozenset({137, 5353, 5355})  # NetBIOS, mDNS, LLMNR
UNSPECIFIED = frozenset({"0.0.0.0", "255.255.255.255", "::"})
MAX_TS = 1e11  # seconds; larger JSON numbers are milliseconds (JSON::TS_MILLIS)
MAX_COUNT = (1 << 63) - 1
JSON_ID_KEYS = {
    "id_orig_h": "id.orig_h",
    "id_orig_p": "id.orig_p",
    "id_resp_h": "id.resp_h",
    "id_resp_p": "id.resp_p",
}

Row = dict[str, Any]


# ---------------------------------------------------------------------------------------
# Field values. TSV rows hold the raw (still escaped) bytes of each field, None when unset
# or empty; JSON rows hold what json.loads gave. Every accessor takes either.


_HEX = frozenset(b"0123456789abcdefABCDEF")


def _unescape(raw: bytes) -> bytes:
    """Zeek's ``\\xNN`` escapes (non-printable bytes, separators, backslash) undone."""
    if b"\\x" not in raw:
        return raw
    parts = raw.split(b"\\x")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) >= 2 and part[0] in _HEX and part[1] in _HEX:
            out.append(int(part[:2], 16))
            out += part[2:]
        else:
            out += b"\\x"
            out += part
    return bytes(out)


def _text(value: Any) -> str | None:
    """A string field as stored text (unescaped, trimmed, capped), or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, bytes):
        raw = value
    elif isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
    elif isinstance(value, int | float):
        return str(value)
    else:
        return None
    return text(_unescape(raw)) or None


def _word(value: Any) -> str | None:
    """A short ASCII token (proto, enum), lower-case."""
    if isinstance(value, bytes):
        return value.decode("ascii", "replace").strip().lower() or None
    if isinstance(value, str):
        return value.strip().lower() or None
    return None


def int_value(value: Any, low: int = 0, high: int = MAX_COUNT) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = int(value)
    elif not isinstance(value, int):
        if not isinstance(value, bytes | str):
            return None
        try:
            value = int(value)
        except ValueError:
            return None
    return value if low <= value <= high else None


def float_value(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, bytes | str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def timestamp_value(value: Any) -> float | None:
    """Epoch seconds from a Zeek time: epoch number (btest masks give None), epoch
    milliseconds, or an ISO-8601 string (JSON::TS_ISO8601)."""
    number = float_value(value)
    dated = False
    if number is None and isinstance(value, str) and "-" in value:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        number, dated = moment.timestamp(), True
    if number is None or number < 0:
        return None
    if number >= MAX_TS and not isinstance(value, bytes) and not dated:
        number /= 1000.0  # JSON::TS_MILLIS
    return number if number < MAX_TS else None


def _items(value: Any, set_sep: bytes) -> list[Any]:
    """Elements of a set or vector field."""
    if value is None:
        return []
    if isinstance(value, bytes):
        return value.split(set_sep)
    if isinstance(value, list):
        return value
    return [value]


_ADDR_CACHE: dict[Any, str] = {}
_MAC_CACHE: dict[Any, str] = {}
_HEX_DIGITS = frozenset("0123456789abcdef")


def _normalised(value: Any, cache: dict[Any, str], normalise: Any, limit: int) -> str | None:
    """`normalise(text)` of a log value ('' when invalid), cached since values repeat."""
    if value is None:
        return None
    try:
        found = cache.get(value)
    except TypeError:  # unhashable JSON value
        return None
    if found is None:
        if isinstance(value, bytes):
            candidate = value.decode("ascii", "replace")
        elif isinstance(value, str):
            candidate = value
        else:
            return None
        found = normalise(candidate.strip())
        if len(cache) < limit:
            cache[value] = found
    return found or None


def _address_text(candidate: str) -> str:
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return ""


def _mac_text(candidate: str) -> str:
    candidate = candidate.lower().replace("-", ":")
    octets = candidate.split(":")
    ok = len(octets) == 6 and all(len(o) == 2 and set(o) <= _HEX_DIGITS for o in octets)
    return candidate if ok and candidate != "00:00:00:00:00:00" else ""


def address_value(value: Any) -> str | None:
    """An IP address in canonical text form, or None."""
    return _normalised(value, _ADDR_CACHE, _address_text, 1_000_000)


def _unicast(value: Any) -> str | None:
    found = address_value(value)
    return None if found is None or found in UNSPECIFIED else found


def mac_value(value: Any) -> str | None:
    """A MAC address as lower-case colon-separated hex, or None (also for all zeros,
    which Bro's dhcp.log writes for messages without a client hardware address)."""
    return _normalised(value, _MAC_CACHE, _mac_text, 100_000)


def _dn(value: Any) -> str | None:
    """A certificate distinguished name; anything without ``=`` (btest's ``+``) is not."""
    found = _text(value)
    return found if found and "=" in found else None


# ---------------------------------------------------------------------------------------
# Which files are Zeek logs.

KNOWN_TYPES = frozenset(
    {
        "conn", "dns", "http", "ssl", "x509", "dhcp", "ssh", "software",
        "known_hosts", "known_services", "known_certs", "known_devices",
    }
)


@dataclass
class ZeekLog:
    """One log file of a source, as probed from its first bytes."""

    path: Path
    fmt: str  # "tsv" | "json"
    log_type: str | None  # from #path, the first row's _path, or the file name
    compressed: bool
    size: int
    row_paths: bool = False  # JSON rows name their own log type (``_path``)


def _log_type(raw: bytes | str) -> str:
    """A log type name as given (``#path``, ``_path``), reduced to safe characters."""
    name = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    return "".join(c for c in name.strip().lower() if c.isascii() and (c.isalnum() or c in
                                                                        "_-."))[:64]


def _type_from_name(name: str) -> str:
    """``conn.log``, ``conn.00:00:00-01:00:00.log.gz``, ``dns.log.json`` -> conn, dns."""
    return _log_type(name.split(".", 1)[0])


def open_maybe_gzip(path: Path) -> tuple[IO[bytes], IO[bytes], bool]:
    """(stream of the log's bytes, the underlying file, compressed?)."""
    raw: IO[bytes] = path.open("rb")
    try:
        compressed = raw.read(2) == GZIP_MAGIC
        raw.seek(0)
    except OSError:
        raw.close()
        raise
    if compressed:
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")), raw, True
    return raw, raw, False


def _flatten(obj: dict[str, Any]) -> dict[str, Any]:
    """Zeek JSON rows as flat ``a.b`` keys (some pipelines nest ``id``, or write
    ``id_orig_h``)."""
    if not any(isinstance(v, dict) for v in obj.values()) and not any(
        k in JSON_ID_KEYS for k in obj
    ):
        return obj
    flat: dict[str, Any] = {}

    def walk(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(name + ".", value)
            else:
                flat[JSON_ID_KEYS.get(name, name)] = value

    walk("", obj)
    return flat


def _head(path: Path) -> tuple[bytes, bool, int]:
    """The first bytes of a log (decompressed; a cut gzip stream gives what it has), whether
    it is compressed, and its size. For JSON, the whole first line up to MAX_FIRST_LINE."""
    with path.open("rb") as raw:
        size = os.fstat(raw.fileno()).st_size
        chunk = raw.read(PROBE_BYTES)
        if chunk[:2] != GZIP_MAGIC:
            head = chunk
            if head.lstrip()[:1] == b"{" and b"\n" not in head.lstrip():
                head += raw.read(MAX_FIRST_LINE)
            return head, False, size
        inflate = zlib.decompressobj(wbits=31)
        head = b""
        while chunk and len(head) < MAX_FIRST_LINE:
            head += inflate.decompress(chunk, MAX_FIRST_LINE - len(head))
            if len(head) >= PROBE_BYTES and (
                head.lstrip()[:1] != b"{" or b"\n" in head.lstrip()
            ):
                break
            if inflate.eof:
                break
            chunk = inflate.unconsumed_tail or raw.read(PROBE_BYTES)
        return head, True, size


def probe(path: Path) -> ZeekLog | None:
    """The file as a Zeek log, or None when its content is not one.

    TSV: the first line (after btest's ``##`` banner lines) is ``#separator``. JSON: the
    first non-empty line is an object with ``ts`` and ``uid``, ``id.orig_h`` or ``_path``,
    or with ``ts`` in a file named after a log type this reader maps (x509, dhcp,
    software and the known_* logs carry no connection id)."""
    try:
        head, compressed, size = _head(path)
    except (OSError, zlib.error):
        return None
    head = head.removeprefix(b"\xef\xbb\xbf")
    name_type = _type_from_name(path.name)
    lines = head.split(b"\n")
    index = 0
    while index < len(lines) - 1 and lines[index].startswith(b"##"):
        index += 1
    if lines[index].startswith(b"#separator"):
        log_type = None
        for line in lines[index:]:
            if not line.startswith(b"#"):
                break
            if line.startswith(b"#path"):
                log_type = _log_type(line[5:]) or None
        return ZeekLog(path, "tsv", log_type or name_type, compressed, size)
    first = next((line for line in lines if line.strip()), b"")
    if not first.lstrip().startswith(b"{"):
        return None
    try:
        obj = json.loads(first)
    except (ValueError, RecursionError):  # RecursionError: absurdly nested (hostile) JSON
        return None
    if not isinstance(obj, dict):
        return None
    obj = _flatten(obj)
    strict = "_path" in obj or ("ts" in obj and ("uid" in obj or "id.orig_h" in obj))
    if not strict and not ("ts" in obj and name_type in KNOWN_TYPES):
        return None
    row_type = obj.get("_path")
    row_paths = isinstance(row_type, str) and bool(row_type)
    log_type = _log_type(row_type) if isinstance(row_type, str) and row_type else name_type
    return ZeekLog(path, "json", log_type, compressed, size, row_paths)


def _candidates(path: Path) -> Iterator[Path]:
    """Files under a directory, hidden ones (and those in hidden directories) left out."""
    for child in sorted(path.rglob("*")):
        if child.is_file() and not any(
            part.startswith(".") for part in child.relative_to(path).parts
        ):
            yield child


def zeek_logs(path: Path) -> list[ZeekLog]:
    """The Zeek logs of a directory (recursively) or the single log `path` is."""
    if path.is_dir():
        return [log for child in _candidates(path) if (log := probe(child)) is not None]
    log = probe(path)
    return [log] if log is not None else []


# ---------------------------------------------------------------------------------------
# From rows to evidence and flows.

CONN_FIELDS = (
    "ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "ip_proto", "service",
    "duration", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes", "orig_l2_addr",
    "resp_l2_addr", "vlan",
)
ID_FIELDS = ("ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p")
FIELDS: dict[str, tuple[str, ...]] = {
    "conn": CONN_FIELDS,
    "dns": (*ID_FIELDS, "query", "original_query", "answers"),
    "http": (*ID_FIELDS, "host", "user_agent", "server"),
    "ssl": (*ID_FIELDS, "server_name", "subject", "issuer", "cert_chain_fps",
            "cert_chain_fuids"),
    "x509": ("ts", "fingerprint", "id", "certificate.subject", "certificate.issuer"),
    "dhcp": (*ID_FIELDS, "mac", "host_name", "domain", "client_software", "assigned_addr",
             "assigned_ip", "client_addr"),
    "ssh": (*ID_FIELDS, "client", "server"),
    "software": ("ts", "host", "name", "version.major", "version.minor", "version.minor2",
                 "version.minor3", "version.addl", "unparsed_version"),
    "known_hosts": (),
    "known_services": ("ts", "host", "port_num", "port_proto", "service"),
    "known_certs": ("ts", "host", "subject", "issuer_subject"),
    "known_devices": ("ts", "mac", "dhcp_host_name"),
}


class _Mapper:
    """Turns rows of every log of one source into evidence and flows. Facts that need
    another log (certificates, MAC-to-address) wait for `finish`."""

    def __init__(self, batch: IngestBatch) -> None:
        self.batch = batch
        self.source = ""
        self.set_sep = b","
        self.certs: dict[str, tuple[str | None, str | None]] = {}
        # (ts, server, client, certificate key, source)
        self.pending_certs: list[tuple[float | None, str, str, str, str]] = []
        self.dhcp_address: dict[str, str] = {}
        # (ts, mac, signal, value, source)
        self.pending_macs: list[tuple[float | None, str, str, str, str]] = []
        self.mac_pairs: dict[tuple[str, str], tuple[float | None, str]] = {}
        self.mac_hosts: dict[str, set[str]] = {}

    def emit(self, ts: float | None, ip: str, peer: str | None, signal: str,
             value: str | None) -> None:
        if value:
            self.batch.evidence(ts, ip, peer, signal, value, self.source)

    # conn.log -------------------------------------------------------------------------

    def conn(self, row: Row) -> None:
        orig = address_value(row.get("id.orig_h"))
        resp = address_value(row.get("id.resp_h"))
        if orig is None or resp is None:
            return
        ts = timestamp_value(row.get("ts"))
        proto_name = _word(row.get("proto"))
        proto = PROTOCOLS.get(proto_name or "")
        if proto == 1 and ":" in orig:
            proto = 58
        if proto is None:
            proto = int_value(row.get("ip_proto"), 0, 255)
        duration = float_value(row.get("duration"))
        ts_last = ts
        if ts is not None and duration is not None and 0 <= duration < MAX_TS:
            ts_last = ts + duration
        src_mac = mac_value(row.get("orig_l2_addr"))
        dst_mac = mac_value(row.get("resp_l2_addr"))
        resp_port = int_value(row.get("id.resp_p"), 0, 65535)
        resp_pkts = int_value(row.get("resp_pkts"))
        service = _text(row.get("service"))
        self.batch.flow(
            FlowRecord(
                ts_first=ts,
                ts_last=ts_last,
                src_ip=orig,
                src_port=int_value(row.get("id.orig_p"), 0, 65535),
                dst_ip=resp,
                dst_port=resp_port,
                proto=proto,
                vlan=int_value(row.get("vlan"), 0, 4095),
                src_mac=src_mac,
                dst_mac=dst_mac,
                src_packets=int_value(row.get("orig_pkts")),
                dst_packets=resp_pkts,
                src_bytes=int_value(row.get("orig_ip_bytes")),
                dst_bytes=int_value(row.get("resp_ip_bytes")),
                app=service,
            )
        )
        if src_mac is not None:
            self._mac_seen(orig, src_mac, ts, emit=True)
        if dst_mac is not None:
            self._mac_seen(resp, dst_mac, ts, emit=False)
        if service and resp_pkts and resp_port is not None and proto_name:
            names = [s for s in service.upper().split(",") if s and not s.startswith("-")]
            if names:
                value = f"{proto_name}/{resp_port} {','.join(names)}"
                self.emit(ts, resp, orig, signals.SERVICE, value)

    def _mac_seen(self, ip: str, mac: str, ts: float | None, emit: bool) -> None:
        hosts = self.mac_hosts.get(mac)
        if hosts is None:
            hosts = self.mac_hosts[mac] = set()
        if len(hosts) > MAX_MACS_PER_HOST:
            return  # a router's MAC: nothing more to learn
        hosts.add(ip)
        if emit and (ip, mac) not in self.mac_pairs:
            self.mac_pairs[(ip, mac)] = (ts, self.source)

    # dns, http, ssl, x509, ssh ------------------------------------------------------

    def dns(self, row: Row) -> None:
        client = address_value(row.get("id.orig_h"))
        if client is None:
            return
        if (
            int_value(row.get("id.orig_p")) in LOCAL_NAME_PORTS
            or int_value(row.get("id.resp_p")) in LOCAL_NAME_PORTS
        ):
            return
        server = address_value(row.get("id.resp_h"))
        name = _text(row.get("original_query")) or _text(row.get("query"))
        if name is None:
            return
        ts = timestamp_value(row.get("ts"))
        self.emit(ts, client, server, signals.DNS_QUERY, name)
        for item in _items(row.get("answers"), self.set_sep):
            address = address_value(item)
            if address is not None:
                self.emit(ts, client, server, signals.DNS_ANSWER, text(
                    f"{name}={address}".encode()))

    def http(self, row: Row) -> None:
        client = address_value(row.get("id.orig_h"))
        server = address_value(row.get("id.resp_h"))
        ts = timestamp_value(row.get("ts"))
        if client is not None:
            self.emit(ts, client, server, signals.HTTP_HOST, _text(row.get("host")))
            self.emit(ts, client, server, signals.HTTP_USER_AGENT, _text(row.get("user_agent")))
        if server is not None:
            self.emit(ts, server, client, signals.HTTP_SERVER, _text(row.get("server")))

    def ssl(self, row: Row) -> None:
        client = address_value(row.get("id.orig_h"))
        server = address_value(row.get("id.resp_h"))
        ts = timestamp_value(row.get("ts"))
        if client is not None:
            self.emit(ts, client, server, signals.TLS_SNI, _text(row.get("server_name")))
        if server is None or client is None:
            return
        subject = _dn(row.get("subject"))
        issuer = _dn(row.get("issuer"))
        if subject or issuer:
            self._certificate(ts, server, client, subject, issuer)
            return
        chain = _items(row.get("cert_chain_fps"), self.set_sep) or _items(
            row.get("cert_chain_fuids"), self.set_sep
        )
        key = _text(chain[0]) if chain else None
        if key is None:
            return
        cert = self.certs.get(key)
        if cert is not None:
            self._certificate(ts, server, client, *cert)
        else:
            self.pending_certs.append((ts, server, client, key, self.source))

    def _certificate(self, ts: float | None, server: str, client: str, subject: str | None,
                     issuer: str | None) -> None:
        self.emit(ts, server, client, signals.TLS_CERT_SUBJECT, subject)
        self.emit(ts, server, client, signals.TLS_CERT_ISSUER, issuer)

    def x509(self, row: Row) -> None:
        cert = (_dn(row.get("certificate.subject")), _dn(row.get("certificate.issuer")))
        if cert == (None, None):
            return
        for field in ("fingerprint", "id"):
            key = _text(row.get(field))
            if key is not None:
                self.certs.setdefault(key, cert)

    def ssh(self, row: Row) -> None:
        client = address_value(row.get("id.orig_h"))
        server = address_value(row.get("id.resp_h"))
        ts = timestamp_value(row.get("ts"))
        if client is not None:
            self.emit(ts, client, server, signals.SSH_BANNER, _text(row.get("client")))
        if server is not None:
            self.emit(ts, server, client, signals.SSH_BANNER, _text(row.get("server")))

    # dhcp and the policy logs -------------------------------------------------------

    def dhcp(self, row: Row) -> None:
        mac = mac_value(row.get("mac"))
        assigned = _unicast(row.get("assigned_addr")) or _unicast(row.get("assigned_ip"))
        client = _unicast(row.get("client_addr"))
        if client is None and "client_addr" not in row:  # Bro 2.4: the port-68 end
            if int_value(row.get("id.orig_p")) == 68:
                client = _unicast(row.get("id.orig_h"))
            elif int_value(row.get("id.resp_p")) == 68:
                client = _unicast(row.get("id.resp_h"))
        # requested_addr is only asked for, anyone's to claim: never a host's address here.
        if mac is not None:
            if assigned is not None:
                self.dhcp_address[mac] = assigned
            if client is not None:
                self.dhcp_address.setdefault(mac, client)
        ts = timestamp_value(row.get("ts"))
        facts = (
            (signals.MAC, mac),
            (signals.DHCP_HOSTNAME, _text(row.get("host_name"))),
            (signals.DHCP_DOMAIN, _text(row.get("domain"))),
            (signals.DHCP_VENDOR_CLASS, _text(row.get("client_software"))),
        )
        host = assigned or client
        for signal, value in facts:
            if not value:
                continue
            if host is not None:
                self.emit(ts, host, None, signal, value)
            elif mac is not None:
                self.pending_macs.append((ts, mac, signal, value, self.source))

    def software(self, row: Row) -> None:
        host = address_value(row.get("host"))
        if host is None:
            return
        value = _text(row.get("unparsed_version"))
        if value is None:
            name = _text(row.get("name"))
            if name is None:
                return
            parts = [int_value(row.get(f"version.{p}")) for p in ("major", "minor", "minor2",
                                                            "minor3")]
            numbers = [str(p) for p in parts if p is not None]
            addl = _text(row.get("version.addl"))
            value = " ".join(x for x in (name, ".".join(numbers), addl) if x)
        self.emit(timestamp_value(row.get("ts")), host, None, signals.SOFTWARE, value)

    def known_hosts(self, row: Row) -> None:
        """Presence only: no identity signal (see the module docstring)."""

    def known_services(self, row: Row) -> None:
        host = address_value(row.get("host"))
        port = int_value(row.get("port_num"), 0, 65535)
        proto = _word(row.get("port_proto"))
        if host is None or port is None or proto is None:
            return
        names = sorted(
            {n for item in _items(row.get("service"), self.set_sep) if (n := _text(item))}
        )
        value = f"{proto}/{port}" + (f" {','.join(names)}" if names else "")
        self.emit(timestamp_value(row.get("ts")), host, None, signals.SERVICE, value)

    def known_certs(self, row: Row) -> None:
        host = address_value(row.get("host"))
        if host is None:
            return
        ts = timestamp_value(row.get("ts"))
        self.emit(ts, host, None, signals.TLS_CERT_SUBJECT, _dn(row.get("subject")))
        self.emit(ts, host, None, signals.TLS_CERT_ISSUER, _dn(row.get("issuer_subject")))

    def known_devices(self, row: Row) -> None:
        mac = mac_value(row.get("mac"))
        name = _text(row.get("dhcp_host_name"))
        if mac is not None and name:
            self.pending_macs.append(
                (timestamp_value(row.get("ts")), mac, signals.DHCP_HOSTNAME, name, self.source)
            )

    # the end of the source ----------------------------------------------------------

    def finish(self) -> None:
        for ts, server, client, key, source in self.pending_certs:
            cert = self.certs.get(key)
            if cert is not None:
                self.source = source
                self._certificate(ts, server, client, *cert)
        mac_to_ip: dict[str, str] = {}
        for (ip, mac), (ts, source) in self.mac_pairs.items():
            if len(self.mac_hosts[mac]) > MAX_MACS_PER_HOST or int(mac[:2], 16) & 1:
                continue
            if ip in UNSPECIFIED or ipaddress.ip_address(ip).is_global:
                continue
            if ":" not in ip:
                mac_to_ip.setdefault(mac, ip)
            self.batch.evidence(ts, ip, None, signals.MAC, mac, source)
        for ts, mac, signal, value, source in self.pending_macs:
            host = self.dhcp_address.get(mac) or mac_to_ip.get(mac) or mac
            self.batch.evidence(ts, host, None, signal, value, source)


# What reads each log type. Plain functions, not bound methods kept on the mapper: a mapper
# holding its own bound methods is a reference cycle, and a cycle that keeps a DuckDB
# connection alive until some later garbage collection can be collected in a process
# forked meanwhile (NFStream's meter), where closing the connection crashes.
HANDLERS: dict[str, Callable[[_Mapper, Row], None]] = {
    "conn": _Mapper.conn,
    "dns": _Mapper.dns,
    "http": _Mapper.http,
    "ssl": _Mapper.ssl,
    "x509": _Mapper.x509,
    "dhcp": _Mapper.dhcp,
    "ssh": _Mapper.ssh,
    "software": _Mapper.software,
    "known_hosts": _Mapper.known_hosts,
    "known_services": _Mapper.known_services,
    "known_certs": _Mapper.known_certs,
    "known_devices": _Mapper.known_devices,
}


# ---------------------------------------------------------------------------------------
# Reading files.


class _Meter:
    """Progress over all logs of a source, in bytes of the files (compressed or not)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.rows = 0
        self.pending_rows = 0
        self.reported = 0  # bytes reported for the current file

    def row(self, raw: IO[bytes]) -> None:
        self.rows += 1
        self.pending_rows += 1
        if self.pending_rows >= PROGRESS_EVERY:
            try:
                position = raw.tell()
            except (OSError, ValueError):
                position = self.reported
            self.progress(max(0, position - self.reported), self.pending_rows)
            self.reported = max(self.reported, position)
            self.pending_rows = 0

    def end_file(self, size: int) -> None:
        self.progress(max(0, size - self.reported), self.pending_rows)
        self.reported = 0
        self.pending_rows = 0


class _FileState:
    """Where reading one log is, and the rows whose values upset a handler (skipped, and
    counted for a warning)."""

    def __init__(self) -> None:
        self.lineno = 0
        self.bad_rows = 0
        self.first_bad_line = 0

    def bad_row(self) -> None:
        self.bad_rows += 1
        self.first_bad_line = self.first_bad_line or self.lineno


class ZeekReader(SourceReader):
    kind = "zeek"

    def sniff(self, path: Path, head: bytes) -> bool:
        if path.is_dir():
            return any(probe(child) is not None for child in _candidates(path))
        start = head.lstrip()[:1]
        if head[:2] != GZIP_MAGIC and start not in (b"#", b"{"):
            return False
        return probe(path) is not None

    def size(self, path: Path) -> int:
        return sum(log.size for log in zeek_logs(path))

    def files(self, path: Path) -> list[Path]:
        """The logs this reader maps (what the source's fingerprint covers)."""
        return [log.path for log in zeek_logs(path)
                if log.log_type in HANDLERS or log.row_paths]

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        logs = zeek_logs(path)
        if not logs:
            raise InputError(path, "no Zeek logs found")
        # x509 first, so ssl rows find their certificates as they are read.
        logs.sort(key=lambda log: (log.log_type != "x509", str(log.path)))
        mapper = _Mapper(batch)
        meter = _Meter(progress)
        warnings: list[InputWarning] = []
        for log in logs:
            if log.path in batch.skip_files:  # read before, in another source
                meter.end_file(log.size)
                continue
            if log.log_type not in HANDLERS and not log.row_paths:
                if not path.is_dir():  # stored, it would block the same bytes named well
                    known = ", ".join(sorted(HANDLERS))
                    raise InputError(log.path, f"a Zeek {log.log_type or 'unnamed'} log: "
                                     f"nothing here is read (known logs: {known})")
                meter.end_file(log.size)
                continue
            mapper.source = str(log.path)
            mapper.set_sep = b","
            state = _FileState()
            warning = self._read_log(log, mapper, meter, state)
            if warning is not None:
                warnings.append(warning)
            if state.bad_rows:
                warnings.append(InputWarning(
                    log.path, f"{state.bad_rows} rows with unusable values skipped",
                    f"line {state.first_bad_line}"))
            meter.end_file(log.size)
        mapper.finish()
        batch.records_read = meter.rows
        batch.bytes_read = sum(log.size for log in logs)
        return warnings

    def _read_log(self, log: ZeekLog, mapper: _Mapper, meter: _Meter,
                  state: _FileState) -> InputWarning | None:
        try:
            stream, raw, _compressed = open_maybe_gzip(log.path)
            with raw, stream:
                if log.fmt == "tsv":
                    self._tsv(log, stream, raw, mapper, meter, state)
                else:
                    self._json(log, stream, raw, mapper, meter, state)
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise InputError(
                log.path, f"corrupt gzip data: {exc}", f"line {state.lineno + 1}"
            ) from None
        except EOFError:
            return InputWarning(
                log.path, f"truncated gzip data: ingested {state.lineno} complete lines",
                f"line {state.lineno + 1}")
        except OSError as exc:
            raise InputError(log.path, f"cannot read: {exc.strerror or exc}") from None
        return None

    def _tsv(self, log: ZeekLog, stream: IO[bytes], raw: IO[bytes], mapper: _Mapper,
             meter: _Meter, state: _FileState) -> None:
        path = log.path
        sep, unset, empty = b"\t", b"-", b"(empty)"
        log_type = log.log_type
        wanted: list[tuple[str, int]] = []
        handler: Callable[[_Mapper, Row], None] | None = None
        columns = 0
        have_fields = False
        lineno = 0
        for line in stream:
            lineno += 1
            state.lineno = lineno
            if line[:1] == b"#":
                line = line.rstrip(b"\r\n")
                if line.startswith(b"#separator"):
                    sep = _unescape(line[len(b"#separator"):].strip()) or b"\t"
                    continue
                body = line[1:]
                key, found, value = body.partition(sep)
                if not found:
                    key, _, value = body.partition(b" ")
                if key == b"set_separator":
                    mapper.set_sep = _unescape(value) or b","
                elif key == b"empty_field":
                    empty = _unescape(value)
                elif key == b"unset_field":
                    unset = _unescape(value)
                elif key == b"path":
                    log_type = _log_type(value)
                elif key == b"fields":
                    names = [n.decode("utf-8", "replace") for n in value.split(sep)]
                    columns = len(names)
                    have_fields = True
                    handler = HANDLERS.get(log_type or "")
                    keep = set(FIELDS.get(log_type or "", ()))
                    wanted = [(name, i) for i, name in enumerate(names) if name in keep]
                continue
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            if not have_fields:
                raise InputError(path, "data line before the #fields header", f"line {lineno}")
            parts = line.split(sep)
            if len(parts) != columns:
                raise InputError(
                    path, f"expected {columns} columns, found {len(parts)}", f"line {lineno}"
                )
            meter.row(raw)
            if handler is not None:
                row = {
                    name: None if (v := parts[i]) == unset or v == empty else v
                    for name, i in wanted
                }
                try:
                    handler(mapper, row)
                except Exception:  # hostile values must never stop the source
                    state.bad_row()

    def _json(self, log: ZeekLog, stream: IO[bytes], raw: IO[bytes], mapper: _Mapper,
              meter: _Meter, state: _FileState) -> None:
        """JSON lines; each row goes by its own ``_path`` when it has one."""
        path = log.path
        handlers = HANDLERS
        default = handlers.get(log.log_type or "")
        lineno = 0
        for line in stream:
            lineno += 1
            state.lineno = lineno
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except UnicodeDecodeError:
                raise InputError(path, "invalid JSON: not UTF-8", f"line {lineno}") from None
            except json.JSONDecodeError as exc:
                raise InputError(
                    path, f"invalid JSON: {exc.msg} (column {exc.colno})", f"line {lineno}"
                ) from None
            except ValueError as exc:
                raise InputError(path, f"invalid JSON: {exc}", f"line {lineno}") from None
            except RecursionError:
                raise InputError(path, "invalid JSON: nested too deeply",
                                 f"line {lineno}") from None
            if not isinstance(obj, dict):
                raise InputError(path, "invalid JSON: not an object", f"line {lineno}")
            meter.row(raw)
            row = _flatten(obj)
            row_type = row.get("_path")
            handler = handlers.get(_log_type(row_type)) if isinstance(row_type, str) else default
            if handler is not None:
                try:
                    handler(mapper, row)
                except Exception:  # hostile values must never stop the source
                    state.bad_row()
