"""Cost of parameter uncertainty: a run whose parameters are drawn per replication group (--uncertainty)
against the same run with fixed parameters, in one process, interleaved, best of N.

    .venv/bin/python benchmarks/bench_uncertainty.py [--reps 4000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sim.analysis.uncertainty_file import load_uncertainty
from sim.model.model import run_scenario
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "niger-2024.toml"))
    parser.add_argument("--tune", default=str(ROOT / "tuning" / "niger-tune.toml"))
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    uncertainty = load_uncertainty(Path(args.tune), Path(args.scenario), 20)
    best = {"fixed": float("inf"), "uncertain": float("inf")}
    run_scenario(scenario, replications=200, uncertainty=uncertainty)  # warm up
    for _ in range(args.repeats):
        for name, unc in (("fixed", None), ("uncertain", uncertainty)):
            clock = time.perf_counter()
            run_scenario(scenario, replications=args.reps, uncertainty=unc)
            best[name] = min(best[name], time.perf_counter() - clock)
    print(f"{Path(args.scenario).name}, {args.reps} replications, one process, best of {args.repeats}:")
    print(f"  reference (fixed parameters): {best['fixed']:.2f} s ({args.reps / best['fixed']:,.0f} rep/s)")
    print(f"  uncertain ({', '.join(uncertainty.names)}, 20 per draw): {best['uncertain']:.2f} s")
    print(f"  cost of the draws: {best['uncertain'] / best['fixed'] - 1:+.1%} of the run")


if __name__ == "__main__":
    main()
