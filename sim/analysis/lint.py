"""`sim lint`: the ways a scenario scripts what it should explain, found by running it.

A quick ensemble at the scenario's values, plus the same replications with each numeric parameter in
turn at half and one and a half times its value (common random numbers: one model, rows per setting),
gives the evidence; each smell in SMELLS reads it and says what it found, why that matters and how to
fix it. A scenario keeps a warning on purpose with [[lint.accept]] (smell, subject, reason).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from sim.model.events import ConditionWatch
from sim.model.model import RunResult, ScenarioModel
from sim.scenario import expressions as x
from sim.scenario import schema as s
from sim.scenario.distributions import Distribution, Named
from sim.scenario.parameters import RULE_OPTIONS, RULE_PARAMETERS

NOT_SWEPT = ("marvel_cap",)  # a safety cap, not a modelling value


@dataclass(frozen=True)
class Finding:
    smell: str
    subject: str  # events.<id>, templates.<id>, outcomes.<id>, actors.<id>, parameters.<name>, attributes.<name>
    message: str
    accepted: str | None = None  # the scenario's reason, when [[lint.accept]] keeps it

    @property
    def why(self) -> str:
        return SMELLS[self.smell].why

    @property
    def fix(self) -> str:
        return SMELLS[self.smell].fix


@dataclass(frozen=True)
class Evidence:
    """What the checks read: the scenario, the runs (rows: `base` at its values, then one block per swept
    value), the final relations, and which conditions were ever true or false."""
    scenario: s.Scenario
    result: RunResult
    base: int
    swept: tuple[tuple[str, float], ...]  # (parameter, value) per block after the base
    initial: np.ndarray  # (R, N, N) relations at step 0
    final: np.ndarray    # (R, N, N) at the end
    watch: ConditionWatch

    @property
    def runs(self) -> int:
        return len(self.result.replications)

    def described(self) -> str:
        names = sorted({name for name, _ in self.swept})
        return (f"{self.runs:,} runs ({self.base:,} at the scenario's values and {self.runs - self.base:,} with one of "
                f"{len(names)} parameters at half or 1.5 times its value)")


@dataclass(frozen=True)
class LintReport:
    scenario: str
    evidence: str
    seconds: float
    findings: tuple[Finding, ...]
    unused: tuple[s.LintAccept, ...]  # accepted warnings that no longer happen

    @property
    def open(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.accepted is None)


@dataclass(frozen=True)
class Smell:
    check: Callable[[Evidence], Iterator[tuple[str, str]]]  # -> (subject, what was found)
    why: str
    fix: str


def lint(scenario: s.Scenario, reps: int = 200, seed: int | None = None) -> LintReport:
    clock = time.perf_counter()
    evidence = gather(scenario, reps, scenario.meta.seed if seed is None else seed)
    accepted = {(a.smell, a.subject): a for a in scenario.lint_accepts}
    findings = []
    for code, smell in SMELLS.items():
        for subject, message in smell.check(evidence):
            keep = accepted.pop((code, subject), None)
            findings.append(Finding(code, subject, message, keep.reason if keep else None))
    return LintReport(scenario.meta.name, evidence.described(), time.perf_counter() - clock, tuple(findings),
                      tuple(accepted.values()))


def _neighbours(name: str, value: float) -> tuple[float, ...]:
    """Half and one and a half times the value, inside the model's range for its own parameters (and within
    [-1, 1] for a scenario's parameter in that range: a threshold or a probability); around 0, +-0.05."""
    low, high = (value * 0.5, value * 1.5) if value != 0 else (-0.05, 0.05)
    if name in RULE_PARAMETERS:
        _, lo, hi = RULE_PARAMETERS[name]
        low, high = min(max(low, lo), hi), min(max(high, lo), hi)
    elif abs(value) <= 1:
        low, high = max(low, -1.0), min(high, 1.0)
    return tuple(v for v in dict.fromkeys((low, high)) if v != value)


