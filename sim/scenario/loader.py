"""TOML -> validated, frozen Scenario in one step, reporting every problem found."""

from __future__ import annotations

import bisect
import difflib
import functools
import hashlib
import json
from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario import schema as s
from sim.scenario.checks import Checker, describe
from sim.scenario.dates import STEP_UNITS, last_date, step_dates
from sim.scenario.documents import ACTOR_FIELDS, Document, apply_overrides, read_document
from sim.scenario.event_specs import check_presence_effects, event_spec, expression
from sim.scenario.expressions import Names
from sim.scenario.limits import CAPABILITY_MIN, PERSONNEL_MIN, RELATION
from sim.scenario.parameters import RULE_OPTIONS, RULE_PARAMETERS
from sim.scenario.templates import Expanded, World, apply_shock, expand_template, split_instance_id

TOP_KEYS = ("meta", "parameters", "attributes", "actors", "blocs", "sites", "presence", "relations",
            "events", "templates", "shocks", "mechanisms", "outcomes", "tracking", "lint")
TOP_REQUIRED = ("meta", "actors")  # a variant (a file with `extends`) may leave them to its base
META_KEYS = ("name", "description", "start", "step", "steps", "seed", "replications", "rule", "fitted_until")
META_REQUIRED = ("name", "start", "steps")
MAX_STEPS = 100_000
ACTOR_KEYS = ACTOR_FIELDS
BLOC_KEYS = ("name", "members")
SITE_KEYS = ("name", "host")
SITE_REQUIRED = ("host",)
RELATION_KEYS = ("default", "mutual", "directed")
OUTCOME_KEYS = ("kind", "expr", "description")
OUTCOME_REQUIRED = ("expr",)
TRACKING_KEYS = ("relations", "attributes", "presence", "camps", "network_dates")
DEFAULT_ATTRIBUTES = {"capability": 1.0}
MAX_NETWORK_DATES = 12  # small multiples of the alignment network: more would not be readable


