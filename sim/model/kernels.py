"""The hot loops of a step, each written twice: compiled with numba and in plain numpy.

Both variants do the same IEEE operations in the same order (no fused multiply-add, no reassociation),
so they give the same bits: numba is a speed-up, never a different model. The numba variant is used
when numba imports; `SIM_KERNELS=numpy` in the environment forces the numpy one (the tests run both
and compare them bit for bit).

- `fill_normals`: relation noise. Replication k's standard normals at step t come from a counter-based
  SplitMix64 stream keyed by (k's key, t): word w is mix(mix(key + t C) + (w + 1) G), and each 32-bit
  half of a word gives one normal through a 65,536-segment piecewise-linear inverse of the normal CDF
  (the top 16 bits choose the segment, the low 16 the point in it). The result is a normal truncated
  at +-4.3 standard deviations, with mean 0 and variance 1 to within 1e-9 (the table is symmetric; the
  point in a segment is k / 65,536, never 1).
- `local_camps`: the single-move camp search (sim.model.rules.local_camps), the fields summed in a
  fixed order, j = 0, 1, ..., N - 1.
- `uniforms`: the events' counter-based draws (sim.model.streams.EventDraws), one per firing candidate.
- `order_statistics`: the values at given ranks of each column (sim.model.quantiles: the per-step quantile
  bands); numpy partitions, the compiled kernel counts values into buckets and sorts only the few it needs.
- `weigh` and `damp`: the balance rule's Euler sub-step (sim.model.rules.kulakowski_update) around its matrix
  product, which numpy does (OpenBLAS): the weighted copy X W, and X += (1 - X^2) P h elementwise in one pass
  (numpy takes a temporary and five passes).
- `finish`: the end of a step of the balance and landscape rules (sim.model.rules): the balance rule's last
  damped update (when given: then it is done per replication in this pass, not in a pass of its own), inertia toward the
  baseline, the noise (generated in place, never stored for all replications) and the bounds, in one pass
  over each replication's relations.
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from statistics import NormalDist
from typing import Callable

import numpy as np

from sim.errors import SimError

SEGMENTS = 1 << 16
STEP_KEY = 0xD1B54A32D192ED03  # a stream's start per step (an odd constant, as SplitMix64's increment)
GOLDEN = 0x9E3779B97F4A7C15
M1, M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
SLOT_BITS = 16  # an event stream's position: step << 16 | slot (the loader caps effects per event well below)


@functools.cache
def normal_knots() -> np.ndarray:
    """q_i = Phi^-1((i + 1/2) / 65,537), i = 0..65,536, exactly antisymmetric, scaled to variance 1."""
    inverse = NormalDist().inv_cdf
    lower = np.array([inverse((i + 0.5) / (SEGMENTS + 1)) for i in range(SEGMENTS // 2)])
    q = np.concatenate([lower, [0.0], -lower[::-1]])
    a, b = q[:-1], q[1:]
    q /= np.sqrt(((a * a + a * b + b * b) / 3.0).mean())  # each segment is uniform in u, linear in x
    q.flags.writeable = False
    return q


@functools.cache
def normal_table() -> tuple[np.ndarray, np.ndarray]:
    """The knots as the start and slope of each segment (what the kernels read)."""
    q = normal_knots()
    starts, slopes = q[:-1].copy(), np.diff(q)
    starts.flags.writeable = slopes.flags.writeable = False
    return starts, slopes


# --- numpy -----------------------------------------------------------------------------------------
def mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (a bijection on 64-bit integers), elementwise and in place."""
    z ^= z >> np.uint64(30)
    z *= np.uint64(M1)
    z ^= z >> np.uint64(27)
    z *= np.uint64(M2)
    z ^= z >> np.uint64(31)
    return z


def fill_normals_numpy(keys: np.ndarray, step: int, out: np.ndarray) -> None:
    """out (R, M) float32: replication r's M normals at `step`."""
    starts, slopes = normal_table()
    r, m = out.shape
    words = (m + 1) // 2
    with np.errstate(over="ignore"):
        start = mix(keys + np.uint64(step) * np.uint64(STEP_KEY))
        z = mix(start[:, None] + np.arange(1, words + 1, dtype=np.uint64) * np.uint64(GOLDEN))
    halves = np.empty((r, words, 2), dtype=np.uint64)
    np.right_shift(z, np.uint64(32), out=halves[:, :, 0])
    np.bitwise_and(z, np.uint64(0xFFFFFFFF), out=halves[:, :, 1])
    halves = halves.reshape(r, 2 * words)[:, :m]
    segment = (halves >> np.uint64(16)).astype(np.intp)
    within = (halves & np.uint64(0xFFFF)).astype(np.float64) * (1.0 / 65536.0)
    out[...] = slopes[segment] * within + starts[segment]


