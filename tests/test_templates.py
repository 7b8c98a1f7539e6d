"""Event templates, shock kinds and the mechanism library (issue 9, sections 1-3)."""

import csv

import numpy as np
import pytest
from conftest import DATA

from sim.analysis.observed import load_observed
from sim.cli import main
from sim.errors import ScenarioError
from sim.model.events import EventEngine
from sim.model.model import ScenarioModel, run_scenario
from sim.model.streams import EventDraws, event_key
from sim.scenario.loader import load_scenario

MECH = DATA / "mechanisms.toml"

WORLD = """
[meta]
name = "w"
start = 2024-01-01
steps = 10
[parameters]
balance_rate = 0.0
inertia = 0.0
noise = 0.0
[actors.a]
kind = "state"
blocs = ["club"]
[actors.b]
kind = "state"
[actors.c]
kind = "power"
blocs = ["club"]
[actors.d]
kind = "power"
[blocs.club]
[sites.base_a]
host = "a"
[sites.base_b]
host = "b"
[presence]
c = { base_a = 10, base_b = 5 }
d = { base_a = 0 }
"""


def ids(text, write_toml):
    return [e.id for e in load_scenario(write_toml(WORLD + text)).events]


def problems(text, write_toml):
    path = write_toml(WORLD + text)
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    return [str(p).replace(f"{path}: ", "") for p in error.value.problems]


@pytest.mark.parametrize("selector, expected", [
    ('{ kind = "state" }', ["t[a]", "t[b]"]),
    ('{ bloc = "club" }', ["t[a]", "t[c]"]),
    ('["d", "b"]', ["t[b]", "t[d]"]),  # file order, whatever the list's order
    ('{ hosts_sites = true }', ["t[a]", "t[b]"]),
    ('{ present_in = "b" }', ["t[c]"]),
    ('{ hosting = "d" }', ["t[a]"]),
    ('{ kind = "power", except = ["d"] }', ["t[c]"]),
    ('{ except_bloc = "club" }', ["t[b]", "t[d]"]),
])
def test_each_selector_picks_its_actors(selector, expected, write_toml):
    text = f'[templates.t]\nfor = {{ x = {selector} }}\nkind = "triggered"\ncondition = "relation({{x}}, a) > 5"\n'
    assert ids(text, write_toml) == expected


def test_pairwise_templates_nest_in_order_and_skip_self_pairs(write_toml):
    text = ('[templates.p]\nfor = { host = { hosts_sites = true }, force = { present_in = "{host}" } }\n'
            'kind = "stochastic"\nprobability = 0.1\n'
            '[templates.q]\nfor = { i = { kind = ["state", "power"] }, j = { kind = ["state", "power"] } }\n'
            'kind = "stochastic"\nprobability = 0.1\n')
    got = ids(text, write_toml)
    assert got[:3] == ["p[a,c]", "p[a,d]", "p[b,c]"]
    assert len(got) == 3 + 4 * 3 and "q[a,a]" not in got and got[3:6] == ["q[a,b]", "q[a,c]", "q[a,d]"]


def test_placeholders_fill_name_condition_probability_and_effects(write_toml):
    path = write_toml(WORLD + """
[parameters.p]
[templates.leave]
for = { host = ["a"], force = { present_in = "{host}" } }
with = { club = "club" }
name = "{force} leaves {host}"
kind = "triggered"
condition = "presence({force}, {host}) > 0 and relation({host}, {force}) < 0"
probability = "0.5 + 0 * alignment({host}, {club})"
effects = [
  { type = "presence", actor = "{force}", host = "{host}", set = 0, over = 2 },
  { type = "relation", source = "{host}", target = "{club}", delta = -0.1 },
]
""".replace("[parameters.p]\n", ""))
    scenario = load_scenario(path)
    (event, _) = scenario.events
    assert (event.id, event.name, event.bindings) == ("leave[a,c]", "c leaves a", (("club", "club"), ("host", "a"),
                                                                                   ("force", "c")))
    assert event.condition.text == "presence(c, a) > 0 and relation(a, c) < 0"
    assert event.probability.text == "0.5 + 0 * alignment(a, club)"
    assert (event.effects[0].actor, event.effects[0].host, event.effects[1].targets) == ("c", "a", ("club",))


