"""Alignment rules faithful to their theory (issue 9, section 5)."""

import itertools

import numpy as np
import pytest
from conftest import DATA

from sim.model.kernels import kernels
from sim.model.model import run_scenario
from sim.model.rules import (
    RuleParameters,
    StepNoise,
    balance_substeps,
    energies,
    global_camps,
    kulakowski_update,
    landscape_update,
    local_camps,
    marvel_update,
)
from sim.scenario.loader import load_scenario


def params(rate: float, form: str = "kulakowski", cap: float = 1e6) -> RuleParameters:
    return RuleParameters(balance_rate=rate, camp_rate=0.05, inertia=0.0, noise=0.0, capability_weight=1.0,
                          shock_scale=1.0, marvel_cap=cap, balance_form=form, landscape_search="local")


def silent(r: int) -> StepNoise:
    """The noise of a step for r replications (the rules here run with noise 0, so it is never drawn)."""
    return StepNoise(np.zeros(r, dtype=np.uint64), 1, kernels())


def random_symmetric(rng, r: int, n: int) -> np.ndarray:
    x = rng.uniform(-1, 1, (r, n, n))
    x = (x + x.transpose(0, 2, 1)) / 2
    x[:, np.arange(n), np.arange(n)] = 0.0
    return x


def structurally_balanced(x: np.ndarray) -> np.ndarray:
    """Every triad's sign product is positive (and no relation is zero)."""
    s, n = np.sign(x), x.shape[1]
    triads = np.array(list(itertools.combinations(range(n), 3)))
    i, j, k = triads.T
    return (s[:, i, j] * s[:, j, k] * s[:, k, i] > 0).all(axis=1)


def sign_split(v: np.ndarray) -> np.ndarray:
    """Camps from signs, labelled so that actor 0 is in camp +1."""
    camps = np.where(v >= 0, 1.0, -1.0)
    return camps * camps[:, :1]


@pytest.mark.parametrize("n", [5, 10, 20])
@pytest.mark.parametrize("rate", [1.0, 10.0])
def test_kulakowski_form_ends_balanced_at_any_rate(n, rate):
    rng = np.random.default_rng(n)
    r = 400
    x = random_symmetric(rng, r, n)
    for _ in range(int(200 / rate) + 50):
        kulakowski_update(x, np.ones((r, n)), np.zeros((r, n, n)), params(rate), silent(r))
    assert structurally_balanced(x).mean() >= 0.99


def test_sub_steps_follow_the_stability_bound():
    assert balance_substeps(0.04, 12) == 1
    assert balance_substeps(10.0, 20) == 23  # ceil(2 * 10 * 20 / 18)
    assert balance_substeps(1.0, 2) == 4


@pytest.mark.parametrize("n", [5, 8, 12, 16, 20])
def test_marvel_form_splits_along_the_leading_eigenvector(n):
    rng = np.random.default_rng(100 + n)
    r = 500
    x0 = random_symmetric(rng, r, n)
    x = x0.copy()
    scale, frozen = np.ones(r), np.zeros(r, dtype=bool)
    for _ in range(200):
        marvel_update(x, np.ones((r, n)), np.zeros((r, n, n)), params(0.5, "marvel"),
                      silent(r), scale=scale, frozen=frozen)
        if frozen.all():
            break
    assert frozen.all() and np.abs(x).max() <= 1.0 + 1e-12 and scale.min() > 1e4
    expected = sign_split(np.linalg.eigh(x0)[1][:, :, -1])
    camps = local_camps(x, np.ones((r, n)), np.ones((r, n)))
    assert (camps == expected).all(axis=1).all()


def test_marvel_form_keeps_self_relations_and_stops_changing_when_frozen():
    rng = np.random.default_rng(7)
    x = random_symmetric(rng, 20, 6)
    scale, frozen = np.ones(20), np.zeros(20, dtype=bool)
    marvel_update(x, np.ones((20, 6)), np.zeros((20, 6, 6)), params(0.05, "marvel"),
                  silent(20), scale=scale, frozen=frozen)
    assert np.abs(np.diagonal(x, axis1=1, axis2=2)).min() > 0  # X^2 fills the diagonal: it is kept
    frozen[:] = True
    before = x.copy()
    marvel_update(x, np.ones((20, 6)), np.zeros((20, 6, 6)), params(0.05, "marvel"),
                  silent(20), scale=scale, frozen=frozen)
    np.testing.assert_array_equal(x, before)


def test_marvel_form_runs_through_the_model(write_toml):
    text = (DATA / "triad.toml").read_text().replace("[parameters]", '[parameters]\nbalance_form = "marvel"')
    result = run_scenario(load_scenario(write_toml(text)), replications=20)
    for values in result.outcomes.values():
        assert np.isfinite(values.astype(float)).all()


def brute_force(relations, sizes):
    r, n = sizes.shape
    splits = np.array([(1.0,) + c for c in itertools.product((1.0, -1.0), repeat=n - 1)])
    e = np.stack([energies(relations, sizes, np.broadcast_to(c, (r, n))) for c in splits], axis=1)
    return splits, e


