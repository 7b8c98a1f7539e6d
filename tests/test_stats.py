import pytest

from sim.experiment.stats import wilson_interval


def test_wilson_interval_known_values():
    # Wilson (1927) / Newcombe (1998): 81 of 263 -> (0.2553, 0.3662)
    low, high = wilson_interval(81, 263)
    assert low == pytest.approx(0.2553, abs=1e-4) and high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_interval_at_the_edges_stays_inside_0_1():
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)
