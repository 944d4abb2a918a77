"""What bounds ingest speed on this machine: NFStream's meter, alone and split in two.

Measures, on the capture `bench/ingest.py` generated (bench/out/bench.pcap):

1. NFStream metering the whole file (one meter, as for every file) — the flow half of ingest;
2. two NFStreamers run at once, each metering half of the flows (a BPF filter on the XOR of
   the two addresses, symmetric so a flow's packets stay together; the second takes exactly
   what the first does not) — the best a split could do;
3. libpcap reading and filtering the whole file with a filter that matches nothing — the
   cost of reading, so the rest is NFStream's per-packet work;
4. two CPU-bound Python loops at once against one alone — how much a second core adds here.

    python bench/meter_floor.py [--file bench/out/bench.pcap]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ODD = ("(ip and ((ip[12:4] ^ ip[16:4]) & 1) = 1)"
       " or (ip6 and ((ip6[20:4] ^ ip6[36:4]) & 1) = 1)"
       " or (vlan and ((ip and ((ip[12:4] ^ ip[16:4]) & 1) = 1)"
       " or (ip6 and ((ip6[20:4] ^ ip6[36:4]) & 1) = 1)))")
BUSY = "sum(range(60_000_000))"


def run_meter(path: str, bpf: str) -> None:
    """In a child process: meter the file (NFStream forks its meter from here)."""
    from nfstream import NFStreamer

    start = time.perf_counter()
    flows = sum(1 for _ in NFStreamer(source=path, decode_tunnels=True,
                                      statistical_analysis=False, splt_analysis=0,
                                      n_dissections=20, accounting_mode=1, n_meters=1,
                                      bpf_filter=bpf or None))
    print(flows, time.perf_counter() - start)


def meter(path: Path, bpf: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, __file__, "--meter", str(path), bpf],
                            stdout=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen[str]) -> tuple[int, float]:
    out, _ = proc.communicate()
    flows, seconds = out.split()
    return int(flows), float(seconds)


def busy_seconds(parallel: int) -> float:
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(parallel)]
    for proc in procs:
        proc.wait()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=HERE / "out" / "bench.pcap")
    parser.add_argument("--meter", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.meter:
        run_meter(*args.meter)
        return 0
    if not args.file.exists():
        print(f"{args.file}: run `python bench/ingest.py` first to generate it")
        return 2
    whole_flows, whole_s = finish(meter(args.file, ""))
    started = time.perf_counter()
    odd, even = meter(args.file, ODD), meter(args.file, f"not ({ODD})")
    (odd_flows, _), (even_flows, _) = finish(odd), finish(even)
    split_s = time.perf_counter() - started
    _, read_s = finish(meter(args.file, "tcp port 1"))
    one, two = busy_seconds(1), busy_seconds(2)
    result = {
        "whole_file": {"flows": whole_flows, "seconds": round(whole_s, 2)},
        "two_halves_at_once": {"flows": odd_flows + even_flows, "seconds": round(split_s, 2)},
        "read_and_filter_only_s": round(read_s, 2),
        "second_core_speedup": round(2 * one / two, 2),
    }
    print(json.dumps(result, indent=2))
    print(f"\nNFStream meter, whole file: {whole_s:.1f} s; split over two meters at once: "
          f"{split_s:.1f} s ({odd_flows + even_flows:,} of {whole_flows:,} flows); reading "
          f"and filtering alone: {read_s:.1f} s; two CPU-bound processes run "
          f"{2 * one / two:.2f}× as fast as one here.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
