"""Limits: on what a command is asked for (checked before anything heavy is imported: the command line
checks --reps and --seed before it loads the engine), and the ranges of values in a scenario, which the
loader checks and `sim schema` gives editors."""

from __future__ import annotations

from sim.errors import SimError

MAX_SEED = 2**63 - 1           # seeds are stored as 64-bit integers (Parquet, npz)
MAX_REPLICATIONS = 10**9       # per scenario and point; far beyond any batch that finishes


def check_reps_seed(reps: int | None, seed: int | None) -> None:
    """The one check of --reps and --seed (every command that takes them)."""
    if reps is not None and not 1 <= reps <= MAX_REPLICATIONS:
        raise SimError(f"--reps must be between 1 and {MAX_REPLICATIONS:,}, found {str(reps)[:30]}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise SimError(f"--seed must be between 0 and {MAX_SEED} (2^63 - 1), found {str(seed)[:30]}"
                       + ("..." if len(str(seed)) > 30 else ""))


RELATION = (-1, 1)          # a relation, its default and its baseline
PROBABILITY = (0, 1)        # an event's probability per step, when a number
PERSONNEL_MIN = 0           # personnel at a site
CAPABILITY_MIN = 0          # an actor's capability (a weight)
