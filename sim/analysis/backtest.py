"""Backtest: score a scenario against the observed timeline: per observation the probability that
it had happened by its date, the simulated median date against the observed one, Brier scores
(per observation and over weekly indicators), and the points of a reliability diagram."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.analysis.observed import Observation, load_observed, observation_outcomes
from sim.model.model import run_scenario
from sim.scenario.dates import step_of_date
from sim.scenario.documents import Document, read_document
from sim.scenario.loader import build_scenario, load_scenario
from sim.scenario.schema import Scenario


@dataclass
class Backtest:
    scenario: Scenario
    observed: tuple[Observation, ...]
    outcomes: dict[str, np.ndarray]
    rows: list[dict]
    weekly_brier: float
    reliability: list[dict]     # per probability bin: mean forecast, observed frequency, count
    replications: int
    seed: int

    @property
    def brier(self) -> float:
        return float(np.mean([r["brier"] for r in self.rows]))


def with_observations(scenario_path: Path, observed_path: Path) -> tuple[Scenario, tuple[Observation, ...]]:
    scenario = load_scenario(scenario_path)
    observed = load_observed(observed_path, scenario)
    doc = read_document(scenario_path)
    data = dict(doc.data)
    data["outcomes"] = dict(data.get("outcomes", {})) | observation_outcomes(observed, scenario)
    return build_scenario(Document(data, doc.origin, doc.root_file)), observed


def score(scenario: Scenario, observed, outcomes: dict[str, np.ndarray], reps: int, seed: int) -> Backtest:
    rows, forecasts, truths = [], [], []
    for o in observed:
        steps = outcomes[o.outcome_id]
        target = step_of_date(scenario.dates, o.date)
        if o.kind == "event":
            p = float(np.mean(steps <= target))  # NaN (never) counts as not yet
            happened = steps[~np.isnan(steps)]
            median = scenario.dates[int(np.median(happened))].isoformat() if len(happened) else "never"
            for t in range(1, scenario.meta.steps + 1):  # weekly indicators: has it happened by step t?
                forecasts.append(np.mean(steps <= t))
                truths.append(1.0 if t >= target else 0.0)
        else:
            p = float(np.mean(steps == target))
            median = ""
        rows.append({"observation": o.label, "kind": o.kind, "id": o.id, "observed_date": o.date.isoformat(),
                     "probability_by_date": p, "simulated_median_date": median, "brier": (1.0 - p) ** 2,
                     "ever_happens": float(np.mean(~np.isnan(steps))) if o.kind == "event" else None})
    forecasts, truths = np.array(forecasts), np.array(truths)
    bins = np.clip((forecasts * 10).astype(int), 0, 9)
    reliability = [{"bin": f"{b / 10:.1f}-{(b + 1) / 10:.1f}", "forecast": float(forecasts[bins == b].mean()),
                    "observed": float(truths[bins == b].mean()), "count": int(np.sum(bins == b))}
                   for b in range(10) if np.any(bins == b)]
    weekly = float(np.mean((forecasts - truths) ** 2)) if len(forecasts) else float("nan")
    return Backtest(scenario, observed, outcomes, rows, weekly, reliability, reps, seed)


def backtest(scenario_path: Path, observed_path: Path, reps: int | None = None, seed: int | None = None) -> Backtest:
    scenario, observed = with_observations(scenario_path, observed_path)
    reps = scenario.meta.replications if reps is None else reps
    seed = scenario.meta.seed if seed is None else seed
    outcomes = run_scenario(scenario, seed=seed, replications=reps).outcomes
    return score(scenario, observed, outcomes, reps, seed)
