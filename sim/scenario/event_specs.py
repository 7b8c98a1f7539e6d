"""Events and their effects, read from a scenario document (part of the loader)."""

from __future__ import annotations

from sim.errors import KeyPath, excerpt
from sim.scenario import schema as s
from sim.scenario.amounts import Rule, exactly_one
from sim.scenario.checks import Checker, describe
from sim.scenario.dates import step_of_date
from sim.scenario.effect_kinds import KINDS as EFFECT_KINDS
from sim.scenario.expressions import ExpressionError, Names, parse_expression
from sim.scenario.limits import PROBABILITY

EVENT_KEYS = ("name", "kind", "date", "step", "probability", "condition", "once", "cooldown", "effects",
              "mark", "enabled")
EVENT_REQUIRED = ("kind",)
# what each kind of event needs beyond EVENT_REQUIRED: the loader checks it here, `sim schema` reads it
SCHEDULED_WHEN: Rule = (("date", "step"), "a scheduled event needs exactly one of 'date' or 'step'")  # only it
KIND_NEEDS = {"triggered": ("condition", "a triggered event needs a 'condition'"),
              "stochastic": ("probability", "a stochastic event needs a 'probability' (per step)")}
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
        when = exactly_one(check, raw, path, SCHEDULED_WHEN)
        if when == "date":
            date = check.date(raw["date"], path + ("date",))
            if date is not None and dates:
                step = step_of_date(dates, date)
                if date < dates[0]:
                    check.warn(path + ("date",), f"{date} is before meta.start ({dates[0]}); it fires in step 1")
        elif when == "step":
            step = check.number(raw["step"], path + ("step",), lo=1, integer=True)
        if step is not None and meta is not None and step > meta.steps:
            check.warn(path, f"scheduled at step {step}, after the last step ({meta.steps}); it never fires")
    elif any(key in raw for key in SCHEDULED_WHEN[0]):
        key = next(key for key in SCHEDULED_WHEN[0] if key in raw)
        check.problem(path + (key,), f"only scheduled events take '{key}'; this one is {kind}")
    condition = expression(check, raw["condition"], path + ("condition",), names, "bool") if "condition" in raw else None
    if kind in KIND_NEEDS and raw.get(KIND_NEEDS[kind][0]) is None:
        check.problem(path, KIND_NEEDS[kind][1])
    probability = raw.get("probability")
    if isinstance(probability, str):
        probability = expression(check, probability, path + ("probability",), names, "number")
    else:
        probability = check.number(probability, path + ("probability",), lo=PROBABILITY[0], hi=PROBABILITY[1], default=1.0)
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
    name = check.string(raw.get("type"), path + ("type",), choices=tuple(EFFECT_KINDS))
    if name is None:
        return None
    check.table(raw, path, EFFECT_KINDS[name].keys)
    return EFFECT_KINDS[name].parse(check, raw, path, names, params)
