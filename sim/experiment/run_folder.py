"""A run's results folder: results/<scenario>/<run-id>/ with manifest, CSVs, summary and plots.

Files are written into a hidden staging folder which is renamed into place at the end, so an
interrupted run leaves no half-finished folder under a real run id.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import importlib.metadata
import io
import itertools
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np
import tomli_w

from sim.experiment import atomic
from sim.experiment.stats import summarise_outcome
from sim.experiment.summaries import OutcomeSummary, summaries_to_json
from sim.model.model import RunResult, firing_counts, run_scenario
from sim.model.recorder import STATISTICS
from sim.model.uncertain import draw_ids
from sim.scenario import schema as s
from sim.scenario.distributions import Distribution, Named

PACKAGES = ("mesa", "numpy", "scipy", "matplotlib", "networkx")
SEEDS_NOTE = ("replication k: relation noise from a counter-based SplitMix64 stream keyed by (seed {seed}, k, step), "
              "event draws from one keyed by (seed, k, the event's id): see sim/model/streams.py and kernels.py")


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
    finished: dt.datetime | None  # None: when the folder is written (a streamed run simulates while writing)
    keep_trajectories: bool
    events: tuple[str, ...] = ("parquet",)  # the event log's forms: "parquet", "csv", both or neither


def new_run_id(scenario: s.Scenario, seed: int, now: dt.datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-seed{seed}-{scenario.content_hash[:8]}"


RUN_CHUNK = 10_000  # replications simulated at once by `sim run`: memory stays bounded whatever --reps is


def run_chunks(scenario: s.Scenario, seed: int, reps: int, keep_trajectories: bool = False, uncertainty=None,
               chunk: int = RUN_CHUNK) -> Iterator[RunResult]:
    """The run as consecutive blocks of replication ids; replication k is the same in any block."""
    for first in range(0, reps, chunk):
        yield run_scenario(scenario, seed=seed, replications=np.arange(first, min(first + chunk, reps)),
                           keep_trajectories=keep_trajectories, uncertainty=uncertainty,
                           bands=first == 0)  # a run's quantile bands come from its first block


def write_run(results: RunResult | Iterable[RunResult], root: Path, info: RunInfo,
              extras: Callable[[Path, RunResult], None] | None = None) -> Path:
    """Write every file of a run and return the folder. `results` may be one result or consecutive blocks of
    one run (run_chunks): the event log and trajectories are appended block by block and only the per-run
    outcomes are held, so memory does not grow with the event log. With more than one block, the quantile
    bands of timeseries.csv are those of the first block (as in a batch); means cover every replication.
    `extras(folder, result)` writes more files into the run's folder before it appears (the plots: they
    belong to a layer above this one)."""
    blocks = iter([results] if isinstance(results, RunResult) else results)
    first = next(blocks)
    scenario = first.scenario
    parent = atomic.inside(root, scenario.meta.name)
    parent.mkdir(parents=True, exist_ok=True)
    run_id = new_run_id(scenario, first.seed, info.started)
    final = parent / run_id
    suffix = 1
    while final.exists():
        suffix += 1
        final = parent / f"{run_id}-{suffix}"
    staging = parent / f".{final.name}.partial"
    staging.mkdir()
    try:
        result = _stream(first, blocks, staging, info.events)  # the staging folder is renamed at the end: plain writes
        summary = run_summaries(result)
        atomic.write_text(staging / "scenario.toml", tomli_w.dumps(scenario.resolved))
        write_outcomes(staging / "outcomes.csv", result)
        write_timeseries(staging / "timeseries.csv", result)
        atomic.write_json(staging / "summary.json", {"scenario": scenario.meta.name, "seed": result.seed,
                                                     "replications": len(result.replications),
                                                     "uncertainty": (result.uncertainty.manifest()
                                                                     if result.uncertainty else None),
                                                     "quantile_bands_from": result.bands_from,
                                                     "outcomes": summaries_to_json(summary)})
        if extras is not None:
            extras(staging, result)
        atomic.write_json(staging / "manifest.json", manifest(result, info, final.name, staging))
        staging.rename(final)
    except OSError as error:  # name the file the user will look for, not the staging folder's
        shutil.rmtree(staging, ignore_errors=True)
        name = str(error.filename or "").replace(str(staging), str(final))
        raise OSError(error.errno, error.strerror or str(error), name or None) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def _stream(first: RunResult, rest: Iterator[RunResult], staging: Path, events: tuple[str, ...]) -> RunResult:
    """Append each block's events (and trajectories) to the files; return one result of the whole run that
    holds no firings: what the summary, outcomes, time series and plots need."""
    n_events = len(first.scenario.events)
    parts, counts = [], np.zeros((n_events, first.scenario.meta.steps + 1), dtype=np.int64)
    series_sum = np.zeros_like(first.stats[:, 0, :])
    network = None
    with contextlib.ExitStack() as files:
        csv_events = parquet_events = trajectories = None
        if "csv" in events:
            csv_events = files.enter_context(open(staging / "events.csv", "w", encoding="utf-8", newline=""))
            csv_events.write(",".join(EVENT_COLUMNS) + "\n")
        if "parquet" in events:
            import pyarrow.parquet as pq

            parquet_events = files.enter_context(pq.ParquetWriter(staging / "events.parquet", event_schema()))
        if first.trajectories is not None:
            trajectories = files.enter_context(open(staging / "trajectories.csv", "w", encoding="utf-8", newline=""))
            trajectories.write(",".join(TRAJECTORY_COLUMNS) + "\n")
        for block in itertools.chain([first], rest):
            log = event_log(block) if events else None  # built once, written in each form asked for
            if csv_events is not None:
                csv_events.write(event_text(block, log))
            if parquet_events is not None:
                parquet_events.write_table(event_table(block, log))
            if trajectories is not None:
                trajectories.write(trajectory_text(block))
            counts += firing_counts(block)
            series_sum += block.stats[:, 0, :] * len(block.replications)
            network = block.network if network is None else network.merge(block.network)
            parts.append(dataclasses.replace(block, firings=[], trajectories=None, stats=None, network=None))
    stats = first.stats
    if len(parts) > 1:  # the mean over every block; the quantile bands stay the first block's
        stats = stats.copy()
        stats[:, 0, :] = series_sum / sum(len(p.replications) for p in parts)
    join = (lambda name: np.concatenate([getattr(p, name) for p in parts]))  # noqa: E731
    return dataclasses.replace(
        first, replications=join("replications"), firings=[], trajectories=None, stats=stats, network=network,
        outcomes={key: np.concatenate([p.outcomes[key] for p in parts]) for key in first.outcomes},
        drawn={key: np.concatenate([p.drawn[key] for p in parts]) for key in first.drawn},
        first_fired=join("first_fired"), fired_count=join("fired_count"), step_counts=counts,
        bands_from=len(first.replications) if len(parts) > 1 else None)


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
        "replication_seeds": SEEDS_NOTE.format(seed=result.seed),
        "steps": scenario.meta.steps,
        "keep_trajectories": info.keep_trajectories,
        "uncertainty": result.uncertainty.manifest() if result.uncertainty else None,
        "command": sys.argv,
        "versions": package_versions(),
        "started": info.started.isoformat(timespec="seconds"),
        "finished": (info.finished or dt.datetime.now().astimezone()).isoformat(timespec="seconds"),
        "files": sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) + ["manifest.json"],
    }


def _cells(values: np.ndarray, boolean: bool) -> list[str]:
    """A column's CSV cells: 1/0 for a boolean outcome, 10 significant digits, empty for no number (NaN)."""
    if boolean:
        return np.where(values, "1", "0").tolist()
    return [f"{v:.10g}" if v == v else "" for v in values.tolist()]


