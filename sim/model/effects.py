"""Effects compiled for the engine: effect k of every instance of an event group becomes one object that
acts on all the group's firings at once. Each kind's compiled form is in its module (scenario/effect_kinds/,
with the rest of the kind); this picks it."""

from __future__ import annotations

from sim.model.state import Index
from sim.scenario.effect_kinds import BY_DATA


def compile_effect(effects: list, index: Index, events: list[int], k: int):
    """Effect k of every instance of a group (same kind and amounts; ids may differ); `events` are the
    instances' event indices. Its draws use slots 1 + 2k (the size) and 2 + 2k (a duration) of the event's
    stream."""
    return BY_DATA[type(effects[0])].compiled(effects, index, 1 + 2 * k, events)
