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

