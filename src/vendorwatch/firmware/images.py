"""The firmware register: images with their hash, signature verdict and hard-coded names,
and approvals after testing.

    add_image(store, "cam-5.7.3.bin", "Hikvision", "DS-2CD2143G2-I", "5.7.3",
              signature="cam-5.7.3.sig", pubkey="hikvision.pem")
    approve_image(store, "FW-1a2b3c4d5e6f", "J. Jansen", "TR-2024-017", "2024-03-01")

An image is read once, in chunks, for its SHA-256 and its strings (images run to
gigabytes); its id is 'FW-' + the first 12 hex digits of the SHA-256. Re-adding an image
with the same SHA-256 changes nothing (``status == "unchanged"``).

Signatures are detached, over the image's bytes, checked with the ``cryptography`` package
against a public key in PEM (a PEM certificate's key is taken too):

- Ed25519 (the image is memory-mapped, not read into memory: Ed25519 needs the whole
  message);
- ECDSA on P-256 or P-384 with SHA-256, signature DER-encoded or raw r‖s;
- RSA with SHA-256, PKCS#1 v1.5 or PSS (any salt length).

The signature file is PEM-armoured (``-----BEGIN …-----``), base64 text, or raw bytes,
decided by its content. Verdicts: ``none`` (no signature given), ``valid``, ``invalid``
(does not match the image, has the wrong length, or a key type not supported above —
a signature that cannot be checked is not counted as valid). A key or signature file that
cannot be read or parsed is an :class:`InputError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import mmap
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, encode_dss_signature

from vendorwatch.errors import InputError
from vendorwatch.firmware.strings import CHUNK, HardCoded, StringScanner

if TYPE_CHECKING:
    from vendorwatch.intel.registry import Registry
    from vendorwatch.store import Store

MAX_KEY_FILE = 1 << 20  # a key, certificate or detached signature is far smaller
CURVES = {"secp256r1": "P-256", "secp384r1": "P-384"}
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=_\-\s]+")

Source = Path | str | bytes


@dataclass(frozen=True)
class SignatureCheck:
    verdict: str  # none | valid | invalid
    detail: str


@dataclass
class ImageScan:
    sha256: str
    bytes: int
    strings: HardCoded


def image_id(sha256: str) -> str:
    return "FW-" + sha256[:12]


def scan_image(path: Path, chunk_size: int = CHUNK) -> ImageScan:
    """SHA-256, size and hard-coded names of an image, in one streaming pass."""
    digest = hashlib.sha256()
    scanner = StringScanner()
    found = HardCoded()
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(chunk_size):
                digest.update(chunk)
                size += len(chunk)
                for text in scanner.feed(chunk):
                    found.add_string(text)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    for text in scanner.close():
        found.add_string(text)
    return ImageScan(digest.hexdigest(), size, found)


# --- keys and signatures ---------------------------------------------------------------------


def _read_small(source: Source, what: str) -> tuple[bytes, str]:
    """The bytes of a key or signature (given as a path, or as the bytes themselves)."""
    if isinstance(source, bytes):
        return source, what
    path = Path(source)
    try:
        if not path.is_file():
            raise InputError(path, "no such file" if not path.exists() else "not a file")
        if path.stat().st_size > MAX_KEY_FILE:
            raise InputError(path, f"too large for a {what} file")
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


def load_public_key(source: Source) -> Any:
    """A public key from PEM (SubjectPublicKeyInfo, PKCS#1 RSA, or a certificate).
    A key type the cryptography package cannot load at all is returned as the string
    naming the problem."""
    data, label = _read_small(source, "key")
    if b"PRIVATE KEY-----" in data:
        raise InputError(label, "a private key; give the public key (PEM)")
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data).public_key()
        return serialization.load_pem_public_key(data)
    except UnsupportedAlgorithm as exc:
        return f"unsupported key type ({_first_line(exc)})"
    except (ValueError, TypeError):
        raise InputError(label, "not a PEM public key") from None


def decode_signature(source: Source) -> bytes:
    """A detached signature: PEM-armoured, base64 text, or raw bytes (by content)."""
    data, label = _read_small(source, "signature")
    text = data.strip()
    if not text:
        raise InputError(label, "empty signature file")
    if text.startswith(b"-----BEGIN"):
        lines = text.splitlines()
        kind = lines[0].decode("ascii", "replace").strip("- \r")
        if "SSH" in kind or "PGP" in kind:
            raise InputError(label, f"{kind}: not supported; give the raw, base64 or PEM "
                                    "signature of the image")
        if len(lines) < 3 or not lines[-1].startswith(b"-----END"):
            raise InputError(label, "PEM signature without an END line")
        body = b"".join(line.strip() for line in lines[1:-1] if b":" not in line)
        return _b64(body, label, "PEM signature with invalid base64")
    if _BASE64_TEXT.fullmatch(text):
        return _b64(b"".join(text.split()), label, "base64 signature that does not decode")
    return data


def _b64(body: bytes, label: str, problem: str) -> bytes:
    try:
        if b"-" in body or b"_" in body:
            decoded = base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4))
        else:
            decoded = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(label, problem) from None
    if not decoded:
        raise InputError(label, problem)
    return decoded


def verify_signature(path: Path, sha256: str, signature: bytes, key: Any) -> SignatureCheck:
    """Check a detached signature over the image at `path` (whose SHA-256 is given)."""
    no_match = SignatureCheck("invalid", "signature does not match the image")
    digest = bytes.fromhex(sha256)
    if isinstance(key, str):
        return SignatureCheck("invalid", key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        if len(signature) != 64:
            return SignatureCheck("invalid", f"an Ed25519 signature has 64 bytes, this one "
                                             f"{len(signature)}")
        try:
            _verify_ed25519(path, signature, key)
        except InvalidSignature:
            return no_match
        return SignatureCheck("valid", "Ed25519 signature valid")
    if isinstance(key, ec.EllipticCurvePublicKey):
        curve = CURVES.get(key.curve.name)
        if curve is None:
            return SignatureCheck("invalid", f"unsupported key type (ECDSA {key.curve.name})")
        size = (key.curve.key_size + 7) // 8
        candidates = [signature]
        if len(signature) == 2 * size:  # raw r‖s, as some signing tools write it
            candidates.append(encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                                   int.from_bytes(signature[size:], "big")))
        for candidate in candidates:
            try:
                key.verify(candidate, digest, ec.ECDSA(Prehashed(hashes.SHA256())))
            except (InvalidSignature, ValueError):
                continue
            return SignatureCheck("valid", f"ECDSA {curve} signature valid (SHA-256)")
        return no_match
    if isinstance(key, rsa.RSAPublicKey):
        schemes: list[tuple[str, padding.AsymmetricPadding]] = [
            ("PKCS#1 v1.5", padding.PKCS1v15()),
            ("PSS", padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                salt_length=padding.PSS.AUTO)),
        ]
        for name, scheme in schemes:
            try:
                key.verify(signature, digest, scheme, Prehashed(hashes.SHA256()))
            except (InvalidSignature, ValueError):
                continue
            return SignatureCheck("valid", f"RSA-{key.key_size} {name} signature valid "
                                           "(SHA-256)")
        return no_match
    return SignatureCheck("invalid", f"unsupported key type ({_key_name(key)})")


def _verify_ed25519(path: Path, signature: bytes, key: ed25519.Ed25519PublicKey) -> None:
    with path.open("rb") as fh:
        if path.stat().st_size == 0:
            key.verify(signature, b"")
            return
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            key.verify(signature, view)  # type: ignore[arg-type]


def _key_name(key: Any) -> str:
    name = type(key).__name__
    for suffix in ("PublicKey", "_PublicKey"):
        name = name.removesuffix(suffix)
    return name.lstrip("_") or "unknown"


# --- the register ----------------------------------------------------------------------------


def add_image(
    store: Store,
    path: Path | str,
    maker: str,
    model: str,
    version: str,
    signature: Source | None = None,
    pubkey: Source | None = None,
    registry: Registry | None = None,
) -> dict[str, Any]:
    """Record an image: hash, signature verdict, hard-coded names and the ones a maker's
    cloud in the registry uses. The returned row has ``status`` "added" or "unchanged"
    (the same SHA-256 was recorded before; nothing changes, not even the maker, model or
    version given, and a signature given is not checked). An empty file is an
    InputError."""
    path = Path(path)
    maker, model, version = (maker or "").strip(), (model or "").strip(), \
        (version or "").strip()
    if not (maker and model and version):
        raise ValueError("maker, model and version are required")
    if (signature is None) != (pubkey is None):
        raise ValueError("a signature needs its public key, and a key a signature")
    sig = decode_signature(signature) if signature is not None else None
    key = load_public_key(pubkey) if pubkey is not None else None
    if not path.exists():
        raise InputError(path, "no such file")
    if not path.is_file():
        raise InputError(path, "not a file")
    scan = scan_image(path)
    if scan.bytes == 0:
        raise InputError(path, "empty file; not a firmware image")
    fid = image_id(scan.sha256)
    known = _image_row(store, scan.sha256)
    if known is not None:
        return {**known, "status": "unchanged"}
    if sig is not None:
        try:
            check = verify_signature(path, scan.sha256, sig, key)
        except OSError as exc:
            raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    else:
        check = SignatureCheck("none", "no signature given")
    if registry is None:
        from vendorwatch.intel import load_registry

        registry = load_registry()
    flagged = scan.strings.flagged(registry)
    row = {
        "id": fid, "sha256": scan.sha256, "maker": maker, "model": model, "version": version,
        "file_name": path.name, "bytes": scan.bytes, "signature": check.verdict,
        "signature_detail": check.detail, "strings": scan.strings.as_json(),
        "flagged": flagged, "added_at": _now(),
    }
    store.con.execute("BEGIN TRANSACTION")
    try:
        clash = store.con.execute(
            "SELECT sha256 FROM firmware_images WHERE id = ? OR sha256 = ?",
            [fid, scan.sha256]).fetchone()
        if clash is not None:
            store.con.execute("ROLLBACK")
            if clash[0] == scan.sha256:  # added meanwhile
                known = _image_row(store, scan.sha256)
                assert known is not None
                return {**known, "status": "unchanged"}
            raise InputError(path, f"id {fid} is taken by another image "
                                   f"(sha256 {clash[0]}); not recorded")
        store.con.execute(
            "INSERT INTO firmware_images (id, sha256, maker, model, version, file_name, "
            "bytes, signature, signature_detail, strings, flagged, added_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [fid, scan.sha256, maker, model, version, path.name, scan.bytes, check.verdict,
             check.detail, json.dumps(row["strings"]), json.dumps(flagged), row["added_at"]],
        )
        store.con.execute("COMMIT")
    except InputError:
        raise
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return {**row, "added_at": _iso(row["added_at"]), "status": "added"}


def approve_image(
    store: Store,
    image: str,
    tested_by: str | None,
    test_report: str | None,
    tested_on: date | str | None,
) -> dict[str, Any]:
    """Record an approval of a recorded image (by id, or by its full SHA-256). A missing or
    blank `test_report` records an approval without a test record. The same approval
    (tester, report, date) twice is recorded once (``status`` "unchanged").
    Raises KeyError for an unknown image, ValueError for a date that is not YYYY-MM-DD."""
    found = find_image(store, image)
    if found is None:
        raise KeyError(image)
    day = date.fromisoformat(tested_on) if isinstance(tested_on, str) else tested_on
    by = (tested_by or "").strip() or None
    report = (test_report or "").strip() or None
    out = {"image_id": found["id"], "maker": found["maker"], "model": found["model"],
           "version": found["version"], "signature": found["signature"], "tested_by": by,
           "test_report": report, "tested_on": day.isoformat() if day else None}
    store.con.execute("BEGIN TRANSACTION")
    try:
        same = store.con.execute(
            "SELECT approved_at FROM firmware_approvals WHERE image_id = ? "
            "AND tested_by IS NOT DISTINCT FROM ? AND test_report IS NOT DISTINCT FROM ? "
            "AND tested_on IS NOT DISTINCT FROM ?", [found["id"], by, report, day],
        ).fetchone()
        if same is not None:
            store.con.execute("ROLLBACK")
            return {**out, "approved_at": _iso(same[0]), "status": "unchanged"}
        now = _now()
        store.con.execute(
            "INSERT INTO firmware_approvals (image_id, tested_by, test_report, tested_on, "
            "approved_at) VALUES (?, ?, ?, ?, ?)", [found["id"], by, report, day, now])
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise
    return {**out, "approved_at": _iso(now), "status": "approved"}


def find_image(store: Store, image: str) -> dict[str, Any] | None:
    """A recorded image by id ('FW-…', any case) or full SHA-256."""
    text = image.strip().lower()
    if re.fullmatch(r"[0-9a-f]{64}", text):
        return _image_row(store, text)
    if text.startswith("fw-"):
        rows = store.query("SELECT sha256 FROM firmware_images WHERE id = ?",
                           ["FW-" + text[3:]])
        return _image_row(store, rows[0]["sha256"]) if rows else None
    return None


def list_images(store: Store) -> list[dict[str, Any]]:
    """Every recorded image with its approvals (oldest first), newest image first."""
    approvals: dict[str, list[dict[str, Any]]] = {}
    for row in store.query(
        "SELECT * FROM firmware_approvals ORDER BY approved_at, tested_on"
    ):
        approvals.setdefault(row["image_id"], []).append({
            "tested_by": row["tested_by"], "test_report": row["test_report"],
            "tested_on": row["tested_on"].isoformat() if row["tested_on"] else None,
            "approved_at": _iso(row["approved_at"]),
        })
    out = []
    for row in store.query("SELECT * FROM firmware_images ORDER BY added_at DESC, id"):
        image = _decode(row)
        image["approvals"] = approvals.get(row["id"], [])
        out.append(image)
    return out


def _image_row(store: Store, sha256: str) -> dict[str, Any] | None:
    rows = store.query("SELECT * FROM firmware_images WHERE sha256 = ?", [sha256])
    return _decode(rows[0]) if rows else None


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    for column in ("strings", "flagged"):
        if isinstance(out[column], str):
            out[column] = json.loads(out[column])
    out["added_at"] = _iso(out["added_at"])
    return out


def _iso(value: Any) -> Any:
    return value.isoformat(timespec="seconds") + "Z" if isinstance(value, datetime) else value


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
