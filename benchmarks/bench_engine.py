"""Engine throughput on one core, memory, and the plain-Mesa batch_run baseline in the same run.

    python benchmarks/bench_engine.py            # full run (a few minutes)
    python benchmarks/bench_engine.py --quick    # smaller sizes, for a smoke test

Prints a markdown table to paste into the README's performance table.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # one core, as the figures claim

import argparse  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from mesa_baseline import run_batch  # noqa: E402

from sim.model.model import run_scenario  # noqa: E402
from sim.scenario.documents import Document  # noqa: E402
from sim.scenario.loader import build_scenario, load_scenario  # noqa: E402


def synthetic_scenario(n_actors: int, steps: int = 52):
    """A random scenario of n actors with a dozen stochastic and triggered events."""
    rng = np.random.default_rng(n_actors)
    ids = [f"a{i}" for i in range(n_actors)]
    doc = {
        "meta": {"name": f"synthetic-{n_actors}", "start": "2024-01-01", "steps": steps},
        "actors": {a: {"attributes": {"capability": float(rng.uniform(0.5, 10))}} for a in ids},
        "relations": {"directed": {a: {b: round(float(rng.uniform(-0.6, 0.6)), 3) for b in ids if b != a}
                                   for a in ids}},
        "sites": {"base": {"host": "a0"}},
        "presence": {"a1": {"base": 1000}},
        "events": {},
        "outcomes": {"far": {"expr": "relation(a0, a1) < 0"}, "gone": {"kind": "first", "expr": "presence(a1) == 0"}},
        "tracking": {"relations": ["a0:a1", "a0:a2"], "camps": False},
    }
    for e in range(12):
        i, j = rng.choice(n_actors, 2, replace=False)
        doc["events"][f"e{e}"] = {
            "kind": "stochastic" if e % 2 else "triggered", "probability": 0.05,
            **({"condition": f"relation(a{i}, a{j}) < 0"} if e % 2 == 0 else {}),
            "effects": [{"type": "relation", "source": f"a{i}", "target": f"a{j}",
                         "delta": {"dist": "normal", "mean": -0.1, "sd": 0.05}}]}
    doc["events"]["withdraw"] = {"kind": "triggered", "condition": "relation(a0, a1) < -0.3", "probability": 0.1,
                                 "effects": [{"type": "presence", "actor": "a1", "site": "base", "set": 0, "over": 8}]}
    return build_scenario(Document(doc, root_file=f"<synthetic {n_actors}>"))


def pairwise_scenario(n_actors: int = 50, steps: int = 52, enabled: bool = True):
    """The synthetic scenario of n actors plus one pairwise template over every ordered pair of actors
    (n (n - 1) events: 2,450 at 50 actors): a clash when a relation is hostile, with a 2% weekly chance."""
    scenario = synthetic_scenario(n_actors, steps)
    doc = dict(scenario.resolved)
    doc["templates"] = {"clash": {
        "for": {"i": {"kind": "state"}, "j": {"kind": "state"}}, "kind": "stochastic", "enabled": enabled,
        "condition": "relation({i}, {j}) < -0.3", "probability": 0.02,
        "effects": [{"type": "relation", "source": "{i}", "target": "{j}",
                     "delta": {"dist": "normal", "mean": -0.05, "sd": 0.02}}]}}
    return build_scenario(Document(doc, root_file=f"<pairwise {n_actors}>"))


def timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(fn) -> float:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    niger = load_scenario(ROOT / "scenarios" / "niger-2024.toml")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}; one thread")
    print("\n| what | size | replications | seconds | replications/s | µs per replication-step |")
    print("|---|---|---|---|---|---|")
    sizes = (1, 100, 1000) if args.quick else (1, 100, 1000, 10000)
    for reps in sizes:
        seconds = timed(lambda: run_scenario(niger, replications=reps), repeat=3 if reps <= 1000 else 1)
        print(f"| engine, niger-2024 ({niger.meta.steps} steps) | 11 actors | {reps} | {seconds:.2f} | "
              f"{reps / seconds:,.0f} | {seconds / reps / niger.meta.steps * 1e6:.2f} |")
    for n, reps in ((10, 1000), (50, 200), (200, 20)) if not args.quick else ((10, 200), (50, 20)):
        scenario = synthetic_scenario(n)
        seconds = timed(lambda: run_scenario(scenario, replications=reps))
        print(f"| engine, synthetic ({scenario.meta.steps} steps) | {n} actors | {reps} | {seconds:.2f} | "
              f"{reps / seconds:,.1f} | {seconds / reps / scenario.meta.steps * 1e6:.1f} |")
    reps = 200 if not args.quick else 20
    with_events, without = pairwise_scenario(), pairwise_scenario(enabled=False)
    seconds = bare = float("inf")
    for _ in range(5):  # interleaved, best of five: the two are compared with each other
        seconds = min(seconds, timed(lambda: run_scenario(with_events, replications=reps)))
        bare = min(bare, timed(lambda: run_scenario(without, replications=reps)))
    print(f"| engine, 50 actors + pairwise template ({len(with_events.events):,} events, 52 steps) | 50 actors | "
          f"{reps} | {seconds:.2f} | {reps / seconds:,.1f} | {seconds / reps / 52 * 1e6:.1f} |")
    print(f"| the same, template switched off | 50 actors | {reps} | {bare:.2f} | {reps / bare:,.1f} | "
          f"{bare / reps / 52 * 1e6:.1f} |")
    print(f"\nthe template's {len(with_events.events) - 13:,} events cost {(seconds - bare) / bare:.0%} of a step "
          "without them")
    for n, reps in ((12, 20), (50, 2)) if not args.quick else ((12, 4),):
        seconds = timed(lambda: run_batch(n, reps))
        print(f"| plain Mesa batch_run (104 steps) | {n} actors | {reps} | {seconds:.2f} | {reps / seconds:,.2f} | "
              f"{seconds / reps / 104 * 1e6:.0f} |")
    print("\n| peak traced memory, niger-2024 | replications | MiB | bytes per replication |")
    print("|---|---|---|---|")
    for reps in (1000, 4000) if args.quick else (1000, 4000, 10000):
        mib = peak_memory(lambda: run_scenario(niger, replications=reps))
        print(f"| engine (trajectories not kept) | {reps} | {mib:.1f} | {mib * 2**20 / reps:,.0f} |")


if __name__ == "__main__":
    main()
