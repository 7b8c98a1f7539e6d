"""Scores of probability forecasts of propositions that came out true or false: Brier and logarithmic
scores, skill against reference forecasts, and the points of a reliability diagram."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_CLIP = 0.001  # forecasts are clipped to [0.001, 0.999] for the log score (a 0/1 forecast that misses
# would otherwise score infinity)


def brier(p: np.ndarray, outcome: np.ndarray) -> float:
    """Mean squared distance between the forecast probabilities and what happened (0 is perfect)."""
    return float(np.mean((np.asarray(p, float) - np.asarray(outcome, float)) ** 2))


def log_score(p: np.ndarray, outcome: np.ndarray) -> float:
    """Mean negative log-probability given to what happened (natural log; 0 is perfect, 0.693 is a coin)."""
    p = np.clip(np.asarray(p, float), LOG_CLIP, 1 - LOG_CLIP)
    o = np.asarray(outcome, bool)
    return float(np.mean(-np.log(np.where(o, p, 1 - p))))


def skill(score: float, reference: float) -> float:
    """Skill score 1 - score / reference: 1 is perfect, 0 no better than the reference, < 0 worse."""
    return float("nan") if reference == 0 else 1.0 - score / reference


def climatology(outcome: np.ndarray) -> np.ndarray:
    """Every proposition gets the share of true ones in the scored set."""
    o = np.asarray(outcome, float)
    return np.full(len(o), o.mean() if len(o) else np.nan)


@dataclass(frozen=True, slots=True)
class Skill:
    n: int
    brier: dict[str, float]       # forecast -> mean Brier score
    log: dict[str, float]         # forecast -> mean log score
    brier_skill: dict[str, float]  # reference -> Brier skill score of the model against it

    def table(self) -> list[list[str]]:
        rows = []
        for name in self.brier:
            skill = self.brier_skill.get(name, 0.0)
            rows.append([name, f"{self.brier[name]:.3f}", f"{self.log[name]:.3f}",
                         "" if name == "model" else ("undefined (the reference is perfect)" if skill != skill
                                                     else f"{skill:+.3f}")])
        return rows


def compare_forecasts(outcome: np.ndarray, forecasts: dict[str, np.ndarray]) -> Skill:
    """Brier and log scores of each forecast ('model' first), and the model's Brier skill against the others."""
    scores = {name: brier(p, outcome) for name, p in forecasts.items()}
    logs = {name: log_score(p, outcome) for name, p in forecasts.items()}
    return Skill(len(outcome), scores, logs,
                 {name: skill(scores["model"], scores[name]) for name in forecasts if name != "model"})


def reliability(p: np.ndarray, outcome: np.ndarray, bins: int = 10) -> list[dict]:
    """Per forecast bin: mean forecast, observed frequency and count (bins with nothing are left out)."""
    p, o = np.asarray(p, float), np.asarray(outcome, float)
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    return [{"bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}", "forecast": float(p[which == b].mean()),
             "observed": float(o[which == b].mean()), "count": int(np.sum(which == b))}
            for b in range(bins) if np.any(which == b)]