def load_scenario(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> s.Scenario:
    """Load, resolve `extends`, apply `--set` overrides and validate; raises ScenarioError."""
    doc = read_document(path)
    if overrides:
        doc = apply_overrides(doc, overrides)
    return build_scenario(doc)


def content_hash(resolved: dict) -> str:
    text = json.dumps(resolved, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def build_scenario(doc: Document) -> s.Scenario:
    check = Checker(doc)
    raw = doc.data
    check.table(raw, (), TOP_KEYS, required=TOP_REQUIRED)
    meta = _meta(check, raw.get("meta", {}))
    parameters, options = _parameters(check, raw.get("parameters"))
    attribute_names, attribute_defaults = _attribute_names(check, raw.get("attributes"))
    actors_raw = check.mapping(raw.get("actors"), ("actors",))
    actor_ids = tuple(actors_raw)
    blocs_raw = check.mapping(raw.get("blocs"), ("blocs",))
    sites_raw = check.mapping(raw.get("sites"), ("sites",))
    _check_unique_names(check, actor_ids, tuple(blocs_raw), tuple(sites_raw))

    actors = tuple(_actor(check, aid, spec, attribute_defaults, tuple(blocs_raw))
                   for aid, spec in actors_raw.items())
    blocs = _blocs(check, blocs_raw, actors)
    sites = tuple(_site(check, sid, spec, actor_ids) for sid, spec in sites_raw.items())
    presence = _presence(check, raw.get("presence"), actor_ids, tuple(sites_raw))
    relations, baseline = _relations(check, raw.get("relations"), actors_raw, actor_ids)
    dates = step_dates(meta.start, meta.step_unit, meta.steps) if meta else ()
    expanded, templates = _expand_events(check, raw, actors, blocs, sites, presence)
    names = Names(actor_ids, tuple(blocs_raw), tuple(sites_raw), tuple(x.id for x in expanded), attribute_names,
                  tuple(name for name, _ in parameters))
    events = _read_events(check, expanded, names, dates, meta, dict(parameters))
    check_presence_effects(check, events, presence, {x.id: x.host for x in sites}, {x.id: x.path for x in expanded})
    outcomes = _outcomes(check, raw.get("outcomes"), names)
    tracking = _tracking(check, raw.get("tracking"), names, presence, dates)
    accepts = _lint(check, raw.get("lint"))
    if check.problems:
        raise ScenarioError(check.problems)
    resolved = dict(raw)
    resolved["parameters"] = dict(parameters) | dict(options)
    return s.Scenario(
        path=doc.root_file, meta=meta, parameters=parameters, options=options, attribute_names=attribute_names,
        actors=actors, blocs=blocs, sites=sites, presence=presence, relations=relations, baseline=baseline,
        events=events, templates=templates, outcomes=outcomes, tracking=tracking, dates=dates,
        resolved=resolved, content_hash=content_hash(resolved), warnings=tuple(check.warnings),
        expanded={x.id: x.raw for x in expanded}, lint_accepts=accepts,
    )


# --- sections ------------------------------------------------------------------------------------
def _meta(check: Checker, raw) -> s.Meta | None:
    path = ("meta",)
    if check.table(raw, path, META_KEYS, required=META_REQUIRED) is None:
        return None
    values = dict(
        name=check.name(raw.get("name"), path + ("name",)),
        description=check.string(raw.get("description"), path + ("description",), default=""),
        start=check.date(raw.get("start"), path + ("start",)) if "start" in raw else None,
        step_unit=check.string(raw.get("step"), path + ("step",), default="week", choices=STEP_UNITS),
        steps=check.number(raw.get("steps"), path + ("steps",), lo=1, hi=MAX_STEPS, integer=True),
        seed=check.number(raw.get("seed"), path + ("seed",), lo=0, hi=s.MAX_SEED, integer=True, default=0),
        replications=check.number(raw.get("replications"), path + ("replications",), lo=1,
                                  hi=s.MAX_REPLICATIONS, integer=True, default=1000),
        rule=check.string(raw.get("rule"), path + ("rule",), default="balance", choices=s.RULES),
    )
    if any(v is None for v in values.values()):
        return None
    try:
        step_dates(values["start"], values["step_unit"], 1)
        last_date(values["start"], values["step_unit"], values["steps"])
    except (OverflowError, ValueError):
        check.problem(path + ("steps",), f"{values['steps']} {values['step_unit']}s from {values['start']} end after "
                                         "the year 9999, the last date this engine can count")
        return None
    fitted = check.date(raw["fitted_until"], path + ("fitted_until",)) if "fitted_until" in raw else None
    return s.Meta(**values, fitted_until=fitted)


@functools.lru_cache(maxsize=1024)
def _close_to_model(name: str, model: tuple[str, ...]) -> list[str]:
    return difflib.get_close_matches(name, model, n=1, cutoff=0.8)


def _parameters(check: Checker, raw) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, str], ...]]:
    values: dict[str, float] = {}
    options: dict[str, str] = {}
    model = tuple(RULE_PARAMETERS) + tuple(RULE_OPTIONS)
    for name, value in check.mapping(raw, ("parameters",)).items():
        if name in RULE_OPTIONS:
            default, choices = RULE_OPTIONS[name]
            options[name] = check.string(value, ("parameters", name), choices=choices) or default
            continue
        number = check.number(value, ("parameters", name))
        if number is not None:
            values[name] = number
        library = check.doc.file_of(("parameters", name)).startswith("<mechanism")
        close = _close_to_model(name, model)
        if name not in model and not library and close:
            check.warn(("parameters", name), f"'{name}' is not a model parameter (did you mean '{close[0]}'?); "
                                             "it is kept as a scenario parameter for expressions")
    for name, (default, lo, hi) in RULE_PARAMETERS.items():
        if name in values and not lo <= values[name] <= hi:
            check.problem(("parameters", name), f"found {values[name]:g}, expected a number between {lo:g} and {hi:g}")
        values.setdefault(name, default)
    for name, (default, _) in RULE_OPTIONS.items():
        options.setdefault(name, default)
    return tuple(values.items()), tuple(options.items())


def _attribute_names(check: Checker, raw) -> tuple[tuple[str, ...], dict[str, float]]:
    defaults = dict(DEFAULT_ATTRIBUTES)
    for name, value in check.mapping(raw, ("attributes",)).items():
        number = check.number(value, ("attributes", name))
        if number is not None:
            defaults[name] = number
    return tuple(defaults), defaults


def _check_unique_names(check: Checker, actors, blocs, sites) -> None:
    for bloc in blocs:
        if bloc in actors:
            check.problem(("blocs", bloc), f"'{bloc}' is already an actor id; a bloc needs its own id")
    for site in sites:
        if site in actors or site in blocs:
            check.problem(("sites", site), f"'{site}' is already an actor or bloc id; a site needs its own id")


