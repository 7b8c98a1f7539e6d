"""Actors as Mesa agents: each holds its spec and its row in the model's arrays.

State lives in the model's arrays (leading replication axis); actor i is row i of the relation matrix
and of the attributes. Agents carry no behaviour of their own: events, effects and the alignment rule
work on every actor and replication at once (sim/model/events.py, effects.py, rules.py), which is what
lets templates with thousands of instances run at array speed. The agents give Mesa's registry (and a
user inspecting a model) the actors by name and position.
"""

from __future__ import annotations

import mesa

from sim.scenario.schema import Actor


class ActorAgent(mesa.Agent):
    def __init__(self, model, spec: Actor, position: int):
        super().__init__(model)
        self.spec = spec
        self.position = position  # row in the state arrays

    @property
    def state(self):
        return self.model.state

