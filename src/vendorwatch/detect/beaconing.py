"""A device calls the same destination on a clock: beacons and persistent channels, per
fleet of identical devices.

A *channel* is one device (an asset, as the flow's initiator) to one destination: the flow's
server name (TLS SNI, HTTP Host) when known, else a name the device's DNS lookups returned
for the address (evidence ``dns.answer`` = ``name=address``), else the address; with the
protocol and destination port. DNS flows keep the resolver's address as destination.

Beacon score (in the spirit of RITA's beacon analysis; all components in 0..1)
-----------------------------------------------------------------------------
Connections are the channel's flow start times ``t``; intervals ``d = t[i] - t[i-1]``.
Intervals shorter than ``MIN_INTERVAL_S`` (1 s) join the previous connection into one beat
(bursts, retries, a flow recorded twice), so ``beats = #(d >= 1 s) + 1``. A channel needs
``beats >= MIN_CONNECTIONS`` (10) to be scored.

Missed beats. ``P = median(d)`` is the base period (robust while fewer than half the beats
are missing). Each interval is placed on the grid of multiples of P: ``k = max(1, round(d/P))``;
it is *on grid* when ``|d/P - k| <= GRID_TOLERANCE`` (0.2) and ``k <= MAX_MULTIPLE`` (4,
i.e. at most three beats missed in a row). On-grid intervals are folded back to one period,
``f = d/k``; off-grid ones stay ``f = d``. A dropped beat (d = 2P) thus counts as two good
periods instead of an outlier, while random traffic stays spread out.

With quartiles ``Q1, Q2, Q3`` and median absolute deviation ``MAD`` of a sample x:

    bowley(x)  = (Q1 + Q3 - 2·Q2) / (Q3 - Q1)   (0 when Q3 - Q1 < 0.1·Q2 or Q2 = Q1 or Q3)
    skew(x)    = 1 - |bowley(x)|
    madm(x)    = max(0, 1 - MAD/Q2)              (0 when Q2 < 1)

    ts_score   = (skew(f) + madm(f) + 2·grid) / 4,  grid = share of on-grid intervals
    ds_score   = (skew(b) + madm(b)) / 2,           b = bytes the device sent per flow
    hist_score = max(0, 1 - CV),  CV = std/mean of beats per bin over the observation window
                 cut into 24 equal bins (hourly for a day of data), each bin at least 4·P
                 wide; bins without beats count as 0 (so an intermittent channel scores low)
    coverage   = min(1, (t_last - t_first + P) / W),  W = the site's observation window
                 (first to last flow of the site)

    score      = ts_score · (0.6 + 0.4 · (0.4·ds_score + 0.3·hist_score + 0.3·coverage))

Periodicity is necessary: the timestamp score gates the rest, which can lift a periodic
channel by up to 40 % but cannot make random traffic with constant sizes look like a beacon.
A channel is reported when ``score >= MIN_SCORE`` (0.7). Jitter of ±10 % around 60 s with
5 % of the beats dropped scores about 0.97; Poisson traffic about 0.5; ±25 % jitter ~0.8.

Persistent channels (RITA's long connections)
---------------------------------------------
A heartbeat every 20 s on one UDP 5-tuple never idles out: the capture holds one long flow,
not a train of connections. A channel with fewer than ``MIN_CONNECTIONS`` beats whose flows
were open at least ``LONG_MIN_DURATION_S`` (600 s) and carried at least ``MIN_CONNECTIONS``
packets from the device at a low rate (a mean packet gap ``g = duration / (packets - 1)``
of at least 1 s: a heartbeat, not a stream) is scored as a persistent channel:

    open        = min(1, sum of flow durations / W)
    consistency = madm(g over the channel's flows) with >= 3 flows, else 0.5 (unknown)
    score       = open · (0.75 + 0.25 · consistency)

Its interval is the median gap g (the implied heartbeat period). A channel open the whole
capture scores 0.875 with one flow, 1.0 with several flows of the same packet rate.

Fleets and severity
-------------------
Devices of one site with the same manufacturer and model (from ``assets``; else same
manufacturer and device class) are a fleet; a device with no known manufacturer is a fleet of
its own. One finding per (site, fleet, destination) lists every member whose channel scored.
Severity starts at info and rises one step for each of: the destination is public; it is a
verified vendor endpoint of the registry (an unverified one is shown, never escalated); the
device's maker is high or critical risk (registry or the asset's own risk); the fleet has at
least ``FLEET_MIN`` (3) members calling a public or vendor destination, and once more from
``FLEET_LARGE`` (20) — many identical devices on one vendor's clock are exactly the
vendor-wide reach (a "kill switch") the operator must know about, so commonness raises
severity here rather than marking the destination as benign. Only calls that leave the
site (a public destination) or reach a registry vendor endpoint are reported: polling
inside the site (SCADA, recorders, internal time and name services) and channels matching
the benign list (``data/benign_periodic.yaml``: NTP, discovery protocols, OS time, update
and connectivity checks, each with its reason) are scored but not reported.

The statistics are computed in DuckDB (window ``lag()`` over the flow start, ``median``,
``quantile_cont``, ``mad``), with channels keyed by a 64-bit hash of their five key columns
in the heavy stages (two channels colliding would be merged; about 1e-8 for a million
channels); :func:`pair_statistics_pandas` is the same computation in pandas (the reference
the tests and the bench compare against) and :func:`score_pair` is the pure scoring of one
channel's statistics.
"""

