"""Which events fire in a step, and what their effects do.

All events' firing masks are decided against the state at the start of the step; then the
fired events apply their effects in file order. One uniform per event decides firing and one
per effect draws its size, from the replication's own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.compile import compile_expression
from sim.model.state import NEVER, Index, State
from sim.scenario import schema as s
from sim.scenario.distributions import amount_sample
from sim.scenario.expressions import Expression


@dataclass(frozen=True, slots=True)
class Firing:
    """One event firing in some replications at one step, with its drawn effect sizes."""

    step: int
    event: int
    reps: np.ndarray            # positions in the batch
    parents: np.ndarray         # event index that scheduled it as a follow-up, -1 = own trigger
    values: tuple               # per effect: the realised amount (array over reps) or None


class EventEngine:
    def __init__(self, scenario: s.Scenario, index: Index, agents, rule_params):
        self.scenario, self.index, self.agents = scenario, index, agents
        self.shock_scale = rule_params.shock_scale
        self.conditions = [compile_expression(e.condition, index) if e.condition else None for e in scenario.events]
        self.probabilities = [
            compile_expression(e.probability, index) if isinstance(e.probability, Expression)
            else float(e.probability) for e in scenario.events]
        self.pairs = {id(eff): self._pairs(eff) for e in scenario.events for eff in e.effects
                      if isinstance(eff, s.RelationEffect)}
        targets = {eff.event for e in scenario.events for eff in e.effects if isinstance(eff, s.FollowUpEffect)}
        self.is_follow_up_target = [e.id in targets for e in scenario.events]
        # Event e owns a block of uniforms: [fire, effect 0, effect 1, ...]. Blocks follow file order, so a
        # variant that adds events at the end (or disables one) leaves every other event's draws unchanged:
        # common random numbers across scenarios that share a seed.
        offsets = np.cumsum([0] + [1 + len(e.effects) for e in scenario.events])
        self.fire_slot = [int(o) for o in offsets[:-1]]
        self.effect_slot = [int(o) + 1 for o in offsets[:-1]]
        self.uniforms_needed = int(offsets[-1])

    def step(self, state: State, uniforms: np.ndarray) -> list[Firing]:
        t = state.step
        decided = [(e, mask, due) for e, (mask, due) in enumerate(self._masks(state, uniforms, t)) if mask is not None]
        parents_of = {}  # who scheduled the follow-ups due now (read before effects may schedule new ones)
        for e, _, due in decided:  # follow-ups due now fire or fizzle
            if due is not None and due.any():
                parents_of[e] = state.due_parent[:, e].copy()
                state.due[due, e] = NEVER
        firings = []
        for e, mask, due in decided:
            reps = np.flatnonzero(mask)
            if len(reps) == 0:
                continue
            state.fired_count[reps, e] += 1
            state.last_fired[reps, e] = t
            parents = np.where(due[reps], parents_of[e][reps], -1) if e in parents_of else np.full(len(reps), -1)
            values = self._apply(state, e, reps, uniforms)
            firings.append(Firing(t, e, reps, parents, values))
        return firings

    def _masks(self, state: State, uniforms: np.ndarray, t: int):
        r = state.replications
        for e, event in enumerate(self.scenario.events):
            if not event.enabled:
                yield None, None
                continue
            own = event.kind in ("stochastic", "triggered") or (event.kind == "scheduled" and event.step == t)
            due = state.due[:, e] == t if self.is_follow_up_target[e] else None
            if not own and (due is None or not due.any()):
                yield None, None
                continue
            mask = np.ones(r, dtype=bool) if own else due.copy()
            if event.once:
                mask &= state.fired_count[:, e] == 0
            if event.cooldown:
                mask &= (state.last_fired[:, e] < 0) | (t - state.last_fired[:, e] > event.cooldown)
            if self.conditions[e] is not None and mask.any():
                mask &= np.broadcast_to(self.conditions[e](state), (r,))
            p = self.probabilities[e]
            if not isinstance(p, float):
                p = np.broadcast_to(p(state), (r,))
            if not (isinstance(p, float) and p >= 1.0):
                mask &= uniforms[:, self.fire_slot[e]] < p
            yield mask, due

    def _apply(self, state: State, e: int, reps: np.ndarray, uniforms: np.ndarray) -> tuple:
        event = self.scenario.events[e]
        values = []
        for k, effect in enumerate(event.effects):
            u = uniforms[reps, self.effect_slot[e] + k]
            if isinstance(effect, s.FollowUpEffect):
                values.append(self._follow_up(state, e, effect, reps, u))
                continue
            amount = amount_sample(effect.delta if effect.delta is not None else effect.set, u)
            delta, value = (amount, None) if effect.delta is not None else (None, amount)
            if isinstance(effect, s.RelationEffect):
                if delta is not None:
                    delta = delta * self.shock_scale
                for i, j in self.pairs[id(effect)]:
                    self.agents[i].shift_relation(j, reps, delta, value)
                values.append(delta if delta is not None else value)
            elif isinstance(effect, s.AttributeEffect):
                self.agents[self.index.actors[effect.actor]].change_attribute(
                    self.index.attributes[effect.attribute], reps, delta, value)
                values.append(amount)
            elif isinstance(effect, s.PresenceEffect):
                slot = self.index.slots.get((effect.actor, effect.site))
                if slot is not None:
                    self.agents[self.index.actors[effect.actor]].redeploy(slot, reps, delta, value, effect.over)
                values.append(amount)
        return tuple(values)

    def _pairs(self, effect: s.RelationEffect) -> list[tuple[int, int]]:
        """Directed (source, target) pairs of a relation effect, each once (blocs expanded)."""
        pairs: list[tuple[int, int]] = []
        for i in self.index.parties(effect.sources):
            for j in self.index.parties(effect.targets):
                for pair in ((i, j), (j, i)) if effect.mutual else ((i, j),):
                    if pair[0] != pair[1] and pair not in pairs:
                        pairs.append(pair)
        return pairs

    def _follow_up(self, state: State, parent: int, effect: s.FollowUpEffect, reps, u) -> np.ndarray:
        target = self.index.events[effect.event]
        delay = np.maximum(1, np.rint(amount_sample(effect.delay, u))).astype(np.int64)
        due = state.step + delay
        sooner = due < state.due[reps, target]
        state.due[reps[sooner], target] = due[sooner]
        state.due_parent[reps[sooner], target] = parent
        return delay.astype(np.float64)


def advance_presence(state: State) -> None:
    """One step of every gradual presence change: equal parts, reaching the target exactly."""
    moving = state.ramp_left > 0
    if not moving.any():
        return
    left = np.where(moving, state.ramp_left, 1)
    state.presence = np.where(moving, state.presence + (state.ramp_target - state.presence) / left, state.presence)
    state.presence[moving & (state.ramp_left == 1)] = state.ramp_target[moving & (state.ramp_left == 1)]
    state.ramp_left = np.where(moving, state.ramp_left - 1, 0)
