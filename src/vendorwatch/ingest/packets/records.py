"""Record framing of pcap and pcapng files, with the byte offset of every problem.

libpcap (under NFStream) reads the same files but does not say *where* a file is truncated
or corrupt, and the user needs that in the one-line message; so framing is read here with
`struct` over an mmap. Decoding of the packets themselves is left to `decode` and dpkt.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from vendorwatch.errors import InputError

MAX_RECORD = 262_144  # Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD
MAX_BLOCK = 16 * 1024 * 1024
# Smallest total length of the pcapng blocks read here (header, fixed fields, trailer).
MIN_BLOCK = {1: 20, 2: 32, 3: 16, 6: 32}
LATEST_TS = 32_503_680_000.0  # year 3000: later timestamps are corrupt, not future

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
PCAPNG_SHB = b"\x0a\x0d\x0d\x0a"


def capture_format(head: bytes) -> str | None:
    """'pcap' or 'pcapng' from a file's first bytes, else None."""
    if head[:4] in PCAP_MAGICS and len(head) >= 24:
        return "pcap"
    if head[:4] == PCAPNG_SHB and len(head) >= 12 and head[8:12] in (
        b"\x4d\x3c\x2b\x1a",
        b"\x1a\x2b\x3c\x4d",
    ):
        return "pcapng"
    return None


@dataclass
class Truncation:
    """Where a capture stops being complete."""

    offset: int
    records: int


class RecordReader:
    """Iterates (timestamp, linktype, frame bytes) over a capture file.

    After iteration, `truncation` tells whether the file ended inside a record, and
    `offset` how many bytes were consumed. A corrupt header raises InputError naming the
    byte offset; everything before it has already been yielded, so callers that must not
    keep partial results run inside a transaction.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.records = 0
        self.truncation: Truncation | None = None

    def __iter__(self) -> Iterator[tuple[float, int, bytes]]:
        with self.path.open("rb") as fh:
            try:
                mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError:
                raise InputError(self.path, "empty file") from None
            with mm:
                kind = capture_format(mm[:24])
                if kind == "pcap":
                    yield from self._pcap(mm)
                elif kind == "pcapng":
                    yield from self._pcapng(mm)
                else:
                    raise InputError(self.path, "not a pcap or pcapng capture", "byte 0")

    def _corrupt(self, offset: int, reason: str) -> InputError:
        return InputError(self.path, f"corrupt record header: {reason}", f"byte {offset}")

    def _pcap(self, mm: mmap.mmap) -> Iterator[tuple[float, int, bytes]]:
        endian, frac = PCAP_MAGICS[mm[:4]]
        header = struct.Struct(endian + "IIII")
        linktype = struct.unpack_from(endian + "I", mm, 20)[0] & 0x0FFFFFFF
        size = len(mm)
        off = 24
        unpack = header.unpack_from
        while off < size:
            if off + 16 > size:
                self.truncation = Truncation(off, self.records)
                break
            sec, sub, incl, _orig = unpack(mm, off)
            if incl > MAX_RECORD:
                raise self._corrupt(off, f"captured length {incl} exceeds {MAX_RECORD}")
            if sub >= frac:
                raise self._corrupt(off, f"sub-second timestamp {sub} out of range")
            end = off + 16 + incl
            if end > size:
                self.truncation = Truncation(off, self.records)
                break
            self.records += 1
            yield sec + sub / frac, linktype, mm[off + 16 : end]
            off = end
            self.offset = off
        self.offset = off if self.truncation is None else self.truncation.offset

    def _pcapng(self, mm: mmap.mmap) -> Iterator[tuple[float, int, bytes]]:
        size = len(mm)
        off = 0
        endian = "<"
        interfaces: list[tuple[int, float]] = []  # (linktype, seconds per timestamp unit)
        while off < size:
            if off + 12 > size:
                self.truncation = Truncation(off, self.records)
                break
            btype_raw = mm[off : off + 4]
            if btype_raw == PCAPNG_SHB:
                bom = mm[off + 8 : off + 12]
                endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
                if bom not in (b"\x4d\x3c\x2b\x1a", b"\x1a\x2b\x3c\x4d"):
                    raise self._corrupt(off, "bad section byte-order magic")
                interfaces = []
            btype, blen = struct.unpack_from(endian + "II", mm, off)
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                raise self._corrupt(off, f"block length {blen} is invalid")
            end = off + blen
            if end > size:
                self.truncation = Truncation(off, self.records)
                break
            (trailer,) = struct.unpack_from(endian + "I", mm, end - 4)
            if trailer != blen:
                raise self._corrupt(off, f"block length {blen} does not match trailer {trailer}")
            body = off + 8
            if blen < MIN_BLOCK.get(btype, 12):
                raise self._corrupt(off, f"block length {blen} is too short for its type {btype}")
            if btype == 1:  # Interface Description Block
                linktype = struct.unpack_from(endian + "H", mm, body)[0]
                interfaces.append((linktype, _if_tsresol(mm, body + 8, end - 4, endian)))
            elif btype in (6, 2):  # Enhanced Packet Block, obsolete Packet Block
                if btype == 6:
                    ifid, hi, lo, incl, _orig = struct.unpack_from(endian + "IIIII", mm, body)
                else:
                    ifid, _drops, hi, lo, incl, _orig = struct.unpack_from(
                        endian + "HHIIII", mm, body
                    )
                data = body + 20
                if incl > MAX_RECORD or data + incl > end - 4:
                    raise self._corrupt(off, f"captured length {incl} does not fit its block")
                if ifid >= len(interfaces):
                    raise self._corrupt(off, f"packet names unknown interface {ifid}")
                linktype, unit = interfaces[ifid]
                ts = ((hi << 32) | lo) * unit
                if ts >= LATEST_TS:
                    raise self._corrupt(off, f"timestamp {ts:.0f} is out of range")
                self.records += 1
                yield ts, linktype, mm[data : data + incl]
            elif btype == 3:  # Simple Packet Block
                if not interfaces:
                    raise self._corrupt(off, "simple packet before any interface")
                (orig,) = struct.unpack_from(endian + "I", mm, body)
                incl = min(orig, blen - 16)
                self.records += 1
                yield 0.0, interfaces[0][0], mm[body + 4 : body + 4 + incl]
            off = end
            self.offset = off
        self.offset = off if self.truncation is None else self.truncation.offset


def _if_tsresol(mm: mmap.mmap, off: int, end: int, endian: str) -> float:
    """Seconds per timestamp unit from an IDB's if_tsresol option (default microseconds)."""
    while off + 4 <= end:
        code, length = struct.unpack_from(endian + "HH", mm, off)
        if code == 0:
            break
        if code == 9 and length >= 1:
            value = mm[off + 4]
            return 2.0 ** -(value & 0x7F) if value & 0x80 else 10.0 ** -value
        off += 4 + ((length + 3) & ~3)
    return 1e-6
