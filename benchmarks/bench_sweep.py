"""A sweep of many small points against one point of the same total size (issue 13's target: <= 1.5x).

    python benchmarks/bench_sweep.py

`sim batch` as subprocesses on 2 workers, whole commands (planning, running, writing), interleaved,
best of two: niger-2024 over a 200-point Latin hypercube of balance_rate x 100 replications, against
one point of 20,000 replications; and the size of the sweep's series files.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SWEEP = """[sweep]
method = "lhs"
points = 200
seed = 1
[[vary]]
key = "parameters.balance_rate"
low = 0.0
high = 0.08
"""


def batch(args: list[str], out: Path) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", "batch", "scenarios/niger-2024.toml", *args, "--jobs", "2",
                    "--out", str(out), "--quiet"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "sweep.toml"
        sweep.write_text(SWEEP)
        many, one = [], []
        for k in range(2):
            many.append(batch(["--sweep", str(sweep), "--reps", "100"], Path(tmp) / f"many{k}"))
            one.append(batch(["--reps", "20000"], Path(tmp) / f"one{k}"))
        (folder,) = (Path(tmp) / "many0").iterdir()
        sizes = {name: (folder / name).stat().st_size / 1e6 for name in ("series.csv", "series.parquet")}
    print(f"200 points x 100 replications: {min(many):.2f} s; one point of 20,000 (reference): {min(one):.2f} s; "
          f"ratio {min(many) / min(one):.2f}")
    print("series files of the sweep: " + ", ".join(f"{name} {mb:.1f} MB" for name, mb in sizes.items()))


if __name__ == "__main__":
    main()
