"""Beaconing benchmark: the detector's DuckDB statistics against a plain pandas
implementation of the same score, on ten million synthetic flows.

    python bench/beacon_scale.py [--rows 10000000] [--seed 1] [--reuse] [--sample 2000]
                                 [--skip-pandas]

1. Generates bench/out/beacon.duckdb (git-ignored): a vendorwatch store with one source,
   --devices assets (cameras, PLCs, scanners, of a few manufacturer/model fleets) and --rows
   flows over one day, deterministic from --seed (numpy). About 60 % of the rows are beacons
   (periods 20 s to 1 h, jitter up to ±15 %, up to 10 % of the beats dropped, constant
   request sizes; devices of one model call the same vendor endpoints), the rest random
   traffic (Poisson arrivals, log-normal sizes), plus some long-lived UDP heartbeat flows.
2. Runs, each in its own subprocess so that peak RSS (getrusage RUSAGE_SELF ru_maxrss) is
   that implementation's alone:
   (a) duckdb: `vendorwatch.detect.beaconing.pair_statistics` on the store (window lag(),
       median, quantile_cont, mad in SQL), then `score_pair` for every channel;
   (b) pandas: the raw tables loaded with DuckDB (`.df()`, timed separately), joined and
       derived in pandas, then `pair_statistics_pandas` (groupby + diff + quantiles) and
       `score_pair`.
3. Checks both found the same channels and, on a random sample of --sample channels, the
   same statistics and scores (to 1e-6), prints a Markdown table and writes
   bench/out/beacon_scale.json.

The zone-to-zone matrix (`vendorwatch.detect.segmentation.zone_matrix`) is measured the same
way over the same flows, beside a plain pandas groupby (`zone_matrix_bench`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
DB = OUT / "beacon.duckdb"
T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
DAY = 86_400.0
SITE = "bench"
MODELS = [  # (manufacturer, model, device_class, risk)
    ("Hikvision", "DS-2CD2143G2-I", "camera", "critical"),
    ("Dahua Technology", "IPC-HFW2431S", "camera", "critical"),
    ("Axis Communications", "P1448-LE", "camera", "low"),
    ("Nuctech", "MT1213DE", "x-ray-scanner", "high"),
    ("Siemens", "S7-1500", "plc", "low"),
    ("ZPMC", "STS-ECS", "crane-controller", "high"),
    ("Moxa", "NPort 5150", "serial-server", "low"),
    ("Unknown", None, "device", "low"),
]
PERIODS = np.array([20.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0])
PERIOD_WEIGHTS = np.array([0.05, 0.15, 0.35, 0.15, 0.15, 0.1, 0.05])
KEY = ["site", "src_ip", "dest", "proto", "dst_port"]


# --- data ---------------------------------------------------------------------------------


def generate(rows: int, devices: int, seed: int) -> dict[str, Any]:
    """Write bench/out/beacon.duckdb with `rows` flows (numpy, deterministic)."""
    from vendorwatch.store import Store

    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    model_of = rng.integers(0, len(MODELS), devices)
    beacon_target = int(rows * 0.6)
    long_channels = max(1, rows // 5_000)

    # beacons: channels until the beacon share of rows is reached
    periods = rng.choice(PERIODS, size=max(1000, rows // 100), p=PERIOD_WEIGHTS)
    per_channel = (DAY // periods).astype(np.int64)
    cut = int(np.searchsorted(np.cumsum(per_channel), beacon_target)) + 1
    periods, per_channel = periods[:cut], per_channel[:cut]
    channels = len(periods)
    src = rng.integers(0, devices, channels)
    # devices of one model call that model's vendor endpoints (fleets), some call others
    vendor_dst = model_of[src] * 40 + rng.integers(0, 40, channels)
    other_dst = 1000 + rng.integers(0, 5000, channels)
    dst = np.where(rng.random(channels) < 0.7, vendor_dst, other_dst)
    port = np.where(rng.random(channels) < 0.8, 443, rng.choice([8800, 8000, 1883, 123],
                                                                 channels))
    proto = np.where(np.isin(port, (8800, 123)), 17, 6)
    jitter = rng.uniform(0.0, 0.15, channels)
    missed = rng.uniform(0.0, 0.10, channels)
    offset = rng.uniform(0.0, 1.0, channels) * periods
    size = rng.integers(80, 1500, channels)
    total = int(per_channel.sum())
    channel = np.repeat(np.arange(channels), per_channel)
    position = np.arange(total) - np.repeat(np.cumsum(per_channel) - per_channel, per_channel)
    t = (T0 + offset[channel] + position * periods[channel]
         + rng.uniform(-1.0, 1.0, total) * jitter[channel] * periods[channel])
    keep = rng.random(total) >= missed[channel]
    beacon = pd.DataFrame({
        "dev": src[channel][keep], "dst": dst[channel][keep], "port": port[channel][keep],
        "proto": proto[channel][keep], "t": t[keep], "dur": rng.exponential(0.5, keep.sum()),
        "bytes": size[channel][keep] + rng.integers(0, 4, int(keep.sum())),
        "packets": np.full(int(keep.sum()), 4),
    })

    # long-lived UDP heartbeats: one flow per channel for the whole day, a packet every 20 s
    long_dev = rng.integers(0, devices, long_channels)
    heartbeat = pd.DataFrame({
        "dev": long_dev, "dst": model_of[long_dev] * 40 + 39,
        "port": np.full(long_channels, 8800), "proto": np.full(long_channels, 17),
        "t": T0 + rng.uniform(0, 30, long_channels),
        "dur": DAY - 60 - rng.uniform(0, 30, long_channels),
        "bytes": np.full(long_channels, 4320 * 48), "packets": np.full(long_channels, 4320),
    })

    # random traffic: the remaining rows, Poisson arrivals over the day
    remaining = rows - len(beacon) - len(heartbeat)
    sizes = np.clip(rng.lognormal(5.0, 1.2, max(1, remaining // 50)), 2, 20_000).astype(np.int64)
    cut = int(np.searchsorted(np.cumsum(sizes), remaining)) + 1
    sizes = sizes[:cut]
    sizes[-1] -= int(sizes.sum()) - remaining
    sizes = sizes[sizes > 0]
    rchannels = len(sizes)
    rchannel = np.repeat(np.arange(rchannels), sizes)
    rdev = rng.integers(0, devices, rchannels)
    rdst = np.where(rng.random(rchannels) < 0.3, model_of[rdev] * 40 + rng.integers(0, 40,
                                                                                      rchannels),
                    1000 + rng.integers(0, 5000, rchannels))
    n = int(sizes.sum())
    noise = pd.DataFrame({
        "dev": rdev[rchannel], "dst": rdst[rchannel],
        "port": np.where(rng.random(rchannels) < 0.7, 443, 80)[rchannel],
        "proto": np.full(n, 6), "t": T0 + rng.uniform(0, DAY, n),
        "dur": rng.exponential(5.0, n),
        "bytes": np.clip(rng.lognormal(7, 1.5, n), 40, 1e8).astype(np.int64),
        "packets": rng.integers(3, 200, n),
    })
    frame = pd.concat([beacon, heartbeat, noise], ignore_index=True)
    generated = time.perf_counter() - started

    DB.unlink(missing_ok=True)
    Path(str(DB) + ".wal").unlink(missing_ok=True)
    with Store(DB) as store:
        con = store.con
        con.execute(
            "INSERT INTO sources (path, sha256, kind, site, bytes, records, ingested_at) "
            "VALUES ('bench/out/synthetic', ?, 'synthetic', ?, 0, ?, now()::TIMESTAMP)",
            [f"{seed:064x}", SITE, len(frame)],
        )
        assets = pd.DataFrame({"dev": np.arange(devices), "model": model_of})
        con.register("_assets", assets)
        con.execute(f"""
            INSERT INTO assets (site, ip, manufacturer, model, device_class, confidence, risk,
                                listings)
            SELECT '{SITE}', '10.' || (dev // 65536 % 256) || '.' || (dev // 256 % 256) || '.'
                   || (dev % 256), m.manufacturer, m.model, m.device_class, 0.9, m.risk, '[]'
            FROM _assets a JOIN (SELECT * FROM (VALUES {_models_sql()})
                                 m(i, manufacturer, model, device_class, risk)) m
              ON m.i = a.model""")
        con.unregister("_assets")
        con.register("_flows", frame)
        con.execute("""
            INSERT INTO flows (source_id, ts_first, ts_last, src_ip, src_port, dst_ip, dst_port,
                               proto, src_packets, dst_packets, src_bytes, dst_bytes,
                               server_name)
            SELECT 1,
                   TIMESTAMP '1970-01-01' + to_microseconds(CAST(round(t * 1e6) AS BIGINT)),
                   TIMESTAMP '1970-01-01'
                       + to_microseconds(CAST(round((t + dur) * 1e6) AS BIGINT)),
                   '10.' || (dev // 65536 % 256) || '.' || (dev // 256 % 256) || '.'
                       || (dev % 256),
                   40000 + (hash(t) % 20000)::INTEGER,
                   CASE WHEN dst < 1000 THEN '47.' || (90 + dst // 256) || '.' || (dst % 256)
                        || '.10'
                        ELSE '52.' || (dst // 256 % 256) || '.' || (dst % 256) || '.20' END,
                   port, proto, packets, packets, bytes, bytes * 2,
                   CASE WHEN dst < 1000 AND port <> 123
                        THEN 'ep' || dst || '.vendor' || (dst // 40) || '.example' END
            FROM _flows""")
        con.unregister("_flows")
        count = con.execute("SELECT count(*) FROM flows").fetchone()
    loaded = time.perf_counter() - started - generated
    return {"rows": int(count[0]) if count else 0, "devices": devices,
            "beacon_channels": channels, "random_channels": rchannels,
            "long_channels": long_channels, "generate_s": round(generated, 2),
            "load_s": round(loaded, 2), "db_mb": round(DB.stat().st_size / 2**20, 1)}


def _models_sql() -> str:
    def quote(value: str | None) -> str:
        return "NULL" if value is None else "'" + value.replace("'", "''") + "'"

    return ", ".join(f"({i}, {quote(m)}, {quote(mo)}, {quote(c)}, {quote(r)})"
                     for i, (m, mo, c, r) in enumerate(MODELS))


# --- the two implementations (each run in a child process) ----------------------------------


def _scores(stats: pd.DataFrame) -> pd.DataFrame:
    from vendorwatch.detect.beaconing import score_pair

    scored = [score_pair(row) for row in stats.to_dict("records")]
    out = stats.copy()
    out["score"] = [s.score for s in scored]
    out["pattern"] = [s.pattern for s in scored]
    return out


def measure_duckdb(threads: int) -> dict[str, Any]:
    import duckdb

    from vendorwatch.detect.beaconing import pair_statistics

    con = duckdb.connect(str(DB), read_only=True)
    con.execute(f"SET threads = {threads}")
    started = time.perf_counter()
    stats = pair_statistics(con)
    computed = time.perf_counter()
    result = _scores(stats)
    scored = time.perf_counter()
    result.to_pickle(OUT / "beacon_duckdb.pkl")
    return {"stats_s": computed - started, "score_s": scored - computed,
            "total_s": scored - started, "channels": len(result),
            "reported": int(result["pattern"].notna().sum())}


def measure_pandas() -> dict[str, Any]:
    import duckdb

    from vendorwatch.detect.beaconing import DNS_PORTS, WINDOWS_SQL, pair_statistics_pandas

    con = duckdb.connect(str(DB), read_only=True)
    started = time.perf_counter()
    flows = con.execute(
        "SELECT source_id, epoch(ts_first) AS t, epoch(ts_last) AS t_last, src_ip, dst_ip, "
        "dst_port, proto, src_bytes, src_packets, server_name FROM flows").df()
    sources = con.execute("SELECT id AS source_id, site FROM sources").df()
    assets = con.execute("SELECT site, ip AS src_ip FROM assets").df()
    windows = con.execute(WINDOWS_SQL).df()
    loaded = time.perf_counter()
    # the joins and derivations of CONNECTIONS_SQL (no DNS evidence in the bench store)
    frame = flows.merge(sources, on="source_id").merge(assets, on=["site", "src_ip"])
    frame = frame[frame["t"].notna()]
    named = (frame[frame["server_name"].notna() & ~frame["dst_port"].isin(DNS_PORTS)]
             .groupby(["site", "src_ip", "dst_ip"])["server_name"].min().rename("sni"))
    frame = frame.join(named, on=["site", "src_ip", "dst_ip"])
    name = frame["server_name"].fillna(frame["sni"]).fillna(frame["dst_ip"])
    frame["dest"] = np.where(frame["dst_port"].isin(DNS_PORTS), frame["dst_ip"], name)
    frame["proto"] = frame["proto"].fillna(-1).astype(np.int64)
    frame["dst_port"] = frame["dst_port"].fillna(-1).astype(np.int64)
    frame["dur"] = (frame["t_last"].fillna(frame["t"]) - frame["t"]).clip(lower=0)
    frame["bytes_out"] = frame["src_bytes"].fillna(0).astype(float)
    frame["packets_out"] = frame["src_packets"].fillna(0)
    frame = frame.drop(columns=["server_name", "sni", "t_last", "src_bytes", "src_packets",
                                "source_id"])
    stats = pair_statistics_pandas(frame, windows)
    computed = time.perf_counter()
    result = _scores(stats)
    scored = time.perf_counter()
    result.to_pickle(OUT / "beacon_pandas.pkl")
    return {"load_s": loaded - started, "stats_s": computed - loaded,
            "score_s": scored - computed, "total_s": scored - started,
            "channels": len(result), "reported": int(result["pattern"].notna().sum())}


def child(which: str, threads: int) -> None:
    started = time.perf_counter()
    measures = {"duckdb": lambda: measure_duckdb(threads), "pandas": measure_pandas,
                "zones-duckdb": lambda: measure_zones_duckdb(threads),
                "zones-pandas": measure_zones_pandas}
    result = measures[which]()
    result["wall_s"] = time.perf_counter() - started
    # Linux: ru_maxrss is in KiB; this process only ran the measured implementation
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(result))


def run_child(which: str, threads: int) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", which, "--threads", str(threads)],
        capture_output=True, text=True, check=False,
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"{which} run failed ({proc.returncode})")
    return dict(json.loads(line[len("RESULT "):]))


# --- comparison -----------------------------------------------------------------------------


def compare(sample: int, seed: int) -> dict[str, Any]:
    from vendorwatch.detect.beaconing import STAT_COLUMNS

    duck = pd.read_pickle(OUT / "beacon_duckdb.pkl").set_index(KEY)
    pand = pd.read_pickle(OUT / "beacon_pandas.pkl").set_index(KEY)
    same_channels = duck.index.equals(pand.index)
    common = duck.index.intersection(pand.index)
    rng = np.random.default_rng(seed)
    picked = common[rng.choice(len(common), min(sample, len(common)), replace=False)]
    worst, mismatched = 0.0, 0
    for column in (*STAT_COLUMNS, "score"):
        a = duck.loc[picked, column].astype(float).to_numpy()
        b = pand.loc[picked, column].astype(float).to_numpy()
        both_nan = np.isnan(a) & np.isnan(b)
        diff = np.where(both_nan, 0.0, np.abs(a - b) / np.maximum(1.0, np.abs(a)))
        diff = np.nan_to_num(diff, nan=math.inf)
        worst = max(worst, float(diff.max(initial=0.0)))
        mismatched += int((diff > 1e-6).sum())
    patterns = (duck.loc[picked, "pattern"].fillna("-")
                == pand.loc[picked, "pattern"].fillna("-")).all()
    return {"same_channels": bool(same_channels), "duckdb_channels": len(duck),
            "pandas_channels": len(pand), "sampled": len(picked),
            "max_rel_diff": worst, "mismatched_values": mismatched,
            "same_patterns": bool(patterns)}


# --- hook -----------------------------------------------------------------------------------


BENCH_ZONES = """
zones:
  cctv: {cidrs: [10.0.0.0/22], sensitivity: medium, allowed_peers: [office]}
  scanners: {cidrs: [10.0.4.0/22], sensitivity: high, allowed_peers: [office]}
  cranes: {cidrs: [10.0.8.0/22], sensitivity: vital, closed: true, allowed_peers: [office]}
  office: {cidrs: [10.0.12.0/22], sensitivity: low, allowed_peers: [internet, cctv]}
"""


def measure_zones_duckdb(threads: int) -> dict[str, Any]:
    """vendorwatch's zone matrix: an address → zone table joined to the flows in SQL."""
    from vendorwatch.detect.segmentation import zone_matrix
    from vendorwatch.site.zones import Zones, parse_zones
    from vendorwatch.store import Store

    with Store(DB) as store:
        store.con.execute(f"SET threads = {threads}")
        started = time.perf_counter()
        rows = zone_matrix(store, Zones(parse_zones(BENCH_ZONES, "bench")))
        took = time.perf_counter() - started
    pd.DataFrame(rows).to_pickle(OUT / "zones_duckdb.pkl")
    return {"total_s": took, "cells": len(rows)}


def measure_zones_pandas() -> dict[str, Any]:
    """The same matrix in plain pandas: load the flows, map each address to its zone,
    group by (from zone, to zone)."""
    import duckdb

    from vendorwatch.site.zones import Zones, parse_zones

    zones = Zones(parse_zones(BENCH_ZONES, "bench"))
    con = duckdb.connect(str(DB), read_only=True)
    started = time.perf_counter()
    flows = con.execute("SELECT f.src_ip, f.dst_ip, f.src_bytes, f.dst_bytes, s.site "
                        "FROM flows f JOIN sources s ON s.id = f.source_id").df()
    loaded = time.perf_counter()
    addresses = pd.unique(pd.concat([flows["src_ip"], flows["dst_ip"]]))
    zone_of = pd.Series([zones.zone_of(a) for a in addresses], index=addresses)
    flows["from_zone"] = flows["src_ip"].map(zone_of)
    flows["to_zone"] = flows["dst_ip"].map(zone_of)
    flows["bytes"] = flows["src_bytes"].fillna(0) + flows["dst_bytes"].fillna(0)
    matrix = flows.groupby(["site", "from_zone", "to_zone"]).agg(
        flows=("bytes", "size"), bytes=("bytes", "sum"),
        from_hosts=("src_ip", "nunique"), to_hosts=("dst_ip", "nunique")).reset_index()
    took = time.perf_counter() - started
    matrix.to_pickle(OUT / "zones_pandas.pkl")
    return {"load_s": loaded - started, "total_s": took, "cells": len(matrix)}


def zone_matrix_bench(db: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """The zone-to-zone matrix over the same flows, vendorwatch (DuckDB) beside pandas,
    each in its own process for a fair peak-memory figure; and whether they agree."""
    del db
    out = {"duckdb": run_child("zones-duckdb", args.threads)}
    if not args.skip_pandas:
        out["pandas"] = run_child("zones-pandas", args.threads)
        duck = pd.read_pickle(OUT / "zones_duckdb.pkl").set_index(["from_zone", "to_zone"])
        pand = pd.read_pickle(OUT / "zones_pandas.pkl").set_index(["from_zone", "to_zone"])
        columns = ["flows", "bytes", "from_hosts", "to_hosts"]
        joined = duck[columns].merge(pand[columns], left_index=True, right_index=True,
                                     how="outer", suffixes=("", "_pandas"))
        out["agreement"] = {"cells": len(joined), "same": bool(all(
            (joined[c].astype(float) == joined[f"{c}_pandas"].astype(float)).all()
            for c in columns))}
    return out


# --- main -----------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=4_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sample", type=int, default=2_000)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--reuse", action="store_true", help="keep an existing store")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--child", choices=["duckdb", "pandas", "zones-duckdb", "zones-pandas"],
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.threads)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    meta_file = OUT / "beacon_data.json"
    meta: dict[str, Any] | None = None
    if args.reuse and DB.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        if (meta.get("rows_asked"), meta.get("seed"), meta.get("devices")) != (
                args.rows, args.seed, args.devices):
            meta = None
    if meta is None:
        print(f"generating {args.rows:,} flows into {DB} ...", flush=True)
        meta = generate(args.rows, args.devices, args.seed)
        meta.update(rows_asked=args.rows, seed=args.seed)
        meta_file.write_text(json.dumps(meta, indent=2))
    print(f"data: {json.dumps(meta)}", flush=True)

    results: dict[str, Any] = {"data": meta, "machine": {
        "cpus": os.cpu_count(), "python": platform.python_version(),
        "duckdb": __import__("duckdb").__version__, "pandas": pd.__version__}}
    print("running duckdb ...", flush=True)
    results["duckdb"] = run_child("duckdb", args.threads)
    print(json.dumps(results["duckdb"]), flush=True)
    if not args.skip_pandas:
        print("running pandas ...", flush=True)
        results["pandas"] = run_child("pandas", args.threads)
        print(json.dumps(results["pandas"]), flush=True)
        results["agreement"] = compare(args.sample, args.seed)
    zone = zone_matrix_bench(DB, args)
    if zone is not None:
        results["zone_matrix"] = zone

    print()
    print(f"{meta['rows']:,} flows, {meta['devices']:,} devices, one day; "
          f"{results['machine']['cpus']} cpus, duckdb {results['machine']['duckdb']}, "
          f"pandas {results['machine']['pandas']}")
    print()
    print("| implementation | wall s | load s | statistics s | scoring s | peak RSS MB "
          "| channels | reported |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("duckdb", "pandas"):
        if name not in results:
            continue
        r = results[name]
        print(f"| {name} | {r['wall_s']:.1f} | {r.get('load_s', 0):.1f} | {r['stats_s']:.1f} "
              f"| {r['score_s']:.1f} | {r['peak_rss_mb']:,.0f} | {r['channels']:,} "
              f"| {r['reported']:,} |")
    if "agreement" in results:
        print()
        print(f"agreement: {json.dumps(results['agreement'])}")
    if "zone_matrix" in results:
        print()
        print("| zone matrix | wall s | compute s | peak RSS MB | cells |")
        print("|---|---:|---:|---:|---:|")
        for name in ("duckdb", "pandas"):
            if name in results["zone_matrix"]:
                r = results["zone_matrix"][name]
                print(f"| {name} | {r['wall_s']:.1f} | {r['total_s']:.1f} "
                      f"| {r['peak_rss_mb']:,.0f} | {r['cells']} |")
        if "agreement" in results["zone_matrix"]:
            print(f"zone matrix agreement: {json.dumps(results['zone_matrix']['agreement'])}")
    (OUT / "beacon_scale.json").write_text(json.dumps(results, indent=2))
    ok = "agreement" not in results or (
        results["agreement"]["same_channels"] and results["agreement"]["mismatched_values"] == 0)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