def _actor(check: Checker, aid: str, raw, defaults: dict[str, float], bloc_ids) -> s.Actor:
    path = ("actors", aid)
    raw = check.table(raw, path, ACTOR_KEYS) or {}
    attributes = dict(defaults)
    given = raw.get("attributes", {})
    if check.table(given, path + ("attributes",), tuple(defaults)) is not None:
        for name, value in given.items():
            if name in defaults:
                number = check.number(value, path + ("attributes", name))
                attributes[name] = number if number is not None else defaults[name]
    if attributes.get("capability", 1.0) < CAPABILITY_MIN:
        check.problem(path + ("attributes", "capability"), "capability must be >= 0")
    blocs = tuple(b for i, b in enumerate(check.string_list(raw.get("blocs"), path + ("blocs",)))
                  if check.ref(b, path + ("blocs", i), "bloc", bloc_ids))
    return s.Actor(
        id=aid,
        name=check.string(raw.get("name"), path + ("name",), default=aid) or aid,
        kind=check.string(raw.get("kind"), path + ("kind",), default="state") or "state",
        attributes=tuple(attributes.items()), blocs=blocs,
    )


def _blocs(check: Checker, raw: dict, actors: tuple[s.Actor, ...]) -> tuple[s.Bloc, ...]:
    actor_ids = tuple(a.id for a in actors)
    blocs = []
    for bid, spec in raw.items():
        path = ("blocs", bid)
        spec = check.table(spec, path, BLOC_KEYS) or {}
        members = [m for i, m in enumerate(check.string_list(spec.get("members"), path + ("members",)))
                   if check.ref(m, path + ("members", i), "actor", actor_ids)]
        members += [a.id for a in actors if bid in a.blocs and a.id not in members]
        if not members:
            check.problem(path, "a bloc needs at least one member (in 'members' or an actor's 'blocs')")
        blocs.append(s.Bloc(bid, check.string(spec.get("name"), path + ("name",), default=bid) or bid,
                            tuple(members)))
    return tuple(blocs)


def _site(check: Checker, sid: str, raw, actor_ids) -> s.Site:
    path = ("sites", sid)
    raw = check.table(raw, path, SITE_KEYS, required=SITE_REQUIRED) or {}
    host = check.ref(raw.get("host"), path + ("host",), "actor", actor_ids) if "host" in raw else None
    return s.Site(sid, check.string(raw.get("name"), path + ("name",), default=sid) or sid, host or "")


def _presence(check: Checker, raw, actor_ids, site_ids) -> tuple[s.PresenceSlot, ...]:
    slots = []
    for actor, per_site in (raw or {}).items() if isinstance(raw, dict) else ():
        path = ("presence", actor)
        if not check.ref(actor, path, "actor", actor_ids):
            continue
        if not isinstance(per_site, dict):
            check.problem(path, f"found {describe(per_site)}, expected a table of site = personnel")
            continue
        for site, personnel in per_site.items():
            if check.ref(site, path + (site,), "site", site_ids):
                number = check.number(personnel, path + (site,), lo=PERSONNEL_MIN)
                if number is not None:
                    slots.append(s.PresenceSlot(actor, site, number))
    if raw is not None and not isinstance(raw, dict):
        check.problem(("presence",), f"found {describe(raw)}, expected a table of actor.site = personnel")
    return tuple(slots)


