"""Evaluate many parameter points of one scenario through an executor (in parallel, or on Dask):
the engine under sensitivity analysis and calibration. Every point runs the same seed and
replication ids, so points differ only by their values (common random numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.errors import Problem, ScenarioError, SimError
from sim.experiment.chunks import ChunkSpec, run_chunk
from sim.experiment.executors import WorkerDied
from sim.experiment.sweep import check_keys
from sim.scenario.documents import Document, read_document, set_values
from sim.scenario.loader import build_scenario
from sim.scenario.schema import Scenario


def refused_end(doc: Document, key: str, ends, source: str) -> tuple[float, str] | None:
    """The first end of a range at which the scenario is invalid, with the loader's first message, or None."""
    for end in ends:
        try:
            build_scenario(set_values(doc, {key: end}, source))
        except ScenarioError as error:
            return end, error.problems[0].message
    return None


class PointEvaluator:
    def __init__(self, scenario_path: Path, keys: tuple[str, ...], source: str, replications: int, seed: int,
                 executor, extra_outcomes: dict | None = None, bounds: list[tuple[float, float]] | None = None):
        doc = read_document(scenario_path)
        check_keys(source, "parameters", keys, doc)
        if extra_outcomes:
            data = dict(doc.data)
            data["outcomes"] = dict(data.get("outcomes", {})) | extra_outcomes
            doc = Document(data, doc.origin, doc.root_file)
        self.doc, self.source = doc, source
        self.replications, self.seed, self.executor = replications, seed, executor
        self.base: Scenario = build_scenario(doc)
        self.evaluations = 0
        if bounds:
            self._check_bounds(keys, bounds)

    def _check_bounds(self, keys, bounds) -> None:
        """Each end of each range must give a valid scenario; problems name the config, not a sampled value."""
        problems = []
        for i, (key, ends) in enumerate(zip(keys, bounds)):
            refused = refused_end(self.doc, key, ends, self.source)
            if refused:
                problems.append(Problem(self.source, f"parameters[{i}]",
                                        f"the range {ends[0]:g} to {ends[1]:g} of '{key}' reaches {refused[0]:g}, "
                                        f"which the scenario refuses: {refused[1]}"))
        if problems:
            raise ScenarioError(problems)

    def scenario_at(self, point: dict) -> Scenario:
        return build_scenario(set_values(self.doc, point, self.source))

    def evaluate(self, points: list[dict], progress=None) -> list[dict[str, np.ndarray]]:
        """Outcome arrays (one value per replication) for each point, in the order given."""
        out = run_outcomes([self.scenario_at(point) for point in points], self.replications, self.seed,
                           self.executor, lambda i: f"at {points[i]}", progress)
        self.evaluations += len(points)
        return out


def run_outcomes(scenarios: list[Scenario], replications: int, seed: int, executor, where, progress=None
                 ) -> list[dict[str, np.ndarray]]:
    """Each scenario's outcome arrays over the same replications and seed (common random numbers), run as
    one chunk each through `executor`, in the order given. A replication that fails or kills its worker
    stops the whole with a SimError saying which scenario (`where(i)`)."""
    specs = [ChunkSpec(0, i, 0, 0, replications, seed, False, scenario.path, scenario.resolved)
             for i, scenario in enumerate(scenarios)]
    out: list[dict | None] = [None] * len(scenarios)
    for spec, result in executor.run(run_chunk, specs):
        if isinstance(result, WorkerDied):
            raise SimError(f"running {where(spec.point)}: {result.message}")
        if result.failures:
            rep, trace = result.failures[0]
            raise SimError(f"replication {rep} failed {where(spec.point)}:\n{trace}")
        out[spec.point] = result.outcomes
        if progress is not None:
            progress.update(1)
    return out
