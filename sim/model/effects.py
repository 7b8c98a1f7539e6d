"""What event effects do to the state, vectorised over the firings of a group of events.

`compile_effect` turns effect k of every instance of a group into one CompiledEffect (a registry:
one class per effect kind). Its `apply(state, reps, cols, group, draws, shock_scale)` acts on the
firings (replication reps[f], instance cols[f]) at once and returns the realised amounts for the
event log. Draws come from the event's own stream (slot 1 + 2k: the size, 2 + 2k: the duration).
"""

from __future__ import annotations

import numpy as np

from sim.model.state import Index, State
from sim.scenario import schema as s
from sim.scenario.distributions import Distribution, resolve


def _draw(amount, g, draws, reps, cols, state: State, slot: int) -> np.ndarray:
    """The amount for each firing: drawn from the event's stream when it is a distribution, with the
    firing replication's own value of any parameter that varies per replication."""
    if isinstance(amount, Distribution):
        return amount.sample(draws.uniforms(reps, g.keys[cols], state.step, slot), state.varying, reps)
    return np.broadcast_to(resolve(amount, state.varying, reps), len(reps)).astype(np.float64)


class _Ragged:
    """Per instance, a list of integer tuples (pairs of actors, presence slots), flattened for gathering."""

    def __init__(self, lists: list[list[tuple[int, ...]]], width: int):
        self.counts = np.array([len(x) for x in lists], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        flat = np.array([item for x in lists for item in x], dtype=np.int64).reshape(-1, width)
        self.columns = [flat[:, c] for c in range(width)]
        self.empty = not self.counts.any()

    def expand(self, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(firing of each item, position of each item in the flat arrays) for the firings' instances."""
        counts = self.counts[cols]
        owner = np.repeat(np.arange(len(cols)), counts)
        start = np.repeat(np.cumsum(counts) - counts, counts)
        return owner, self.offsets[cols][owner] + np.arange(counts.sum()) - start


class CompiledEffect:
    """An effect kind's compiled form: built from effect k of every instance of a group, it acts on many
    firings at once and returns the realised amounts (a tuple of columns when it has two)."""
    slot: int

    def apply(self, state: State, reps, cols, g, draws, shock_scale: float):
        raise NotImplementedError


class RelationChange(CompiledEffect):
    def __init__(self, effects: list[s.RelationEffect], index: Index, slot: int, events: list[int]):
        self.delta, self.set, self.slot, self.lasting = effects[0].delta, effects[0].set, slot, effects[0].lasting
        lists = []
        for e in effects:
            pairs: list[tuple[int, int]] = []
            for i in index.parties(e.sources):
                for j in index.parties(e.targets):
                    for pair in ((i, j), (j, i)) if e.mutual else ((i, j),):
                        if pair[0] != pair[1] and pair not in pairs:
                            pairs.append(pair)
            lists.append(pairs)
        self.pairs = _Ragged(lists, 2)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        amount = _draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        if self.delta is not None:
            amount = amount * (shock_scale[reps] if isinstance(shock_scale, np.ndarray) else shock_scale)
        if self.pairs.empty:
            return amount
        owner, items = self.pairs.expand(cols)
        rows, src, dst = reps[owner], self.pairs.columns[0][items], self.pairs.columns[1][items]
        for rel in (state.relations, state.baseline) if self.lasting else (state.relations,):
            if self.delta is not None:
                np.add.at(rel, (rows, src, dst), amount[owner])
                rel[rows, src, dst] = np.clip(rel[rows, src, dst], -1.0, 1.0)
            else:
                rel[rows, src, dst] = np.clip(amount[owner], -1.0, 1.0)
        return amount


class AttributeChange(CompiledEffect):
    def __init__(self, effects: list[s.AttributeEffect], index: Index, slot: int, events: list[int]):
        self.delta, self.set, self.slot = effects[0].delta, effects[0].set, slot
        self.actor = np.array([index.actors[e.actor] for e in effects], dtype=np.int64)
        self.attribute = np.array([index.attributes[e.attribute] for e in effects], dtype=np.int64)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        amount = _draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        where = (reps, self.actor[cols], self.attribute[cols])
        if self.delta is not None:
            np.add.at(state.attributes, where, amount)
        else:
            state.attributes[where] = amount
        return amount


class PresenceChange(CompiledEffect):
    """Moves personnel toward a new level over `over` steps; with `host`, the total over the actor's slots
    in that host is set or changed and shared in proportion to what is there (all to the first if none)."""

    def __init__(self, effects: list[s.PresenceEffect], index: Index, slot: int, events: list[int]):
        first = effects[0]
        self.delta, self.set, self.over, self.slot = first.delta, first.set, first.over, slot
        self.slots = _Ragged([[(k,) for k in ([index.slots[(e.actor, e.site)]] if e.site is not None
                                               else index.presence_slots(e.actor, e.host))] for e in effects], 1)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        amount = _draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        steps = np.maximum(1, np.rint(_draw(self.over, g, draws, reps, cols, state, self.slot + 1))).astype(np.int64)
        if self.slots.empty:
            return amount, steps.astype(np.float64)
        owner, items = self.slots.expand(cols)
        rows, slots = reps[owner], self.slots.columns[0][items]
        current = state.presence[rows, slots]
        total = np.bincount(owner, weights=current, minlength=len(reps))
        wanted = np.maximum(amount if self.delta is None else total + amount, 0.0)
        first = np.concatenate([[True], owner[1:] != owner[:-1]])
        share = np.where(total[owner] > 0, current / np.where(total[owner] > 0, total[owner], 1.0), first)
        state.ramp_target[rows, slots] = wanted[owner] * share
        state.ramp_left[rows, slots] = steps[owner]
        return amount, steps.astype(np.float64)


class FollowUp(CompiledEffect):
    def __init__(self, effects: list[s.FollowUpEffect], index: Index, slot: int, events: list[int]):
        self.delay, self.slot = effects[0].delay, slot
        self.target = np.array([index.events[e.event] for e in effects], dtype=np.int64)
        self.parent = np.array(events, dtype=np.int64)  # the events that schedule it

    def apply(self, state, reps, cols, g, draws, shock_scale):
        delay = np.maximum(1, np.rint(_draw(self.delay, g, draws, reps, cols, state, self.slot))).astype(np.int64)
        due = state.step + delay
        # latest first, so that when several firings make one event due in one replication the earliest
        # due step is written last and kept, as when they are scheduled one by one
        order = np.argsort(-due, kind="stable")
        reps, target, due, parent = reps[order], self.target[cols][order], due[order], self.parent[cols][order]
        sooner = due < state.due[reps, target]
        state.due[reps[sooner], target[sooner]] = due[sooner]
        state.due_parent[reps[sooner], target[sooner]] = parent[sooner]
        return delay.astype(np.float64)


EFFECTS: dict[type, type[CompiledEffect]] = {  # effect kind (its data class in schema) -> its compiled form
    s.RelationEffect: RelationChange,
    s.AttributeEffect: AttributeChange,
    s.PresenceEffect: PresenceChange,
    s.FollowUpEffect: FollowUp,
}


def compile_effect(effects: list, index: Index, events: list[int], k: int) -> CompiledEffect:
    """Effect k of every instance of a group (same kind and amounts; ids may differ); `events` are the
    instances' event indices."""
    return EFFECTS[type(effects[0])](effects, index, 1 + 2 * k, events)
