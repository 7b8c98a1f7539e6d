"""The scenario format as a JSON Schema, for editors: `sim schema` (docs/scenarios.md, Editor support).

Built from the definitions the loader checks (its key lists and required keys, choices and ranges, the
model's parameters, the distributions, the effect kinds, the mechanism library) plus one description
per key, written here. A key the loader allows that has no description here, or a description of a key
it no longer allows, raises SchemaDrift: the schema cannot fall behind the loader (tests/test_schema.py).

The loader stays the judge: the schema catches what an editor can see in one file as it is typed
(unknown keys, wrong types, values out of range, missing keys), not references between ids.

The $schema is draft 2020-12, but only keywords that draft 7 shares are used and nothing stands beside a
$ref: Taplo (behind Even Better TOML) validates with draft 7 rules, and ignores a $ref's siblings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Callable, Mapping

from sim.scenario import schema as s
from sim.scenario.checks import IDENT, NAME, RESERVED
from sim.scenario.dates import STEP_UNITS
from sim.scenario.distributions import DISTRIBUTIONS
from sim.scenario.effect_kinds import KINDS as EFFECT_KINDS
from sim.scenario.effect_kinds import EffectKind
from sim.scenario.event_specs import EVENT_KEYS, EVENT_REQUIRED, KIND_NEEDS, MAX_EFFECTS, SCHEDULED_WHEN
from sim.scenario.expressions import MAX_LENGTH
from sim.scenario.limits import CAPABILITY_MIN, PERSONNEL_MIN, PROBABILITY, RELATION
from sim.scenario.loader import (
    ACTOR_KEYS,
    BLOC_KEYS,
    DEFAULT_ATTRIBUTES,
    LINT_ACCEPT_KEYS,
    LINT_KEYS,
    MAX_NETWORK_DATES,
    MAX_STEPS,
    META_KEYS,
    META_REQUIRED,
    OUTCOME_KEYS,
    OUTCOME_REQUIRED,
    RELATION_KEYS,
    SITE_KEYS,
    SITE_REQUIRED,
    TOP_KEYS,
    TOP_REQUIRED,
    TRACKING_KEYS,
)
from sim.scenario.mechanisms import MECHANISM_KEYS, available, library
from sim.scenario.parameters import RULE_OPTIONS, RULE_PARAMETERS
from sim.scenario.templates import (
    INSTANCE_KEYS,
    SELECTOR_KEYS,
    SHOCK_EVENT_KEYS,
    SHOCK_KEYS,
    TEMPLATE_KEYS,
    TEMPLATE_REQUIRED,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_FILE = "scenario.schema.json"  # shipped next to the scenarios: scenarios/scenario.schema.json
REGENERATE = f"sim schema --out scenarios/{SCHEMA_FILE}"
EXTENDS = "extends"  # read (and removed) by documents._read_chain before the loader sees the table
NO_DEFAULT = object()


class SchemaDrift(Exception):
    """The loader and this module's descriptions disagree about which keys exist (a bug to fix here)."""


@dataclass(frozen=True)
class Field:
    """One key of a table: the text an editor shows on hover, the shape of its value, and its default."""

    doc: str
    shape: Callable[[], dict]
    default: object = NO_DEFAULT


# --- shapes: each call builds a fresh dict -------------------------------------------------------------
def _anchored(pattern: str) -> str:
    return f"^(?:{pattern})$"


def _string(**extra) -> dict:
    return {"type": "string", **extra}


def _id() -> dict:
    return _string(pattern=_anchored(IDENT.pattern))


def _id_names() -> dict:
    """The keys of a table of user ids: letters, digits and '_', not a reserved word (Checker.ident)."""
    return {"pattern": _anchored(IDENT.pattern), "not": {"enum": sorted(RESERVED)}}


def _ids(pattern: str | None = None) -> dict:
    """One string or a list of them (Checker.string_list and the selectors take either)."""
    item = _string(pattern=pattern) if pattern else _string()
    return {"type": ["string", "array"], "items": item, **({"pattern": pattern} if pattern else {})}


def _boolean() -> dict:
    return {"type": "boolean"}


def _number(lo: float | None = None, hi: float | None = None, kind: str = "number") -> dict:
    bounds = {"minimum": lo} if lo is not None else {}
    return {"type": kind, **bounds, **({"maximum": hi} if hi is not None else {})}


_integer = partial(_number, kind="integer")


def _date() -> dict:
    """TOML dates reach an editor's validator as strings like 2024-03-16; a TOML datetime (whose date the
    loader keeps) as 2024-03-16T10:00:00, which is let through too."""
    return _string(anyOf=[{"format": "date"}, {"pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]"}])


