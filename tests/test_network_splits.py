"""The camp splits at a snapshot are counted as np.unique over rows counted them, in the same order."""

import numpy as np
import pytest

from sim.model.network import split_counts


@pytest.mark.parametrize("n", [1, 2, 11, 63, 64, 70])
@pytest.mark.parametrize("r", [0, 1, 7, 5000])
def test_split_counts_are_np_unique_over_rows(n, r):
    together = np.random.default_rng(n + r).random((r, n)) < 0.8
    keys, runs = np.unique(together.astype(np.uint8), axis=0, return_counts=True)
    expected = {"".join("+" if v else "-" for v in key): int(c) for key, c in zip(keys, runs)}
    assert list(split_counts(together).items()) == list(expected.items())
