"""The packet scan as a separate process, so that it runs beside NFStream's meter on another
core instead of sharing the interpreter lock with the flow consumer.

Messages on the pipe: ("rows", [evidence tuples]) as they come, then ("done", records,
offset, truncation or None) or ("error", reason, where)."""

from __future__ import annotations

import os
import threading
import time
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import SynchronizedArray
from pathlib import Path
from typing import Any

from vendorwatch.errors import InputError
from vendorwatch.ingest.packets.records import RecordReader, Truncation
from vendorwatch.ingest.packets.scan import PacketScanner

CHUNK_ROWS = 20_000
PROGRESS_EVERY = 4096

Row = tuple[float | None, str, str | None, str, str]


def scan_capture(path: Path, emit_rows: Any, position: Any = None) -> tuple[RecordReader, int]:
    """Scan `path`, handing distinct evidence rows to `emit_rows(list)` in chunks and
    publishing (bytes offset, records) into `position` as it goes."""
    pending: list[Row] = []
    seen: set[tuple[str, str | None, str, str]] = set()

    def emit(ts: float | None, ip: str, peer: str | None, signal: str, value: str) -> None:
        key = (ip, peer, signal, value)
        if key in seen:
            return
        seen.add(key)
        pending.append((ts, ip, peer, signal, value))
        if len(pending) >= CHUNK_ROWS:
            emit_rows(pending.copy())
            pending.clear()

    scanner = PacketScanner(emit)
    records = RecordReader(path)
    count = 0
    for ts, linktype, frame in records:
        scanner.feed(ts, linktype, frame)
        count += 1
        if position is not None and count % PROGRESS_EVERY == 0:
            position[0], position[1] = records.offset, count
    scanner.finish()
    if pending:
        emit_rows(pending)
    if position is not None:
        position[0], position[1] = records.offset, count
    return records, scanner.undecodable


def _exit_with_parent() -> None:
    """A parent killed with SIGKILL cannot stop its children: this one notices and ends."""
    parent = os.getppid()
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def run(path: str, conn: Connection, position: SynchronizedArray[int]) -> None:
    """Process entry point."""
    threading.Thread(target=_exit_with_parent, daemon=True).start()
    try:
        records, _undecodable = scan_capture(
            Path(path), lambda rows: conn.send(("rows", rows)), position
        )
        cut: Truncation | None = records.truncation
        conn.send(("done", records.records, records.offset,
                   (cut.offset, cut.records) if cut else None))
    except InputError as exc:
        conn.send(("error", exc.reason, exc.where))
    except KeyboardInterrupt:  # the parent reports the interruption
        os._exit(130)
    except Exception as exc:  # reported to the parent as a one-line failure
        conn.send(("error", f"packet scan failed: {type(exc).__name__}: {exc}", None))
    finally:
        conn.close()
