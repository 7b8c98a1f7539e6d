"""Compile checked expression trees into numpy operations over the replication axis.

A *group* of trees of the same shape (the instances of one template, which differ only in the ids
they name) compiles into one function of the State returning an array of shape (R, K): one column
per instance, so a template with thousands of instances costs a few array operations per step, not
a Python loop over its instances. A single expression is a group of one. There is no eval/exec
anywhere, only the operations listed here.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from sim.model.state import Index, State
from sim.scenario import expressions as x

Compiled = Callable[[State], np.ndarray | float | bool]
AtPairs = Callable[[State, np.ndarray, np.ndarray], np.ndarray | float | bool]

_BINARY = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "<": np.less, "<=": np.less_equal,
    ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal,
    "and": np.logical_and, "or": np.logical_or,
}
EXP_LIMIT = 700.0  # exp() arguments are clipped here: exp(700) is near the largest float


def _divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.divide(a, b)


def _exp(a):
    return np.exp(np.clip(a, -EXP_LIMIT, EXP_LIMIT))


_MATH = {"abs": np.abs, "exp": _exp, "min": np.minimum, "max": np.maximum}  # the language's functions of numbers


def walk(node):
    """Every node of a tree (an Expression or a node), depth first."""
    if isinstance(node, x.Expression):
        node = node.root
    yield node
    if isinstance(node, x.Call):
        for a in node.args:
            yield from walk(a)
    elif isinstance(node, x.Unary):
        yield from walk(node.operand)
    elif isinstance(node, x.Binary):
        yield from walk(node.left)
        yield from walk(node.right)


def uses_camps(node) -> bool:
    return any(isinstance(n, x.Call) and n.func == "same_camp" for n in walk(node))


def shape(node) -> tuple:
    """The tree with the ids it names left out: trees of one shape compile together."""
    if isinstance(node, x.Expression):
        node = node.root
    if isinstance(node, x.Ref):
        return ("ref", node.kind)
    if isinstance(node, x.Call):
        return ("call", node.func) + tuple(shape(a) for a in node.args)
    if isinstance(node, x.Unary):
        return ("unary", node.op, shape(node.operand))
    if isinstance(node, x.Binary):
        return ("binary", node.op, shape(node.left), shape(node.right))
    return (type(node).__name__, getattr(node, "value", getattr(node, "name", None)))


def compile_expression(expr: x.Expression, index: Index) -> Compiled:
    """One expression: a function of the State giving shape (R,) or a scalar."""
    group = compile_group([expr], index)

    def single(state: State):
        value = group(state)
        return value[:, 0] if isinstance(value, np.ndarray) and value.ndim == 2 else value
    return single


def compile_group(exprs: Sequence[x.Expression], index: Index) -> Compiled:
    """Expressions of one shape: a function of the State giving (R, K), or something that broadcasts to it."""
    if len({shape(e) for e in exprs}) != 1:
        raise ValueError("expressions of different shapes cannot be compiled together")
    return _compile([e.root for e in exprs], index)


def compile_pairs(exprs: Sequence[x.Expression], index: Index) -> AtPairs:
    """Expressions of one shape, read only where asked: f(state, reps, cols) is the group's value at
    (reps[f], instance cols[f]), compile_group's (R, K) value there (the same operations on fewer elements:
    the same bits, except that a NaN's sign may differ), or a number. An event's chance is needed only where
    its condition holds: a few of R x K."""
    if len({shape(e) for e in exprs}) != 1:
        raise ValueError("expressions of different shapes cannot be compiled together")
    return _compile_at([e.root for e in exprs], index)


def _compile_at(nodes: list, index: Index) -> AtPairs:
    node = nodes[0]
    if isinstance(node, x.Param) and node.name in index.varying:
        name = node.name
        return lambda s, reps, cols: s.varying[name][reps]
    if isinstance(node, (x.Num, x.Bool, x.Param, x.Step)):
        whole = _compile(nodes, index)
        return lambda s, reps, cols: whole(s)
    if isinstance(node, x.Unary):
        inner = _compile_at([n.operand for n in nodes], index)
        op = np.logical_not if node.op == "not" else np.negative
        return lambda s, reps, cols: op(inner(s, reps, cols))
    if isinstance(node, x.Binary):
        left, right = _compile_at([n.left for n in nodes], index), _compile_at([n.right for n in nodes], index)
        op = _divide if node.op == "/" else _BINARY[node.op]
        return lambda s, reps, cols: op(left(s, reps, cols), right(s, reps, cols))
    if isinstance(node, x.Call):
        return _call_at(nodes, index)
    raise TypeError(f"cannot compile {node!r}")


def _call_at(nodes: list[x.Call], index: Index) -> AtPairs:
    f, args = nodes[0].func, nodes[0].args
    if f in _MATH:
        op, parts = _MATH[f], [_compile_at([n.args[k] for n in nodes], index) for k in range(len(args))]
        if len(parts) == 1:
            return lambda s, reps, cols: op(parts[0](s, reps, cols))
        return lambda s, reps, cols: op(parts[0](s, reps, cols), parts[1](s, reps, cols))
    names = [[n.args[k].name for n in nodes] for k in range(len(args))]
    if f in ("relation", "alignment") and args[1].kind == "actor":
        n = len(index.actors)
        flat = _column(names[0], index.actors) * n + _column(names[1], index.actors)
        return lambda s, reps, cols: _take(s.relations, reps, flat[cols])
    if f == "attr":
        flat = _column(names[0], index.actors) * len(index.attributes) + _column(names[1], index.attributes)
        return lambda s, reps, cols: _take(s.attributes, reps, flat[cols])
    if f == "same_camp":
        i, j = _column(names[0], index.actors), _column(names[1], index.actors)
        return lambda s, reps, cols: s.camps[reps, i[cols]] == s.camps[reps, j[cols]]
    if f in ("fired", "times_fired", "since"):
        e = _column(names[0], index.events)
        if f == "fired":
            return lambda s, reps, cols: s.fired_count[reps, e[cols]] > 0
        if f == "times_fired":
            return lambda s, reps, cols: s.fired_count[reps, e[cols]].astype(np.float64)
        return lambda s, reps, cols: _since(s.step, s.last_fired[reps, e[cols]])
    whole = _call(nodes, index)  # a bloc's alignment, presence: sums, whose order a subset could change
    return lambda s, reps, cols: _at(whole(s), reps, cols)


def _take(values: np.ndarray, reps: np.ndarray, within: np.ndarray) -> np.ndarray:
    """values[reps[f]].flat[within[f]] for each pair f, by one flat take: a gather with three index arrays
    walks numpy's general indexing machinery, two to three times slower (a few thousand pairs per step)."""
    return values.reshape(-1).take(reps * math.prod(values.shape[1:]) + within)


