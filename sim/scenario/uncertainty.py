"""Parameter uncertainty: which of a scenario's parameters are uncertain and how to draw them.

Replications come in groups of `per_draw` that share one draw of the uncertain values (replication k
belongs to draw k // per_draw), so an outcome's spread over parameter draws and its Monte Carlo error
can be told apart (a nested design). Values are either independent distributions (a tuning config's
ranges) or rows of a joint sample (a calibration's set of plausible values), picked at random.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario.distributions import Distribution

DEFAULT_PER_DRAW = 20


@dataclass(frozen=True)
class Uncertainty:
    source: str                                   # the file it was read from, for messages and manifests
    names: tuple[str, ...]                        # scenario parameters drawn per replication group
    bounds: tuple[tuple[float, float], ...]       # draws are kept within these (a normal: mean +- 3 sd)
    distributions: tuple[Distribution, ...] = ()  # independent draws, one per name
    sample: tuple[tuple[float, ...], ...] = ()    # or a joint sample: one row per plausible set of values
    per_draw: int = DEFAULT_PER_DRAW

    def describe(self) -> list[str]:
        if self.sample:
            return [f"{name}: {len(self.sample)} joint values from {lo:.4g} to {hi:.4g}"
                    for name, (lo, hi) in zip(self.names, self.bounds)]
        return [f"{name} ~ {dist.describe()}" + (f", kept within [{lo:.4g}, {hi:.4g}]" if dist.name == "normal" else "")
                for name, dist, (lo, hi) in zip(self.names, self.distributions, self.bounds)]

    def manifest(self) -> dict:
        return {"source": self.source, "per_draw": self.per_draw, "values": self.describe(),
                "design": f"replication k uses parameter draw k // {self.per_draw}; draw j's values come from a "
                          "counter-based stream keyed by (seed, j, the parameter's name)"}


def to_json(u: Uncertainty) -> dict:
    """Everything needed to draw the same values again (a batch saves it to resume)."""
    return {"source": u.source, "names": list(u.names), "bounds": [list(b) for b in u.bounds],
            "distributions": [{"name": d.name, "params": [[k, float(v)] for k, v in d.params]}
                              for d in u.distributions],
            "sample": [list(row) for row in u.sample], "per_draw": u.per_draw}


def from_json(data: dict) -> Uncertainty:
    return Uncertainty(data["source"], tuple(data["names"]), tuple(tuple(b) for b in data["bounds"]),
                       tuple(Distribution(d["name"], tuple((k, float(v)) for k, v in d["params"]))
                             for d in data["distributions"]),
                       tuple(tuple(row) for row in data["sample"]), int(data["per_draw"]))