def _expression() -> dict:
    return _string(minLength=1, maxLength=MAX_LENGTH)


def _parameter_name() -> dict:
    """A parameter's name, or text with a {placeholder} that a template or shock replaces by one (the schema
    sees one table at a time, so it lets a placeholder through anywhere; the loader says where it is wrong)."""
    return _string(pattern=f"{_anchored(IDENT.pattern)}|^[A-Za-z0-9_]*\\{{[^{{}}]+\\}}[A-Za-z0-9_{{}}]*$")


def _amount(lo: float | None = None) -> dict:
    """A number, the name of a parameter, or a distribution table (event_specs._amount)."""
    return {"anyOf": [_number(lo), _parameter_name(), {"$ref": "#/$defs/distribution"}]}


def _number_or_parameter(**bounds) -> dict:
    return {"anyOf": [{"type": "number", **bounds}, _parameter_name()]}


def _table_of(values: dict, names: dict | None = None) -> dict:
    """A table whose keys the user chooses (ids unless `names` says otherwise)."""
    return {"type": "object", "propertyNames": _id_names() if names is None else names, "additionalProperties": values}


def _relation_value() -> dict:
    return _number(*RELATION)


# --- descriptions, one per key the loader allows ---------------------------------------------------------
def _docs(**fields: Field) -> Mapping[str, Field]:
    return MappingProxyType(fields)


META_DOCS = _docs(
    name=Field("Scenario name: 1 to 64 letters, digits, '-' and '_', starting with a letter or digit. It names "
               "the results folder results/<name>/.", partial(_string, pattern=_anchored(NAME.pattern))),
    description=Field("Free text.", _string, ""),
    start=Field("Date of step 0, the initial state (a TOML date such as 2024-01-01).", _date),
    step=Field("Length of a step: day, week or month (a month keeps the day of month, clamped to the "
               "month's end).", partial(_string, enum=list(STEP_UNITS)), "week"),
    steps=Field(f"Number of simulated steps, 1 to {MAX_STEPS}; the last must fall before the year 10000.",
                partial(_integer, 1, MAX_STEPS)),
    seed=Field("Random seed (sim run --seed overrides it).", partial(_integer, 0, s.MAX_SEED), 0),
    replications=Field("Replications per run (sim run --reps overrides it).",
                       partial(_integer, 1, s.MAX_REPLICATIONS), 1000),
    rule=Field("Alignment rule: balance (structural balance) or landscape (two camps, Axelrod and Bennett).",
               partial(_string, enum=list(s.RULES)), "balance"),
    fitted_until=Field("Written by sim calibrate --cutoff: fitted on observations up to this date, so sim "
                       "backtest scores only what came after.", _date),
)

PARAMETER_DOCS = MappingProxyType({
    "balance_rate": "Speed of structural balance per step (balance rule).",
    "camp_rate": "Drift of relations toward camp lines per step (landscape rule).",
    "inertia": "Share of the gap to each actor's baseline closed per step.",
    "noise": "Sd of the random normal change of every relation per step.",
    "capability_weight": "Exponent on capability in the influence weights.",
    "shock_scale": "Multiplier on every relation delta from events (not on set, attributes or presence).",
    "marvel_cap": "With balance_form = marvel: a replication stops once its largest |X| passes it.",
    "balance_form": "Which form of structural balance the balance rule runs.",
    "landscape_search": "How camps are found: local (one actor moved at a time) or global (the exact minimum).",
})

ATTRIBUTE_DOCS = MappingProxyType({
    "capability": "Weights each actor's influence (w = capability ^ capability_weight); it must be >= 0.",
})

ACTOR_DOCS = _docs(
    name=Field("Display name (default: the id).", _string),
    kind=Field("A free label, e.g. state, organisation, external power; template selectors match on it.",
               _string, "state"),
    attributes=Field("This actor's values of attributes declared in [attributes] (name = number); capability "
                     "must be >= 0.", lambda: _table_of(_number()) | {"properties": {
                         "capability": _number(CAPABILITY_MIN) | {"description": ATTRIBUTE_DOCS["capability"]}}}),
    blocs=Field("The blocs this actor belongs to: a bloc id or a list of them.", _ids),
    baseline=Field("Where inertia pulls this actor's relation toward each target (actor = number in [-1, 1]); "
                   "default: the initial relations.", lambda: _table_of(_relation_value())),
)

