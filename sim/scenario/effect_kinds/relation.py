"""A relation effect: a change of how some actors stand toward others (blocs expand to their members)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.amounts import Amount, parties
from sim.scenario.effect_kinds._base import CHANGE, EffectKind, KeyDoc, Ragged, change_texts, draw, flat, read_change


@dataclass(frozen=True, slots=True)
class RelationEffect:
    sources: tuple[str, ...]  # actors (a bloc is expanded to its members)
    targets: tuple[str, ...]
    mutual: bool
    delta: Amount | None
    set: Amount | None
    label: str  # e.g. "niger <-> france"
    lasting: bool = False  # also moves the baseline (the long-run interests inertia pulls toward)

    def shape(self, key) -> tuple:
        return ("relation", self.mutual, key(self.delta), key(self.set), self.lasting)

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        return change_texts(self, f"relation {self.label} ", amounts, " (lasting)" if self.lasting else "")


def parse(check, raw: dict, path, names, params) -> RelationEffect | None:
    change = read_change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, value = change
    sources = parties(check, raw.get("source"), path + ("source",), names)
    targets = parties(check, raw.get("target"), path + ("target",), names)
    mutual = check.boolean(raw.get("mutual"), path + ("mutual",), False)
    arrow = " <-> " if mutual else " -> "
    label = ",".join(sources) + arrow + ",".join(targets)
    lasting = check.boolean(raw.get("lasting"), path + ("lasting",), False)
    ok = sources and targets and value is not None
    return RelationEffect(sources, targets, mutual, delta, setv, label, lasting) if ok else None


class RelationChange:
    def __init__(self, effects: list[RelationEffect], index, slot: int, events: list[int]):
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
        self.pairs = Ragged(lists, 2)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        size = draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        if self.delta is not None:
            size = size * (shock_scale[reps] if isinstance(shock_scale, np.ndarray) else shock_scale)
        if self.pairs.empty:
            return size
        owner, items = self.pairs.expand(cols)
        for rel in (state.relations, state.baseline) if self.lasting else (state.relations,):
            values, at = flat(rel, reps[owner], self.pairs.columns[0][items], self.pairs.columns[1][items])
            if self.delta is not None:
                np.add.at(values, at, size[owner])
                values[at] = np.clip(values[at], -1.0, 1.0)
            else:
                values[at] = np.clip(size[owner], -1.0, 1.0)
        return size


KIND = EffectKind(
    "relation", 1, RelationEffect, ("type", "source", "target", "mutual", "delta", "set", "lasting"), parse,
    RelationChange, needs=("source", "target"), one_of=(CHANGE,),
    docs={
        "source": KeyDoc("an actor or bloc id, or a list (blocs expand to their members).", "ids"),
        "target": KeyDoc("an actor or bloc id, or a list; every source -> target pair, self-pairs skipped.", "ids"),
        "mutual": KeyDoc("also apply target -> source.", "boolean", False),
        "delta": KeyDoc("added to the relation (times shock_scale).", "amount"),
        "set": KeyDoc("the relation's new value.", "amount"),
        "lasting": KeyDoc("also move the baseline, so that the change does not fade under inertia.", "boolean",
                          False)})