@pytest.mark.parametrize("text, message", [
    ('[templates.t]\nfor = { x = { kind = "rebel" } }\nkind = "triggered"\ncondition = "true"\n',
     "templates.t.for.x.kind: no actor is of kind 'rebel'; kinds in this scenario: power, state"),
    ('[templates.t]\nfor = { x = { present_in = "d" } }\nkind = "triggered"\ncondition = "true"\n',
     "templates.t.for.x: the selector for '{x}' matches no actor"),
    ('[templates.t]\nfor = { x = ["a"], y = { present_in = "{x}", kind = "state" } }\nkind = "triggered"\n'
     'condition = "true"\n',
     "templates.t.for: the selectors match nothing together: the template has no instance"),
    ('[templates.t]\nfor = { x = ["a"] }\nkind = "triggered"\ncondition = "relation({x}, {y}) > 0"\n',
     "templates.t.condition: unknown placeholder '{y}'; expected one of {x}"),
    ('[templates.t]\nfor = { x = { present_in = "{y}" } }\nkind = "triggered"\ncondition = "true"\n',
     "templates.t.for.x.present_in: '{y}' is not a placeholder bound before this one (bound: none yet)"),
    ('[templates.t]\nfor = { x = ["a"] }\nkind = "triggered"\ncondition = "true"\n'
     '[events."t[a]"]\nkind = "triggered"\ncondition = "true"\n',
     "events.t[a]: 't[a]' clashes with an instance of template 't'; to change one instance, use "
     '[templates.t.instances."a"]'),
    ('[templates.t]\nfor = { x = ["a"] }\nkind = "scheduled"\n',
     'templates.t.kind: a template cannot be scheduled: scheduled events are given shocks (write them as events '
     'with shock = "<kind>")'),
    ('[templates.t]\nfor = { x = ["a"] }\nkind = "triggered"\ncondition = "true"\n'
     '[templates.t.instances."b"]\nprobability = 0.5\n',
     "templates.t.instances.b: no instance 'b' of template 't'; instances are a"),
    ('[templates.t]\nfor = { x = ["a", "b"] }\nkind = "triggered"\ncondition = "relation({x}, zz) > 0"\n',
     "templates.t.condition: unknown actor or bloc 'zz' in relation() at column 13 in \"relation(a, zz) > 0\" "
     "(in t[a])"),
])
def test_template_mistakes_name_the_key_path(text, message, write_toml):
    assert problems(text, write_toml) == [message]


def test_instance_ids_work_in_expressions_follow_ups_and_observed_files(write_toml, tmp_path):
    path = write_toml(WORLD + """
[templates.go]
for = { host = { hosts_sites = true }, force = { present_in = "{host}" } }
kind = "triggered"
condition = "presence({force}, {host}) > 0 and step >= 2"
effects = [{ type = "follow_up", event = "gone[{host}, {force}]", delay = 3 }]
[templates.gone]
for = { host = { hosts_sites = true }, force = { present_in = "{host}" } }
kind = "follow_up"
effects = [{ type = "presence", actor = "{force}", host = "{host}", set = 0 }]
[outcomes.gone_a_c]
kind = "first"
expr = "fired(gone[a, c])"
[outcomes.since_b]
expr = "since(go[b,c])"
""")
    result = run_scenario(load_scenario(path), seed=1, replications=3)
    assert list(result.outcomes["gone_a_c"]) == [5, 5, 5]  # go at step 2, gone three steps later
    assert list(result.outcomes["since_b"]) == [8, 8, 8]
    observed = tmp_path / "o.csv"
    observed.write_text('kind,id,date,value,description\nevent,"gone[a, c]",2024-02-05,true,x\n')
    (row,) = load_observed(observed, load_scenario(path))
    assert row.id == "gone[a,c]"


def test_set_reaches_one_instance_or_the_template(write_toml):
    path = write_toml(WORLD + '[templates.t]\nfor = { x = ["a", "b"] }\nkind = "stochastic"\nprobability = 0.1\n'
                              'effects = [{ type = "relation", source = "{x}", target = "d", delta = -0.1 }]\n')
    one = load_scenario(path, ["events.t[b].probability=0.7", "events.t[a].effects[0].delta=-0.3"])
    assert [e.probability for e in one.events] == [0.1, 0.7]
    assert [e.effects[0].delta for e in one.events] == [-0.3, -0.1]
    shared = load_scenario(path, ["templates.t.probability=0.4"])
    assert [e.probability for e in shared.events] == [0.4, 0.4]
    off = load_scenario(path, ["events.t[a].enabled=false"])
    assert [e.enabled for e in off.events] == [False, True]


def test_show_prints_the_expansion(capsys):
    assert main(["show", str(MECH)]) == 0
    out = capsys.readouterr().out
    assert "#   expel (from <mechanism expulsion>): expel[h1,west1], expel[h1,east], expel[h2,west1]" in out
    assert main(["show", str(MECH), "--expanded"]) == 0
    out = capsys.readouterr().out
    assert '[events."expel[h2,west1]"]' in out and "[templates." not in out
    assert 'condition = "planned_presence(west1, h2) > 0 and relation(h2, west1) < expel_threshold"' in out