from __future__ import annotations

import ipaddress
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from vendorwatch.detect.interface import (
    SEVERITIES,
    DetectContext,
    Detector,
    Finding,
    evidence_row,
    proto_name,
)
from vendorwatch.detect.internet_exposure import is_public

MIN_CONNECTIONS = 10
MIN_INTERVAL_S = 1.0
GRID_TOLERANCE = 0.2
MAX_MULTIPLE = 4
SKEW_MIN_IQR = 0.1  # Bowley skewness counts only when the IQR is at least this share of Q2
HIST_BINS = 24
HIST_MIN_PERIODS = 4
MIN_SCORE = 0.7
LONG_MIN_DURATION_S = 600.0
LONG_MIN_GAP_S = 1.0
FLEET_MIN = 3
FLEET_LARGE = 20
MAX_EVIDENCE = 50
EVIDENCE_PER_MEMBER = 5
DNS_PORTS = (53, 5353, 5355)
KEY = ("site", "src_ip", "dest", "proto", "dst_port")
EVIDENCE_COLUMNS = ", f.ts_first, f.dst_bytes, s.path AS source"

# ---------------------------------------------------------------------------------------
# Statistics in DuckDB
# ---------------------------------------------------------------------------------------

_DNS_PORTS_SQL = ", ".join(str(p) for p in DNS_PORTS)

# One row per flow initiated by an asset: (site, src_ip, dest, proto, dst_port) is the
# channel; t and dur in epoch seconds. proto/dst_port are -1 when unknown (join keys).
def connections_sql(extra_columns: str = "") -> str:
    """The connections of every channel, from the store's flows, sources, assets and DNS
    answers; `extra_columns` (e.g. ", f.ts_first") are added to the select list."""
    return f"""
WITH named AS (
    SELECT s.site, f.src_ip, f.dst_ip, min(lower(rtrim(f.server_name, '.'))) AS name
    FROM flows f JOIN sources s ON s.id = f.source_id
    WHERE f.server_name IS NOT NULL AND f.server_name <> ''
      AND coalesce(f.dst_port, -1) NOT IN ({_DNS_PORTS_SQL})
    GROUP BY ALL
),
answers AS (
    SELECT s.site, e.ip, substr(e.value, strpos(e.value, '=') + 1) AS address,
           min(lower(rtrim(split_part(e.value, '=', 1), '.'))) AS name
    FROM evidence e JOIN sources s ON s.id = e.source_id
    WHERE e.signal = 'dns.answer' AND strpos(e.value, '=') > 1
    GROUP BY ALL
),
answers_any AS (SELECT site, address, min(name) AS name FROM answers GROUP BY ALL)
SELECT s.site, f.src_ip, coalesce(f.proto, -1) AS proto, coalesce(f.dst_port, -1) AS dst_port,
       f.dst_ip,
       CASE WHEN coalesce(f.dst_port, -1) IN ({_DNS_PORTS_SQL}) THEN f.dst_ip
            ELSE coalesce(nullif(lower(rtrim(f.server_name, '.')), ''), n.name, a1.name,
                          a2.name, f.dst_ip) END AS dest,
       epoch(f.ts_first) AS t,
       greatest(0, epoch(coalesce(f.ts_last, f.ts_first)) - epoch(f.ts_first)) AS dur,
       coalesce(f.src_bytes, 0)::DOUBLE AS bytes_out,
       coalesce(f.src_packets, 0) AS packets_out{extra_columns}
FROM flows f
JOIN sources s ON s.id = f.source_id
JOIN assets ast ON ast.site = s.site AND ast.ip = f.src_ip
LEFT JOIN named n ON n.site = s.site AND n.src_ip = f.src_ip AND n.dst_ip = f.dst_ip
LEFT JOIN answers a1 ON a1.site = s.site AND a1.ip = f.src_ip AND a1.address = f.dst_ip
LEFT JOIN answers_any a2 ON a2.site = s.site AND a2.address = f.dst_ip
WHERE f.ts_first IS NOT NULL
"""


CONNECTIONS_SQL = connections_sql()

