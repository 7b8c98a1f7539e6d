"""The model's own parameters: their defaults and ranges (numbers) and their choices (options).

They live in the scenario layer because the loader checks them; the model reads them from the
frozen Scenario. A scenario may add parameters of its own for its expressions and amounts.
"""

from __future__ import annotations

# name -> (default, lowest, highest)
RULE_PARAMETERS: dict[str, tuple[float, float, float]] = {
    "balance_rate": (0.1, 0.0, 10.0),      # speed of structural balance (per step)
    "camp_rate": (0.05, 0.0, 1.0),          # landscape: drift of relations toward camp lines
    "inertia": (0.05, 0.0, 1.0),            # pull toward each actor's baseline (share per step)
    "noise": (0.02, 0.0, 1.0),              # sd of per-step random change in each relation
    "capability_weight": (1.0, 0.0, 5.0),   # exponent on capability in the influence weights
    "shock_scale": (1.0, 0.0, 10.0),        # multiplier on every relation 'delta' from events
    "marvel_cap": (1e6, 10.0, 1e12),        # balance_form = "marvel": a replication stops once max |X| passes it
}

# name -> (default, choices): parameters whose value is a word
RULE_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "balance_form": ("kulakowski", ("kulakowski", "marvel")),
    "landscape_search": ("local", ("local", "global")),
}
