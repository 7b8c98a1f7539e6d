"""The quantile bands from order statistics are np.quantile's bits, with either kernel."""

import numpy as np
import pytest

from sim.model.kernels import NUMPY, kernels
from sim.model.quantiles import column_quantiles
from sim.model.recorder import QUANTILES, summarise_step

VARIANTS = [NUMPY] + ([kernels("numba")] if kernels("numba").name == "numba" else [])


def _columns(rng, n, kind):
    v = rng.uniform(-1, 1, (n, 4))
    if kind == "ties":
        v = np.round(v * 3)
    elif kind == "heavy tails":
        v = rng.normal(size=(n, 4)) ** 5
    elif kind == "signed zeros":
        v[rng.random((n, 4)) < 0.3] = -0.0
        v[rng.random((n, 4)) < 0.2] = 0.0
    elif kind == "not numbers":
        v[rng.random((n, 4)) < 0.05] = rng.choice([np.inf, -np.inf, np.nan])
    elif kind == "constant":
        v[:, 1] = 100.0
        v[:, 2] = -0.0
        v[:, 3] = np.inf if n % 2 else 0.0
    return v


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda k: k.name)
@pytest.mark.parametrize("kind", ["uniform", "ties", "heavy tails", "signed zeros", "not numbers", "constant"])
@pytest.mark.parametrize("n", [1, 2, 3, 5, 20, 21, 999, 10_000])
def test_the_bands_are_np_quantile_bit_for_bit(variant, kind, n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        v = _columns(rng, n, kind)
        with np.errstate(all="ignore"):
            expected = np.quantile(v, QUANTILES, axis=0)
            assert column_quantiles(v, QUANTILES, variant.order_statistics).tobytes() == expected.tobytes()
            assert summarise_step(v, kernels=variant)[1:].tobytes() == expected.tobytes()


def test_the_cached_positions_cannot_be_changed():
    from sim.model.quantiles import positions
    with pytest.raises(ValueError):
        positions(10, (0.5,))[0][0] = 3


@pytest.mark.skipif(len(VARIANTS) == 1, reason="numba is not there")
def test_the_kernel_runs_from_numbas_cache_with_read_only_arrays(tmp_path):
    """numba's cache cannot reload a recursive kernel compiled for a second type (numba issue 6061: a
    segmentation fault or an LLVM error, as the kernel once did with read-only ranks, as positions gives)."""
    import os
    import subprocess
    import sys
    script = ("import sys, numpy as np; from sim.model.kernels import kernels\n"
              "v, r = np.arange(2000.0)[::-1].reshape(1000, 2).copy(), np.array([10, 500, 990])\n"
              "r.flags.writeable = v.flags.writeable = sys.argv[1] != 'ro'\n"
              "assert kernels('numba').order_statistics(v, r)[0].tolist() == [21.0, 1001.0, 1981.0]\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    for mode in ("rw", "ro", "ro"):
        done = subprocess.run([sys.executable, "-c", script, mode], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-500:]
