"""A presence effect: an actor's personnel at one site, or in all its slots in a host, set or changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.amounts import Amount, Rule, amount, exactly_one
from sim.scenario.effect_kinds._base import CHANGE, EffectKind, KeyDoc, Ragged, change_texts, draw, read_change

PLACE: Rule = (("site", "host"), "a presence effect needs exactly one of 'site' (one site) or 'host' (all the "
                                 "actor's sites in that host)")


@dataclass(frozen=True, slots=True)
class PresenceEffect:
    """Personnel of `actor` at one `site`, or (with `host`) in all its slots in that host: the total is
    set or changed and shared over the slots in proportion to what is there (all to the first if none)."""

    actor: str
    site: str | None
    host: str | None
    delta: Amount | None
    set: Amount | None
    over: Amount  # steps the change takes, rounded, at least 1 (1 = at once); may be drawn

    @property
    def place(self) -> str:
        return self.site if self.site is not None else str(self.host)

    def shape(self, key) -> tuple:
        return ("presence", self.site is None, key(self.delta), key(self.set), key(self.over))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        texts = change_texts(self, f"presence {self.actor}@{self.place} ", amounts)
        if durations is None:
            return texts
        return [text + f" over {over} steps" if over > 1 else text for text, over in zip(texts, durations)]


def parse(check, raw: dict, path, names, params) -> PresenceEffect | None:
    change = read_change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, value = change
    actor = check.ref(raw.get("actor"), path + ("actor",), "actor", names.actors)
    site = host = None
    where = exactly_one(check, raw, path, PLACE)
    if where == "site":
        site = check.ref(raw.get("site"), path + ("site",), "site", names.sites)
    elif where == "host":
        host = check.ref(raw.get("host"), path + ("host",), "actor", names.actors)
    over = amount(check, raw.get("over", 1), path + ("over",), params, lo=1)
    if isinstance(setv, (int, float)) and setv < 0:
        check.problem(path + ("set",), f"found {setv:g}, expected personnel >= 0")
    ok = actor and (site or host) and over is not None and value is not None
    return PresenceEffect(actor, site, host, delta, setv, over) if ok else None


class PresenceChange:
    """Moves personnel toward a new level over `over` steps; with `host`, the total over the actor's slots
    in that host is set or changed and shared in proportion to what is there (all to the first if none)."""

    def __init__(self, effects: list[PresenceEffect], index, slot: int, events: list[int]):
        first = effects[0]
        self.delta, self.set, self.over, self.slot = first.delta, first.set, first.over, slot
        self.slots = Ragged([[(k,) for k in ([index.slots[(e.actor, e.site)]] if e.site is not None
                                              else index.presence_slots(e.actor, e.host))] for e in effects], 1)

    def apply(self, state, reps, cols, g, draws, shock_scale):
        size = draw(self.delta if self.delta is not None else self.set, g, draws, reps, cols, state, self.slot)
        steps = np.maximum(1, np.rint(draw(self.over, g, draws, reps, cols, state, self.slot + 1))).astype(np.int64)
        if self.slots.empty:
            return size, steps.astype(np.float64)
        owner, items = self.slots.expand(cols)
        rows, slots = reps[owner], self.slots.columns[0][items]
        current = state.presence[rows, slots]
        total = np.bincount(owner, weights=current, minlength=len(reps))
        wanted = np.maximum(size if self.delta is None else total + size, 0.0)
        first = np.concatenate([[True], owner[1:] != owner[:-1]])
        share = np.where(total[owner] > 0, current / np.where(total[owner] > 0, total[owner], 1.0), first)
        state.ramp_target[rows, slots] = wanted[owner] * share
        state.ramp_left[rows, slots] = steps[owner]
        return size, steps.astype(np.float64)


KIND = EffectKind(
    "presence", 3, PresenceEffect, ("type", "actor", "site", "host", "delta", "set", "over"), parse, PresenceChange,
    needs=("actor",), one_of=(CHANGE, PLACE), schema={"properties": {"set": {"minimum": 0}}},  # personnel >= 0
    docs={"actor": KeyDoc("whose personnel change.", "string"),
          "site": KeyDoc("the slot's site (declared in [presence]).", "string"),
          "host": KeyDoc("every slot of actor at sites hosted by this actor, sharing the total.", "string"),
          "delta": KeyDoc("added to the personnel.", "amount"),
          "set": KeyDoc("the new personnel (a fixed number is >= 0).", "amount"),
          "over": KeyDoc("steps to reach the new level in equal parts (rounded, at least 1).", "amount>=1", 1)})
