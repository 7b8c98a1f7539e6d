"""What every effect kind module is made of, and the tools its compiled form uses.

A kind module defines `KIND`, an EffectKind: its name and place among the kinds, its frozen data class
(what the loader builds: with `shape`, what instances must share to be evaluated together, and `describe`,
the event log's text), how its table is read (keys, the keys it needs, pairs of which it takes exactly one,
its parser, a description of each key for editors), and its compiled form: built from effect k of every
instance of an event group, its `apply(state, reps, cols, group, draws, shock_scale)` acts on all the
firings (replication reps[f], instance cols[f]) at once and returns the realised amounts for the event log.
The compiled form reads the model's state and index by their fields, so it needs nothing from the engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.scenario.amounts import Rule, amount, exactly_one
from sim.scenario.distributions import Distribution, resolve

CHANGE: Rule = (("delta", "set"), "an effect needs exactly one of 'delta' or 'set'")


@dataclass(frozen=True)
class KeyDoc:
    """For `sim schema`: what an editor shows for a key, the shape of its value (one sim schema knows:
    amount, amount>=1, ids, string, boolean) and its default."""
    text: str
    shape: str
    default: object = None


@dataclass(frozen=True)
class EffectKind:
    name: str
    order: int  # its place in lists and messages (relation, attribute, presence, follow_up)
    data: type
    keys: tuple[str, ...]
    parse: Callable
    compiled: type
    needs: tuple[str, ...] = ()
    one_of: tuple[Rule, ...] = ()
    docs: dict[str, KeyDoc] = field(default_factory=dict)
    schema: dict = field(default_factory=dict)  # extra JSON Schema that holds for this kind's tables


def read_change(check, raw: dict, path, params) -> tuple | None:
    """(delta, set, the amount) of a relation, attribute or presence effect, which takes exactly one of delta
    and set; None (the problem said) when it does not, or its amount is bad (then the amount is None)."""
    key = exactly_one(check, raw, path, CHANGE)
    if key is None:
        return None
    value = amount(check, raw[key], path + (key,), params)
    return (value, None, value) if key == "delta" else (None, value, value)


def change_texts(effect, head: str, amounts: list[float], tail: str = "") -> list[str]:
    """head + "set to 0.5" (or "change +0.1") + tail for each amount: how the event log says a set or a delta.
    One %-template formats them all (the same text as f"{v:g}" and f"{v:+.4g}"; a run logs many)."""
    change = "set to %g" if effect.set is not None else "change %+.4g"
    return list(map((head.replace("%", "%%") + change + tail.replace("%", "%%")).__mod__, amounts))


def draw(amount, g, draws, reps, cols, state, slot: int) -> np.ndarray:
    """The amount for each firing: drawn from the event's stream when it is a distribution, with the
    firing replication's own value of any parameter that varies per replication."""
    if isinstance(amount, Distribution):
        return amount.sample(draws.uniforms(reps, g.keys[cols], state.step, slot), state.varying, reps)
    return np.broadcast_to(resolve(amount, state.varying, reps), len(reps)).astype(np.float64)


def flat(array: np.ndarray, reps: np.ndarray, *inner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(array as a flat view, the flat positions of array[reps, *inner]): np.add.at and gathers with one
    index array run several times faster than with three, in the same order (so the same bits). The state's
    arrays are C-contiguous; a copy would drop the writes, so numpy refuses instead."""
    shape = array.shape[1:]
    position = reps * math.prod(shape)
    for axis, index in enumerate(inner):
        position = position + index * math.prod(shape[axis + 1:])
    return np.reshape(array, -1, copy=False), position


class Ragged:
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