def _relations(check: Checker, raw, actors_raw: dict, actor_ids):
    n = len(actor_ids)
    path = ("relations",)
    raw = check.table(raw if raw is not None else {}, path, RELATION_KEYS) or {}
    default = check.number(raw.get("default"), path + ("default",), lo=RELATION[0], hi=RELATION[1], default=0.0)
    matrix = [[0.0 if i == j else (default or 0.0) for j in range(n)] for i in range(n)]
    for section, both in (("mutual", True), ("directed", False)):
        for source, targets in check.mapping(raw.get(section), path + (section,)).items():
            here = path + (section, source)
            if not check.ref(source, here, "actor", actor_ids):
                continue
            if not isinstance(targets, dict):
                check.problem(here, f"found {describe(targets)}, expected a table of target = value")
                continue
            for target, value in targets.items():
                if not check.ref(target, here + (target,), "actor", actor_ids):
                    continue
                if target == source:
                    check.problem(here + (target,), "an actor's relation to itself is not modelled")
                    continue
                number = check.number(value, here + (target,), lo=RELATION[0], hi=RELATION[1])
                if number is None:
                    continue
                i, j = actor_ids.index(source), actor_ids.index(target)
                matrix[i][j] = number
                if both:
                    matrix[j][i] = number
    baseline = [row[:] for row in matrix]
    for aid, spec in actors_raw.items():
        if not isinstance(spec, dict):
            continue
        for target, value in check.mapping(spec.get("baseline"), ("actors", aid, "baseline")).items():
            here = ("actors", aid, "baseline", target)
            if check.ref(target, here, "actor", actor_ids) and target != aid:
                number = check.number(value, here, lo=RELATION[0], hi=RELATION[1])
                if number is not None:
                    baseline[actor_ids.index(aid)][actor_ids.index(target)] = number
    return tuple(map(tuple, matrix)), tuple(map(tuple, baseline))


# --- events: written, shocks, template instances --------------------------------------------------
def _expand_events(check: Checker, raw: dict, actors, blocs, sites, presence):
    """Every event as a table ready to read: written events (shocks take their kind's effects), then each
    template's instances, in file order."""
    events_raw = check.mapping_any(raw.get("events"), ("events",))
    templates_raw = check.mapping(raw.get("templates"), ("templates",))
    shocks = check.mapping(raw.get("shocks"), ("shocks",))
    host = {x.id: x.host for x in sites}
    world = World(tuple(a.id for a in actors), {a.id: a.kind for a in actors}, {b.id: b.members for b in blocs},
                  tuple((p.actor, host.get(p.site, "")) for p in presence), frozenset(host.values()))
    expanded: list[Expanded] = []
    for eid, spec in events_raw.items():
        instance = split_instance_id(eid)
        if instance and instance[0] in templates_raw:
            check.problem(("events", eid), f"'{eid}' clashes with an instance of template '{instance[0]}'; to change "
                                           f"one instance, use [templates.{instance[0]}.instances.\"{','.join(instance[1])}\"]")
            continue
        if check.ident(eid, ("events", eid)) is None:
            continue
        if eid in templates_raw:
            check.problem(("templates", eid), f"'{eid}' is already an event id; a template needs its own id")
        if isinstance(spec, dict) and "shock" in spec:
            expanded.append(apply_shock(check, eid, spec, shocks))
        else:
            expanded.append(Expanded(eid, spec, ("events", eid), None, ()))
    templates = []
    for tid, spec in templates_raw.items():
        instances = expand_template(check, tid, spec, world)
        expanded += instances
        placeholders = tuple(spec.get("for", {})) if isinstance(spec, dict) and isinstance(spec.get("for"), dict) \
            else ()
        templates.append(s.Template(tid, placeholders, tuple(x.id for x in instances),
                                    check.doc.file_of(("templates", tid))))
    return expanded, tuple(templates)


def _read_events(check: Checker, expanded: list[Expanded], names: Names, dates, meta, params) -> tuple[s.Event, ...]:
    """Read each event; a template with a problem is reported for its first faulty instance only."""
    events, faulty = [], set()
    for x in expanded:
        if x.template in faulty:
            continue
        before = len(check.problems)
        check.context = f" (in {x.id})" if x.template else ""
        event = event_spec(check, x.id, x.raw, names, dates, meta, params, path=x.path, template=x.template,
                           bindings=x.bindings, shock=x.shock)
        check.context = ""
        if len(check.problems) > before and x.template:
            faulty.add(x.template)
        if event is not None:
            events.append(event)
    return tuple(events)


# --- outcomes and tracking -------------------------------------------------------------------------
def _outcomes(check: Checker, raw, names: Names) -> tuple[s.Outcome, ...]:
    outcomes = []
    for oid, spec in check.mapping(raw, ("outcomes",)).items():
        path = ("outcomes", oid)
        spec = check.table(spec, path, OUTCOME_KEYS, required=OUTCOME_REQUIRED)
        if spec is None or "expr" not in spec:
            continue
        kind = check.string(spec.get("kind"), path + ("kind",), default="final", choices=s.OUTCOME_KINDS)
        wanted = {"first": "bool", "count": "bool", "mean": "number", "max": "number", "min": "number"}.get(kind, "")
        expr = expression(check, spec["expr"], path + ("expr",), names, wanted)
        if kind and expr:
            outcomes.append(s.Outcome(oid, check.string(spec.get("description"), path + ("description",),
                                                        default="") or "", kind, expr))
    return tuple(outcomes)