BLOC_DOCS = _docs(
    name=Field("Display name (default: the id).", _string),
    members=Field("Member actor ids, besides every actor that lists this bloc in its blocs.", _ids),
)

SITE_DOCS = _docs(
    name=Field("Display name (default: the id).", _string),
    host=Field("Required: the actor whose territory the site is in; presence(x, host) sums x's personnel at "
               "every site of host.", _string),
)

RELATION_DOCS = _docs(
    default=Field("Every relation not set below, in [-1, 1].", _relation_value, 0.0),
    mutual=Field("source = { target = value in [-1, 1] }: sets both directions.",
                 lambda: _table_of(_table_of(_relation_value()))),
    directed=Field("source = { target = value in [-1, 1] }: one direction, applied after mutual.",
                   lambda: _table_of(_table_of(_relation_value()))),
)

_PAIR = _anchored(f"{IDENT.pattern}:{IDENT.pattern}")
_DOTTED = _anchored(f"{IDENT.pattern}\\.{IDENT.pattern}")
_SLOT = _anchored(f"{IDENT.pattern}@{IDENT.pattern}")
_NAMED = "{} (its id is how expressions, effects and selectors name it)."

TRACKING_DOCS = _docs(
    relations=Field("Relations to record and plot: 'actor:actor', or 'actor:bloc' for the alignment toward a "
                    "bloc.", partial(_ids, _PAIR), []),
    attributes=Field("Attribute values to record: 'actor.attribute'.", partial(_ids, _DOTTED), []),
    presence=Field("Presence slots to record: \"all\", or a list of 'actor@site' (declared slots only).",
                   lambda: {"anyOf": [{"const": "all"}, _ids(_SLOT)]}, "all"),
    camps=Field("Compute camps every step and record 'same camp' for each tracked actor:actor pair; false "
                "skips that work.", _boolean, True),
    network_dates=Field(f"Dates at which the alignment network is drawn, at most {MAX_NETWORK_DATES} "
                        "(default: 4 dates over the run).",
                        lambda: {"type": "array", "items": _date(), "maxItems": MAX_NETWORK_DATES}),
)

OUTCOME_DOCS = _docs(
    expr=Field("Required: what is measured, an expression (a bool for first and count, a number for mean, "
               "max and min, either for final).", _expression),
    kind=Field("How it is accumulated: final (the value after the last step), first (the first step it is "
               "true), count (steps it is true), mean, max or min over the steps.",
               partial(_string, enum=list(s.OUTCOME_KINDS)), "final"),
    description=Field("Free text, shown in reports.", _string, ""),
)

EVENT_DOCS = _docs(
    name=Field("Display name in the event log and plots (default: the id).", _string),
    kind=Field("Required: scheduled (at a date or step), stochastic (may fire any step, with its probability), "
               "triggered (fires when its condition holds) or follow_up (only when a follow_up effect makes it "
               "due).", partial(_string, enum=list(s.EVENT_KINDS))),
    date=Field("Scheduled events only: the date it fires (in the first step on or after it, never before "
               "step 1). Exactly one of date and step.", _date),
    step=Field("Scheduled events only: the step it fires. Exactly one of date and step.", partial(_integer, 1)),
    probability=Field("Chance per step that it fires when otherwise due: a number in [0, 1] or a number "
                      "expression (not clipped). Required for stochastic events.",
                      lambda: {"anyOf": [_number(*PROBABILITY), _expression()]}, 1.0),
    condition=Field("A bool expression that must hold at the start of the step. Required for triggered "
                    "events.", _expression),
    once=Field("Fire at most once per replication (default: false for stochastic events, true for the "
               "others).", _boolean),
    cooldown=Field("After firing at step t it cannot fire again before step t + cooldown + 1.",
                   partial(_integer, 0), 0),
    effects=Field("Effects applied in list order when it fires, each a table with a type.",
                  lambda: {"type": "array", "items": {"$ref": "#/$defs/effect"}, "maxItems": MAX_EFFECTS}, []),
    mark=Field("Draw it on plots (default: true for scheduled events, false for the others).", _boolean),
    enabled=Field("false: it never fires, but stays referable (handy with --set).", _boolean, True),
    shock=Field("This event is a given shock of that kind: it takes its effects (and default name) from "
                "[shocks.<kind>], and may not list effects of its own.", _id),
    with_=Field("With shock: the ids the shock kind's {placeholders} stand for, e.g. { country = \"mali\" }.",
                lambda: _table_of(_string(), names={})),
)