def _finish_numpy(x, base, inertia, sd, do_inertia, do_noise, keys, step, pull, h, do_damp) -> bool:
    r, n, _ = x.shape
    if do_damp:
        _damp_numpy(x, pull, h, False)
    if do_inertia:
        x *= (1.0 - inertia)[:, None, None]
        x += inertia[:, None, None] * base
    if do_noise:
        normals = np.empty((r, n * n), dtype=np.float32)
        fill_normals_numpy(keys, step, normals)
        normals *= sd.astype(np.float32)[:, None]
        x += normals.reshape(r, n, n)
    np.clip(x, -1.0, 1.0, out=x)
    finite = not np.isnan(x).any()
    x[:, np.arange(n), np.arange(n)] = 0.0
    return finite


def _weigh_numpy(x, w, out) -> None:
    np.multiply(x, w[:, None, :], out=out)


def _damp_numpy(x, pull, h, zero_diagonal) -> None:
    damping = np.multiply(x, x)
    np.subtract(1.0, damping, out=damping)
    damping *= pull
    damping *= h[:, None, None]
    x += damping
    if zero_diagonal:
        n = x.shape[1]
        x[:, np.arange(n), np.arange(n)] = 0.0


def uniforms_numpy(replication_keys: np.ndarray, reps: np.ndarray, keys: np.ndarray, step: int,
                   slots: np.ndarray) -> np.ndarray:
    """The uniform of stream (replication_keys[reps[i]], keys[i]) at position (step, slots[i])."""
    with np.errstate(over="ignore"):
        state = mix(replication_keys[reps] ^ keys)  # the start of this (replication, event) stream
        position = (np.uint64(step) << np.uint64(SLOT_BITS)) + slots
        state += (position + np.uint64(1)) * np.uint64(GOLDEN)
        return (mix(state) >> np.uint64(11)) * (1.0 / (1 << 53))


def _order_statistics_numpy(values: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.partition(values, ranks, axis=0)[ranks].T)


def _local_camps_numpy(relations: np.ndarray, sizes: np.ndarray, camps: np.ndarray) -> np.ndarray:
    camps = camps.astype(np.float64, copy=True)
    n = camps.shape[1]
    self_terms = sizes * np.diagonal(relations, axis1=1, axis2=2)  # s_i p_ii: not a pair, left out
    active = np.arange(len(camps))  # replications still moving: the others are at their local minimum
    for _ in range(n * n):
        x, s, c = relations[active], sizes[active], camps[active]
        weighted = s * c
        rows = x[:, :, 0] * weighted[:, :1]  # sum_j x_ij w_j and sum_j x_ji w_j, j in order
        cols = x[:, 0, :] * weighted[:, :1]
        for j in range(1, n):
            rows += x[:, :, j] * weighted[:, j:j + 1]
            cols += x[:, j, :] * weighted[:, j:j + 1]
        field = 0.5 * (rows + cols)
        field -= self_terms[active] * c
        gain = s * c * field  # change in E if that actor switches camp
        best = gain.argmin(axis=1)
        improving = gain[np.arange(len(active)), best] < -1e-12
        if not improving.any():
            break
        active = active[improving]
        camps[active, best[improving]] *= -1
    camps *= np.where(camps[:, :1] < 0, -1.0, 1.0)
    return camps


# --- numba -----------------------------------------------------------------------------------------
@functools.cache
def _compiled():
    """The numba kernels, or None without numba (or when numba cannot work here: then the numpy ones serve,
    with the same numbers). numba compiles each kernel, or loads it from its cache, at its first call."""
    try:
        from sim.model import kernels_numba
    except ImportError:
        return None
    except Exception as error:  # e.g. no writable place for numba's cache (a read-only install)
        print(f"warning: numba cannot be used here ({type(error).__name__}: {str(error)[:120]}); the numpy kernels "
              "give the same numbers, more slowly", file=sys.stderr)
        return None
    return (kernels_numba.fill_normals, kernels_numba.finish, kernels_numba.local_camps, kernels_numba.uniforms,
            kernels_numba.order_statistics, kernels_numba.weigh, kernels_numba.damp)


