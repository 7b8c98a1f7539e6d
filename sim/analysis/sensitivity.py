"""Sensitivity analysis with SALib (Sobol or Morris); every sample point runs through the
batch engine's executors. Each point's outcome is averaged over `replications` runs, and the
whole analysis is repeated with a second seed to show the indices are not Monte Carlo noise."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.analysis.tuning_config import TuningConfig
from sim.errors import SimError, did_you_mean
from sim.experiment.evaluate import PointEvaluator
from sim.experiment.stats import happened
from sim.scenario.schema import Scenario


def point_value(scenario: Scenario, outcome: str, values: np.ndarray) -> float:
    """One number per point: a probability, a mean, or for first-hit times the mean step with
    'never' counted as steps + 1."""
    o = next(x for x in scenario.outcomes if x.id == outcome)
    if o.kind == "first":
        return float(np.where(happened(values), values, scenario.meta.steps + 1).mean())
    return float(np.asarray(values, dtype=float).mean())


@dataclass
class SensitivityResult:
    method: str
    scenario: Scenario
    config: TuningConfig
    outcomes: list[str]
    samples: np.ndarray                 # (points, parameters)
    values: dict[int, dict[str, np.ndarray]]   # seed -> outcome -> (points,)
    indices: dict[int, dict[str, dict]]        # seed -> outcome -> SALib result

    @property
    def seeds(self) -> list[int]:
        return list(self.values)

    def rows(self) -> list[dict]:
        """One row per outcome and parameter, ranked by total index (Sobol) or mu* (Morris)."""
        main, second = self.seeds
        out = []
        for outcome in self.outcomes:
            a, b = self.indices[main][outcome], self.indices[second][outcome]
            method = METHODS[self.method]
            order = np.argsort(-np.nan_to_num(np.asarray(a[method.score], dtype=float), nan=-1.0), kind="stable")
            for rank, i in enumerate(order, 1):
                row = {"outcome": outcome, "rank": rank, "parameter": self.config.keys[i]}
                row |= {key: a[key][i] for key in method.indices}
                row |= {f"{key}_second_seed": b[key][i] for key in method.second_seed}
                out.append({k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in row.items()})
        return out

    def stability(self) -> dict[str, float]:
        """Per outcome, the largest change of the ranking index between the two seeds, relative to
        the largest index (0 when nothing moves the outcome)."""
        main, second = self.seeds
        score = METHODS[self.method].score
        out = {}
        for o in self.outcomes:
            a = np.asarray(self.indices[main][o][score], dtype=float)
            b = np.asarray(self.indices[second][o][score], dtype=float)
            top = np.nanmax(np.abs(a))
            out[o] = float(np.nanmax(np.abs(a - b)) / top) if top > 0 else 0.0
        return out


def _sobol_sample(problem: dict, config: TuningConfig) -> np.ndarray:
    from SALib.sample import sobol

    return sobol.sample(problem, config.samples, calc_second_order=False, seed=config.seed)


def _sobol_analyse(problem: dict, config: TuningConfig, samples: np.ndarray, y: np.ndarray) -> dict:
    from SALib.analyze import sobol

    return sobol.analyze(problem, y, calc_second_order=False, seed=config.seed)


def _sobol_check(config: TuningConfig) -> None:
    if config.samples & (config.samples - 1):
        raise SimError(f"{config.path}: tuning.samples: found {config.samples}, expected a power of 2 for Sobol "
                       "sampling")


WIDE_INTERVAL = 0.1  # a Sobol index's 95% half-width above this says little about its size


def _sobol_warnings(rows: list[dict]) -> list[str]:
    """Indices above 1 or with wide intervals: too few samples (raise tuning.samples)."""
    out = []
    for r in rows:
        for key in ("S1", "ST"):
            value, half = r.get(key), r.get(f"{key}_conf")
            if value is None:
                continue
            if value > 1.0:
                out.append(f"{r['outcome']}: {key} of {r['parameter']} is {value:.2f}, above 1 (an index is a share "
                           "of variance): the sample is too small; raise tuning.samples")
            elif half is not None and half > WIDE_INTERVAL:
                out.append(f"{r['outcome']}: {key} of {r['parameter']} is {value:.2f} +- {half:.2f}: too wide to rank "
                           "on; raise tuning.samples")
    return out


def _morris_sample(problem: dict, config: TuningConfig) -> np.ndarray:
    from SALib.sample import morris

    return morris.sample(problem, config.samples, num_levels=4, seed=config.seed)


def _morris_analyse(problem: dict, config: TuningConfig, samples: np.ndarray, y: np.ndarray) -> dict:
    from SALib.analyze import morris

    return morris.analyze(problem, samples, y, num_levels=4, seed=config.seed)


def _morris_check(config: TuningConfig) -> None:
    if any(v.dist == "normal" for v in config.values):
        raise SimError(f"{config.path}: Morris screening needs bounded ranges; give uniform or triangular "
                       "distributions (a normal one reaches infinity at the grid's end levels)")


@dataclass(frozen=True)
class Method:
    """A sensitivity method: how it samples and analyses (SALib), the indices a row keeps (`score` ranks the
    parameters; `second_seed` are repeated from the second seed's analysis), what it requires of a tuning
    config, and the warnings its indices call for. The report's table and plot are in report/tuning_reports."""
    sample: Callable[[dict, TuningConfig], np.ndarray]
    analyse: Callable[[dict, TuningConfig, np.ndarray, np.ndarray], dict]
    indices: tuple[str, ...]
    score: str
    second_seed: tuple[str, ...]
    check: Callable[[TuningConfig], None]
    warnings: Callable[[list[dict]], list[str]] = lambda rows: []


METHODS = {
    "sobol": Method(_sobol_sample, _sobol_analyse, ("S1", "S1_conf", "ST", "ST_conf"), "ST", ("S1", "ST"),
                    _sobol_check, _sobol_warnings),
    "morris": Method(_morris_sample, _morris_analyse, ("mu_star", "mu_star_conf", "sigma"), "mu_star", ("mu_star",),
                     _morris_check),
}


def _method(name: str) -> Method:
    if name not in METHODS:
        raise SimError(f"--method {name}: expected {' or '.join(METHODS)}")
    return METHODS[name]


def sample(config: TuningConfig, method: str) -> np.ndarray:
    return _method(method).sample(config.salib_problem(), config)


def analyse(config: TuningConfig, method: str, samples: np.ndarray, y: np.ndarray) -> dict:
    problem = config.salib_problem()
    if np.ptp(y) == 0:  # the outcome never changes: every index is zero (SALib would divide by zero)
        return {key: np.zeros(problem["num_vars"]) for key in _method(method).indices}
    return _method(method).analyse(problem, config, samples, y)


def sensitivity_warnings(rows: list[dict], method: str) -> list[str]:
    """What the indices of `rows` call for (for Sobol: too few samples)."""
    return _method(method).warnings(rows)


def run_sensitivity(scenario_path: Path, config: TuningConfig, method: str, executor, progress=None,
                    outcomes: tuple[str, ...] = ()) -> SensitivityResult:
    _method(method).check(config)
    with executor:
        samples = sample(config, method)
        bounds = [(float(samples[:, i].min()), float(samples[:, i].max())) for i in range(samples.shape[1])]
        evaluator = PointEvaluator(scenario_path, config.keys, config.path, config.replications, config.seed, executor,
                                   bounds=bounds)
        known = [o.id for o in evaluator.base.outcomes]
        chosen = list(outcomes or config.outcomes or known)
        for o in chosen:
            if o not in known:
                raise SimError(f"{config.path}: tuning.outcomes: '{o}' is not an outcome of "
                               f"{evaluator.base.meta.name}{did_you_mean(o, known)}")
        points = [dict(zip(config.keys, map(float, row))) for row in samples]
        values, indices = {}, {}
        for seed in (config.seed, config.seed + 1):
            evaluator.seed = seed
            results = evaluator.evaluate(points, progress)
            values[seed] = {o: np.array([point_value(evaluator.base, o, r[o]) for r in results]) for o in chosen}
            indices[seed] = {o: analyse(config, method, samples, values[seed][o]) for o in chosen}
    return SensitivityResult(method, evaluator.base, config, chosen, samples, values, indices)
