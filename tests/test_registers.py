"""The operator's registers — asset register, access register, inspections — in CSV and
XLSX: the rows each reader stores (examples/terminal-west and fixtures written here), the
rows it skips (a warning naming the line, column and value), the files it refuses (one
line, nothing stored), the column map, content sniffing beside the flow readers, and
hostile cells kept as text."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest

import vendorwatch.ingest as ingest
from vendorwatch.errors import InputError
from vendorwatch.ingest import detect_reader, ingest_path
from vendorwatch.ingest.access_register import AccessRegisterReader
from vendorwatch.ingest.asset_register import AssetRegisterReader, comms_modules, parse_mac
from vendorwatch.ingest.inspections import InspectionsReader, luhn_ok
from vendorwatch.ingest.interface import no_progress
from vendorwatch.ingest.tabular import (
    header_kind,
    load_column_map,
    sniff_kind,
    using_column_map,
)
from vendorwatch.store import Store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "terminal-west"
SITE = "Terminal West"
REGISTER_READERS = [AssetRegisterReader(), AccessRegisterReader(), InspectionsReader()]
HOSTILE_FORMULA = "=cmd|' /C calc'!A0"
HOSTILE_MARKUP = "<script>alert(1)</script>"


@pytest.fixture
def store() -> Any:
    with Store(":memory:") as opened:
        yield opened


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lead registers the readers in `vendorwatch.ingest.READERS`; until then, here."""
    if not any(isinstance(r, AssetRegisterReader) for r in ingest.READERS):
        monkeypatch.setattr(ingest, "READERS", [*ingest.READERS, *REGISTER_READERS])


def rows(store: Store, table: str) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "source_id"}
            for row in store.query(f"SELECT * FROM {table} ORDER BY ALL")]


def counts(store: Store) -> tuple[int, ...]:
    return tuple(store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("sources", "register_assets", "access_register", "inspections"))


def ingested(store: Store, path: Path, kind: str, site: str = SITE) -> ingest.IngestResult:
    result = ingest_path(store, path, site=site)
    assert result.status == "ingested", result.error and result.error.line()
    assert result.kind == kind
    return result


def failed(store: Store, path: Path) -> str:
    before = counts(store)
    result = ingest_path(store, path, site=SITE)
    assert result.status == "failed"
    assert result.error is not None
    line = result.error.line()
    assert "\n" not in line and "Traceback" not in line
    assert counts(store) == before
    return line


def warned(result: ingest.IngestResult) -> list[str]:
    return [w.line() for w in result.warnings]