# --- shocks ---------------------------------------------------------------------------------------
def test_shocks_of_one_kind_share_their_effects(write_toml):
    path = write_toml(WORLD.replace("noise = 0.0", "noise = 0.0\ncoup_shift = -0.3") + """
[shocks.coup]
name = "Coup in {country}"
effects = [{ type = "relation", source = "{country}", target = "club", mutual = true, delta = "coup_shift" }]
[events.coup_a]
kind = "scheduled"
step = 1
shock = "coup"
with = { country = "b" }
[events.coup_b]
kind = "scheduled"
step = 2
shock = "coup"
with = { country = "d" }
""")
    scenario = load_scenario(path)
    assert [(e.name, e.shock, e.given, e.effects[0].delta) for e in scenario.events] == [
        ("Coup in b", "coup", True, -0.3), ("Coup in d", "coup", True, -0.3)]
    moved = load_scenario(path, ["parameters.coup_shift=-0.1"])
    assert {e.effects[0].delta for e in moved.events} == {-0.1}


def test_a_shock_with_its_own_effects_is_refused(write_toml):
    text = ('[shocks.coup]\neffects = []\n[events.x]\nkind = "scheduled"\nstep = 1\nshock = "coup"\n'
            'effects = [{ type = "relation", source = "a", target = "b", delta = -0.9 }]\n')
    assert problems(text, write_toml) == [
        "events.x.effects: a shock takes its effects from shocks.coup, so that every coup shares its magnitudes; "
        "remove 'effects' here"]


# --- mechanisms -------------------------------------------------------------------------------------
def test_mechanisms_expand_with_the_scenarios_bindings():
    scenario = load_scenario(MECH)
    by_template = {t.id: t.instances for t in scenario.templates}
    assert by_template["deploy"] == ("deploy[h1,east]",)  # west1 is a rival, so it is no patron
    assert by_template["quit"] == ("quit[h1,org]", "quit[h2,org]")
    assert scenario.parameter("expel_rate") == 0.3 and scenario.attribute_names[1:] == ("stability", "resolve")


def test_a_mechanism_without_its_roles_is_refused(write_toml):
    assert problems("[mechanisms.patron_deployment]\n", write_toml) == [
        "mechanisms.patron_deployment.with.rivals: missing; the patron_deployment mechanism needs 'rivals': a bloc "
        "(e.g. the West) whose presence in the host deters the patron until it is gone or going"]
    assert problems("[mechanisms.expulsions]\n", write_toml) == [
        "mechanisms.expulsions: unknown mechanism 'expulsions'; expected one of bloc_exit, departure, expulsion, "
        "patron_deployment, withdrawal (did you mean 'expulsion'?)"]


def test_mechanisms_play_out_expulsion_withdrawal_and_deployment():
    result = run_scenario(load_scenario(MECH), replications=400)
    out = result.outcomes
    assert out["west_out_h1"].mean() > 0.9  # h1 (hostile, unstable) expels west1 ...
    assert np.mean(~np.isnan(out["east_in"])) > 0.9  # ... and east moves in
    assert out["left"].mean() > 0.9
    assert np.allclose(out["h2_to_west"], 0.1)  # the coup shock: 0.3 - 0.2, nothing else moves it


def test_grouped_instances_give_the_same_numbers_as_one_by_one():
    scenario = load_scenario(MECH)

    def run(grouped: bool):
        model = ScenarioModel(scenario, 5, 300)
        model.events = EventEngine(scenario, model.index, model.params, grouped=grouped)
        return model.run()

    model = ScenarioModel(scenario, 5, 1)
    assert len(model.events.groups) < len(EventEngine(scenario, model.index, model.params, grouped=False).groups)
    together, alone = run(True), run(False)
    for o in scenario.outcomes:
        np.testing.assert_array_equal(together.outcomes[o.id], alone.outcomes[o.id])


# --- common random numbers -----------------------------------------------------------------------------
def firing_log(result):
    return sorted((int(r), f.step, result.scenario.events[e].id) for f in result.firings
                  for r, e in zip(f.reps, f.events))


