"""The HTML report: self-contained, and every string from a packet shown as text."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from conftest import run_cli


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]


def test_report_escapes_hostile_strings_and_needs_no_network(
    tmp_path: Path, small_capture: Path
) -> None:
    db = tmp_path / "db.duckdb"
    assert run_cli("ingest", str(small_capture), "--site", "Terminal <West>", db=db).returncode == 0
    out = tmp_path / "report.html"
    done = run_cli("report", "--out", str(out), db=db)
    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the User-Agent, as text
    assert "Terminal &lt;West&gt;" in html
    parsed = Elements()
    parsed.feed(html)
    assert "script" not in parsed.tags
    assert "svg" in parsed.tags  # the chart is inline
    assert all(url.startswith("https://") for url in parsed.urls)  # only source links
    assert "default-src 'none'" in html


def test_hostile_user_agent_is_plain_text_in_tables_and_json(
    tmp_path: Path, small_capture: Path
) -> None:
    import json

    db = tmp_path / "db.duckdb"
    run_cli("ingest", str(small_capture), db=db)
    table = run_cli("evidence", "--signal", "http.user_agent", db=db)
    assert "<script>alert(1)</script>" in table.stdout
    rows = json.loads(run_cli("evidence", "--ip", "10.0.0.5", "--format", "json", db=db).stdout)
    assert {"signal": "http.user_agent", "value": "<script>alert(1)</script>"}.items() <= next(
        r for r in rows if r["signal"] == "http.user_agent").items()