TEMPLATE_DOCS = _docs(
    for_=Field("Required: placeholder = selector, in order; each selector may use the placeholders before it. "
               "The template expands into one event per combination of matches, with {placeholder} replaced "
               "in its text; instance ids read template[a,b].",
               lambda: _table_of({"$ref": "#/$defs/selector"}) | {"minProperties": 1}),
    with_=Field("placeholder = a fixed id (e.g. rivals = \"west\"), usable in selectors and text.",
                lambda: _table_of(_string())),
    distinct=Field("true: one actor never fills two placeholders of an instance (no t[a,a]).", _boolean, True),
    instances=Field("Overrides for one instance: \"a,b\" (the placeholders' values in the order of for) = a "
                    "table of event keys.", lambda: _table_of(_instance(), names={})),
)

SELECTOR_DOCS = _docs(
    kind=Field("Actors of that kind (or of any of a list).", _ids),
    bloc=Field("Members of that bloc (or of any of a list).", _ids),
    actors=Field("The listed actors (ids or earlier {placeholders}).", _ids),
    present_in=Field("Actors with a presence slot at a site hosted by that actor (e.g. \"{host}\").", _ids),
    hosting=Field("Actors hosting a site where that actor has a slot.", _ids),
    hosts_sites=Field("true: actors hosting at least one site (false: none).", _boolean),
    except_=Field("Not these actors.", _ids),
    except_bloc=Field("Not members of these blocs.", _ids),
)

SHOCK_DOCS = _docs(
    name=Field("Default name of this kind's events, with {placeholders}.", _string),
    description=Field("Free text.", _string),
    effects=Field("The effects every shock of this kind shares, with {placeholders} that each event fills "
                  "with its `with`.", EVENT_DOCS["effects"].shape),
)

MECHANISM_DOCS = _docs(
    for_=Field("Replace the selector of some of the mechanism's placeholders.", lambda: {"type": "object"}),
    with_=Field("The ids the mechanism's roles stand for (placeholder = id).", lambda: {"type": "object"}),
    enabled=Field("false: the mechanism's events never fire.", _boolean, True),
)

SHAPES = {"amount": _amount, "amount>=1": partial(_amount, 1), "ids": _ids, "string": _string, "boolean": _boolean}


def _effect_docs() -> Mapping[str, Field]:
    """Each effect key described from the kinds that have it (each kind's module says what its keys mean)."""
    fields = {"type": Field("Required: " + ", ".join(EFFECT_KINDS) + "; the other keys depend on it.",
                            partial(_string, enum=list(EFFECT_KINDS)))}
    for key in dict.fromkeys(k for kind in EFFECT_KINDS.values() for k in kind.keys if k != "type"):
        having = [(name, kind.docs.get(key)) for name, kind in EFFECT_KINDS.items() if key in kind.keys]
        missing = [name for name, doc in having if doc is None]
        if missing:
            raise SchemaDrift(f"effect kind {', '.join(missing)}: the loader allows {key} but its module has no "
                              "description of it (KeyDoc in its KIND)")
        shapes = {doc.shape for _, doc in having}
        if len(shapes) > 1 or not shapes <= set(SHAPES):
            raise SchemaDrift(f"effect key {key}: kinds give it shapes {sorted(shapes)}; expected one of {list(SHAPES)}")
        one_of = [f"{a} and {b}" for kind in EFFECT_KINDS.values() for (a, b), _ in kind.one_of
                  if key in (a, b)]
        text = " ".join(f"{name}: {doc.text}" for name, doc in having)
        amounts = " A number, a parameter name or a distribution." if shapes <= {"amount", "amount>=1"} else ""
        fields[key] = Field(text + amounts + (f" Exactly one of {one_of[0]}." if one_of else ""), SHAPES[shapes.pop()],
                            having[0][1].default if having[0][1].default is not None else NO_DEFAULT)
    return MappingProxyType(fields)



DISTRIBUTION_DOCS = _docs(
    dist=Field("Which distribution, with its parameters (each a number or a parameter name, all required): "
               + "; ".join(f"{name} ({', '.join(kind.params)})" for name, kind in DISTRIBUTIONS.items())
               + ". A value is drawn per firing and replication.", partial(_string, enum=list(DISTRIBUTIONS))),
    mean=Field("normal: the mean; exponential: the mean (> 0).", _number_or_parameter),
    sd=Field("normal: the standard deviation (>= 0).", _number_or_parameter),
    low=Field("uniform, triangular, beta: the lowest value.", _number_or_parameter),
    high=Field("uniform, triangular, beta: the highest value.", _number_or_parameter),
    mode=Field("triangular: the most likely value (low <= mode <= high).", _number_or_parameter),
    mu=Field("lognormal: the mean of the log (or give median instead).", _number_or_parameter),
    median=Field("lognormal: the median, e^mu (> 0), instead of mu.",
                 partial(_number_or_parameter, exclusiveMinimum=0)),
    sigma=Field("lognormal: the sd of the log (>= 0).", _number_or_parameter),
    a=Field("beta: the first shape parameter (> 0).", _number_or_parameter),
    b=Field("beta: the second shape parameter (> 0).", _number_or_parameter),
)

