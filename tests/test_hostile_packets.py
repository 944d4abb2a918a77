"""Packets are attacker-controlled: mutated and truncated frames of every kind the scanner
decodes must never raise, and whatever they yield is stored as plain text."""

from __future__ import annotations

import random
from pathlib import Path

from vendorwatch.demo.terminal import write_terminal_capture
from vendorwatch.ingest.packets.records import RecordReader
from vendorwatch.ingest.packets.scan import PacketScanner


def test_mutated_frames_never_raise(tmp_path: Path) -> None:
    capture = tmp_path / "demo.pcap"
    write_terminal_capture(capture)
    frames = [(ts, link, frame) for ts, link, frame in RecordReader(capture)]
    rows: list[tuple] = []
    scanner = PacketScanner(lambda *row: rows.append(row))
    rng = random.Random(2026)
    for _round in range(3):
        for ts, link, frame in frames:
            mutated = bytearray(frame)
            for _ in range(rng.randint(1, 6)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            scanner.feed(ts, link, bytes(mutated))
            scanner.feed(ts, link, frame[: rng.randrange(len(frame) + 1)])
    scanner.feed(0.0, 1, b"")
    scanner.feed(0.0, 113, b"\x00" * 15)
    scanner.feed(0.0, 101, b"\x60" + b"\x00" * 10)
    scanner.finish()
    assert rows  # the undamaged parts still speak
    assert all(isinstance(value, str) and "\x00" not in value for *_, value in rows)