def gather(scenario: s.Scenario, reps: int, seed: int) -> Evidence:
    swept = tuple((name, v) for name, value in scenario.parameters if name not in NOT_SWEPT
                  for v in _neighbours(name, value))
    block = max(reps // 2, 1)
    ids = np.concatenate([np.arange(reps)] + [np.arange(block)] * len(swept))
    values = dict(scenario.parameters)
    varying = {name: np.full(len(ids), value, dtype=np.float64) for name, value in values.items()
               if any(name == n for n, _ in swept)}
    for k, (name, value) in enumerate(swept):
        varying[name][reps + k * block: reps + (k + 1) * block] = value
    with np.errstate(all="ignore"):
        model = ScenarioModel(scenario, seed, ids, False, varying, bands=False)
    model.events.watch = watch = ConditionWatch(len(scenario.events))
    initial = model.state.relations.copy()
    result = model.run()
    return Evidence(scenario, result, reps, swept, initial, model.state.relations, watch)


# --- the smells -----------------------------------------------------------------------------------

def _never_fires(ev: Evidence) -> Iterator[tuple[str, str]]:
    fired = ev.result.fired_count.sum(axis=0) > 0
    condition = [e.condition is not None for e in ev.scenario.events]
    by_template: dict[str, list[int]] = {}
    for e, event in enumerate(ev.scenario.events):
        if not event.enabled:
            continue
        if event.template is not None:
            by_template.setdefault(event.template, []).append(e)
            continue
        if not fired[e]:
            never_true = condition[e] and not ev.watch.true[e]
            yield f"events.{event.id}", "never fired in any run" + ("; its condition was never true" if never_true
                                                                    else "")
    for template, members in by_template.items():
        if not fired[members].any():
            yield f"templates.{template}", f"none of its {len(members)} instance(s) fired in any run"


def _constant_condition(ev: Evidence) -> Iterator[tuple[str, str]]:
    by_template: dict[str, list[int]] = {}
    for e, event in enumerate(ev.scenario.events):
        if not event.enabled or event.condition is None or not ev.watch.true[e]:
            continue  # (never true: the event never fires, which never-fires says)
        if event.template is not None:
            by_template.setdefault(event.template, []).append(e)
        elif not ev.watch.false[e]:
            yield f"events.{event.id}", (f"its condition `{event.condition.text}` held at every step it was checked, "
                                         "in every run")
    for template, members in by_template.items():
        if not ev.watch.false[members].any():
            yield f"templates.{template}", ("the condition held at every step it was checked, in every run, for "
                                            f"every instance that ever saw it true ({len(members)})")


def _unmoved_outcome(ev: Evidence) -> Iterator[tuple[str, str]]:
    for outcome in ev.scenario.outcomes:
        values = np.asarray(ev.result.outcomes[outcome.id], dtype=np.float64)
        nan = np.isnan(values)
        if nan.all() or (not nan.any() and np.ptp(values) == 0):
            shown = "never" if nan.all() and outcome.kind == "first" else (
                "no number" if nan.all() else f"{values[0]:g}")
            yield f"outcomes.{outcome.id}", f"is {shown} in every run"


def _presence_events(scenario: s.Scenario) -> set[str]:
    return {e.id for e in scenario.events if any(isinstance(f, s.PresenceEffect) for f in e.effects)}


def _scheduled_decision(ev: Evidence) -> Iterator[tuple[str, str]]:
    moving = _presence_events(ev.scenario)
    for event in ev.scenario.events:
        if not event.enabled or event.kind != "scheduled":
            continue
        when = event.date.isoformat() if event.date else f"step {event.step}"
        for f in event.effects:
            if isinstance(f, s.PresenceEffect):
                yield f"events.{event.id}", f"is scheduled on {when} and moves {f.actor}'s personnel at {f.place}"
                break
            if isinstance(f, s.FollowUpEffect) and f.event in moving:
                yield f"events.{event.id}", (f"is scheduled on {when} and sets off {f.event}, which moves personnel")
                break


AMOUNTS = ("delta", "set", "delay", "over")


def _point_mass(ev: Evidence) -> Iterator[tuple[str, str]]:
    """An instance of a mechanism that replaces the mechanism's shared distribution (or parameter) of a delay
    or magnitude with a number of its own."""
    templates = ev.scenario.resolved.get("templates") or {}
    for tid, template in templates.items():
        shared = template.get("effects") if isinstance(template, dict) else None
        instances = template.get("instances") if isinstance(template, dict) else None
        if not isinstance(shared, list) or not isinstance(instances, dict):
            continue
        for key, override in instances.items():
            effects = override.get("effects") if isinstance(override, dict) else None
            if not isinstance(effects, list):
                continue
            for k, (mine, theirs) in enumerate(zip(effects, shared)):
                if not isinstance(mine, dict) or not isinstance(theirs, dict):
                    continue
                for amount in AMOUNTS:
                    given, common = mine.get(amount), theirs.get(amount)
                    if isinstance(given, (int, float)) and not isinstance(given, bool) and isinstance(common,
                                                                                                       (dict, str)):
                        what = "distribution" if isinstance(common, dict) else f"parameter '{common}'"
                        yield f"events.{tid}[{key}]", (f"effects[{k}].{amount} is fixed at {given:g} where the "
                                                        f"mechanism {tid} draws it from its shared {what}")


def _inert_actor(ev: Evidence) -> Iterator[tuple[str, str]]:
    base = slice(0, ev.base)  # at the scenario's values: swept noise or balance would move anything
    moved = np.abs(ev.final[base] - ev.initial[base]).max(axis=0)  # (N, N)
    for i, actor in enumerate(ev.scenario.actors):
        if len(ev.scenario.actors) > 1 and max(np.delete(moved[i], i).max(), np.delete(moved[:, i], i).max()) == 0:
            yield f"actors.{actor.id}", "none of its relations changed in any run at the scenario's values"


def _names_read(scenario: s.Scenario) -> tuple[set[str], set[str]]:
    """The parameters and attributes something reads: expressions, amounts, distributions, tracking."""
    params, attributes = set(), set()

    def amount(value) -> None:
        if isinstance(value, Named):
            params.add(value.name)
        elif isinstance(value, Distribution):
            for _, p in value.params:
                amount(p)

    def walk(node) -> None:
        if isinstance(node, x.Expression):
            walk(node.root)
        elif isinstance(node, x.Param):
            params.add(node.name)
        elif isinstance(node, x.Call):
            if node.func == "attr":
                attributes.add(node.args[1].name)
            for arg in node.args:
                walk(arg)
        elif isinstance(node, x.Unary):
            walk(node.operand)
        elif isinstance(node, x.Binary):
            walk(node.left)
            walk(node.right)

    for event in scenario.events:
        for part in (event.condition, event.probability):
            walk(part) if isinstance(part, x.Expression) else amount(part)
        for f in event.effects:
            for name in AMOUNTS:
                amount(getattr(f, name, None))
            if isinstance(f, s.AttributeEffect):
                pass  # writing an attribute is not reading it
    for outcome in scenario.outcomes:
        walk(outcome.expr)
    attributes |= {attribute for _, attribute in scenario.tracking.attributes}
    return params, attributes


def _unread_parameter(ev: Evidence) -> Iterator[tuple[str, str]]:
    read, _ = _names_read(ev.scenario)
    for name, value in ev.scenario.parameters:
        if name not in RULE_PARAMETERS and name not in RULE_OPTIONS and name not in read:
            yield f"parameters.{name}", f"= {value:g} is read by no event, amount or outcome"


def _unread_attribute(ev: Evidence) -> Iterator[tuple[str, str]]:
    _, read = _names_read(ev.scenario)
    for name in ev.scenario.attribute_names:
        if name != "capability" and name not in read:
            written = any(isinstance(f, s.AttributeEffect) and f.attribute == name
                          for e in ev.scenario.events for f in e.effects)
            yield f"attributes.{name}", ("is " + ("written by events but " if written else "")
                                         + "read by no condition, probability, outcome or tracked series")


SMELLS: dict[str, Smell] = {
    "never-fires": Smell(
        _never_fires,
        "an event that never fires does nothing, yet a reader of the scenario assumes it matters; outcomes and "
        "conditions that read it are dead weight",
        "check its condition and probability against the values the state takes (`sim run` then the fans, or "
        "`--keep-trajectories`); if it is a what-if kept for later, set enabled = false"),
    "constant-condition": Smell(
        _constant_condition,
        "a condition that holds at every step of every run decides nothing: the event fires on its probability "
        "alone, so the condition suggests a mechanism the model does not have",
        "make the threshold one the state can fail (or drop the condition and say the event is purely stochastic)"),
    "unmoved-outcome": Smell(
        _unmoved_outcome,
        "an outcome that no run and no swept parameter moves cannot tell scenarios apart: comparisons, "
        "sensitivity and calibration against it say nothing",
        "check that its expression reads something that changes (`sim show --expanded`), or drop it"),
    "scheduled-decision": Smell(
        _scheduled_decision,
        "who deploys or leaves, and when, is what the model is meant to explain; scheduled on a date it is a "
        "script, and a forecast of it is earned by the schedule, not by the model",
        "give the decision a mechanism whose condition reads the state ([mechanisms.withdrawal], departure, "
        "expulsion, patron_deployment); keep scheduled events for shocks the model does not explain"),
    "point-mass": Smell(
        _point_mass,
        "a mechanism's distribution is shared by every actor it covers and fitted as one; a number for one "
        "instance copies one observed gap into the model, so the forecast of that gap is not earned",
        "remove the instance's number so it draws from the mechanism, or move the difference into a parameter "
        "the mechanism reads (and calibrate it)"),
    "inert-actor": Smell(
        _inert_actor,
        "an actor whose relations never move is scenery: nothing acts on it or through it, yet it weighs in "
        "every balance computation",
        "give it events or a mechanism that moves its relations, give the scenario some noise, or remove it"),
    "unread-parameter": Smell(
        _unread_parameter,
        "a parameter nothing reads looks like a lever but moves nothing; sweeps and calibration over it waste runs "
        "and its value documents nothing",
        "use it where it was meant to be read (an amount, a probability, a condition) or delete it"),
    "unread-attribute": Smell(
        _unread_attribute,
        "an attribute nothing reads changes no decision and no outcome: a number that looks like part of the model "
        "but is not",
        "read it in a condition or probability (attr(actor, name)), track it ([tracking] attributes), or delete it"),
}
