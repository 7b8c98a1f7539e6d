"""An attribute effect: a change of one actor's attribute (stability, resolve, capability, ...)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.amounts import Amount
from sim.scenario.effect_kinds._base import CHANGE, EffectKind, KeyDoc, change_texts, draw, flat, read_change


@dataclass(frozen=True, slots=True)
class AttributeEffect:
    actor: str
    attribute: str
    delta: Amount | None
    set: Amount | None

    def shape(self, key) -> tuple:
        return ("attribute", key(self.delta), key(self.set))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        return change_texts(self, f"{self.actor}.{self.attribute} ", amounts)


def parse(check, raw: dict, path, names, params) -> AttributeEffect | None:
    change = read_change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, value = change
    actor = check.ref(raw.get("actor"), path + ("actor",), "actor", names.actors)
    attribute = check.ref(raw.get("attribute"), path + ("attribute",), "attribute", names.attributes)
    return AttributeEffect(actor, attribute, delta, setv) if actor and attribute and value is not None else None


class AttributeChange:
    def __init__(self, effects: list[AttributeEffect], index, slot: int, events: list[int]):
        self.delta, self.set, self.slot = effects[0].delta, effects[0].set, slot
        self.actor = np.array([index.actors[e.actor] for e in effects], dtype=np.int64)
        self.attribute = np.array([index.attributes[e.attribute] for e in effects], dtype=np.int64)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        size = draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        values, at = flat(state.attributes, reps, self.actor[cols], self.attribute[cols])
        if self.delta is not None:
            np.add.at(values, at, size)
        else:
            values[at] = size
        return size


KIND = EffectKind(
    "attribute", 2, AttributeEffect, ("type", "actor", "attribute", "delta", "set"), parse, AttributeChange,
    needs=("actor", "attribute"), one_of=(CHANGE,),
    docs={"actor": KeyDoc("whose attribute changes.", "string"),
          "attribute": KeyDoc("the attribute's name (declared in [attributes]).", "string"),
          "delta": KeyDoc("added to the attribute.", "amount"),
          "set": KeyDoc("the attribute's new value.", "amount")})
