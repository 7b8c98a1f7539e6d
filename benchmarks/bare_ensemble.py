"""The reference for `sim run`: a bare numpy ensemble doing the same matrix work as the engine.

R replications of N actors for S steps, as one would write them in numpy without any engine: the
Kulakowski balance step (a capability-weighted matrix product per sub-step, as many sub-steps as the
engine takes), inertia toward the baseline, Gaussian noise from numpy's default generator, the bounds.
No events, camps, outcomes, recording or files: what the engine does beyond this is its overhead.
"""

from __future__ import annotations

import numpy as np

from sim.model.rules import balance_substeps


def bare_ensemble(reps: int, n: int, steps: int, rate: float = 0.05, inertia: float = 0.02,
                  noise: float = 0.02, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.tile(rng.uniform(-0.5, 0.5, (n, n)), (reps, 1, 1))
    base = x.copy()
    weights = rng.uniform(0.5, 1.5, (reps, n))
    substeps = balance_substeps(rate, n)
    h = rate / substeps / max(n - 2, 1)
    diagonal = np.arange(n)
    for _ in range(steps):
        for _ in range(substeps):
            x += h * (1.0 - x * x) * np.matmul(x * weights[:, None, :], x)
        x = (1.0 - inertia) * x + inertia * base
        x += noise * rng.standard_normal((reps, n, n))
        np.clip(x, -1.0, 1.0, out=x)
        x[:, diagonal, diagonal] = 0.0
    return x
