"""Amounts and parties, as scenario files give them: the parts an event's effects are read from.

An amount is a number, a parameter's name (shared by every event that names it) or a distribution table;
parties are actor or bloc ids. Events (event_specs) and the effect kinds (effect_kinds/) read them here.
"""

from __future__ import annotations

import numpy as np

from sim.errors import KeyPath, did_you_mean
from sim.scenario.checks import Checker
from sim.scenario.distributions import DISTRIBUTIONS, Distribution, Named
from sim.scenario.expressions import Names

PARAMETER_HINT = "a number, a parameter name or a distribution table"
Amount = float | Distribution
Rule = tuple[tuple[str, str], str]  # two keys of which a table takes exactly one, and what to say otherwise


def amount(check: Checker, value, path: KeyPath, params: dict[str, float], lo: float | None = None):
    """A number, the name of a parameter (shared by every event that names it), or a distribution
    whose parameters are numbers or parameter names."""
    if isinstance(value, dict):
        name = value.get("dist")
        if check.string(name, path + ("dist",), choices=tuple(DISTRIBUTIONS)) is None:
            return None
        keys, validate = DISTRIBUTIONS[name].params, DISTRIBUTIONS[name].check
        for alt in DISTRIBUTIONS[name].alternatives:  # a friendlier form, e.g. a lognormal's median instead of mu
            if alt.name not in value:
                continue
            if alt.replaces in value:
                check.problem(path, f"a {name} takes '{alt.replaces}' or '{alt.name}', not both")
                return None
            given = number_or_parameter(check, value[alt.name], path + (alt.name,), params)
            if given is None or (alt.to_log and given <= 0):
                if given is not None:
                    check.problem(path + (alt.name,), f"found {given:g}, expected a {alt.name} > 0")
                return None
            converted = (Named(float(np.log(given)), given.name, log=True) if isinstance(given, Named)
                         else float(np.log(given))) if alt.to_log else given
            value = {k: v for k, v in value.items() if k != alt.name} | {alt.replaces: converted}
        check.table(value, path, ("dist",) + keys, required=keys)
        numbers = {k: number_or_parameter(check, value.get(k), path + (k,), params) for k in keys if k in value}
        if len(numbers) != len(keys) or None in numbers.values():
            return None
        message = validate(numbers)
        if message:
            check.problem(path, f"{name} distribution: {message}")
            return None
        return Distribution(name, tuple(numbers.items()))
    number = number_or_parameter(check, value, path, params)
    if number is not None and lo is not None and number < lo:
        check.problem(path, f"found {number:g}, expected a number >= {lo:g}")
        return None
    return number


def number_or_parameter(check: Checker, value, path: KeyPath, params: dict[str, float]):
    if isinstance(value, Named):  # a lognormal's mu, from a median that names a parameter
        return value
    if isinstance(value, str):
        if value in params:
            return Named(params[value], value)
        check.problem(path, f"unknown parameter '{value}'; expected {PARAMETER_HINT}" + did_you_mean(value, params))
        return None
    return check.number(value, path)


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def parties(check: Checker, value, path: KeyPath, names: Names) -> tuple[str, ...]:
    """Actor or bloc ids (a string or a list); blocs stay as named and are expanded by the model."""
    if value is None:
        check.problem(path, "missing value, expected an actor or bloc id (or a list of them)")
        return ()
    items = as_list(value)
    out = []
    for i, item in enumerate(items):
        here = path + (i,) if isinstance(value, list) else path
        ref = check.ref(item, here, "actor or bloc", names.actors + names.blocs)
        if ref:
            out.append(ref)
    return tuple(out) if len(out) == len(items) else ()


def exactly_one(check: Checker, raw: dict, path: KeyPath, rule: Rule) -> str | None:
    """Which of the rule's two keys `raw` has, or None (and the rule's problem) unless exactly one."""
    (a, b), message = rule
    if (a in raw) == (b in raw):
        check.problem(path, message)
        return None
    return a if a in raw else b
