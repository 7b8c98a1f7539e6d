import datetime as dt
import tomllib

import pytest
from conftest import DATA, SCENARIOS

from sim.errors import ScenarioError
from sim.scenario.loader import load_scenario
from sim.scenario.schema import RelationEffect

BASE = """
[meta]
name = "t"
start = 2024-01-01
steps = 10

[actors.niger]
[actors.us]

[sites.airbase_101]
host = "niger"

[presence]
us = { airbase_101 = 100 }
"""


def problems(path, overrides=()) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path):
    scenario = load_scenario(path)
    assert scenario.actors and scenario.outcomes and not scenario.warnings


def test_tiny_scenario_resolves_dates_and_defaults():
    scenario = load_scenario(DATA / "tiny.toml")
    shock = scenario.events[0]
    assert (shock.step, shock.date) == (2, dt.date(2024, 1, 15))
    assert scenario.dates[0] == dt.date(2024, 1, 1) and scenario.dates[10] == dt.date(2024, 3, 11)
    assert scenario.parameter("shock_scale") == 2.0 and scenario.parameter("camp_rate") == 0.05
    assert scenario.attribute_names == ("capability", "stability")
    assert scenario.relations[0] == (0.0, 0.5, -0.2) and scenario.relations[2][0] == -0.2


def test_typo_in_a_key_gets_did_you_mean(write_toml):
    path = write_toml(BASE + '\n[events.x]\nkind = "stochastic"\nprobabilty = 0.1\n')
    assert problems(path) == [
        f"{path}: events.x.probabilty: unknown key 'probabilty'; expected one of name, kind, date, step, "
        "probability, condition, once, cooldown, effects, mark, enabled (did you mean 'probability'?)",
        f"{path}: events.x: a stochastic event needs a 'probability' (per step)",
    ]


def test_unknown_actor_in_an_effect_names_the_key_path(write_toml):
    path = write_toml(BASE + """
[events.coup]
kind = "scheduled"
step = 1
effects = [
  { type = "relation", source = "niger", target = "us", delta = 0.1 },
  { type = "relation", source = "niger", target = "usa", delta = 0.1 },
]
""")
    assert problems(path) == [
        f"{path}: events.coup.effects[1].target: unknown actor or bloc 'usa'; expected one of niger, us "
        "(did you mean 'us'?)"]


def test_every_problem_in_a_file_is_reported(write_toml):
    path = write_toml(BASE.replace("steps = 10", 'steps = "ten"') + """
[relations.mutual]
niger = { us = 1.5 }

[events.e]
kind = "triggered"
condition = "relation(niger, us) > 0 and fired(nothing)"

[outcomes.o]
kind = "first"
expr = "presence(us, niger)"
""")
    assert problems(path) == [
        f"{path}: meta.steps: found 'ten', expected an integer",
        f"{path}: relations.mutual.niger.us: found 1.5, expected a number between -1 and 1",
        f"{path}: events.e.condition: unknown event 'nothing' in fired() at column 35 in "
        "\"relation(niger, us) > 0 and fired(nothing)\"",
        f"{path}: outcomes.o.expr: \"presence(us, niger)\" is a number expression, expected a bool expression",
    ]


def test_toml_syntax_error_gives_line_and_column(write_toml):
    path = write_toml('[meta]\nname = "t"\nsteps = = 3\n')
    assert problems(path) == [f"{path}:3:9: TOML syntax error: Invalid value"]


def test_wrong_types_and_ranges(write_toml):
    path = write_toml(BASE + """
[events.e]
kind = "scheduled"
step = 0
probability = 2
once = "yes"
effects = [{ type = "presence", actor = "us", site = "airbase_101", set = -5, over = 0 }]
""")
    assert problems(path) == [
        f"{path}: events.e.step: found 0, expected an integer >= 1",
        f"{path}: events.e.probability: found 2, expected a number between 0 and 1",
        f"{path}: events.e.effects[0].over: found 0, expected a number >= 1",
        f"{path}: events.e.effects[0].set: found -5, expected personnel >= 0",
        f"{path}: events.e.once: found 'yes', expected true or false",
    ]


def test_extends_overrides_only_what_differs_and_blames_the_right_file(write_toml, tmp_path):
    write_toml(BASE + '\n[parameters]\nnoise = 0.1\n', "base.toml")
    variant = write_toml('extends = "base.toml"\n[meta]\nname = "v"\n[parameters]\ninertia = 0.2\n'
                         '[actors.us]\nbaseline = { nigr = 0.1 }\n', "variant.toml")
    assert problems(variant) == [
        f"{variant}: actors.us.baseline.nigr: unknown actor 'nigr'; expected one of niger, us (did you mean 'niger'?)"]
    variant.write_text('extends = "base.toml"\n[meta]\nname = "v"\n[parameters]\ninertia = 0.2\n')
    scenario = load_scenario(variant)
    assert scenario.meta.name == "v" and scenario.meta.steps == 10
    assert scenario.parameter("noise") == 0.1 and scenario.parameter("inertia") == 0.2


def test_extends_cycle_is_an_error(write_toml):
    a = write_toml('extends = "b.toml"\n', "a.toml")
    write_toml('extends = "a.toml"\n', "b.toml")
    assert problems(a) == [f"{a.parent / 'b.toml'}: extends: extends itself in a cycle: a.toml -> b.toml -> a.toml"]


