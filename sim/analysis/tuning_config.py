"""The tuning config: which values to vary (key paths, ranges, distributions), which outcomes
to analyse, replications per point and the seed; shared by sensitivity and calibration."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.errors import ScenarioError
from sim.experiment.sweep import UNSWEEPABLE, canonical_key, report_repeated_keys
from sim.scenario.checks import Checker
from sim.scenario.documents import parse_key_path, read_document

DISTS = ("uniform", "triangular", "normal")


@dataclass(frozen=True, slots=True)
class TunedValue:
    key: str
    dist: str
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        """The search range of calibration (normal: mean +- 3 sd)."""
        if self.dist == "normal":
            return (self.mean - 3 * self.sd, self.mean + 3 * self.sd)
        return (self.low, self.high)

    def salib(self) -> tuple[str, list[float]]:
        """SALib's name and bounds for this distribution."""
        if self.dist == "uniform":
            return "unif", [self.low, self.high]
        if self.dist == "triangular":
            return "triang", [self.low, self.high, (self.mode - self.low) / (self.high - self.low)]
        return "norm", [self.mean, self.sd]


@dataclass(frozen=True, slots=True)
class TuningConfig:
    path: str
    values: tuple[TunedValue, ...]
    outcomes: tuple[str, ...]
    replications: int
    seed: int
    samples: int        # sensitivity: SALib's base sample size N
    window: int         # calibration: steps either side of an observed date that count as a hit
    generations: int    # calibration: differential-evolution generations
    population: int     # calibration: population size per varied value

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(v.key for v in self.values)

    def salib_problem(self) -> dict:
        dists = [v.salib() for v in self.values]
        return {"num_vars": len(self.values), "names": list(self.keys), "bounds": [b for _, b in dists],
                "dists": [d for d, _ in dists]}


def load_tuning(path: str | Path) -> TuningConfig:
    doc = read_document(path)
    check = Checker(doc)
    raw = doc.data
    check.table(raw, (), ("tuning", "parameters"), required=("parameters",))
    head = check.table(raw.get("tuning", {}), ("tuning",), (
        "outcomes", "replications", "seed", "samples", "window", "generations", "population")) or {}
    outcomes = tuple(check.string_list(head.get("outcomes"), ("tuning", "outcomes")))
    numbers = {
        "replications": check.number(head.get("replications"), ("tuning", "replications"), lo=2, integer=True,
                                     default=200),
        "seed": check.number(head.get("seed"), ("tuning", "seed"), lo=0, integer=True, default=0),
        "samples": check.number(head.get("samples"), ("tuning", "samples"), lo=2, integer=True, default=32),
        "window": check.number(head.get("window"), ("tuning", "window"), lo=0, integer=True, default=2),
        "generations": check.number(head.get("generations"), ("tuning", "generations"), lo=1, integer=True,
                                    default=10),
        "population": check.number(head.get("population"), ("tuning", "population"), lo=2, integer=True,
                                    default=6),
    }
    values_raw = raw.get("parameters", [])
    if not isinstance(values_raw, list) or not values_raw:
        check.problem(("parameters",), "expected one or more [[parameters]] tables")
        values_raw = []
    values = [v for i, spec in enumerate(values_raw) if (v := _value(check, spec, ("parameters", i)))]
    report_repeated_keys(check, "parameters", [v.key for v in values])
    if check.problems:
        raise ScenarioError(check.problems)
    return TuningConfig(str(path), tuple(values), outcomes, **numbers)


def _value(check: Checker, spec, path) -> TunedValue | None:
    spec = check.table(spec, path, ("key", "dist", "low", "high", "mode", "mean", "sd"), required=("key",))
    if spec is None or "key" not in spec:
        return None
    key = check.string(spec["key"], path + ("key",))
    try:
        parse_key_path(key or "")
    except ValueError as error:
        check.problem(path + ("key",), str(error))
        return None
    if canonical_key(key) in UNSWEEPABLE:
        check.problem(path + ("key",), f"'{key}' cannot be tuned (the seed and replications are set in [tuning])")
        return None
    dist = check.string(spec.get("dist"), path + ("dist",), default="uniform", choices=DISTS)
    needed = {"uniform": ("low", "high"), "triangular": ("low", "high", "mode"), "normal": ("mean", "sd")}.get(dist)
    if needed is None:
        return None
    for extra in set(spec) - set(needed) - {"key", "dist"}:
        check.problem(path + (extra,), f"'{extra}' is not used by a {dist} distribution (it takes {', '.join(needed)})")
    given = {k: check.number(spec.get(k), path + (k,)) for k in needed}
    if None in given.values():
        return None
    if dist != "normal" and given["low"] >= given["high"]:
        check.problem(path, f"found low = {given['low']:g} and high = {given['high']:g}, expected low < high")
        return None
    if dist == "triangular" and not given["low"] <= given["mode"] <= given["high"]:
        check.problem(path + ("mode",), "expected low <= mode <= high")
        return None
    if dist == "normal" and given["sd"] <= 0:
        check.problem(path + ("sd",), f"found {given['sd']:g}, expected a number > 0")
        return None
    return TunedValue(key, dist, **given)
