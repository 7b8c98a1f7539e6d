"""Cost per replication-step against the number of actors, and the share of it spent finding camps.

    python benchmarks/bench_scaling.py

The synthetic scenario of benchmarks/bench_engine.py with camps tracked, under both rules, 20 steps,
one process; the camp search is timed inside the same steps (target: cost ~N^3 or better up to 200
actors, camps < 15% of a step).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import synthetic_scenario  # noqa: E402

from sim.model.model import ScenarioModel  # noqa: E402
from sim.scenario.documents import Document  # noqa: E402
from sim.scenario.loader import build_scenario  # noqa: E402


def measure(rule: str, n: int, reps: int, steps: int = 20) -> tuple[float, float]:
    data = dict(synthetic_scenario(n, steps).resolved)
    data["tracking"] = dict(data["tracking"], camps=True)
    data["meta"] = dict(data["meta"], rule=rule)
    model = ScenarioModel(build_scenario(Document(data, root_file=f"<synthetic {n}>")), 1, reps)
    spent = [0.0]
    search = model._update_camps

    def timed():
        start = time.perf_counter()
        search()
        spent[0] += time.perf_counter() - start

    model._update_camps = timed
    start = time.perf_counter()
    for _ in range(steps):
        model.step()
    total = time.perf_counter() - start
    return total / reps / steps * 1e6, spent[0] / total


def main() -> None:
    print("| rule | actors | replications | µs per replication-step | x per doubling of actors | camps share |")
    print("|---|---|---|---|---|---|")
    for rule in ("balance", "landscape"):
        previous = None
        for n, reps in ((25, 800), (50, 200), (100, 50), (200, 20)):
            cost, share = measure(rule, n, reps)
            growth = f"{cost / previous:.1f}" if previous else ""
            print(f"| {rule} | {n} | {reps} | {cost:,.1f} | {growth} | {share:.0%} |")
            previous = cost


if __name__ == "__main__":
    main()
