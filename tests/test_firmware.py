"""Firmware and update validation: image hashes, signatures (Ed25519, ECDSA, RSA), strings
hard-coded in an image, approvals, the `firmware` commands and the detector's findings.

The CLI runs in a subprocess on the real app with the `firmware` group registered by
``register(app)`` (idempotent, so this keeps working once cli/app.py registers it)."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, padding, rsa

from vendorwatch.detect import detect_context
from vendorwatch.detect.firmware_approval import FirmwareApproval
from vendorwatch.errors import InputError
from vendorwatch.firmware import add_image, approve_image, list_images
from vendorwatch.firmware.images import CHUNK, decode_signature
from vendorwatch.firmware.strings import StringScanner, find_hard_coded, iter_strings
from vendorwatch.store import Store

EMBEDDED = [b"https://www.hik-connect.com/api/v1", b"ota.example-maker.com", b"116.62.100.21",
            b"v5.7.3 build 220112", b"libc.so.6", b"/lib/libssl.so", b"README.md",
            b"fe80::1c2d:3e4f", b"version 1.2.3.4"]


def make_image(path: Path, seed: int, across: bytes | None = None) -> Path:
    """Random bytes with the EMBEDDED strings (NUL-delimited); `across` straddles the
    reader's chunk boundary."""
    rng = random.Random(seed)
    parts = [rng.randbytes(4000)]
    for text in EMBEDDED:
        parts += [b"\0", text, b"\0", rng.randbytes(rng.randint(500, 3000))]
    data = b"".join(parts)
    if across is not None:
        data += rng.randbytes(CHUNK - len(data) - len(across) // 2 - 1)
        data += b"\0" + across + b"\0" + rng.randbytes(5000)
        assert data.index(across) < CHUNK < data.index(across) + len(across)
    path.write_bytes(data)
    return path


def pem(public_key: Any) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM,
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def signed(tmp_path: Path) -> dict[str, Path]:
    """An image, an Ed25519 signature (raw), ECDSA P-256 (base64 DER), RSA-PSS (PEM armour),
    the public keys, and a tampered copy of the image."""
    image = make_image(tmp_path / "cam-5.7.3.bin", 1)
    data = image.read_bytes()
    ed = ed25519.Ed25519PrivateKey.generate()
    p256 = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    files = {"image": image}
    (tmp_path / "ed.sig").write_bytes(ed.sign(data))
    (tmp_path / "ed.pem").write_bytes(pem(ed.public_key()))
    (tmp_path / "ec.sig").write_bytes(
        base64.b64encode(p256.sign(data, ec.ECDSA(hashes.SHA256()))) + b"\n")
    (tmp_path / "ec.pem").write_bytes(pem(p256.public_key()))
    pss = rsa_key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                         salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256())
    body = base64.encodebytes(pss)
    (tmp_path / "rsa.sig").write_bytes(b"-----BEGIN SIGNATURE-----\n" + body
                                       + b"-----END SIGNATURE-----\n")
    (tmp_path / "rsa.pem").write_bytes(pem(rsa_key.public_key()))
    tampered = bytearray(data)
    tampered[4500] ^= 0xFF
    (tmp_path / "tampered.bin").write_bytes(bytes(tampered))
    for name in ("ed.sig", "ed.pem", "ec.sig", "ec.pem", "rsa.sig", "rsa.pem",
                 "tampered.bin"):
        files[name] = tmp_path / name
    return files


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "fw.duckdb")


# --- images ----------------------------------------------------------------------------------


