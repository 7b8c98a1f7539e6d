"""Whole `sim run` commands on one core: load, simulate, write every output (plots off), as a user runs them.

    python benchmarks/bench_cli.py            # the shipped scenarios at 10,000 replications
    python benchmarks/bench_cli.py --quick    # 1,000 replications

Each figure is the best of three runs of `sim.cli.main([...])` in this process (so interpreter start-up
is not counted; imports are warm after the first run), interleaved between scenarios.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the figures claim

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from sim.cli import main as sim  # noqa: E402
from sim.scenario.loader import load_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
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
    best = {p: float("inf") for p in paths}
    run_once(paths[0], 100)  # warm the imports
    for _ in range(3):
        for p in paths:
            best[p] = min(best[p], run_once(p, reps))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; one thread; `sim run --reps {reps} --no-plots`, best of 3\n")
    print("| scenario | actors | events | steps | replications | seconds | replications/s |")
    print("|---|---|---|---|---|---|---|")
    for p in paths:
        s = load_scenario(p)
        print(f"| {s.meta.name} | {len(s.actors)} | {len(s.events)} | {s.meta.steps} | {reps:,} | {best[p]:.2f} | "
              f"{reps / best[p]:,.0f} |")


if __name__ == "__main__":
    main()