# The observation window of each site: first to last flow, whoever sent it.
WINDOWS_SQL = """
SELECT s.site, min(epoch(f.ts_first)) AS w0,
       max(epoch(coalesce(f.ts_last, f.ts_first))) AS w1
FROM flows f JOIN sources s ON s.id = f.source_id
WHERE f.ts_first IS NOT NULL
GROUP BY s.site
"""

_K = "site, src_ip, dest, proto, dst_port"

# Channels are keyed by a 64-bit hash of (site, src_ip, dest, proto, dst_port) in the heavy
# stages (window, joins, group-bys on integers instead of five columns with strings).
PAIR_STATS_SQL = f"""
WITH conn AS {{materialized}} (
    SELECT hash(site, src_ip, dest, proto, dst_port) AS pid, * FROM ({{connections}})
),
win AS ({{windows}}),
cstats AS (
    SELECT pid, any_value(site) AS site, any_value(src_ip) AS src_ip,
           any_value(dest) AS dest, any_value(proto) AS proto,
           any_value(dst_port) AS dst_port,
           count(*) AS flows, min(t) AS t0, max(t + dur) AS t1,
           quantile_cont(bytes_out, [0.25, 0.5, 0.75]) AS bq, mad(bytes_out) AS b_mad,
           sum(dur) AS dur_total, sum(packets_out) AS packets_out,
           median(dur / (packets_out - 1)) FILTER (WHERE packets_out >= 2 AND dur > 0)
               AS gap,
           mad(dur / (packets_out - 1)) FILTER (WHERE packets_out >= 2 AND dur > 0)
               AS gap_mad,
           count(*) FILTER (WHERE packets_out >= 2 AND dur > 0) AS gap_flows
    FROM conn GROUP BY pid
),
iv AS (
    SELECT pid, t, t - lag(t) OVER (PARTITION BY pid ORDER BY t) AS d FROM conn
),
per AS (
    SELECT pid, median(d) AS period, count(*) + 1 AS beats
    FROM iv WHERE d >= {MIN_INTERVAL_S} GROUP BY pid
),
pw AS (
    SELECT p.pid, p.period, w.w0,
           greatest((w.w1 - w.w0) / {HIST_BINS}, {HIST_MIN_PERIODS} * p.period, 1.0) AS width
    FROM per p JOIN cstats c USING (pid) JOIN win w USING (site)
),
graded AS (
    SELECT pid, abs(d / period - k) <= {GRID_TOLERANCE} AND k <= {MAX_MULTIPLE} AS on_grid,
           CASE WHEN abs(d / period - k) <= {GRID_TOLERANCE} AND k <= {MAX_MULTIPLE}
                THEN d / k ELSE d END AS f
    FROM (SELECT pid, d, p.period, greatest(1, round(d / p.period)) AS k
          FROM iv JOIN per p USING (pid) WHERE d >= {MIN_INTERVAL_S})
),
tstats AS (
    SELECT pid, avg(on_grid::INTEGER) AS grid,
           quantile_cont(f, [0.25, 0.5, 0.75]) AS tq, mad(f) AS t_mad
    FROM graded GROUP BY pid
),
hist AS (
    SELECT pid, sum(c * c)::DOUBLE AS hist_c2
    FROM (SELECT pid, floor((iv.t - pw.w0) / pw.width) AS bin, count(*) AS c
          FROM iv JOIN pw USING (pid)
          WHERE iv.d IS NULL OR iv.d >= {MIN_INTERVAL_S}
          GROUP BY pid, bin)
    GROUP BY pid
),
top_ip AS (
    SELECT pid, first(dst_ip ORDER BY n DESC, dst_ip) AS dst_ip,
           list(dst_ip ORDER BY n DESC, dst_ip)[1:10] AS dst_ips, count(*) AS dst_ip_count
    FROM (SELECT pid, dst_ip, count(*) AS n FROM conn GROUP BY pid, dst_ip)
    GROUP BY pid
)
SELECT c.site, c.src_ip, c.dest, c.proto, c.dst_port, ti.dst_ip, ti.dst_ips, ti.dst_ip_count,
       c.flows, coalesce(p.beats, 1) AS beats, p.period,
       ts.grid, ts.tq[1] AS tq1, ts.tq[2] AS tq2, ts.tq[3] AS tq3, ts.t_mad,
       c.bq[1] AS bq1, c.bq[2] AS bq2, c.bq[3] AS bq3, c.b_mad,
       h.hist_c2,
       greatest(1, ceil((w.w1 - w.w0) / greatest((w.w1 - w.w0) / {HIST_BINS},
                                                {HIST_MIN_PERIODS} * p.period, 1.0)))
           AS hist_bins,
       c.t0, c.t1, w.w0, w.w1, c.dur_total, c.packets_out, c.gap, c.gap_mad, c.gap_flows
FROM cstats c
JOIN win w USING (site)
JOIN top_ip ti USING (pid)
LEFT JOIN per p USING (pid)
LEFT JOIN tstats ts USING (pid)
LEFT JOIN hist h USING (pid)
WHERE coalesce(p.beats, 1) >= {MIN_CONNECTIONS}
   OR (c.dur_total >= {LONG_MIN_DURATION_S} AND c.packets_out >= {MIN_CONNECTIONS})
ORDER BY c.site, c.src_ip, c.dest, c.proto, c.dst_port
"""

