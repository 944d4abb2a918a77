"""What the flow-export readers (nfdump CSV, Suricata EVE, Joy, IPFIX / NetFlow v9) share:
line-by-line reading of plain or gzip-compressed text with line numbers, progress and
one warning for the lines that could not be used; the decompressed first lines or bytes
for sniffing; field values as stored text; and `mac` evidence from the MACs flow records
carry.

Opening (gzip or not) and the value accessors are the Zeek reader's
(`vendorwatch.ingest.zeek`), reused here rather than written twice."""

from __future__ import annotations

import gzip
import ipaddress
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from vendorwatch import signals
from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.interface import Progress
from vendorwatch.ingest.packets.context import text
from vendorwatch.ingest.packets.scan import MAX_MACS_PER_HOST
from vendorwatch.ingest.zeek import (
    GZIP_MAGIC,
    MAX_TS,
    UNSPECIFIED,
    open_maybe_gzip,
    timestamp_value,
)
from vendorwatch.ingest.zeek import address_value as addr
from vendorwatch.ingest.zeek import float_value as number
from vendorwatch.ingest.zeek import int_value as count
from vendorwatch.ingest.zeek import mac_value as mac
from vendorwatch.store.batch import IngestBatch

__all__ = [
    "GZIP_MAGIC", "PROTOCOL_NUMBERS", "Lines", "MacEvidence", "addr", "clean", "count",
    "first_json_objects", "head_bytes", "head_lines", "json_line", "mac", "number",
    "open_maybe_gzip", "port", "protocol", "timestamp",
]

PROGRESS_EVERY = 8192
MAX_HEAD_LINE = 1 << 20  # a Joy record with packet details runs to ~100 kB

# IANA protocol numbers of the names flow tools print (nfdump 1.6, Suricata, Joy).
PROTOCOL_NUMBERS = {
    "icmp": 1, "igmp": 2, "ipip": 4, "tcp": 6, "egp": 8, "udp": 17, "ipv6": 41, "rsvp": 46,
    "gre": 47, "esp": 50, "ah": 51, "icmp6": 58, "icmpv6": 58, "ipv6-icmp": 58, "eigrp": 88,
    "ospf": 89, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132,
}


def head_lines(path: Path, head: bytes, count: int = 2,
               limit: int = MAX_HEAD_LINE) -> list[bytes]:
    """The first `count` lines of a text input (decompressed when gzip'd; each at most
    `limit` bytes), for sniffing. Only files that start like text this module's readers
    take (JSON, or gzip) are opened again; others give their first bytes' lines."""
    if head[:2] != GZIP_MAGIC and head.lstrip()[:1] != b"{":
        return head.split(b"\n")[:count]
    lines: list[bytes] = []
    try:
        stream, raw, _compressed = open_maybe_gzip(path)
        with raw, stream:
            while len(lines) < count and (line := stream.readline(limit)):
                lines.append(line)
    except (OSError, EOFError, zlib.error):
        pass
    return lines


def head_bytes(path: Path, head: bytes, size: int = 64) -> bytes:
    """The first `size` bytes of a binary input, decompressed when gzip'd."""
    if head[:2] != GZIP_MAGIC:
        return head[:size]
    try:
        stream, raw, _compressed = open_maybe_gzip(path)
        with raw, stream:
            return stream.read(size)
    except (OSError, EOFError, zlib.error):
        return b""


def first_json_objects(lines: list[bytes], limit: int = 2) -> list[dict[str, Any]]:
    """The first `limit` JSON objects of `lines` (stopping at the first non-empty line
    that is not one, such as a line cut by the probe)."""
    found: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        if index == 0:
            line = line.removeprefix(b"\xef\xbb\xbf")
        if len(found) >= limit:
            break
        if not line.strip():
            continue
        if not line.lstrip().startswith(b"{"):
            break
        obj = json_line(line)
        if obj is None:  # not a JSON object, or the cut end of the probe
            break
        found.append(obj)
    return found


