"""Reading input files: their first bytes (to tell their kind) and their content hash (to
ingest or import the same bytes once)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from vendorwatch.errors import InputError


def read_head(path: Path, size: int) -> bytes:
    """The first `size` bytes of an input file; InputError when it cannot be read or is
    empty (whitespace only counts as empty)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(size)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    if not head.strip():
        raise InputError(path, "empty file")
    return head


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
