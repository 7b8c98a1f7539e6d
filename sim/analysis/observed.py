"""What actually happened: dated events and dated states read from observed CSV files, split at a
cut-off, turned into outcomes the engine records, and checked for what the scenario's scheduled
shocks settle by themselves (those are given, not forecast)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from sim.errors import Problem, ScenarioError, SimError, did_you_mean, excerpt
from sim.model.compile import walk
from sim.scenario import expressions as x
from sim.scenario import schema as s
from sim.scenario.dates import step_of_date
from sim.scenario.distributions import Distribution
from sim.scenario.expressions import ExpressionError, Names, parse_expression
from sim.scenario.templates import normalize_id

COLUMNS = ("kind", "id", "date", "value", "description")


@dataclass(frozen=True, slots=True)
class Observation:
    index: int          # position over all files read, in order
    file: str
    row: int            # line in its file
    kind: str           # event | state
    id: str             # an event id, or a boolean expression
    date: dt.date
    value: bool         # whether the proposition held on that date (events: it had happened)
    description: str

    @property
    def outcome_id(self) -> str:
        return f"observed_{self.index}"

    @property
    def label(self) -> str:
        return self.description or self.id

    @property
    def short(self) -> str:
        """The description without its source, at most 60 characters (for plots and terminals)."""
        text = (self.description.split(" Source:")[0] if self.description else self.id).strip()
        return text if len(text) <= 60 else text[:57].rstrip() + "..."


def load_observed(paths: Path | Sequence[Path], scenario: s.Scenario) -> tuple[Observation, ...]:
    """Read observed CSV files and check every row against the scenario; all problems at once."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    problems, rows = [], []
    for path in paths:
        rows += _read(path, scenario, problems, len(rows))
    if problems:
        raise ScenarioError(problems)
    if not rows:
        raise ScenarioError([Problem(", ".join(map(str, paths)), "", "no observations")])
    return tuple(rows)


def _read(path: Path, scenario: s.Scenario, problems: list, first: int) -> list[Observation]:
    if not path.is_file():
        problems.append(Problem(str(path), "", "file not found"))
        return []
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets add a BOM
    except UnicodeDecodeError as error:
        problems.append(Problem(str(path), "", f"not UTF-8 text ({error.reason} at byte {error.start}); save it "
                                               "as UTF-8 CSV"))
        return []
    except OSError as error:
        problems.append(Problem(str(path), "", f"cannot be read ({error.strerror})"))
        return []
    try:
        return _rows(path, text, scenario, problems, first)
    except csv.Error as error:
        problems.append(Problem(str(path), "", f"not a readable CSV file ({error})"))
        return []


def _rows(path: Path, text: str, scenario: s.Scenario, problems: list, first: int) -> list[Observation]:
    rows = []
    names = scenario_names(scenario)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("kind", "id", "date") if c not in (reader.fieldnames or [])]
    if missing:
        problems.append(Problem(str(path), "header", f"missing column(s) {', '.join(missing)}; "
                                                     f"expected {', '.join(COLUMNS)}"))
        return []
    for raw in reader:
        line = reader.line_num  # the line the row ends on (a quoted description may span lines)
        where = f"line {line}"
        kind, ident = (raw.get("kind") or "").strip(), normalize_id((raw.get("id") or "").strip())
        try:
            date = dt.date.fromisoformat((raw.get("date") or "").strip())
        except ValueError:
            problems.append(Problem(str(path), where, f"date: found '{raw.get('date')}', expected YYYY-MM-DD"))
            continue
        if not scenario.dates[0] <= date <= scenario.dates[-1]:
            problems.append(Problem(str(path), where, f"date {date}: expected a date from the start "
                                                      f"({scenario.dates[0]}) to the last step "
                                                      f"({scenario.dates[-1]})"))
            continue
        value_text = (raw.get("value") or "true").strip().lower()
        if value_text not in ("true", "false", "1", "0", ""):
            problems.append(Problem(str(path), where, f"value: found '{value_text}', expected true or false"))
            continue
        if kind == "event":
            if value_text in ("false", "0"):
                problems.append(Problem(str(path), where, "an event row records that the event happened: its "
                                                          "value must be true (write what did not happen as a "
                                                          "state row, e.g. fired(x) with value false)"))
                continue
            if ident not in names.events:
                problems.append(Problem(str(path), where, f"unknown event '{ident}'"
                                        + did_you_mean(ident, names.events)))
                continue
        elif kind == "state":
            try:
                if parse_expression(ident, names).type != "bool":
                    problems.append(Problem(str(path), where, f"state '{excerpt(ident)}' is not a true/false expression"))
                    continue
            except ExpressionError as error:
                problems.append(Problem(str(path), where, f"state '{excerpt(ident, error.column)}': {error}"))
                continue
        else:
            problems.append(Problem(str(path), where, f"kind: found '{kind}', expected event or state"))
            continue
        rows.append(Observation(first + len(rows), str(path), line, kind, ident, date,
                                value_text in ("true", "1", ""), (raw.get("description") or "").strip()))
    return rows


