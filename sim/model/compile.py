"""Compile a checked expression tree into numpy operations over the replication axis.

The result is a function of the State returning an array of shape (R,) or a scalar; there is
no eval/exec anywhere, only the operations listed here.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sim.model.state import Index, State
from sim.scenario import expressions as x

Compiled = Callable[[State], np.ndarray | float | bool]

_BINARY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal,
    "and": np.logical_and, "or": np.logical_or,
}


def _divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def uses_camps(node) -> bool:
    if isinstance(node, x.Expression):
        node = node.root
    if isinstance(node, x.Call):
        return node.func == "same_camp" or any(uses_camps(a) for a in node.args)
    if isinstance(node, x.Unary):
        return uses_camps(node.operand)
    if isinstance(node, x.Binary):
        return uses_camps(node.left) or uses_camps(node.right)
    return False


def compile_expression(expr: x.Expression, index: Index) -> Compiled:
    return _compile(expr.root, index)


def _compile(node, index: Index) -> Compiled:
    if isinstance(node, (x.Num, x.Bool)):
        value = node.value
        return lambda s: value
    if isinstance(node, x.Param):
        value = index.parameters[node.name]
        return lambda s: value
    if isinstance(node, x.Step):
        return lambda s: s.step
    if isinstance(node, x.Unary):
        inner = _compile(node.operand, index)
        op = np.logical_not if node.op == "not" else np.negative
        return lambda s: op(inner(s))
    if isinstance(node, x.Binary):
        left, right = _compile(node.left, index), _compile(node.right, index)
        op = _divide if node.op == "/" else _BINARY[node.op]
        return lambda s: op(left(s), right(s))
    if isinstance(node, x.Call):
        return _call(node, index)
    raise TypeError(f"cannot compile {node!r}")


def _call(node: x.Call, index: Index) -> Compiled:
    f, args = node.func, node.args
    if f in ("abs", "min", "max"):
        parts = [_compile(a, index) for a in args]
        if f == "abs":
            return lambda s: np.abs(parts[0](s))
        op = np.minimum if f == "min" else np.maximum
        return lambda s: op(parts[0](s), parts[1](s))
    names = [a.name for a in args]
    if f in ("relation", "alignment"):
        i = index.actors[names[0]]
        if args[1].kind == "actor":
            j = index.actors[names[1]]
            return lambda s: s.relations[:, i, j]
        members = np.array([m for m in index.blocs[names[1]] if m != i], dtype=np.int64)
        if len(members) == 0:
            return lambda s: 0.0
        return lambda s: s.relations[:, i, members].mean(axis=1)
    if f == "attr":
        i, k = index.actors[names[0]], index.attributes[names[1]]
        return lambda s: s.attributes[:, i, k]
    if f == "presence":
        slots = index.presence_slots(names[0], names[1] if len(names) > 1 else None)
        if not slots:
            return lambda s: 0.0
        if len(slots) == 1:
            k = slots[0]
            return lambda s: s.presence[:, k]
        cols = np.array(slots, dtype=np.int64)
        return lambda s: s.presence[:, cols].sum(axis=1)
    if f == "same_camp":
        i, j = index.actors[names[0]], index.actors[names[1]]
        return lambda s: s.camps[:, i] == s.camps[:, j]
    e = index.events[names[0]]
    if f == "fired":
        return lambda s: s.fired_count[:, e] > 0
    if f == "times_fired":
        return lambda s: s.fired_count[:, e].astype(np.float64)
    if f == "since":
        return lambda s: np.where(s.last_fired[:, e] >= 0, s.step - s.last_fired[:, e], np.inf)
    raise TypeError(f"unknown function {f}")
