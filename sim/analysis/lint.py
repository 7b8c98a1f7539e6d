"""`sim lint`: the ways a scenario scripts what it should explain, found by running it.

A quick ensemble at the scenario's values, plus the same replications with each numeric parameter in
turn at half and one and a half times its value (common random numbers: one model, rows per setting),
gives the evidence; each smell in SMELLS reads it and says what it found, why that matters and how to
fix it. A scenario keeps a warning on purpose with [[lint.accept]] (smell, subject, reason).
"""

from __future__ import annotations

import functools
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
UNUSED_BY_RULE = {"balance": ("camp_rate",), "landscape": ("balance_rate",)}  # the model's own, read by one rule


def swept_names(scenario: s.Scenario) -> list[str]:
    """The numeric parameters the lint sweeps: all but the safety cap and the other rule's rate."""
    skip = NOT_SWEPT + UNUSED_BY_RULE.get(scenario.meta.rule, ())
    return [name for name, _ in scenario.parameters if name not in skip]


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

    @functools.cached_property
    def read(self) -> tuple[set[str], set[str]]:
        """The parameters and attributes something reads."""
        return _names_read(self.scenario)

    def described(self) -> str:
        names = sorted({name for name, _ in self.swept})
        return (f"{self.runs:,} runs ({self.base:,} at the scenario's values and {self.runs - self.base:,} with one of "
                f"{len(names)} parameters at half or 1.5 times its value)")


