"""np.quantile(values, q, axis=0) (its default, "linear" method) with the same bits, from order statistics.

np.quantile partitions each column around a dozen ranks, which is a tenth of a step at 10,000 replications.
The value at a rank is the same whoever finds it, except which zero (+0.0 or -0.0) or which NaN lands
there: then np.quantile itself answers. The interpolation below is numpy's (_lerp in numpy/lib/
_function_base_impl.py), operation for operation; tests/test_quantiles.py checks it against np.quantile.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def positions(n: int, q: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ranks read (ascending), where each quantile's two neighbours are among them, and its weight, as
    np.quantile computes them for n values."""
    virtual = (n - 1) * np.asarray(q, dtype=np.float64)
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = following[above] = -1
    below = virtual < 0
    previous[below] = following[below] = 0
    previous, following = previous.astype(np.intp), following.astype(np.intp)
    gamma = virtual - previous
    ranks = np.unique(np.concatenate([previous, following]) % n)
    out = ranks, np.searchsorted(ranks, previous % n), np.searchsorted(ranks, following % n), gamma
    for a in out:  # cached and shared by every caller: read-only, so that no caller can change another's
        a.flags.writeable = False
    return out


def column_quantiles(values: np.ndarray, q: tuple[float, ...], order_statistics) -> np.ndarray:
    """(len(q), S) quantiles of each column of values (R, S); `order_statistics(values, ranks)` gives (S, ranks)
    (a kernel, sim/model/kernels.py)."""
    n = len(values)
    if n == 0 or np.isnan(values).any():
        return np.quantile(values, q, axis=0)
    ranks, previous, following, gamma = positions(n, tuple(q))
    stats = order_statistics(values, ranks)
    zero = stats == 0.0
    if zero.any() and _mixed_zeros(values[:, zero.any(axis=1)]):
        return np.quantile(values, q, axis=0)
    a, b = stats[:, previous].T, stats[:, following].T
    t = gamma[:, None]
    diff_b_a = b - a
    out = np.add(a, diff_b_a * t)
    np.subtract(b, diff_b_a * (1 - t), out=out, where=t >= 0.5)
    return out


def _mixed_zeros(values: np.ndarray) -> bool:
    """Whether a column holds both +0.0 and -0.0 (np.quantile may then pick either)."""
    zero = values == 0.0
    negative = np.signbit(values) & zero
    return bool((negative.any(axis=0) & (zero & ~negative).any(axis=0)).any())
