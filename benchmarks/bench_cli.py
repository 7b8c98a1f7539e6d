"""Whole `sim run` commands on one core: load, simulate, write every output (plots off), as a user runs them.

    python benchmarks/bench_cli.py            # the shipped scenarios at 10,000 replications
    python benchmarks/bench_cli.py --quick    # 1,000 replications

Each figure is the best of three runs of `sim.cli.main([...])` in this process (so interpreter start-up
is not counted; imports are warm after the first run), interleaved between scenarios and with the
reference: a bare numpy ensemble of the same size (benchmarks/bare_ensemble.py: the same actors, steps,
replications and balance parameters; the same matrix work without events, camps, recording or files).
Target (issue 13): `sim run` >= 1.0x the bare ensemble.

The reference's own time depends on glibc's malloc: it allocates a 10 MB temporary at every operation, and
when the heap is trimmed between them each one comes back as fresh pages (page faults), which can add a
quarter to its time depending on what ran before in the process. To measure it at its fastest, turn the
trimming off for the whole process (both sides then run with it off; the header says which):

    MALLOC_TRIM_THRESHOLD_=1000000000 MALLOC_MMAP_THRESHOLD_=33554432 python benchmarks/bench_cli.py
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the figures claim

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sim.cli import main as sim  # noqa: E402
from sim.scenario.loader import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bare_ensemble import bare_ensemble  # noqa: E402

MALLOC = " ".join(f"{k}={os.environ[k]}" for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_") if k in os.environ)
SCENARIOS = ("niger-2024.toml", "sahel-2020-2025.toml", "sahel-2020-2025-calibrated.toml")


def run_once(path: Path, reps: int) -> float:
    with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        start = time.perf_counter()
        code = sim(["run", str(path), "--reps", str(reps), "--no-plots", "--out", out])
        seconds = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"sim run {path} failed with exit status {code}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 1000 if args.quick else 10_000
    paths = [ROOT / "scenarios" / name for name in SCENARIOS]
    scenarios = {p: load_scenario(p) for p in paths}
    best = {p: float("inf") for p in paths}
    bare = {p: float("inf") for p in paths}
    run_once(paths[0], 100)  # warm the imports and the compiled kernels
    for _ in range(3):
        for p in paths:
            best[p] = min(best[p], run_once(p, reps))
            s = scenarios[p]
            values = dict(s.parameters)
            start = time.perf_counter()
            bare_ensemble(reps, len(s.actors), s.meta.steps, values["balance_rate"], values["inertia"], values["noise"])
            bare[p] = min(bare[p], time.perf_counter() - start)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; one thread; `sim run --reps {reps} --no-plots`, best of 3; malloc: "
          f"{MALLOC or 'glibc defaults'}\n")
    print("| scenario | actors | events | steps | replications | seconds | replications/s | "
          "bare numpy ensemble, seconds | x the bare ensemble (speed) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in paths:
        s = scenarios[p]
        print(f"| {s.meta.name} | {len(s.actors)} | {len(s.events)} | {s.meta.steps} | {reps:,} | {best[p]:.2f} | "
              f"{reps / best[p]:,.0f} | {bare[p]:.2f} | {bare[p] / best[p]:.2f} |")


if __name__ == "__main__":
    main()