LINT_KEYS = ("accept",)
LINT_ACCEPT_KEYS = ("smell", "subject", "reason")


def _lint(check: Checker, raw) -> tuple[s.LintAccept, ...]:
    """[[lint.accept]]: `sim lint` warnings the scenario keeps on purpose, each with its reason."""
    path = ("lint",)
    raw = check.table(raw if raw is not None else {}, path, LINT_KEYS) or {}
    items = raw.get("accept", [])
    if not isinstance(items, list):
        check.problem(path + ("accept",), f"found {describe(items)}, expected a list of tables "
                                          "(smell, subject, reason)")
        return ()
    out = []
    for i, item in enumerate(items):
        here = path + ("accept", i)
        if check.table(item, here, LINT_ACCEPT_KEYS, required=LINT_ACCEPT_KEYS) is None:
            continue
        smell = check.string(item.get("smell"), here + ("smell",), choices=s.LINT_SMELLS)
        subject = check.string(item.get("subject"), here + ("subject",))
        reason = check.string(item.get("reason"), here + ("reason",))
        if isinstance(reason, str) and not reason.strip():
            check.problem(here + ("reason",), "empty: say why this warning is not a flaw in this scenario")
        if (smell, subject) in [(a.smell, a.subject) for a in out]:
            check.problem(here, f"accepts {smell} of {subject} a second time")
        elif smell and subject and reason and reason.strip():
            out.append(s.LintAccept(smell, subject, reason.strip()))
    return tuple(out)


def _tracking(check: Checker, raw, names: Names, presence, dates=()) -> s.Tracking:
    path = ("tracking",)
    raw = check.table(raw if raw is not None else {}, path, TRACKING_KEYS) or {}
    relations, attributes = [], []
    for i, pair in enumerate(check.string_list(raw.get("relations"), path + ("relations",))):
        parts = pair.split(":")
        if len(parts) != 2:
            check.problem(path + ("relations", i), f"found '{pair}', expected 'actor:actor' or 'actor:bloc'")
        elif check.ref(parts[0], path + ("relations", i), "actor", names.actors) and check.ref(
                parts[1], path + ("relations", i), "actor or bloc", names.actors + names.blocs):
            relations.append((parts[0], parts[1]))
    for i, item in enumerate(check.string_list(raw.get("attributes"), path + ("attributes",))):
        parts = item.split(".")
        if len(parts) != 2:
            check.problem(path + ("attributes", i), f"found '{item}', expected 'actor.attribute'")
        elif check.ref(parts[0], path + ("attributes", i), "actor", names.actors) and check.ref(
                parts[1], path + ("attributes", i), "attribute", names.attributes):
            attributes.append((parts[0], parts[1]))
    slots = [f"{p.actor}@{p.site}" for p in presence]
    chosen = raw.get("presence", "all")
    if chosen == "all":
        indexes = tuple(range(len(presence)))
    else:
        indexes = tuple(slots.index(x) for i, x in enumerate(check.string_list(chosen, path + ("presence",)))
                        if check.ref(x, path + ("presence", i), "presence slot (actor@site)", slots))
    network = raw.get("network_dates", [])
    if not isinstance(network, list):
        check.problem(path + ("network_dates",), f"found {describe(network)}, expected a list of dates")
        network = []
    steps = []
    for i, value in enumerate(network[:MAX_NETWORK_DATES + 1]):
        if i == MAX_NETWORK_DATES:
            check.problem(path + ("network_dates",), f"more than {MAX_NETWORK_DATES} dates")
            break
        date = check.date(value, path + ("network_dates", i))
        if date is not None and dates:
            if not dates[0] <= date <= dates[-1]:
                check.problem(path + ("network_dates", i), f"{date} is outside the run ({dates[0]} to {dates[-1]})")
            else:
                steps.append(bisect.bisect_left(dates, date))  # the first step on or after it (0 = the start)
    return s.Tracking(tuple(relations), tuple(attributes), indexes,
                      check.boolean(raw.get("camps"), path + ("camps",), True), tuple(sorted(set(steps))))
