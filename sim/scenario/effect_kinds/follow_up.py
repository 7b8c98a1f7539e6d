"""A follow-up effect: another event made due after a delay (a decision's consequence, a pullout's start)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.amounts import Amount, amount
from sim.scenario.effect_kinds._base import EffectKind, KeyDoc, draw
from sim.scenario.templates import normalize_id


@dataclass(frozen=True, slots=True)
class FollowUpEffect:
    event: str
    delay: Amount  # steps, rounded, at least 1

    def shape(self, key) -> tuple:
        return ("follow_up", key(self.delay))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        return [f"schedules {self.event} in {v:g} step" + ("" if v == 1 else "s") for v in amounts]


def parse(check, raw: dict, path, names, params) -> FollowUpEffect | None:
    event = check.ref(normalize_id(raw.get("event")), path + ("event",), "event", names.events)
    delay = amount(check, raw.get("delay", 1), path + ("delay",), params, lo=1)
    return FollowUpEffect(event, delay) if event and delay is not None else None


class FollowUp:
    def __init__(self, effects: list[FollowUpEffect], index, slot: int, events: list[int]):
        self.delay, self.slot = effects[0].delay, slot
        self.target = np.array([index.events[e.event] for e in effects], dtype=np.int64)
        self.parent = np.array(events, dtype=np.int64)  # the events that schedule it

    def apply(self, state, reps, cols, g, draws, shock_scale):
        delay = np.maximum(1, np.rint(draw(self.delay, g, draws, reps, cols, state, self.slot))).astype(np.int64)
        due = state.step + delay
        # latest first, so that when several firings make one event due in one replication the earliest
        # due step is written last and kept, as when they are scheduled one by one
        order = np.argsort(-due, kind="stable")
        reps, target, due, parent = reps[order], self.target[cols][order], due[order], self.parent[cols][order]
        sooner = due < state.due[reps, target]
        state.due[reps[sooner], target[sooner]] = due[sooner]
        state.due_parent[reps[sooner], target[sooner]] = parent[sooner]
        return delay.astype(np.float64)


KIND = EffectKind(
    "follow_up", 4, FollowUpEffect, ("type", "event", "delay"), parse, FollowUp, needs=("event",),
    docs={"event": KeyDoc("the event made due (an id, or a template instance such as withdraw[niger,us]).", "string"),
          "delay": KeyDoc("steps until it is due (rounded, at least 1).", "amount>=1", 1)})
