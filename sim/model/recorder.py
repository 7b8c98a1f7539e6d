"""What a run keeps: tracked series (aggregated per step, or whole), outcomes, the event log.

Memory is proportional to R x (number of series) plus steps x series for the aggregates;
whole trajectories (steps x R x series) are kept only when asked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.compile import compile_expression
from sim.model.kernels import Kernels
from sim.model.quantiles import column_quantiles
from sim.model.state import Index, State
from sim.scenario.schema import Scenario

STATISTICS = ("mean", "q05", "q25", "q50", "q75", "q95")
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
_QUANTILES = np.array(QUANTILES)


@dataclass(frozen=True, slots=True)
class Series:
    quantity: str  # relation, alignment, attribute, presence, same_camp
    source: str
    target: str


def tracked_series(scenario: Scenario, index: Index, with_camps: bool):
    """The tracked series and a function of the State giving their values, shape (R, S)."""
    series, getters = [], []
    for a, b in scenario.tracking.relations:
        i = index.actors[a]
        if b in index.actors:
            series.append(Series("relation", a, b))
            getters.append(lambda s, i=i, j=index.actors[b]: s.relations[:, i, j])
        else:
            members = np.array([m for m in index.blocs[b] if m != i], dtype=np.int64)
            series.append(Series("alignment", a, b))
            getters.append(lambda s, i=i, m=members: s.relations[:, i, m].mean(axis=1) if len(m) else 0.0)
    for a, name in scenario.tracking.attributes:
        series.append(Series("attribute", a, name))
        getters.append(lambda s, i=index.actors[a], k=index.attributes[name]: s.attributes[:, i, k])
    for k in scenario.tracking.presence:
        slot = scenario.presence[k]
        series.append(Series("presence", slot.actor, slot.site))
        getters.append(lambda s, k=k: s.presence[:, k])
    if with_camps:
        for a, b in scenario.tracking.relations:
            if b in index.actors:
                series.append(Series("same_camp", a, b))
                getters.append(lambda s, i=index.actors[a], j=index.actors[b]:
                               (s.camps[:, i] == s.camps[:, j]).astype(np.float64))

    def values(state: State) -> np.ndarray:
        out = np.empty((state.replications, len(getters)))
        for c, get in enumerate(getters):
            out[:, c] = get(state)
        return out

    return tuple(series), values


class OutcomeTracker:
    """Accumulates each outcome over the run: final values, first-hit steps, counts, means..."""

    def __init__(self, scenario: Scenario, index: Index, replications: int):
        self.outcomes = scenario.outcomes
        self.compiled = [compile_expression(o.expr, index) for o in scenario.outcomes]
        self.acc: list[np.ndarray] = []
        for o in self.outcomes:
            start = {"first": np.nan, "count": 0.0, "mean": 0.0, "max": -np.inf, "min": np.inf}.get(o.kind, np.nan)
            self.acc.append(np.full(replications, start))
        self.steps_seen = 0

    def observe(self, state: State) -> None:
        """Called at step 0 (first-hit outcomes only) and after every step."""
        r = state.replications
        if state.step > 0:
            self.steps_seen += 1
        for o, f, acc in zip(self.outcomes, self.compiled, self.acc):
            if o.kind == "final" or (state.step == 0 and o.kind != "first"):
                continue
            value = np.broadcast_to(f(state), (r,))
            if o.kind == "first":
                acc[np.isnan(acc) & value] = state.step
            elif o.kind == "count":
                acc += value
            elif o.kind == "mean":
                acc += value
            elif o.kind == "max":
                np.maximum(acc, value, out=acc)
            elif o.kind == "min":
                np.minimum(acc, value, out=acc)

    def finish(self, state: State) -> dict[str, np.ndarray]:
        r = state.replications
        out = {}
        for o, f, acc in zip(self.outcomes, self.compiled, self.acc):
            if o.kind == "final":
                value = np.broadcast_to(f(state), (r,))
                out[o.id] = value.astype(bool) if o.expr.type == "bool" else value.astype(np.float64)
            elif o.kind == "mean":
                out[o.id] = acc / max(self.steps_seen, 1)
            else:
                out[o.id] = acc.copy()
            if o.kind != "first" and out[o.id].dtype == np.float64:  # no number (0 / 0, overflow): NaN, said once
                out[o.id] = np.where(np.isfinite(out[o.id]), out[o.id], np.nan)
        return out


def summarise_step(values: np.ndarray, bands: bool = True, kernels: Kernels | None = None) -> np.ndarray:
    """(R, S) -> (6, S): mean and the 5/25/50/75/95% quantiles over replications (NaN without `bands`: a batch
    keeps them from one chunk per point only). With `kernels`, the quantiles are found by their order
    statistics (sim.model.quantiles: the same bits as np.quantile, several times faster)."""
    out = np.empty((len(STATISTICS), values.shape[1]))
    out[0] = values.mean(axis=0)
    if not bands:
        out[1:] = np.nan
    elif kernels is None:
        out[1:] = np.quantile(values, _QUANTILES, axis=0)
    else:
        out[1:] = column_quantiles(values, QUANTILES, kernels.order_statistics)
    return out


def summarise_steps(trajectories: np.ndarray) -> np.ndarray:
    """(T, R, S) -> (T, 6, S): summarise_step at every step, the same bits (tested), in two numpy calls
    instead of 2T (a packed sweep point has ~100 replications: per-step calls cost more than the sums)."""
    out = np.empty((trajectories.shape[0], len(STATISTICS), trajectories.shape[2]))
    out[:, 0, :] = trajectories.mean(axis=1)
    out[:, 1:, :] = np.moveaxis(np.quantile(trajectories, _QUANTILES, axis=1), 0, 1)
    return out