def scenario_names(scenario: s.Scenario) -> Names:
    return Names(scenario.actor_ids, tuple(b.id for b in scenario.blocs), tuple(x.id for x in scenario.sites),
                 tuple(e.id for e in scenario.events), scenario.attribute_names,
                 tuple(n for n, _ in scenario.parameters))


# --- the cut-off -----------------------------------------------------------------------------------
def check_cutoff(cutoff: dt.date | None, scenario: s.Scenario) -> None:
    if cutoff is not None and not scenario.dates[0] <= cutoff < scenario.dates[-1]:
        raise SimError(f"--cutoff {cutoff} is outside {scenario.meta.name}'s dates: expected a date from "
                       f"{scenario.dates[0]} to before {scenario.dates[-1]}")


def split_at(observed, cutoff: dt.date | None) -> tuple[tuple[Observation, ...], tuple[Observation, ...]]:
    """(observations on or before the cut-off, observations after it); without a cut-off, ((), all)."""
    if cutoff is None:
        return (), tuple(observed)
    return tuple(o for o in observed if o.date <= cutoff), tuple(o for o in observed if o.date > cutoff)


# --- what the scheduled shocks settle -----------------------------------------------------------------
def settled_by_shocks(o: Observation, scenario: s.Scenario) -> str | None:
    """Why an observation is given rather than forecast, or None: an event the scenario schedules (or
    one only scheduled events trigger), or a state whose every input only scheduled effects can change."""
    events = {e.id: e for e in scenario.events}
    if o.kind == "event":
        writers = _event_settled(o.id, events, scenario)
        return f"the scheduled shock {', '.join(sorted(writers))}" if writers is not None else None
    expr = parse_expression(o.id, scenario_names(scenario))
    shocks: set[str] = set()
    for node in (n for n in walk(expr) if isinstance(n, x.Call)):
        writers = _writers(node, scenario, events)
        if writers is None:
            return None
        shocks |= writers
    if shocks:
        return f"only scheduled shocks change it ({', '.join(sorted(shocks))})"
    return "fixed: nothing in the scenario changes it"


def _certain(event: s.Event) -> bool:
    """It fires whenever it is due: enabled, no condition, probability exactly 1."""
    return event.enabled and event.condition is None and isinstance(event.probability, float) \
        and event.probability >= 1.0


def _event_settled(eid: str, events: dict, scenario: s.Scenario, seen: frozenset = frozenset()) -> set[str] | None:
    """The scheduled events behind event `eid` if they alone decide when it fires, else None: a certain
    scheduled event, or a certain follow-up that only such events schedule, after fixed delays."""
    event = events[eid]
    if not _certain(event) or eid in seen:
        return None
    if event.given:
        return {eid}
    if event.kind != "follow_up":
        return None
    found: set[str] = set()
    for parent in scenario.events:
        for f in parent.effects:
            if isinstance(f, s.FollowUpEffect) and f.event == eid:
                more = _event_settled(parent.id, events, scenario, seen | {eid})
                if more is None or not isinstance(f.delay, float):
                    return None
                found |= more
    return found or None