def write_outcomes(path: Path, result: RunResult) -> None:
    outcomes = result.scenario.outcomes
    columns = [_cells(result.outcomes[o.id], o.is_boolean) for o in outcomes]  # formatted by column, not by cell
    drawn = list(result.drawn.items())
    extra = ["draw"] + [f"parameters.{name}" for name, _ in drawn] if result.uncertainty else []
    if extra:
        columns += [draw_ids(result.uncertainty, result.replications).tolist()]
        columns += [[f"{v:.10g}" for v in values.tolist()] for _, values in drawn]
    rows = zip(result.replications.tolist(), *columns)
    atomic.write_csv(path, ["replication"] + [o.id for o in outcomes] + extra, rows)


def write_timeseries(path: Path, result: RunResult) -> None:
    dates = result.scenario.dates
    rows = ((t, dates[t].isoformat(), ser.quantity, ser.source, ser.target, stat, f"{result.stats[t, k, c]:.6g}")
            for t in range(result.stats.shape[0]) for c, ser in enumerate(result.series)
            for k, stat in enumerate(STATISTICS))
    atomic.write_csv(path, ["step", "date", "quantity", "source", "target", "statistic", "value"], rows)


TRAJECTORY_COLUMNS = ["step", "date", "replication", "quantity", "source", "target", "value"]