def test_hash_id_and_strings(store: Store, signed: dict[str, Path]) -> None:
    row = add_image(store, signed["image"], "Hikvision", "DS-2CD2143G2-I", "5.7.3")
    sha = hashlib.sha256(signed["image"].read_bytes()).hexdigest()
    assert row["status"] == "added"
    assert row["sha256"] == sha and row["id"] == "FW-" + sha[:12]
    assert row["bytes"] == signed["image"].stat().st_size
    assert row["signature"] == "none"
    strings = row["strings"]
    assert {"www.hik-connect.com", "ota.example-maker.com"} <= set(strings["domains"])
    assert not {"libc.so", "libssl.so", "readme.md"} & set(strings["domains"])
    assert "116.62.100.21" in strings["ips"] and "fe80::1c2d:3e4f" in strings["ips"]
    assert "1.2.3.4" not in strings["ips"]  # "version 1.2.3.4" is a version
    assert strings["urls"] == ["https://www.hik-connect.com/api/v1"]
    assert row["flagged"] == [{"value": "www.hik-connect.com", "endpoint": "hik-connect-web",
                               "maker": "hikvision"}]
    stored = store.query("SELECT * FROM firmware_images")
    assert len(stored) == 1 and json.loads(stored[0]["flagged"]) == row["flagged"]


def test_readding_changes_nothing(store: Store, signed: dict[str, Path]) -> None:
    first = add_image(store, signed["image"], "Hikvision", "DS-2CD2143G2-I", "5.7.3")
    again = add_image(store, signed["image"], "Other", "X", "9.9", signed["ed.sig"],
                      signed["ed.pem"])
    assert again["status"] == "unchanged" and again["id"] == first["id"]
    assert (again["maker"], again["version"], again["signature"]) == ("Hikvision", "5.7.3",
                                                                      "none")
    assert store.query("SELECT count(*) AS n FROM firmware_images")[0]["n"] == 1


@pytest.mark.parametrize(("sig", "key", "detail"), [
    ("ed.sig", "ed.pem", "Ed25519 signature valid"),
    ("ec.sig", "ec.pem", "ECDSA P-256 signature valid (SHA-256)"),
    ("rsa.sig", "rsa.pem", "RSA-2048 PSS signature valid (SHA-256)"),
])
def test_signature_valid_and_tampered(
    tmp_path: Path, signed: dict[str, Path], sig: str, key: str, detail: str
) -> None:
    with Store(tmp_path / f"{sig}.duckdb") as store:
        good = add_image(store, signed["image"], "Hikvision", "M", "1", signed[sig],
                         signed[key])
        assert (good["signature"], good["signature_detail"]) == ("valid", detail)
        bad = add_image(store, signed["tampered.bin"], "Hikvision", "M", "1", signed[sig],
                        signed[key])
        assert bad["signature"] == "invalid"
        assert bad["signature_detail"] == "signature does not match the image"


def test_rsa_pkcs1v15_raw_ecdsa_and_unsupported_keys(tmp_path: Path) -> None:
    image = make_image(tmp_path / "img.bin", 3)
    data = image.read_bytes()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    p384 = ec.generate_private_key(ec.SECP384R1())
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(p384.sign(data, ec.ECDSA(hashes.SHA256())))
    raw_ec = r.to_bytes(48, "big") + s.to_bytes(48, "big")
    dsa_key = dsa.generate_private_key(key_size=2048)
    cases = [
        (rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256()), rsa_key.public_key(),
         "valid", "RSA-2048 PKCS#1 v1.5 signature valid (SHA-256)"),
        (raw_ec, p384.public_key(), "valid", "ECDSA P-384 signature valid (SHA-256)"),
        (dsa_key.sign(data, hashes.SHA256()), dsa_key.public_key(), "invalid",
         "unsupported key type (DSA)"),
        (b"\x01" * 10, ed25519.Ed25519PrivateKey.generate().public_key(), "invalid",
         "an Ed25519 signature has 64 bytes, this one 10"),
    ]
    for index, (sig, key, verdict, detail) in enumerate(cases):
        with Store(tmp_path / f"{index}.duckdb") as store:
            row = add_image(store, image, "Acme", "M", "1", sig, pem(key))
            assert (row["signature"], row["signature_detail"]) == (verdict, detail)