def _writers(call: x.Call, scenario: s.Scenario, events: dict) -> set[str] | None:
    """The scheduled events that change what `call` reads, or None when anything else can change it."""
    args = [a.name for a in call.args if isinstance(a, x.Ref)]
    if call.func in ("relation", "alignment", "same_camp"):
        return None  # the alignment rule, inertia and noise move relations
    if call.func in ("fired", "times_fired", "since"):
        return _event_settled(args[0], events, scenario)
    if call.func == "attr":
        changes = [e for e in scenario.events for f in e.effects
                   if isinstance(f, s.AttributeEffect) and (f.actor, f.attribute) == (args[0], args[1])
                   and not isinstance(f.delta if f.delta is not None else f.set, Distribution)]
        if len(changes) < sum(isinstance(f, s.AttributeEffect) and (f.actor, f.attribute) == (args[0], args[1])
                              for e in scenario.events for f in e.effects):
            return None  # a drawn size: the shock does not settle it
    elif call.func in ("presence", "planned_presence"):
        from sim.model.state import Index

        index = Index.of(scenario)
        slots = set(index.presence_slots(args[0], args[1] if len(args) > 1 else None))
        writes = [(e, f) for e in scenario.events for f in e.effects if isinstance(f, s.PresenceEffect)
                  and slots & set([index.slots[(f.actor, f.site)]] if f.site else
                                  index.presence_slots(f.actor, f.host))]
        if any(isinstance(a, Distribution) for _, f in writes for a in (f.delta, f.set, f.over)):
            return None  # a drawn size or duration: the shock does not settle it
        changes = [e for e, _ in writes]
    else:
        return set()
    found: set[str] = set()
    for e in changes:
        settled = _event_settled(e.id, events, scenario)
        if settled is None:
            return None
        found |= settled
    return found


# --- outcomes for the engine and the forecasts they give ------------------------------------------
def observation_outcomes(observed, scenario: s.Scenario) -> dict:
    """Outcome tables to add to the scenario: the first step an event fires, or the first step from the
    observed date on at which the state (as written, true or not) holds: it held on the date iff that
    is the date's step."""
    out = {}
    for o in observed:
        if o.kind == "event":
            expr = f"fired({o.id})"
        else:
            expr = f"({o.id}) and step >= {step_of_date(scenario.dates, o.date)}"
        out[o.outcome_id] = {"kind": "first", "expr": expr, "description": o.label}
    return out


def holds_on_date(o: Observation, scenario: s.Scenario, steps: np.ndarray) -> np.ndarray:
    """Per replication: does the proposition (an event having happened, or the state as written) hold
    on the observation's date? Steps of a week: on the date's step, the first on or after it."""
    target = step_of_date(scenario.dates, o.date)
    return steps <= target if o.kind == "event" else steps == target  # NaN (never) compares false


def hit_probabilities(observed, scenario: s.Scenario, outcomes: dict[str, np.ndarray], window: int) -> np.ndarray:
    """Per observation, the smoothed share of replications that reproduce it: an event firing for the
    first time within `window` steps of its date, or a state having its observed value on its date."""
    probs = []
    for o in observed:
        steps = outcomes[o.outcome_id]
        if o.kind == "event":
            hits = np.abs(steps - step_of_date(scenario.dates, o.date)) <= window
        else:
            hits = holds_on_date(o, scenario, steps) == o.value
        probs.append((np.sum(hits) + 0.5) / (len(steps) + 1.0))
    return np.array(probs)


def loss(observed, scenario, outcomes, window: int) -> float:
    """Negative log-likelihood of the observations under the simulated runs."""
    return float(-np.log(hit_probabilities(observed, scenario, outcomes, window)).sum())
