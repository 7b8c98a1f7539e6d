"""A run's results folder: results/<scenario>/<run-id>/ with manifest, CSVs, summary and plots.

Files are written into a hidden staging folder which is renamed into place at the end, so an
interrupted run leaves no half-finished folder under a real run id.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime as dt
import functools
import importlib.metadata
import io
import itertools
import platform
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

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
    return dict(_installed_versions())


@functools.cache
def _installed_versions() -> dict[str, str]:
    """Looked up once per process: reading the installed packages' metadata costs ~20 ms a run."""
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
        key = (e, repr(drawn))  # not the floats: -0.0 == 0.0, but they print differently
        text = self.effects.get(key)
        if text is None:
            effects = self.scenario.events[e].effects
            text = self.effects[key] = "; ".join(describe_effect(f, d) for f, d in zip(effects, drawn))
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


class EventLog(NamedTuple):
    """Every firing as (replication, step, key) in (replication, step) order, and the keys as columns (event
    index, and codes into lists of texts for why and effects): a large run repeats a few keys many times."""

    reps: np.ndarray
    steps: np.ndarray
    ids: np.ndarray           # each firing's key
    events: np.ndarray        # each key's event index
    whys: np.ndarray          # each key's why, an index into why_texts (the same index for the same text)
    effects: np.ndarray       # each key's effects, an index into effect_texts (likewise)
    why_texts: list[str]
    effect_texts: list[str]

    @property
    def keys(self) -> list[tuple[int, str, str]]:
        """(event index, why, effects) of each key."""
        return [(e, self.why_texts[w], self.effect_texts[x])
                for e, w, x in zip(self.events.tolist(), self.whys.tolist(), self.effects.tolist())]