def _trajectory_rows(result: RunResult):
    dates, traj = result.scenario.dates, result.trajectories
    return ((t, dates[t].isoformat(), int(rep), ser.quantity, ser.source, ser.target, f"{traj[t, r, c]:.6g}")
            for r, rep in enumerate(result.replications) for t in range(traj.shape[0])
            for c, ser in enumerate(result.series))


def trajectory_text(result: RunResult) -> str:
    """trajectories.csv's rows for this result, without the header."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(_trajectory_rows(result))
    return buffer.getvalue()


def write_trajectories(path: Path, result: RunResult) -> None:
    atomic.write_csv(path, TRAJECTORY_COLUMNS, _trajectory_rows(result))


EVENT_COLUMNS = ["replication", "step", "date", "event", "name", "why", "effects"]


def _firings(result: RunResult):
    """(replication, step, event index, parent, (drawn values per effect)) for every firing, in firing order."""
    for firing in result.firings:
        columns = [tuple(np.asarray(a).tolist() for a in v) if isinstance(v, tuple) else (np.asarray(v).tolist(),)
                   for v in firing.values]
        reps = result.replications[firing.reps].tolist()
        for pos, (rep, e, parent) in enumerate(zip(reps, firing.events.tolist(), firing.parents.tolist())):
            yield int(rep), firing.step, e, parent, tuple(tuple(c[pos] for c in col) for col in columns)


class _EventTexts:
    """The why and effects texts of firings, built once per distinct (event, parent) and (event, effect,
    drawn values): a large run repeats them many times."""

    def __init__(self, scenario: s.Scenario):
        self.scenario = scenario
        self.reasons: dict[tuple[int, int], str] = {}
        self.effects: dict[tuple, str] = {}

    def why(self, e: int, parent: int) -> str:
        text = self.reasons.get((e, parent))
        if text is None:
            events = self.scenario.events
            text = self.reasons[(e, parent)] = (f"follow-up of {events[parent].id}" if parent >= 0
                                                else own_reason(events[e]))
        return text

    def effect_list(self, e: int, drawn: tuple) -> str:
        text = self.effects.get((e, drawn))
        if text is None:
            effects = self.scenario.events[e].effects
            text = self.effects[(e, drawn)] = "; ".join(describe_effect(f, d) for f, d in zip(effects, drawn))
        return text


def event_rows(result: RunResult):
    """(replication, step, date, event, name, why, effects) for every firing, ordered by replication."""
    scenario = result.scenario
    texts = _EventTexts(scenario)
    rows = [(rep, step, scenario.dates[step].isoformat(), scenario.events[e].id, scenario.events[e].name,
             texts.why(e, parent), texts.effect_list(e, drawn)) for rep, step, e, parent, drawn in _firings(result)]
    rows.sort(key=lambda row: (row[0], row[1]))
    return rows


def _field(text: str) -> str:
    """A CSV field as csv.writer writes it (minimal quoting)."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def _drawn(effect, varying) -> bool:
    """Whether an effect's realised values differ between firings (a distribution somewhere, or a
    parameter drawn per replication)."""
    amounts = [getattr(effect, name, None) for name in ("delta", "set", "delay", "over")]
    return any(isinstance(a, Distribution) or (isinstance(a, Named) and a.name in varying) for a in amounts) or (
        isinstance(effect, s.RelationEffect) and effect.delta is not None and "shock_scale" in varying)


def write_events(path: Path, result: RunResult) -> None:
    atomic.write_text(path, ",".join(EVENT_COLUMNS) + "\n" + event_text(result))


