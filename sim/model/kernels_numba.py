"""The numba variants of sim/model/kernels.py (imported only when numba is present and wanted).

Every operation matches the numpy variant's, in the same order, so both give the same bits."""

from __future__ import annotations

import numba
import numpy as np

# The constants as literals, not imported: numba's cache keeps the values it compiled with and checks only
# this file for changes (tests/test_kernels.py checks they equal kernels.py's).
STEP_KEY = 0xD1B54A32D192ED03
GOLDEN = 0x9E3779B97F4A7C15
M1, M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
SLOT_BITS = 16

jit = numba.njit(cache=True, nogil=True)
u64 = np.uint64


@numba.njit(inline="always", cache=True)
def mix(z):
    """SplitMix64's output function (as sim.model.kernels.mix)."""
    z ^= z >> u64(30)
    z *= u64(M1)
    z ^= z >> u64(27)
    z *= u64(M2)
    z ^= z >> u64(31)
    return z


@numba.njit(inline="always", cache=True)
def normals_into(key, step, out, knots):
    """One replication's normals at `step` (as sim.model.kernels.fill_normals_numpy, row by row)."""
    m = out.shape[0]
    start = mix(key + u64(step) * u64(STEP_KEY))
    for word in range(m // 2):
        z = mix(start + u64(word + 1) * u64(GOLDEN))
        out[2 * word] = _normal(z >> u64(32), knots)
        out[2 * word + 1] = _normal(z & u64(0xFFFFFFFF), knots)
    if m % 2:
        z = mix(start + u64(m // 2 + 1) * u64(GOLDEN))
        out[m - 1] = _normal(z >> u64(32), knots)


@numba.njit(inline="always", cache=True)
def _normal(bits, knots):
    """One 32-bit word -> one normal: the top 16 bits pick the segment, the low 16 the point in it. The segment's
    start and slope are read from the knots (slope = next knot - knot, as np.diff gives the numpy variant's
    table): one table of 512 KiB, which stays in cache, instead of two."""
    segment = bits >> u64(16)
    start = knots[segment]
    return np.float32((knots[segment + u64(1)] - start) * (float(bits & u64(0xFFFF)) * (1.0 / 65536.0)) + start)


@jit
def fill_normals(keys, step, out, knots):
    """out (R, M) float32: each replication's M normals at `step`."""
    for r in range(out.shape[0]):
        normals_into(keys[r], step, out[r], knots)


@jit
def finish(x, base, inertia, sd, do_inertia, do_noise, keys, step, pull, h, do_damp, knots):
    """The balance rule's last damped update when asked (do_damp: as damp, without the diagonal, which is cleared
    at the end), inertia toward the baseline, the noise and the bounds, one replication at a time (as
    _finish_numpy). Returns whether no value was NaN before the diagonal was cleared (after the bounds nothing
    else can be infinite)."""
    r_count, n, _ = x.shape
    m = n * n
    normals = np.empty(m, dtype=np.float32)
    nan = False
    for r in range(r_count):
        xr, br = x[r].reshape(m), base[r]  # flat loops over x (contiguous): vectorised by LLVM; base may be a view
        if do_damp:  # here rather than in a pass of its own: the replication's relations are in L1 once
            _damp_row(xr, pull[r].reshape(m), h[r])
        if do_inertia:
            keep, pulled = 1.0 - inertia[r], inertia[r]
            for i in range(n):
                for j in range(n):
                    xr[i * n + j] = xr[i * n + j] * keep + pulled * br[i, j]
        if do_noise:
            normals_into(keys[r], step, normals, knots)
            scale = np.float32(sd[r])
            for k in range(m):
                xr[k] += np.float64(normals[k] * scale)
        for k in range(m):  # np.clip: NaN stays NaN
            v = xr[k]
            nan |= v != v
            v = -1.0 if v < -1.0 else v
            xr[k] = 1.0 if v > 1.0 else v
        for i in range(n):
            xr[i * n + i] = 0.0
    return not nan


@jit
def weigh(x, w, out):
    """out[r, i, j] = x[r, i, j] w[r, j] (as _weigh_numpy)."""
    r_count, n, _ = x.shape
    for r in range(r_count):
        for i in range(n):
            for j in range(n):
                out[r, i, j] = x[r, i, j] * w[r, j]


@numba.njit(inline="always", cache=True)
def _damp_row(xr, pr, hr):
    """xr += (1 - xr^2) pr hr, with numpy's operations in its order."""
    for k in range(len(xr)):
        v = xr[k]
        d = 1.0 - v * v
        d *= pr[k]
        d *= hr
        xr[k] = v + d


@jit
def damp(x, pull, h, zero_diagonal):
    """x += (1 - x^2) pull h (as _damp_numpy), in one pass."""
    r_count, n, _ = x.shape
    m = n * n
    for r in range(r_count):
        xr = x[r].reshape(m)
        _damp_row(xr, pull[r].reshape(m), h[r])
        if zero_diagonal:
            for i in range(n):
                xr[i * n + i] = 0.0


TRANSPOSE_ABOVE = 64  # actors above which the camp search reads rows from a transposed copy


@jit
def local_camps(relations, sizes, camps):
    """The single-move camp search, one replication at a time (as _local_camps_numpy); camps is changed. A
    replication whose relations, sizes and camps are the bits of the one before (all of them at step 0, where
    the search is longest) gets its answer."""
    r_count, n, _ = relations.shape
    weighted, gain, rows, cols = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    xt = np.empty((n, n))
    start = np.empty(n)
    transposed = n > TRANSPOSE_ABOVE
    bits_x, bits_s = relations.reshape(r_count, n * n).view(np.uint64), sizes.view(np.uint64)
    for r in range(r_count):
        x, s, c = relations[r], sizes[r], camps[r]
        if r > 0 and _same(bits_x[r], bits_x[r - 1]) and _same(bits_s[r], bits_s[r - 1]) and _same_start(c, start):
            c[:] = camps[r - 1]
            continue
        start[:] = c
        if transposed:
            for i in range(n):
                for j in range(n):
                    xt[j, i] = x[i, j]
        for _ in range(n * n):
            for j in range(n):
                weighted[j] = s[j] * c[j]
            # rows_i = sum_j x_ij w_j and cols_i = sum_j x_ji w_j, j in order (the same bits either way). Rows
            # along each row of x, or, for many actors, side by side over a transposed copy (faster above
            # TRANSPOSE_ABOVE actors, slower below)
            _sums_side_by_side(x, weighted, cols, n)
            if transposed:
                _sums_side_by_side(xt, weighted, rows, n)
            else:
                _sums_along(x, weighted, rows, n)
            for i in range(n):
                field = 0.5 * (rows[i] + cols[i])
                field -= s[i] * x[i, i] * c[i]
                gain[i] = s[i] * c[i] * field
            best = 0
            for i in range(n):  # numpy's argmin: the first minimum, or the first NaN
                if np.isnan(gain[i]):
                    best = i
                    break
                if gain[i] < gain[best]:
                    best = i
            if not gain[best] < -1e-12:
                break
            c[best] *= -1.0
        if c[0] < 0:
            for i in range(n):
                c[i] *= -1.0
    return camps


@numba.njit(cache=True)
def _sums_side_by_side(m, w, out, n):
    """out[i] = sum_j m[j, i] w[j], j < n in order: all i together over contiguous rows of m."""
    for i in range(n):
        out[i] = m[0, i] * w[0]
    for j in range(1, n):
        wj = w[j]
        for i in range(n):
            out[i] += m[j, i] * wj


@numba.njit(cache=True)
def _sums_along(m, w, out, n):
    """out[i] = sum_j m[i, j] w[j], j < n in order: one sum along each row of m."""
    for i in range(n):
        acc = m[i, 0] * w[0]
        for j in range(1, n):
            acc += m[i, j] * w[j]
        out[i] = acc


@numba.njit(inline="always", cache=True)
def _same(a, b):
    for k in range(len(a)):
        if a[k] != b[k]:
            return False
    return True


@numba.njit(inline="always", cache=True)
def _same_start(c, start):
    """Whether c holds start's bits: equal, with the same sign (a start of 0.0 and one of -0.0 are equal but
    give answers of different bits), and no NaN (then no reuse)."""
    for k in range(len(c)):
        if not (c[k] == start[k] and np.signbit(c[k]) == np.signbit(start[k])):
            return False
    return True


@jit
def uniforms(replication_keys, reps, keys, step, slots):
    """The events' draws (as uniforms_numpy)."""
    out = np.empty(len(reps))
    base = u64(step) << u64(SLOT_BITS)
    for i in range(len(reps)):
        state = mix(replication_keys[reps[i]] ^ keys[i])
        state += (base + slots[i] + u64(1)) * u64(GOLDEN)
        out[i] = float(mix(state) >> u64(11)) * (1.0 / (1 << 53))
    return out


BUCKETS = 1024
SORT_AT_MOST = 512  # a bucket this small is sorted; a larger one is partitioned around its wanted ranks


@numba.njit(inline="always", cache=True)
def _scale(low, high):
    """The bucket map v -> int((v - low) * scale), monotone; 0 puts everything in one bucket."""
    if not (high > low and abs(low) < np.inf and abs(high) < np.inf):
        return 0.0
    scale = (BUCKETS - 1) / (high - low)
    return scale if scale < np.inf else 0.0


@numba.njit(inline="always", cache=True)
def _bucket(v, low, scale):
    return int((v - low) * scale) if scale > 0.0 else 0


@numba.njit(cache=True)
def _bucketed(part, ranks, starts, at):
    """Count part's values per bucket (starts[b]: values before bucket b) and mark the buckets holding ranks
    (at[b] >= 0: where the bucket's values go when gathered); return the map's (low, scale) and the total."""
    low = high = part[0]
    for v in part:  # one pass for both (no NaN here) instead of min() and max(), two
        low = v if v < low else low
        high = v if v > high else high
    scale = _scale(low, high)
    starts[:] = 0
    for v in part:
        starts[_bucket(v, low, scale) + 1] += 1
    for b in range(BUCKETS):
        starts[b + 1] += starts[b]
    at[:] = -1
    for k in ranks:
        at[np.searchsorted(starts, k, side="right") - 1] = 0
    m = 0
    for b in range(BUCKETS):
        if at[b] == 0:
            at[b] = m
            m += starts[b + 1] - starts[b]
    return low, scale, m


@numba.njit(inline="always", cache=True)
def _constant(part):
    """Whether every value has part[0]'s bits (then no bucket or sort is needed, and no zero of the other sign
    is there to be picked)."""
    bits = part.view(np.uint64)
    first = bits[0]
    for b in bits:
        if b != first:
            return False
    return True


@numba.njit(cache=True)
def _select(part, ranks, out, starts, at, fill, held):
    """out[k] = the ranks[k]-th smallest of part (ranks ascending): the buckets holding wanted ranks are
    gathered into `held`; a small one is sorted, a large one (heavy tails crowd one bucket) partitioned
    around its wanted ranks, as np.partition does the whole column. (Not by bucketing it again: that
    recursion crashed numba's cache, numba issue 6061.)"""
    if _constant(part):  # every rank holds the same value (presence at one level, camps all together...)
        out[:] = part[0]
        return
    low, scale, _ = _bucketed(part, ranks, starts, at)
    fill[:] = at
    for v in part:
        b = _bucket(v, low, scale)
        if at[b] >= 0:
            held[fill[b]] = v
            fill[b] += 1
    k = 0
    while k < len(ranks):
        b = np.searchsorted(starts, ranks[k], side="right") - 1
        end = k
        while end < len(ranks) and ranks[end] < starts[b + 1]:
            end += 1
        bucket = held[at[b]:fill[b]]
        local = ranks[k:end] - starts[b]
        if bucket.min() < bucket.max():
            bucket = np.sort(bucket) if len(bucket) <= SORT_AT_MOST else np.partition(bucket, local)
        for j in range(end - k):
            out[k + j] = bucket[local[j]]
        k = end


@jit
def order_statistics(values, ranks):
    """out[s, k]: the ranks[k]-th smallest of column s of values (R, S), ranks ascending, no NaN. A column's values
    are counted into buckets by value (a monotone map: a lower bucket holds no larger value), and only the
    buckets that hold a wanted rank are gathered and sorted: two passes over a column and a few small sorts
    (a partition of the crowded bucket when heavy tails crowd most values into one). ranks must be < R."""
    r_count, s_count = values.shape
    out = np.empty((s_count, len(ranks)))
    starts = np.empty(BUCKETS + 1, dtype=np.int64)
    at, fill = np.empty(BUCKETS, dtype=np.int64), np.empty(BUCKETS, dtype=np.int64)
    column, held = np.empty(r_count), np.empty(r_count)
    for s in range(s_count):
        column[:] = values[:, s]
        _select(column, ranks, out[s], starts, at, fill, held)
    return out