STAT_COLUMNS = (
    "flows", "beats", "period", "grid", "tq1", "tq2", "tq3", "t_mad", "bq1", "bq2", "bq3",
    "b_mad", "hist_c2", "hist_bins", "t0", "t1", "w0", "w1", "dur_total", "packets_out",
    "gap", "gap_mad", "gap_flows",
)


def pair_statistics(
    con: duckdb.DuckDBPyConnection,
    connections_sql: str = CONNECTIONS_SQL,
    windows_sql: str = WINDOWS_SQL,
    materialized: str = "MATERIALIZED",
) -> pd.DataFrame:
    """Per-channel interval, size, histogram and duration statistics, computed in DuckDB.
    Only channels with enough beats, or long enough flows, are returned. `materialized`
    ("MATERIALIZED" or "NOT MATERIALIZED") says whether the connections are computed once."""
    sql = PAIR_STATS_SQL.format(connections=connections_sql, windows=windows_sql,
                                materialized=materialized)
    # The result is ordered explicitly; not preserving insertion order in between halves
    # the time on 10 million flows (bench/beacon_scale.py). The setting is restored.
    row = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    previous = bool(row[0]) if row else True
    con.execute("SET preserve_insertion_order = false")
    try:
        return con.execute(sql).df()
    finally:
        con.execute(f"SET preserve_insertion_order = {str(previous).lower()}")


# ---------------------------------------------------------------------------------------
# The same statistics in pandas (reference implementation)
# ---------------------------------------------------------------------------------------


def _group_mad(values: pd.Series, groups: pd.Series) -> pd.Series:
    centre = values.groupby(groups).transform("median")
    return (values - centre).abs().groupby(groups).median()


def _quartiles(values: pd.Series, groups: pd.Series, prefix: str) -> pd.DataFrame:
    found = values.groupby(groups).quantile([0.25, 0.5, 0.75]).unstack()
    found.columns = [f"{prefix}1", f"{prefix}2", f"{prefix}3"]
    return found


