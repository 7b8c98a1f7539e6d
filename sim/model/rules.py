"""Alignment update rules: one small component each, all vectorised over replications.

A rule gets the relation array X (R, N, N), capability weights, the baseline, one step's noise (a
StepNoise: the normals are computed where they are used) and the per-replication rule state (camps,
scale, frozen), and changes them in place. It returns True when it found every relation to be a number
(the model then skips its own check), False when it saw a NaN and None when it did not look (the model
then checks).
`rule_for` picks the rule a scenario asks for: `balance` in the Kulakowski form (the default) or
Marvel's pure form, or `landscape`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from sim.model.kernels import Kernels
from sim.model.kernels import kernels as default_kernels
from sim.scenario.parameters import RULE_OPTIONS, RULE_PARAMETERS

GLOBAL_EXACT_MAX = 20  # landscape_search = "global" enumerates every split up to this many actors
_GLOBAL_BLOCK = 1 << 22  # energies evaluated at once (replications x splits)


@dataclass(frozen=True, slots=True)
class RuleParameters:
    balance_rate: float
    camp_rate: float
    inertia: float
    noise: float
    capability_weight: float
    shock_scale: float
    marvel_cap: float
    balance_form: str
    landscape_search: str

    @classmethod
    def from_scenario(cls, parameters: dict[str, float], options: dict[str, str],
                      varying: dict[str, np.ndarray] | None = None) -> RuleParameters:
        """The scenario's values; a parameter in `varying` holds one value per replication, shaped (R, 1, 1)."""
        varying = varying or {}
        return cls(**{name: (np.asarray(varying[name], dtype=np.float64).reshape(-1, 1, 1) if name in varying
                             else float(parameters[name])) for name in RULE_PARAMETERS},
                   **{name: options.get(name, default) for name, (default, _) in RULE_OPTIONS.items()})

    @property
    def per_replication(self) -> bool:
        return any(isinstance(getattr(self, name), np.ndarray) for name in RULE_PARAMETERS)

    def rows(self, block: slice) -> RuleParameters:
        """These parameters for a block of replications (per-replication values sliced, numbers kept)."""
        values = {name: getattr(self, name) for name in self.__slots__}
        return RuleParameters(**{k: v[block] if isinstance(v, np.ndarray) else v for k, v in values.items()})


@dataclass(frozen=True, slots=True)
class StepNoise:
    """One step's relation noise for a block of replications (their stream keys, the step, the kernels)."""
    keys: np.ndarray
    step: int
    kernels: Kernels

    def normals(self, n: int) -> np.ndarray:
        """(R, n, n) float32 standard normals."""
        out = np.empty((len(self.keys), n * n), dtype=np.float32)
        self.kernels.fill_normals(self.keys, self.step, out)
        return out.reshape(-1, n, n)

    def rows(self, rows) -> StepNoise:
        return StepNoise(self.keys[rows], self.step, self.kernels)


def _flat(value, rows=slice(None)):
    """A per-replication parameter as a flat (R,) array for `rows`, or the number itself."""
    return value.reshape(-1)[rows] if isinstance(value, np.ndarray) else value


def influence_weights(capability: np.ndarray, exponent) -> np.ndarray:
    """Capability^exponent normalised to mean 1 per replication: strong actors pull harder."""
    exponent = exponent.reshape(-1, 1) if isinstance(exponent, np.ndarray) else exponent
    raw = np.maximum(capability, 0.0) ** exponent
    mean = raw.mean(axis=1, keepdims=True)
    return np.divide(raw, mean, out=np.ones_like(raw), where=mean > 0)


