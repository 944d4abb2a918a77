"""Reading input files: their first bytes (to tell their kind) and their content hash (to
ingest or import the same bytes once)."""

from __future__ import annotations

import hashlib
from importlib.abc import Traversable
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from vendorwatch.errors import InputError

ModelT = TypeVar("ModelT", bound=BaseModel)


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


def read_text(path: Path) -> str:
    """A user's text input file (UTF-8); InputError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise InputError(path, "not UTF-8 text", f"byte {exc.start}") from None


def load_yaml_model(text: str, origin: str | Path, model: type[ModelT]) -> ModelT:
    """Parse YAML text and validate it against a pydantic model; a one-line InputError
    naming the line (bad YAML) or the field (bad content) otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(origin, "not valid YAML",
                         f"line {mark.line + 1}" if mark is not None else None) from None
    except ValueError as exc:  # e.g. an impossible unquoted date
        raise InputError(origin, f"not valid YAML: {exc}") from None
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "top level"
        raise InputError(origin, error["msg"], where) from None


def load_data_file(
    model: type[ModelT], packaged: Traversable, path: Path | None, what: str
) -> tuple[ModelT, str]:
    """A packaged data file (or the one at `path`) validated against `model`, with its
    label; InputError "invalid {what}: …" naming the file otherwise."""
    label = str(path or packaged)
    try:
        raw = (path or packaged).read_text(encoding="utf-8")
        data = model.model_validate(yaml.safe_load(raw))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        reason = str(exc).strip().splitlines()
        raise InputError(label, f"invalid {what}: {' '.join(reason[:3])}") from None
    return data, label


def require_unique(ids: list[str], label: str, what: str) -> None:
    """InputError naming the ids given more than once in a data file."""
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(label, f"duplicate {what} ids: {', '.join(duplicates)}")
