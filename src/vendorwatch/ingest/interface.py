"""What every source reader provides. A new input format is one new module beside this one
and one line in `vendorwatch.ingest.READERS`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from vendorwatch.errors import InputWarning
from vendorwatch.store.batch import IngestBatch

# Called as the reader advances: (bytes consumed since the last call, records since the last call).
Progress = Callable[[int, int], None]


def no_progress(_bytes: int, _records: int) -> None:
    """A progress hook that ignores progress."""


class SourceReader(ABC):
    """Turns one input (a file, or a directory for formats that span files) into evidence
    and flow rows."""

    kind: ClassVar[str]

    @abstractmethod
    def sniff(self, path: Path, head: bytes) -> bool:
        """True when `path` is this reader's kind. `head` holds the file's first bytes
        (empty for a directory). Decide from content, not from the file name's extension."""

    @abstractmethod
    def read(self, path: Path, batch: IngestBatch, progress: Progress) -> list[InputWarning]:
        """Write the input's evidence and flows into `batch`.

        Raise `InputError` for input that cannot be used at all (nothing is kept);
        return warnings for input that was used in part (e.g. a truncated capture)."""

    def size(self, path: Path) -> int:
        """Bytes the reader will consume, for the progress bar."""
        return sum(f.stat().st_size for f in self.files(path))

    def files(self, path: Path) -> list[Path]:
        """The files this input consists of (what its content fingerprint covers): the file
        itself; readers of directories return only the files they read."""
        return [path]