@pytest.mark.parametrize("n", [2, 3, 6, 9, 12])
def test_global_search_finds_the_minimum_energy_split(n):
    rng = np.random.default_rng(n)
    r = 60
    x = rng.uniform(-1, 1, (r, n, n))
    sizes = rng.uniform(0.5, 3.0, (r, n))
    camps = global_camps(x, sizes, np.ones((r, n)))
    splits, e = brute_force(x, sizes)
    np.testing.assert_allclose(energies(x, sizes, camps), e.min(axis=1), rtol=0, atol=1e-9)
    unique = np.sort(e, axis=1)[:, 1] - e.min(axis=1) > 1e-9
    np.testing.assert_array_equal(camps[unique], splits[e.argmin(axis=1)][unique])


@pytest.mark.parametrize("n", [4, 8, 12])
def test_local_search_ends_at_a_local_minimum(n):
    rng = np.random.default_rng(n)
    r = 100
    x = rng.uniform(-1, 1, (r, n, n))
    sizes = rng.uniform(0.5, 3.0, (r, n))
    camps = local_camps(x, sizes, np.where(rng.uniform(size=(r, n)) < 0.5, 1.0, -1.0))
    here = energies(x, sizes, camps)
    for i in range(n):
        flipped = camps.copy()
        flipped[:, i] *= -1
        assert (energies(x, sizes, flipped) >= here - 1e-12).all()
    assert (energies(x, sizes, global_camps(x, sizes, camps)) <= here + 1e-12).all()


def test_options_are_checked_at_load(write_toml):
    from sim.errors import ScenarioError

    text = (DATA / "triad.toml").read_text().replace("[parameters]", '[parameters]\nbalance_form = "marvell"')
    with pytest.raises(ScenarioError) as error:
        load_scenario(write_toml(text))
    assert "parameters.balance_form: found 'marvell', expected one of kulakowski, marvel (did you mean 'marvel'?)" \
        in str(error.value)


def _local_camps_every_row(relations, sizes, camps):
    """The search as first written: every replication recomputed every round (the reference)."""
    camps = camps.astype(np.float64, copy=True)
    rows = np.arange(len(camps))
    self_terms = sizes * np.diagonal(relations, axis1=1, axis2=2)
    for _ in range(camps.shape[1] ** 2):
        weighted = (sizes * camps)[:, :, None]
        field = 0.5 * (np.matmul(relations, weighted) + np.matmul(relations.transpose(0, 2, 1), weighted))[:, :, 0]
        field -= self_terms * camps
        gain = sizes * camps * field
        best = gain.argmin(axis=1)
        improving = gain[rows, best] < -1e-12
        if not improving.any():
            break
        camps[rows[improving], best[improving]] *= -1
    camps *= np.where(camps[:, :1] < 0, -1.0, 1.0)
    return camps


@pytest.mark.parametrize("n, reps, seed", [(3, 50, 1), (8, 200, 2), (30, 40, 3), (60, 10, 4)])
def test_the_local_search_moves_only_unsettled_replications_and_finds_the_same_camps(n, reps, seed):
    rng = np.random.default_rng(seed)
    relations = rng.uniform(-1, 1, (reps, n, n))
    sizes = rng.uniform(0.5, 3, (reps, n))
    start = np.where(rng.uniform(size=(reps, n)) < 0.5, -1.0, 1.0)
    start[: reps // 2] = local_camps(relations[: reps // 2], sizes[: reps // 2], start[: reps // 2])  # half settled
    assert np.array_equal(local_camps(relations, sizes, start), _local_camps_every_row(relations, sizes, start))


def test_the_landscape_update_moves_each_relation_toward_its_camp_sign_by_the_formula():
    """x_ij += camp_rate * w_j * (c_i c_j - x_ij), then inertia toward the baseline, then the bounds."""
    rng = np.random.default_rng(11)
    r, n = 6, 5
    x = rng.uniform(-1, 1, (r, n, n))
    x[:, np.arange(n), np.arange(n)] = 0.0
    camps = np.where(rng.random((r, n)) < 0.5, 1.0, -1.0)
    weights = rng.uniform(0.2, 2.0, (r, n))
    baseline = rng.uniform(-1, 1, (r, n, n))
    p = RuleParameters(balance_rate=0.0, camp_rate=0.3, inertia=0.1, noise=0.0, capability_weight=1.0,
                       shock_scale=1.0, marvel_cap=1e6, balance_form="kulakowski", landscape_search="local")
    expected = x + 0.3 * weights[:, None, :] * (camps[:, :, None] * camps[:, None, :] - x)
    expected = np.clip(0.9 * expected + 0.1 * baseline, -1, 1)
    expected[:, np.arange(n), np.arange(n)] = 0.0
    landscape_update(x, weights, baseline, p, silent(r), camps=camps)
    np.testing.assert_allclose(x, expected, rtol=0, atol=1e-15)


def test_the_model_implements_exactly_the_rules_the_loader_accepts():
    from sim.model.rules import RULES
    from sim.scenario.parameters import RULE_OPTIONS
    from sim.scenario.schema import RULES as NAMES

    forms = RULE_OPTIONS["balance_form"][1]
    declared = {(name, form) for name in NAMES for form in (forms if name == "balance" else (None,))}
    assert set(RULES) == declared  # a rule named in the scenario layer has an update here, and no other exists