def test_adding_or_disabling_an_event_leaves_every_other_events_draws(write_toml):
    scenario = load_scenario(MECH)
    draws, reps = EventDraws(3, np.arange(50)), np.arange(50)
    before = {e.id: [draws.uniforms(reps, np.full(50, event_key(e.id)), t, k) for t in (1, 7) for k in range(3)]
              for e in scenario.events}
    text = MECH.read_text()
    for variant in (text + '[events.extra]\nkind = "stochastic"\nprobability = 0.5\n',  # a new event, effect-less
                    text.replace("[mechanisms.bloc_exit]", "[mechanisms.bloc_exit]\nenabled = false")):
        other = load_scenario(write_toml(variant))
        again = EventDraws(3, np.arange(50))
        for e in other.events:
            if e.id in before:
                got = [again.uniforms(reps, np.full(50, event_key(e.id)), t, k) for t in (1, 7) for k in range(3)]
                assert all(np.array_equal(a, b) for a, b in zip(before[e.id], got))


def test_an_added_event_without_effects_changes_no_other_firing(write_toml):
    base = run_scenario(load_scenario(MECH), replications=200)
    added = run_scenario(load_scenario(write_toml(
        '[events.extra]\nkind = "stochastic"\nprobability = 0.5\n'.join([MECH.read_text(), ""]))), replications=200)
    assert [row for row in firing_log(added) if row[2] != "extra"] == firing_log(base)
    one_off = run_scenario(load_scenario(MECH, ["events.quit[h2,org].enabled=false"]), replications=200)
    assert [row for row in firing_log(base) if row[2] != "quit[h2,org]"] == firing_log(one_off)


def test_events_csv_names_instances(tmp_path):
    assert main(["run", str(MECH), "--reps", "20", "--out", str(tmp_path), "--no-plots", "--events", "csv"]) == 0
    (folder,) = (tmp_path / "mechanisms").iterdir()
    rows = list(csv.DictReader((folder / "events.csv").open()))
    withdraw = next(r for r in rows if r["event"] == "withdraw[h1,west1]")
    assert withdraw["why"] in ("follow-up of expel[h1,west1]", "follow-up of depart[h1,west1]")
    assert withdraw["effects"].startswith("presence west1@h1 set to 0 over ")


# --- edge cases found in review ---------------------------------------------------------------------------
def test_when_instances_make_one_event_due_the_earliest_wins(write_toml):
    """Two instances of one group make `bell` due in the same step with their own drawn delays."""
    path = write_toml(WORLD + """
[templates.call]
for = { x = ["a", "b", "c"] }
kind = "triggered"
condition = "step == 1"
effects = [{ type = "follow_up", event = "bell", delay = { dist = "uniform", low = 1, high = 9 } }]
[events.bell]
kind = "follow_up"
[outcomes.rang]
kind = "first"
expr = "fired(bell)"
""")
    scenario = load_scenario(path)
    draws = EventDraws(1, np.arange(50))
    delays = [np.maximum(1, np.rint(1 + 8 * draws.uniforms(np.arange(50), np.full(50, event_key(f"call[{x}]")), 1, 1)))
              for x in "abc"]
    expected = 1 + np.min(delays, axis=0)
    for grouped in (True, False):
        model = ScenarioModel(scenario, 1, 50)
        model.events = EventEngine(scenario, model.index, model.params, grouped=grouped)
        np.testing.assert_array_equal(model.run().outcomes["rang"], expected)


def test_a_template_too_large_stops_with_a_message(write_toml):
    actors = "".join(f"[actors.x{i}]\n" for i in range(20))
    path = write_toml('[meta]\nname = "big"\nstart = 2024-01-01\nsteps = 2\n' + actors +
                      '[templates.t]\nfor = { a = { kind = "state" }, b = { kind = "state" }, c = { kind = "state" }, '
                      'd = { kind = "state" } }\nkind = "stochastic"\nprobability = 0.1\n')
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert str(error.value) == f"{path}: templates.t.for: expands to more than 100,000 events"


def test_set_on_a_mechanism_table_is_refused():
    with pytest.raises(ScenarioError) as error:
        load_scenario(MECH, ["mechanisms.expulsion.enabled=false"])
    assert str(error.value).startswith("--set: mechanisms.expulsion.enabled: the mechanisms are merged before --set "
                                       "applies, so this would change nothing")


def test_follow_ups_that_schedule_each_other_are_not_settled(write_toml, tmp_path):
    from sim.analysis.observed import settled_by_shocks

    path = write_toml(WORLD + '[events.ping]\nkind = "follow_up"\neffects = [{ type = "follow_up", event = "pong" }]\n'
                              '[events.pong]\nkind = "follow_up"\neffects = [{ type = "follow_up", event = "ping" }]\n')
    observed = tmp_path / "o.csv"
    observed.write_text("kind,id,date\nstate,fired(ping),2024-01-15\n")
    scenario = load_scenario(path)
    (row,) = load_observed(observed, scenario)
    assert settled_by_shocks(row, scenario) is None
