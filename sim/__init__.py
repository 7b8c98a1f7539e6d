"""Strategic scenario simulation: actors whose alignment shifts with events, run as Monte Carlo batches.

The Python API (sim/api.py) is imported on first use, so that `import sim` and `sim --help` stay fast:

    import sim
    result = sim.run_scenario(sim.load_scenario("scenarios/niger-2024.toml"), reps=500)
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:  # what type checkers and editors see; at run time __getattr__ imports on first use
    from sim.api import compare, load_scenario, resume_batch, run_batch, run_scenario, summarise
    from sim.errors import ScenarioError, SimError

__all__ = ["load_scenario", "run_scenario", "summarise", "run_batch", "resume_batch", "compare", "SimError",
           "ScenarioError"]
_API = __all__[:6]
_ERRORS = __all__[6:]


def __getattr__(name: str):
    if name in _API:
        from sim import api

        return getattr(api, name)
    if name in _ERRORS:
        from sim import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
