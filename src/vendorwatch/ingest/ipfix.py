"""IPFIX files (RFC 5655: IPFIX messages back to back) and NetFlow v9 export packets
stored back to back (e.g. UDP payloads cut from a collector's capture), plain or
gzip-compressed, parsed with the ``netflow`` package. Templates are kept per exporter
(IPFIX observation domain, v9 source id) across messages.

Framing: an IPFIX message states its length in its 16-byte header; a v9 packet does not,
so it runs over its flowsets (each with a length) until the next 16-bit word at a
flowset boundary is a version number (9 or 10; set ids 2-255 are reserved) or the file
ends.

Information elements mapped onto flow records (IPFIX name / v9 name):

- addresses and ports: sourceIPv4Address/IPV4_SRC_ADDR, sourceIPv6Address/
  IPV6_SRC_ADDR, destination*, sourceTransportPort/L4_SRC_PORT, destination*;
  protocolIdentifier/PROTOCOL;
- counters: octetDeltaCount/IN_BYTES (else octetTotalCount), packetDeltaCount/IN_PKTS
  (else packetTotalCount) as the src side's; postOctetDeltaCount/OUT_BYTES and
  postPacketDeltaCount/OUT_PKTS as the dst side's, as nfdump reads them (0 or absent for
  unidirectional exports);
- times: flowStart/End Seconds, Milliseconds, Microseconds and Nanoseconds (NTP
  format), Delta Microseconds (before the message's export time), SysUpTime (with
  systemInitTimeMilliseconds in the record) and flowDurationMilliseconds; v9
  FIRST_SWITCHED/LAST_SWITCHED against the packet header's uptime and clock;
- layer 2: sourceMacAddress/IN_SRC_MAC, destinationMacAddress/IN_DST_MAC (else
  postDestinationMacAddress/OUT_DST_MAC), vlanId/SRC_VLAN (else dot1qVlanId); the source
  MAC also becomes ``mac`` evidence about the source address (`flowio.MacEvidence`).

A message whose template is not known (yet) is skipped and counted; so is a message the
parser rejects (the netflow package does not handle variable-length or
enterprise-specific elements). A file cut inside a message keeps the messages before it;
each of these gives a warning naming the byte offset. A file of which nothing at all
could be used fails.
"""

from __future__ import annotations

import gzip
import ipaddress
import struct
import zlib
from pathlib import Path
from typing import IO, Any

from netflow.ipfix import IPFIXExportPacket, IPFIXTemplateNotRecognized
from netflow.v9 import V9ExportPacket, V9TemplateNotRecognized

from vendorwatch.errors import InputError, InputWarning
from vendorwatch.ingest.flowio import MacEvidence, head_bytes, open_maybe_gzip
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.store.batch import FlowRecord, IngestBatch

IPFIX, V9 = 10, 9
IPFIX_HEADER, V9_HEADER, SET_HEADER = 16, 20, 4
NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
MAX_V9_PACKET = 65_535
PROGRESS_EVERY = 1024


def _set_ok(data: bytes, offset: int, end: int, v9: bool) -> bool:
    """A plausible set / flowset header at `offset` (IPFIX: 2, 3 or a template id;
    v9: 0, 1 or a template id) that fits before `end`."""
    if offset + SET_HEADER > len(data):
        return True  # not in the probe: cannot tell, the header alone decides
    set_id, length = struct.unpack_from("!HH", data, offset)
    ids_ok = set_id in ((0, 1) if v9 else (2, 3)) or set_id >= 256
    return ids_ok and SET_HEADER <= length <= end - offset


