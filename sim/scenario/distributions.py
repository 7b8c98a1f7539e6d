"""Named distributions for effect sizes and delays, sampled by inverse CDF from uniforms.

Drawing through the inverse CDF lets every random quantity come from one uniform per
replication and draw site, which keeps replications independent of batch size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np


def _special():
    from scipy import special  # here, not at import: scipy costs a quarter second that `sim --help` need not pay

    return special


def _normal(u, p):
    return p["mean"] + p["sd"] * _special().ndtri(np.clip(u, 1e-12, 1 - 1e-12))


def _triangular(u, p):
    low, mode, high = p["low"], p["mode"], p["high"]
    cut = (mode - low) / (high - low)
    left = low + np.sqrt(u * (high - low) * (mode - low))
    right = high - np.sqrt((1 - u) * (high - low) * (high - mode))
    return np.where(u < cut, left, right)


@dataclass(frozen=True)
class Alternative:
    """A friendlier form of a parameter: `name` given instead of `replaces`, which is `to_log` of it when set
    (a lognormal's median, e^mu: it must then be > 0)."""
    name: str
    replaces: str
    to_log: bool = True


@dataclass(frozen=True)
class Kind:
    """A distribution: its parameters, a check on their values (an error text or None) and its inverse CDF,
    which maps uniforms in [0, 1) to draws; `alternatives` are other forms a parameter may be given in. A new
    distribution is one entry of DISTRIBUTIONS (and a test against scipy.stats' ppf in tests/test_semantics.py);
    the loader and `sim schema` read the entry."""
    params: tuple[str, ...]
    check: Callable[[dict], str | None]
    inverse_cdf: Callable[[np.ndarray, dict], np.ndarray]
    alternatives: tuple[Alternative, ...] = ()


DISTRIBUTIONS: dict[str, Kind] = {
    "normal": Kind(("mean", "sd"), lambda p: "sd must be >= 0" if p["sd"] < 0 else None, _normal),
    "uniform": Kind(("low", "high"), lambda p: "low must be <= high" if p["low"] > p["high"] else None,
                    lambda u, p: p["low"] + (p["high"] - p["low"]) * u),
    "triangular": Kind(
        ("low", "mode", "high"),
        lambda p: None if p["low"] <= p["mode"] <= p["high"] and p["low"] < p["high"]
        else "need low <= mode <= high and low < high",
        _triangular),
    "lognormal": Kind(("mu", "sigma"), lambda p: "sigma must be >= 0" if p["sigma"] < 0 else None,
                      lambda u, p: np.exp(p["mu"] + p["sigma"] * _special().ndtri(np.clip(u, 1e-12, 1 - 1e-12))),
                      (Alternative("median", "mu"),)),
    "beta": Kind(
        ("a", "b", "low", "high"),
        lambda p: "a and b must be > 0" if p["a"] <= 0 or p["b"] <= 0
        else ("low must be < high" if p["low"] >= p["high"] else None),
        lambda u, p: p["low"] + (p["high"] - p["low"]) * _special().betaincinv(p["a"], p["b"], u)),
    "exponential": Kind(("mean",), lambda p: "mean must be > 0" if p["mean"] <= 0 else None,
                        lambda u, p: -p["mean"] * np.log1p(-u)),
}


class Named(float):
    """A number read from a named parameter. The engine may give the parameter a different value in each
    replication (parameter uncertainty), so an amount keeps the name it came from; `log` marks a lognormal
    `median` stored as mu = log(median)."""

    def __new__(cls, value: float, name: str, log: bool = False):
        number = super().__new__(cls, value)
        number.name, number.log = name, log
        return number

    def __reduce__(self):
        return (Named, (float(self), self.name, self.log))

    def key(self) -> tuple:
        return (float(self), self.name, self.log)


def resolve(value: float, varying: dict, rows: np.ndarray):
    """The value of an amount (or a distribution's parameter) for the given replication rows: the
    per-replication values of its parameter when that parameter varies, else the number itself."""
    if isinstance(value, Named) and value.name in varying:
        values = varying[value.name][rows]
        return np.log(values) if value.log else values
    return float(value)


def amount_key(value) -> tuple:
    """What two amounts must share to be one amount: the number and, when it names one, the parameter."""
    if isinstance(value, Distribution):
        return (value.name,) + tuple((k, amount_key(v)) for k, v in value.params)
    return value.key() if isinstance(value, Named) else (value,)


@dataclass(frozen=True, slots=True)
class Distribution:
    name: str
    params: tuple[tuple[str, float], ...]

    def param(self, key: str) -> float:
        return dict(self.params)[key]

    def sample(self, u: np.ndarray, varying: dict | None = None, rows: np.ndarray | None = None) -> np.ndarray:
        """Map uniforms in [0, 1) to draws of this distribution (with per-replication parameter values for
        `rows` when some of its parameters vary)."""
        p = {k: resolve(v, varying, rows) for k, v in self.params} if varying else dict(self.params)
        return DISTRIBUTIONS[self.name].inverse_cdf(u, p)

    def describe(self) -> str:
        return f"{self.name}(" + ", ".join(f"{k}={v:g}" for k, v in self.params) + ")"


def amount_sample(amount: float | Distribution, u: np.ndarray) -> np.ndarray:
    if isinstance(amount, Distribution):
        return amount.sample(u)
    return np.full(u.shape, float(amount))
