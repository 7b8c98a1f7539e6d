"""A run's results folder: results/<scenario>/<run-id>/ with manifest, CSVs, summary and plots.

Files are written into a hidden staging folder which is renamed into place at the end, so an
interrupted run leaves no half-finished folder under a real run id.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomli_w

from sim.analysis.stats import summarise_outcome
from sim.experiment import atomic
from sim.model.model import RunResult
from sim.model.recorder import STATISTICS
from sim.scenario import schema as s

PACKAGES = ("mesa", "numpy", "scipy", "matplotlib", "networkx")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in ("sim-scenarios",) + PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class RunInfo:
    overrides: tuple[str, ...]
    started: dt.datetime
    finished: dt.datetime
    keep_trajectories: bool


def new_run_id(scenario: s.Scenario, seed: int, now: dt.datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-seed{seed}-{scenario.content_hash[:8]}"


def write_run(result: RunResult, root: Path, info: RunInfo, plots: bool = True) -> Path:
    """Write every file of a run and return the folder."""
    scenario = result.scenario
    parent = atomic.inside(root, scenario.meta.name)
    parent.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id(scenario, result.seed, info.started)
    final = parent / run_id
    suffix = 1
    while final.exists():
        suffix += 1
        final = parent / f"{run_id}-{suffix}"
    staging = parent / f".{final.name}.partial"
    staging.mkdir()
    try:
        summary = {o.id: summarise_outcome(o, result.outcomes[o.id], scenario.dates) for o in scenario.outcomes}
        atomic.write_text(staging / "scenario.toml", tomli_w.dumps(scenario.resolved))
        write_outcomes(staging / "outcomes.csv", result)
        write_timeseries(staging / "timeseries.csv", result)
        if result.trajectories is not None:
            write_trajectories(staging / "trajectories.csv", result)
        write_events(staging / "events.csv", result)
        atomic.write_json(staging / "summary.json", {"scenario": scenario.meta.name, "seed": result.seed,
                                                     "replications": len(result.replications),
                                                     "outcomes": summary})
        if plots:
            from sim.plots.run_plots import plot_run  # matplotlib only when plots are asked for

            plot_run(staging, scenario, result)
        atomic.write_json(staging / "manifest.json", manifest(result, info, final.name, staging))
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def manifest(result: RunResult, info: RunInfo, run_id: str, folder: Path) -> dict:
    scenario = result.scenario
    return {
        "run_id": run_id,
        "scenario": scenario.meta.name,
        "scenario_file": scenario.path,
        "scenario_hash": scenario.content_hash,
        "overrides": list(info.overrides),
        "seed": result.seed,
        "replications": len(result.replications),
        "replication_seeds": f"replication k: numpy SeedSequence({result.seed}, spawn_key=(k,)), whose two "
                             "children drive the relation noise and the event draws (see sim/model/streams.py)",
        "steps": scenario.meta.steps,
        "keep_trajectories": info.keep_trajectories,
        "command": sys.argv,
        "versions": package_versions(),
        "started": info.started.isoformat(timespec="seconds"),
        "finished": info.finished.isoformat(timespec="seconds"),
        "files": sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) + ["manifest.json"],
    }


def _cell(value, boolean: bool) -> str:
    if boolean:
        return "1" if value else "0"
    return "" if np.isnan(value) else f"{value:.10g}"


def write_outcomes(path: Path, result: RunResult) -> None:
    outcomes = result.scenario.outcomes
    columns = [result.outcomes[o.id] for o in outcomes]
    flags = [o.is_boolean for o in outcomes]
    rows = ([int(rep)] + [_cell(col[r], flag) for col, flag in zip(columns, flags)]
            for r, rep in enumerate(result.replications))
    atomic.write_csv(path, ["replication"] + [o.id for o in outcomes], rows)


def write_timeseries(path: Path, result: RunResult) -> None:
    dates = result.scenario.dates
    rows = ((t, dates[t].isoformat(), ser.quantity, ser.source, ser.target, stat, f"{result.stats[t, k, c]:.6g}")
            for t in range(result.stats.shape[0]) for c, ser in enumerate(result.series)
            for k, stat in enumerate(STATISTICS))
    atomic.write_csv(path, ["step", "date", "quantity", "source", "target", "statistic", "value"], rows)


def write_trajectories(path: Path, result: RunResult) -> None:
    dates, traj = result.scenario.dates, result.trajectories
    rows = ((t, dates[t].isoformat(), int(rep), ser.quantity, ser.source, ser.target, f"{traj[t, r, c]:.6g}")
            for r, rep in enumerate(result.replications) for t in range(traj.shape[0])
            for c, ser in enumerate(result.series))
    atomic.write_csv(path, ["step", "date", "replication", "quantity", "source", "target", "value"], rows)


def event_rows(result: RunResult):
    """(replication, step, date, event, name, why, effects) for every firing, ordered by replication."""
    scenario = result.scenario
    rows = []
    for firing in result.firings:
        for pos, rep in enumerate(firing.reps):
            event = scenario.events[firing.events[pos]]
            parent = firing.parents[pos]
            why = (f"follow-up of {scenario.events[parent].id}" if parent >= 0 else own_reason(event))
            effects = "; ".join(describe_effect(eff, firing.values[k], pos) for k, eff in enumerate(event.effects))
            rows.append((int(result.replications[rep]), firing.step, scenario.dates[firing.step].isoformat(),
                         event.id, event.name, why, effects))
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def write_events(path: Path, result: RunResult) -> None:
    atomic.write_csv(path, ["replication", "step", "date", "event", "name", "why", "effects"], event_rows(result))


def own_reason(event: s.Event) -> str:
    if event.kind == "scheduled":
        when = event.date.isoformat() if event.date else f"step {event.step}"
        reason = f"scheduled for {when}"
    elif event.kind == "stochastic":
        p = event.probability
        reason = f"chance {p:g} per step" if isinstance(p, float) else f"chance {p.text} per step"
    else:
        reason = f"condition: {event.condition.text}" if event.condition else "follow-up"
    if event.kind in ("stochastic", "scheduled") and event.condition:
        reason += f" while {event.condition.text}"
    if event.kind == "triggered" and not isinstance(event.probability, float):
        reason += f" (chance {event.probability.text} per step)"
    elif event.kind == "triggered" and event.probability < 1:
        reason += f" (chance {event.probability:g} per step)"
    return reason


def describe_effect(effect: s.Effect, values, pos: int) -> str:
    steps = None
    if isinstance(values, tuple):  # presence: (amounts, durations)
        values, steps = values
    value = None if values is None else float(values[pos])
    if isinstance(effect, s.FollowUpEffect):
        return f"schedules {effect.event} in {value:g} step" + ("" if value == 1 else "s")
    verb = "set to" if effect.set is not None else "change"
    shown = f"{value:g}" if verb == "set to" else f"{value:+.4g}"
    if isinstance(effect, s.RelationEffect):
        return f"relation {effect.label} {verb} {shown}" + (" (lasting)" if effect.lasting else "")
    if isinstance(effect, s.AttributeEffect):
        return f"{effect.actor}.{effect.attribute} {verb} {shown}"
    over = int(steps[pos]) if steps is not None else 1
    return f"presence {effect.actor}@{effect.place} {verb} {shown}" + (f" over {over} steps" if over > 1 else "")