def message_format(head: bytes) -> int | None:
    """IPFIX (10) or NetFlow v9 (9) from a file's first bytes, else None."""
    if len(head) < IPFIX_HEADER:
        return None
    version = struct.unpack_from("!H", head)[0]
    if version == IPFIX:
        length = struct.unpack_from("!H", head, 2)[0]
        if length < IPFIX_HEADER + SET_HEADER:
            return None
        return IPFIX if _set_ok(head, IPFIX_HEADER, length, v9=False) else None
    if version == V9 and len(head) >= V9_HEADER:
        records, _uptime, clock = struct.unpack_from("!HII", head, 2)
        if not 0 < records <= 10_000 or clock == 0:
            return None
        return V9 if _set_ok(head, V9_HEADER, MAX_V9_PACKET, v9=True) else None
    return None


def _sets_sound(message: bytes, offset: int, v9: bool) -> bool:
    """Whether the netflow package can walk `message` without looping forever: every set
    (flowset) header from `offset` on has a length that moves on and fits, and no v9
    template (or options template) describes records of zero bytes. The package spins on
    a zero-length IPFIX set and on a v9 data flowset whose template adds up to nothing."""
    while offset + SET_HEADER <= len(message):
        set_id, length = struct.unpack_from("!HH", message, offset)
        if length < SET_HEADER or offset + length > len(message):
            return False
        if v9 and set_id in (0, 1) and not _v9_templates_sound(
                message[offset + SET_HEADER:offset + length], options=set_id == 1):
            return False
        offset += length
    return v9 or offset == len(message)


def _v9_templates_sound(body: bytes, options: bool) -> bool:
    """No template record in a v9 (options) template flowset's body has fields adding up
    to zero bytes (padding, template id below 256, is not a template)."""
    at = 0
    while at + (6 if options else 4) <= len(body):
        if options:
            template_id, scope_size, option_size = struct.unpack_from("!HHH", body, at)
            at += 6
            size = scope_size + option_size
        else:
            template_id, count = struct.unpack_from("!HH", body, at)
            at += 4
            size = 4 * count
        fields = body[at:at + size]
        total = sum(struct.unpack_from("!H", fields, i + 2)[0]
                    for i in range(0, len(fields) - 3, 4))
        if template_id >= 256 and total == 0:
            return False
        at += size
    return True


class IpfixReader(SourceReader):
    kind = "ipfix"

    def sniff(self, path: Path, head: bytes) -> bool:
        if not path.is_file():
            return False
        return message_format(head_bytes(path, head)) is not None

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        try:
            stream, raw, _compressed = open_maybe_gzip(path)
            size = path.stat().st_size
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
        state = _State(path, batch, progress, size)
        with raw, stream:
            try:
                state.run(stream, raw)
            except (gzip.BadGzipFile, zlib.error) as exc:
                state.stop(f"corrupt gzip data: {exc}")
            except EOFError:
                state.stop("truncated gzip data")
            except OSError as exc:
                raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
        return state.finish()