# --- the two variants behind one interface ------------------------------------------------------------
@dataclass(frozen=True)
class Kernels:
    """The kernels of one variant. Both variants are called through the same conversions, so that they see
    the same types (a float32 inertia or int64 keys would otherwise be promoted differently)."""
    name: str
    fill_normals: Callable[[np.ndarray, int, np.ndarray], None]  # (keys, step, out (R, M) float32)
    finish: Callable    # (x, base, inertia, sd, do_inertia, do_noise, keys, step, damping=(pull, h) or None) -> no
    # value was NaN: the last damped update, inertia, noise, bounds
    local_camps: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (relations, sizes, camps) -> camps
    uniforms: Callable  # (replication keys, reps, keys, step, slots) -> one uniform per draw
    order_statistics: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (values (R, S), ranks) -> (S, ranks)
    weigh: Callable[[np.ndarray, np.ndarray, np.ndarray], None]  # (x (R, N, N), w (R, N), out): out = x w_j
    damp: Callable  # (x, pull, h (R,), zero_diagonal): x += (1 - x^2) pull h, in place


def _in_place(*arrays) -> None:
    """Arrays a kernel writes must be C-contiguous float64: a converted copy would be changed instead."""
    if not all(a.flags.c_contiguous and a.dtype == np.float64 for a in arrays):
        raise ValueError("the arrays a kernel changes in place must be C-contiguous float64")


def _typed(name: str, fill, finish, camps, uniforms, order_statistics, weigh, damp) -> Kernels:
    u64, f64 = np.uint64, np.float64

    def weigh_typed(x, w, out):
        _in_place(out)
        if x.shape != out.shape or w.shape != x.shape[:2]:
            raise ValueError(f"weigh: x {x.shape}, w {w.shape} and out {out.shape} do not match")
        weigh(np.asarray(x, f64), np.asarray(w, f64), out)

    def damp_typed(x, pull, h, zero_diagonal):
        _in_place(x)
        if np.shape(pull) != x.shape or np.shape(h) != x.shape[:1]:
            raise ValueError(f"damp: x {x.shape}, pull {np.shape(pull)} and h {np.shape(h)} do not match")
        damp(x, np.ascontiguousarray(pull, f64), np.asarray(h, f64), bool(zero_diagonal))

    def finish_typed(x, base, inertia, sd, do_inertia, do_noise, keys, step, damping=None) -> bool:
        _in_place(x)
        if base.shape != x.shape:
            raise ValueError(f"the baseline must be shaped as the relations {x.shape}, found {base.shape}")
        pull, h = damping if damping is not None else (x, np.zeros(len(x)))  # (unread without damping)
        if np.shape(pull) != x.shape or np.shape(h) != x.shape[:1]:
            raise ValueError(f"finish: x {x.shape}, pull {np.shape(pull)} and h {np.shape(h)} do not match")
        return bool(finish(x, np.asarray(base, f64), np.asarray(inertia, f64), np.asarray(sd, f64), bool(do_inertia),
                           bool(do_noise), np.asarray(keys, u64), int(step), np.ascontiguousarray(pull, f64),
                           np.asarray(h, f64), damping is not None))

    return Kernels(
        name,
        lambda keys, step, out: fill(np.asarray(keys, u64), int(step), out),
        finish_typed,
        lambda relations, sizes, start: camps(np.ascontiguousarray(relations, f64), np.ascontiguousarray(sizes, f64),
                                              np.array(start, f64)),
        lambda replication_keys, reps, keys, step, slots: uniforms(
            np.asarray(replication_keys, u64), np.asarray(reps, np.intp), np.asarray(keys, u64), int(step),
            np.ascontiguousarray(slots, u64)),
        lambda values, ranks: order_statistics(np.asarray(values, f64), np.asarray(ranks, np.intp)),
        weigh_typed, damp_typed)


@functools.cache
def _numba_kernels() -> Kernels | None:
    compiled = _compiled()
    if compiled is None:
        return None
    fill, finish, camps, uniforms, order_statistics, weigh, damp = compiled
    knots = normal_knots()
    return _typed("numba", lambda keys, step, out: fill(keys, step, out, knots),
                  lambda *args: finish(*args, knots), camps, uniforms, order_statistics, weigh, damp)


NUMPY = _typed("numpy", fill_normals_numpy, _finish_numpy, _local_camps_numpy, uniforms_numpy,
               _order_statistics_numpy, _weigh_numpy, _damp_numpy)
CHOICES = ("numba", "numpy")


def chosen() -> str:
    """The variant SIM_KERNELS names (numba when unset); a SimError for anything else."""
    name = os.environ.get("SIM_KERNELS") or "numba"
    if name not in CHOICES:
        raise SimError(f"environment variable SIM_KERNELS: expected numba or numpy, got {name!r}")
    return name


def kernels(name: str | None = None) -> Kernels:
    """The kernels by name; by default those SIM_KERNELS names: numba when it is there, else numpy."""
    name = name or chosen()
    if name not in CHOICES:
        raise SimError(f"kernels: expected numba or numpy, got {name!r}")
    return NUMPY if name == "numpy" else _numba_kernels() or NUMPY
