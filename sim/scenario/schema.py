"""The parsed scenario: frozen data, built once by the loader; nothing downstream reads raw TOML."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sim.errors import SimError
from sim.scenario.distributions import Distribution
from sim.scenario.expressions import Expression

Amount = float | Distribution
EVENT_KINDS = ("scheduled", "stochastic", "triggered", "follow_up")
OUTCOME_KINDS = ("final", "first", "count", "mean", "max", "min")
RULES = ("balance", "landscape")  # meta.rule; the model implements each (sim/model/rules.RULES, tested to match)
MAX_SEED = 2**63 - 1           # seeds are stored as 64-bit integers (Parquet, npz)
MAX_REPLICATIONS = 10**9       # per scenario and point; far beyond any batch that finishes


def check_reps_seed(reps: int | None, seed: int | None) -> None:
    """The one check of --reps and --seed (every command that takes them)."""
    if reps is not None and not 1 <= reps <= MAX_REPLICATIONS:
        raise SimError(f"--reps must be between 1 and {MAX_REPLICATIONS:,}, found {str(reps)[:30]}")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise SimError(f"--seed must be between 0 and {MAX_SEED} (2^63 - 1), found {str(seed)[:30]}"
                       + ("..." if len(str(seed)) > 30 else ""))


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


def _changes(effect, amounts: list[float]) -> tuple[str, list[str]]:
    """("set to", ["0.5", ...]) or ("change", ["+0.1", ...]): how the event log says a delta or a set."""
    if effect.set is not None:
        return "set to", [f"{v:g}" for v in amounts]
    return "change", [f"{v:+.4g}" for v in amounts]


# Effect kinds. Each says what makes two instances evaluable together (`shape`, ids left out) and how the
# event log describes its firings (`describe`); the loader's parser and the model's compiled form are
# registered by kind in event_specs.EFFECT_KINDS and model/effects.EFFECTS (docs/extending.md).
@dataclass(frozen=True, slots=True)
class RelationEffect:
    sources: tuple[str, ...]  # actors (a bloc is expanded to its members)
    targets: tuple[str, ...]
    mutual: bool
    delta: Amount | None
    set: Amount | None
    label: str  # e.g. "niger <-> france"
    lasting: bool = False  # also moves the baseline (the long-run interests inertia pulls toward)

    def shape(self, key) -> tuple:
        return ("relation", self.mutual, key(self.delta), key(self.set), self.lasting)

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        verb, shown = _changes(self, amounts)
        head, tail = f"relation {self.label} {verb} ", " (lasting)" if self.lasting else ""
        return [head + v + tail for v in shown]


@dataclass(frozen=True, slots=True)
class AttributeEffect:
    actor: str
    attribute: str
    delta: Amount | None
    set: Amount | None

    def shape(self, key) -> tuple:
        return ("attribute", key(self.delta), key(self.set))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        verb, shown = _changes(self, amounts)
        return [f"{self.actor}.{self.attribute} {verb} " + v for v in shown]


@dataclass(frozen=True, slots=True)
class PresenceEffect:
    """Personnel of `actor` at one `site`, or (with `host`) in all its slots in that host: the total is
    set or changed and shared over the slots in proportion to what is there (all to the first if none)."""

    actor: str
    site: str | None
    host: str | None
    delta: Amount | None
    set: Amount | None
    over: Amount  # steps the change takes, rounded, at least 1 (1 = at once); may be drawn

    @property
    def place(self) -> str:
        return self.site if self.site is not None else str(self.host)

    def shape(self, key) -> tuple:
        return ("presence", self.site is None, key(self.delta), key(self.set), key(self.over))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        verb, shown = _changes(self, amounts)
        head = f"presence {self.actor}@{self.place} {verb} "
        overs = durations if durations is not None else [1] * len(shown)
        return [head + v + (f" over {over} steps" if over > 1 else "") for v, over in zip(shown, overs)]


@dataclass(frozen=True, slots=True)
class FollowUpEffect:
    event: str
    delay: Amount  # steps, rounded, at least 1

    def shape(self, key) -> tuple:
        return ("follow_up", key(self.delay))

    def describe(self, amounts: list[float], durations: list[int] | None = None) -> list[str]:
        return [f"schedules {self.event} in {v:g} step" + ("" if v == 1 else "s") for v in amounts]


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