def test_signature_encodings_decided_by_content(tmp_path: Path) -> None:
    raw = bytes(range(256))[:64]
    assert decode_signature(raw) == raw
    assert decode_signature(base64.b64encode(raw) + b"\n") == raw
    armoured = b"-----BEGIN SIGNATURE-----\nComment: x\n" + base64.encodebytes(raw) + \
        b"-----END SIGNATURE-----\n"
    assert decode_signature(armoured) == raw
    for bad in (b"", b"  \n", b"-----BEGIN SIGNATURE-----\n!!!\n-----END SIGNATURE-----\n",
                b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n"):
        with pytest.raises(InputError):
            decode_signature(bad)


# --- strings ---------------------------------------------------------------------------------


def test_string_across_a_chunk_boundary(tmp_path: Path, store: Store) -> None:
    image = make_image(tmp_path / "big.bin", 2, across=b"p2p.easy4ipcloud.com")
    row = add_image(store, image, "Dahua", "IPC", "2.8")
    assert "p2p.easy4ipcloud.com" in row["strings"]["domains"]
    assert {"value": "p2p.easy4ipcloud.com", "endpoint": "dahua-easy4ip-p2p",
            "maker": "dahua"} in row["flagged"]
    # any chunk size finds the same strings as one read of the whole file
    small = tmp_path / "small.bin"
    make_image(small, 4)
    whole = list(iter_strings(small, chunk_size=1 << 30))
    for size in (1, 5, 7, 4096):
        assert list(iter_strings(small, chunk_size=size)) == whole


def test_scanner_cuts_endless_runs() -> None:
    scanner = StringScanner(max_length=100)
    out = list(scanner.feed(b"a" * 1000)) + list(scanner.close())
    assert "".join(out) == "a" * 1000


def test_domains_addresses_and_urls() -> None:
    found = find_hard_coded([
        "server=116.62.100.21 mask 255.255.255.0 lo 127.0.0.1 any 0.0.0.0",
        "v1.2.3.4 Version: 2.3.4.5 10.0.0.300 1.2.3.4.5",
        "rtsp://admin:pw@192.168.1.64:554/Streaming http://[2001:db8::1]:8080/x",
        "mail support@hikvision.com. Foo.Net a.cl 35.yt std::string 00:11:22:33:44:55 12:30:45",
        "com.hikvision.ezviz busybox.sh lib.rs ld-linux.so.2 init.d rc.local",
    ])
    assert sorted(found.domains) == ["hikvision.com"]
    assert sorted(found.ips) == ["116.62.100.21", "192.168.1.64", "2001:db8::1"]
    assert sorted(found.urls) == ["http://[2001:db8::1]:8080/x",
                                  "rtsp://admin:pw@192.168.1.64:554/Streaming"]


# --- approvals -------------------------------------------------------------------------------


def test_approve_with_and_without_test_report(store: Store, signed: dict[str, Path]) -> None:
    image = add_image(store, signed["image"], "Hikvision", "DS-2CD2143G2-I", "5.7.3")
    done = approve_image(store, image["id"].lower(), "J. Jansen", "TR-2024-017", "2024-03-01")
    assert done["status"] == "approved" and done["test_report"] == "TR-2024-017"
    assert approve_image(store, image["id"], "J. Jansen", "TR-2024-017",
                         "2024-03-01")["status"] == "unchanged"
    untested = approve_image(store, image["sha256"], "K. Klaas", "  ", "2024-04-01")
    assert untested["test_report"] is None
    approvals = list_images(store)[0]["approvals"]
    assert [a["test_report"] for a in approvals] == ["TR-2024-017", None]
    with pytest.raises(KeyError):
        approve_image(store, "FW-000000000000", "x", None, None)


# --- CLI -------------------------------------------------------------------------------------

CLI = ("from vendorwatch.cli.app import app; from vendorwatch.cli.firmware import register; "
       "register(app); app(prog_name='vendorwatch')")


def cli(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-c", CLI, "--db", str(db), *map(str, args)],
                          capture_output=True, text=True, check=False, timeout=120,
                          env={**os.environ, "COLUMNS": "200"})


def test_cli_exit_codes(tmp_path: Path, signed: dict[str, Path]) -> None:
    db = tmp_path / "cli.duckdb"
    base = ["--maker", "Hikvision", "--model", "DS-2CD2143G2-I", "--version", "5.7.3"]
    ok = cli(db, "firmware", "add", signed["image"], *base, "--signature", signed["ed.sig"],
             "--pubkey", signed["ed.pem"], "--format", "json")
    assert ok.returncode == 0, ok.stderr
    row = json.loads(ok.stdout)[0]
    assert row["signature"] == "valid" and row["flagged"][0]["value"] == "www.hik-connect.com"
    assert ok.stderr.startswith(f"added {signed['image']} as {row['id']}")

    again = cli(db, "firmware", "add", signed["image"], *base)
    assert again.returncode == 0 and again.stderr.startswith("unchanged:")
    assert "www.hik-connect.com" in again.stdout and "hik-connect-web" in again.stdout

    bad = cli(db, "firmware", "add", signed["tampered.bin"], *base, "--signature",
              signed["ed.sig"], "--pubkey", signed["ed.pem"])
    assert bad.returncode == 1, bad.stderr
    assert "invalid" in bad.stdout and "signature does not match the image" in bad.stdout

    junk_key = tmp_path / "junk.pem"
    junk_key.write_text("not a key\n")
    for args, message in [
        (["--signature", signed["ed.sig"], "--pubkey", junk_key],
         f"error: {junk_key}: not a PEM public key"),
        (["--signature", signed["ed.sig"]], "error: --signature and --pubkey go together"),
        (["--signature", tmp_path / "nope.sig", "--pubkey", signed["ed.pem"]],
         f"error: {tmp_path / 'nope.sig'}: no such file"),
    ]:
        done = cli(db, "firmware", "add", signed["image"], *base, *args)
        assert done.returncode == 2 and done.stderr.strip() == message, done.stderr
    missing = cli(db, "firmware", "add", tmp_path / "nope.bin", *base)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"error: {tmp_path / 'nope.bin'}: no such file"
    assert "Traceback" not in missing.stderr + bad.stderr

    approve = cli(db, "firmware", "approve", row["id"], "--tested-by", "J. Jansen",
                  "--test-report", "TR-17", "--date", "2024-03-01")
    assert approve.returncode == 0 and "test record TR-17" in approve.stderr
    untested = cli(db, "firmware", "approve", row["id"], "--tested-by", "K. Klaas",
                   "--date", "2024-04-01", "--format", "json")
    assert untested.returncode == 0 and "WITHOUT a test record" in untested.stderr
    assert json.loads(untested.stdout)[0]["test_report"] is None
    unknown = cli(db, "firmware", "approve", "FW-000000000000", "--tested-by", "x",
                  "--date", "2024-04-01")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().startswith("error: no firmware image FW-000000000000")
    bad_day = cli(db, "firmware", "approve", row["id"], "--tested-by", "x", "--date", "soon")
    assert bad_day.returncode == 2 and "Traceback" not in bad_day.stderr

    listed = cli(db, "firmware", "list", "--format", "json")
    assert listed.returncode == 0
    images = {i["id"]: i for i in json.loads(listed.stdout)}
    assert len(images) == 2 and len(images[row["id"]]["approvals"]) == 2
    table = cli(db, "firmware", "list")
    assert table.returncode == 0 and row["id"] in table.stdout


# --- detector --------------------------------------------------------------------------------

REGISTER = [
    # asset id, ip, manufacturer, model, firmware, criticality
    ("CAM-01", "10.20.0.11", "Hikvision", "DS-2CD2143G2-I", "5.7.3", "high"),   # approved
    ("CAM-02", "10.20.0.12", "Hangzhou Hikvision Digital Technology Co., Ltd.",
     "ds-2cd2143g2-i", "V5.7.3", "medium"),                                   # same, approved
    ("CAM-03", "10.20.0.13", "Hikvision", "DS-2CD2143G2-I", "5.7.9", "medium"),  # never
    ("NVR-01", "10.20.0.20", "Hikvision", "DS-7608NI", "4.1.0", "low"),    # no test record
    ("GATE-1", "10.20.0.30", "Acme Gates", "G-100", "2.0", "vital"),       # invalid signature
    ("PLC-01", "10.20.0.40", "Siemens", "S7-1500", "", "vital"),           # no version: skip
]


def _register(store: Store) -> None:
    with store.ingesting("assets.csv", "sha-register", "test", "Terminal West") as batch:
        batch.table_rows("register_assets", [
            {"line": n + 2, "asset_id": a, "ip": ip, "manufacturer": maker, "model": model,
             "firmware": fw, "site": "Terminal West", "criticality": crit}
            for n, (a, ip, maker, model, fw, crit) in enumerate(REGISTER)])
    store.con.execute(
        "INSERT INTO assets (site, ip, mac, manufacturer, device_class, confidence, risk, "
        "listings) VALUES ('Terminal West', '10.20.0.13', NULL, 'Hikvision', 'camera', 0.9, "
        "'critical', '[]')")


def _detect(store: Store) -> dict[tuple[str, str | None], Any]:
    findings = list(FirmwareApproval().run(detect_context(store)))
    ids = [f.id for f in findings]
    assert len(ids) == len(set(ids))
    return {(f.kind, f.details.get("asset_id") or f.details.get("image")): f
            for f in findings}


def test_detector_on_empty_tables(store: Store) -> None:
    assert list(FirmwareApproval().run(detect_context(store))) == []


def test_detector_findings(tmp_path: Path, store: Store, signed: dict[str, Path]) -> None:
    _register(store)
    cam = add_image(store, signed["image"], "Hikvision", "DS-2CD2143G2-I", "5.7.3")
    approve_image(store, cam["id"], "J. Jansen", "TR-2024-017", "2024-03-01")
    nvr = add_image(store, make_image(tmp_path / "nvr.bin", 7), "Hikvision", "DS-7608NI",
                    "4.1.0")
    approve_image(store, nvr["id"], "K. Klaas", None, "2024-03-02")
    gate = add_image(store, signed["tampered.bin"], "Acme Gates", "G-100", "2.0",
                     signed["ed.sig"], signed["ed.pem"])
    assert gate["signature"] == "invalid"
    approve_image(store, gate["id"], "J. Jansen", "TR-9", "2024-03-03")

    found = _detect(store)
    kinds = {key for key in found}
    # approved after testing: no unapproved-firmware for CAM-01 and CAM-02
    assert ("unapproved-firmware", "CAM-01") not in kinds
    assert ("unapproved-firmware", "CAM-02") not in kinds
    never = found[("unapproved-firmware", "CAM-03")]
    assert never.asset_ip == "10.20.0.13" and never.severity == "high"  # Hikvision: high risk
    assert never.details["approved_versions"] == ["5.7.3"] and never.details["observed"]
    assert "5.7.9" in never.summary and never.evidence[0]["source"] == "assets.csv"
    # approved without a test record: the approval itself is the finding
    untested = found[("approval-without-test", nvr["id"])]
    assert untested.site == "Terminal West" and untested.severity == "medium"
    assert untested.details["devices"] == ["NVR-01"]
    assert ("unapproved-firmware", "NVR-01") not in kinds
    # a device running the invalidly signed version
    invalid = found[("firmware-signature-invalid", "GATE-1")]
    assert invalid.severity == "critical" and invalid.asset_ip == "10.20.0.30"
    # hard-coded vendor cloud names in the camera image (run by two cameras)
    cloud = found[("firmware-vendor-endpoint", cam["id"])]
    assert cloud.severity == "medium" and "www.hik-connect.com" in cloud.summary
    assert cloud.details["devices"] == ["CAM-01", "CAM-02"]
    # the device without a firmware version is not judged
    assert not any(key[1] == "PLC-01" for key in kinds)
    # ids are stable across runs
    assert {f.id for f in _detect(store).values()} == {f.id for f in found.values()}


def test_untested_approval_without_devices_and_invalid_image_unused(
    store: Store, signed: dict[str, Path]
) -> None:
    image = add_image(store, signed["tampered.bin"], "Acme", "M", "1", signed["ed.sig"],
                      signed["ed.pem"])
    approve_image(store, image["id"], None, None, None)
    found = _detect(store)
    assert found[("firmware-signature-invalid", image["id"])].severity == "high"
    untested = found[("approval-without-test", image["id"])]
    assert untested.severity == "low" and untested.site == ""
