"""Per-replication values of uncertain parameters, drawn so that replication k gets the same values
alone or in any batch: draw j = k // per_draw reads a counter-based uniform keyed by (seed, j, the
parameter's name) (sim/model/streams.py), independent of every event's draws."""

from __future__ import annotations

import numpy as np

from sim.model.streams import EventDraws, event_key
from sim.scenario.uncertainty import Uncertainty


def draw_ids(uncertainty: Uncertainty, replications: np.ndarray) -> np.ndarray:
    return np.asarray(replications, dtype=np.int64) // uncertainty.per_draw


def draw_parameters(uncertainty: Uncertainty, seed: int, replications: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter name -> (R,) values for the given replication ids."""
    ids = draw_ids(uncertainty, replications)
    draws = EventDraws(seed, ids)
    rows = np.arange(len(ids))

    def uniforms(name: str) -> np.ndarray:
        return draws.uniforms(rows, np.full(len(ids), event_key(f"uncertainty:{name}"), dtype=np.uint64), 0, 0)

    if uncertainty.sample:
        table = np.array(uncertainty.sample, dtype=np.float64)
        pick = np.minimum((uniforms("row") * len(table)).astype(np.int64), len(table) - 1)
        return {name: table[pick, c] for c, name in enumerate(uncertainty.names)}
    return {name: np.clip(dist.sample(uniforms(name)), lo, hi)
            for name, dist, (lo, hi) in zip(uncertainty.names, uncertainty.distributions, uncertainty.bounds)}