def json_line(line: bytes) -> dict[str, Any] | None:
    """One line's JSON object, or None: not JSON, not an object, or nested too deep for
    the parser (``[[[[…`` a hundred thousand deep)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def timestamp(value: Any) -> float | None:
    """Epoch seconds from a flow export's time: a number as the Zeek reader reads it
    (seconds, or milliseconds when too large for seconds), or ISO-8601 / nfdump text. A
    date is never taken for milliseconds: one past the year 5138 (``9999-12-31``) is no
    time, not 1978."""
    if isinstance(value, str) and number(value) is None and "-" in value:
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp()
        return seconds if 0 <= seconds < MAX_TS else None
    return timestamp_value(value)


def clean(value: Any) -> str | None:
    """A JSON or CSV string as stored text (NULs dropped, trimmed, capped), or None.
    Markup is kept as-is: every output escapes on its own."""
    if isinstance(value, str):
        return text(value.encode("utf-8", "surrogatepass")) or None
    if isinstance(value, bytes):
        return text(value) or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def port(value: Any) -> int | None:
    return count(value, 0, 65535)


def protocol(value: Any) -> int | None:
    """An IP protocol number from a number or a name (``TCP``, ``ipv6-icmp``)."""
    if isinstance(value, str) and value.strip() and not value.strip().isdigit():
        return PROTOCOL_NUMBERS.get(value.strip().lower())
    return count(value, 0, 255)


class Lines:
    """The lines of a text input, plain or gzip-compressed, with their numbers.

    Iterating yields ``(line number, line bytes)``; progress is reported as it goes.
    Readers call `bad(lineno)` for a line they cannot use; `finish(records)` then gives
    the warnings (a cut last line, skipped lines, a truncated gzip stream), or raises
    InputError when no line at all was usable."""

    def __init__(self, path: Path, progress: Progress) -> None:
        self.path = path
        self.progress = progress
        self.lineno = 0
        self.bad_lines = 0
        self.first_bad = 0
        self.last_unterminated = False
        self.truncated_gzip = False
        self._pending = 0
        self._reported = 0
        try:
            self.size = path.stat().st_size
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        try:
            stream, raw, _compressed = open_maybe_gzip(self.path)
        except OSError as exc:
            raise InputError(self.path, f"cannot read: {exc.strerror or exc}") from None
        with raw, stream:
            try:
                for line in stream:
                    self.lineno += 1
                    self.last_unterminated = not line.endswith(b"\n")
                    self._pending += 1
                    if self._pending >= PROGRESS_EVERY:
                        self._report(raw)
                    yield self.lineno, line
            except (gzip.BadGzipFile, zlib.error) as exc:
                raise InputError(self.path, f"corrupt gzip data: {exc}",
                                 f"line {self.lineno + 1}") from None
            except EOFError:
                self.truncated_gzip = True
            except OSError as exc:
                raise InputError(self.path, f"cannot read: {exc.strerror or exc}") from None

    def _report(self, raw: IO[bytes]) -> None:
        try:
            position = raw.tell()
        except (OSError, ValueError):
            position = self._reported
        self.progress(max(0, position - self._reported), self._pending)
        self._reported = max(self._reported, position)
        self._pending = 0

    def bad(self, lineno: int) -> None:
        self.bad_lines += 1
        self.first_bad = self.first_bad or lineno

    def finish(self, records: int, what: str = "records") -> list[InputWarning]:
        """Warnings about the lines that were not used; InputError when none was usable
        (`records` counts the usable ones)."""
        self.progress(max(0, self.size - self._reported), self._pending)
        self._reported, self._pending = self.size, 0
        cut_last = (self.bad_lines == 1 and self.first_bad == self.lineno
                    and self.last_unterminated)
        if records == 0 and self.bad_lines:
            reason = "truncated or corrupt line" if cut_last else \
                f"no usable {what}: {self.bad_lines} unusable lines"
            raise InputError(self.path, reason, f"line {self.first_bad}")
        warnings: list[InputWarning] = []
        if cut_last:
            warnings.append(InputWarning(
                self.path, f"truncated: last line incomplete, ingested {records} {what}",
                f"line {self.lineno}"))
        elif self.bad_lines:
            warnings.append(InputWarning(
                self.path, f"{self.bad_lines} unusable lines skipped", f"line {self.first_bad}"))
        if self.truncated_gzip:
            warnings.append(InputWarning(
                self.path, f"truncated gzip data: ingested {self.lineno} complete lines",
                f"line {self.lineno + 1}"))
        if records == 0 and not warnings:
            warnings.append(InputWarning(self.path, f"no {what} in it (a header only?)"))
        return warnings


class MacEvidence:
    """`mac` evidence from the source MACs of flow records, as the Zeek reader does for
    conn.log: only for addresses on the sensor's link (a MAC seen with more than
    MAX_MACS_PER_HOST addresses is a router's; globally routed addresses have crossed
    one), never group or all-zero MACs. Emitted by `finish`, once the whole source is
    known."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], tuple[float | None, str]] = {}
        self.hosts: dict[str, set[str]] = {}

    def seen(self, ts: float | None, ip: str, mac_text: str | None, source: str,
             emit: bool = True) -> None:
        if mac_text is None:
            return
        hosts = self.hosts.setdefault(mac_text, set())
        if len(hosts) > MAX_MACS_PER_HOST:
            return
        hosts.add(ip)
        if emit:
            self.first.setdefault((ip, mac_text), (ts, source))

    def finish(self, batch: IngestBatch) -> None:
        for (ip, mac_text), (ts, source) in self.first.items():
            if len(self.hosts[mac_text]) > MAX_MACS_PER_HOST or int(mac_text[:2], 16) & 1:
                continue
            try:
                if ip in UNSPECIFIED or ipaddress.ip_address(ip).is_global:
                    continue
            except ValueError:
                continue
            batch.evidence(ts, ip, None, signals.MAC, mac_text, source)
