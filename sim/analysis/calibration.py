"""Calibration: search the tuning ranges for the values under which the observed timeline is most
likely (scipy.optimize.differential_evolution, each generation evaluated in parallel through the
batch executors; every evaluation uses the same seed and replications: common random numbers)."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import stats
from scipy.optimize import differential_evolution

from sim.analysis.observed import (
    Observation,
    check_cutoff,
    load_observed,
    loss,
    observation_outcomes,
    settled_by_shocks,
    split_at,
)
from sim.analysis.tuning_config import TuningConfig
from sim.errors import SimError
from sim.experiment.evaluate import PointEvaluator
from sim.experiment.sweep import check_keys
from sim.scenario.documents import (
    expand_shorthand,
    parse_key_path,
    read_document,
    read_value,
    resolve_path,
    set_values,
    walk,
)
from sim.scenario.loader import load_scenario
from sim.scenario.parameters import RULE_PARAMETERS
from sim.scenario.schema import Scenario

CONFIDENCE = 0.95


@dataclass
class Calibration:
    scenario: Scenario
    observed: tuple[Observation, ...]   # the observations fitted: up to the cut-off, shocks' own left out
    config: TuningConfig
    start: dict[str, float]
    best: dict[str, float]
    loss_before: float
    loss_after: float
    before: dict[str, np.ndarray]   # outcomes (with the observation outcomes) at the start values
    after: dict[str, np.ndarray]    # ... and at the fitted values
    history: list[tuple[int, float, dict]]  # (evaluations, best loss so far, best values)
    evaluations: int
    cutoff: dt.date | None = None
    left_out: tuple[tuple[Observation, str], ...] = ()  # settled by scheduled shocks, or after the cut-off
    evaluated: list[tuple[dict, float]] = field(default_factory=list)  # every point tried, with its loss
    generations: list[dict] = field(default_factory=list)  # per generation: best so far, median, evaluations

    @property
    def bound(self) -> float:
        """Likelihood-ratio bound: values whose loss is within this of the best are not rejected at 95%
        (2 x the loss difference is about chi-squared with one degree per fitted value)."""
        return float(stats.chi2.ppf(CONFIDENCE, len(self.config.values)) / 2.0)

    def plausible(self) -> list[tuple[dict, float]]:
        """The evaluated values within the likelihood-ratio bound of the best, best first."""
        best = min(loss for _, loss in self.evaluated) if self.evaluated else self.loss_after
        kept = [(v, loss) for v, loss in self.evaluated if loss <= best + self.bound]
        return sorted(kept, key=lambda item: item[1])

    def plausible_ranges(self) -> dict[str, tuple[float, float]]:
        kept = self.plausible()
        return {k: (min(v[k] for v, _ in kept), max(v[k] for v, _ in kept)) for k in self.config.keys} if kept else {}

    def converged(self) -> tuple[bool, str]:
        """Whether the best loss stopped improving: less than 1% (relative) over the last third of generations."""
        best = [g["best"] for g in self.generations]
        if len(best) < 3:
            return False, f"only {len(best)} generation(s): too few to judge convergence"
        look = max(1, len(best) // 3)
        change = best[-look - 1] - best[-1]
        relative = change / max(abs(best[-1]), 1e-9)
        if relative < 0.01:
            return True, f"the best loss moved {change:.3g} ({relative:.1%}) over the last {look} generation(s)"
        return False, (f"the best loss still fell {change:.3g} ({relative:.1%}) over the last {look} generation(s): "
                       "raise tuning.generations")


def current_value(doc_data: dict, key: str, scenario: Scenario) -> float:
    """The value a key path has in the scenario (defaults included)."""
    path = expand_shorthand(parse_key_path(key))
    try:
        return float(read_value(doc_data, parse_key_path(key)))
    except KeyError:
        if path[0] == "parameters":
            return RULE_PARAMETERS[path[1]][0]
        if path[0] == "actors" and path[2] == "attributes":
            return next(a for a in scenario.actors if a.id == path[1]).attribute(path[3])
        raise


def fitted_observations(observed, scenario: Scenario, cutoff: dt.date | None):
    """(the observations a calibration fits, the others with why): those up to the cut-off that no
    scheduled shock settles by itself."""
    before, after = split_at(observed, cutoff) if cutoff else (tuple(observed), ())
    left_out = [(o, f"after the cut-off {cutoff}") for o in after]
    fitted = []
    for o in before:
        why = settled_by_shocks(o, scenario)
        if why:
            left_out.append((o, f"given: {why}"))
        else:
            fitted.append(o)
    return tuple(fitted), tuple(left_out)


def calibrate(scenario_path: Path, observed_paths, config: TuningConfig, executor, report=print,
              cutoff: dt.date | None = None) -> Calibration:
    scenario = load_scenario(scenario_path)
    if cutoff is None:
        cutoff = scenario.meta.fitted_until  # a fitted scenario is refitted on what it was fitted on, no more
    check_cutoff(cutoff, scenario)
    observed, left_out = fitted_observations(load_observed(observed_paths, scenario), scenario, cutoff)
    if not observed:
        raise SimError("no observation to fit" + (f" on or before the cut-off {cutoff}" if cutoff else "")
                       + " (observations that a scheduled shock settles carry no information)")
    extra = observation_outcomes(observed, scenario)
    doc = read_document(scenario_path)
    check_keys(config.path, "parameters", config.keys, doc)  # before reading their current values
    start = {k: current_value(doc.data, k, scenario) for k in config.keys}
    bounds = [v.bounds for v in config.values]
    x0 = np.clip([start[k] for k in config.keys], [b[0] for b in bounds], [b[1] for b in bounds])
    history: list = []
    with executor:
        ev = PointEvaluator(scenario_path, config.keys, config.path, config.replications, config.seed, executor, extra,
                            bounds)
        base = ev.base
        best = {"loss": np.inf, "values": dict(start)}

        evaluated: list[tuple[dict, float]] = []
        generations: list[dict] = []

        def objective(x: np.ndarray) -> np.ndarray:
            columns = x.T if x.ndim == 2 else x[None, :]
            points = [dict(zip(config.keys, map(float, col))) for col in columns]
            losses = np.array([loss(observed, base, r, config.window) for r in ev.evaluate(points)])
            evaluated.extend(zip(points, losses.tolist()))
            i = int(np.argmin(losses))
            if losses[i] < best["loss"]:
                best["loss"], best["values"] = float(losses[i]), points[i]
            history.append((ev.evaluations, best["loss"], dict(best["values"])))
            generations.append({"generation": len(generations), "evaluations": ev.evaluations, "best": best["loss"],
                                "median": float(np.median(losses))})
            return losses if x.ndim == 2 else losses[0]

        before = ev.evaluate([start])[0]
        loss_before = loss(observed, base, before, config.window)
        evaluated.append((dict(start), loss_before))
        report(f"start: loss {loss_before:.3f} at " + _show(start))

        def progress(xk, convergence=None):
            g = generations[-1]
            report(f"generation {g['generation']}: best loss {best['loss']:.3f} (this generation's median "
                   f"{g['median']:.3f}) after {ev.evaluations} evaluations at " + _show(best["values"]))

        differential_evolution(objective, bounds, x0=x0, popsize=config.population, maxiter=config.generations,
                               seed=config.seed, vectorized=True, updating="deferred", polish=False, tol=0, atol=-1,
                               callback=progress)
        after = ev.evaluate([best["values"]])[0]
    return Calibration(base, observed, config, start, best["values"], loss_before,
                       loss(observed, base, after, config.window), before, after, history, ev.evaluations, cutoff,
                       left_out, evaluated, generations)


def at_edges(result: Calibration) -> list[str]:
    """Warnings: values fitted within 1% of an end of their range (the optimum may lie outside it), and
    plausible ranges cut by the search range (the uncertainty is then understated)."""
    notes = []
    ranges = result.plausible_ranges()
    for v in result.config.values:
        low, high = v.bounds
        value = result.best[v.key]
        near = 0.01 * (high - low)
        if min(value - low, high - value) <= near:
            notes.append(f"{v.key} = {value:.4g} is at the edge of its search range ({low:g} to {high:g}); "
                         "the best value may lie outside it: widen the range")
        elif v.key in ranges and (ranges[v.key][0] - low <= near or high - ranges[v.key][1] <= near):
            notes.append(f"{v.key}: its plausible values reach the edge of the search range ({low:g} to {high:g}), "
                         "so the range understates its uncertainty")
    return notes


def write_plausible(result: Calibration, path: Path) -> None:
    """plausible.csv: the evaluated values within the likelihood-ratio bound, for `--uncertainty`."""
    from sim.experiment import atomic

    keys = list(result.config.keys)
    atomic.write_csv(path, keys + ["loss"], ([f"{values[k]:.10g}" for k in keys] + [f"{loss:.6g}"]
                                             for values, loss in result.plausible()))


def _show(values: dict) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())


BASE_FILE = "base.toml"  # the calibrated scenario, written beside calibrated.toml (extends stays in its folder)


def save_as_extends(scenario_path: Path, target: Path) -> str:
    """The `extends` a calibrated variant saved as `target` needs to reach the scenario: the scenario must
    be in target's folder or below it (an extends never leaves its file's folder), and target must not be
    the scenario, a file it extends (that would lose it and make a cycle) or a folder."""
    target = Path(target)
    if target.is_dir():
        raise SimError(f"--save-as {target}: is a folder; expected a file name such as <name>-calibrated.toml")
    if target.resolve() in extends_chain(scenario_path):
        raise SimError(f"--save-as {target}: that is {scenario_path} or a file it extends; the calibrated variant "
                       "extends it, so it needs a file of its own")
    try:
        relative = Path(scenario_path).resolve().relative_to(target.resolve().parent)
    except ValueError:
        raise SimError(f"--save-as {target}: the calibrated variant extends {scenario_path}, so it must be saved in "
                       f"that file's folder ({Path(scenario_path).parent}) or above it") from None
    return relative.as_posix()


def extends_chain(path: Path) -> set[Path]:
    """The resolved paths of a scenario file and every file it extends."""
    chain, current = set(), Path(path)
    while current.is_file() and current.resolve() not in chain and len(chain) < 64:
        chain.add(current.resolve())
        try:
            parent = tomllib.loads(current.read_text(encoding="utf-8-sig")).get("extends")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            break  # the loader reports it, with its line, when the scenario is read
        if not isinstance(parent, str):
            break
        current = current.parent / parent
    return chain


def calibrated_document(scenario_path: Path, result: Calibration, extends: str = BASE_FILE) -> dict:
    """A variant that extends `extends` (by default BASE_FILE, the scenario as calibrated, written beside
    it) with the fitted values (a list on the way is copied whole, since `extends` replaces lists)."""
    doc = read_document(scenario_path)
    fitted = set_values(doc, result.best, "calibration").data
    variant: dict = {"extends": extends,
                     "meta": {"name": f"{result.scenario.meta.name[:53]}-calibrated",  # names stay within 64
                              "description": f"{result.scenario.meta.name} with values fitted by sim calibrate"
                                             + (f" on observations up to {result.cutoff}" if result.cutoff else "")}}
    # what backtests must not score: up to the cut-off, or without one, up to the last observation fitted
    variant["meta"]["fitted_until"] = result.cutoff or max(o.date for o in result.observed)
    for key in result.best:
        path = resolve_path(fitted, parse_key_path(key))
        cut = next((i for i, part in enumerate(path) if isinstance(part, int)), len(path))
        prefix = path[: max(cut - 1, 0)] if cut < len(path) else path[:-1]
        source, target = walk(fitted, prefix), variant
        for part in prefix:
            target = target.setdefault(part, {})
        last = path[cut - 1] if cut < len(path) else path[-1]
        target[last] = copy.deepcopy(source[last])
    return variant