class _State:
    def __init__(self, path: Path, batch: IngestBatch, progress: Progress, size: int) -> None:
        self.path = path
        self.source = str(path)
        self.batch = batch
        self.progress = progress
        self.size = size
        self.offset = 0  # bytes of the (decompressed) stream consumed
        self.messages = 0
        self.flows = 0
        self.templates: dict[tuple[int, int], dict[int, Any]] = {}
        self.unknown = 0
        self.first_unknown: int | None = None
        self.malformed = 0
        self.first_malformed: int | None = None
        self.stopped: tuple[str, int] | None = None
        self.macs = MacEvidence()
        self._pending = 0
        self._reported = 0

    # reading ----------------------------------------------------------------------------

    def run(self, stream: IO[bytes], raw: IO[bytes]) -> None:
        buffer = b""
        while True:
            if len(buffer) < V9_HEADER:
                buffer += stream.read(1 << 16)
            if not buffer:
                return
            if len(buffer) < 2:
                return self.stop("truncated: 1 byte after the last message")
            version = struct.unpack_from("!H", buffer)[0]
            if version == IPFIX:
                if len(buffer) < IPFIX_HEADER:
                    return self.stop(f"truncated: {len(buffer)} bytes after the last message")
                length = struct.unpack_from("!H", buffer, 2)[0]
                if length < IPFIX_HEADER:
                    return self.stop(f"corrupt IPFIX message header (length {length})")
                while len(buffer) < length and (more := stream.read(1 << 16)):
                    buffer += more
                if len(buffer) < length:
                    return self.stop(f"truncated: the last message needs {length} bytes, "
                                     f"{len(buffer)} remain")
                self._ipfix(buffer[:length])
                buffer = buffer[length:]
                self.offset += length
            elif version == V9:
                end, buffer = self._v9_end(buffer, stream)
                if end is None:
                    return
                self._v9(buffer[:end])
                buffer = buffer[end:]
                self.offset += end
            else:
                return self.stop(f"not an IPFIX or NetFlow v9 message (version {version})")
            self._tick(raw)

    def _v9_end(self, buffer: bytes, stream: IO[bytes]) -> tuple[int | None, bytes]:
        """Where the v9 packet at the start of `buffer` ends (reading more as needed)."""
        if len(buffer) < V9_HEADER:
            self.stop(f"truncated: {len(buffer)} bytes after the last packet")
            return None, buffer
        end = V9_HEADER
        while True:
            while len(buffer) < end + SET_HEADER and (more := stream.read(1 << 16)):
                buffer += more
            if len(buffer) == end:
                return end, buffer  # the file ends with this packet
            if len(buffer) < end + 2:
                self.stop("truncated inside a NetFlow v9 packet", end)
                return None, buffer
            flowset_id = struct.unpack_from("!H", buffer, end)[0]
            if flowset_id in (IPFIX, V9) and end > V9_HEADER:
                return end, buffer  # the next message starts here
            if len(buffer) < end + SET_HEADER:
                self.stop("truncated inside a NetFlow v9 packet", end)
                return None, buffer
            length = struct.unpack_from("!H", buffer, end + 2)[0]
            if length < SET_HEADER or end + length > MAX_V9_PACKET:
                self.stop(f"corrupt NetFlow v9 flowset (id {flowset_id}, length {length})",
                          end)
                return None, buffer
            while len(buffer) < end + length and (more := stream.read(1 << 16)):
                buffer += more
            if len(buffer) < end + length:
                self.stop("truncated inside a NetFlow v9 packet", end)
                return None, buffer
            end += length

    def stop(self, reason: str, within: int = 0) -> None:
        self.stopped = (reason, self.offset + within)

    def _tick(self, raw: IO[bytes]) -> None:
        self.messages += 1
        self._pending += 1
        if self._pending >= PROGRESS_EVERY:
            try:
                position = raw.tell()
            except (OSError, ValueError):
                position = self._reported
            self.progress(max(0, position - self._reported), self._pending)
            self._reported = max(self._reported, position)
            self._pending = 0

    def _skipped(self, unknown_template: bool) -> None:
        if unknown_template:
            self.unknown += 1
            if self.first_unknown is None:
                self.first_unknown = self.offset
        else:
            self.malformed += 1
            if self.first_malformed is None:
                self.first_malformed = self.offset

    def _ipfix(self, message: bytes) -> None:
        domain = struct.unpack_from("!I", message, 12)[0]
        templates = self.templates.setdefault((IPFIX, domain), {})
        if not _sets_sound(message, IPFIX_HEADER, v9=False):
            return self._skipped(False)
        try:
            packet = IPFIXExportPacket(message, templates)
        except IPFIXTemplateNotRecognized:
            return self._skipped(True)
        except Exception:  # the package's many ways of rejecting a message
            return self._skipped(False)
        export_time = float(packet.header.export_uptime)  # the header's Export Time
        for flow in packet.flows:
            self._flow(_ipfix_record(flow.data, export_time))

    def _v9(self, packet_bytes: bytes) -> None:
        source_id = struct.unpack_from("!I", packet_bytes, 16)[0]
        templates = self.templates.setdefault((V9, source_id), {})
        if not _sets_sound(packet_bytes, V9_HEADER, v9=True):
            return self._skipped(False)
        try:
            packet = V9ExportPacket(packet_bytes, templates)
        except V9TemplateNotRecognized:
            return self._skipped(True)
        except Exception:  # the package's many ways of rejecting a packet
            return self._skipped(False)
        header = packet.header
        for flow in packet.flows:
            self._flow(_v9_record(flow.data, header.uptime, header.timestamp))

    def _flow(self, record: FlowRecord | None) -> None:
        if record is None:
            return
        self.flows += 1
        self.batch.flow(record)
        self.macs.seen(record.ts_first, record.src_ip, record.src_mac, self.source)
        self.macs.seen(record.ts_first, record.dst_ip, record.dst_mac, self.source, emit=False)

    # the end ------------------------------------------------------------------------------

    def finish(self) -> list[InputWarning]:
        self.progress(max(0, self.size - self._reported), self._pending)
        self.macs.finish(self.batch)
        self.batch.records_read = self.flows
        self.batch.bytes_read = self.size
        if self.messages == 0 and self.stopped is not None:
            reason, where = self.stopped
            raise InputError(self.path, reason, f"byte {where}")
        if self.flows == 0 and self.messages and (self.malformed or self.unknown) \
                and self.malformed + self.unknown == self.messages:
            first = min(x for x in (self.first_malformed, self.first_unknown) if x is not None)
            raise InputError(self.path, f"no usable message: {self.unknown} with unknown "
                             f"templates, {self.malformed} malformed", f"byte {first}")
        warnings: list[InputWarning] = []
        if self.unknown:
            warnings.append(InputWarning(
                self.path, f"{self.unknown} messages skipped: template not (yet) known",
                f"byte {self.first_unknown}"))
        if self.malformed:
            warnings.append(InputWarning(
                self.path, f"{self.malformed} malformed messages skipped",
                f"byte {self.first_malformed}"))
        if self.stopped is not None:
            reason, where = self.stopped
            warnings.append(InputWarning(
                self.path, f"{reason}; ingested {self.messages} complete messages",
                f"byte {where}"))
        return warnings