def pair_statistics_pandas(conns: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """:func:`pair_statistics` in pandas (groupby + diff + quantiles): the reference the
    tests and the bench compare the SQL against. `conns` has the columns of
    CONNECTIONS_SQL, `windows` those of WINDOWS_SQL (site, w0, w1)."""
    key = list(KEY)
    conns = conns[[*key, "dst_ip", "t", "dur", "bytes_out", "packets_out"]].copy()
    conns["pid"] = conns.groupby(key, sort=True).ngroup()
    conns = conns.sort_values(["pid", "t"], kind="stable").reset_index(drop=True)
    pairs = conns.drop_duplicates("pid")[["pid", *key]].merge(windows, on="site")
    pairs = pairs.set_index("pid").sort_index()
    conns["d"] = conns.groupby("pid", sort=False)["t"].diff()

    iv = conns.loc[conns["d"] >= MIN_INTERVAL_S, ["pid", "d"]]
    per = iv.groupby("pid")["d"].agg(period="median", beats="count")
    per["beats"] += 1
    period = iv["pid"].map(per["period"])
    ratio = iv["d"] / period
    k = np.maximum(1.0, np.round(ratio))
    on_grid = ((ratio - k).abs() <= GRID_TOLERANCE) & (k <= MAX_MULTIPLE)
    folded = pd.Series(np.where(on_grid, iv["d"] / k, iv["d"]), index=iv.index)
    tstats = _quartiles(folded, iv["pid"], "tq")
    tstats["grid"] = on_grid.astype(float).groupby(iv["pid"]).mean()
    tstats["t_mad"] = _group_mad(folded, iv["pid"])

    beats = conns.loc[conns["d"].isna() | (conns["d"] >= MIN_INTERVAL_S), ["pid", "t"]]
    beats = beats[beats["pid"].isin(per.index)]
    w0 = beats["pid"].map(pairs["w0"])
    span = beats["pid"].map(pairs["w1"]) - w0
    width = np.maximum(np.maximum(span / HIST_BINS,
                                  HIST_MIN_PERIODS * beats["pid"].map(per["period"])), 1.0)
    bins = np.floor((beats["t"] - w0) / width)
    counts = beats.groupby([beats["pid"], bins]).size().astype(float)
    hist = (counts ** 2).groupby(level=0).sum().rename("hist_c2")

    groups = conns["pid"]
    grouped = conns.groupby("pid")
    cstats = pd.DataFrame({
        "flows": grouped.size(),
        "t0": grouped["t"].min(),
        "t1": (conns["t"] + conns["dur"]).groupby(groups).max(),
        "dur_total": grouped["dur"].sum(),
        "packets_out": grouped["packets_out"].sum(),
    }).join(_quartiles(conns["bytes_out"], groups, "bq"))
    cstats["b_mad"] = _group_mad(conns["bytes_out"], groups)
    gaps = conns[(conns["packets_out"] >= 2) & (conns["dur"] > 0)]
    gap_values = gaps["dur"] / (gaps["packets_out"] - 1)
    cstats["gap"] = gap_values.groupby(gaps["pid"]).median()
    cstats["gap_mad"] = _group_mad(gap_values, gaps["pid"])
    cstats["gap_flows"] = gap_values.groupby(gaps["pid"]).size()
    cstats["gap_flows"] = cstats["gap_flows"].fillna(0)

    ips = conns.groupby(["pid", "dst_ip"]).size().rename("n").reset_index()
    ips = ips.sort_values(["pid", "n", "dst_ip"], ascending=[True, False, True])
    top = ips.groupby("pid", sort=False).agg(
        dst_ip=("dst_ip", "first"), dst_ips=("dst_ip", lambda s: list(s)[:10]),
        dst_ip_count=("dst_ip", "size"),
    )

    out = pairs.join([top, cstats, per, tstats, hist])
    out["beats"] = out["beats"].fillna(1).astype(int)
    span = out["w1"] - out["w0"]
    # DuckDB's greatest() skips NULLs: a channel without intervals has no period
    width = np.maximum(np.maximum(span / HIST_BINS, HIST_MIN_PERIODS * out["period"].fillna(0)),
                       1.0)
    out["hist_bins"] = np.maximum(1.0, np.ceil(span / width))
    keep = (out["beats"] >= MIN_CONNECTIONS) | (
        (out["dur_total"] >= LONG_MIN_DURATION_S) & (out["packets_out"] >= MIN_CONNECTIONS))
    return out[keep].sort_values(key).reset_index(drop=True)


# ---------------------------------------------------------------------------------------
# Scoring (pure)
# ---------------------------------------------------------------------------------------


def bowley_skewness(q1: float, q2: float, q3: float) -> float:
    """(Q1 + Q3 - 2·Q2) / (Q3 - Q1); 0 when the spread is too small to mean anything."""
    iqr = q3 - q1
    if iqr <= 0 or iqr < SKEW_MIN_IQR * abs(q2) or q2 in (q1, q3):
        return 0.0
    return max(-1.0, min(1.0, (q1 + q3 - 2 * q2) / iqr))


def mad_score(median: float, mad: float) -> float:
    """1 - MAD/median, clipped to 0..1 (0 for a median under 1)."""
    if not median or median < 1 or _missing(mad):
        return 0.0
    return max(0.0, min(1.0, 1.0 - mad / median))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _num(value: Any, default: float = 0.0) -> float:
    return default if _missing(value) else float(value)


@dataclass(frozen=True)
class PairScore:
    """The score of one channel: pattern is 'beacon', 'persistent' or None (not reported)."""

    score: float
    pattern: str | None
    components: dict[str, float]
    interval: float | None
    jitter: float | None


def score_pair(stats: Mapping[str, Any]) -> PairScore:
    """Score one channel's statistics (a row of :func:`pair_statistics`); see the module
    docstring for the formula."""
    window = max(_num(stats["w1"]) - _num(stats["w0"]), 1e-9)
    beats = int(_num(stats["beats"], 1))
    if beats >= MIN_CONNECTIONS and not _missing(stats["period"]):
        period = float(stats["period"])
        tq1, tq2, tq3 = (_num(stats[c]) for c in ("tq1", "tq2", "tq3"))
        ts_skew = 1.0 - abs(bowley_skewness(tq1, tq2, tq3))
        ts_mad = mad_score(tq2, _num(stats["t_mad"], math.inf))
        grid = _num(stats["grid"])
        ts = (ts_skew + ts_mad + 2 * grid) / 4
        bq1, bq2, bq3 = (_num(stats[c]) for c in ("bq1", "bq2", "bq3"))
        ds = ((1.0 - abs(bowley_skewness(bq1, bq2, bq3)))
              + mad_score(bq2, _num(stats["b_mad"], math.inf))) / 2
        bins = max(1.0, _num(stats["hist_bins"], 1.0))
        mean = beats / bins
        variance = max(0.0, _num(stats["hist_c2"]) / bins - mean * mean)
        hist = max(0.0, 1.0 - math.sqrt(variance) / mean) if mean > 0 else 0.0
        coverage = min(1.0, max(0.0, (_num(stats["t1"]) - _num(stats["t0"]) + period)
                                / window))
        score = ts * (0.6 + 0.4 * (0.4 * ds + 0.3 * hist + 0.3 * coverage))
        components = {"timestamp": ts, "ts_skew": ts_skew, "ts_mad": ts_mad, "grid": grid,
                      "data_size": ds, "histogram": hist, "coverage": coverage}
        return PairScore(round(score, 4), "beacon" if score >= MIN_SCORE else None,
                         {k: round(v, 4) for k, v in components.items()},
                         round(tq2, 3), round(_num(stats["t_mad"]), 3))
    gap = _num(stats["gap"])
    if (_num(stats["dur_total"]) >= LONG_MIN_DURATION_S
            and _num(stats["packets_out"]) >= MIN_CONNECTIONS and gap >= LONG_MIN_GAP_S):
        opened = min(1.0, _num(stats["dur_total"]) / window)
        consistency = (mad_score(gap, _num(stats["gap_mad"], math.inf))
                       if _num(stats["gap_flows"]) >= 3 else 0.5)
        score = opened * (0.75 + 0.25 * consistency)
        return PairScore(round(score, 4), "persistent" if score >= MIN_SCORE else None,
                         {"open": round(opened, 4), "rate_consistency": round(consistency, 4)},
                         round(gap, 3), None)
    return PairScore(0.0, None, {}, None, None)


# ---------------------------------------------------------------------------------------
# Benign periodic services
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenignEntry:
    id: str
    reason: str
    ports: frozenset[tuple[str, int]] = frozenset()
    domains: tuple[str, ...] = ()
    internal_only: bool = False

    def matches(self, proto: str, port: int | None, dest: str, dst_ip: str) -> bool:
        if self.ports and (proto, port) not in self.ports:
            return False
        if self.domains and not any(dest == d or dest.endswith("." + d) for d in self.domains):
            return False
        return not (self.internal_only and is_public(dst_ip))


@lru_cache(maxsize=1)
def benign_periodic() -> tuple[BenignEntry, ...]:
    """The benign periodic services list (data/benign_periodic.yaml)."""
    text = (resources.files("vendorwatch.detect") / "data" / "benign_periodic.yaml").read_text(
        encoding="utf-8")
    entries = []
    for raw in yaml.safe_load(text)["entries"]:
        ports = frozenset(
            (proto.lower(), int(port))
            for proto, _, port in (str(p).partition("/") for p in raw.get("ports", ()))
        )
        domains = tuple(str(d).lower().rstrip(".") for d in raw.get("domains", ()))
        if not (ports or domains) or not raw.get("reason"):
            raise ValueError(f"benign_periodic entry {raw.get('id')!r} needs ports or domains "
                             "and a reason")
        entries.append(BenignEntry(str(raw["id"]), " ".join(str(raw["reason"]).split()),
                                   ports, domains, bool(raw.get("internal_only", False))))
    return tuple(entries)


def benign_match(proto: str, port: int | None, dest: str, dst_ip: str) -> BenignEntry | None:
    return next((e for e in benign_periodic() if e.matches(proto, port, dest, dst_ip)), None)


# ---------------------------------------------------------------------------------------
# The detector
# ---------------------------------------------------------------------------------------

def _ip_sort(ip: str) -> tuple[int, int, str]:
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return (9, 0, ip)
    return (parsed.version, int(parsed), ip)


def fleet_of(asset: Mapping[str, Any]) -> tuple[str, str]:
    """(fleet id, label): same manufacturer and model; else manufacturer and device class;
    a device with no manufacturer is its own fleet."""
    maker = (asset.get("manufacturer") or "").strip()
    model = (asset.get("model") or "").strip()
    device_class = (asset.get("device_class") or "").strip()
    if not maker:
        return f"ip={asset['ip']}", device_class or "device"
    if model:
        return f"{maker.lower()}|model={model.lower()}", f"{maker} {model}"
    return (f"{maker.lower()}|class={device_class.lower() or '?'}",
            f"{maker} {device_class or 'device'}")


@dataclass
class _Member:
    asset: dict[str, Any]
    stats: dict[str, Any]
    scored: PairScore


@dataclass
class _Fleet:
    site: str
    fleet_id: str
    label: str
    dest: str
    proto: int
    port: int
    members: list[_Member] = field(default_factory=list)


class Beaconing(Detector):
    kind = "beaconing"

    def run(self, ctx: DetectContext) -> Iterable[Finding]:
        assets = {(a["site"], a["ip"]): a for a in ctx.store.query("SELECT * FROM assets")}
        if not assets:
            return
        stats = pair_statistics(ctx.store.con)
        fleets: dict[tuple[str, str, str, int, int], _Fleet] = {}
        for row in stats.to_dict("records"):
            scored = score_pair(row)
            if scored.pattern is None:
                continue
            asset = assets.get((row["site"], row["src_ip"]))
            if asset is None:
                continue
            fleet_id, label = fleet_of(asset)
            key = (row["site"], fleet_id, row["dest"], int(row["proto"]), int(row["dst_port"]))
            fleet = fleets.get(key)
            if fleet is None:
                fleet = fleets[key] = _Fleet(row["site"], fleet_id, label, row["dest"],
                                             int(row["proto"]), int(row["dst_port"]))
            fleet.members.append(_Member(asset, row, scored))
        if not fleets:
            return
        for fleet in fleets.values():
            fleet.members.sort(key=lambda m: _ip_sort(m.asset["ip"]))
        samples = _samples(ctx, list(fleets.values()))
        for key in sorted(fleets):
            found = self._finding(ctx, fleets[key], samples)
            if found is not None:
                yield found

    def _finding(
        self, ctx: DetectContext, fleet: _Fleet,
        samples: dict[tuple[str, str, str, int, int], list[dict[str, Any]]],
    ) -> Finding | None:
        first = fleet.members[0]
        ips = [m.asset["ip"] for m in fleet.members]
        dst_ip = str(first.stats["dst_ip"])
        proto = proto_name(fleet.proto)
        port = None if fleet.port < 0 else fleet.port
        dest_is_name = not _is_address(fleet.dest)
        public = is_public(dst_ip)
        place = ctx.geo.lookup(dst_ip)
        maker = ctx.registry.match_organisation(first.asset.get("manufacturer")) \
            if first.asset.get("manufacturer") else None
        endpoint = ctx.registry.endpoint_for_host(fleet.dest) if dest_is_name else None
        if endpoint is None and public and port is not None and maker is not None:
            # by port only for a verified endpoint of the device's own maker (as in
            # vendor_cloud): a port number alone proves little
            endpoint = next((e for e in ctx.registry.endpoints_for_port(proto, port)
                             if e.verified and e.maker == maker.id), None)
        maker_risk = ctx.registry.risk(maker.id)[0] if maker else None
        risks = {maker_risk, first.asset.get("risk")}
        risky_maker = bool(risks & {"high", "critical"})
        benign = benign_match(proto, port, fleet.dest, dst_ip)

        reasons: list[str] = []
        rank = 0
        if public:
            rank += 1
            reasons.append("destination is on the internet")
        if endpoint is not None and endpoint.verified:
            rank += 1
            reasons.append(f"registry vendor endpoint {endpoint.id}")
        if risky_maker:
            rank += 1
            reasons.append("device maker is high/critical risk")
        if (public or endpoint is not None) and len(ips) >= FLEET_MIN:
            rank += 1
            reasons.append(f"fleet of {len(ips)} identical devices on one schedule")
            if len(ips) >= FLEET_LARGE:
                rank += 1
        rank = min(rank, len(SEVERITIES) - 1)
        if benign is not None or not (public or endpoint is not None):
            # polling inside the site (SCADA, recorders, time and name services) and the
            # known periodic services of the benign list are how networks run, not a
            # phone-home: they are scored but not reported
            return None
        severity = SEVERITIES[rank]

        best = max(fleet.members, key=lambda m: m.scored.score)
        scores = [m.scored.score for m in fleet.members]
        intervals = [m.scored.interval for m in fleet.members if m.scored.interval is not None]
        interval = float(np.median(intervals)) if intervals else None
        jitters = [m.scored.jitter for m in fleet.members if m.scored.jitter is not None]
        jitter = float(np.median(jitters)) if jitters else None
        patterns = sorted({m.scored.pattern or "" for m in fleet.members})
        connections = int(sum(int(m.stats["beats"]) for m in fleet.members))
        flows = int(sum(int(m.stats["flows"]) for m in fleet.members))
        t0 = min(float(m.stats["t0"]) for m in fleet.members)
        t1 = max(float(m.stats["t1"]) for m in fleet.members)

        where = f"{fleet.dest}" + (f" ({dst_ip})" if dest_is_name else "")
        extra = ", ".join(x for x in (
            f"{proto}/{port}" if port is not None else proto,
            f"{endpoint.id} endpoint" + ("" if endpoint.verified else " (unverified)")
            if endpoint else "",
            place.country or "",
        ) if x)
        how = (f"every ~{interval:.0f} s" + (f" (±{jitter:.0f} s)" if jitter else "")
               if interval is not None else "")
        if patterns == ["persistent"]:
            verb = "hold a persistent channel to" if len(ips) > 1 else \
                "holds a persistent channel to"
            how = f"heartbeat ~{interval:.0f} s" if interval is not None else ""
        else:
            verb = "beacon to" if len(ips) > 1 else "beacons to"
        who = (f"{len(ips)} {fleet.label} devices" if len(ips) > 1
               else f"{fleet.label} at {ips[0]}")
        summary = (f"{who} {verb} {where} [{extra}] {how}, score {best.scored.score:.2f}"
                   + (f"; benign: {benign.id}" if benign else ""))

        evidence = [
            evidence_row(r["ts"], r["src_ip"], r["dst_ip"], "flow", r["value"], r["source"])
            for m in fleet.members
            for r in samples.get((fleet.site, m.asset["ip"], fleet.dest, fleet.proto,
                                  fleet.port), [])
        ][:MAX_EVIDENCE]
        return Finding(
            kind=self.kind, severity=severity, site=fleet.site, asset_ip=ips[0],
            key=f"{fleet.fleet_id}|{fleet.dest}|{proto}/{port if port is not None else '-'}",
            summary=summary,
            evidence=evidence,
            first_seen=_when(t0),
            last_seen=_when(t1),
            details={
                "score": best.scored.score, "components": best.scored.components,
                "pattern": "persistent" if patterns == ["persistent"] else "beacon",
                "interval": interval, "jitter": jitter, "connections": connections,
                "flows": flows, "members": ips, "fleet": fleet.fleet_id,
                "fleet_label": fleet.label, "fleet_size": len(ips),
                "destination": {"name": fleet.dest if dest_is_name else None,
                                "ip": dst_ip, "ips": list(first.stats["dst_ips"]),
                                "port": port, "proto": proto},
                "country": place.country, "asn": place.asn_name,
                "endpoint": endpoint.id if endpoint else None,
                "endpoint_verified": endpoint.verified if endpoint else None,
                "maker": maker.id if maker else None, "maker_risk": maker_risk,
                "benign": benign.id if benign else None,
                "severity_reasons": reasons,
                "member_scores": {m.asset["ip"]: {
                    "score": m.scored.score, "pattern": m.scored.pattern,
                    "interval": m.scored.interval, "jitter": m.scored.jitter,
                    "connections": int(m.stats["beats"]), "components": m.scored.components,
                } for m in fleet.members},
                "score_range": [min(scores), max(scores)],
            },
        )


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _samples(
    ctx: DetectContext, fleets: Sequence[_Fleet]
) -> dict[tuple[str, str, str, int, int], list[dict[str, Any]]]:
    """The first connections of each member's channel (EVIDENCE_PER_MEMBER each), for the
    first members of each fleet, in one query."""
    wanted: list[tuple[str, str, str, int, int]] = []
    for fleet in fleets:
        for member in fleet.members[: -(-MAX_EVIDENCE // EVIDENCE_PER_MEMBER)]:
            wanted.append((fleet.site, member.asset["ip"], fleet.dest, fleet.proto, fleet.port))
    frame = pd.DataFrame(wanted, columns=list(KEY)).drop_duplicates()
    con = ctx.store.con
    con.register("_vw_beacon_pairs", frame)
    try:
        rows = con.execute(
            f"""WITH conn AS (
                    SELECT c.* FROM ({connections_sql(EVIDENCE_COLUMNS)}) c
                    JOIN _vw_beacon_pairs w USING ({_K})
                ),
                ranked AS (
                    SELECT *, row_number() OVER (PARTITION BY {_K} ORDER BY t, dst_ip) AS r
                    FROM conn
                )
                SELECT * FROM ranked WHERE r <= {EVIDENCE_PER_MEMBER}
                ORDER BY {_K}, t"""
        ).df()
    finally:
        con.unregister("_vw_beacon_pairs")
    out: dict[tuple[str, str, str, int, int], list[dict[str, Any]]] = defaultdict(list)
    for row in rows.to_dict("records"):
        proto = proto_name(int(row["proto"]))
        port = int(row["dst_port"])
        name = f" ({row['dest']})" if row["dest"] != row["dst_ip"] else ""
        ts = row["ts_first"]
        out[(row["site"], row["src_ip"], row["dest"], int(row["proto"]), port)].append({
            "ts": ts.to_pydatetime() if hasattr(ts, "to_pydatetime") else ts,
            "src_ip": row["src_ip"], "dst_ip": row["dst_ip"], "source": row["source"],
            "value": f"{proto}/{port if port >= 0 else '-'} to {row['dst_ip']}{name}: "
            f"{int(row['bytes_out'])} B out, {int(_num(row['dst_bytes']))} B in, "
            f"{int(row['packets_out'])} packets, {float(row['dur']):.0f} s",
        })
    return out