# --- camps (Axelrod & Bennett's landscape) -----------------------------------------------------------
def _propensities(relations: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Q = s_i s_j p_ij with p = (X + X^T) / 2 and no self terms; frustration is -1/2 c^T Q c + const."""
    q = relations + relations.transpose(0, 2, 1)
    q *= 0.5 * sizes[:, :, None]
    q *= sizes[:, None, :]
    n = q.shape[1]
    q[:, np.arange(n), np.arange(n)] = 0.0
    return q


def energies(relations: np.ndarray, sizes: np.ndarray, camps: np.ndarray) -> np.ndarray:
    """Axelrod & Bennett's frustration E = sum_{i<j} s_i s_j p_ij d_ij per replication (d_ij = 1 apart)."""
    q = _propensities(relations, sizes)
    apart = (1.0 - camps[:, :, None] * camps[:, None, :]) / 2.0
    return 0.5 * (q * apart).sum(axis=(1, 2))


def local_camps(relations: np.ndarray, sizes: np.ndarray, camps: np.ndarray, kernels: Kernels | None = None
                ) -> np.ndarray:
    """Two camps minimising frustration E = sum s_i s_j p_ij d_ij (Axelrod & Bennett 1993) by single-actor
    moves: from `camps` (+1/-1 per actor), flip per replication the actor whose move lowers E most, until
    none does (a local minimum). Labels are normalised so that actor 0 is in camp +1. (The search runs
    every step: it is a kernel, compiled when numba is there; sim/model/kernels.py.)"""
    return (kernels or default_kernels()).local_camps(relations, sizes, camps)


def _splits(n: int, fix_first: bool) -> np.ndarray:
    """Every +1/-1 assignment of n actors (the first fixed at +1 when asked), one per row."""
    free = n - 1 if fix_first else n
    codes = np.arange(1 << free, dtype=np.int64)[:, None] >> np.arange(free)[None, :] & 1
    signs = 1.0 - 2.0 * codes
    return np.hstack([np.ones((len(signs), 1)), signs]) if fix_first else signs


def global_camps(relations: np.ndarray, sizes: np.ndarray, camps: np.ndarray, kernels: Kernels | None = None
                 ) -> np.ndarray:
    """The exact minimum-frustration split: every split enumerated (actor 0 in camp +1), vectorised over
    replications, meeting in the middle (E = E_a + E_b + cross term, a matrix product), up to
    GLOBAL_EXACT_MAX actors. Above that, the best of local descents from the current camps, from the
    signs of the leading eigenvector of Q and from everyone together (not guaranteed global)."""
    r, n = camps.shape
    if n > GLOBAL_EXACT_MAX:
        return _multistart_camps(relations, sizes, camps, kernels)
    q = _propensities(relations, sizes)
    h = (n + 1) // 2
    ca, cb = _splits(h, True), _splits(n - h, False)
    ea = -0.5 * np.einsum("mi,rij,mj->rm", ca, q[:, :h, :h], ca)
    eb = -0.5 * np.einsum("mi,rij,mj->rm", cb, q[:, h:, h:], cb)
    best = np.empty((r, n))
    block = max(1, _GLOBAL_BLOCK // (len(ca) * len(cb)))
    for lo in range(0, r, block):
        sl = slice(lo, lo + block)
        total = ea[sl, :, None] + eb[sl, None, :] - np.matmul(ca @ q[sl, :h, h:], cb.T)
        flat = total.reshape(len(total), -1).argmin(axis=1)
        best[sl, :h], best[sl, h:] = ca[flat // len(cb)], cb[flat % len(cb)]
    return best


def _multistart_camps(relations, sizes, camps, kernels):
    q = _propensities(relations, sizes)
    _, vectors = np.linalg.eigh(q)
    starts = [camps, np.where(vectors[:, :, -1] >= 0, 1.0, -1.0), np.ones_like(camps)]
    results = [local_camps(relations, sizes, start, kernels) for start in starts]
    scores = np.stack([energies(relations, sizes, c) for c in results])
    pick = scores.argmin(axis=0)
    return np.stack(results)[pick, np.arange(len(camps))]


SEARCHES = {"local": local_camps, "global": global_camps}


# --- updates -------------------------------------------------------------------------------------
def _finish(relations, baseline, params: RuleParameters, noise: StepNoise, bounded: bool = True,
            damping: tuple[np.ndarray, np.ndarray] | None = None) -> bool | None:
    """The balance rule's last damped update when given (damping: its (pull, h)), inertia toward the baseline,
    then noise, then (unless the form forbids it) the bounds. Returns True when no relation can be other than a
    number, False when one is NaN, None when that was not checked."""
    if bounded:  # the common case, in one compiled pass per replication when numba is there
        (inertia, pulls), (sd, shakes) = (_per_row(value, len(relations)) for value in (params.inertia, params.noise))
        return noise.kernels.finish(relations, baseline, inertia, sd, pulls, shakes, noise.keys, noise.step, damping)
    if damping is not None:
        noise.kernels.damp(relations, *damping, False)
    if np.any(params.inertia):
        relations *= 1.0 - params.inertia
        relations += params.inertia * baseline
    if np.any(params.noise):
        normals = noise.normals(relations.shape[1])
        sd = params.noise  # in the normals' precision, as a number is (so a drawn value acts the same)
        np.multiply(normals, sd.astype(normals.dtype) if isinstance(sd, np.ndarray) else sd, out=normals)
        relations += normals
    return None


def _per_row(value, r: int) -> tuple[np.ndarray, bool]:
    """A parameter as r contiguous values, and whether any is non-zero (a number costs no reduction: this runs
    per block of every step)."""
    if isinstance(value, np.ndarray):
        values = np.ascontiguousarray(np.broadcast_to(_flat(value), (r,)))
        return values, bool(values.any())
    return np.full(r, value), value != 0


def balance_substeps(rate: float, n: int) -> int:
    """Euler sub-steps that keep every relation inside [-1, 1] without clipping: a step of size h moves
    x by at most h (1 - x^2) n / (n - 2), which stays inside while h n / (n - 2) <= 1/2."""
    return max(1, math.ceil(2.0 * rate * n / max(n - 2, 1)))


def kulakowski_update(relations, weights, baseline, params: RuleParameters, noise: StepNoise, **_) -> bool | None:
    """Continuous structural balance, dX/dt = (1 - X^2) X W X / (N - 2) (Kulakowski et al. 2005), run for
    balance_rate time units per step in as many Euler sub-steps as keep it stable (balance_substeps)."""
    n = relations.shape[1]
    rate = params.balance_rate
    damping = None
    if isinstance(rate, np.ndarray):
        damping = _kulakowski_per_replication(relations, weights, rate.reshape(-1), noise.kernels)
    elif rate:
        substeps = balance_substeps(rate, n)
        h = np.full(len(relations), rate / substeps / max(n - 2, 1))
        damping = _balance_substeps(relations, weights, h, substeps, noise.kernels, apply_last=False)
    return _finish(relations, baseline, params, noise, damping=damping)


def _balance_substeps(relations, weights, h: np.ndarray, substeps: int, kernels: Kernels, apply_last: bool = True
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """Euler sub-steps X += (1 - X^2) (X W X) h, h per replication (R,): the product by numpy, the rest compiled.
    Without apply_last, the last sub-step's update is returned as (pull, h), for the finish to apply."""
    weighted, pull = np.empty_like(relations), np.empty_like(relations)
    for k in range(substeps):
        kernels.weigh(relations, weights, weighted)
        np.matmul(weighted, relations, out=pull)
        if k == substeps - 1 and not apply_last:
            return pull, h
        kernels.damp(relations, pull, h, substeps > 1)
    return None


def _kulakowski_per_replication(relations, weights, rate: np.ndarray, kernels: Kernels
                                ) -> tuple[np.ndarray, np.ndarray] | None:
    """balance_rate drawn per replication: replications that share a number of sub-steps advance together,
    each exactly as it would with its value as the scenario's number (alone or in any batch). Returns the last
    sub-step's update when it is left to the finish (all together)."""
    n = relations.shape[1]
    substeps = np.maximum(1, np.ceil(2.0 * rate * n / max(n - 2, 1))).astype(np.int64)  # balance_substeps, vectorised
    moving = rate > 0
    counts = np.unique(substeps[moving]).tolist()
    if len(counts) == 1 and moving.all():  # the usual case: all together, in place
        return _balance_substeps(relations, weights, rate / counts[0] / max(n - 2, 1), counts[0], kernels,
                                 apply_last=False)
    for count in counts:
        rows = np.flatnonzero((substeps == count) & moving)
        part = relations[rows]
        _balance_substeps(part, weights[rows], rate[rows] / count / max(n - 2, 1), count, kernels)
        relations[rows] = part
    return None


def marvel_update(relations, weights, baseline, params: RuleParameters, noise: StepNoise, scale, frozen,
                  **_) -> None:
    """Marvel, Kleinberg, Kleinberg & Strogatz (2011): dX/dt = X^2, self-relations kept, no damping, no
    clipping, balance_rate time units per step, solved exactly: X(t + h) = (I - h X)^-1 X. A replication
    stops (frozen) once max |X| passes marvel_cap; the step that would pass it ends where the leading
    term reaches the cap. Relations hold X / scale with scale = max(1, max |X|), so they stay in [-1, 1]."""
    live = np.flatnonzero(~frozen)
    if isinstance(params.balance_rate, np.ndarray):  # drawn per replication: those at 0 skip it, as with 0 given
        live = live[_flat(params.balance_rate, live) > 0]
    if np.any(params.balance_rate) and len(live):
        x = relations[live] * scale[live, None, None]
        cap, h = _flat(params.marvel_cap, live), _flat(params.balance_rate, live)
        eig = np.linalg.eigvals(x)
        real = np.where(np.abs(eig.imag) <= 1e-9 * (1.0 + np.abs(eig.real)), eig.real, -np.inf)
        lam = real.max(axis=1)
        blows = (lam > 0) & (lam * h >= 1.0 - lam / cap)
        tau = np.where(blows, np.maximum(1.0 - lam / cap, 0.0) / np.where(lam > 0, lam, 1.0), h)
        n = x.shape[1]
        x = np.linalg.solve(np.eye(n) - tau[:, None, None] * x, x)
        biggest = np.abs(x).max(axis=(1, 2))
        frozen[live] = blows | (biggest >= cap)
        scale[live] = np.maximum(1.0, biggest)
        relations[live] = x / scale[live, None, None]
    live = np.flatnonzero(~frozen)
    if (np.any(params.inertia) or np.any(params.noise)) and len(live):  # a frozen replication stops changing
        moved = relations[live]
        _finish(moved, baseline[live], params.rows(live) if params.per_replication else params, noise.rows(live),
                bounded=False)
        relations[live] = moved


def landscape_update(relations, weights, baseline, params: RuleParameters, noise: StepNoise, camps,
                     **_) -> bool | None:
    """Camp-mates drift toward +1 and opponents toward -1, weighted by the other actor's capability."""
    drift = camps[:, :, None] * camps[:, None, :]
    drift -= relations
    drift *= weights[:, None, :]
    drift *= params.camp_rate
    relations += drift
    return _finish(relations, baseline, params, noise)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    update: Callable
    needs_camps: bool  # the update reads the camps, so they are computed every step


RULES = {
    ("balance", "kulakowski"): Rule("balance (Kulakowski form)", kulakowski_update, False),
    ("balance", "marvel"): Rule("balance (Marvel form)", marvel_update, False),
    ("landscape", None): Rule("landscape", landscape_update, True),
}


def rule_for(rule: str, params: RuleParameters) -> Rule:
    return RULES[(rule, params.balance_form if rule == "balance" else None)]