LINT_ACCEPT_DOCS = _docs(
    smell=Field("The kind of warning, as sim lint names it.", partial(_string, enum=list(s.LINT_SMELLS))),
    subject=Field("What it is about, as sim lint names it: events.<id>, templates.<id>, outcomes.<id>, ...",
                  _string),
    reason=Field("Why this warning is not a flaw in this scenario (not empty).", partial(_string, pattern="\\S")),
)

LINT_DOCS = _docs(
    accept=Field("sim lint warnings this scenario keeps on purpose, each with its reason ([[lint.accept]]).",
                 lambda: {"type": "array", "items": _table("lint.accept", LINT_ACCEPT_KEYS, LINT_ACCEPT_DOCS,
                                                           LINT_ACCEPT_KEYS) | {"required": list(LINT_ACCEPT_KEYS)}},
                 []),
)

TOP_DOCS = _docs(
    extends=Field("Makes this file a variant: the base scenario's file, relative to this file's folder (in it or "
                  "below it). The base is read first and this file merged over it (tables key by key; any other "
                  "value, arrays included, replaced). Write it before any [table].",
                  lambda: _string(minLength=1)),
    meta=Field("The scenario's name, calendar and run settings.", lambda: _meta()),
    parameters=Field("The model's parameters, and the scenario's own (any other id = number), usable in "
                     "expressions and as amounts (delta = \"coup_shift\"); the mechanisms bring theirs.",
                     lambda: _parameters()),
    attributes=Field("Per-actor attributes and their defaults (name = number), read with attr(actor, name) and "
                     "changed by attribute effects.", lambda: _attributes()),
    actors=Field("The actors, [actors.<id>] each (an empty table is a valid actor).",
                 lambda: _table_of(_table("actors.<id>", ACTOR_KEYS, ACTOR_DOCS, about=_NAMED.format("An actor")))),
    blocs=Field("Named groups of actors, [blocs.<id>] each; a bloc id differs from every actor id.",
                lambda: _table_of(_table("blocs.<id>", BLOC_KEYS, BLOC_DOCS, about=_NAMED.format("A bloc")))),
    sites=Field("Places where actors keep personnel, [sites.<id>] each.",
                lambda: _table_of(_table("sites.<id>", SITE_KEYS, SITE_DOCS, SITE_REQUIRED, _NAMED.format("A site")))),
    presence=Field("Personnel per actor and site: actor = { site = personnel >= 0 }. Only these slots can "
                   "change: declare with 0 the slots an event may fill.",
                   lambda: _table_of(_table_of(_number(PERSONNEL_MIN)))),
    relations=Field("The initial relations (and baseline), each in [-1, 1] from one actor toward another.",
                    lambda: _table("relations", RELATION_KEYS, RELATION_DOCS)),
    events=Field("Events, [events.<id>] each, evaluated in file order before templates.",
                 lambda: _table_of(_event())),
    templates=Field("Events written once over actor selectors, [templates.<id>] each; they expand at load into "
                    "one event per match.", lambda: _table_of(_template())),
    shocks=Field("Shock kinds, [shocks.<kind>] each: the effects that every scheduled event with "
                 "shock = \"<kind>\" shares, so that no shock is sized by hindsight.",
                 lambda: _table_of(_table("shocks.<kind>", SHOCK_KEYS, SHOCK_DOCS,
                                          about="A shock kind; an event names it with shock = \"<kind>\"."))),
    mechanisms=Field("Shared decision rules from sim/mechanisms/, merged under the scenario: "
                     "[mechanisms.<name>] each (it may be empty).", lambda: _mechanisms()),
    outcomes=Field("What is measured per replication, [outcomes.<id>] each.",
                   lambda: _table_of(_table("outcomes.<id>", OUTCOME_KEYS, OUTCOME_DOCS, OUTCOME_REQUIRED,
                                            "An outcome: one value per replication."))),
    tracking=Field("What is recorded per step and plotted.",
                   lambda: _table("tracking", TRACKING_KEYS, TRACKING_DOCS)),
    lint=Field("What sim lint accepts in this scenario.", lambda: _table("lint", LINT_KEYS, LINT_DOCS)),
)


