"""The reference point: the same kind of dynamics as plain Mesa, one model per replication.

Each agent updates its own relations with per-agent Python loops (structural balance,
inertia toward a baseline, noise) and a few stochastic shock events; Mesa's `batch_run` runs
one model per replication. The engine's benchmark prints this side by side with its own figures.
"""

from __future__ import annotations

import mesa


class Actor(mesa.Agent):
    def __init__(self, model, capability: float):
        super().__init__(model)
        self.capability = capability
        self.relations: dict[int, float] = {}
        self.baseline: dict[int, float] = {}
        self.next_relations: dict[int, float] = {}

    def decide(self) -> None:
        m = self.model
        others = m.actor_list
        for j in others:
            if j is self:
                continue
            pull = sum(self.relations[k.unique_id] * m.weights[k.unique_id] * k.relations.get(j.unique_id, 0.0)
                       for k in others if k is not self and k is not j)
            r = self.relations[j.unique_id]
            r += m.balance_rate / max(len(others) - 2, 1) * (1 - r * r) * pull
            r += m.inertia * (self.baseline[j.unique_id] - r) + m.noise * m.rng.normal()
            self.next_relations[j.unique_id] = min(1.0, max(-1.0, r))

    def commit(self) -> None:
        self.relations.update(self.next_relations)


class BaselineModel(mesa.Model):
    def __init__(self, n_actors: int = 12, n_events: int = 15, rng=None):
        super().__init__(rng=rng)
        self.balance_rate, self.inertia, self.noise = 0.04, 0.03, 0.015
        self.actor_list = [Actor(self, float(self.rng.uniform(0.5, 10))) for _ in range(n_actors)]
        mean_cap = sum(a.capability for a in self.actor_list) / n_actors
        self.weights = {a.unique_id: a.capability / mean_cap for a in self.actor_list}
        for a in self.actor_list:
            for b in self.actor_list:
                if a is not b:
                    a.relations[b.unique_id] = a.baseline[b.unique_id] = float(self.rng.uniform(-0.5, 0.5))
        self.events = [(self.rng.choice(self.actor_list), self.rng.choice(self.actor_list), float(self.rng.uniform(-0.3, 0.3)))
                       for _ in range(n_events)]
        self.fired = 0
        self.datacollector = mesa.DataCollector(model_reporters={"fired": "fired"})

    def step(self) -> None:
        for source, target, delta in self.events:
            if source is not target and self.rng.random() < 0.05:
                source.relations[target.unique_id] = min(1.0, max(-1.0, source.relations[target.unique_id] + delta))
                self.fired += 1
        self.agents.do("decide")
        self.agents.do("commit")
        self.datacollector.collect(self)


def run_batch(n_actors: int, replications: int, steps: int = 104) -> list[dict]:
    return mesa.batch_run(BaselineModel, parameters={"n_actors": n_actors}, rng=list(range(replications)),
                          max_steps=steps, number_processes=1, display_progress=False)
