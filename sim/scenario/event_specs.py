"""Events and their effects, read from a scenario document (part of the loader)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sim.errors import KeyPath, did_you_mean, excerpt
from sim.scenario import schema as s
from sim.scenario.checks import Checker, describe
from sim.scenario.dates import step_of_date
from sim.scenario.distributions import DISTRIBUTIONS, Distribution, Named
from sim.scenario.expressions import ExpressionError, Names, parse_expression
from sim.scenario.templates import normalize_id

EVENT_KEYS = ("name", "kind", "date", "step", "probability", "condition", "once", "cooldown", "effects",
              "mark", "enabled")
EVENT_REQUIRED = ("kind",)
PARAMETER_HINT = "a number, a parameter name or a distribution table"
MAX_EFFECTS = 1000  # per event: each effect owns two draw slots of the event's stream, which has 65,536 per step


def expression(check: Checker, value, path: KeyPath, names: Names, wanted: str):
    if not isinstance(value, str):
        check.problem(path, f"found {describe(value)}, expected an expression (a string)")
        return None
    try:
        expr = parse_expression(value, names)
    except ExpressionError as error:
        check.problem(path, f"{error} in \"{excerpt(value, error.column)}\"")
        return None
    if wanted and expr.type != wanted:
        check.problem(path, f"\"{excerpt(value)}\" is a {expr.type} expression, expected a {wanted} expression")
        return None
    return expr


def _amount(check: Checker, value, path: KeyPath, params: dict[str, float], lo: float | None = None):
    """A number, the name of a parameter (shared by every event that names it), or a distribution
    whose parameters are numbers or parameter names."""
    if isinstance(value, dict):
        name = value.get("dist")
        if check.string(name, path + ("dist",), choices=tuple(DISTRIBUTIONS)) is None:
            return None
        keys, validate = DISTRIBUTIONS[name].params, DISTRIBUTIONS[name].check
        for alt in DISTRIBUTIONS[name].alternatives:  # a friendlier form, e.g. a lognormal's median instead of mu
            if alt.name not in value:
                continue
            if alt.replaces in value:
                check.problem(path, f"a {name} takes '{alt.replaces}' or '{alt.name}', not both")
                return None
            given = _number_or_parameter(check, value[alt.name], path + (alt.name,), params)
            if given is None or (alt.to_log and given <= 0):
                if given is not None:
                    check.problem(path + (alt.name,), f"found {given:g}, expected a {alt.name} > 0")
                return None
            converted = (Named(float(np.log(given)), given.name, log=True) if isinstance(given, Named)
                         else float(np.log(given))) if alt.to_log else given
            value = {k: v for k, v in value.items() if k != alt.name} | {alt.replaces: converted}
        check.table(value, path, ("dist",) + keys, required=keys)
        numbers = {k: _number_or_parameter(check, value.get(k), path + (k,), params) for k in keys if k in value}
        if len(numbers) != len(keys) or None in numbers.values():
            return None
        message = validate(numbers)
        if message:
            check.problem(path, f"{name} distribution: {message}")
            return None
        return Distribution(name, tuple(numbers.items()))
    number = _number_or_parameter(check, value, path, params)
    if number is not None and lo is not None and number < lo:
        check.problem(path, f"found {number:g}, expected a number >= {lo:g}")
        return None
    return number


def _number_or_parameter(check: Checker, value, path: KeyPath, params: dict[str, float]):
    if isinstance(value, Named):  # a lognormal's mu, from a median that names a parameter
        return value
    if isinstance(value, str):
        if value in params:
            return Named(params[value], value)
        check.problem(path, f"unknown parameter '{value}'; expected {PARAMETER_HINT}" + did_you_mean(value, params))
        return None
    return check.number(value, path)


def event_spec(check: Checker, eid: str, raw, names: Names, dates, meta, params: dict[str, float],
               path: KeyPath | None = None, template: str | None = None, bindings=(), shock: str | None = None
               ) -> s.Event | None:
    path = ("events", eid) if path is None else path
    raw = check.table(raw, path, EVENT_KEYS, required=EVENT_REQUIRED)
    if raw is None:
        return None
    kind = check.string(raw.get("kind"), path + ("kind",), choices=s.EVENT_KINDS)
    step = date = None
    if kind == "scheduled":
        if ("date" in raw) == ("step" in raw):
            check.problem(path, "a scheduled event needs exactly one of 'date' or 'step'")
        elif "date" in raw:
            date = check.date(raw["date"], path + ("date",))
            if date is not None and dates:
                step = step_of_date(dates, date)
                if date < dates[0]:
                    check.warn(path + ("date",), f"{date} is before meta.start ({dates[0]}); it fires in step 1")
        else:
            step = check.number(raw["step"], path + ("step",), lo=1, integer=True)
        if step is not None and meta is not None and step > meta.steps:
            check.warn(path, f"scheduled at step {step}, after the last step ({meta.steps}); it never fires")
    elif "date" in raw or "step" in raw:
        key = "date" if "date" in raw else "step"
        check.problem(path + (key,), f"only scheduled events take '{key}'; this one is {kind}")
    condition = expression(check, raw["condition"], path + ("condition",), names, "bool") if "condition" in raw else None
    if kind == "triggered" and "condition" not in raw:
        check.problem(path, "a triggered event needs a 'condition'")
    probability = raw.get("probability")
    if kind == "stochastic" and probability is None:
        check.problem(path, "a stochastic event needs a 'probability' (per step)")
    if isinstance(probability, str):
        probability = expression(check, probability, path + ("probability",), names, "number")
    else:
        probability = check.number(probability, path + ("probability",), lo=0, hi=1, default=1.0)
    effects_raw = raw.get("effects", [])
    if not isinstance(effects_raw, list):
        check.problem(path + ("effects",), f"found {describe(effects_raw)}, expected a list of effect tables")
        effects_raw = []
    if len(effects_raw) > MAX_EFFECTS:
        check.problem(path + ("effects",), f"{len(effects_raw)} effects, expected at most {MAX_EFFECTS}")
        effects_raw = []
    effects = tuple(_effect(check, spec, path + ("effects", i), names, params) for i, spec in enumerate(effects_raw))
    return s.Event(
        id=eid, name=check.string(raw.get("name"), path + ("name",), default=eid) or eid, kind=kind or "scheduled",
        step=step, date=date, probability=probability if probability is not None else 1.0, condition=condition,
        once=check.boolean(raw.get("once"), path + ("once",), kind != "stochastic"),
        cooldown=check.number(raw.get("cooldown"), path + ("cooldown",), lo=0, integer=True, default=0) or 0,
        effects=tuple(e for e in effects if e is not None),
        mark=check.boolean(raw.get("mark"), path + ("mark",), kind == "scheduled"),
        enabled=check.boolean(raw.get("enabled"), path + ("enabled",), True),
        template=template, bindings=tuple(bindings), shock=shock,
    )


def check_presence_effects(check: Checker, events, presence, site_host: dict[str, str], paths: dict) -> None:
    slots = {(p.actor, p.site) for p in presence}
    hosted = {(p.actor, site_host.get(p.site)) for p in presence}
    for event in events:
        for k, effect in enumerate(event.effects if event else ()):
            if not isinstance(effect, s.PresenceEffect):
                continue
            where = paths[event.id] + ("effects", k)
            label = f" (in {event.id})" if event.template else ""
            if effect.site is not None and (effect.actor, effect.site) not in slots:
                check.problem(where, f"{effect.actor} has no presence slot at {effect.site}{label}; declare it in "
                                     f"[presence] (e.g. {effect.actor} = {{ {effect.site} = 0 }})")
            elif effect.host is not None and (effect.actor, effect.host) not in hosted:
                check.problem(where, f"{effect.actor} has no presence slot at any site hosted by {effect.host}"
                                     f"{label}; declare one in [presence]")


def _effect(check: Checker, raw, path: KeyPath, names: Names, params: dict[str, float]):
    if not isinstance(raw, dict):
        check.problem(path, f"found {describe(raw)}, expected an effect table")
        return None
    kind = check.string(raw.get("type"), path + ("type",), choices=tuple(EFFECT_KINDS))
    if kind is None:
        return None
    check.table(raw, path, EFFECT_KINDS[kind].keys)
    return EFFECT_KINDS[kind].parse(check, raw, path, names, params)


def _change(check: Checker, raw: dict, path: KeyPath, params: dict[str, float]):
    """(delta, set, amount) of a relation, attribute or presence effect: exactly one of the two is given."""
    key = _exactly_one(check, raw, path, CHANGE)
    if key is None:
        return None
    amount = _amount(check, raw[key], path + (key,), params)
    return (amount, None, amount) if key == "delta" else (None, amount, amount)


def _follow_up(check: Checker, raw: dict, path: KeyPath, names: Names, params: dict[str, float]):
    event = check.ref(normalize_id(raw.get("event")), path + ("event",), "event", names.events)
    delay = _amount(check, raw.get("delay", 1), path + ("delay",), params, lo=1)
    return s.FollowUpEffect(event, delay) if event and delay is not None else None


def _relation(check: Checker, raw: dict, path: KeyPath, names: Names, params: dict[str, float]):
    change = _change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, amount = change
    sources = _parties(check, raw.get("source"), path + ("source",), names)
    targets = _parties(check, raw.get("target"), path + ("target",), names)
    mutual = check.boolean(raw.get("mutual"), path + ("mutual",), False)
    arrow = " <-> " if mutual else " -> "
    label = ",".join(sources) + arrow + ",".join(targets)
    lasting = check.boolean(raw.get("lasting"), path + ("lasting",), False)
    ok = sources and targets and amount is not None
    return s.RelationEffect(sources, targets, mutual, delta, setv, label, lasting) if ok else None


def _attribute(check: Checker, raw: dict, path: KeyPath, names: Names, params: dict[str, float]):
    change = _change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, amount = change
    actor = check.ref(raw.get("actor"), path + ("actor",), "actor", names.actors)
    attribute = check.ref(raw.get("attribute"), path + ("attribute",), "attribute", names.attributes)
    return s.AttributeEffect(actor, attribute, delta, setv) if actor and attribute and amount is not None else None


def _presence(check: Checker, raw: dict, path: KeyPath, names: Names, params: dict[str, float]):
    change = _change(check, raw, path, params)
    if change is None:
        return None
    delta, setv, amount = change
    actor = check.ref(raw.get("actor"), path + ("actor",), "actor", names.actors)
    site = host = None
    where = _exactly_one(check, raw, path, PLACE)
    if where == "site":
        site = check.ref(raw.get("site"), path + ("site",), "site", names.sites)
    elif where == "host":
        host = check.ref(raw.get("host"), path + ("host",), "actor", names.actors)
    over = _amount(check, raw.get("over", 1), path + ("over",), params, lo=1)
    if isinstance(setv, (int, float)) and setv < 0:
        check.problem(path + ("set",), f"found {setv:g}, expected personnel >= 0")
    ok = actor and (site or host) and over is not None and amount is not None
    return s.PresenceEffect(actor, site, host, delta, setv, over) if ok else None


@dataclass(frozen=True)
class EffectKind:
    """An effect kind as the loader reads it: the keys its table may have, those it must have, the pairs of
    which it takes exactly one (with what to say otherwise), and its parser. `sim schema` reads the same
    entry, so editors check what the loader checks."""
    keys: tuple[str, ...]
    parse: Callable
    needs: tuple[str, ...] = ()
    one_of: tuple[tuple[tuple[str, str], str], ...] = ()


CHANGE = (("delta", "set"), "an effect needs exactly one of 'delta' or 'set'")
PLACE = (("site", "host"), "a presence effect needs exactly one of 'site' (one site) or 'host' (all the actor's "
                           "sites in that host)")

# effect kind -> how it is read; the kinds' data classes are in schema.py and their compiled forms in
# model/effects.py (docs/extending.md: adding a kind)
EFFECT_KINDS = {
    "relation": EffectKind(("type", "source", "target", "mutual", "delta", "set", "lasting"), _relation,
                           ("source", "target"), (CHANGE,)),
    "attribute": EffectKind(("type", "actor", "attribute", "delta", "set"), _attribute, ("actor", "attribute"),
                            (CHANGE,)),
    "presence": EffectKind(("type", "actor", "site", "host", "delta", "set", "over"), _presence, ("actor",),
                           (CHANGE, PLACE)),
    "follow_up": EffectKind(("type", "event", "delay"), _follow_up, ("event",)),
}


def _exactly_one(check: Checker, raw: dict, path: KeyPath, rule: tuple[tuple[str, str], str]) -> str | None:
    """Which of the rule's two keys `raw` has, or None (and the rule's problem) unless exactly one."""
    (a, b), message = rule
    if (a in raw) == (b in raw):
        check.problem(path, message)
        return None
    return a if a in raw else b


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _parties(check: Checker, value, path: KeyPath, names: Names) -> tuple[str, ...]:
    """Actor or bloc ids (a string or a list); blocs stay as named and are expanded by the model."""
    if value is None:
        check.problem(path, "missing value, expected an actor or bloc id (or a list of them)")
        return ()
    items = _as_list(value)
    out = []
    for i, item in enumerate(items):
        here = path + (i,) if isinstance(value, list) else path
        ref = check.ref(item, here, "actor or bloc", names.actors + names.blocs)
        if ref:
            out.append(ref)
    return tuple(out) if len(out) == len(items) else ()
