"""Zeek logs (placeholder until the Zeek reader lands)."""

from __future__ import annotations

from pathlib import Path

from vendorwatch.errors import InputWarning
from vendorwatch.ingest.interface import Progress, SourceReader
from vendorwatch.store.batch import IngestBatch


class ZeekReader(SourceReader):
    kind = "zeek"

    def sniff(self, path: Path, head: bytes) -> bool:
        return False

    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        return []