def event_log(result: RunResult) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple]]:
    """Every firing as (replication, step, key) in (replication, step) order, and the keys (event, why,
    effects): a large run repeats a few keys many times. Texts are built per event and step, from columns:
    once for an event whose effects are fixed, once per firing for one whose sizes are drawn."""
    events = result.scenario.events
    fixed = [not any(_drawn(f, result.drawn) for f in e.effects) for e in events]
    texts = _EventTexts(result.scenario)
    keys: dict[tuple, int] = {}
    reps_all, steps_all, ids_all = [], [], []
    for firing in result.firings:
        ids = np.empty(len(firing.events), dtype=np.int64)
        for e in np.unique(firing.events).tolist():
            rows = np.flatnonzero(firing.events == e)
            parents = firing.parents[rows]
            effects = events[e].effects
            columns = [tuple(np.asarray(a)[rows].tolist() for a in (v if isinstance(v, tuple) else (v,)))
                       for v in firing.values[:len(effects)]]
            if fixed[e]:  # the same sizes in every firing of the event (with the same parent)
                for parent in np.unique(parents).tolist():
                    first = int(np.flatnonzero(parents == parent)[0])
                    drawn = tuple(tuple(c[first] for c in col) for col in columns)
                    key = (e, texts.why(e, parent), texts.effect_list(e, drawn))
                    ids[rows[parents == parent]] = keys.setdefault(key, len(keys))
                continue
            described = [describe_effects(f, col) for f, col in zip(effects, columns)]
            lists = described[0] if len(described) == 1 else ["; ".join(parts) for parts in zip(*described)]
            distinct, which = np.unique(parents, return_inverse=True)
            whys = [texts.why(e, parent) for parent in distinct.tolist()]
            firing_keys = list(zip(itertools.repeat(e), map(whys.__getitem__, which.tolist()), lists))
            new = [key for key in dict.fromkeys(firing_keys) if key not in keys]  # in order of first firing
            keys.update(zip(new, range(len(keys), len(keys) + len(new))))  # numbered as one by one would
            ids[rows] = list(map(keys.__getitem__, firing_keys))
        reps_all.append(result.replications[firing.reps])
        steps_all.append(np.full(len(firing.reps), firing.step))
        ids_all.append(ids)
    if not reps_all:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, []
    reps, steps, ids = (np.concatenate(x) for x in (reps_all, steps_all, ids_all))
    order = np.lexsort((steps, reps))  # stable: firings of one step stay in firing order
    return reps[order], steps[order], ids[order], list(keys)


def _key_texts(result: RunResult, keys: list[tuple]) -> list[tuple[str, str, str, str]]:
    """(event id, name, why, effects) for each key."""
    events = result.scenario.events
    return [(events[e].id, events[e].name, why, effects) for e, why, effects in keys]


def event_text(result: RunResult, log=None) -> str:
    """events.csv's rows (no header): the same bytes as csv.writer over event_rows, built in bulk (a run can log
    millions of firings). `log`: event_log(result), when already built."""
    reps, steps, ids, keys = log or event_log(result)
    dates = [d.isoformat() for d in result.scenario.dates]
    tails = [",".join(_field(x) for x in texts) for texts in _key_texts(result, keys)]
    return "".join([f"{rep},{step},{dates[step]},{tails[k]}\n"
                    for rep, step, k in zip(reps.tolist(), steps.tolist(), ids.tolist())])


def event_table(result: RunResult, log=None):
    """events.parquet's rows for this result: the columns of events.csv, the texts dictionary-encoded (a long
    run repeats a few texts millions of times, so the file stays small and is written without a loop)."""
    import pyarrow as pa

    reps, steps, ids, keys = log or event_log(result)
    texts = _key_texts(result, keys)
    dates = [d.isoformat() for d in result.scenario.dates]
    columns = {"replication": pa.array(reps, pa.int64()), "step": pa.array(steps, pa.int32()),
               "date": _dictionary(dates, steps)}
    for c, name in enumerate(EVENT_COLUMNS[3:]):
        values = [t[c] for t in texts]
        unique = list(dict.fromkeys(values))
        position = {v: n for n, v in enumerate(unique)}
        columns[name] = _dictionary(unique, np.array([position[v] for v in values], dtype=np.int64)[ids]
                                    if len(ids) else ids)
    return pa.table(columns, schema=event_schema())


def event_schema():
    import pyarrow as pa

    text = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([("replication", pa.int64()), ("step", pa.int32()), ("date", text), ("event", text),
                      ("name", text), ("why", text), ("effects", text)])


def _dictionary(values: list[str], indices: np.ndarray):
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, dtype=np.int32)), pa.array(values, pa.string()))


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


def run_summaries(result: RunResult) -> dict[str, OutcomeSummary]:
    """Each outcome of a run as summary.json gives it (with drawn parameters, counting their spread)."""
    draws = draw_ids(result.uncertainty, result.replications) if result.uncertainty else None
    return {o.id: summarise_outcome(o, result.outcomes[o.id], result.scenario.dates, draws)
            for o in result.scenario.outcomes}


def describe_effect(effect: s.Effect, drawn: tuple) -> str:
    """One firing's effect: `drawn` is (amount,) or, for presence, (amount, duration in steps)."""
    return describe_effects(effect, [[value] for value in drawn])[0]


def describe_effects(effect: s.Effect, columns: list[list[float]]) -> list[str]:
    """Many firings' effect at once: columns[0] the amounts and, for presence, columns[1] the durations."""
    return effect.describe([float(v) for v in columns[0]], [int(d) for d in columns[1]] if len(columns) > 1 else None)