@dataclass(frozen=True)
class LintReport:
    scenario: str
    runs: str  # what was run, in words
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
    """One model whose rows are `reps` replications at the scenario's values, then, for each swept value,
    half as many with that one parameter changed (the per-replication parameters of uncertainty runs).
    Row k of every block is replication k: common random numbers, so a difference between blocks is the
    parameter's doing, not noise; half-size blocks keep a sweep of 30 parameters within seconds."""
    values = dict(scenario.parameters)
    swept = tuple((name, v) for name in swept_names(scenario) for v in _neighbours(name, values[name]))
    block = max(reps // 2, 1)
    ids = np.concatenate([np.arange(reps)] + [np.arange(block)] * len(swept))
    varying = {name: np.full(len(ids), values[name], dtype=np.float64) for name in {n for n, _ in swept}}
    for k, (name, value) in enumerate(swept):
        varying[name][reps + k * block: reps + (k + 1) * block] = value
    with np.errstate(all="ignore"):
        model = ScenarioModel(scenario, seed, ids, False, varying, bands=False)
    model.events.watch = watch = ConditionWatch(len(scenario.events))
    initial = model.state.relations.copy()
    result = model.run()
    return Evidence(scenario, result, reps, swept, initial, model.state.relations, watch)


# --- the smells -----------------------------------------------------------------------------------

def _by_template(scenario: s.Scenario, keep) -> tuple[list[int], dict[str, list[int]]]:
    """The enabled events `keep` selects: those of no template, and those of each template (judged as one:
    a mechanism's instance that never fires, say for a pair it does not fit, is no smell by itself)."""
    alone, grouped = [], {}
    for e, event in enumerate(scenario.events):
        if event.enabled and keep(e, event):
            (grouped.setdefault(event.template, []) if event.template is not None else alone).append(e)
    return alone, grouped


def _never_fires(ev: Evidence) -> Iterator[tuple[str, str]]:
    fired = ev.result.fired_count.sum(axis=0) > 0
    alone, grouped = _by_template(ev.scenario, lambda e, event: True)
    for e in alone:
        if not fired[e]:
            event = ev.scenario.events[e]
            never_true = event.condition is not None and not ev.watch.true[e]
            yield f"events.{event.id}", "never fired in any run" + ("; its condition was never true" if never_true
                                                                    else "")
    for template, members in grouped.items():
        if not fired[members].any():
            yield f"templates.{template}", f"none of its {len(members)} instance(s) fired in any run"


def _constant_condition(ev: Evidence) -> Iterator[tuple[str, str]]:
    # (a condition never true leaves the event unfired, which never-fires says)
    alone, grouped = _by_template(ev.scenario, lambda e, event: event.condition is not None and ev.watch.true[e])
    for e in alone:
        if not ev.watch.false[e]:
            event = ev.scenario.events[e]
            yield f"events.{event.id}", (f"its condition `{event.condition.text}` held at every step it was checked, "
                                         "in every run")
    for template, members in grouped.items():
        if not ev.watch.false[members].any():
            yield f"templates.{template}", ("the condition held at every step it was checked, in every run, for "
                                            f"every instance that ever saw it true ({len(members)})")


def _unmoved_outcome(ev: Evidence) -> Iterator[tuple[str, str]]:
    for outcome in ev.scenario.outcomes:
        values = np.asarray(ev.result.outcomes[outcome.id], dtype=np.float64)
        nan = np.isnan(values)
        if outcome.kind == "first":  # NaN is "never": a value like any step
            if nan.all():
                yield f"outcomes.{outcome.id}", "never holds in any run"
            elif not nan.any() and np.ptp(values) == 0:
                yield f"outcomes.{outcome.id}", f"first holds at step {values[0]:g} in every run"
        elif nan.all():
            yield f"outcomes.{outcome.id}", "gives no number in any run"
        elif np.ptp(values[~nan]) == 0:
            yield f"outcomes.{outcome.id}", f"is {values[~nan][0]:g} in every run" + (
                f" that gives a number ({int(nan.sum()):,} runs give none)" if nan.any() else "")


def _moving_events(scenario: s.Scenario) -> set[str]:
    """Events that move personnel, or set off (through any chain of follow-ups) one that does."""
    moving = {e.id for e in scenario.events if any(isinstance(f, s.PresenceEffect) for f in e.effects)}
    follows = {e.id: {f.event for f in e.effects if isinstance(f, s.FollowUpEffect)} for e in scenario.events}
    grew = True
    while grew:
        more = {e for e, targets in follows.items() if targets & moving} - moving
        moving |= more
        grew = bool(more)
    return moving


def _scheduled_decision(ev: Evidence) -> Iterator[tuple[str, str]]:
    moving = _moving_events(ev.scenario)
    for event in ev.scenario.events:
        if not event.enabled or event.kind != "scheduled" or event.id not in moving:
            continue
        when = event.date.isoformat() if event.date else f"step {event.step}"
        own = next((f for f in event.effects if isinstance(f, s.PresenceEffect)), None)
        yield f"events.{event.id}", (f"is scheduled on {when} and moves {own.actor}'s personnel at {own.place}" if own
                                     else f"is scheduled on {when} and sets off events that move personnel")


AMOUNTS = ("delta", "set", "delay", "over")


def _matching(mine: dict, shared: list, k: int) -> dict | None:
    """The template's effect that an instance's effect k overrides: the one of its type, or, when the template
    has several of that type, the one in the same place among them."""
    kind = mine.get("type")
    same = [e for e in shared if isinstance(e, dict) and e.get("type") == kind]
    if len(same) == 1:
        return same[0]
    return shared[k] if k < len(shared) and isinstance(shared[k], dict) and shared[k].get("type") == kind else None


def _point_mass(ev: Evidence) -> Iterator[tuple[str, str]]:
    """An instance of a template that replaces the template's shared distribution (or parameter) of a delay
    or magnitude with a number of its own."""
    templates = ev.scenario.resolved.get("templates") or {}
    for tid, template in templates.items():
        shared = template.get("effects") if isinstance(template, dict) else None
        instances = template.get("instances") if isinstance(template, dict) else None
        if not isinstance(shared, list) or not isinstance(instances, dict):
            continue
        for key, override in instances.items():
            effects = override.get("effects") if isinstance(override, dict) else None
            for k, mine in enumerate(effects if isinstance(effects, list) else []):
                theirs = _matching(mine, shared, k) if isinstance(mine, dict) else None
                for amount in AMOUNTS if theirs is not None else ():
                    given, common = mine.get(amount), theirs.get(amount)
                    if isinstance(given, (int, float)) and not isinstance(given, bool) and isinstance(common,
                                                                                                       (dict, str)):
                        what = "distribution" if isinstance(common, dict) else f"parameter '{common}'"
                        yield f"events.{tid}[{key}]", (f"effects[{k}].{amount} is fixed at {given:g} where the "
                                                        f"template {tid} draws it from its shared {what}")


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
            for name in AMOUNTS:  # (an attribute effect writes its attribute: that is no read)
                amount(getattr(f, name, None))
    for outcome in scenario.outcomes:
        walk(outcome.expr)
    attributes |= {attribute for _, attribute in scenario.tracking.attributes}
    return params, attributes


def _unread_parameter(ev: Evidence) -> Iterator[tuple[str, str]]:
    read, _ = ev.read
    for name, value in ev.scenario.parameters:
        if name not in RULE_PARAMETERS and name not in RULE_OPTIONS and name not in read:
            yield f"parameters.{name}", f"= {value:g} is read by no event, amount or outcome"


def _unread_attribute(ev: Evidence) -> Iterator[tuple[str, str]]:
    _, read = ev.read
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
        "a template's (a mechanism's) distribution is shared by every actor it covers and fitted as one; a number "
        "for one instance copies one observed gap into the model, so the forecast of that gap is not earned",
        "remove the instance's number so it draws from the template, or move the difference into a parameter the "
        "template reads (and calibrate it)"),
    "inert-actor": Smell(
        _inert_actor,
        "an actor whose relations never move is scenery: nothing acts on it or through it, yet it weighs in "
        "every step's dynamics",
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
