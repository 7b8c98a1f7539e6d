import numpy as np
import pytest
from conftest import DATA, SCENARIOS

from sim.experiment.run_folder import event_rows
from sim.model.model import NonFiniteState, ScenarioModel, run_scenario
from sim.model.rules import local_camps as landscape_camps
from sim.scenario.loader import load_scenario
from sim.scenario.schema import PresenceEffect


@pytest.fixture(scope="module")
def tiny():
    return load_scenario(DATA / "tiny.toml")


@pytest.fixture(scope="module")
def niger():
    return load_scenario(SCENARIOS / "niger-2024.toml")


def test_a_scheduled_event_applies_its_effects_exactly(tiny):
    model = ScenarioModel(tiny, seed=1, replications=3)
    model.step()
    assert model.state.relations[:, 0, 1].tolist() == [0.5] * 3
    model.step()  # step 2: the shock (delta -0.1, doubled by shock_scale = 2)
    assert np.allclose(model.state.relations[:, 0, 1], 0.3) and np.allclose(model.state.relations[:, 1, 0], 0.3)
    assert model.state.relations[:, 0, 2].tolist() == [-0.2] * 3  # untouched
    assert model.state.attributes[:, 0, 1].tolist() == [0.9] * 3  # stability set
    assert model.state.due[:, 1].tolist() == [5] * 3  # follow-up due 3 steps later


def test_presence_withdrawal_reaches_zero_on_schedule(tiny):
    model = ScenarioModel(tiny, seed=1, replications=2, keep_trajectories=True)
    result = model.run()
    presence_b = result.trajectories[:, 0, [s.source for s in result.series].index("b")]
    # the follow-up fires at step 5 and withdraws 1000 personnel in 4 equal steps
    assert presence_b.tolist() == [1000] * 5 + [750, 500, 250, 0, 0, 0]
    assert result.outcomes["b_gone_step"].tolist() == [8, 8]
    assert result.outcomes["b_gone"].tolist() == [True, True]
    # the triggered arrival sees b gone at the start of step 9; they never share the base
    presence_c = result.trajectories[:, 0, [s.source for s in result.series].index("c")]
    assert presence_c.tolist() == [0] * 9 + [60, 60]
    assert result.outcomes["shared_weeks"].tolist() == [0, 0]
    assert np.allclose(result.outcomes["a_to_pair"], (0.3 - 0.2) / 2)


def test_event_log_trace(tiny):
    rows = [r for r in event_rows(run_scenario(tiny, replications=1)) if r[0] == 0]
    assert rows == [
        (0, 2, "2024-01-15", "shock", "shock", "scheduled for 2024-01-15",
         "relation a <-> b change -0.2; a.stability set to 0.9; schedules withdraw in 3 steps"),
        (0, 5, "2024-02-05", "withdraw", "withdraw", "follow-up of shock",
         "presence b@base set to 0 over 4 steps"),
        (0, 9, "2024-03-04", "arrive", "arrive", "condition: presence(b, a) == 0",
         "presence c@base change +60"),
    ]


def test_a_triad_under_balance_dynamics_ends_balanced():
    scenario = load_scenario(DATA / "triad.toml")
    result = run_scenario(scenario)
    assert result.outcomes["balanced"].all()
    assert np.all(result.outcomes["product"] > 0.9)


def test_landscape_camps_minimise_frustration():
    relations = np.array([[[0, 0.8, -0.7, -0.6], [0.8, 0, -0.5, -0.9], [-0.7, -0.5, 0, 0.6], [-0.6, -0.9, 0.6, 0]]])
    camps = landscape_camps(relations, np.ones((1, 4)), np.ones((1, 4)))
    assert camps.tolist() == [[1, 1, -1, -1]]


def test_same_seed_same_run_different_seed_different_run(niger):
    a, b = run_scenario(niger, seed=3, replications=50), run_scenario(niger, seed=3, replications=50)
    c = run_scenario(niger, seed=4, replications=50)
    for key in a.outcomes:
        np.testing.assert_array_equal(a.outcomes[key], b.outcomes[key])
    np.testing.assert_array_equal(a.stats, b.stats)
    assert event_rows(a) == event_rows(b) != event_rows(c)
    assert not np.array_equal(a.outcomes["niger_toward_west"], c.outcomes["niger_toward_west"])


def test_replication_alone_equals_the_same_replication_in_a_batch_of_1000(niger):
    batch = run_scenario(niger, seed=7, replications=1000)
    batch_rows = event_rows(batch)
    for k in (0, 412, 999):
        alone = run_scenario(niger, seed=7, replications=[k])
        for key, values in alone.outcomes.items():
            np.testing.assert_array_equal(values, batch.outcomes[key][[k]], err_msg=key)
        assert event_rows(alone) == [r for r in batch_rows if r[0] == k]


def test_a_replication_is_the_same_at_any_batch_offset(niger):
    whole = run_scenario(niger, seed=5, replications=20)
    part = run_scenario(niger, seed=5, replications=range(10, 20))
    for key, values in part.outcomes.items():
        np.testing.assert_array_equal(values, whole.outcomes[key][10:])