def _first_seen(codes: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct codes in order of first appearance, each element's place in that order) for codes in
    [0, size): what dict.fromkeys would give, without a Python loop."""
    first = np.full(size, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    present = np.flatnonzero(first < len(codes))
    distinct = present[np.argsort(first[present], kind="stable")]
    place = np.zeros(size, dtype=np.int64)
    place[distinct] = np.arange(len(distinct))
    return distinct, place[codes]


def _text_codes(texts: list[str]) -> np.ndarray:
    """For each text the index of its last copy among them, so equal texts share a code: one or two C-level
    passes (texts that all differ need no second)."""
    last = dict(zip(texts, itertools.count()))
    if len(last) == len(texts):
        return np.arange(len(texts))
    return np.fromiter(map(last.__getitem__, texts), dtype=np.int64, count=len(texts))


def _value_columns(firings: list, starts: np.ndarray) -> Iterator[tuple[np.ndarray, list[list[np.ndarray]]]]:
    """(rows, per effect its columns of drawn values) for each set of firings whose values share a shape (an
    event's firings always do): the columns of many firings joined, to be read by numpy."""
    shapes: dict[tuple, list[int]] = {}
    for f, firing in enumerate(firings):
        shapes.setdefault(tuple(len(v) if isinstance(v, tuple) else 0 for v in firing.values), []).append(f)
    for shape, members in shapes.items():
        rows = np.concatenate([np.arange(starts[f], starts[f] + len(firings[f].events)) for f in members])
        columns = [[np.concatenate([np.asarray(firings[f].values[k][c] if width else firings[f].values[k],
                                               dtype=np.float64) for f in members])
                    for c in range(max(width, 1))] for k, width in enumerate(shape)]
        yield rows, columns


def _few_values(column: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(a column's distinct values, each row's index among them) when it takes few values; None when a
    sample says it takes many (a continuous draw: describing each row is then cheaper than sorting)."""
    bits = column.view(np.uint64)
    if (bits == bits[0]).all():
        return bits[:1], np.zeros(len(bits), dtype=np.int64)
    if len(np.unique(bits[:256])) > 64:
        return None
    return np.unique(bits, return_inverse=True)


def _drawn_texts(effects: list, columns: list[list[np.ndarray]]) -> tuple[list[str], np.ndarray]:
    """(texts, each firing's index into them) for firings of one event whose sizes are drawn (columns: per
    effect, its columns of sizes). A size that takes few values (a rounded delay, a fixed size beside a drawn
    one) is described once per value, not once per firing. Texts may repeat (the caller codes them)."""
    n = len(columns[0][0])
    few = [[_few_values(c) for c in col] for col in columns]
    if any(None in f for f in few):  # each firing described, but an effect whose sizes never change once
        described = [[describe_effects(f, [c[:1] for c in col])[0]] * n
                     if all(v is not None and len(v[0]) == 1 for v in values) else describe_effects(f, col)
                     for f, col, values in zip(effects, columns, few)]
        return described[0] if len(described) == 1 else list(map("; ".join, zip(*described))), np.arange(n)
    combined = np.zeros(n, dtype=np.int64)
    for distinct, which in itertools.chain.from_iterable(few):  # each combination of sizes, coded in [0, n)
        if len(distinct) > 1:
            combined = np.unique(combined * len(distinct) + which, return_inverse=True)[1]
    _, first, which = np.unique(combined, return_index=True, return_inverse=True)
    described = [describe_effects(f, [c[first] for c in col]) for f, col in zip(effects, columns)]
    return described[0] if len(described) == 1 else list(map("; ".join, zip(*described))), which


def event_log(result: RunResult) -> EventLog:
    """Every firing as (replication, step, key), in (replication, step) order, and the keys (event, why,
    effects) numbered as a pass over the firings would: firing by firing, event by event, then parent by parent
    for an event whose effects are fixed (one text for all its firings, from its first), firing by firing for
    one whose sizes are drawn (a text per firing). Built from columns: a large run logs millions of firings."""
    events = result.scenario.events
    firings = [f for f in result.firings if len(f.events)]
    if not firings:
        empty = np.zeros(0, dtype=np.int64)
        return EventLog(empty, empty, empty, empty, empty, empty, [], [])
    texts = _EventTexts(result.scenario)
    fixed = np.array([not any(_drawn(f, result.drawn) for f in e.effects) for e in events], dtype=bool)
    sizes = np.array([len(f.events) for f in firings])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    ev = np.concatenate([f.events for f in firings]).astype(np.int64)
    parents = np.concatenate([f.parents for f in firings]).astype(np.int64)
    fno = np.repeat(np.arange(len(firings)), sizes)
    n = len(ev)

    # each firing's (event, parent) pair, coded over the parents that occur; a pair's first firing
    used = np.flatnonzero(np.bincount(parents + 1, minlength=len(events) + 1))
    parent_rank = np.zeros(len(events) + 1, dtype=np.int64)
    parent_rank[used] = np.arange(len(used))
    pair = ev * len(used) + parent_rank[parents + 1]
    first = np.full(len(events) * len(used), n, dtype=np.int64)
    np.minimum.at(first, pair, np.arange(n))
    pairs = np.flatnonzero(first < n)  # ascending: by event, then by parent
    pair_e = pairs // len(used)
    why_texts = [texts.why(e, p) for e, p in zip(pair_e.tolist(), (used[pairs % len(used)] - 1).tolist())]
    pair_why = _text_codes(why_texts)

    fixed_texts: dict[int, str] = {}
    drawn_rows, drawn_texts, drawn_codes = [], [], []  # per drawn event: its rows, its texts, each row's text
    for rows, columns in _value_columns(firings, starts):
        row_ev = ev[rows]
        # a fixed event's sizes are the same in every firing (no distribution, no drawn parameter): its text
        # is its first firing's; were they not, it is logged as drawn
        lead = np.full(len(events), len(rows), dtype=np.int64)
        np.minimum.at(lead, row_ev, np.arange(len(rows)))
        lead_row, differs = lead[row_ev], np.zeros(len(rows), dtype=bool)
        for column in itertools.chain.from_iterable(columns):
            bits = column.view(np.uint64)
            differs |= bits != bits[lead_row]
        fixed[np.unique(row_ev[differs])] = False
        for e in np.flatnonzero(fixed & (lead < len(rows))).tolist():
            at = int(lead[e])
            fixed_texts[e] = texts.effect_list(e, tuple(tuple(c[at].item() for c in col)
                                                        for col in columns[:len(events[e].effects)]))
        todo = np.flatnonzero(~fixed[row_ev])
        todo = todo[np.argsort(row_ev[todo], kind="stable")]  # by event, each in firing order
        bounds = np.flatnonzero(np.diff(row_ev[todo])) + 1
        for part in np.split(todo, bounds) if len(todo) else []:
            effects = events[int(row_ev[part[0]])].effects
            some, codes = _drawn_texts(effects, [[c[part] for c in col] for col in columns[:len(effects)]])
            drawn_codes.append(codes + len(drawn_texts))
            drawn_texts += some
            drawn_rows.append(rows[part])
    drawn = np.concatenate(drawn_rows) if drawn_rows else np.zeros(0, dtype=np.int64)

    # keys: one per fixed (event, parent) pair and one per drawn firing, numbered in order of first visit
    fixed_events = list(fixed_texts)
    effect_texts = [fixed_texts[e] for e in fixed_events] + drawn_texts
    text_code = _text_codes(effect_texts)
    event_text = np.zeros(len(events), dtype=np.int64)
    event_text[fixed_events] = text_code[:len(fixed_events)]
    drawn_text = text_code[len(fixed_events):][np.concatenate(drawn_codes)] if drawn_codes else drawn
    pair_index = np.zeros(len(first), dtype=np.int64)
    pair_index[pairs] = np.arange(len(pairs))
    fixed_pairs = np.flatnonzero(fixed[pair_e])
    item_firing = np.concatenate([fno[first[pairs[fixed_pairs]]], fno[drawn]])
    item_event = np.concatenate([pair_e[fixed_pairs], ev[drawn]])
    item_within = np.concatenate([pairs[fixed_pairs] % len(used), drawn])  # parent rank, or firing row
    item_why = pair_why[np.concatenate([fixed_pairs, pair_index[pair[drawn]]])]
    item_text = np.concatenate([event_text[pair_e[fixed_pairs]], drawn_text])
    identity = (item_event * len(why_texts) + item_why) * len(effect_texts) + item_text
    item_key, lead_item = _number_keys(np.lexsort((item_within, item_event, item_firing)), identity)

    pair_key = np.zeros(len(first), dtype=np.int64)
    pair_key[pairs[fixed_pairs]] = item_key[:len(fixed_pairs)]
    ids = pair_key[pair]
    ids[drawn] = item_key[len(fixed_pairs):]
    reps = np.concatenate([result.replications[f.reps] for f in firings])
    steps = np.repeat(np.array([f.step for f in firings], dtype=np.int64), sizes)
    order = _by_replication(reps, steps)
    return EventLog(reps[order], steps[order], ids[order], item_event[lead_item], item_why[lead_item],
                    item_text[lead_item], why_texts, effect_texts)


def _number_keys(visit: np.ndarray, identity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(each item's key, each key's first item): items of equal identity share a key, keys numbered in the
    order their first items come in `visit` (dict.setdefault over the visits, without a Python loop)."""
    distinct, at, which = np.unique(identity[visit], return_index=True, return_inverse=True)
    order = np.argsort(at)
    number = np.empty(len(distinct), dtype=np.int64)
    number[order] = np.arange(len(distinct))
    key = np.empty(len(visit), dtype=np.int64)
    key[visit] = number[which]
    return key, visit[at[order]]


def _by_replication(reps: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The stable (replication, step) order of rows. Rows come in step order, so a stable sort by replication
    is enough; a block's replications span fewer than 2**16 ids, which numpy sorts by radix (O(n))."""
    if len(steps) and (np.diff(steps) < 0).any():
        return np.lexsort((steps, reps))
    low = reps.min() if len(reps) else 0
    if len(reps) and reps.max() - low < 2**16:
        return np.argsort((reps - low).astype(np.uint16), kind="stable")
    return np.argsort(reps, kind="stable")


def event_text(result: RunResult, log: EventLog | None = None) -> str:
    """events.csv's rows (no header): the same bytes as csv.writer over event_rows, built in bulk (a run can log
    millions of firings): each row is three pieces gathered from tables (replication, step and date, the
    key's fields) and joined once. `log`: event_log(result), when already built."""
    log = log or event_log(result)
    if not len(log.ids):
        return ""
    scenario = result.scenario
    heads = _objects([f"{_field(e.id)},{_field(e.name)}," for e in scenario.events])
    whys = _objects([_field(w) + "," for w in log.why_texts])
    effects = log.effect_texts
    if any(c in "".join(effects) for c in ',"\n\r'):
        effects = [_field(x) for x in effects]
    tails = _objects(list(map("".join, zip(heads[log.events].tolist(), whys[log.whys].tolist(),
                                           _objects(effects)[log.effects].tolist(), itertools.repeat("\n")))))
    low, high = int(log.reps.min()), int(log.reps.max())
    if high - low <= 2 * len(log.reps):  # a block's replications are consecutive ids
        reps, which = _objects([f"{r}," for r in range(low, high + 1)]), log.reps - low
    else:
        distinct, which = np.unique(log.reps, return_inverse=True)
        reps = _objects([f"{r}," for r in distinct.tolist()])
    pieces = np.empty((len(log.ids), 3), dtype=object)
    pieces[:, 0] = reps[which]
    pieces[:, 1] = _objects([f"{t},{d.isoformat()}," for t, d in enumerate(scenario.dates)])[log.steps]
    pieces[:, 2] = tails[log.ids]
    return "".join(pieces.ravel().tolist())


def _objects(texts: list[str]) -> np.ndarray:
    """Texts as a numpy array of str objects: gathered by index arrays in C, not in a Python loop."""
    array = np.empty(len(texts), dtype=object)
    array[:] = texts
    return array


def event_table(result: RunResult, log: EventLog | None = None):
    """events.parquet's rows for this result: the columns of events.csv, the texts dictionary-encoded (a long
    run repeats a few texts millions of times, so the file stays small and is written without a loop); each
    dictionary in order of first use by the keys."""
    import pyarrow as pa

    log = log or event_log(result)
    events = result.scenario.events
    dates = [d.isoformat() for d in result.scenario.dates]
    columns = {"replication": pa.array(log.reps, pa.int64()), "step": pa.array(log.steps, pa.int32()),
               "date": _dictionary(dates, log.steps)}
    ids, names = [e.id for e in events], [e.name for e in events]
    for name, texts, codes in (("event", ids, _text_codes(ids)[log.events]),
                               ("name", names, _text_codes(names)[log.events]),
                               ("why", log.why_texts, log.whys), ("effects", log.effect_texts, log.effects)):
        used, place = _first_seen(codes, len(texts))
        columns[name] = _dictionary([texts[i] for i in used.tolist()], place[log.ids])
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


def describe_effects(effect: s.Effect, columns: list) -> list[str]:
    """Many firings' effect at once: columns[0] the amounts and, for presence, columns[1] the durations (arrays
    or lists)."""
    amounts = np.asarray(columns[0], dtype=np.float64).tolist()
    durations = list(map(int, np.asarray(columns[1], dtype=np.float64).tolist())) if len(columns) > 1 else None
    return effect.describe(amounts, durations)
