"""The Mesa model: R independent replications of one scenario advanced in lockstep.

Each step: events fire (scheduled, stochastic, triggered, follow-ups due) and apply their
effects; gradual presence changes advance; camps are updated when needed; the alignment rule
moves the relations; the tracked series and outcomes are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import mesa
import numpy as np

from sim.errors import SimError
from sim.model.agents import ActorAgent
from sim.model.compile import uses_camps
from sim.model.events import EventEngine, Firing, advance_presence
from sim.model.kernels import kernels
from sim.model.network import NetworkRecord, NetworkRecorder, default_steps
from sim.model.recorder import STATISTICS, OutcomeTracker, Series, summarise_step, tracked_series
from sim.model.rules import SEARCHES, RuleParameters, StepNoise, influence_weights, rule_for
from sim.model.state import Index, initial_state
from sim.model.streams import EventDraws, noise_keys
from sim.model.uncertain import draw_parameters
from sim.scenario.schema import Scenario
from sim.scenario.uncertainty import Uncertainty


class NonFiniteState(SimError):
    """The state of a replication stopped being finite numbers."""


RULE_BLOCK = 512  # replications per block in the alignment update (keeps the arrays in cache)


@dataclass
class RunResult:
    scenario: Scenario
    seed: int
    replications: np.ndarray             # replication ids, e.g. 0..R-1, or [412] for a replay
    outcomes: dict[str, np.ndarray]      # outcome id -> (R,)
    series: tuple[Series, ...]
    stats: np.ndarray                    # (steps + 1, len(STATISTICS), S)
    trajectories: np.ndarray | None      # (steps + 1, R, S) when kept
    firings: list[Firing]
    first_fired: np.ndarray | None = None  # (R, E) step each event first fired, -1 = never
    fired_count: np.ndarray | None = None  # (R, E) times each event fired
    drawn: dict[str, np.ndarray] = field(default_factory=dict)  # uncertain parameter -> (R,) values drawn
    uncertainty: Uncertainty | None = None
    network: NetworkRecord | None = None    # the alignment network at chosen steps, camps over time
    step_counts: np.ndarray | None = None   # (E, steps + 1) firings per event and step, when firings are not kept
    bands_from: int | None = None           # quantile bands of stats from only this many replications (streamed)


def firing_counts(result: RunResult) -> np.ndarray:
    """(E, steps + 1): how many firings of each event at each step (what the plots mark)."""
    counts = np.zeros((len(result.scenario.events), result.scenario.meta.steps + 1), dtype=np.int64)
    for firing in result.firings:
        counts[:, firing.step] += np.bincount(firing.events, minlength=len(result.scenario.events))
    return counts


class ScenarioModel(mesa.Model):
    def __init__(self, scenario: Scenario, seed: int, replications: int | Sequence[int] = 1,
                 keep_trajectories: bool = False, varying: dict[str, np.ndarray] | None = None, bands: bool = True):
        """`varying`: parameter name -> one value per replication (parameter uncertainty), used in place of
        the scenario's number everywhere the parameter is read (rules, expressions, amounts). Without `bands`,
        stats hold only the mean (the quantile rows are NaN)."""
        super().__init__(rng=seed)  # Mesa's rng is not used: one generator for the model would make replication
        # k's numbers depend on which others share it; the counter-based streams (streams.py) do not
        self.spec = scenario  # (mesa.Model.scenario is Mesa's own object)
        self.bands = bands
        self.seed = seed
        self.replication_ids = (np.arange(replications) if isinstance(replications, (int, np.integer))
                                else np.asarray(replications, dtype=np.int64))
        r, n = len(self.replication_ids), len(scenario.actors)
        varying = {k: np.asarray(v, dtype=np.float64) for k, v in (varying or {}).items()}
        for name, values in varying.items():
            if name not in dict(scenario.parameters) or values.shape != (r,):
                raise ValueError(f"varying parameter {name!r}: expected a scenario parameter with {r} values")
        self.index = Index.of(scenario, varying)
        self.params = RuleParameters.from_scenario(dict(scenario.parameters), dict(scenario.options), varying)
        self.state = initial_state(scenario, r, varying)
        self.actor_agents = [ActorAgent(self, spec, i) for i, spec in enumerate(scenario.actors)]
        self.events = EventEngine(scenario, self.index, self.params)
        self.noise_keys = noise_keys(seed, self.replication_ids)
        self.kernels = kernels()
        self.draws = EventDraws(seed, self.replication_ids, self.kernels)
        self.rule = rule_for(scenario.meta.rule, self.params)
        self.search = SEARCHES[self.params.landscape_search]
        self.capability = self.index.attributes["capability"]
        self.needs_camps = needs_camps(scenario)
        self._capability_bits: np.ndarray | None = None  # (R, N) capability's bits when the weights were computed
        self._weights: np.ndarray | None = None
        self.firings: list[Firing] = []
        self._blocks = [(block, self.params.rows(block) if self.params.per_replication else self.params)
                        for block in (slice(lo, lo + RULE_BLOCK) for lo in range(0, r, RULE_BLOCK))]
        steps = scenario.meta.steps
        self.series, self._series_values = tracked_series(scenario, self.index, self.needs_camps)
        self.stats = np.empty((steps + 1, len(STATISTICS), len(self.series)))
        self.trajectories = np.empty((steps + 1, r, len(self.series))) if keep_trajectories else None
        self.outcome_tracker = OutcomeTracker(scenario, self.index, r)
        self.network = NetworkRecorder(scenario.tracking.network_steps or default_steps(steps), n, steps, r)
        if self.needs_camps:
            self._update_camps()
        self._record()

    def _update_camps(self) -> None:
        state = self.state
        state.camps = self.search(state.relations, state.attributes[:, :, self.capability], state.camps, self.kernels)

    def _record(self) -> None:
        values = self._series_values(self.state)
        self.stats[self.state.step] = summarise_step(values, self.bands, self.kernels)
        if self.trajectories is not None:
            self.trajectories[self.state.step] = values
        self.outcome_tracker.observe(self.state)
        state = self.state
        self.network.observe(state.step, state.relations, state.attributes[:, :, self.capability],
                             state.camps if self.needs_camps else None)

    def step(self) -> None:
        state = self.state
        state.step += 1
        fired = self.events.step(state, self.draws)
        self.firings.extend(fired)
        advance_presence(state)
        self._check_finite(fired, "attributes", state.attributes, "presence", state.presence)
        if self.needs_camps:
            self._update_camps()
        weights = self._influence(state.attributes[:, :, self.capability])
        update = self.rule.update
        numbers = True  # whether the rule saw that every relation is a number (then they need no check here)
        for block, params in self._blocks:  # cache-sized blocks of replications: same numbers, twice as fast
            noise = StepNoise(self.noise_keys[block], state.step, self.kernels)
            numbers = update(state.relations[block], weights[block], state.baseline[block], params, noise,
                             camps=state.camps[block], scale=state.scale[block], frozen=state.frozen[block]) is True \
                and numbers
        if not numbers:
            self._check_finite(fired, "relations", state.relations)
        self._record()

    def _influence(self, capability: np.ndarray) -> np.ndarray:
        """influence_weights, computed again only when some capability changed (bit for bit): events change
        it in few steps, and the power and the means cost 3% of a step."""
        bits = np.ascontiguousarray(capability).view(np.int64)
        if self._capability_bits is None or not np.array_equal(bits, self._capability_bits):
            self._capability_bits = bits.copy()
            self._weights = influence_weights(capability, self.params.capability_weight)
        return self._weights

    def _check_finite(self, fired, *named) -> None:
        """A state that is no longer a number (an effect pushing a value to infinity, 0 * inf) would turn
        every later value into NaN without a word: stop, naming the replication, the step and the events."""
        for what, values in zip(named[::2], named[1::2]):
            if np.isfinite(values.sum()):  # a NaN or infinity anywhere makes the sum one: the cheap test
                continue
            bad = ~np.isfinite(values.reshape(len(values), -1)).all(axis=1)
            if bad.any():  # (a sum of huge finite values can overflow too: then nothing is bad)
                position = int(np.flatnonzero(bad)[0])
                step = self.state.step
                events = sorted({self.spec.events[e].id for firing in fired
                                 for e, rep in zip(firing.events, firing.reps) if rep == position})
                raise NonFiniteState(
                    f"replication {self.replication_ids[position]}: the {what} became infinite or not a number at "
                    f"step {step} ({self.spec.dates[step]}); events that fired then: "
                    f"{', '.join(events) if events else 'none'} (and in {int(bad.sum())} of the {len(values)} "
                    "replications run together). Check those events' amounts (a value raised without bound?)")

    def run(self) -> RunResult:
        with np.errstate(all="ignore"):  # overflow and 0 / 0 are caught as they land (_check_finite, outcomes)
            for _ in range(self.spec.meta.steps - self.state.step):
                self.step()
            outcomes = self.outcome_tracker.finish(self.state)
        return RunResult(self.spec, self.seed, self.replication_ids, outcomes, self.series, self.stats,
                         self.trajectories, self.firings, np.ascontiguousarray(self.state.first_fired),
                         np.ascontiguousarray(self.state.fired_count),
                         network=self.network.finish())


def needs_camps(scenario: Scenario) -> bool:
    """Camps are computed when the rule uses them, they are tracked, or an expression asks."""
    params = RuleParameters.from_scenario(dict(scenario.parameters), dict(scenario.options))
    return (rule_for(scenario.meta.rule, params).needs_camps or scenario.tracking.camps
            or any(uses_camps(e.condition) for e in scenario.events if e.condition)
            or any(uses_camps(o.expr) for o in scenario.outcomes))


def series_of(scenario: Scenario) -> tuple[Series, ...]:
    """The tracked series a run of `scenario` records, without running it."""
    return tracked_series(scenario, Index.of(scenario), needs_camps(scenario))[0]


def run_scenario(scenario: Scenario, seed: int | None = None, replications: int | Sequence[int] | None = None,
                 keep_trajectories: bool = False, uncertainty: Uncertainty | None = None,
                 bands: bool = True) -> RunResult:
    """Run `replications` (a count, or explicit replication ids) of `scenario` under `seed`; with
    `uncertainty`, each replication's values of the uncertain parameters are drawn from it."""
    seed = scenario.meta.seed if seed is None else seed
    replications = scenario.meta.replications if replications is None else replications
    ids = (np.arange(replications) if isinstance(replications, (int, np.integer))
           else np.asarray(replications, dtype=np.int64))
    varying = draw_parameters(uncertainty, seed, ids) if uncertainty is not None else None
    with np.errstate(all="ignore"):  # (step 0 is recorded while the model is built)
        model = ScenarioModel(scenario, seed, ids, keep_trajectories, varying, bands)
    result = model.run()
    model.state = model.draws = model.events = None  # the model and its agents form a cycle that only
    # the garbage collector frees: let go of the big arrays now, so that blocks of a long run do not pile up
    result.drawn = varying or {}
    result.uncertainty = uncertainty
    return result
