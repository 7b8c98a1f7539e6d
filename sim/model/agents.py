"""Actors as Mesa agents: each is a view of its own slices of the model's arrays.

State lives in the model's arrays (leading replication axis); an agent owns row i of the relation
matrix and its attribute row. Effects are applied by the event engine to many actors and
replications at once (sim/model/effects.py), which is what lets templates with thousands of
instances run at array speed.
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.scenario.schema import Actor


class ActorAgent(mesa.Agent):
    def __init__(self, model, spec: Actor, position: int):
        super().__init__(model)
        self.spec = spec
        self.position = position  # row in the state arrays

    @property
    def state(self):
        return self.model.state

    def relations(self) -> np.ndarray:
        """How this actor stands toward every other, per replication: (R, N)."""
        return self.state.relations[:, self.position, :]

    def attribute(self, name: str) -> np.ndarray:
        return self.state.attributes[:, self.position, self.model.index.attributes[name]]