# ---------------------------------------------------------------------------------------
# From decoded records to flow records.


def _address(value: Any, v6: bool = False) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int):
            return str(ipaddress.IPv6Address(value) if v6 else ipaddress.IPv4Address(value))
        if isinstance(value, bytes):
            return str(ipaddress.ip_address(value))
        return str(ipaddress.ip_address(str(value)))
    except ValueError:
        return None


def _mac(value: Any) -> str | None:
    if isinstance(value, bytes) and len(value) == 6:
        value = int.from_bytes(value, "big")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 1 << 48:
        return None
    return value.to_bytes(6, "big").hex(":")


def _uint(value: Any, high: int = (1 << 63) - 1) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high:
        return value
    return None


def _first(data: dict[str, Any], *names: str) -> Any:
    return next((data[n] for n in names if data.get(n) is not None), None)


def _ntp(value: Any) -> float | None:
    """dateTimeMicro/Nanoseconds as the package gives them: (NTP seconds, fraction)."""
    if isinstance(value, tuple) and len(value) == 2 and value[0] >= NTP_EPOCH:
        return value[0] - NTP_EPOCH + value[1] / 2**32
    return None


def _plausible(ts: float | None) -> float | None:
    return ts if ts is not None and 0 < ts < 32503680000 else None


def _ipfix_time(data: dict[str, Any], edge: str, export_time: float) -> float | None:
    """flowStart* / flowEnd* in whichever unit the exporter used."""
    if (value := _uint(data.get(f"flow{edge}Milliseconds"))) is not None:
        return _plausible(value / 1000.0)
    if (value := _uint(data.get(f"flow{edge}Seconds"))) is not None:
        return _plausible(float(value))
    for unit in ("Microseconds", "Nanoseconds"):
        if (found := _ntp(data.get(f"flow{edge}{unit}"))) is not None:
            return _plausible(found)
    if (value := _uint(data.get(f"flow{edge}DeltaMicroseconds"))) is not None:
        return _plausible(export_time - value / 1e6)
    init = _uint(data.get("systemInitTimeMilliseconds"))
    if init is not None and (value := _uint(data.get(f"flow{edge}SysUpTime"))) is not None:
        return _plausible((init + value) / 1000.0)
    return None


