"""Buffered writes of one source's evidence and flows into the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd

FLUSH_ROWS = 200_000


class FlowRecord(NamedTuple):
    """One bidirectional flow; src is the initiator; bytes are IP-level."""

    ts_first: float | None
    ts_last: float | None
    src_ip: str
    src_port: int | None
    dst_ip: str
    dst_port: int | None
    proto: int | None
    vlan: int | None
    src_mac: str | None
    dst_mac: str | None
    src_packets: int | None
    dst_packets: int | None
    src_bytes: int | None
    dst_bytes: int | None
    app: str | None = None
    server_name: str | None = None
    user_agent: str | None = None
    ja4: str | None = None


EVIDENCE_COLUMNS = ("ts", "ip", "peer_ip", "signal", "value", "source")
FLOW_COLUMNS = FlowRecord._fields


def _ts_sql(column: str) -> str:
    # Epoch seconds (DOUBLE) to TIMESTAMP without any time-zone conversion; a time no
    # calendar can hold (hostile or corrupt input) is stored as unknown.
    return (f"CASE WHEN {column} >= 0 AND {column} < 32503680000 "
            f"THEN make_timestamp(CAST(round({column} * 1000000) AS BIGINT)) END")


class IngestBatch:
    """Collects rows for one source and appends them inside the source's transaction."""

    def __init__(self, con: duckdb.DuckDBPyConnection, source_id: int, site: str = "") -> None:
        self.con = con
        self.source_id = source_id
        self.site = site  # the source's --site (register rows without a site column take it)
        self._evidence: list[tuple[float | None, str, str | None, str, str, str]] = []
        self._flows: list[FlowRecord] = []
        self._seen_evidence: set[tuple[str, str | None, str, str, str]] = set()
        self.bytes_read = 0
        self.records_read = 0
        self.warning: str | None = None
        self.evidence_rows = 0
        self.flow_rows = 0
        # files of this source read before in another source (not to be read again), and
        # the files this source read: path -> sha256
        self.skip_files: set[Path] = set()
        self.files_read: dict[str, str] = {}
        # the user's header → canonical column mapping for tabular inputs (--columns)
        self.column_map: dict[str, str] = {}

    def evidence(
        self,
        ts: float | None,
        ip: str,
        peer_ip: str | None,
        signal: str,
        value: str,
        source: str,
    ) -> None:
        """Record one fact; the same (ip, peer, signal, value, source) is kept once per source,
        with the time it was first seen."""
        if not value or not ip:
            return
        key = (ip, peer_ip, signal, value, source)
        if key in self._seen_evidence:
            return
        self._seen_evidence.add(key)
        self._evidence.append((ts, ip, peer_ip, signal, value, source))
        if len(self._evidence) >= FLUSH_ROWS:
            self._flush_evidence()

    def flow(self, record: FlowRecord) -> None:
        self._flows.append(record)
        if len(self._flows) >= FLUSH_ROWS:
            self._flush_flows()

    def table_rows(self, table: str, rows: list[dict[str, Any]]) -> None:
        """Append rows of a register table (register_assets, access_register, inspections)
        for this source; keys are column names, source_id is added."""
        if not rows:
            return
        frame = pd.DataFrame.from_records(rows)
        self.con.register("_vw_table", frame)
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        self.con.execute(
            f"INSERT INTO {table} (source_id, {columns}) SELECT ?, {columns} FROM _vw_table",
            [self.source_id],
        )
        self.con.unregister("_vw_table")

    def flush(self) -> None:
        self._flush_evidence()
        self._flush_flows()

    def _flush_evidence(self) -> None:
        if not self._evidence:
            return
        frame = pd.DataFrame.from_records(self._evidence, columns=list(EVIDENCE_COLUMNS))
        frame["ts"] = frame["ts"].astype("float64")
        self.con.register("_vw_evidence", frame)
        self.con.execute(
            "INSERT INTO evidence SELECT ?, "
            + _ts_sql("ts")
            + ", ip, peer_ip, signal, value, source FROM _vw_evidence",
            [self.source_id],
        )
        self.con.unregister("_vw_evidence")
        self.evidence_rows += len(self._evidence)
        self._evidence = []

    def _flush_flows(self) -> None:
        if not self._flows:
            return
        frame = pd.DataFrame.from_records(self._flows, columns=list(FLOW_COLUMNS))
        for col in ("ts_first", "ts_last"):
            frame[col] = frame[col].astype("float64")
        for col in ("src_port", "dst_port", "proto", "vlan", "src_packets", "dst_packets",
                    "src_bytes", "dst_bytes"):
            frame[col] = frame[col].astype("Int64")
        self.con.register("_vw_flows", frame)
        rest = ", ".join(c for c in FLOW_COLUMNS if c not in ("ts_first", "ts_last"))
        self.con.execute(
            f"INSERT INTO flows (source_id, ts_first, ts_last, {rest}) SELECT ?, "
            f"{_ts_sql('ts_first')}, {_ts_sql('ts_last')}, {rest} FROM _vw_flows",
            [self.source_id],
        )
        self.con.unregister("_vw_flows")
        self.flow_rows += len(self._flows)
        self._flows = []
