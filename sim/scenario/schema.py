"""The parsed scenario: frozen data, built once by the loader; nothing downstream reads raw TOML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sim.scenario.distributions import Distribution
from sim.scenario.expressions import Expression

Amount = float | Distribution
EVENT_KINDS = ("scheduled", "stochastic", "triggered", "follow_up")
OUTCOME_KINDS = ("final", "first", "count", "mean", "max", "min")
RULES = ("balance", "landscape")


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


@dataclass(frozen=True, slots=True)
class RelationEffect:
    sources: tuple[str, ...]  # actors (a bloc is expanded to its members)
    targets: tuple[str, ...]
    mutual: bool
    delta: Amount | None
    set: Amount | None
    label: str  # e.g. "niger <-> france"


@dataclass(frozen=True, slots=True)
class AttributeEffect:
    actor: str
    attribute: str
    delta: Amount | None
    set: Amount | None


@dataclass(frozen=True, slots=True)
class PresenceEffect:
    actor: str
    site: str
    delta: Amount | None
    set: Amount | None
    over: int  # steps the change takes; 1 = at once


@dataclass(frozen=True, slots=True)
class FollowUpEffect:
    event: str
    delay: Amount  # steps, rounded, at least 1


Effect = RelationEffect | AttributeEffect | PresenceEffect | FollowUpEffect


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


@dataclass(frozen=True, slots=True)
class Scenario:
    path: str
    meta: Meta
    parameters: tuple[tuple[str, float], ...]
    attribute_names: tuple[str, ...]
    actors: tuple[Actor, ...]
    blocs: tuple[Bloc, ...]
    sites: tuple[Site, ...]
    presence: tuple[PresenceSlot, ...]
    relations: tuple[tuple[float, ...], ...]  # initial r[i][j]
    baseline: tuple[tuple[float, ...], ...]  # what inertia pulls r[i][j] toward
    events: tuple[Event, ...]
    outcomes: tuple[Outcome, ...]
    tracking: Tracking
    dates: tuple[dt.date, ...]  # of steps 0..steps
    resolved: dict = field(repr=False, compare=False)  # the merged TOML document, for `sim show` and hashing
    content_hash: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.actors)

    def parameter(self, name: str) -> float:
        return dict(self.parameters)[name]

    def actor_index(self, actor_id: str) -> int:
        return self.actor_ids.index(actor_id)

    def bloc(self, bloc_id: str) -> Bloc:
        return next(b for b in self.blocs if b.id == bloc_id)

    def site(self, site_id: str) -> Site:
        return next(s for s in self.sites if s.id == site_id)