def test_niger_schedules_only_shocks_and_decisions_come_from_mechanisms(niger):
    scheduled = [e for e in niger.events if e.kind == "scheduled"]
    assert scheduled and all(e.shock for e in scheduled)
    assert not any(isinstance(f, PresenceEffect) for e in scheduled for f in e.effects)
    movers = {e.id for e in niger.events if any(isinstance(f, PresenceEffect) for f in e.effects)}
    assert movers and all(niger.events[[x.id for x in niger.events].index(m)].template for m in movers)


def test_niger_outcomes_are_not_settled_in_advance():
    """Every true/false outcome takes both values somewhere across these settings (none is 0 or 1 in all):
    unlike the old outcomes that held in every configuration, each says something."""
    settings = [(), ("parameters.expel_rate=1.0", "parameters.expel_threshold=0.3"),
                ("parameters.balance_rate=0", "parameters.inertia=0", "parameters.noise=0"),
                ("parameters.deploy_threshold=0.9", "parameters.exit_threshold=-0.9"),
                ("relations.mutual.chad.france=-0.6", "relations.mutual.chad.us=-0.6")]  # a cooler Chad
    runs = [run_scenario(load_scenario(SCENARIOS / "niger-2024.toml", list(o)), replications=300).outcomes
            for o in settings]
    for o in load_scenario(SCENARIOS / "niger-2024.toml").outcomes:
        if o.is_boolean or o.kind == "first":
            shares = {float(np.mean(~np.isnan(r[o.id]) if o.kind == "first" else r[o.id])) for r in runs}
            assert shares != {0.0} and shares != {1.0}, o.id


def test_variants_change_what_they_say():
    often = ["parameters.expel_rate=1.0", "parameters.expel_threshold=0.0"]  # the US is ordered out in most runs
    base = run_scenario(load_scenario(SCENARIOS / "niger-2024.toml", often), replications=300)
    deal = run_scenario(load_scenario(SCENARIOS / "niger-us-deal.toml", often), replications=300)
    assert deal.outcomes["us_keeps_201"].mean() > base.outcomes["us_keeps_201"].mean() + 0.3
    default = run_scenario(load_scenario(SCENARIOS / "niger-2024.toml"), replications=300)
    surge = run_scenario(load_scenario(SCENARIOS / "niger-russia-surge.toml"), replications=300)
    arrival = (lambda r: np.nanmedian(r.outcomes["russia_arrival_step"]))  # noqa: E731
    assert arrival(surge) < arrival(default) - 4  # a keener patron comes sooner


def test_a_bloc_effect_on_itself_applies_once_per_pair_and_follow_ups_can_repeat(write_toml):
    path = write_toml("""
[meta]
name = "loop"
start = 2024-01-01
steps = 9
[parameters]
balance_rate = 0.0
inertia = 0.0
noise = 0.0
[actors.a]
[actors.b]
[blocs.ab]
members = ["a", "b"]
[events.start]
kind = "scheduled"
step = 1
effects = [{ type = "follow_up", event = "tick", delay = 2 }]
[events.tick]
kind = "follow_up"
once = false
effects = [
  { type = "relation", source = "ab", target = "ab", mutual = true, delta = 0.1 },
  { type = "follow_up", event = "tick", delay = 2 },
]
""")
    scenario = load_scenario(path)
    result = run_scenario(scenario, replications=1)
    ticks = [r[1] for r in event_rows(result) if r[3] == "tick"]
    assert ticks == [3, 5, 7, 9]
    model = ScenarioModel(scenario, seed=0, replications=1)
    for _ in range(3):
        model.step()
    assert np.allclose(model.state.relations[0], [[0, 0.1], [0.1, 0]])


def test_without_bands_a_run_keeps_its_means_and_skips_the_quantiles():
    scenario = load_scenario(SCENARIOS / "niger-2024.toml")
    full = run_scenario(scenario, seed=3, replications=np.arange(50, 90))
    lean = run_scenario(scenario, seed=3, replications=np.arange(50, 90), bands=False)
    assert np.array_equal(full.stats[:, 0, :], lean.stats[:, 0, :]) and np.isnan(lean.stats[:, 1:, :]).all()
    assert all(np.array_equal(full.outcomes[k], lean.outcomes[k], equal_nan=True) for k in full.outcomes)


@pytest.mark.parametrize("overrides, drawn", [((), False), (("parameters.balance_rate=0.0",), False),
                                              (("meta.rule=landscape",), False), ((), True)])
@pytest.mark.parametrize("kernels", ["numba", "numpy"])
def test_a_relation_that_is_no_longer_a_number_stops_the_run_naming_it(monkeypatch, overrides, drawn, kernels):
    """The bounded rules report a NaN from their compiled pass (the model then skips its own check of the
    relations): the run still stops at that step, naming the replication. `drawn`: balance_rate drawn per
    replication, with 0, one and two sub-steps (replications then advance in groups)."""
    monkeypatch.setenv("SIM_KERNELS", kernels)
    varying = {"balance_rate": np.resize([0.061, 0.0, 0.6], 700)} if drawn else None
    model = ScenarioModel(load_scenario(SCENARIOS / "niger-2024.toml", list(overrides)), seed=1, replications=700,
                          varying=varying)
    model.step()
    model.state.relations[613, 2, 5] = np.nan
    with pytest.raises(NonFiniteState, match=r"^replication 613: the relations became infinite or not a number "
                                             r"at step 2 \(2023-08-08\); events that fired then: none \(and in 1 "
                                             r"of the 700 "):
        model.step()
