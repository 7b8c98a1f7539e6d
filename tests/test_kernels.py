"""The compiled (numba) and numpy kernels give the same bits; the relation noise is a unit normal."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import SimError
from sim.model.kernels import NUMPY, kernels, normal_knots, normal_table
from sim.model.model import run_scenario
from sim.model.recorder import summarise_step, summarise_steps
from sim.model.streams import noise_keys
from sim.scenario.loader import load_scenario

numba = pytest.importorskip("numba")
NUMBA = kernels("numba")
TRANSPOSE_ABOVE = pytest.importorskip("sim.model.kernels_numba").TRANSPOSE_ABOVE


def test_numba_is_used_when_it_imports_and_the_environment_can_turn_it_off(monkeypatch):
    assert NUMBA.name == "numba"
    monkeypatch.setenv("SIM_KERNELS", "numpy")
    assert kernels() is NUMPY
    monkeypatch.setenv("SIM_KERNELS", "fortran")
    with pytest.raises(SimError, match="environment variable SIM_KERNELS: expected numba or numpy, got 'fortran'"):
        kernels()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), reps=st.lists(st.integers(0, 2**40), min_size=1, max_size=40),
       step=st.integers(0, 100_000), m=st.integers(1, 401))
def test_normals_are_the_same_bits_in_numba_and_numpy(seed, reps, step, m):
    keys = noise_keys(seed, np.array(reps))
    a, b = np.empty((len(reps), m), np.float32), np.empty((len(reps), m), np.float32)
    NUMBA.fill_normals(keys, step, a)
    NUMPY.fill_normals(keys, step, b)
    assert a.tobytes() == b.tobytes()


def test_a_replications_normals_do_not_depend_on_its_company():
    keys = noise_keys(7, np.arange(50))
    together = np.empty((50, 144), np.float32)
    NUMPY.fill_normals(keys, 3, together)
    alone = np.empty((1, 144), np.float32)
    NUMPY.fill_normals(keys[[31]], 3, alone)
    assert alone.tobytes() == together[31].tobytes()


def test_the_noise_is_a_unit_normal_truncated_beyond_four_standard_deviations():
    q = normal_knots()
    assert np.array_equal(q, -q[::-1])  # antisymmetric: mean 0
    a, b = q[:-1], q[1:]
    assert ((a * a + a * b + b * b) / 3).mean() == pytest.approx(1.0, abs=1e-12)  # variance 1
    assert 4.2 < q[-1] < 4.4
    starts, slopes = normal_table()
    assert np.allclose(starts + slopes, q[1:], rtol=0, atol=1e-15)
    sample = np.empty((2000, 500), np.float32)
    NUMBA.fill_normals(noise_keys(1, np.arange(2000)), 9, sample)
    assert abs(sample.mean()) < 0.005 and abs(sample.std() - 1) < 0.005
    assert abs(np.mean(np.abs(sample) > 1.959964) - 0.05) < 0.002  # the normal's tails, not a uniform's
    consecutive = np.corrcoef(sample[:, :-1].ravel(), sample[:, 1:].ravel())[0, 1]
    assert abs(consecutive) < 0.005


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf with specials
@settings(max_examples=60, deadline=None)
@given(r=st.integers(1, 9), n=st.integers(2, 14), seed=st.integers(0, 2**32), step=st.integers(1, 500),
       shared=st.booleans(), specials=st.booleans())
def test_finishing_a_step_is_the_same_bits_in_numba_and_numpy(r, n, seed, step, shared, specials):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (r, n, n))
    if specials:
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -0.0]
    base = rng.uniform(-1, 1, (r, n, n)) if shared else np.broadcast_to(rng.uniform(-1, 1, (n, n)), (r, n, n))
    inertia = np.full(r, 0.1) if shared else rng.uniform(0, 0.3, r) * (rng.random(r) < 0.7)
    sd = np.full(r, 0.05) if shared else rng.uniform(0, 0.2, r) * (rng.random(r) < 0.7)
    keys = noise_keys(seed, np.arange(r))
    pull, h = rng.uniform(-3, 3, (r, n, n)), rng.uniform(0, 0.05, r)
    for do_inertia, do_noise in ((True, True), (False, True), (True, False), (False, False)):
        a, b = x.copy(), x.copy()
        numbers = NUMBA.finish(a, base, inertia, sd, do_inertia, do_noise, keys, step)
        assert NUMPY.finish(b, base, inertia, sd, do_inertia, do_noise, keys, step) is numbers
        assert a.tobytes() == b.tobytes()
        assert numbers == (not np.isnan(x).any())
        # the last damped update of the balance rule, in the same pass: as if done before
        a, b, c = x.copy(), x.copy(), x.copy()
        NUMPY.damp(c, pull, h, False)
        numbers = NUMPY.finish(c, base, inertia, sd, do_inertia, do_noise, keys, step)
        assert NUMBA.finish(a, base, inertia, sd, do_inertia, do_noise, keys, step, (pull, h)) is numbers
        assert NUMPY.finish(b, base, inertia, sd, do_inertia, do_noise, keys, step, (pull, h)) is numbers
        assert a.tobytes() == b.tobytes() == c.tobytes()


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # inf - inf with specials
@settings(max_examples=60, deadline=None)
@given(r=st.integers(1, 9), n=st.integers(1, 14), seed=st.integers(0, 2**32), specials=st.booleans(),
       zero_diagonal=st.booleans())
def test_the_balance_sub_step_is_the_same_bits_in_numba_and_numpy(r, n, seed, specials, zero_diagonal):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (r, n, n))
    if specials:
        x.flat[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -0.0]
    w = rng.uniform(0, 2, (r, n))
    h = rng.uniform(0, 0.05, r) * (rng.random(r) < 0.8)
    expected = x + (1.0 - x * x) * np.matmul(x * w[:, None, :], x) * h[:, None, None]  # the rule, as written
    if zero_diagonal:
        expected[:, np.arange(n), np.arange(n)] = 0.0
    results = []
    for variant in (NUMBA, NUMPY):
        weighted, pull, y = np.empty_like(x), np.empty_like(x), x.copy()
        variant.weigh(y, w, weighted)
        np.matmul(weighted, y, out=pull)
        variant.damp(y, pull, h, zero_diagonal)
        results.append(y.tobytes())
    assert results[0] == results[1] == expected.tobytes()


@pytest.mark.parametrize("overrides", [(), ("meta.rule=landscape",), ("parameters.balance_form=marvel",)])
def test_whole_runs_are_the_same_with_and_without_numba(monkeypatch, overrides):
    scenario = load_scenario("scenarios/niger-2024.toml", list(overrides))
    runs = {}
    for name in ("numba", "numpy"):
        monkeypatch.setenv("SIM_KERNELS", name)
        runs[name] = run_scenario(scenario, replications=60, keep_trajectories=True)
    a, b = runs["numba"], runs["numpy"]
    assert a.trajectories.tobytes() == b.trajectories.tobytes()
    assert all(a.outcomes[k].tobytes() == b.outcomes[k].tobytes() for k in a.outcomes)
    assert a.first_fired.tobytes() == b.first_fired.tobytes()


@settings(max_examples=60, deadline=None)
@given(r=st.integers(1, 12), n=st.integers(2, 16), seed=st.integers(0, 2**32), nan=st.booleans(),
       repeats=st.booleans())
def test_the_camp_search_is_the_same_in_numba_and_numpy(r, n, seed, nan, repeats):
    rng = np.random.default_rng(seed)
    relations = rng.uniform(-1, 1, (r, n, n))
    sizes = rng.uniform(0, 3, (r, n)) * (rng.random((r, n)) < 0.9)  # some actors without capability
    start = np.where(rng.random((r, n)) < 0.5, 1.0, -1.0)
    if repeats:  # runs of equal replications (as at step 0), some differing only in their start or a size
        rows = np.sort(rng.integers(0, min(r, 3), r))
        relations, sizes, start = relations[rows], sizes[rows], start[rows]
        start[rng.random(r) < 0.2, 0] *= -1
        sizes[rng.random(r) < 0.2, -1] = -0.0
    if nan:
        relations[0, 0, n - 1] = np.nan
    before = start.copy()
    a, b = NUMBA.local_camps(relations, sizes, start), NUMPY.local_camps(relations, sizes, start)
    assert a.tobytes() == b.tobytes()
    assert np.array_equal(start, before)  # the start is not changed in place
    assert set(np.unique(a)) <= {-1.0, 1.0} and (a[:, 0] == 1).all()


@pytest.mark.parametrize("n", [TRANSPOSE_ABOVE, TRANSPOSE_ABOVE + 1, 90])
def test_the_camp_search_for_many_actors_is_the_same_in_numba_and_numpy(n):
    """Above TRANSPOSE_ABOVE actors the compiled search sums rows over a transposed copy: the same bits."""
    rng = np.random.default_rng(n)
    relations, sizes = rng.uniform(-1, 1, (4, n, n)), rng.uniform(0, 3, (4, n))
    relations[1] = np.round(relations[1])  # ties
    start = np.where(rng.random((4, n)) < 0.5, 1.0, -1.0)
    a, b = NUMBA.local_camps(relations, sizes, start), NUMPY.local_camps(relations, sizes, start)
    assert a.tobytes() == b.tobytes()


def test_the_camp_search_reuses_an_answer_only_for_the_same_start_bits():
    relations, sizes = np.array([[[0.0, 1.0], [1.0, 0.0]]] * 2), np.ones((2, 2))
    start = np.array([[1.0, 0.0], [1.0, -0.0]])  # equal starts, but not the same bits
    a, b = NUMBA.local_camps(relations, sizes, start), NUMPY.local_camps(relations, sizes, start)
    assert a.tobytes() == b.tobytes()


def test_runs_with_parameters_drawn_per_replication_are_the_same_with_and_without_numba(monkeypatch):
    from pathlib import Path

    from sim.analysis.uncertainty_file import load_uncertainty

    path = Path("scenarios/niger-2024.toml")
    uncertainty = load_uncertainty(Path("tuning/sahel-plausible.csv"), path, 10)
    runs = {}
    for name in ("numba", "numpy"):
        monkeypatch.setenv("SIM_KERNELS", name)
        runs[name] = run_scenario(load_scenario(path), replications=40, keep_trajectories=True, uncertainty=uncertainty)
    assert runs["numba"].trajectories.tobytes() == runs["numpy"].trajectories.tobytes()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), n=st.integers(0, 50), step=st.integers(0, 40_000), data=st.data())
def test_event_draws_are_the_same_bits_in_numba_and_numpy(seed, n, step, data):
    from sim.model.streams import replication_keys

    ids = np.arange(30)
    reps = np.array(data.draw(st.lists(st.integers(0, 29), min_size=n, max_size=n)), dtype=np.intp)
    keys = np.array(data.draw(st.lists(st.integers(0, 2**64 - 1), min_size=n, max_size=n)), dtype=np.uint64)
    slots = np.array(data.draw(st.lists(st.integers(0, 2**16 - 1), min_size=n, max_size=n)), dtype=np.uint64)
    rk = replication_keys(seed, ids)
    a, b = NUMBA.uniforms(rk, reps, keys, step, slots), NUMPY.uniforms(rk, reps, keys, step, slots)
    assert a.tobytes() == b.tobytes() and ((0 <= a) & (a < 1)).all()


def test_the_compiled_kernels_use_the_constants_of_the_numpy_ones():
    from sim.model import kernels as k
    from sim.model import kernels_numba as kn

    assert (kn.STEP_KEY, kn.GOLDEN, kn.M1, kn.M2, kn.SLOT_BITS) == (k.STEP_KEY, k.GOLDEN, k.M1, k.M2, k.SLOT_BITS)


def test_both_variants_take_the_same_types(monkeypatch):
    """A float32 inertia or int64 keys are converted before either variant sees them (the bits then agree)."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (4, 5, 5))
    args = (x, np.zeros((4, 5, 5)), np.full(4, 0.1, np.float32), np.full(4, 0.05, np.float32), True, True,
            np.arange(4, dtype=np.int64), 3)
    a, b = x.copy(), x.copy()
    NUMBA.finish(a, *args[1:])
    NUMPY.finish(b, *args[1:])
    assert a.tobytes() == b.tobytes()
    with pytest.raises(ValueError, match="the baseline must be shaped as the relations"):
        NUMBA.finish(a, np.zeros((5, 5)), *args[2:])
    with pytest.raises(ValueError, match="C-contiguous float64"):
        NUMPY.finish(a[:, :, ::-1], *args[1:])
    for variant in (NUMBA, NUMPY):
        with pytest.raises(ValueError, match="C-contiguous float64"):
            variant.weigh(x, np.ones((4, 5)), np.empty((4, 5, 5), np.float32))
        with pytest.raises(ValueError, match=r"damp: x \(4, 5, 5\), pull \(4, 5, 5\) and h \(3,\) do not match"):
            variant.damp(x.copy(), x, np.ones(3), False)
        with pytest.raises(ValueError, match=r"finish: x \(4, 5, 5\), pull \(4, 5\) and h \(4,\) do not match"):
            variant.finish(x.copy(), *args[1:], (np.ones((4, 5)), np.ones(4)))
    # a pull that is a view (transposed) is read as its values, by both
    pull, h = np.random.default_rng(6).uniform(-1, 1, (4, 5, 5)).transpose(0, 2, 1), np.full(4, 0.01)
    a, b = x.copy(), x.copy()
    NUMBA.damp(a, pull, h, True)
    NUMPY.damp(b, pull, h, True)
    assert a.tobytes() == b.tobytes()
    assert NUMBA.finish(a, *args[1:], (pull, h)) is NUMPY.finish(b, *args[1:], (pull, h)) is True
    assert a.tobytes() == b.tobytes()


@given(steps=st.integers(1, 6), reps=st.integers(1, 40), series=st.integers(1, 5), seed=st.integers(0, 2**32),
       nan=st.booleans())
@settings(max_examples=80, deadline=None)
def test_summaries_of_all_steps_at_once_are_those_of_each_step(steps, reps, series, seed, nan):
    rng = np.random.default_rng(seed)
    trajectories = rng.normal(size=(steps, reps * 2, series))[:, ::2, :]  # a strided view, as a pack's rows are
    if nan:
        trajectories[rng.integers(steps), rng.integers(reps), rng.integers(series)] = np.nan
    each = np.stack([summarise_step(np.ascontiguousarray(trajectories[t])) for t in range(steps)])
    assert np.array_equal(summarise_steps(trajectories), each, equal_nan=True)
