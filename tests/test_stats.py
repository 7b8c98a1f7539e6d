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


def test_the_mean_of_runs_has_one_interval_everywhere():
    import math

    import numpy as np

    from sim.experiment.stats import happened, mean_interval, summarise_outcome
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("tests/data/tiny.toml")
    outcome = next(o for o in scenario.outcomes if o.id == "a_to_pair")  # a number per run
    values = np.array([0.1, 0.3, 0.2, 0.6])
    low, high = summarise_outcome(outcome, values, scenario.dates).mean_ci95
    half = 1.959963984540054 * values.std(ddof=1) / 2
    assert (low, high) == pytest.approx((0.3 - half, 0.3 + half))
    assert mean_interval(float(values.mean()), float(values.std(ddof=1)), 4) == (low, high)
    assert all(math.isnan(x) for x in mean_interval(0.5, 0.0, 1))  # one run: no interval (it was [0.5, 0.5] in
    # comparisons and NaN in summaries)
    assert happened(np.array([3.0, np.nan, 0.0])).tolist() == [True, False, True]


def test_summaries_are_typed_and_read_back_from_their_json():
    import json

    import numpy as np

    from sim.experiment.stats import summarise_outcome
    from sim.experiment.summaries import OutcomeSummary
    from sim.scenario.loader import load_scenario

    scenario = load_scenario("tests/data/tiny.toml")
    rng = np.random.default_rng(3)
    draws = np.repeat(np.arange(4), 5)
    kinds = set()
    for outcome in scenario.outcomes:
        values = (rng.random(20) < 0.5 if outcome.is_boolean else
                  np.where(rng.random(20) < 0.3, np.nan, rng.integers(0, 9, 20).astype(float)))
        for given in (None, draws):
            summary = summarise_outcome(outcome, values, scenario.dates, given)
            kinds.add(summary.type)
            with pytest.raises(AttributeError):
                summary.n = 0  # frozen: a report cannot change what it was handed
            text = json.dumps(summary.to_json())
            assert OutcomeSummary.from_json(json.loads(text)) == summary
            assert (summary.over_parameters is not None) == (given is not None)
    assert kinds == {"probability", "first_hit", "value"}


def test_tables_say_when_an_outcome_has_no_finite_value():
    from sim.experiment.stats import outcome_table, side_by_side
    from sim.experiment.summaries import OutcomeSummary

    empty = OutcomeSummary("value", "final", "", "1 / 0 * 0", 0, missing=4, mean_ci95=(None, None))
    assert "no finite value" in outcome_table({"never": empty})
    assert side_by_side({"a": {"never": empty}, "b": {}}).splitlines()[-1].split() == ["never", "no", "finite",
                                                                                       "value", "-"]
