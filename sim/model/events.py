"""Which events fire in a step, and what their effects do.

Events are evaluated in groups: the instances of one template that share a shape form one group
whose condition and probability are computed as (R, K) arrays, so thousands of instances cost a
few array operations per step. Every other event is a group of one. All firing masks are decided
against the state at the start of the step; then the groups apply their effects in order (written
events in file order, then templates), the instances of a group together.

Each event draws from its own counter-based stream (sim/model/streams.py), keyed by its id: slot 0
decides firing, slot 1 + 2k draws effect k's size and slot 2 + 2k its duration.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from sim.model.compile import AtPairs, Compiled, compile_group, compile_pairs, shape
from sim.model.effects import compile_effect
from sim.model.state import NEVER, Index, State
from sim.model.streams import EventDraws, event_key
from sim.scenario import schema as s
from sim.scenario.distributions import amount_key
from sim.scenario.expressions import Expression


@dataclass(frozen=True, slots=True)
class Firing:
    """Events firing in some replications at one step, with their drawn effect sizes."""

    step: int
    events: np.ndarray          # (F,) event index of each firing
    reps: np.ndarray            # (F,) positions in the batch
    parents: np.ndarray         # (F,) event index that scheduled it as a follow-up, -1 = own trigger
    values: tuple               # per effect: (F,) realised amounts, or for presence (amounts, durations)


@dataclass
class EventGroup:
    events: np.ndarray                  # (K,) event indexes
    spec: s.Event                       # the first instance: kind, once, cooldown, effects' shape
    keys: np.ndarray                    # (K,) uint64 stream keys
    condition: Compiled | None
    probability: float | AtPairs  # an expression is read only where the condition lets the event fire
    effects: list = field(default_factory=list)  # compiled effects (effect_kinds: each kind's `compiled`)
    follow_up_target: bool = False

    @functools.cached_property
    def columns(self) -> slice | np.ndarray:
        """The group's columns of the (R, E) arrays: a slice when its events are consecutive (a template's
        instances are), which reads them as a view instead of gathering them."""
        first = int(self.events[0])
        consecutive = np.array_equal(self.events, np.arange(first, first + len(self.events)))
        return slice(first, first + len(self.events)) if consecutive else self.events


def event_shape(event: s.Event) -> tuple:
    """What instances must share to be evaluated together: everything but the ids they name."""
    probability = event.probability if isinstance(event.probability, float) else shape(event.probability)
    effects = [e.shape(_key) for e in event.effects]
    return (event.template, event.kind, event.step, event.once, event.cooldown, probability,
            shape(event.condition) if event.condition else None, tuple(effects))


def _key(amount) -> tuple | None:
    return None if amount is None else amount_key(amount)


def group_events(scenario: s.Scenario, together: bool = True) -> list[list[int]]:
    """Enabled events in groups: template instances of one shape together, every other event alone.
    `together = False` evaluates each instance alone: the same numbers unless instances of one template
    change the same relation in the same step (summed then clipped together, clipped one by one alone)."""
    groups: list[list[int]] = []
    by_shape: dict[tuple, list[int]] = {}
    for e, event in enumerate(scenario.events):
        if not event.enabled:
            continue
        if event.template is None or not together:
            groups.append([e])
            continue
        key = event_shape(event)
        if key not in by_shape:
            by_shape[key] = []
            groups.append(by_shape[key])
        by_shape[key].append(e)
    return groups


class ConditionWatch:
    """Whether each event's condition was ever true and ever false where it was evaluated (the replications
    and steps where the event could otherwise fire): `sim lint` finds the conditions that decide nothing."""

    def __init__(self, events: int):
        self.true = np.zeros(events, dtype=bool)
        self.false = np.zeros(events, dtype=bool)

    def saw(self, events: np.ndarray, condition: np.ndarray, evaluated: np.ndarray) -> None:
        self.true[events] |= (condition & evaluated).any(axis=0)
        self.false[events] |= (~condition & evaluated).any(axis=0)


class EventEngine:
    watch: ConditionWatch | None = None  # set by `sim lint` only

    def __init__(self, scenario: s.Scenario, index: Index, rule_params, grouped: bool = True):
        self.scenario, self.index = scenario, index
        scale = rule_params.shock_scale  # a number, or (R,) values when it is uncertain
        self.shock_scale = scale.reshape(-1) if isinstance(scale, np.ndarray) else scale
        targets = {eff.event for e in scenario.events for eff in e.effects if isinstance(eff, s.FollowUpEffect)}
        self.groups = [self._group(members, targets) for members in group_events(scenario, grouped)]

    def _group(self, members: list[int], targets: set[str]) -> EventGroup:
        events = [self.scenario.events[e] for e in members]
        first = events[0]
        condition = compile_group([e.condition for e in events], self.index) if first.condition else None
        if isinstance(first.probability, Expression):
            probability = compile_pairs([e.probability for e in events], self.index)
        else:
            probability = float(first.probability)
        effects = [compile_effect([e.effects[k] for e in events], self.index, members, k)
                   for k in range(len(first.effects))]
        return EventGroup(np.array(members, dtype=np.int64), first,
                          np.array([event_key(e.id) for e in events], dtype=np.uint64), condition, probability,
                          effects, any(e.id in targets for e in events))

    def step(self, state: State, draws: EventDraws) -> list[Firing]:
        t = state.step
        decided = [(g, fire, due) for g in self.groups for fire, due in [self._decide(g, state, draws, t)]
                   if fire is not None]
        parents_of = {}  # who scheduled the follow-ups due now (read before effects may schedule new ones)
        for g, _, due in decided:  # follow-ups due now fire or fizzle
            if due is not None and due.any():
                rows, cols = _where(due)
                parents_of[id(g)] = state.due_parent[:, g.columns].copy()
                state.due[rows, g.events[cols]] = NEVER
        firings = []
        for g, (reps, cols), due in decided:
            if len(reps) == 0:
                continue
            events = g.events[cols]
            first = state.fired_count[reps, events] == 0
            state.first_fired[reps[first], events[first]] = t
            state.fired_count[reps, events] += 1
            state.last_fired[reps, events] = t
            if id(g) in parents_of:
                parents = np.where(due[reps, cols], parents_of[id(g)][reps, cols], -1)
            else:
                parents = np.full(len(reps), -1)
            values = tuple(effect.apply(state, reps, cols, g, draws, self.shock_scale) for effect in g.effects)
            firings.append(Firing(t, events, reps, parents, values))
        return firings

    def _decide(self, g: EventGroup, state: State, draws: EventDraws, t: int):
        """((replications, instances) that fire, the (R, K) mask of follow-ups due now), or (None, None)."""
        r, k = state.replications, len(g.events)
        spec = g.spec
        own = spec.kind in ("stochastic", "triggered") or (spec.kind == "scheduled" and spec.step == t)
        due = state.due[:, g.columns] == t if g.follow_up_target else None
        if not own and (due is None or not due.any()):
            return None, None
        mask = np.ones((r, k), dtype=bool) if own else due.copy()
        if spec.once:
            mask &= state.fired_count[:, g.columns] == 0
        if spec.cooldown:
            last = state.last_fired[:, g.columns]
            mask &= (last < 0) | (t - last > spec.cooldown)
        if g.condition is not None and mask.any():
            condition = np.broadcast_to(g.condition(state), (r, k))
            if self.watch is not None:
                self.watch.saw(g.events, condition, mask)
            mask &= condition
        reps, cols = _where(mask)
        p = g.probability
        if not (isinstance(p, float) and p >= 1.0) and len(reps):
            chance = p if isinstance(p, float) else p(state, reps, cols)
            hit = draws.uniforms(reps, g.keys[cols], t, 0) < chance
            reps, cols = reps[hit], cols[hit]
        return (reps, cols), due


def _where(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.nonzero of an (R, K) mask, about four times faster."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def advance_presence(state: State) -> None:
    """One step of every gradual presence change: equal parts, reaching the target exactly. Only the slots
    that move are touched (a few of R x P)."""
    left = np.reshape(state.ramp_left, -1, copy=False)
    moving = np.flatnonzero(left)  # steps left are never negative
    if not len(moving):
        return
    flat, target = np.reshape(state.presence, -1, copy=False), state.ramp_target.reshape(-1)
    steps, now = left[moving], flat[moving]
    new = now + (target[moving] - now) / steps
    last = steps == 1
    new[last] = target[moving[last]]
    flat[moving] = new
    left[moving] = steps - 1
