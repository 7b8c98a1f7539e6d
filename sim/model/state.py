"""The model's state: numpy arrays with a leading replication axis, and name -> index maps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sim.scenario.schema import Scenario

NEVER = np.iinfo(np.int64).max


@dataclass
class State:
    step: int
    relations: np.ndarray    # (R, N, N) float: r[i, j] in [-1, 1]
    attributes: np.ndarray   # (R, N, A) float
    presence: np.ndarray     # (R, P) float personnel per presence slot
    ramp_target: np.ndarray  # (R, P) where a gradual presence change is heading
    ramp_left: np.ndarray    # (R, P) int steps left in that change (0 = none)
    fired_count: np.ndarray  # (R, E) int
    last_fired: np.ndarray   # (R, E) int step, -1 = never
    first_fired: np.ndarray  # (R, E) int step, -1 = never
    due: np.ndarray          # (R, E) int step at which a follow-up is due, NEVER = none
    due_parent: np.ndarray   # (R, E) int index of the event that scheduled it
    camps: np.ndarray        # (R, N) float +1/-1
    baseline: np.ndarray     # (R, N, N) what inertia pulls relations toward (a shared read-only view unless
                             # some effect is lasting)
    scale: np.ndarray        # (R,) balance_form "marvel": relations hold X / scale (scale = max(1, max |X|))
    frozen: np.ndarray       # (R,) bool: balance_form "marvel": the replication passed the cap and stopped
    varying: dict = field(default_factory=dict)  # parameter name -> (R,) values, for parameters drawn per
                                                 # replication (parameter uncertainty); the others are numbers

    @property
    def replications(self) -> int:
        return self.relations.shape[0]


@dataclass(frozen=True)
class Index:
    """Where each named thing of a scenario lives in the state arrays."""

    actors: dict[str, int]
    attributes: dict[str, int]
    events: dict[str, int]
    blocs: dict[str, tuple[int, ...]]
    slots: dict[tuple[str, str], int]          # (actor, site) -> presence slot
    site_host: dict[str, str]
    parameters: dict[str, float]
    varying: frozenset = frozenset()  # parameters whose value is per replication (State.varying)

    @classmethod
    def of(cls, scenario: Scenario, varying=()) -> Index:
        actors = {a.id: i for i, a in enumerate(scenario.actors)}
        return cls(
            actors=actors,
            attributes={name: k for k, name in enumerate(scenario.attribute_names)},
            events={e.id: i for i, e in enumerate(scenario.events)},
            blocs={b.id: tuple(actors[m] for m in b.members) for b in scenario.blocs},
            slots={(p.actor, p.site): k for k, p in enumerate(scenario.presence)},
            site_host={s.id: s.host for s in scenario.sites},
            parameters=dict(scenario.parameters),
            varying=frozenset(varying),
        )

    def parties(self, names: tuple[str, ...]) -> tuple[int, ...]:
        """Actor indexes for actor or bloc ids (blocs expand to their members)."""
        out: list[int] = []
        for name in names:
            for i in self.blocs.get(name, (self.actors.get(name),)):
                if i is not None and i not in out:
                    out.append(i)
        return tuple(out)

    def presence_slots(self, actor: str, place: str | None) -> list[int]:
        """Slots of `actor` (or of every member of bloc `actor`) at site `place`, or at every site hosted
        by actor `place`, or anywhere."""
        ids = self.actor_ids
        actors = {ids[m] for m in self.blocs[actor]} if actor in self.blocs else {actor}
        return [k for (a, site), k in self.slots.items()
                if a in actors and (place is None or site == place or self.site_host.get(site) == place)]

    @property
    def actor_ids(self) -> tuple[str, ...]:
        return tuple(self.actors)


def _baseline(scenario: Scenario, r: int) -> np.ndarray:
    n = len(scenario.actors)
    shared = np.broadcast_to(np.array(scenario.baseline, dtype=np.float64).reshape(n, n), (r, n, n))
    lasting = any(getattr(f, "lasting", False) for e in scenario.events for f in e.effects)
    return shared.copy() if lasting else shared


def _per_event(r: int, e: int, value: int) -> np.ndarray:
    """An (R, E) int array stored column by column (Fortran order): events read one event's column for every
    replication at each step, which is then contiguous instead of one cache line per replication."""
    return np.full((r, e), value, dtype=np.int64, order="F")


def initial_state(scenario: Scenario, replications: int, varying: dict | None = None) -> State:
    r, n, e = replications, len(scenario.actors), len(scenario.events)
    relations = np.broadcast_to(np.array(scenario.relations, dtype=np.float64), (r, n, n)).copy()
    attrs = np.array([[a.attribute(name) for name in scenario.attribute_names] for a in scenario.actors],
                     dtype=np.float64).reshape(n, len(scenario.attribute_names))
    presence = np.broadcast_to(np.array([p.personnel for p in scenario.presence], dtype=np.float64),
                               (r, len(scenario.presence))).copy()
    return State(
        step=0, relations=relations, attributes=np.broadcast_to(attrs, (r,) + attrs.shape).copy(),
        presence=presence, ramp_target=presence.copy(), ramp_left=np.zeros(presence.shape, dtype=np.int64),
        fired_count=_per_event(r, e, 0), last_fired=_per_event(r, e, -1), first_fired=_per_event(r, e, -1),
        due=_per_event(r, e, NEVER), due_parent=_per_event(r, e, -1),
        camps=np.ones((r, n)), scale=np.ones(r), frozen=np.zeros(r, dtype=bool),
        baseline=_baseline(scenario, r), varying=dict(varying or {}),
    )