# --- tables --------------------------------------------------------------------------------------------
def _key(name: str) -> str:
    """Field names that are Python keywords carry a trailing '_' (for_, with_, except_)."""
    return name.rstrip("_")


def _documented(where: str, keys, docs) -> dict[str, object]:
    """The descriptions of exactly `keys`: SchemaDrift when the loader allows a key with none, or one is
    described that the loader no longer allows."""
    given = {_key(name): value for name, value in docs.items()}
    missing = [k for k in keys if k not in given]
    unused = [k for k in given if k not in keys]
    if missing or unused:
        raise SchemaDrift(f"{where}: " + "; ".join(
            ([f"the loader allows {', '.join(missing)} but sim/scenario/json_schema.py has no description of "
              "it: add one"] if missing else [])
            + ([f"sim/scenario/json_schema.py describes {', '.join(unused)}, which the loader does not allow: "
                "remove it"] if unused else [])))
    return given


def _property(field: Field) -> dict:
    shape = field.shape()
    if "$ref" in shape:
        raise SchemaDrift("a described value must not be a bare $ref (draft 7 and Taplo ignore its siblings)")
    shape["description"] = field.doc
    if field.default is not NO_DEFAULT:
        shape["default"] = field.default
    return shape


def _table(where: str, keys, docs, init: tuple[str, ...] = (), about: str = "") -> dict:
    """A table with fixed keys: unknown keys are refused, as Checker.table does. `init` are the keys an
    editor writes when it creates the table (the required ones; they are checked in complete files only)."""
    given = _documented(where, keys, docs)
    table = {"type": "object", "properties": {k: _property(given[k]) for k in keys}, "additionalProperties": False}
    if about:
        table["description"] = about
    if init:
        table["x-taplo"] = {"initKeys": list(init)}
    return table


def _meta() -> dict:
    return _table("meta", META_KEYS, META_DOCS, META_REQUIRED)


def _parameters() -> dict:
    _documented("parameters", tuple(RULE_PARAMETERS) + tuple(RULE_OPTIONS), PARAMETER_DOCS)
    properties = {name: _number(lo, hi) | {"default": default, "description": f"{PARAMETER_DOCS[name]} Model "
                                           f"parameter, {lo:g} to {hi:g} (default {default:g})."}
                  for name, (default, lo, hi) in RULE_PARAMETERS.items()}
    properties |= {name: _string(enum=list(choices)) | {"default": default, "description": f"{PARAMETER_DOCS[name]} "
                                                        f"One of {', '.join(choices)} (default {default})."}
                   for name, (default, choices) in RULE_OPTIONS.items()}
    for mechanism, section in _library_values("parameters"):
        for name, value in section.items():
            properties.setdefault(name, _number() | {"default": value, "description": f"A parameter of the "
                                                     f"{mechanism} mechanism (sim/mechanisms/{mechanism}.toml)."})
    return _table_of(_number()) | {"properties": properties}


def _attributes() -> dict:
    _documented("attributes", tuple(DEFAULT_ATTRIBUTES), ATTRIBUTE_DOCS)
    properties = {name: _number() | {"default": value, "description": ATTRIBUTE_DOCS[name]}
                  for name, value in DEFAULT_ATTRIBUTES.items()}
    for mechanism, section in _library_values("attributes"):
        for name, value in section.items():
            properties.setdefault(name, _number() | {"default": value, "description": f"Read by the {mechanism} "
                                                     "mechanism, which declares it when the scenario does not."})
    return _table_of(_number()) | {"properties": properties}


def _library_values(section: str):
    return [(name, library(name).get(section, {})) for name in available()]


# --- events and templates --------------------------------------------------------------------------------
def _event_properties(where: str, keys) -> dict:
    given = _documented("events.<id>", EVENT_KEYS + SHOCK_EVENT_KEYS, EVENT_DOCS)
    unknown = [k for k in keys if k not in given]
    if unknown:
        raise SchemaDrift(f"{where}: {', '.join(unknown)} is not an event key; describe it apart")
    return {k: _property(given[k]) for k in keys}


