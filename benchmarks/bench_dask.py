"""A 2-worker Dask LocalCluster against the process pool of 2, on the same chunks, start-up excluded.

    python benchmarks/bench_dask.py [--reps 20000]

Both executors are entered first (the cluster's start-up is not counted), then the same chunks of
niger-2024 are run through each, interleaved, best of three; the ratio Dask / process pool is the
figure (target <= 1.15). Set SIM_DASK_DEFAULTS=1 to measure Dask's own worker settings instead of ours.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=20000)
    args = parser.parse_args()
    from sim.experiment.batch_plan import make_plan
    from sim.experiment.chunks import run_chunk
    from sim.experiment.executors import DaskExecutor, ProcessExecutor

    plan = make_plan([ROOT / "scenarios" / "niger-2024.toml"], None, args.reps, None, 1000)
    specs = plan.chunks()
    best = {"process pool": float("inf"), "dask LocalCluster": float("inf")}
    with ProcessExecutor(2) as pool, DaskExecutor(None, 2) as dask:
        for executor in (pool, dask):  # warm: imports in the workers
            list(executor.run(run_chunk, specs[:2]))
        for _ in range(3):
            for name, executor in (("process pool", pool), ("dask LocalCluster", dask)):
                start = time.perf_counter()
                list(executor.run(run_chunk, specs))
                best[name] = min(best[name], time.perf_counter() - start)
    print(f"{args.reps:,} replications of niger-2024 in chunks of 1,000 on 2 workers "
          f"(Dask worker settings: {'Dask defaults' if os.environ.get('SIM_DASK_DEFAULTS') else 'ours'})")
    for name, seconds in best.items():
        print(f"  {name}: {seconds:.2f} s ({args.reps / seconds:,.0f} replications/s)")
    print(f"  ratio Dask / process pool: {best['dask LocalCluster'] / best['process pool']:.2f}")


if __name__ == "__main__":
    main()
