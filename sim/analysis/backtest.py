"""Backtest: score a scenario's forecasts of what happened after a cut-off.

Each observation after the cut-off is a proposition that came out true or false on its date (an event
had happened by then; a state held, or did not). The model's forecast is the share of replications in
which it holds; the references are climatology (every proposition gets the share of true ones in the
scored set) and persistence (what held at the cut-off still holds). Observations that a scheduled
shock settles by itself are given, not forecast: they are listed apart and left out of every score.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sim.analysis import scores
from sim.analysis.observed import (
    Observation,
    check_cutoff,
    holds_on_date,
    load_observed,
    observation_outcomes,
    scenario_names,
    settled_by_shocks,
    split_at,
)
from sim.errors import SimError
from sim.experiment.stats import happened
from sim.model.model import run_scenario
from sim.scenario.dates import step_of_date
from sim.scenario.documents import Document, read_document
from sim.scenario.loader import build_scenario, load_scenario
from sim.scenario.schema import Scenario


@dataclass
class Backtest:
    scenario: Scenario
    observed: tuple[Observation, ...]      # the scored observations
    given: list[tuple[Observation, str]]   # left out: settled by a scheduled shock (and why)
    before: tuple[Observation, ...]        # on or before the cut-off (used for persistence only)
    cutoff: dt.date | None
    outcomes: dict[str, np.ndarray]
    rows: list[dict]
    skill: scores.Skill | None
    weekly_brier: float
    reliability: list[dict]                # per forecast bin over the scored propositions
    replications: int
    seed: int

    @property
    def brier(self) -> float:
        return self.skill.brier["model"] if self.skill else float("nan")


def with_observations(scenario_path: Path, observed_paths) -> tuple[Scenario, tuple[Observation, ...]]:
    scenario = load_scenario(scenario_path)
    observed = load_observed(observed_paths, scenario)
    doc = read_document(scenario_path)
    data = dict(doc.data)
    data["outcomes"] = dict(data.get("outcomes", {})) | observation_outcomes(observed, scenario)
    return build_scenario(Document(data, doc.origin, doc.root_file)), observed


def persistence(o: Observation, before: Sequence[Observation], scenario: Scenario) -> float:
    """What held at the cut-off still holds: the latest observation of the same proposition on or
    before the cut-off; else, for an event, that it had not happened; for a state, its value at the start."""
    earlier = [b for b in before if (b.kind, b.id) == (o.kind, o.id)]
    if earlier:
        return float(max(earlier, key=lambda b: b.date).value)
    if o.kind == "event":
        return 0.0
    from sim.model.compile import compile_expression
    from sim.model.state import Index, initial_state
    from sim.scenario.expressions import parse_expression

    value = compile_expression(parse_expression(o.id, scenario_names(scenario)), Index.of(scenario))(
        initial_state(scenario, 1))
    return float(np.asarray(value).reshape(-1)[0])


def score(scenario: Scenario, observed, outcomes: dict[str, np.ndarray], reps: int, seed: int,
          cutoff: dt.date | None = None) -> Backtest:
    before, after = split_at(observed, cutoff)
    given = [(o, why) for o in after if (why := settled_by_shocks(o, scenario))]
    scored = tuple(o for o in after if o not in {g for g, _ in given})
    rows, model, truth, pers, forecasts, weekly_truth = [], [], [], [], [], []
    for o in scored:
        steps = outcomes[o.outcome_id]
        p = float(np.mean(holds_on_date(o, scenario, steps)))
        hits = steps[happened(steps)]
        median = scenario.dates[int(np.median(hits))].isoformat() if o.kind == "event" and len(hits) else (
            "never" if o.kind == "event" else "")
        if o.kind == "event":  # weekly indicators from the cut-off on: has it happened by step t?
            target = step_of_date(scenario.dates, o.date)
            first = step_of_date(scenario.dates, cutoff) + 1 if cutoff else 1
            for t in range(first, scenario.meta.steps + 1):
                forecasts.append(np.mean(steps <= t))
                weekly_truth.append(1.0 if t >= target else 0.0)
        model.append(p)
        truth.append(float(o.value))
        pers.append(persistence(o, before, scenario))
        rows.append({"observation": o.label, "short": o.short, "kind": o.kind, "id": o.id, "observed_date": o.date.isoformat(),
                     "value": o.value, "probability": p, "simulated_median_date": median,
                     "ever_happens": float(np.mean(happened(steps))) if o.kind == "event" else None})
    truth_a = np.array(truth)
    clim = scores.climatology(truth_a)
    for row, c, q in zip(rows, clim, pers):
        row |= {"climatology": float(c), "persistence": q,
                "brier": (row["probability"] - row["value"]) ** 2, "brier_climatology": (c - row["value"]) ** 2,
                "brier_persistence": (q - row["value"]) ** 2}
    skill = scores.compare_forecasts(truth_a, {"model": np.array(model), "climatology": clim,
                                               "persistence": np.array(pers)}) if rows else None
    weekly = scores.brier(forecasts, weekly_truth) if forecasts else float("nan")
    return Backtest(scenario, scored, given, before, cutoff, outcomes, rows, skill, weekly,
                    scores.reliability(np.array(model), truth_a) if rows else [], reps, seed)


def backtest(scenario_path: Path, observed_paths, reps: int | None = None, seed: int | None = None,
             cutoff: dt.date | None = None) -> Backtest:
    scenario, observed = with_observations(scenario_path, observed_paths)
    fitted = scenario.meta.fitted_until
    if cutoff is None:
        cutoff = fitted
    check_cutoff(cutoff, scenario)
    if fitted is not None and cutoff < fitted:
        raise SimError(f"{scenario.meta.name} was fitted on observations up to {fitted} (meta.fitted_until): "
                       f"scoring from --cutoff {cutoff} would score data it was fitted to")
    if not split_at(observed, cutoff)[1]:
        raise SimError(f"no observation after the cut-off {cutoff}: nothing to score")
    reps = scenario.meta.replications if reps is None else reps
    seed = scenario.meta.seed if seed is None else seed
    outcomes = run_scenario(scenario, seed=seed, replications=reps).outcomes
    return score(scenario, observed, outcomes, reps, seed, cutoff)
