"""Batch throughput at 1 and 2 processes and on a 2-worker Dask LocalCluster, parallel
efficiency, and peak memory of a large batch, beside Mesa's batch_run on the plain-Mesa model.

    python benchmarks/bench_batch.py                    # full run (about 6 minutes on 2 cores)
    python benchmarks/bench_batch.py --reps 8000 --big 50000   # quicker

Every batch runs as `sim batch` in a subprocess; memory is the peak of the summed resident
memory of that process and its workers, sampled every 0.1 s from /proc.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (Linux /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:")) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as handle:
                    stack += [int(c) for c in handle.read().split()]
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def run_batch(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MiB) of one `sim batch` run."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "sim", "batch", *args, "--out", out, "--quiet"], cwd=ROOT,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"sim batch {' '.join(args)} failed:\n{proc.stderr.read().decode()}")
    return seconds, peak / 2**20


def single_process_engine(reps: int) -> float:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sim.model.model import run_scenario
    from sim.scenario.loader import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "niger-2024.toml")
    start = time.perf_counter()
    for first in range(0, reps, 1000):
        run_scenario(scenario, replications=range(first, min(first + 1000, reps)))
    return reps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=40000, help="replications for the throughput rows")
    parser.add_argument("--big", type=int, default=1_000_000, help="replications for the memory row")
    args = parser.parse_args()
    scenario = str(ROOT / "scenarios" / "niger-2024.toml")
    engine = single_process_engine(min(args.reps, 10000))
    print(f"machine: {os.cpu_count()} cores; niger-2024, 104 weekly steps, chunks of 1000 replications")
    print(f"single-process engine (no batch machinery): {engine:,.0f} replications/s\n")
    print("| executor | workers | replications | seconds (wall, incl. start-up) | replications/s | per worker "
          "| parallel efficiency | peak memory (MiB) |")
    print("|---|---|---|---|---|---|---|---|")
    rows = [("process", 1, ["--jobs", "1"]), ("process", 2, ["--jobs", "2"]),
            ("dask LocalCluster", 2, ["--executor", "dask", "--jobs", "2"])]
    one = None
    for name, workers, extra in rows:
        seconds, mib = run_batch([scenario, "--reps", str(args.reps), *extra])
        rate = args.reps / seconds
        one = one or rate
        print(f"| {name} | {workers} | {args.reps:,} | {seconds:.1f} | {rate:,.0f} | {rate / workers:,.0f} "
              f"| {rate / (one * workers):.0%} | {mib:,.0f} |")
    seconds, mib = run_batch([scenario, "--reps", str(args.big), "--jobs", "2"])
    print(f"| process (large batch) | 2 | {args.big:,} | {seconds:.1f} | {args.big / seconds:,.0f} "
          f"| {args.big / seconds / 2:,.0f} | | {mib:,.0f} |")
    from mesa_baseline import run_batch as mesa_batch

    start = time.perf_counter()
    mesa_batch(12, 20)
    mesa_rate = 20 / (time.perf_counter() - start)
    print(f"| Mesa batch_run, plain-Mesa model (12 actors) | 1 | 20 | | {mesa_rate:,.1f} | | | |")
    print(f"\none process against one: the batch on 1 process ({one:,.0f}/s) is {one / mesa_rate:,.0f}x Mesa batch_run "
          f"of the plain-Mesa model ({mesa_rate:,.1f}/s)")


if __name__ == "__main__":
    main()