def _event() -> dict:
    """An event table, with the rules that hold in any file (a variant may leave the rest to its base)."""
    others = [kind for kind in s.EVENT_KINDS if kind != "scheduled"]  # an enum, not `not const`: a mistyped kind
    not_scheduled = {"required": ["kind"], "properties": {"kind": {"enum": others}}}  # gives one clear error
    return {
        "type": "object", "properties": _event_properties("events.<id>", EVENT_KEYS + SHOCK_EVENT_KEYS),
        "description": _NAMED.format("An event"),
        "additionalProperties": False, "x-taplo": {"initKeys": list(EVENT_REQUIRED)},
        "allOf": [
            {"not": {"required": ["date", "step"]}},
            {"if": not_scheduled, "then": {"not": {"anyOf": [{"required": ["date"]}, {"required": ["step"]}]}}},
            {"not": {"required": ["shock", "effects"]}},
        ],
    }


def _event_needs() -> list[dict]:
    """What each kind of event needs in a complete file (event_specs: SCHEDULED_WHEN, KIND_NEEDS)."""
    needs = {"scheduled": {"anyOf": [{"required": [key]} for key in SCHEDULED_WHEN[0]]}}
    needs |= {kind: {"required": [key]} for kind, (key, _) in KIND_NEEDS.items()}
    rules = [{"if": {"required": ["kind"], "properties": {"kind": {"const": kind}}}, "then": then}
             for kind, then in needs.items()]
    return rules + [{"if": {"required": ["with"]}, "then": {"required": ["shock"]}}]


def _template() -> dict:
    own = tuple(k for k in TEMPLATE_KEYS if k not in EVENT_KEYS)
    given = _documented("templates.<id>", own, TEMPLATE_DOCS)
    properties = _event_properties("templates.<id>", tuple(k for k in TEMPLATE_KEYS if k in EVENT_KEYS))
    properties |= {k: _property(given[k]) for k in own}
    properties["kind"]["enum"] = [k for k in s.EVENT_KINDS if k != "scheduled"]  # templates.expand_template
    properties["kind"]["description"] += " A template cannot be scheduled: scheduled events are given shocks."
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "description": "A template: an event written once over actor selectors (for); its instances' ids "
                           "read <id>[a,b].", "x-taplo": {"initKeys": list(TEMPLATE_REQUIRED)}}


def _instance() -> dict:
    return {"type": "object", "properties": _event_properties("templates.<id>.instances", INSTANCE_KEYS),
            "additionalProperties": False, "description": "Event keys that override one instance of the template."}


def _selector() -> dict:
    table = _table("selector", SELECTOR_KEYS, SELECTOR_DOCS)
    return {"description": "Which actors fill a placeholder: an actor id, a list of them, or a table whose keys "
                           "must all hold.", "anyOf": [_ids(), table]}


# --- effects and distributions ---------------------------------------------------------------------------
def _exactly_one(a: str, b: str) -> dict:
    return {"oneOf": [{"required": [a]}, {"required": [b]}]}


def _effect() -> dict:
    keys = tuple(dict.fromkeys(k for kind in EFFECT_KINDS.values() for k in kind.keys))
    table = _table("effect", keys, _effect_docs(), ("type",))
    table["required"] = ["type"]
    table["description"] = "An effect: a table with type and the keys of that type."
    table["allOf"] = [{"if": {"required": ["type"], "properties": {"type": {"const": name}}},
                       "then": _effect_rule(kind)} for name, kind in EFFECT_KINDS.items()]
    return table


def _effect_rule(kind: EffectKind) -> dict:
    """What the loader's entry for the kind says (event_specs.EFFECT_KINDS): its keys, those it needs, the
    pairs of which it takes exactly one."""
    rule = {"propertyNames": {"enum": list(kind.keys)}, "required": list(kind.needs)}
    if kind.one_of:
        rule["allOf"] = [_exactly_one(a, b) for (a, b), _ in kind.one_of]
    return rule | kind.schema


def _distribution() -> dict:
    params = tuple(dict.fromkeys(p for kind in DISTRIBUTIONS.values() for p in kind.params))
    alternatives = tuple(alt.name for kind in DISTRIBUTIONS.values() for alt in kind.alternatives)
    table = _table("distribution", ("dist",) + params + alternatives, DISTRIBUTION_DOCS, ("dist",))
    table["required"] = ["dist"]
    table["description"] = "A distribution: { dist = \"<name>\", <its parameters> }, drawn per firing and replication."
    table["allOf"] = [{"if": {"required": ["dist"], "properties": {"dist": {"const": name}}},
                       "then": _distribution_rule(kind)} for name, kind in DISTRIBUTIONS.items()]
    return table