def test_set_overrides_values_with_the_actor_shorthand():
    scenario = load_scenario(SCENARIOS / "niger-2024.toml", [
        "parameters.balance_rate=0.08", "actors.us.resolve=0.8",
        "events.jihadist_attack.effects[1].delta.mean=-0.5", "meta.rule=landscape"])
    assert scenario.parameter("balance_rate") == 0.08
    assert scenario.actors[1].attribute("resolve") == 0.8
    effect = next(e for e in scenario.events if e.id == "jihadist_attack").effects[1]
    assert isinstance(effect, RelationEffect) and effect.delta.param("mean") == -0.5
    assert scenario.meta.rule == "landscape"
    assert scenario.content_hash != load_scenario(SCENARIOS / "niger-2024.toml").content_hash


def test_bad_set_paths_are_reported_with_did_you_mean():
    assert problems(SCENARIOS / "niger-2024.toml", ["parameter.balance_rate=0.1", "events.jihadist_attack.effects[9]=1"
                                                    ]) == [
        "--set: parameter.balance_rate: unknown key 'parameter' at parameter (did you mean 'parameters'?)",
        "--set: events.jihadist_attack.effects[9]: no item [9] here (the list has 2)",
    ]
    assert problems(SCENARIOS / "niger-2024.toml", ["events.expel[niger,usa].probability=0.5"]) == [
        "--set: templates.expel.instances.niger,usa: no instance 'niger,usa' of template 'expel'; instances are "
        "niger,us, niger,russia, niger,france, mali,wagner, chad,us, chad,russia, chad,france (did you mean 'niger,us'?)",
    ]


def test_set_value_of_the_wrong_type_names_set_as_the_source():
    assert problems(SCENARIOS / "niger-2024.toml", ["actors.us.resolve=high"]) == [
        "--set: actors.us.attributes.resolve: found 'high', expected a number"]


def test_presence_effect_needs_a_declared_slot(write_toml):
    path = write_toml(BASE + """
[events.e]
kind = "scheduled"
step = 1
effects = [{ type = "presence", actor = "niger", site = "airbase_101", set = 5 }]
""")
    assert problems(path) == [
        f"{path}: events.e.effects[0]: niger has no presence slot at airbase_101; declare it in [presence] "
        "(e.g. niger = { airbase_101 = 0 })"]


def test_actor_shorthand_works_without_an_attributes_table():
    scenario = load_scenario(DATA / "tiny.toml", ["actors.a.stability=0.25"])
    assert scenario.actors[0].attribute("stability") == 0.25


def test_missing_file_message(tmp_path):
    assert problems(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}: file not found"]


def test_one_walk_over_key_paths_says_where_a_path_stops():
    from sim.scenario.documents import KeyPathError, walk

    data = {"actors": {"us": {"attributes": {"resolve": 0.5}}}, "events": [{"delta": 1}]}
    assert walk(data, ("actors", "us", "attributes", "resolve")) == 0.5 and walk(data, ("events", 0, "delta")) == 1
    assert walk(data, ()) is data
    stops = {}
    for path in [("actors", "uss"), ("events", 3), ("actors", "us", "attributes", "resolve", "x"), ("events", "x")]:
        with pytest.raises(KeyPathError) as caught:
            walk(data, path)
        stops[path] = (caught.value.args[0], caught.value.depth, caught.value.hint)
    assert stops == {
        ("actors", "uss"): ("unknown key 'uss' at actors.uss (did you mean 'us'?)", 1, " (did you mean 'us'?)"),
        ("events", 3): ("no item [3] at events[3] (the list has 1)", 1, ""),
        ("actors", "us", "attributes", "resolve", "x"): (
            "actors.us.attributes.resolve is not a table, so it has no key 'x'", 4, ""),
        ("events", "x"): ("events is not a table, so it has no key 'x'", 1, "")}


COMPLETE_EFFECTS = {  # one complete effect of each kind, on tests/data/tiny.toml's names
    "relation": {"type": "relation", "source": "a", "target": "b", "delta": 0.1},
    "attribute": {"type": "attribute", "actor": "a", "attribute": "capability", "delta": 0.1},
    "presence": {"type": "presence", "actor": "b", "site": "base", "delta": -10},
    "follow_up": {"type": "follow_up", "event": "arrive"},
}


@pytest.mark.parametrize("kind", ["relation", "attribute", "presence", "follow_up"])
def test_what_an_effect_kind_declares_it_needs_is_what_the_loader_refuses_without(kind, tmp_path):
    """EFFECT_KINDS' needs and one_of feed the editor schema: each must be a rule the loader enforces."""
    import tomli_w

    from sim.scenario.effect_kinds import KINDS as EFFECT_KINDS

    declared = EFFECT_KINDS[kind]
    assert set(COMPLETE_EFFECTS) == set(EFFECT_KINDS) and set(COMPLETE_EFFECTS[kind]) <= set(declared.keys)

    def loads(effect) -> list[str]:
        data = tomllib.loads((DATA / "tiny.toml").read_text())
        data["events"]["extra"] = {"kind": "stochastic", "probability": 0.1, "effects": [effect]}
        path = tmp_path / "s.toml"
        path.write_text(tomli_w.dumps(data))
        try:
            load_scenario(path)
            return []
        except ScenarioError as error:
            return [p.path for p in error.problems]

    assert loads(COMPLETE_EFFECTS[kind]) == []
    for key in declared.needs:
        assert loads({k: v for k, v in COMPLETE_EFFECTS[kind].items() if k != key}), f"{kind} without {key}"
    for (a, b), message in declared.one_of:
        both = COMPLETE_EFFECTS[kind] | {a: COMPLETE_EFFECTS[kind].get(a, 0), b: COMPLETE_EFFECTS[kind].get(b, 0)}
        neither = {k: v for k, v in COMPLETE_EFFECTS[kind].items() if k not in (a, b)}
        assert loads(both) and loads(neither), f"{kind}: {message}"
