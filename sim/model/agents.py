"""Actors as Mesa agents: the place where an actor's own changes are applied to its slices.

State lives in the model's arrays (leading replication axis); an agent owns row i of the
relation matrix, its attribute row and its presence slots, and every effect that changes an
actor goes through that actor's agent with the replications it applies to.
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

    def shift_relation(self, target: int, reps: np.ndarray, delta: np.ndarray | None, value: np.ndarray | None):
        rel = self.state.relations
        new = value if value is not None else rel[reps, self.position, target] + delta
        rel[reps, self.position, target] = np.clip(new, -1.0, 1.0)

    def change_attribute(self, attribute: int, reps: np.ndarray, delta, value) -> None:
        attrs = self.state.attributes
        attrs[reps, self.position, attribute] = value if value is not None else attrs[reps, self.position, attribute] + delta

    def redeploy(self, slot: int, reps: np.ndarray, delta, value, over: int) -> None:
        """Move this actor's personnel in `slot` toward a new level over `over` steps."""
        state = self.state
        current = state.presence[reps, slot]
        target = np.maximum(value if value is not None else current + delta, 0.0)
        state.ramp_target[reps, slot] = target
        state.ramp_left[reps, slot] = over
