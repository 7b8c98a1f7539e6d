"""Estimate a job's memory and time from the scenario's size before any work starts, so that a job
that cannot fit is refused with the numbers and the way out, and a long one says how long.

The coefficients come from the benchmarks on the project machine (benchmarks/bench_engine.py and
the calibration in README's Performance section): a replication in flight holds about 64 N^2 bytes
of state and temporaries plus 2 KB (issue 13 removed the 8 KB of noise buffers and generators; 5.2 KB
in all measured for niger-2024); a replication-step costs about
3 + 0.0085 N^2.45 microseconds plus 0.01 per event. They are rough (within a factor of two),
which is all a go/no-go needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sim.errors import SimError
from sim.scenario.schema import Scenario

BASE_BYTES = 250 * 2**20        # the interpreter with numpy, Mesa and the engine imported
BLOCK_BYTES = 2**30             # what `sim run` lets one block of replications hold
MAX_CHUNKS = 100_000            # chunk files in one batch; beyond, planning itself is the cost
MAX_POINTS = 100_000            # sweep points in one batch (each is a scenario built up front)
LOUD_SECONDS = 60               # print the estimate for jobs longer than this
LOUD_BYTES = 2**30              # ... or bigger than this


@dataclass(frozen=True)
class Estimate:
    peak_bytes: int     # in the process that holds the most
    seconds: float      # of computing, on one core
    workers: int = 1

    def describe(self) -> str:
        wall = self.seconds / max(self.workers, 1)
        return (f"about {_duration(wall)}" + (f" on {self.workers} workers" if self.workers > 1 else "")
                + f" and {_size(self.peak_bytes)} of memory at the peak")

    @property
    def loud(self) -> bool:
        return self.seconds / max(self.workers, 1) > LOUD_SECONDS or self.peak_bytes > LOUD_BYTES


def bytes_per_replication(scenario: Scenario, keep_trajectories: bool = False) -> int:
    """Memory one replication in flight holds (state, temporaries of the rule, its event draws)."""
    n = len(scenario.actors)
    steps = scenario.meta.steps
    tracking = scenario.tracking
    series = len(tracking.relations) + len(tracking.attributes) + len(tracking.presence) + 1
    return 64 * n * n + 2048 + (8 * (steps + 1) * series * 3 if keep_trajectories else 0)


def kept_per_replication(scenario: Scenario) -> int:
    """Memory that stays per replication once it has run: outcomes, first firings, their CSV text."""
    return 32 * len(scenario.outcomes) + 8 * len(scenario.events) + 64


def seconds_per_replication(scenario: Scenario) -> float:
    n = len(scenario.actors)
    return scenario.meta.steps * (3 + 0.0085 * n ** 2.45 + 0.01 * len(scenario.events)) * 1e-6


def run_block(scenario: Scenario, largest: int) -> int:
    """Replications per block of `sim run`: at most `largest`, and no more state than BLOCK_BYTES. It depends on
    the number of actors only (not on options or the machine), since a multi-block run takes its quantile bands
    from the first block: the same scenario and --reps give the same files."""
    return max(1, min(largest, BLOCK_BYTES // bytes_per_replication(scenario)))


def estimate_run(scenario: Scenario, reps: int, keep_trajectories: bool, block: int) -> Estimate:
    peak = (BASE_BYTES + block * bytes_per_replication(scenario, keep_trajectories)
            + reps * kept_per_replication(scenario))
    return Estimate(peak, reps * seconds_per_replication(scenario))


def estimate_batch(scenarios: list[tuple[Scenario, int, int]], chunk_size: int, workers: int) -> Estimate:
    """`scenarios`: (scenario, replications per point, points). The main process gathers one point's chunks
    at a time to write its outputs (runs.parquet streams); each worker holds one chunk."""
    worker = max(BASE_BYTES + min(chunk_size, reps) * bytes_per_replication(s) for s, reps, _ in scenarios)
    main = BASE_BYTES + max(reps * kept_per_replication(s) for s, reps, _ in scenarios)  # (a 10^6 batch: 0.7 GiB)
    seconds = sum(reps * points * seconds_per_replication(s) for s, reps, points in scenarios)
    return Estimate(max(main, worker), seconds, workers)


def available_bytes() -> int | None:
    """Memory the machine can give now (MemAvailable), or None where that cannot be read."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_fits(estimate: Estimate, what: str, way_out: str, force: bool, say) -> None:
    """Refuse (SimError) a job whose estimated peak exceeds the memory available, unless forced; print the
    estimate of a big job through `say`."""
    free = available_bytes()
    if free is not None and estimate.peak_bytes > free and not force:
        raise SimError(f"{what} would need {_size(estimate.peak_bytes)} of memory at the peak (estimated), more "
                       f"than the {_size(free)} available; {way_out}, or add --force to try anyway")
    if estimate.loud:
        say(f"{what}: estimated {estimate.describe()}")


def check_batch_shape(chunks: int, points: int, force: bool) -> None:
    """Planning itself costs per chunk and per point: refuse shapes that would spend minutes before running."""
    if chunks > MAX_CHUNKS and not force:
        raise SimError(f"the batch would be cut into {chunks:,} chunks (more than {MAX_CHUNKS:,}): give a larger "
                       "--chunk-size, or add --force")
    if points > MAX_POINTS and not force:
        raise SimError(f"the sweep has {points:,} points (more than {MAX_POINTS:,}), each a scenario built before "
                       "the batch starts: sample fewer (method = \"lhs\" or \"sobol\"), or add --force")


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return ""


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.1f} days"
