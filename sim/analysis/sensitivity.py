"""Sensitivity analysis with SALib (Sobol or Morris); every sample point runs through the
batch engine's executors. Each point's outcome is averaged over `replications` runs, and the
whole analysis is repeated with a second seed to show the indices are not Monte Carlo noise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.analysis.tuning_config import TuningConfig
from sim.errors import SimError, did_you_mean
from sim.experiment.evaluate import PointEvaluator
from sim.experiment.stats import happened
from sim.scenario.schema import Scenario

METHODS = ("sobol", "morris")


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
            score = "ST" if self.method == "sobol" else "mu_star"
            order = np.argsort(-np.nan_to_num(np.asarray(a[score], dtype=float), nan=-1.0), kind="stable")
            for rank, i in enumerate(order, 1):
                row = {"outcome": outcome, "rank": rank, "parameter": self.config.keys[i]}
                if self.method == "sobol":
                    row |= {"S1": a["S1"][i], "S1_conf": a["S1_conf"][i], "ST": a["ST"][i], "ST_conf": a["ST_conf"][i],
                            "S1_second_seed": b["S1"][i], "ST_second_seed": b["ST"][i]}
                else:
                    row |= {"mu_star": a["mu_star"][i], "mu_star_conf": a["mu_star_conf"][i], "sigma": a["sigma"][i],
                            "mu_star_second_seed": b["mu_star"][i]}
                out.append({k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in row.items()})
        return out

    def stability(self) -> dict[str, float]:
        """Per outcome, the largest change of the ranking index between the two seeds, relative to
        the largest index (0 when nothing moves the outcome)."""
        main, second = self.seeds
        score = "ST" if self.method == "sobol" else "mu_star"
        out = {}
        for o in self.outcomes:
            a = np.asarray(self.indices[main][o][score], dtype=float)
            b = np.asarray(self.indices[second][o][score], dtype=float)
            top = np.nanmax(np.abs(a))
            out[o] = float(np.nanmax(np.abs(a - b)) / top) if top > 0 else 0.0
        return out


def sample(config: TuningConfig, method: str) -> np.ndarray:
    problem = config.salib_problem()
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, config.samples, calc_second_order=False, seed=config.seed)
    from SALib.sample import morris

    return morris.sample(problem, config.samples, num_levels=4, seed=config.seed)


def analyse(config: TuningConfig, method: str, samples: np.ndarray, y: np.ndarray) -> dict:
    problem = config.salib_problem()
    if np.ptp(y) == 0:  # the outcome never changes: every index is zero (SALib would divide by zero)
        zeros = np.zeros(problem["num_vars"])
        if method == "sobol":
            return {"S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        return {"mu_star": zeros, "mu_star_conf": zeros, "sigma": zeros}
    if method == "sobol":
        from SALib.analyze import sobol

        return sobol.analyze(problem, y, calc_second_order=False, seed=config.seed)
    from SALib.analyze import morris

    return morris.analyze(problem, samples, y, num_levels=4, seed=config.seed)


def run_sensitivity(scenario_path: Path, config: TuningConfig, method: str, executor, progress=None,
                    outcomes: tuple[str, ...] = ()) -> SensitivityResult:
    if method not in METHODS:
        raise SimError(f"--method {method}: expected sobol or morris")
    if method == "morris" and any(v.dist == "normal" for v in config.values):
        raise SimError(f"{config.path}: Morris screening needs bounded ranges; give uniform or triangular "
                       "distributions (a normal one reaches infinity at the grid's end levels)")
    if method == "sobol" and config.samples & (config.samples - 1):
        raise SimError(f"{config.path}: tuning.samples: found {config.samples}, expected a power of 2 for Sobol "
                       "sampling")
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
