"""`sim compare --ablate-events`: what if this event had not happened? For every event of a
scenario, rerun it with that event switched off and the same seeds (common random numbers: an
event switched off keeps its random draws, so every other draw is unchanged), and rank the events
by the paired difference each makes to each outcome."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np

from sim.errors import RunFolderError, SimError
from sim.experiment import atomic
from sim.experiment.evaluate import run_outcomes
from sim.experiment.executors import SerialExecutor
from sim.experiment.stats import compare_means, compare_proportions, format_p, happened
from sim.experiment.summaries import Difference, EventEffect
from sim.report.render import Report
from sim.scenario.documents import read_document, set_values
from sim.scenario.limits import check_reps_seed
from sim.scenario.loader import build_scenario


def _source(path: Path, reps: int | None, seed: int | None):
    """(document, seed, replications, label) from a run folder or a scenario file."""
    path = Path(path)
    if path.is_dir():
        manifest_path = path / "manifest.json"
        if not manifest_path.is_file() or not (path / "scenario.toml").is_file():
            raise RunFolderError(f"{path}: not a run folder of `sim run` (no manifest.json and scenario.toml)")
        manifest = json.loads(manifest_path.read_text())
        doc = read_document(path / "scenario.toml")
        return doc, manifest["seed"] if seed is None else seed, (
            manifest["replications"] if reps is None else reps), str(path)
    doc = read_document(path)
    scenario = build_scenario(doc)
    return doc, scenario.meta.seed if seed is None else seed, (
        scenario.meta.replications if reps is None else reps), str(path)


def _difference(outcome, base: np.ndarray, other: np.ndarray) -> Difference:
    if outcome.kind == "first":
        base, other = happened(base), happened(other)
    if outcome.is_boolean or outcome.kind == "first":
        return compare_proportions(base, other, paired=True)
    return compare_means(base, other, paired=True)


def ablate(path: Path, reps: int | None = None, seed: int | None = None, outcomes: tuple[str, ...] = (),
           executor=None):
    """The scenario and each of its variants with one event switched off, run through `executor` (serial
    by default) with the same seed and replications; the paired differences, per event and outcome."""
    doc, seed, reps, label = _source(path, reps, seed)
    check_reps_seed(reps, seed)
    scenario = build_scenario(doc)
    chosen = [o for o in scenario.outcomes if not outcomes or o.id in outcomes]
    unknown = set(outcomes) - {o.id for o in scenario.outcomes}
    if unknown:
        raise SimError(f"--outcomes: not outcomes of {scenario.meta.name}: {', '.join(sorted(unknown))}")
    events = [event for event in scenario.events if event.enabled]
    variants = [scenario] + [build_scenario(set_values(doc, {f"events.{event.id}.enabled": False}, "--ablate-events"))
                             for event in events]
    with executor or SerialExecutor() as running:
        runs = run_outcomes(variants, reps, seed, running,
                            lambda i: "in the scenario" if i == 0 else f"without {events[i - 1].id}")
    base, rows = runs[0], []
    for event, without in zip(events, runs[1:]):
        for o in chosen:
            rows.append(EventEffect(event.id, event.name, o.id, _difference(o, base[o.id], without[o.id])))
    return scenario, seed, reps, label, chosen, rows


@atomic.writes_folder
def ablation_report(path: Path, out: Path, options, reps=None, seed=None, executor=None) -> Path:
    from sim.plots.compare_plots import plot_differences

    scenario, seed, reps, label, chosen, rows = ablate(path, reps, seed, options.outcomes, executor)
    atomic.write_json(out / "ablation.json", {"scenario": scenario.meta.name, "source": label, "seed": seed,
                                              "replications": reps, "rows": [r.to_json() for r in rows]})
    atomic.write_csv(out / "ablation.csv", ["outcome", "rank", "event", "difference", "ci95_low", "ci95_high",
                                            "p_value", "test"],
                     [[o.id, rank, r.event, f"{r.difference.difference:.6g}", f"{r.difference.ci95[0]:.6g}",
                       f"{r.difference.ci95[1]:.6g}", f"{r.difference.p_value:.4g}", r.difference.test]
                      for o in chosen for rank, r in enumerate(ranked(rows, o.id), 1)])
    report = Report(f"Which events matter in {scenario.meta.name}",
                    f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M}; source {label}; {reps} replications, "
                    f"seed {seed}")
    report.text("Each event is switched off in turn (`enabled = false`) and the scenario (for a run folder: its "
                "resolved scenario.toml, with the run's --set overrides) rerun with the same seed "
                "and replications. A switched-off event keeps its random draws, so every other draw is the same: "
                "replication k with the event is compared with replication k without it (**paired** differences: "
                "paired t interval; McNemar's exact test for probabilities). A difference is the outcome without "
                "the event minus the outcome with it; events are ranked by its size.")
    for o in chosen:
        every = ranked(rows, o.id)
        ordered = [r for r in every if r.difference.difference != 0 or r.difference.ci95 != (0, 0)]
        measure = "probability" if (o.is_boolean or o.kind == "first") else "mean"
        report.heading(f"{o.id} ({measure}{'; that it happens' if o.kind == 'first' else ''})")
        silent = len(every) - len(ordered)
        if not ordered:
            report.text(f"No event changes {o.id} in any replication.")
            continue
        report.table(["rank", "event", "without - with", "95% interval", "p-value"],
                     [[i, f"{r.event} ({r.name})", f"{r.difference.difference:+.3f}",
                       f"[{r.difference.ci95[0]:+.3f}, {r.difference.ci95[1]:+.3f}]", format_p(r.difference.p_value)]
                      for i, r in enumerate(ordered, 1)])
        if silent:
            report.text(f"{silent} event(s) left out: switching them off changes {o.id} in no replication.")
        figure = plot_differences([r.event for r in ordered], [r.difference for r in ordered], out / f"ablation-{o.id}",
                                  options.fmt, f"{scenario.meta.name}: {o.id} without each event",
                                  "probability that it happens" if o.kind == "first" else measure)
        report.figure(f"{o.id} without each event", figure)
    report.write(out)
    return out


def ranked(rows: list[EventEffect], outcome: str) -> list[EventEffect]:
    return sorted((r for r in rows if r.outcome == outcome), key=lambda r: (-abs(r.difference.difference), r.event))
