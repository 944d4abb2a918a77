"""Errors a user can cause, reported as one line naming the input and the place."""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: the file, where in it (byte offset or line), and why.

    The CLI prints ``str(error)`` as one line and exits with status 2.
    """

    def __init__(self, path: Path | str, reason: str, where: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.where = where
        super().__init__(self.line())

    def line(self) -> str:
        place = f" at {self.where}" if self.where else ""
        return f"{self.path}{place}: {self.reason}"


class InputWarning:
    """Something the user should know about an input that was still (partly) ingested."""

    def __init__(self, path: Path | str, reason: str, where: str | None = None) -> None:
        self.path = str(path)
        self.reason = reason
        self.where = where

    def line(self) -> str:
        place = f" at {self.where}" if self.where else ""
        return f"{self.path}{place}: {self.reason}"

    def __repr__(self) -> str:
        return f"InputWarning({self.line()!r})"


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