def _ipfix_record(data: dict[str, Any], export_time: float) -> FlowRecord | None:
    src = _address(data.get("sourceIPv4Address")) or _address(
        data.get("sourceIPv6Address"), v6=True)
    dst = _address(data.get("destinationIPv4Address")) or _address(
        data.get("destinationIPv6Address"), v6=True)
    if src is None or dst is None:
        return None
    first = _ipfix_time(data, "Start", export_time)
    last = _ipfix_time(data, "End", export_time)
    duration = _uint(data.get("flowDurationMilliseconds"))
    if last is None and first is not None and duration is not None:
        last = first + duration / 1000.0
    vlan = _uint(_first(data, "vlanId", "dot1qVlanId"), 4095)
    return FlowRecord(
        ts_first=first,
        ts_last=last if last is not None else first,
        src_ip=src,
        src_port=_uint(data.get("sourceTransportPort"), 65535),
        dst_ip=dst,
        dst_port=_uint(data.get("destinationTransportPort"), 65535),
        proto=_uint(data.get("protocolIdentifier"), 255),
        vlan=vlan or None,
        src_mac=_mac(data.get("sourceMacAddress")),
        dst_mac=_mac(_first(data, "destinationMacAddress", "postDestinationMacAddress")),
        src_packets=_uint(_first(data, "packetDeltaCount", "packetTotalCount")),
        dst_packets=_uint(data.get("postPacketDeltaCount")),
        src_bytes=_uint(_first(data, "octetDeltaCount", "octetTotalCount")),
        dst_bytes=_uint(data.get("postOctetDeltaCount")),
    )


def _v9_time(value: Any, uptime: int, clock: int) -> float | None:
    """A v9 *_SWITCHED time (exporter uptime in ms) as epoch seconds."""
    if (found := _uint(value, 0xFFFFFFFF)) is None:
        return None
    return _plausible(clock - ((uptime - found) & 0xFFFFFFFF) / 1000.0)


def _v9_record(data: dict[str, Any], uptime: int, clock: int) -> FlowRecord | None:
    src = _address(data.get("IPV4_SRC_ADDR")) or _address(data.get("IPV6_SRC_ADDR"), v6=True)
    dst = _address(data.get("IPV4_DST_ADDR")) or _address(data.get("IPV6_DST_ADDR"), v6=True)
    if src is None or dst is None:
        return None
    created = _uint(data.get("NF_F_FLOW_CREATE_TIME_MSEC"))
    first = _v9_time(data.get("FIRST_SWITCHED"), uptime, clock)
    if first is None and created is not None:
        first = _plausible(created / 1000.0)
    last = _v9_time(data.get("LAST_SWITCHED"), uptime, clock)
    vlan = _uint(data.get("SRC_VLAN"), 4095)
    return FlowRecord(
        ts_first=first,
        ts_last=last if last is not None else first,
        src_ip=src,
        src_port=_uint(data.get("L4_SRC_PORT"), 65535),
        dst_ip=dst,
        dst_port=_uint(data.get("L4_DST_PORT"), 65535),
        proto=_uint(data.get("PROTOCOL"), 255),
        vlan=vlan or None,
        src_mac=_mac(data.get("IN_SRC_MAC")),
        dst_mac=_mac(_first(data, "IN_DST_MAC", "OUT_DST_MAC")),
        src_packets=_uint(data.get("IN_PKTS")),
        dst_packets=_uint(data.get("OUT_PKTS")),
        src_bytes=_uint(data.get("IN_BYTES")),
        dst_bytes=_uint(data.get("OUT_BYTES")),
    )
