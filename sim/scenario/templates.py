"""Event templates and shock kinds, expanded at load into plain event tables.

A template is an event written once over actor selectors (`for`), e.g. every host and every
foreign force present in it; it expands into one event per match, with ids such as
`expel[chad,france]` and `{placeholder}` text replaced in its name, condition, probability and
effects. A shock kind (`[shocks.coup]`) holds the effects that every scheduled shock of that kind
shares, so that no shock is sized by hindsight for one country.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sim.errors import KeyPath, did_you_mean
from sim.scenario.checks import Checker, describe

PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SELECTOR_KEYS = ("kind", "bloc", "actors", "present_in", "hosting", "hosts_sites", "except", "except_bloc")
TEMPLATE_KEYS = ("name", "kind", "probability", "condition", "once", "cooldown", "effects", "mark", "enabled",
                 "for", "with", "distinct", "instances")
TEMPLATE_REQUIRED = ("for", "kind")  # unless the template comes from a mechanism, which gives them
INSTANCE_KEYS = ("name", "probability", "condition", "once", "cooldown", "effects", "mark", "enabled")
SHOCK_KEYS = ("name", "description", "effects")
SHOCK_EVENT_KEYS = ("shock", "with")  # what an event adds to say it is a given shock of a kind (apply_shock)
MAX_INSTANCES = 100_000


@dataclass(frozen=True, slots=True)
class World:
    """What selectors look at: actors (in file order) with their kinds and blocs, and where forces are."""

    actors: tuple[str, ...]
    kinds: dict[str, str]
    blocs: dict[str, tuple[str, ...]]            # bloc -> members
    slots: tuple[tuple[str, str], ...]           # (actor, host of the site)
    hosts: frozenset[str]                        # actors hosting at least one site


@dataclass(frozen=True, slots=True)
class Expanded:
    """One event table ready for the event reader, with where it came from."""

    id: str
    raw: dict
    path: KeyPath                # where problems are reported (the template or the event)
    template: str | None
    bindings: tuple[tuple[str, str], ...]
    shock: str | None = None


def instance_id(template: str, values: tuple[str, ...]) -> str:
    return f"{template}[{','.join(values)}]"


def normalize_id(text: str) -> str:
    """'expel[chad, france]' -> 'expel[chad,france]' (spaces inside the brackets do not matter)."""
    parts = split_instance_id(text) if isinstance(text, str) else None
    return instance_id(*parts) if parts else text


def split_instance_id(text: str) -> tuple[str, tuple[str, ...]] | None:
    """'expel[chad, france]' -> ('expel', ('chad', 'france')); None for a plain id."""
    match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\[([^\[\]]*)\]", text.strip())
    if not match:
        return None
    return match.group(1), tuple(v.strip() for v in match.group(2).split(","))


# --- substitution ------------------------------------------------------------------------------
def substitute(check: Checker, value, bindings: dict[str, str], path: KeyPath, reported: set):
    """Replace {name} in every string of `value` (recursively); unknown names are problems, once each."""
    if isinstance(value, str):
        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name in bindings:
                return bindings[name]
            if (path, name) not in reported:
                reported.add((path, name))
                known = ", ".join("{" + k + "}" for k in bindings) or "(none)"
                check.problem(path, f"unknown placeholder '{{{name}}}'; expected one of {known}"
                              + did_you_mean(name, bindings))
            return match.group(0)
        return PLACEHOLDER.sub(replace, value)
    if isinstance(value, dict):
        return {k: substitute(check, v, bindings, path + (k,), reported) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(check, v, bindings, path + (i,), reported) for i, v in enumerate(value)]
    return value


# --- selectors -----------------------------------------------------------------------------------
def _names(check: Checker, value, path: KeyPath, bound: dict[str, str], choices, what: str) -> list[str] | None:
    """A string or list of ids, each possibly a {placeholder} bound earlier."""
    items = value if isinstance(value, list) else [value]
    out = []
    for i, item in enumerate(items):
        here = path + (i,) if isinstance(value, list) else path
        if not isinstance(item, str):
            check.problem(here, f"found {describe(item)}, expected {what} id or an earlier {{placeholder}}")
            return None
        match = PLACEHOLDER.fullmatch(item)
        if match:
            if match.group(1) not in bound:
                known = ", ".join("{" + k + "}" for k in bound) or "none yet"
                check.problem(here, f"'{item}' is not a placeholder bound before this one (bound: {known})")
                return None
            item = bound[match.group(1)]
        if item not in choices:
            check.problem(here, f"unknown {what} '{item}'; expected one of {', '.join(choices) or '(none defined)'}"
                          + did_you_mean(item, choices))
            return None
        out.append(item)
    return out


def select(check: Checker, spec, path: KeyPath, bound: dict[str, str], world: World) -> list[str] | None:
    """The actors a selector matches (in file order), given the placeholders bound so far."""
    if isinstance(spec, (list, str)):
        spec = {"actors": spec}
    if check.table(spec, path, SELECTOR_KEYS) is None:
        return None
    chosen = list(world.actors)
    if "kind" in spec:
        kinds = spec["kind"] if isinstance(spec["kind"], list) else [spec["kind"]]
        if not all(isinstance(k, str) for k in kinds):
            check.problem(path + ("kind",), f"found {describe(spec['kind'])}, expected an actor kind or a list of them")
            return None
        unknown = [k for k in kinds if k not in world.kinds.values()]
        if unknown:
            known = sorted(set(world.kinds.values()))
            check.problem(path + ("kind",), f"no actor is of kind '{unknown[0]}'; kinds in this scenario: "
                          f"{', '.join(known)}" + did_you_mean(unknown[0], known))
            return None
        chosen = [a for a in chosen if world.kinds[a] in kinds]
    if "bloc" in spec:
        blocs = _names(check, spec["bloc"], path + ("bloc",), bound, tuple(world.blocs), "bloc")
        if blocs is None:
            return None
        chosen = [a for a in chosen if any(a in world.blocs[b] for b in blocs)]
    if "actors" in spec:
        named = _names(check, spec["actors"], path + ("actors",), bound, world.actors, "actor")
        if named is None:
            return None
        chosen = [a for a in chosen if a in named]
    if "present_in" in spec:
        hosts = _names(check, spec["present_in"], path + ("present_in",), bound, world.actors, "actor")
        if hosts is None:
            return None
        chosen = [a for a in chosen if any((a, h) in world.slots for h in hosts)]
    if "hosting" in spec:
        forces = _names(check, spec["hosting"], path + ("hosting",), bound, world.actors, "actor")
        if forces is None:
            return None
        chosen = [a for a in chosen if any((f, a) in world.slots for f in forces)]
    if "hosts_sites" in spec:
        wanted = check.boolean(spec["hosts_sites"], path + ("hosts_sites",), True)
        chosen = [a for a in chosen if (a in world.hosts) == wanted]
    if "except_bloc" in spec:
        blocs = _names(check, spec["except_bloc"], path + ("except_bloc",), bound, tuple(world.blocs), "bloc")
        if blocs is None:
            return None
        chosen = [a for a in chosen if not any(a in world.blocs[b] for b in blocs)]
    if "except" in spec:
        excluded = _names(check, spec["except"], path + ("except",), bound, world.actors, "actor")
        if excluded is None:
            return None
        chosen = [a for a in chosen if a not in excluded]
    return chosen


# --- templates -----------------------------------------------------------------------------------
def expand_template(check: Checker, tid: str, raw, world: World) -> list[Expanded]:
    path = ("templates", tid)
    before = len(check.problems)
    raw = check.table(raw, path, TEMPLATE_KEYS, required=TEMPLATE_REQUIRED)
    if raw is None or "for" not in raw:
        return []
    if raw.get("kind") == "scheduled":
        check.problem(path + ("kind",), "a template cannot be scheduled: scheduled events are given shocks "
                                        "(write them as events with shock = \"<kind>\")")
        return []
    given = raw.get("with", {})
    fixed = check.table(given, path + ("with",), tuple(given) if isinstance(given, dict) else ()) or {}
    for name, value in fixed.items():
        check.ident(name, path + ("with", name))
        if not isinstance(value, str):
            check.problem(path + ("with", name), f"found {describe(value)}, expected an id (a string)")
    selectors = raw["for"]
    if not isinstance(selectors, dict) or not selectors:
        check.problem(path + ("for",), f"found {describe(selectors)}, expected a table of placeholder = selector")
        return []
    for name in selectors:
        check.ident(name, path + ("for", name))
        if name in fixed:
            check.problem(path + ("with", name), f"'{name}' is both selected (for) and fixed (with)")
    distinct = check.boolean(raw.get("distinct"), path + ("distinct",), True)
    if len(check.problems) > before:
        return []
    fixed = {k: str(v) for k, v in fixed.items()}
    combos: list[dict[str, str]] = []
    if not _bindings(check, list(selectors.items()), path + ("for",), fixed, world, distinct, len(fixed), combos):
        return []
    if not combos:
        check.problem(path + ("for",), "the selectors match nothing together: the template has no instance")
        return []
    overrides = check.mapping_any(raw.get("instances"), path + ("instances",))
    keys = {",".join(c[k] for k in selectors): c for c in combos}
    for key in overrides:
        if key not in keys:
            check.problem(path + ("instances", key), f"no instance '{key}' of template '{tid}'; instances are "
                          + ", ".join(list(keys)[:8]) + (", ..." if len(keys) > 8 else "") + did_you_mean(key, keys))
    body = {k: v for k, v in raw.items() if k not in ("for", "with", "distinct", "instances")}
    out, reported = [], set()
    for combo in combos:
        values = tuple(combo[k] for k in selectors)
        eid = instance_id(tid, values)
        event = dict(body)
        override = overrides.get(",".join(values))
        if override is not None and check.table(override, path + ("instances", ",".join(values)), INSTANCE_KEYS):
            event |= override
        bindings = combo
        event = substitute(check, event, bindings, path, reported)
        if reported:  # an unknown placeholder is the template's mistake: reported once, no instances
            return []
        event.setdefault("name", eid)
        out.append(Expanded(eid, event, path, tid, tuple(bindings.items())))
    return out


def _bindings(check, selectors, path, bound, world, distinct, n_fixed, out: list) -> bool:
    """Append to `out` every combination of the placeholders' values, nested in the order they are written
    (the first `n_fixed` entries of `bound` are the template's fixed `with` values); False on a problem,
    including more than MAX_INSTANCES combinations (stopping there, before memory runs out)."""
    if not selectors:
        out.append(dict(bound))
        if len(out) > MAX_INSTANCES:
            check.problem(path, f"expands to more than {MAX_INSTANCES:,} events")
            return False
        return True
    (name, spec), rest = selectors[0], selectors[1:]
    matched = select(check, spec, path + (name,), bound, world)
    if matched is None:
        return False
    if distinct:
        matched = [a for a in matched if a not in list(bound.values())[n_fixed:]]
    if not matched and len(bound) == n_fixed:
        check.problem(path + (name,), f"the selector for '{{{name}}}' matches no actor")
        return False
    return all(_bindings(check, rest, path, {**bound, name: actor}, world, distinct, n_fixed, out)
               for actor in matched)


# --- shocks ----------------------------------------------------------------------------------------
def apply_shock(check: Checker, eid: str, raw: dict, shocks: dict) -> Expanded:
    """An event with `shock = "<kind>"` takes its effects (and default name) from [shocks.<kind>]."""
    path = ("events", eid)
    kind_id = raw.get("shock")
    if not isinstance(kind_id, str) or kind_id not in shocks:
        check.problem(path + ("shock",), f"unknown shock kind {describe(kind_id)}; expected one of "
                      f"{', '.join(shocks) or '(none: declare [shocks.<kind>])'}" + did_you_mean(str(kind_id), shocks))
        return Expanded(eid, {k: v for k, v in raw.items() if k not in SHOCK_EVENT_KEYS}, path, None, ())
    spec = check.table(shocks[kind_id], ("shocks", kind_id), SHOCK_KEYS) or {}
    if "effects" in raw:
        check.problem(path + ("effects",), f"a shock takes its effects from shocks.{kind_id}, so that every "
                                           f"{kind_id} shares its magnitudes; remove 'effects' here")
    given = raw.get("with", {})
    if not isinstance(given, dict) or not all(isinstance(v, str) for v in given.values()):
        check.problem(path + ("with",), f"found {describe(given)}, expected a table of placeholder = id")
        given = {}
    event = {k: v for k, v in raw.items() if k not in SHOCK_EVENT_KEYS + ("effects",)}
    reported: set = set()
    event["effects"] = substitute(check, spec.get("effects", []), given, ("shocks", kind_id, "effects"), reported)
    if "name" not in event and "name" in spec:
        event["name"] = substitute(check, spec["name"], given, ("shocks", kind_id, "name"), reported)
    return Expanded(eid, event, path, None, tuple(given.items()), kind_id)
