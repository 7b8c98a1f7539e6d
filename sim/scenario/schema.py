"""The parsed scenario: frozen data, built once by the loader; nothing downstream reads raw TOML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sim.scenario.distributions import Distribution
from sim.scenario.effect_kinds.attribute import AttributeEffect
from sim.scenario.effect_kinds.follow_up import FollowUpEffect
from sim.scenario.effect_kinds.presence import PresenceEffect
from sim.scenario.effect_kinds.relation import RelationEffect
from sim.scenario.expressions import Expression
from sim.scenario.limits import MAX_REPLICATIONS, MAX_SEED, check_reps_seed  # (re-exported)

# re-exported here for the code that reads them with the rest of the parsed scenario
__all__ = ["AttributeEffect", "FollowUpEffect", "PresenceEffect", "RelationEffect", "MAX_REPLICATIONS", "MAX_SEED",
           "check_reps_seed", "Scenario", "Meta", "Event", "Outcome"]

Amount = float | Distribution
EVENT_KINDS = ("scheduled", "stochastic", "triggered", "follow_up")
OUTCOME_KINDS = ("final", "first", "count", "mean", "max", "min")
RULES = ("balance", "landscape")  # meta.rule; the model implements each (sim/model/rules.RULES, tested to match)


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    description: str
    start: dt.date
    step_unit: str
    steps: int
    seed: int
    replications: int
    rule: str
    fitted_until: dt.date | None = None  # calibrated on observations up to this date (sim calibrate --cutoff)


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    name: str
    kind: str
    attributes: tuple[tuple[str, float], ...]  # every declared attribute, defaults filled in
    blocs: tuple[str, ...]

    def attribute(self, name: str) -> float:
        return dict(self.attributes)[name]


@dataclass(frozen=True, slots=True)
class Bloc:
    id: str
    name: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    host: str


@dataclass(frozen=True, slots=True)
class PresenceSlot:
    """Personnel of `actor` at `site` (hosted by the site's host)."""

    actor: str
    site: str
    personnel: float


# Effect kinds live in effect_kinds/, a module each; these four are named here for the code that asks
# about one of them (the engine's due dates, lint, backtests).
Effect = object  # an instance of some effect kind's data class (effect_kinds.KINDS[...].data)


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    name: str
    kind: str
    step: int | None  # scheduled events only
    date: dt.date | None
    probability: float | Expression
    condition: Expression | None
    once: bool
    cooldown: int
    effects: tuple[Effect, ...]
    mark: bool  # drawn on plots
    enabled: bool = True  # disabled events stay addressable but never fire
    template: str | None = None  # the template it was expanded from (its id is template[a,b])
    bindings: tuple[tuple[str, str], ...] = ()  # placeholder -> value, for template instances and shocks
    shock: str | None = None  # the shock kind (a [shocks] table) of a given shock

    @property
    def given(self) -> bool:
        """Scheduled events are given shocks, not decisions: the backtest does not score what they settle."""
        return self.kind == "scheduled"


@dataclass(frozen=True, slots=True)
class Template:
    """An event written once over actor selectors; `instances` are the ids it expanded to."""

    id: str
    placeholders: tuple[str, ...]
    instances: tuple[str, ...]
    source: str  # the file that wrote it, or <mechanism name> for the library's


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    description: str
    kind: str
    expr: Expression

    @property
    def is_boolean(self) -> bool:
        return self.kind == "final" and self.expr.type == "bool"


@dataclass(frozen=True, slots=True)
class Tracking:
    relations: tuple[tuple[str, str], ...]  # (actor, actor or bloc)
    attributes: tuple[tuple[str, str], ...]  # (actor, attribute)
    presence: tuple[int, ...]  # indexes of presence slots
    camps: bool
    network_steps: tuple[int, ...] = ()  # steps at which the alignment network is drawn (() = the default four)


# `sim lint`'s smells (sim/analysis/lint.py has what each means; tested to match)
LINT_SMELLS = ("never-fires", "constant-condition", "unmoved-outcome", "scheduled-decision", "point-mass",
               "inert-actor", "unread-parameter", "unread-attribute")


@dataclass(frozen=True, slots=True)
class LintAccept:
    """A `sim lint` warning the scenario accepts, and why ([[lint.accept]])."""
    smell: str
    subject: str  # what it is about, as lint names it: events.<id>, templates.<id>, outcomes.<id>, ...
    reason: str


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    meta: Meta
    parameters: tuple[tuple[str, float], ...]
    options: tuple[tuple[str, str], ...]  # the model's word-valued parameters (balance_form, landscape_search)
    attribute_names: tuple[str, ...]
    actors: tuple[Actor, ...]
    blocs: tuple[Bloc, ...]
    sites: tuple[Site, ...]
    presence: tuple[PresenceSlot, ...]
    relations: tuple[tuple[float, ...], ...]  # initial r[i][j]
    baseline: tuple[tuple[float, ...], ...]  # what inertia pulls r[i][j] toward
    events: tuple[Event, ...]
    templates: tuple[Template, ...]
    outcomes: tuple[Outcome, ...]
    tracking: Tracking
    dates: tuple[dt.date, ...]  # of steps 0..steps
    resolved: dict = field(repr=False, compare=False)  # the merged TOML document, for `sim show` and hashing
    content_hash: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)
    expanded: dict = field(default_factory=dict, repr=False, compare=False)  # event id -> table, templates and shocks expanded
    lint_accepts: tuple[LintAccept, ...] = ()

    def expanded_document(self) -> dict:
        """The resolved document with templates and shocks replaced by the events they expand to."""
        out = {k: v for k, v in self.resolved.items() if k not in ("templates", "shocks", "mechanisms", "events")}
        out["events"] = self.expanded
        return out

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.actors)

    def parameter(self, name: str) -> float:
        return dict(self.parameters)[name]

    def option(self, name: str) -> str:
        return dict(self.options)[name]

    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.id == site_id)
