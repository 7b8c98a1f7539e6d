"""Exact effects of the parts of the language no shipped scenario uses: every distribution, the functions
abs / min / max / since / times_fired, and the mean / max / min outcomes (issue 14, section 5)."""

import tomllib

import numpy as np
import pytest
from conftest import DATA
from scipy import stats

from sim.model.model import run_scenario
from sim.scenario.distributions import Distribution
from sim.scenario.documents import Document
from sim.scenario.loader import build_scenario

U = np.concatenate([np.linspace(0.0, 1.0, 101, endpoint=False), [1e-9, 0.5, 1 - 1e-9]])


@pytest.mark.parametrize("name, params, scipy_dist", [
    ("normal", {"mean": 2.0, "sd": 0.5}, stats.norm(2.0, 0.5)),
    ("uniform", {"low": -1.0, "high": 3.0}, stats.uniform(-1.0, 4.0)),
    ("triangular", {"low": 1.0, "mode": 2.0, "high": 5.0}, stats.triang(0.25, loc=1.0, scale=4.0)),
    ("lognormal", {"mu": 0.3, "sigma": 0.7}, stats.lognorm(0.7, scale=np.exp(0.3))),
    ("beta", {"a": 2.0, "b": 5.0, "low": 1.0, "high": 3.0}, stats.beta(2.0, 5.0, loc=1.0, scale=2.0)),
    ("exponential", {"mean": 4.0}, stats.expon(scale=4.0)),
])
def test_each_distribution_is_its_inverse_cdf(name, params, scipy_dist):
    drawn = Distribution(name, tuple(params.items())).sample(U)
    inner = (U > 1e-12) & (U < 1 - 1e-12)  # the normal family clips u away from 0 and 1
    np.testing.assert_allclose(drawn[inner], scipy_dist.ppf(U[inner]), rtol=1e-9, atol=1e-12)
    assert np.isfinite(drawn).all()


def tiny_with(outcomes: dict, events: dict | None = None):
    """tests/data/tiny.toml (no dynamics: every change comes from an event) with more outcomes and events."""
    doc = tomllib.loads((DATA / "tiny.toml").read_text())
    doc["outcomes"].update(outcomes)
    doc["events"].update(events or {})
    return build_scenario(Document(doc, root_file="<tiny, extended>"))


def test_functions_and_outcome_kinds_give_the_values_worked_out_by_hand():
    # tiny: a-b starts at 0.5 and a-c at -0.2; the shock at step 2 moves a-b by -0.1 x shock_scale 2; its
    # follow-up at step 5 takes b's 1,000 out of the base over 4 steps (750, 500, 250, 0: gone at step 8);
    # then `arrive` puts 60 of c there once (step 9). The run ends at step 10.
    scenario = tiny_with({
        "since_shock": {"kind": "final", "expr": "since(shock)"},
        "shocks": {"kind": "final", "expr": "times_fired(shock)"},
        "since_arrival": {"kind": "final", "expr": "since(arrive)"},
        "never": {"kind": "final", "expr": "since(dormant)"},
        "mean_b": {"kind": "mean", "expr": "presence(b, base)"},
        "most_c": {"kind": "max", "expr": "presence(c, base)"},
        "least_ab": {"kind": "min", "expr": "relation(a, b)"},
        "spread": {"kind": "final",
                   "expr": "max(relation(a, b), relation(a, c)) - min(relation(a, b), relation(a, c))"},
        "distance": {"kind": "final", "expr": "abs(relation(a, c))"},
    }, {"dormant": {"kind": "triggered", "condition": "step > 100",
                    "effects": [{"type": "attribute", "actor": "a", "attribute": "stability", "set": 0.1}]}})
    outcomes = run_scenario(scenario, replications=3).outcomes
    expected = {"since_shock": 8, "shocks": 1, "since_arrival": 1, "mean_b": (4 * 1000 + 750 + 500 + 250) / 10,
                "most_c": 60, "least_ab": 0.3, "spread": 0.5, "distance": 0.2}
    for key, value in expected.items():
        np.testing.assert_allclose(outcomes[key], value, rtol=0, atol=1e-12, err_msg=key)
    assert np.isnan(outcomes["never"]).all()  # since() of an event that never fired has no number
