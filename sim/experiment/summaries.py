"""Typed results: what a summary says of an outcome, and how two sets of runs differ.

Frozen dataclasses: their fields cannot be reassigned (the dicts of quantiles inside are plain dicts, to
be read, not changed). Each turns into the JSON that the output files have always had (`to_json`, the
same keys in the same order) and back (`from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass

Interval = tuple[float | None, float | None]


@dataclass(frozen=True)
class Spread:
    """How an outcome varies over parameter draws (with --uncertainty): the range of the per-draw means
    that holds 90% of the draws, the share of the variance the parameters explain, and the 95% interval of
    the mean counting both the draws' and the runs' Monte Carlo error."""
    draws: int
    per_draw: int
    range90: tuple[float, float]
    parameter_share: float
    mean_ci95: tuple[float, float]

    def to_json(self) -> dict:
        return {"draws": self.draws, "per_draw": self.per_draw, "range90": list(self.range90),
                "parameter_share": self.parameter_share, "mean_ci95": list(self.mean_ci95)}

    @classmethod
    def from_json(cls, data: dict) -> Spread:
        return cls(data["draws"], data["per_draw"], tuple(data["range90"]), data["parameter_share"],
                   tuple(data["mean_ci95"]))


@dataclass(frozen=True)
class OutcomeSummary:
    """One outcome over a set of runs, as summary.json and points.csv give it.

    type "probability" (a boolean outcome) and "first_hit" (the step it first held) carry `probability`
    and its Wilson `ci95`; a first hit also the quantiles of its step and date among the runs where it
    happened. type "value" carries `mean`, `sd`, `mean_ci95` and `quantiles` over the runs that gave a
    finite number (`missing` counts the others; all None when none did)."""
    type: str
    kind: str
    description: str
    expr: str
    n: int
    probability: float | None = None
    ci95: Interval | None = None
    step_quantiles: dict[str, float] | None = None
    date_quantiles: dict[str, str] | None = None
    missing: int = 0
    mean: float | None = None
    sd: float | None = None
    mean_ci95: Interval | None = None
    quantiles: dict[str, float] | None = None
    over_parameters: Spread | None = None
    interval_covers: str = ""

    @property
    def is_value(self) -> bool:
        return self.type == "value"

    def to_json(self) -> dict:
        out = {"kind": self.kind, "description": self.description, "expr": self.expr, "n": self.n}
        if self.is_value:
            out |= {"missing": self.missing, "type": self.type, "mean": self.mean, "sd": self.sd,
                    "mean_ci95": list(self.mean_ci95 or (None, None)), "quantiles": self.quantiles}
        else:
            out |= {"type": self.type, "probability": self.probability, "ci95": list(self.ci95)}
            if self.step_quantiles is not None:
                out |= {"step_quantiles": self.step_quantiles, "date_quantiles": self.date_quantiles}
        if self.over_parameters is not None:
            out["over_parameters"] = self.over_parameters.to_json()
        out["interval_covers"] = self.interval_covers
        return out

    @classmethod
    def from_json(cls, data: dict) -> OutcomeSummary:
        spread = data.get("over_parameters")
        pair = (lambda key: tuple(data[key]) if data.get(key) is not None else None)
        return cls(data["type"], data["kind"], data["description"], data["expr"], data["n"], data.get("probability"),
                   pair("ci95"), data.get("step_quantiles"), data.get("date_quantiles"), data.get("missing", 0),
                   data.get("mean"), data.get("sd"), pair("mean_ci95"), data.get("quantiles"),
                   Spread.from_json(spread) if spread else None, data.get("interval_covers", ""))


def summaries_to_json(summaries: dict[str, OutcomeSummary]) -> dict[str, dict]:
    return {name: s.to_json() for name, s in summaries.items()}


def summaries_from_json(data: dict[str, dict]) -> dict[str, OutcomeSummary]:
    return {name: OutcomeSummary.from_json(s) for name, s in data.items()}


@dataclass(frozen=True)
class Difference:
    """Other minus base for one outcome: the difference, its 95% interval, the p-value and the test used
    (for timing: the difference of median steps, with `n` the runs it rests on and no p-value); in a
    comparison also what is compared (`measure`: probability or mean) and whether runs were paired."""
    difference: float
    ci95: tuple[float, float]
    test: str
    p_value: float | None = None
    n: int | None = None
    measure: str | None = None
    paired: bool | None = None

    def to_json(self) -> dict:
        out = {"difference": self.difference, "ci95": list(self.ci95)}
        if self.p_value is not None:
            out["p_value"] = self.p_value
        if self.n is not None:
            out["n"] = self.n
        out["test"] = self.test
        if self.measure is not None:
            out |= {"measure": self.measure, "paired": self.paired}
        return out


@dataclass(frozen=True)
class Estimate:
    """One outcome of one scenario in a comparison: a probability (booleans; first hits: that it happens,
    with the median date when it does) or a mean (values), with its 95% interval."""
    kind: str
    n: int
    estimate: float
    ci95: tuple[float, float]
    measure: str
    median_date: str | None = None

    def to_json(self) -> dict:
        out = {"kind": self.kind, "n": self.n, "estimate": self.estimate, "ci95": list(self.ci95),
               "measure": self.measure}
        return out | ({"median_date": self.median_date} if self.median_date else {})


@dataclass(frozen=True)
class Compared:
    """A scenario in a comparison: its estimates and, for a variant, what it changes against the baseline
    and how its outcomes differ (None for the baseline itself)."""
    label: str
    batch: str
    seed: int
    replications: int
    estimates: dict[str, Estimate]
    paired: bool | None = None
    changes: tuple[tuple[str, str, str], ...] | None = None
    differences: dict[str, Difference] | None = None
    timing: dict[str, Difference] | None = None

    def to_json(self) -> dict:
        out = {"label": self.label, "batch": self.batch, "seed": self.seed, "replications": self.replications,
               "estimates": {o: e.to_json() for o, e in self.estimates.items()}}
        if self.paired is not None:
            out |= {"paired": self.paired, "changes": [list(c) for c in self.changes],
                    "differences": {o: d.to_json() for o, d in self.differences.items()},
                    "timing": {o: d.to_json() for o, d in self.timing.items()}}
        return out


@dataclass(frozen=True)
class Comparison:
    """Every number of a comparison report (comparison.json): the baseline first among `scenarios`."""
    baseline: str | None
    scenarios: tuple[Compared, ...]
    outcomes: tuple[str, ...]
    sweeps: tuple[str, ...]
    descriptions: dict[str, str] | None = None
    scenario_descriptions: dict[str, str] | None = None

    def to_json(self) -> dict:
        out = {"baseline": self.baseline, "scenarios": [s.to_json() for s in self.scenarios],
               "outcomes": list(self.outcomes), "sweeps": list(self.sweeps)}
        if self.baseline is not None:
            out |= {"descriptions": self.descriptions, "scenario_descriptions": self.scenario_descriptions}
        return out


@dataclass(frozen=True)
class EventEffect:
    """Ablation: what switching one event off does to one outcome (paired, same seeds)."""
    event: str
    name: str
    outcome: str
    difference: Difference

    def to_json(self) -> dict:
        d = self.difference
        return {"event": self.event, "name": self.name, "outcome": self.outcome, "difference": d.difference,
                "ci95": list(d.ci95), "p_value": d.p_value, "test": d.test}