def asset(line: int, asset_id: str, **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict.fromkeys(
        ("ip", "mac", "hostname", "manufacturer", "brand", "model", "serial", "firmware",
         "zone", "room", "function", "criticality", "comms_modules", "owner", "capacity"))
    return {**base, "line": line, "asset_id": asset_id, "site": SITE, **fields}


# ---------------------------------------------------------------------------------------
# the examples


def test_example_asset_register(store: Store) -> None:
    result = ingested(store, EXAMPLES / "assets.csv", "asset-register")
    assert result.warnings == []
    assert result.records == 27
    stored = rows(store, "register_assets")
    assert len(stored) == 27
    by_id = {r["asset_id"]: r for r in stored}
    assert by_id["TW-SCAN-001"] == asset(
        19, "TW-SCAN-001", ip="10.30.0.20", mac="c0:9b:f4:b1:6e:20", hostname="xray-scanner-01",
        manufacturer="Nuctech", brand="Nuctech", model="FS6000", serial="NT-FS6K-0117",
        zone="scanner", room="Scanner portal 1", function="container scanning",
        criticality="vital", comms_modules="", owner="Customs", capacity=100.0)
    assert by_id["TW-STS-020"] == asset(
        28, "TW-STS-020", ip="10.40.0.254", mac="00:1e:42:2b:fe:01", hostname="RUT955",
        manufacturer="Teltonika", brand="Teltonika", model="RUT955", serial="1100334455",
        firmware="RUT9_R_00.07.06", zone="crane", room="Quay maintenance cabinet",
        function="ship-to-shore crane", criticality="high", comms_modules="lte-modem;wifi",
        owner="Crane supplier (remote maintenance)")
    # the planted mistakes are there as written
    assert by_id["TW-CCTV-004"]["manufacturer"] == "Bosch"
    assert by_id["TW-CCTV-004"]["mac"] == "44:19:b6:7c:14:04"
    assert by_id["TW-CCTV-006"]["comms_modules"] == "lte-modem"
    assert "10.20.0.24" not in {r["ip"] for r in stored}  # seen, not registered
    scanners = [r for r in stored if r["function"] == "container scanning"]
    assert sorted((r["manufacturer"], r["capacity"]) for r in scanners) == [
        ("Nuctech", 25.0), ("Nuctech", 100.0), ("Nuctech", 100.0), ("Rapiscan Systems", 25.0),
        ("Smiths Detection", 20.0)]


def test_example_registers_match_the_demo_capture() -> None:
    from vendorwatch.demo.terminal import DEVICES

    text = (EXAMPLES / "assets.csv").read_text()
    registered = {line.split(",")[2]: line.split(",")[3] for line in text.splitlines()[1:]}
    for device in DEVICES:
        if device.ip == "10.20.0.24":
            assert device.ip not in registered
        else:
            assert registered[device.ip] == device.mac, device.name


def test_example_access_register(store: Store) -> None:
    result = ingested(store, EXAMPLES / "access.csv", "access-register")
    assert result.warnings == []
    got = [(r["line"], r["person"], r["screening"], r["screening_expires"], r["access"],
            r["scope"], r["via"], r["mfa"], r["valid_until"], r["site"])
           for r in rows(store, "access_register")]
    assert got == [
        (2, "J. de Vries", "VGB-B", date(2027, 5, 31), "admin", "office;network", "jump-tw01",
         True, None, SITE),
        (3, "T. Visser", "VGB-B", date(2028, 1, 31), "physical", "container scanning",
         "jump-tw01", True, None, SITE),
        (3, "T. Visser", "VGB-B", date(2028, 1, 31), "remote", "container scanning",
         "jump-tw01", True, None, SITE),
        (4, "Li Wei", "VOG", None, "remote", "TW-SCAN-001;TW-SCAN-002;TW-SCAN-003",
         "jump-tw01", True, None, SITE),
        (5, "M. Bakker", "VOG", None, "admin", "ship-to-shore crane", "jump-tw01", True,
         date(2026, 12, 31), SITE),
        (6, "P. Jansen", "VGB-A", date(2026, 1, 15), "physical", "scanner;cctv", None, None,
         date(2026, 12, 31), SITE),
        (7, "Zhang Min", "none", None, "remote", "TW-STS-001;TW-STS-002", "RUT955 (cellular)",
         False, None, SITE),
        (8, "R. Smit", "VOG", None, "remote", "all", "jump-tw01", True, date(2026, 12, 31),
         SITE),
        (9, "S. Peters", "VGB-C", date(2027, 3, 31), "admin", "office", "jump-tw01", False,
         date(2026, 6, 30), SITE),
    ]


def test_example_inspections(store: Store) -> None:
    result = ingested(store, EXAMPLES / "inspections.csv", "inspections")
    assert result.warnings == []
    assert rows(store, "inspections") == [
        {"line": 2, "asset_id": "TW-STS-001", "date": date(2026, 2, 12), "inspector": "H. Mulder",
         "finding": "cellular modem found", "imei": "001245001234566",
         "iccid": "89310000000000000017",
         "photo": "photos/2026-02-12-sts01-cabinet-modem.jpg", "site": SITE},
        {"line": 3, "asset_id": "TW-CCTV-006", "date": date(2026, 2, 12),
         "inspector": "H. Mulder", "finding": "no modem found", "imei": None, "iccid": None,
         "photo": "photos/2026-02-12-cctv-yard-03.jpg", "site": SITE},
        {"line": 4, "asset_id": "TW-STS-002", "date": date(2026, 2, 13),
         "inspector": "H. Mulder", "finding": "no modem found", "imei": None, "iccid": None,
         "photo": "photos/2026-02-13-sts02-cabinet.jpg", "site": SITE},
        {"line": 5, "asset_id": "TW-SCAN-003", "date": date(2026, 2, 13),
         "inspector": "H. Mulder", "finding": "cellular modem found", "imei": "001245007654320",
         "iccid": "89310000000000000025", "photo": "photos/2026-02-13-mt1213-modem.jpg",
         "site": SITE},
    ]
    assert counts(store)[1:] == (0, 0, 4)  # table rows only, no evidence needed
    assert store.con.execute("SELECT count(*) FROM evidence").fetchone()[0] == 0


def test_own_headers_with_the_column_map_give_the_same_rows(store: Store) -> None:
    own = EXAMPLES / "assets-own-headers.csv"
    # without the map the Dutch headers are no known register
    assert "not a known kind" in failed(store, own)
    mapping = load_column_map(EXAMPLES / "columns.yaml")
    assert mapping["ip_adres"] == "ip" and mapping["capaciteit_(scans/uur)"] == "capacity"
    with using_column_map(mapping):
        ingested(store, own, "asset-register")
        ingested(store, EXAMPLES / "assets.csv", "asset-register")
    first, second = rows(store, "register_assets")[:27], rows(store, "register_assets")[27:]
    assert first == second


def test_the_batch_column_map_is_applied(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "eigen.csv"
    path.write_text("Nummer;Adres;Maker\nA-1;10.0.0.1;Nuctech\n")
    with store.ingesting(str(path), "x" * 64, "asset-register", SITE) as batch:
        batch.column_map = {"Nummer": "asset_id", "Adres": "ip", "maker": "manufacturer"}
        assert AssetRegisterReader().read(path, batch, no_progress) == []
    assert rows(store, "register_assets") == [
        asset(2, "A-1", ip="10.0.0.1", manufacturer="Nuctech")]


def test_reingesting_changes_nothing(store: Store) -> None:
    for name, kind in (("assets.csv", "asset-register"), ("access.csv", "access-register"),
                       ("inspections.csv", "inspections")):
        ingested(store, EXAMPLES / name, kind)
    before = counts(store)
    for name in ("assets.csv", "access.csv", "inspections.csv"):
        assert ingest_path(store, EXAMPLES / name, site=SITE).status == "unchanged"
    assert counts(store) == before == (3, 27, 9, 4)


# ---------------------------------------------------------------------------------------
# the column map file


@pytest.mark.parametrize(("text", "message"), [
    ("Objectnummer: asset_id\nIP-adres: ip_address\n",
     "at line 2: 'IP-adres': unknown column 'ip_address'"),
    ("- asset_id\n", "expected a mapping"),
    ("IP-adres: [ip]\n", "at line 1: 'IP-adres': expected a canonical column name"),
    ("IP-adres: ip\nip adres: mac\n", "at line 2: 'ip adres': mapped twice"),
    ("a: b: c\n", "not valid YAML"),
])
def test_a_bad_column_map_is_one_line_naming_the_key(tmp_path: Path, text: str,
                                                     message: str) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        load_column_map(path)
    assert message in caught.value.line()
    assert "\n" not in caught.value.line()


def test_an_empty_column_map_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text("# nothing yet\n")
    assert load_column_map(path) == {}


# ---------------------------------------------------------------------------------------
# asset register rows


def test_asset_rows_with_errors_are_skipped_by_line_and_the_rest_kept(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(
        "Asset ID,IP,MAC,Manufacturer,Criticality,Comms-Modules,Capacity,Site\n"   # 1
        "A-1,10.0.0.1,00-1B-1B-6A-11-01,Siemens,VITAL,LTE modem; WiFi,,\n"        # 2
        "A-2,10.0.0.999,,Nuctech,high,,,\n"                                        # 3 bad ip
        "A-3,,001b.1b6a.1103,Nuctech,urgent,,,\n"                                  # 4 bad crit
        "A-4,2001:DB8::0:1,001B1B6A1104,Rapiscan,Vitaal,none,\"1.200,5\",\n"       # 5 bad cap
        "a-1,10.0.0.5,,Dell,low,,,\n"                                              # 6 duplicate
        ",10.0.0.6,,Dell,low,,,\n"                                                 # 7 no id
        "A-7,10.0.0.7,00:1b:1b:6a:11,Dell,low,,,\n"                                # 8 bad mac
        "\n"                                                                       # 9 empty
        "A-8,10.0.0.8,0:1b:1b:6a:1:8,Smiths Detection,medium,geen,\"12,5 scans/h\",Haven Oost\n"
        "A-9,10.0.0.9,,Dell,low,,,,extra\n"                                        # 11 too wide
        "A-10,fe80::1%eth0,,Dell,,-,120,\n"                                        # 12
    )
    result = ingested(store, path, "asset-register")
    assert warned(result) == [
        f"{path} at line 3: row skipped: ip: '10.0.0.999' is not an IPv4 or IPv6 address",
        f"{path} at line 4: row skipped: criticality: 'urgent' is not one of low, medium, "
        "high, vital",
        f"{path} at line 5: row skipped: capacity: '1.200,5' is not a number",
        f"{path} at line 6: row skipped: asset_id: 'a-1' already used at line 2",
        f"{path} at line 7: row skipped: asset_id: empty",
        f"{path} at line 8: row skipped: mac: '00:1b:1b:6a:11' is not a MAC address "
        "(aa:bb:cc:dd:ee:ff)",
        f"{path} at line 11: row skipped: 9 fields where the header has 8",
    ]
    assert result.records == 10
    assert rows(store, "register_assets") == [
        asset(2, "A-1", ip="10.0.0.1", mac="00:1b:1b:6a:11:01", manufacturer="Siemens",
              criticality="vital", comms_modules="lte-modem;wifi"),
        asset(10, "A-8", ip="10.0.0.8", mac="00:1b:1b:6a:01:08", manufacturer="Smiths Detection",
              criticality="medium", comms_modules="", capacity=12.5, site="Haven Oost"),
        asset(12, "A-10", ip="fe80::1%eth0", comms_modules="", manufacturer="Dell",
              capacity=120.0),
    ]


def test_mac_forms_and_module_lists() -> None:
    for form in ("00:1B:1B:6A:11:01", "00-1b-1b-6a-11-01", "001b.1b6a.1101", "001b1b6a1101"):
        assert parse_mac(form) == "00:1b:1b:6a:11:01"
    for bad in ("00:1b:1b:6a:11", "001b1b6a110", "00:1b-1b:6a:11:01", "zz:1b:1b:6a:11:01"):
        with pytest.raises(ValueError):
            parse_mac(bad)
    assert comms_modules(" LTE Modem ;wifi, Bluetooth;;wifi") == "lte-modem;wifi;bluetooth"
    assert comms_modules("None") == comms_modules("") == ""


def test_an_asset_register_without_ip_mac_or_hostname_is_refused(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,manufacturer,model,function\nA-1,Nuctech,FS6000,scanning\n")
    assert failed(store, path) == (f"{path} at line 1: missing required column: "
                                   "ip or mac or hostname")
    path.write_text("ip,mac,hostname,manufacturer\n10.0.0.1,,,Nuctech\n")
    assert failed(store, path) == f"{path} at line 1: missing required column: asset_id"


def test_two_headers_for_one_column_are_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,IP,IP address\nA-1,10.0.0.1,10.0.0.1\n")
    assert failed(store, path) == (f"{path} at line 1: columns 'IP' and 'IP address' both "
                                   "give ip")


def test_a_register_whose_rows_are_all_bad_is_refused(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,ip\nA-1,not-an-ip\nA-2,nor this\n")
    assert failed(store, path) == (
        f"{path}: no usable rows (2 skipped; first at line 2: row skipped: ip: 'not-an-ip' "
        "is not an IPv4 or IPv6 address)")


def test_a_header_only_register_is_kept_with_a_warning(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text("asset_id,ip\n")
    result = ingested(store, path, "asset-register")
    assert warned(result) == [f"{path} at line 1: no rows below the header"]
    assert counts(store) == (1, 0, 0, 0)


def test_hostile_cells_are_stored_as_text(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text(
        "asset_id,ip,hostname,owner,model\n"
        f'A-1,10.0.0.1,"{HOSTILE_MARKUP}","{HOSTILE_FORMULA}",+1+1\n'
        f'"@SUM(1,2)",10.0.0.2,-2+3,"a ""quoted"" owner",\n'
    )
    ingested(store, path, "asset-register")
    got = [(r["asset_id"], r["hostname"], r["owner"], r["model"])
           for r in rows(store, "register_assets")]
    assert got == [("A-1", HOSTILE_MARKUP, HOSTILE_FORMULA, "+1+1"),
                   ("@SUM(1,2)", "-2+3", 'a "quoted" owner', None)]


def test_title_rows_semicolons_cp1252_and_utf16(store: Store, tmp_path: Path) -> None:
    text = ("Assetregister Terminal West;;\r\n\r\n"
            "Asset_ID;IP;Owner\r\nA-1;10.0.0.1;Café Beheer\r\n")
    cp1252 = tmp_path / "cp1252.csv"
    cp1252.write_bytes(text.encode("cp1252"))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(text.replace(";", "\t").encode("utf-16"))
    for path in (cp1252, utf16):
        with Store(":memory:") as fresh:
            ingested(fresh, path, "asset-register")
            assert rows(fresh, "register_assets") == [
                asset(4, "A-1", ip="10.0.0.1", owner="Café Beheer")]


def test_the_delimiter_is_the_one_that_makes_a_header(store: Store, tmp_path: Path) -> None:
    titled = tmp_path / "titled.csv"
    titled.write_text("Assetregister Terminal West\nasset_id;ip;room\n"
                      "A-1;10.0.0.1;Hall 1, bay 3, north side, upper floor\n")
    excel = tmp_path / "excel.csv"
    excel.write_text("sep=;\nasset_id;ip;room\nA-1;10.0.0.1;Hall 1, bay 3, north side, "
                     "upper floor\n")
    for path in (titled, excel):
        with Store(":memory:") as fresh:
            ingested(fresh, path, "asset-register")
            assert rows(fresh, "register_assets") == [
                asset(3, "A-1", ip="10.0.0.1", room="Hall 1, bay 3, north side, upper floor")]


def test_a_multiline_cell_keeps_line_numbers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "assets.csv"
    path.write_text('asset_id,ip,room\nA-1,10.0.0.1,"Hall 1\nbay 3"\nA-2,10.0.0.x,\n')
    result = ingested(store, path, "asset-register")
    assert warned(result) == [
        f"{path} at line 4: row skipped: ip: '10.0.0.x' is not an IPv4 or IPv6 address"]
    assert rows(store, "register_assets") == [asset(2, "A-1", ip="10.0.0.1",
                                                    room="Hall 1\nbay 3")]


# ---------------------------------------------------------------------------------------
# XLSX


def write_workbook(path: Path, sheets: dict[str, list[list[Any]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, table in sheets.items():
        sheet = book.create_sheet(title)
        for row in table:
            sheet.append(row)
    book.save(path)
    return path


def test_xlsx_asset_register(store: Store, tmp_path: Path) -> None:
    path = write_workbook(tmp_path / "register.dat", {  # the name's extension is no guide
        "Read me": [["This workbook lists the terminal's assets."], ["Owner: IT"]],
        "Assets": [
            ["Asset register Terminal West"],                                   # row 1
            [],                                                                 # row 2
            ["Asset ID", "IP address", "MAC", "Model", "Criticality", "Capacity", None],
            ["A-1", "10.30.0.20", "c0:9b:f4:b1:6e:20", "FS6000", "Vital", 100.0],  # row 4
            ["A-2", "10.30.0.300", None, "FS6000", "vital", 100],               # row 5: bad ip
            ["A-3", "10.30.0.22", None, "=1+2", "high", 25.5],                  # row 6: formula
            ["A-4", "10.30.0.23", None, HOSTILE_FORMULA, "low", None, "notes"], # row 7
            [7, "10.30.0.24", None, HOSTILE_MARKUP, None, None],                # row 8
        ],
    })
    result = ingested(store, path, "asset-register")
    assert warned(result) == [f"{path} at sheet 'Assets' row 5: row skipped: ip: '10.30.0.300' "
                              "is not an IPv4 or IPv6 address"]
    assert rows(store, "register_assets") == [
        asset(4, "A-1", ip="10.30.0.20", mac="c0:9b:f4:b1:6e:20", model="FS6000",
              criticality="vital", capacity=100.0),
        asset(6, "A-3", ip="10.30.0.22", model="=1+2", criticality="high", capacity=25.5),
        asset(7, "A-4", ip="10.30.0.23", model=HOSTILE_FORMULA, criticality="low"),
        asset(8, "7", ip="10.30.0.24", model=HOSTILE_MARKUP),
    ]
    assert ingest_path(store, path, site=SITE).status == "unchanged"


def test_xlsx_access_register_and_inspections(store: Store, tmp_path: Path) -> None:
    access = write_workbook(tmp_path / "access.xlsx", {"Toegang": [
        ["Person", "Screening", "Screening expires", "Access", "Scope", "MFA", "Valid until"],
        ["A. Smit", "vgb-b", date(2027, 1, 31), "Remote", "TW-SCAN-001", True, None],
        ["B. Jong", "VGB", None, "admin", "all", False, "31-12-2026"],
    ]})
    result = ingested(store, access, "access-register")
    assert warned(result) == [
        f"{access} at sheet 'Toegang' row 3: row skipped: screening: 'VGB' is not one of "
        "none, VOG, VGB-A, VGB-B, VGB-C (a VGB needs its category: VGB-A, VGB-B or VGB-C)"]
    assert [(r["person"], r["screening"], r["screening_expires"], r["access"], r["mfa"])
            for r in rows(store, "access_register")] == [
        ("A. Smit", "VGB-B", date(2027, 1, 31), "remote", True)]
    inspections = write_workbook(tmp_path / "inspections.xlsx", {"Sheet": [
        ["Asset_ID", "Date", "Finding", "IMEI", "ICCID"],
        ["TW-STS-001", date(2026, 2, 12), "cellular modem found", "001245001234566",
         "8931 0000 0000 0000 017"],
        ["TW-STS-002", date(2026, 2, 13), "cellular modem found", 1245007654320, None],
    ]})
    result = ingested(store, inspections, "inspections")
    # a number cell has lost the IMEI's leading zeros: it is no IMEI any more
    assert warned(result) == [f"{inspections} at sheet 'Sheet' row 3: row skipped: imei: "
                              "'1245007654320' is not an IMEI (15 digits)"]
    assert [(r["asset_id"], r["date"], r["imei"], r["iccid"])
            for r in rows(store, "inspections")] == [
        ("TW-STS-001", date(2026, 2, 12), "001245001234566", "8931000000000000017")]


def test_a_corrupt_workbook_is_one_line_and_nothing_stored(store: Store, tmp_path: Path
                                                          ) -> None:
    good = write_workbook(tmp_path / "good.xlsx", {"Assets": [["asset_id", "ip"],
                                                             ["A-1", "10.0.0.1"]]})
    data = good.read_bytes()
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(data[: len(data) // 2])
    line = failed(store, cut)
    assert line.startswith(f"{cut}: not a readable XLSX workbook (")
    # a sheet part replaced by garbage
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = b"<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>99"
            dst.writestr(item, body)
    assert "not a readable XLSX workbook" in failed(store, broken)
    with store.ingesting(str(cut), "y" * 64, "asset-register", SITE) as batch, \
            pytest.raises(InputError, match="not a readable XLSX workbook"):
        AssetRegisterReader().read(cut, batch, no_progress)


def test_a_zip_that_is_no_workbook_is_not_a_register(tmp_path: Path) -> None:
    path = tmp_path / "photos.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("asset_id,ip.txt", "asset_id,ip\nA-1,10.0.0.1\n")
    path.write_bytes(buffer.getvalue())
    with pytest.raises(InputError, match="not a known kind"):
        detect_reader(path)


# ---------------------------------------------------------------------------------------
# access register and inspections rows


def test_access_rows_with_errors(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "access.csv"
    path.write_text(
        "person;employer;screening;screening_expires;access;scope;via;mfa;valid_until\n"
        "A;X;vog;2026-13-01;remote;all;;ja;\n"             # 2 bad date
        "B;X;VGB (C);;Op afstand, Beheer;TW-1, TW-2 ;jump;J;01.02.2027\n"  # 3 two kinds
        "C;X;;;fysiek;*;;;\n"                              # 4 empty screening = none
        "D;X;VGB-D;;remote;all;;maybe;\n"                  # 5 bad screening, bad mfa
        "E;X;VOG;;teleport;all;;;\n"                       # 6 bad access
        ";X;VOG;;remote;;;;\n"                             # 7 no person, no scope
    )
    result = ingested(store, path, "access-register")
    assert warned(result) == [
        f"{path} at line 2: row skipped: screening_expires: '2026-13-01' is not a date "
        "(YYYY-MM-DD or DD-MM-YYYY)",
        f"{path} at line 5: row skipped: screening: 'VGB-D' is not one of none, VOG, VGB-A, "
        "VGB-B, VGB-C; mfa: 'maybe' is not yes/no (yes, no, true, false, ja, nee)",
        f"{path} at line 6: row skipped: access: 'teleport' is not one of physical, remote, "
        "admin",
        f"{path} at line 7: row skipped: person: empty; scope: empty",
    ]
    assert [(r["line"], r["person"], r["screening"], r["access"], r["scope"], r["mfa"],
             r["valid_until"]) for r in rows(store, "access_register")] == [
        (3, "B", "VGB-C", "admin", "TW-1;TW-2", True, date(2027, 2, 1)),
        (3, "B", "VGB-C", "remote", "TW-1;TW-2", True, date(2027, 2, 1)),
        (4, "C", "none", "physical", "all", None, None),
    ]


def test_an_access_register_without_screening_is_refused(store: Store, tmp_path: Path
                                                        ) -> None:
    path = tmp_path / "access.csv"
    path.write_text("person,access,scope\nA,remote,all\n")
    assert failed(store, path) == f"{path} at line 1: missing required column: screening"


def test_inspection_rows_with_errors(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "inspections.csv"
    path.write_text(
        "asset\tdate\tinspector\tfinding\timei\ticcid\tphoto\n"
        "TW-1\t12-02-2026\tH\tcellular modem found\t490154203237518\t8931000000000000001\t\n"
        "TW-2\t2026-02-12\tH\tcellular modem found\t490154203237519\t\t\n"        # bad Luhn
        "TW-3\t2026-02-12\tH\tcellular modem found\t49015420323751\t\t\n"         # 14 digits
        "TW-4\t2026-02-12\tH\tsim found\t\t89310000000000001\t\n"                 # 17 digits
        "TW-5\t2026-02-12\tH\t\t\t\t\n"                                           # no finding
    )
    result = ingested(store, path, "inspections")
    assert warned(result) == [
        f"{path} at line 3: row skipped: imei: '490154203237519' is not an IMEI (its check "
        "digit is wrong)",
        f"{path} at line 4: row skipped: imei: '49015420323751' is not an IMEI (15 digits)",
        f"{path} at line 5: row skipped: iccid: '89310000000000001' is not an ICCID (18 to 22 "
        "digits)",
        f"{path} at line 6: row skipped: finding: empty",
    ]
    assert [(r["asset_id"], r["date"], r["imei"], r["iccid"])
            for r in rows(store, "inspections")] == [
        ("TW-1", date(2026, 2, 12), "490154203237518", "8931000000000000001")]
    assert luhn_ok("001245001234566") and not luhn_ok("001245001234567")


# ---------------------------------------------------------------------------------------
# sniffing


def test_each_register_is_told_from_the_others_and_from_flow_csv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nfdump = tmp_path / "nfdump.csv"
    nfdump.write_text("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,"
                      "flows\n2023-11-14 22:13:20.500,1.250,6,10.0.0.1,49160,10.0.0.2,443,12,"
                      "3400,1\n")
    zeek = tmp_path / "conn.log"
    zeek.write_text("#separator \\x09\n#path\tconn\n#fields\tts\tuid\tid.orig_h\n")
    screening = ROOT / "tests" / "fixtures" / "intel" / "consolidated_screening_list.csv"
    for path in (nfdump, zeek, screening):
        assert sniff_kind(path, path.read_bytes()[:4096]) is None
    examples = {"assets.csv": "asset-register", "access.csv": "access-register",
                "inspections.csv": "inspections"}
    # registers sniffed before the flow readers take only their own files
    others = [r for r in ingest.READERS if r.kind not in examples.values()]
    monkeypatch.setattr(ingest, "READERS", [*REGISTER_READERS[::-1], *others])
    for name, kind in examples.items():
        assert detect_reader(EXAMPLES / name).kind == kind
    assert detect_reader(nfdump).kind == "nfdump"
    assert detect_reader(zeek).kind == "zeek"


def test_header_kind() -> None:
    assert header_kind(["asset_id", "ip", "finding"], {}) == "asset-register"
    assert header_kind(["asset", "date", "finding"], {}) == "inspections"
    assert header_kind(["Asset_ID", "finding", "IMEI"], {}) == "inspections"
    assert header_kind(["person", "screening", "access", "scope"], {}) == "access-register"
    # recognised by three of its columns, so a missing one can be named
    assert header_kind(["manufacturer", "model", "serial"], {}) == "asset-register"
    assert header_kind(["name", "ip"], {}) is None
    assert header_kind(["Nummer", "Adres"], {"nummer": "asset_id", "adres": "ip"}) == \
        "asset-register"
