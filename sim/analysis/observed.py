"""What actually happened: dated events and dated states from observed.csv, turned into outcomes
the engine records (first-hit steps), and scored against simulated runs."""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import Problem, ScenarioError, did_you_mean
from sim.scenario.dates import step_of_date
from sim.scenario.expressions import ExpressionError, Names, parse_expression
from sim.scenario.schema import Scenario
from sim.scenario.templates import normalize_id

COLUMNS = ("kind", "id", "date", "value", "description")


@dataclass(frozen=True, slots=True)
class Observation:
    row: int            # line in the file
    kind: str           # event | state
    id: str             # an event id, or a boolean expression
    date: dt.date
    value: bool         # states: whether it held on that date
    description: str

    @property
    def outcome_id(self) -> str:
        return f"observed_{self.row}"

    @property
    def label(self) -> str:
        return self.description or self.id


def load_observed(path: Path, scenario: Scenario) -> tuple[Observation, ...]:
    """Read observed.csv and check every row against the scenario; all problems at once."""
    path = Path(path)
    if not path.is_file():
        raise ScenarioError([Problem(str(path), "", "file not found")])
    problems, rows = [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: spreadsheets add a BOM
        reader = csv.DictReader(handle)
        missing = [c for c in ("kind", "id", "date") if c not in (reader.fieldnames or [])]
        if missing:
            raise ScenarioError([Problem(str(path), "header", f"missing column(s) {', '.join(missing)}; "
                                                              f"expected {', '.join(COLUMNS)}")])
        names = _names(scenario)
        for line, raw in enumerate(reader, start=2):
            where = f"line {line}"
            kind, ident = (raw.get("kind") or "").strip(), normalize_id((raw.get("id") or "").strip())
            try:
                date = dt.date.fromisoformat((raw.get("date") or "").strip())
            except ValueError:
                problems.append(Problem(str(path), where, f"date: found '{raw.get('date')}', expected YYYY-MM-DD"))
                continue
            if not scenario.dates[0] < date <= scenario.dates[-1]:
                problems.append(Problem(str(path), where, f"date {date}: expected a date after the start "
                                                          f"({scenario.dates[0]}) and no later than the last step "
                                                          f"({scenario.dates[-1]})"))
                continue
            value_text = (raw.get("value") or "true").strip().lower()
            if value_text not in ("true", "false", "1", "0", ""):
                problems.append(Problem(str(path), where, f"value: found '{value_text}', expected true or false"))
                continue
            if kind == "event":
                if value_text in ("false", "0"):
                    problems.append(Problem(str(path), where, "an event row records that the event happened: "
                                                              "its value must be true (or empty)"))
                    continue
                if ident not in names.events:
                    problems.append(Problem(str(path), where, f"unknown event '{ident}'"
                                            + did_you_mean(ident, names.events)))
                    continue
            elif kind == "state":
                try:
                    if parse_expression(ident, names).type != "bool":
                        problems.append(Problem(str(path), where, f"state '{ident}' is not a true/false expression"))
                        continue
                except ExpressionError as error:
                    problems.append(Problem(str(path), where, f"state '{ident}': {error}"))
                    continue
            else:
                problems.append(Problem(str(path), where, f"kind: found '{kind}', expected event or state"))
                continue
            rows.append(Observation(line, kind, ident, date, value_text in ("true", "1", ""),
                                    (raw.get("description") or "").strip()))
    if problems:
        raise ScenarioError(problems)
    if not rows:
        raise ScenarioError([Problem(str(path), "", "no observations")])
    return tuple(rows)


def _names(s: Scenario) -> Names:
    return Names(s.actor_ids, tuple(b.id for b in s.blocs), tuple(x.id for x in s.sites),
                 tuple(e.id for e in s.events), s.attribute_names, tuple(n for n, _ in s.parameters))


def observation_outcomes(observed: tuple[Observation, ...], scenario: Scenario) -> dict:
    """Outcome tables to add to the scenario: the first step an event fires, or the first step
    from the observed date on at which the state holds (it held on the date iff that is the date's step)."""
    out = {}
    for o in observed:
        if o.kind == "event":
            expr = f"fired({o.id})"
        else:
            step = step_of_date(scenario.dates, o.date)
            state = o.id if o.value else f"not ({o.id})"
            expr = f"({state}) and step >= {step}"
        out[o.outcome_id] = {"kind": "first", "expr": expr, "description": o.label}
    return out


def hit_probabilities(observed, scenario: Scenario, outcomes: dict[str, np.ndarray], window: int) -> np.ndarray:
    """Per observation, the smoothed share of replications that reproduce it: an event firing for the
    first time within `window` steps of its date, or a state holding on its date."""
    probs = []
    for o in observed:
        steps = outcomes[o.outcome_id]
        target = step_of_date(scenario.dates, o.date)
        hits = np.abs(steps - target) <= window if o.kind == "event" else steps == target
        probs.append((np.sum(hits) + 0.5) / (len(steps) + 1.0))
    return np.array(probs)


def loss(observed, scenario, outcomes, window: int) -> float:
    """Negative log-likelihood of the observations under the simulated runs."""
    return float(-np.log(hit_probabilities(observed, scenario, outcomes, window)).sum())
