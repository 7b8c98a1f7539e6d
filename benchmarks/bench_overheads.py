"""What users wait for besides the model's arithmetic: start-up and plots.

    python benchmarks/bench_overheads.py

1. Start-up: wall time of `sim --help` and `sim validate` as subprocesses, best of five, beside the
   reference of a bare `python -c pass` measured in the same loop (target: under 0.3 s each).
2. Plots: a default `sim run` of niger-2024 (1,000 replications) with plots against the same run with
   `--no-plots`, interleaved, two ways (target: ratio <= 1.3):
   - the whole command as users run it, a subprocess each time (start-up and imports counted, as in the
     issue's "today 2.6x"), best of five;
   - in this process after a warm-up, so that only drawing and writing the figures differ (stricter: the
     reference is shorter), best of five.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core

import contextlib  # noqa: E402
import io  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIM = [sys.executable, "-m", "sim"]


def wall(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def startup() -> None:
    commands = {"python -c pass (reference)": [sys.executable, "-c", "pass"],
                "sim --help": SIM + ["--help"],
                "sim validate niger-2024": SIM + ["validate", "scenarios/niger-2024.toml"]}
    best = {name: min(wall(cmd) for _ in range(5)) for name, cmd in commands.items()}
    print("| command | seconds (wall, best of 5) |\n|---|---|")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.3f} |")


def plots(reps: int = 1000) -> None:
    from sim.cli import main

    def command(extra: list[str]) -> float:
        with tempfile.TemporaryDirectory() as out:
            return wall(SIM + ["run", "scenarios/niger-2024.toml", "--reps", str(reps), "--out", out, *extra])

    def in_process(extra: list[str]) -> float:
        with tempfile.TemporaryDirectory() as out, contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            start = time.perf_counter()
            main(["run", "scenarios/niger-2024.toml", "--reps", str(reps), "--out", out, *extra])
            return time.perf_counter() - start

    print(f"\nsim run niger-2024, {reps:,} replications, best of five, interleaved:")
    print("| measured | --no-plots, s (reference) | with plots, s | ratio |\n|---|---|---|---|")
    for name, once in (("whole command (subprocess)", command), ("in this process, warm", in_process)):
        once(["--no-plots"]), once([])  # warm: file caches, imports, compiled kernels
        without, with_plots = [], []
        for _ in range(5):
            without.append(once(["--no-plots"]))
            with_plots.append(once([]))
        print(f"| {name} | {min(without):.3f} | {min(with_plots):.3f} | {min(with_plots) / min(without):.2f} |")


if __name__ == "__main__":
    os.chdir(ROOT)
    print(f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores\n")
    startup()
    plots()
