"""Alignment update rules: one small component each, all vectorised over replications.

A rule gets the relation array X (R, N, N), capability weights, the baseline and one step's
standard normals, and changes X in place. Inertia toward the baseline and noise are shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name -> (default, lowest, highest): the model's tunables; a scenario may add its own names too.
RULE_PARAMETERS: dict[str, tuple[float, float, float]] = {
    "balance_rate": (0.1, 0.0, 10.0),      # speed of structural balance (per step)
    "camp_rate": (0.05, 0.0, 1.0),          # landscape: drift of relations toward camp lines
    "inertia": (0.05, 0.0, 1.0),            # pull toward each actor's baseline (share per step)
    "noise": (0.02, 0.0, 1.0),              # sd of per-step random change in each relation
    "capability_weight": (1.0, 0.0, 5.0),   # exponent on capability in the influence weights
    "shock_scale": (1.0, 0.0, 10.0),        # multiplier on every relation 'delta' from events
}


@dataclass(frozen=True, slots=True)
class RuleParameters:
    balance_rate: float
    camp_rate: float
    inertia: float
    noise: float
    capability_weight: float
    shock_scale: float

    @classmethod
    def from_scenario(cls, parameters: dict[str, float]) -> RuleParameters:
        return cls(**{name: float(parameters[name]) for name in RULE_PARAMETERS})


def influence_weights(capability: np.ndarray, exponent: float) -> np.ndarray:
    """Capability^exponent normalised to mean 1 per replication: strong actors pull harder."""
    raw = np.maximum(capability, 0.0) ** exponent
    mean = raw.mean(axis=1, keepdims=True)
    return np.divide(raw, mean, out=np.ones_like(raw), where=mean > 0)


def landscape_camps(relations: np.ndarray, sizes: np.ndarray, camps: np.ndarray) -> np.ndarray:
    """Two camps minimising frustration E = sum s_i s_j p_ij d_ij (Axelrod & Bennett 1993).

    Starts from `camps` (+1/-1 per actor) and flips, per replication, the single actor whose
    move lowers E most, until no move lowers it: a local minimum reached by single-actor moves.
    Labels are normalised so that actor 0 is in camp +1.
    """
    camps = camps.astype(np.float64, copy=True)
    rows = np.arange(len(camps))
    for _ in range(camps.shape[1] ** 2):
        # field_i = sum_j s_j p_ij c_j with p = (X + X^T) / 2, without forming p
        weighted = (sizes * camps)[:, :, None]
        field = 0.5 * (np.matmul(relations, weighted) + np.matmul(relations.transpose(0, 2, 1), weighted))[:, :, 0]
        gain = sizes * camps * field  # change in E if that actor switches camp
        best = gain.argmin(axis=1)
        improving = gain[rows, best] < -1e-12
        if not improving.any():
            break
        camps[rows[improving], best[improving]] *= -1
    camps *= np.where(camps[:, :1] < 0, -1.0, 1.0)
    return camps


def _finish(relations, baseline, params: RuleParameters, normals) -> None:
    """Inertia toward the baseline, then noise, then the bounds; in place (this is the hot path)."""
    if params.inertia:
        relations *= 1.0 - params.inertia
        relations += params.inertia * baseline
    if params.noise:
        np.multiply(normals, params.noise, out=normals)  # the step's normals are used once
        relations += normals
    np.clip(relations, -1.0, 1.0, out=relations)
    n = relations.shape[1]
    relations[:, np.arange(n), np.arange(n)] = 0.0


def balance_update(relations, weights, baseline, params: RuleParameters, normals, camps=None) -> None:
    """Continuous structural balance, dX = rate (1 - X^2) X W X / (N - 2) (Kulakowski et al. 2005)."""
    n = relations.shape[1]
    if params.balance_rate:
        pull = np.matmul(relations * weights[:, None, :], relations)
        damping = np.multiply(relations, relations)
        np.subtract(1.0, damping, out=damping)
        damping *= pull
        damping *= params.balance_rate / max(n - 2, 1)
        relations += damping
    _finish(relations, baseline, params, normals)


def landscape_update(relations, weights, baseline, params: RuleParameters, normals, camps=None) -> None:
    """Camp-mates drift toward +1 and opponents toward -1, weighted by the other actor's capability."""
    drift = camps[:, :, None] * camps[:, None, :]
    drift -= relations
    drift *= weights[:, None, :]
    drift *= params.camp_rate
    relations += drift
    _finish(relations, baseline, params, normals)


RULES = {"balance": balance_update, "landscape": landscape_update}
