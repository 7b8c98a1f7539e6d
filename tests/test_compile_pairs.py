"""An expression read at some (replication, instance) pairs is its whole (R, K) value there, bit for bit."""

import numpy as np
import pytest

from sim.model.compile import compile_group, compile_pairs
from sim.model.model import ScenarioModel
from sim.scenario.expressions import Names, parse_expression
from sim.scenario.loader import load_scenario

SHAPES = [
    "1 - exp(-expel_rate * (expel_threshold - relation({a}, {b})) * exp(expel_stability * (0.5 - attr({a}, stability))))",
    "since({e}) * times_fired({e}) + abs(relation({b}, {a})) / step - min(0.2, alignment({a}, {bloc}))",
    "max(relation({a}, {b}), -1) + presence({a}, {site}) / 1000 - planned_presence({b}) / 1000",
    "same_camp({a}, {b}) or fired({e}) and not relation({a}, {b}) < expel_threshold",
    "deploy_rate",
    "step / 7",
]
INSTANCES = [dict(a="niger", b="us", e="coup", bloc="west", site="airbase_101"),
             dict(a="chad", b="france", e="expel[niger,us]", bloc="russia_bloc", site="chad_bases"),
             dict(a="mali", b="russia", e="ecowas_sanctions", bloc="aes", site="mali_bases")]


@pytest.fixture(scope="module")
def model():
    scenario = load_scenario("scenarios/niger-2024.toml")
    r = 300
    varying = {"expel_rate": np.linspace(0.001, 0.05, r), "deploy_rate": np.linspace(0.5, 1.0, r)}
    with np.errstate(all="ignore"):
        m = ScenarioModel(scenario, 3, r, varying=varying)
        for _ in range(60):
            m.step()
    return m


@pytest.mark.parametrize("text", SHAPES)
def test_reading_at_pairs_gives_the_whole_values_bits(model, text):
    s = model.spec
    names = Names(s.actor_ids, tuple(b.id for b in s.blocs), tuple(x.id for x in s.sites),
                  tuple(e.id for e in s.events), s.attribute_names, tuple(dict(s.parameters)))
    exprs = [parse_expression(text.format(**ids), names) for ids in INSTANCES]
    state = model.state
    rng = np.random.default_rng(0)
    reps = rng.integers(0, state.replications, 500)
    cols = rng.integers(0, len(exprs), 500)
    with np.errstate(all="ignore"):
        whole = np.broadcast_to(compile_group(exprs, model.index)(state), (state.replications, len(exprs)))
        at = compile_pairs(exprs, model.index)(state, reps, cols)
    assert np.asarray(np.broadcast_to(at, reps.shape)).tobytes() == np.ascontiguousarray(whole[reps, cols]).tobytes()