def _since(step: int, last: np.ndarray) -> np.ndarray:
    return np.where(last >= 0, step - last, np.inf)


def _at(value, reps: np.ndarray, cols: np.ndarray):
    """An (R, K) value, or one that broadcasts to it, at the pairs (a number stays a number)."""
    if not isinstance(value, np.ndarray):
        return value
    return value[reps if value.shape[0] > 1 else 0, cols if value.shape[1] > 1 else 0]


def _compile(nodes: list, index: Index) -> Compiled:
    node = nodes[0]
    if isinstance(node, (x.Num, x.Bool)):
        value = node.value
        return lambda s: value
    if isinstance(node, x.Param):
        name = node.name
        if name in index.varying:  # one value per replication, as a column against the instances
            return lambda s: s.varying[name][:, None]
        value = index.parameters[name]
        return lambda s: value
    if isinstance(node, x.Step):
        return lambda s: s.step
    if isinstance(node, x.Unary):
        inner = _compile([n.operand for n in nodes], index)
        op = np.logical_not if node.op == "not" else np.negative
        return lambda s: op(inner(s))
    if isinstance(node, x.Binary):
        left, right = _compile([n.left for n in nodes], index), _compile([n.right for n in nodes], index)
        op = _divide if node.op == "/" else _BINARY[node.op]
        return lambda s: op(left(s), right(s))
    if isinstance(node, x.Call):
        return _call(nodes, index)
    raise TypeError(f"cannot compile {node!r}")


def _column(names: list[str], lookup: dict) -> np.ndarray:
    return np.array([lookup[n] for n in names], dtype=np.int64)


def _call(nodes: list[x.Call], index: Index) -> Compiled:
    f, args = nodes[0].func, nodes[0].args
    if f in _MATH:
        op, parts = _MATH[f], [_compile([n.args[k] for n in nodes], index) for k in range(len(args))]
        if len(parts) == 1:
            return lambda s: op(parts[0](s))
        return lambda s: op(parts[0](s), parts[1](s))
    names = [[n.args[k].name for n in nodes] for k in range(len(args))]  # per argument, one id per instance
    if f in ("relation", "alignment"):
        i = _column(names[0], index.actors)
        if args[1].kind == "actor":
            flat = i * len(index.actors) + _column(names[1], index.actors)  # (i, j) as a column of R x N^2
            return lambda s: s.relations.reshape(len(s.relations), -1)[:, flat]  # (np.take: twice as slow)
        weights = np.zeros((len(nodes), len(index.actors)))  # row k: 1/m on the bloc's members other than i
        for k, (a, b) in enumerate(zip(i, names[1])):
            members = [m for m in index.blocs[b] if m != a]
            weights[k, members] = 1.0 / len(members) if members else 0.0
        return lambda s: np.einsum("rkn,kn->rk", s.relations[:, i, :], weights)
    if f == "attr":
        i, k = _column(names[0], index.actors), _column(names[1], index.attributes)
        return lambda s: s.attributes[:, i, k]
    if f in ("presence", "planned_presence"):
        incidence = np.zeros((len(index.slots), len(nodes)))  # slot x instance
        for k in range(len(nodes)):
            incidence[index.presence_slots(names[0][k], names[1][k] if len(args) > 1 else None), k] = 1.0
        if not incidence.any():
            return lambda s: 0.0
        field = "presence" if f == "presence" else "ramp_target"
        return lambda s: getattr(s, field) @ incidence
    if f == "same_camp":
        i, j = _column(names[0], index.actors), _column(names[1], index.actors)
        return lambda s: s.camps[:, i] == s.camps[:, j]
    e = _column(names[0], index.events)
    if f == "fired":
        return lambda s: s.fired_count[:, e] > 0
    if f == "times_fired":
        return lambda s: s.fired_count[:, e].astype(np.float64)
    if f == "since":
        return lambda s: _since(s.step, s.last_fired[:, e])
    raise TypeError(f"unknown function {f}")
