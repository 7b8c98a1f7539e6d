"""The editor schema (`sim schema`): generated from the loader's definitions, it accepts every shipped
scenario and variant and rejects mistakes the loader rejects (issue 15, section 1)."""

import copy
import datetime as dt
import json
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import DATA, ROOT, SCENARIOS
from jsonschema import Draft7Validator, Draft202012Validator

from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario import json_schema
from sim.scenario.documents import Document
from sim.scenario.json_schema import REGENERATE, SCHEMA_FILE, SchemaDrift, scenario_schema, schema_text
from sim.scenario.loader import build_scenario, load_scenario
from sim.scenario.mechanisms import available, include_mechanisms, library
from sim.starters import RULES, starter

SCHEMA_LINE = f"#:schema ./{SCHEMA_FILE}"
TAPLO = shutil.which("taplo") or shutil.which("taplo", path=str(Path(sys.executable).parent))  # in a venv not on PATH
FILES = sorted(SCENARIOS.glob("*.toml")) + sorted(DATA.glob("*.toml"))
DELETE = object()


def as_editors_see_it(value):
    """TOML dates and times as the strings an editor's validator sees (Taplo writes them so)."""
    if isinstance(value, dict):
        return {k: as_editors_see_it(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_editors_see_it(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):  # a datetime is a date
        return value.isoformat()
    return value


@pytest.fixture(scope="module")
def validators():
    """The schema read as draft 2020-12 (its $schema), and as draft 7, the rules Taplo applies to it."""
    schema = scenario_schema()
    as_draft_7 = schema | {"$schema": "http://json-schema.org/draft-07/schema#"}
    return (Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER),
            Draft7Validator(as_draft_7, format_checker=Draft7Validator.FORMAT_CHECKER))


def schema_errors(validators, data) -> list[list[str]]:
    """The schema's complaints about `data`, under each draft (the two must agree)."""
    found = [sorted(e.message for e in v.iter_errors(as_editors_see_it(data))) for v in validators]
    assert found[0] == found[1], "draft 2020-12 and draft 7 read the schema differently"
    return found[0]


def test_the_schema_is_a_valid_json_schema():
    schema = scenario_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    Draft7Validator.check_schema(schema | {"$schema": "http://json-schema.org/draft-07/schema#"})


# keywords that draft 7 and draft 2020-12 share (Taplo validates with draft 7 rules), by what they hold
SCHEMA_IN = {"additionalProperties", "items", "not", "if", "then", "else", "propertyNames"}
CONDITIONS = {"not", "if", "then", "else", "anyOf", "oneOf", "allOf", "propertyNames"}  # below them, no key to describe
SCHEMAS_IN = {"anyOf", "oneOf", "allOf"}
NAMED_SCHEMAS_IN = {"properties", "$defs"}
VALUES = {"$schema", "$comment", "$ref", "title", "description", "default", "type", "required", "enum", "const",
          "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "maxItems",
          "minProperties", "x-taplo"}


def subschemas(schema, where="#"):
    """Every schema inside `schema` (itself included), with where it is."""
    yield where, schema
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        if key in SCHEMA_IN:
            yield from subschemas(value, f"{where}/{key}")
        elif key in SCHEMAS_IN:
            for i, item in enumerate(value):
                yield from subschemas(item, f"{where}/{key}/{i}")
        elif key in NAMED_SCHEMAS_IN:
            for name, item in value.items():
                yield from subschemas(item, f"{where}/{key}/{name}")


def test_it_keeps_to_what_draft_7_and_taplo_read():
    """Taplo (Even Better TOML) validates with draft 7 rules and ignores whatever stands beside a $ref, so
    the schema uses only the keywords both drafts share, nothing beside a $ref, and describes every key."""
    for where, schema in subschemas(scenario_schema()):
        if isinstance(schema, bool):
            continue
        unknown = set(schema) - SCHEMA_IN - SCHEMAS_IN - NAMED_SCHEMAS_IN - VALUES
        assert not unknown, f"{where}: {unknown}"
        assert "$ref" not in schema or set(schema) == {"$ref"}, f"{where}: keywords beside a $ref"
        if where.split("/")[-2:-1] == ["properties"] and not CONDITIONS & set(where.split("/")):
            assert schema.get("description") or schema.get("$ref"), f"{where}: no description"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_variant_and_test_file_fits(path, validators):
    load_scenario(path)  # the loader accepts it
    assert schema_errors(validators, tomllib.loads(path.read_text())) == []


def test_the_shipped_scenarios_name_the_schema_on_their_first_line():
    for path in sorted(SCENARIOS.glob("*.toml")):
        assert path.read_text().splitlines()[0] == SCHEMA_LINE, path.name


def test_the_shipped_schema_is_current():
    shipped = (SCENARIOS / SCHEMA_FILE).read_text()
    assert shipped == schema_text(), f"scenarios/{SCHEMA_FILE} is stale: regenerate it with `{REGENERATE}`"


def test_the_mechanism_library_fits():
    """The library's templates, parameters and attributes are what a scenario could write itself."""
    for name in available():
        lib = library(name)
        partial = {"extends": "base.toml"} | {k: lib[k] for k in ("templates", "parameters", "attributes") if k in lib}
        assert Draft202012Validator(scenario_schema()).is_valid(partial), name


# mistakes the loader refuses, each with part of its message: (base file, edits, loader says)
MISTAKES = {
    "unknown top-level key": ("tiny", [(("outcome",), {})], "unknown key 'outcome'"),
    "misspelt meta key": ("tiny", [(("meta", "stpes"), 3)], "unknown key 'stpes'"),
    "no meta": ("tiny", [(("meta",), DELETE)], "missing required key 'meta'"),
    "meta without start": ("tiny", [(("meta", "start"), DELETE)], "missing required key 'start'"),
    "steps as a string": ("tiny", [(("meta", "steps"), "10")], "found '10', expected an integer"),
    "zero steps": ("tiny", [(("meta", "steps"), 0)], "found 0, expected an integer between 1 and 100,000"),
    "too many steps": ("tiny", [(("meta", "steps"), 100_001)], "expected an integer between 1 and 100,000"),
    "negative seed": ("tiny", [(("meta", "seed"), -1)], "found -1, expected an integer between 0"),
    "unknown step unit": ("tiny", [(("meta", "step"), "weeks")], "did you mean 'week'?"),
    "unknown rule": ("tiny", [(("meta", "rule"), "balanse")], "expected one of balance, landscape"),
    "a name with a space": ("tiny", [(("meta", "name"), "my scenario")], "expected 1 to 64 letters"),
    "start not a date": ("tiny", [(("meta", "start"), "1 January")], "expected a date like"),
    "model parameter out of range": ("tiny", [(("parameters", "inertia"), 1.5)], "expected a number between 0 and 1"),
    "parameter as a string": ("tiny", [(("parameters", "noise"), "0.1")], "found '0.1', expected a number"),
    "unknown option value": ("tiny", [(("parameters", "balance_form"), "other")], "expected one of kulakowski, marvel"),
    "reserved actor id": ("tiny", [(("actors", "and"), {})], "'and' is a reserved word"),
    "actor id with a digit first": ("tiny", [(("actors", "1a"), {})], "expected an id made of letters"),
    "misspelt actor key": ("tiny", [(("actors", "a", "nmae"), "A")], "unknown key 'nmae'"),
    "negative capability": ("tiny", [(("actors", "a", "attributes"), {"capability": -1})], "capability must be >= 0"),
    "site without host": ("tiny", [(("sites", "base", "host"), DELETE)], "missing required key 'host'"),
    "negative personnel": ("tiny", [(("presence", "b", "base"), -5)], "expected a number >= 0"),
    "relation out of range": ("tiny", [(("relations", "mutual", "a", "b"), 1.5)], "expected a number between -1 and 1"),
    "unknown event kind": ("tiny", [(("events", "arrive", "kind"), "sometimes")], "expected one of scheduled"),
    "misspelt event key": ("tiny", [(("events", "arrive", "probabilty"), 0.1)], "unknown key 'probabilty'"),
    "probability of the wrong type": ("tiny", [(("events", "arrive", "probability"), True)], "found true"),
    "probability above 1": ("tiny", [(("events", "arrive", "probability"), 1.5)], "expected a number between 0 and 1"),
    "negative cooldown": ("tiny", [(("events", "arrive", "cooldown"), -1)], "expected an integer >= 0"),
    "date and step": ("tiny", [(("events", "shock", "step"), 2)], "exactly one of 'date' or 'step'"),
    "a date on a triggered event": ("tiny", [(("events", "arrive", "date"), dt.date(2024, 2, 1))],
                                    "only scheduled events take 'date'"),
    "triggered without condition": ("tiny", [(("events", "arrive", "condition"), DELETE)], "needs a 'condition'"),
    "stochastic without probability": ("tiny", [(("events", "arrive", "kind"), "stochastic")], "needs a 'probability'"),
    "unknown effect type": ("tiny", [(("events", "shock", "effects", 0, "type"), "relashun")],
                            "expected one of relation, attribute, presence, follow_up"),
    "misspelt effect key": ("tiny", [(("events", "shock", "effects", 0, "detla"), 0.1),
                                     (("events", "shock", "effects", 0, "delta"), DELETE)], "unknown key 'detla'"),
    "a key of another effect type": ("tiny", [(("events", "shock", "effects", 0, "over"), 3)], "unknown key 'over'"),
    "delta and set": ("tiny", [(("events", "shock", "effects", 0, "set"), 0.2)], "exactly one of 'delta' or 'set'"),
    "presence effect with site and host": ("tiny", [(("events", "withdraw", "effects", 0, "host"), "a")],
                                           "exactly one of 'site'"),
    "a follow-up delay below 1": ("tiny", [(("events", "shock", "effects", 2, "delay"), 0)], "expected a number >= 1"),
    "unknown distribution": ("tiny", [(("events", "shock", "effects", 0, "delta"), {"dist": "gauss", "mean": 0})],
                             "found 'gauss', expected one of normal"),
    "a distribution without a parameter": ("tiny", [(("events", "shock", "effects", 0, "delta"),
                                                     {"dist": "normal", "mean": 0})], "missing required key 'sd'"),
    "a parameter of another distribution": ("tiny", [(("events", "shock", "effects", 0, "delta"),
                                                      {"dist": "normal", "mean": 0, "sd": 1, "low": 0})],
                                            "unknown key 'low'"),
    "a lognormal with mu and median": ("tiny", [(("events", "shock", "effects", 0, "delta"),
                                                 {"dist": "lognormal", "mu": 0, "median": 1, "sigma": 1})],
                                       "'mu' or 'median', not both"),
    "an outcome without expr": ("tiny", [(("outcomes", "b_gone", "expr"), DELETE)], "missing required key 'expr'"),
    "unknown outcome kind": ("tiny", [(("outcomes", "b_gone", "kind"), "last")], "expected one of final"),
    "camps not a boolean": ("tiny", [(("tracking",), {"camps": "yes"})], "expected true or false"),
    "too many network dates": ("tiny", [(("tracking",), {"network_dates": [dt.date(2024, 1, 1)] * 13})],
                               "more than 12 dates"),
    "a tracked pair without ':'": ("tiny", [(("tracking",), {"relations": ["a-b"]})], "expected 'actor:actor'"),
    "unknown lint smell": ("tiny", [(("lint",), {"accept": [{"smell": "never-fire", "subject": "events.shock",
                                                             "reason": "kept"}]})], "did you mean 'never-fires'?"),
    "an accepted warning without a reason": ("tiny", [(("lint",), {"accept": [{"smell": "never-fires",
                                                                               "subject": "events.shock"}]})],
                                             "missing required key 'reason'"),
    "an empty reason": ("tiny", [(("lint",), {"accept": [{"smell": "never-fires", "subject": "events.shock",
                                                          "reason": "  "}]})], "empty: say why"),
    "unknown mechanism": ("mechanisms", [(("mechanisms", "expulsoin"), {})], "unknown mechanism 'expulsoin'"),
    "misspelt mechanism key": ("mechanisms", [(("mechanisms", "expulsion", "enable"), False)], "unknown key 'enable'"),
    "a role left out": ("mechanisms", [(("mechanisms", "patron_deployment", "with"), DELETE)],
                        "the patron_deployment mechanism needs 'rivals'"),
    "unknown placeholder of a mechanism": ("mechanisms", [(("mechanisms", "expulsion", "for"), {"guest": ["east"]})],
                                           "has no placeholder 'guest'"),
    "a shock with effects of its own": ("mechanisms", [(("events", "coup_h2", "effects"), [])],
                                        "a shock takes its effects from shocks.coup"),
    "misspelt shock kind key": ("mechanisms", [(("shocks", "coup", "effect"), [])], "unknown key 'effect'"),
    "a scheduled template": ("mechanisms", [(("templates", "t"), {"kind": "scheduled", "for": {"x": ["h1"]}})],
                             "a template cannot be scheduled"),
    "a template without for": ("mechanisms", [(("templates", "t"), {"kind": "triggered", "condition": "true"})],
                               "missing required key 'for'"),
    "misspelt selector key": ("mechanisms", [(("templates", "t"), {"kind": "stochastic", "probability": 0.1,
                                                                    "for": {"x": {"bloc": "west", "kinds": "x"}}})],
                              "unknown key 'kinds'"),
}


def edited(base: str, edits) -> dict:
    data = tomllib.loads((DATA / f"{base}.toml").read_text())
    for path, value in edits:
        node = data
        for key in path[:-1]:
            node = node[key] if isinstance(key, int) else node.setdefault(key, {})
        if value is DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = copy.deepcopy(value)
    return data


@pytest.mark.parametrize("name", MISTAKES)
def test_a_mistake_the_loader_refuses_is_flagged_by_the_schema(name, validators):
    base, edits, says = MISTAKES[name]
    data = edited(base, edits)
    with pytest.raises(ScenarioError) as error:
        build_scenario(include_mechanisms(Document(copy.deepcopy(data), {}, "mistake.toml")))
    assert any(says in str(p) for p in error.value.problems), [str(p) for p in error.value.problems]
    assert schema_errors(validators, data), f"the schema accepts: {name}"


@pytest.mark.parametrize("rule", RULES)
def test_sim_news_starters_fit(rule, tmp_path, validators):
    path = tmp_path / "mine.toml"
    path.write_text(starter(rule, "mine"))
    load_scenario(path)
    assert schema_errors(validators, tomllib.loads(path.read_text())) == []


def test_placeholders_may_stand_for_a_parameter_in_templates_and_shocks(tmp_path, validators):
    text = (starter("balance", "holes") + '\n[templates.nudge]\nfor = { a = { actors = ["host"] } }\n'
            'with = { size = "coup_rival" }\nkind = "stochastic"\nprobability = 0.1\n'
            'effects = [{ type = "relation", source = "{a}", target = "rival", delta = "{size}" }]\n')
    text = text.replace('delta = "coup_partner", lasting = true', 'delta = "coup_{side}", lasting = true').replace(
        'with = { country = "host", partner = "partner", courted_by = "rival" }',
        'with = { country = "host", partner = "partner", courted_by = "rival", side = "partner" }')
    path = tmp_path / "holes.toml"
    path.write_text(text)
    load_scenario(path)  # the loader accepts it: so must an editor
    assert schema_errors(validators, tomllib.loads(text)) == []


def test_the_unedited_bases_are_fine(validators):
    for base in ("tiny", "mechanisms"):
        build_scenario(include_mechanisms(Document(edited(base, []), {}, "base.toml")))
        assert schema_errors(validators, edited(base, [])) == []


def test_a_datetime_is_read_as_its_date(validators):
    data = edited("tiny", [(("meta", "start"), dt.datetime(2024, 1, 1, 9, 30))])
    assert build_scenario(Document(copy.deepcopy(data), {}, "t.toml")).meta.start == dt.date(2024, 1, 1)
    assert schema_errors(validators, data) == []


def test_a_variant_may_leave_any_key_to_its_base_but_not_misspell_one(validators):
    variant = {"extends": "base.toml", "meta": {"name": "v"}, "events": {"coup": {"enabled": False}},
               "templates": {"expel": {"instances": {"niger,us": {"probability": 0.2}}}},
               "mechanisms": {"patron_deployment": {"enabled": False}}, "sites": {"airbase": {"name": "Airbase"}}}
    assert schema_errors(validators, variant) == []
    complete = {k: v for k, v in variant.items() if k != "extends"}
    assert {"'actors' is a required property", "'start' is a required property", "'kind' is a required property",
            "'host' is a required property", "'with' is a required property"} <= set(schema_errors(validators,
                                                                                                  complete))
    roles = complete | {"mechanisms": {"patron_deployment": {"with": {}}}}
    assert "'rivals' is a required property" in schema_errors(validators, roles)
    assert schema_errors(validators, variant | {"meta": {"nmae": "v"}}) == [
        "Additional properties are not allowed ('nmae' was unexpected)"]


def test_the_defaults_shown_are_the_loaders():
    text = """
    [meta]
    name = "d"
    start = 2024-01-01
    steps = 3
    [actors.a]
    [actors.b]
    [sites.s]
    host = "a"
    [presence]
    b = { s = 1 }
    [events.e]
    kind = "triggered"
    condition = "true"
    effects = [{ type = "relation", source = "a", target = "b", delta = 0.1 },
               { type = "presence", actor = "b", site = "s", set = 0 },
               { type = "follow_up", event = "e" }]
    [outcomes.o]
    expr = "relation(a, b)"
    """
    scenario = build_scenario(Document(tomllib.loads(text.replace("\n    ", "\n")), {}, "d.toml"))

    def default(*path):
        node = scenario_schema()
        for key in path:
            node = node[key] if key == "additionalProperties" else node["properties"][key]
        return node["default"]

    meta = scenario.meta
    assert (meta.description, meta.step_unit, meta.seed, meta.replications, meta.rule) == tuple(
        default("meta", k) for k in ("description", "step", "seed", "replications", "rule"))
    assert scenario.actors[0].kind == default("actors", "additionalProperties", "kind")
    assert scenario.relations[0][1] == default("relations", "default")
    assert scenario.tracking.presence == (0,) and default("tracking", "presence") == "all"
    assert (scenario.tracking.relations, scenario.tracking.attributes) == tuple(
        tuple(default("tracking", k)) for k in ("relations", "attributes"))
    assert scenario.tracking.camps == default("tracking", "camps")
    event = scenario.events[0]
    events = ("events", "additionalProperties")
    assert (event.probability, event.cooldown, event.enabled) == tuple(
        default(*events, k) for k in ("probability", "cooldown", "enabled"))
    effects = scenario_schema()["$defs"]["effect"]["properties"]
    relation, presence, follow_up = event.effects
    assert (relation.mutual, relation.lasting) == (effects["mutual"]["default"], effects["lasting"]["default"])
    assert (presence.over, follow_up.delay) == (effects["over"]["default"], effects["delay"]["default"])
    outcome = scenario.outcomes[0]
    assert (outcome.kind, outcome.description) == tuple(default("outcomes", "additionalProperties", k)
                                                        for k in ("kind", "description"))
    assert scenario.attribute_names == ("capability",) and default("attributes", "capability") == 1.0
    for name, value in scenario.parameters:
        assert default("parameters", name) == value


def test_a_key_the_loader_allows_without_a_description_fails_loudly(monkeypatch):
    monkeypatch.setattr(json_schema, "META_KEYS", json_schema.META_KEYS + ("colour",))
    with pytest.raises(SchemaDrift, match="meta: the loader allows colour but .* has no description"):
        scenario_schema()
    monkeypatch.undo()
    monkeypatch.setattr(json_schema, "SELECTOR_KEYS", json_schema.SELECTOR_KEYS[1:])
    with pytest.raises(SchemaDrift, match="selector: .* describes kind, which the loader does not allow"):
        scenario_schema()
    monkeypatch.undo()
    from sim.scenario.effect_kinds import EffectKind

    kinds = dict(json_schema.EFFECT_KINDS) | {"pulse": EffectKind("pulse", 5, object, ("type", "strength"), None, object)}
    monkeypatch.setattr(json_schema, "EFFECT_KINDS", kinds)
    with pytest.raises(SchemaDrift, match="effect kind pulse: the loader allows strength but its module has no "
                                          "description"):
        scenario_schema()


def test_sim_schema_prints_it_and_writes_it(tmp_path, capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_schema()
    out = tmp_path / "my.schema.json"
    assert main(["schema", "--out", str(out)]) == 0
    assert out.read_text() == schema_text() and str(out) in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["my.schema.json"]  # no temporary file left
    assert main(["schema", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
    assert main(["schema", "--out", str(tmp_path / "no" / "s.json")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_sim_help_does_not_build_the_schema():
    code = "import sys, sim.cli; sim.cli._parser(); print('sim.scenario.json_schema' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "False"


@pytest.mark.skipif(TAPLO is None, reason="taplo is not installed (pip install taplo: the CLI behind Even Better TOML)")
def test_taplo_reads_the_shipped_schema_as_the_tests_do(tmp_path):
    """The editors' own validator, where it is installed: the shipped scenarios pass, a mistake is flagged."""
    shipped = subprocess.run([TAPLO, "check", *map(str, sorted(SCENARIOS.glob("*.toml")))], capture_output=True,
                             text=True, cwd=ROOT)
    assert shipped.returncode == 0, shipped.stderr
    (tmp_path / SCHEMA_FILE).write_text(schema_text())
    (tmp_path / "bad.toml").write_text(f"{SCHEMA_LINE}\n[meta]\nname = \"bad\"\nstart = 2024-01-01\nsteps = 10\n"
                                       "stpes = 3\n[actors.a]\n")
    bad = subprocess.run([TAPLO, "check", "bad.toml"], capture_output=True, text=True, cwd=tmp_path)
    assert bad.returncode != 0 and "'stpes' was unexpected" in bad.stdout + bad.stderr
