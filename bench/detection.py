"""Detection bench: the labelled synthetic scenario through the real command line.

    python bench/detection.py [--json] [--keep DIR] [--seed N]

1. Generates the scenario of `vendorwatch.demo.scenario` (a day of a container terminal:
   scenario.pcap and zones.yaml) into a temporary directory (or --keep DIR).
2. Runs `vendorwatch --db DB ingest scenario.pcap --zones zones.yaml --site SITE`, then
   `vendorwatch --db DB findings --format json`. While the command line does not accept
   --zones yet, it says so and ingests without it.
3. Matches the findings to the planted cases (kind and asset; a fleet finding covers the
   members in its details.members) and prints per-kind precision and recall, every planted
   case missed, every high or critical finding on a benign host (a false alarm), and the
   findings that match nothing planted. --json prints the same as one JSON document.

Exits 0 whatever happens (it measures the detectors, it does not gate them); when the
command line itself fails, the summary line says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from vendorwatch.demo.scenario import SEED, Scenario, Score, score, write_scenario

MAX_LISTED = 15  # unmatched findings listed per kind in the text output


class CommandFailed(Exception):
    """`vendorwatch` exited with an error: there is nothing to score."""


def vendorwatch(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vendorwatch", "--db", str(db), *args],
                          capture_output=True, text=True, check=False)


def ingest(scenario: Scenario, db: Path) -> tuple[bool, subprocess.CompletedProcess[str]]:
    """Ingest with the zone file; without it when the CLI does not know --zones yet.
    Returns whether the zones were applied, and the finished command."""
    args = ["ingest", str(scenario.pcap), "--site", scenario.site]
    done = vendorwatch(db, *args, "--zones", str(scenario.zones))
    if done.returncode == 2 and "--zones" in done.stderr and "No such option" in done.stderr:
        return False, vendorwatch(db, *args)
    return True, done


def run(directory: Path, seed: int) -> dict[str, Any]:
    started = time.monotonic()
    scenario = write_scenario(directory, seed=seed)
    generated = time.monotonic() - started
    db = directory / "scenario.duckdb"
    for stale in (db, db.with_name(db.name + ".wal")):
        stale.unlink(missing_ok=True)
    started = time.monotonic()
    zones_applied, done = ingest(scenario, db)
    ingested = time.monotonic() - started
    if done.returncode != 0:
        raise CommandFailed(f"vendorwatch ingest exited {done.returncode}: "
                            f"{done.stderr.strip()}")
    listed = vendorwatch(db, "findings", "--format", "json")
    if listed.returncode != 0:
        raise CommandFailed(f"vendorwatch findings exited {listed.returncode}: "
                            f"{listed.stderr.strip()}")
    findings = json.loads(listed.stdout)
    result = score(scenario, findings)
    return {
        "scenario": {"pcap": str(scenario.pcap), "zones": str(scenario.zones),
                     "site": scenario.site, "seed": scenario.seed, "packets": scenario.packets,
                     "bytes": scenario.pcap.stat().st_size, "planted": len(scenario.planted),
                     "benign_hosts": list(scenario.benign)},
        "zones_applied": zones_applied,
        "seconds": {"generate": round(generated, 1), "ingest": round(ingested, 1)},
        "ingest_warnings": [line for line in done.stderr.splitlines()
                            if line.startswith("warning:")],
        "findings": len(findings),
        **_report(result, scenario),
    }


def _report(result: Score, scenario: Scenario) -> dict[str, Any]:
    def brief(finding: dict[str, Any]) -> dict[str, Any]:
        ip = finding.get("asset_ip")
        return {"kind": finding["kind"], "severity": finding["severity"], "asset_ip": ip,
                "host": scenario.hosts.get(ip or "", ""), "summary": finding["summary"],
                "members": (finding.get("details") or {}).get("members"), "id": finding["id"]}

    return {
        "kinds": [{"kind": k.kind, "planted": k.planted, "found": k.found,
                   "recall": k.recall, "findings": k.findings,
                   "true_findings": k.true_findings, "precision": k.precision}
                  for k in result.kinds.values()],
        "found": result.found,
        "planted": result.planted,
        "missed": [{"kind": c.kind, "asset_ip": c.asset_ip, "host": scenario.hosts.get(
            c.asset_ip, ""), "note": c.note} for c in result.missed],
        "false_alarms": [brief(f) for f in result.false_alarms],
        "unmatched": [brief(f) for f in result.unmatched],
    }


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def print_text(report: dict[str, Any]) -> None:
    scenario = report["scenario"]
    print(f"scenario: {scenario['packets']:,} packets, {scenario['bytes'] / 1e6:.1f} MB, "
          f"{scenario['planted']} planted cases, {len(scenario['benign_hosts'])} benign hosts; "
          f"generated in {report['seconds']['generate']} s, ingested in "
          f"{report['seconds']['ingest']} s")
    if not report["zones_applied"]:
        print("note: `vendorwatch ingest` does not accept --zones yet: ingested without the "
              "zone file (zone kinds cannot be found)")
    for line in report["ingest_warnings"]:
        print(f"ingest {line}")
    print()
    print(f"{'kind':<26} {'planted':>7} {'found':>5} {'recall':>6} {'findings':>8} "
          f"{'true':>5} {'precision':>9}")
    for k in report["kinds"]:
        print(f"{k['kind']:<26} {k['planted']:>7} {k['found']:>5} {_ratio(k['recall']):>6} "
              f"{k['findings']:>8} {k['true_findings']:>5} {_ratio(k['precision']):>9}")
    print()
    print(f"missed planted cases ({len(report['missed'])}):")
    for case in report["missed"]:
        print(f"  {case['kind']:<24} {case['asset_ip']:<13} {case['host']:<14} {case['note']}")
    print(f"false alarms: high/critical findings on benign hosts ({len(report['false_alarms'])}):")
    for f in report["false_alarms"]:
        print(f"  {f['severity']:<8} {f['kind']:<24} {f['asset_ip'] or '-':<13} {f['summary']}")
    print(f"findings matching no planted case ({len(report['unmatched'])}):")
    shown: dict[str, int] = {}
    for f in report["unmatched"]:
        shown[f["kind"]] = shown.get(f["kind"], 0) + 1
        if shown[f["kind"]] <= MAX_LISTED:
            print(f"  {f['severity']:<8} {f['kind']:<24} {f['asset_ip'] or '-':<13} "
                  f"{f['summary'][:110]}")
    for kind, count in shown.items():
        if count > MAX_LISTED:
            print(f"  ... and {count - MAX_LISTED} more {kind}")
    print()
    print(summary_line(report))


def summary_line(report: dict[str, Any]) -> str:
    true = sum(k["true_findings"] for k in report["kinds"])
    counted = sum(k["findings"] for k in report["kinds"])
    perfect = [k["kind"] for k in report["kinds"] if k["planted"] and k["recall"] == 1.0]
    with_cases = [k for k in report["kinds"] if k["planted"]]
    return (f"SUMMARY: recall {report['found']}/{report['planted']} planted cases "
            f"({len(perfect)}/{len(with_cases)} kinds complete), precision {true}/{counted} "
            f"findings, {len(report['false_alarms'])} false alarms on benign hosts, "
            f"zones {'applied' if report['zones_applied'] else 'NOT applied'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--keep", type=Path, help="write the scenario and store here")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    try:
        if args.keep:
            report = run(args.keep, args.seed)
        else:
            with tempfile.TemporaryDirectory(prefix="vw-detection-") as tmp:
                report = run(Path(tmp), args.seed)
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(json.dumps({"summary": f"SUMMARY: not scored: {exc}"}) if args.json
              else f"SUMMARY: not scored: {exc}")
        return
    if args.json:
        print(json.dumps({**report, "summary": summary_line(report)}, indent=2))
    else:
        print_text(report)


if __name__ == "__main__":
    main()
