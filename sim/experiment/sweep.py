"""Sweeps: which values of a scenario to vary, and the points (parameter settings) to run.

A sweep names values by the same key paths as `--set`, gives each a list of values or a range,
and a sampling method: full factorial (grid), Latin hypercube or Sobol (scipy.stats.qmc).
"""

from __future__ import annotations

import itertools
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import Problem, ScenarioError, format_path
from sim.scenario.checks import Checker
from sim.scenario.documents import (
    Document,
    KeyPathError,
    expand_shorthand,
    instance_path,
    parse_key_path,
    read_document,
    read_value,
    resolve_path,
    walk,
)
from sim.scenario.parameters import RULE_PARAMETERS

METHODS = ("grid", "lhs", "sobol")


@dataclass(frozen=True, slots=True)
class Vary:
    key: str
    values: tuple[float, ...] | None  # an explicit list (grid only)
    low: float | None
    high: float | None
    count: int | None  # grid: evenly spaced values between low and high
    integer: bool      # round sampled values (the key holds an integer)


@dataclass(frozen=True, slots=True)
class Sweep:
    path: str
    name: str
    method: str
    points: int | None
    replications: int | None
    seed: int
    vary: tuple[Vary, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.vary)


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file; raises ScenarioError listing every problem with its key."""
    doc = read_document(path)  # the same TOML reading and syntax errors as scenarios
    check = Checker(doc)
    raw = doc.data
    check.table(raw, (), ("sweep", "vary"), required=("vary",))
    head = check.table(raw.get("sweep", {}), ("sweep",), ("name", "method", "points", "replications", "seed")) or {}
    method = check.string(head.get("method"), ("sweep", "method"), default="grid", choices=METHODS)
    points = check.number(head.get("points"), ("sweep", "points"), lo=1, integer=True, default=0) or None
    if method == "grid" and points is not None:
        check.problem(("sweep", "points"), "a grid has one point per combination of values; 'points' is for lhs or sobol")
    if method in ("lhs", "sobol") and points is None:
        check.problem(("sweep",), f"method '{method}' needs 'points' (how many settings to sample)")
    if method == "sobol" and points and points & (points - 1):
        check.problem(("sweep", "points"), f"found {points}, expected a power of 2 for Sobol sampling")
    vary_raw = raw.get("vary", [])
    if not isinstance(vary_raw, list) or not vary_raw:
        check.problem(("vary",), "expected one or more [[vary]] tables")
        vary_raw = []
    vary = tuple(v for i, spec in enumerate(vary_raw) if (v := _vary(check, spec, ("vary", i), method)))
    report_repeated_keys(check, "vary", [v.key for v in vary])
    if check.problems:
        raise ScenarioError(check.problems)
    return Sweep(str(path), head.get("name", Path(path).stem), method, points,
                 check.number(head.get("replications"), ("sweep", "replications"), lo=1, integer=True, default=0)
                 or None, check.number(head.get("seed"), ("sweep", "seed"), lo=0, integer=True, default=0), vary)


def _vary(check: Checker, spec, path, method: str) -> Vary | None:
    spec = check.table(spec, path, ("key", "values", "low", "high", "count", "integer"), required=("key",))
    if spec is None or "key" not in spec:
        return None
    key = check.string(spec["key"], path + ("key",))
    if key is None:
        return None
    try:
        parse_key_path(key)
    except ValueError as error:
        check.problem(path + ("key",), str(error))
        return None
    if canonical_key(key) in UNSWEEPABLE:
        check.problem(path + ("key",), f"'{key}' cannot be swept: give it with --seed or --reps instead")
        return None
    integer = check.boolean(spec.get("integer"), path + ("integer",), False)
    extra = [k for k in (("low", "high", "count") if "values" in spec else ()) if k in spec]
    if method != "grid" and "count" in spec:
        extra.append("count")
    if extra:
        check.problem(path, f"'{extra[0]}' is not used here: give 'values' (grid), 'low' and 'high' with 'count' "
                            "(grid), or 'low' and 'high' (lhs, sobol)")
        return None
    if "values" in spec:
        values = spec["values"]
        if method != "grid":
            check.problem(path + ("values",), f"method '{method}' samples ranges: give 'low' and 'high'")
            return None
        if not isinstance(values, list) or not values:
            check.problem(path + ("values",), "expected a non-empty list of numbers")
            return None
        numbers = tuple(v if isinstance(v, int) and not isinstance(v, bool) else check.number(v, path + ("values", i))
                        for i, v in enumerate(values))
        return None if None in numbers else Vary(key, numbers, None, None, None, integer)
    low = check.number(spec.get("low"), path + ("low",))
    high = check.number(spec.get("high"), path + ("high",))
    if low is None or high is None:
        return None
    if low >= high:
        check.problem(path, f"found low = {low:g} and high = {high:g}, expected low < high")
        return None
    count = None
    if method == "grid":
        count = check.number(spec.get("count"), path + ("count",), lo=2, integer=True)
        if count is None:
            return None
    return Vary(key, None, low, high, count, integer)


UNSWEEPABLE = ("meta.seed", "meta.replications")


def canonical_key(key: str) -> str:
    """The key path a --set or sweep key stands for (expands actors.<id>.<attr>)."""
    return format_path(expand_shorthand(parse_key_path(key)))


def report_repeated_keys(check: Checker, section: str, keys: list[str]) -> None:
    """A value may be named once, under any spelling (actors.us.x is actors.us.attributes.x)."""
    canonical = [canonical_key(k) for k in keys]
    for i, key in enumerate(canonical):
        if key in canonical[:i]:
            check.problem((section, i, "key"), f"'{keys[i]}' is named more than once")


def point_count(sweep: Sweep) -> int:
    """How many points sweep_points will give, without making them."""
    if sweep.method != "grid":
        return sweep.points
    return math.prod(len(v.values) if v.values is not None else v.count for v in sweep.vary)


def sweep_points(sweep: Sweep) -> list[dict[str, float]]:
    """Every point of the sweep: key path -> value, in a fixed order."""
    if sweep.method == "grid":
        axes = [v.values if v.values is not None else tuple(np.linspace(v.low, v.high, v.count)) for v in sweep.vary]
        combos = list(itertools.product(*axes))
    else:
        lows = np.array([v.low for v in sweep.vary])
        highs = np.array([v.high for v in sweep.vary])
        unit = _latin_hypercube(sweep.points, len(sweep.vary), sweep.seed) if sweep.method == "lhs" \
            else _sobol(sweep.points, len(sweep.vary), sweep.seed)
        combos = [tuple(row) for row in unit * (highs - lows) + lows]  # as scipy.stats.qmc.scale
    points = []
    for combo in combos:
        point = {}
        for v, value in zip(sweep.vary, combo):
            point[v.key] = int(round(value)) if v.integer else value if isinstance(value, int) else float(value)
        points.append(point)
    return points


def _latin_hypercube(n: int, d: int, seed: int) -> np.ndarray:
    """scipy.stats.qmc.LatinHypercube(d, rng=default_rng(seed)).random(n), the same numbers (tested),
    without importing scipy.stats (0.4 s, most of a sweep's planning)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed).spawn(1)[0]))  # scipy spawns a child
    jitter = rng.uniform(size=(n, d))
    perms = np.tile(np.arange(1, n + 1), (d, 1))
    for i in range(d):
        rng.shuffle(perms[i, :])
    return (perms.T - jitter) / n


def _sobol(n: int, d: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc  # imported here: it is slow to import and only Sobol sampling needs it

    return qmc.Sobol(d=d, scramble=True, rng=np.random.default_rng(seed)).random(n)


def check_sweep_against(sweep: Sweep, doc: Document) -> None:
    check_keys(sweep.path, "vary", sweep.keys, doc)


def check_keys(source: str, section: str, keys: tuple[str, ...], doc: Document) -> None:
    """Every varied key must name an existing number in the scenario (or a parameter/attribute);
    problems name `source` and `section[i].key`."""
    problems = []
    for i, key in enumerate(keys):
        path = resolve_path(doc.data, parse_key_path(key))
        if instance_path(doc.data, parse_key_path(key)):  # one template instance: its value, or the template's
            try:
                path, node = (), read_value(doc.data, parse_key_path(key))
            except KeyError:
                problems.append(Problem(source, f"{section}[{i}].key", f"'{key}' does not name a value in "
                                                                        f"{doc.root_file}"))
                continue
        else:
            node = doc.data
        declared = set(doc.data.get("attributes", {})) | {"capability"}
        missing_ok = (len(path) == 2 and path[0] == "parameters" and path[1] in RULE_PARAMETERS) or (
            len(path) == 4 and path[2] == "attributes" and path[3] in declared)
        try:
            node = walk(node, path)
        except KeyPathError as error:
            if not (missing_ok and error.depth == len(path) - 1):
                problems.append(Problem(source, f"{section}[{i}].key",
                                        f"'{key}' does not name a value in {doc.root_file}{error.hint}"))
            node = 0.0
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            if not any(p.path == f"{section}[{i}].key" for p in problems):
                problems.append(Problem(source, f"{section}[{i}].key",
                                        f"'{key}' in {doc.root_file} is not a number, so it cannot be varied"))
    if problems:
        raise ScenarioError(problems)


def sweep_raw(sweep: Sweep) -> dict:
    with open(sweep.path, "rb") as handle:
        return tomllib.load(handle)