def _distribution_rule(kind) -> dict:
    """The loader's entry for the distribution (distributions.DISTRIBUTIONS): its parameters, each required
    unless an alternative form may stand for it, and then exactly one of the two."""
    replaced = {alt.replaces for alt in kind.alternatives}
    rule = {"propertyNames": {"enum": ["dist", *kind.params, *(alt.name for alt in kind.alternatives)]},
            "required": [p for p in kind.params if p not in replaced]}
    if kind.alternatives:
        rule["allOf"] = [_exactly_one(alt.replaces, alt.name) for alt in kind.alternatives]
    return rule


# --- mechanisms ------------------------------------------------------------------------------------------
def _mechanisms() -> dict:
    return {"type": "object", "properties": {name: _mechanism(name) for name in available()},
            "additionalProperties": False}


def _placeholders(name: str, key: str) -> dict[str, object]:
    """The placeholders a mechanism's templates have under `key` (for or with), with the library's value."""
    found: dict[str, object] = {}
    for template in library(name).get("templates", {}).values():
        for placeholder, value in template.get(key, {}).items():
            found.setdefault(placeholder, value)
    return found


def _mechanism(name: str) -> dict:
    given = _documented("mechanisms.<name>", MECHANISM_KEYS, MECHANISM_DOCS)
    spec = library(name).get("mechanism", {})
    roles = spec.get("roles", {})
    selectors = {p: {"description": f"The selector of {{{p}}} (the mechanism's: {json.dumps(value)}).",
                     "allOf": [{"$ref": "#/$defs/selector"}]} for p, value in _placeholders(name, "for").items()}
    fixed = {p: _string() | {"description": roles.get(p, f"The id {{{p}}} stands for.")}
             for p in _placeholders(name, "with")}
    properties = {k: _property(given[k]) for k in MECHANISM_KEYS}
    properties["for"] |= {"properties": selectors, "additionalProperties": False}
    properties["with"] |= {"properties": fixed, "additionalProperties": False}
    requires = spec.get("requires", [])
    about = spec.get("description", "")
    return {"type": "object", "properties": properties, "additionalProperties": False,
            "description": f"The {name} mechanism (sim/mechanisms/{name}.toml): {about}."
                           + (f" It brings {', '.join(requires)} too." if requires else "")
                           + (f" Roles: {', '.join(roles)}." if roles else "")}


# --- the whole -------------------------------------------------------------------------------------------
def _complete() -> dict:
    """What a complete scenario (one without `extends`) needs besides what any file may hold: its required
    keys, and what each kind of event, each mechanism's roles need. A variant may leave them to its base."""
    library_templates = {tid: {} for name in available() for tid in library(name).get("templates", {})}
    roles = {name: {"required": ["with"], "properties": {"with": {"required": list(spec["roles"])}}}
             for name in available() if (spec := library(name).get("mechanism", {})).get("roles")}
    return {
        "required": list(TOP_REQUIRED),
        "properties": {
            "meta": {"required": list(META_REQUIRED)},
            "sites": {"additionalProperties": {"required": list(SITE_REQUIRED)}},
            "events": {"additionalProperties": {"required": list(EVENT_REQUIRED), "allOf": _event_needs()}},
            "templates": {"properties": library_templates,  # a mechanism's template gives them
                          "additionalProperties": {"required": list(TEMPLATE_REQUIRED)}},
            "outcomes": {"additionalProperties": {"required": list(OUTCOME_REQUIRED)}},
            "mechanisms": {"properties": roles},
        },
    }


def scenario_schema() -> dict:
    """The JSON Schema of a scenario file, from the loader's definitions; SchemaDrift if they and the
    descriptions here disagree."""
    given = _documented("the top level", (EXTENDS,) + TOP_KEYS, TOP_DOCS)
    return {
        "$schema": DRAFT,
        "$comment": f"Generated from the scenario loader's definitions (sim/scenario/json_schema.py); do not edit, "
                    f"regenerate with: {REGENERATE}",
        "title": "sim scenario",
        "description": "A scenario of the sim engine (docs/scenarios.md). A file with extends is a variant: it "
                       "may leave any key to its base, so only a complete file must have meta, actors and the "
                       "other required keys.",
        "type": "object",
        "properties": {k: _property(given[k]) for k in (EXTENDS,) + TOP_KEYS},
        "additionalProperties": False,
        "if": {"required": [EXTENDS]},
        "else": _complete(),
        "$defs": {"effect": _effect(), "distribution": _distribution(), "selector": _selector()},
    }


def schema_text() -> str:
    """The schema as `sim schema` prints it and scenarios/scenario.schema.json holds it: stable bytes."""
    return json.dumps(scenario_schema(), indent=2, sort_keys=True) + "\n"
