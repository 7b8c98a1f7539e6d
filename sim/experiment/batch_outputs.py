"""Tidy outputs of a batch, built from its chunk files in plan order (bounded memory).

runs.parquet (one row per replication, with the drawn parameter values when some are uncertain),
events.parquet (per replication, each event's first step and count), points.csv (per scenario, point and outcome),
series.parquet (per scenario, point, step and tracked series: every point, streamed), series.csv (the same for
point 0 of each scenario: what reports draw, small enough to open by hand), failures.csv, and with
--keep-trajectories trajectories.parquet.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sim.experiment import atomic
from sim.experiment.batch_plan import BatchPlan
from sim.experiment.chunks import load_chunk
from sim.experiment.stats import QUANTILES, summarise_outcome
from sim.experiment.summaries import OutcomeSummary
from sim.model.model import series_of
from sim.model.network import network_to_json
from sim.model.recorder import STATISTICS
from sim.model.uncertain import draw_ids

ROW_GROUP = 200_000
SERIES_COLUMNS = ["scenario", "point", "step", "date", "quantity", "source", "target", "statistic", "value"]
SERIES_SCHEMA = pa.schema([("scenario", pa.string()), ("point", pa.int32()), ("step", pa.int32()),
                           ("date", pa.string()), ("quantity", pa.string()), ("source", pa.string()),
                           ("target", pa.string()), ("statistic", pa.string()), ("value", pa.float64())])
QCOLS = [f"q{round(q * 100):02d}" for q in QUANTILES]


def _outcome_types(plan: BatchPlan) -> dict[str, pa.DataType]:
    types: dict[str, pa.DataType] = {}
    for planned in plan.scenarios:
        for outcome in planned.points[0].outcomes:
            kind = pa.bool_() if outcome.is_boolean else pa.float64()
            types[outcome.id] = kind if types.get(outcome.id, kind) == kind else pa.float64()
    return types


def _swept_keys(plan: BatchPlan) -> list[str]:
    return list(plan.points[0]) if plan.points else []


def write_outputs(plan: BatchPlan, folder: Path) -> tuple[dict, list]:
    """Assemble every output from the chunks; returns the point-0 summaries per scenario and the failures.
    The Parquet files are streamed into hidden .tmp files renamed at the end; if anything fails (a full disk,
    Ctrl-C), those are removed: the chunks are the state, the outputs can always be built again."""
    try:
        return _write_outputs(plan, folder)
    except BaseException:
        for tmp in Path(folder).glob(".*.parquet.tmp"):
            tmp.unlink(missing_ok=True)
        raise


def _write_outputs(plan: BatchPlan, folder: Path) -> tuple[dict, list]:
    chunks = folder / "chunks"
    swept = _swept_keys(plan)
    types = _outcome_types(plan)
    drawn = [f"parameters.{name}" for name in plan.uncertainty.names] if plan.uncertainty else []
    schema = pa.schema([("scenario", pa.string()), ("point", pa.int32())] + [(k, pa.float64()) for k in swept]
                       + [("replication", pa.int64())] + ([("draw", pa.int64())] if drawn else [])
                       + [(k, pa.float64()) for k in drawn] + list(types.items()))
    events = EventRecord(folder)
    traj_writer = None
    failures = []
    point_rows, series_rows, headline = [], [], {}
    runs_tmp = folder / ".runs.parquet.tmp"
    by_point: dict[tuple[int, int], list] = {}
    for spec in plan.chunks():
        by_point.setdefault((spec.scenario, spec.point), []).append(spec)
    series_tmp = folder / ".series.parquet.tmp"
    with pq.ParquetWriter(runs_tmp, schema) as runs_file, pq.ParquetWriter(series_tmp, SERIES_SCHEMA) as series_file:
        writer, series_writer = Grouped(runs_file), Grouped(series_file)
        for s, planned in enumerate(plan.scenarios):
            for p, scenario in enumerate(planned.points):
                specs = by_point[(s, p)]
                results = [load_chunk(chunks / f"{c.name}.npz") for c in specs]
                for spec, result in zip(specs, results):
                    failures += [(planned.name, p, k, planned.seed, tb) for k, tb in result.failures]
                    writer.add(_runs_table(schema, planned.name, p, plan.points[p], result, types, plan.uncertainty))
                    events.add(planned.name, p, scenario, result)
                    if result.trajectories is not None:
                        traj_writer = _write_trajectories(traj_writer, folder, planned.name, p, scenario, result)
                summary = _point_summaries(scenario, results, plan.uncertainty)
                if p == 0:
                    headline[planned.name] = summary
                    _write_network(folder, s, planned.name, results)
                point_rows += _point_rows(planned.name, p, plan.points[p], swept, summary)
                table = _series_table(planned.name, p, scenario, results)
                if table is not None:
                    series_writer.add(table)
                    if p == 0:
                        series_rows += _series_csv_rows(table)
        writer.flush()
        series_writer.flush()
    runs_tmp.replace(folder / "runs.parquet")
    series_tmp.replace(folder / "series.parquet")
    events.close()
    if traj_writer is not None:
        traj_writer.close()
        (folder / ".trajectories.parquet.tmp").replace(folder / "trajectories.parquet")
    atomic.write_csv(folder / "points.csv", ["scenario", "point"] + swept + [
        "outcome", "kind", "n", "probability", "ci95_low", "ci95_high", "mean", "sd", "mean_ci95_low",
        "mean_ci95_high"] + QCOLS + ["median_date"], point_rows)
    atomic.write_csv(folder / "series.csv", SERIES_COLUMNS, series_rows)
    failures_path = folder / "failures.csv"
    if failures:
        atomic.write_csv(failures_path, ["scenario", "point", "replication", "seed", "traceback"], failures)
    elif failures_path.exists():
        failures_path.unlink()
    return headline, failures


class EventRecord:
    """events.parquet: for each replication, the first step and the number of firings of every event that
    fired in it (an event with no row never fired in that replication), so that outcomes can be explained
    by what happened on the way (`sim discover`)."""

    SCHEMA = pa.schema([("scenario", pa.string()), ("point", pa.int32()), ("replication", pa.int64()),
                        ("event", pa.string()), ("first_step", pa.int32()), ("count", pa.int32())])

    def __init__(self, folder: Path):
        self.folder = folder
        self.tmp = folder / ".events.parquet.tmp"
        self.writer = Grouped(pq.ParquetWriter(self.tmp, self.SCHEMA))

    def add(self, name: str, point: int, scenario, result) -> None:
        if result.fired_count is None or not len(result.replications):
            return
        rows, cols = np.nonzero(result.fired_count)
        ids = np.array([e.id for e in scenario.events], dtype=object)
        self.writer.add(pa.table({
            "scenario": pa.array([name] * len(rows), pa.string()), "point": pa.array(np.full(len(rows), point, np.int32)),
            "replication": pa.array(result.replications[rows].astype(np.int64)),
            "event": pa.array(ids[cols].tolist(), pa.string()),
            "first_step": pa.array(result.first_fired[rows, cols].astype(np.int32)),
            "count": pa.array(result.fired_count[rows, cols].astype(np.int32))}, schema=self.SCHEMA))

    def close(self) -> None:
        self.writer.close()
        self.tmp.replace(self.folder / "events.parquet")


class Grouped:
    """A Parquet writer fed small tables (one per chunk or point), written in row groups of ROW_GROUP rows:
    a row group per small table made a sweep of 200 points spend half a second in Parquet's per-group work."""

    def __init__(self, writer: pq.ParquetWriter):
        self.writer, self.pending, self.rows = writer, [], 0

    def add(self, table: pa.Table) -> None:
        self.pending.append(table)
        self.rows += table.num_rows
        if self.rows >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.writer.write_table(pa.concat_tables(self.pending))
        self.pending, self.rows = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def network_file(folder: Path, index: int, name: str) -> Path:
    return atomic.inside(Path(folder), "network", f"{index:03d}-{name}.json")


def _write_network(folder: Path, index: int, name: str, results) -> None:
    """network/<i>-<scenario>.json: the alignment network of point 0, summed over every chunk."""
    records = [r.network for r in results if r.network is not None]
    if not records:
        return
    merged = records[0]
    for record in records[1:]:
        merged = merged.merge(record)
    path = network_file(folder, index, name)
    path.parent.mkdir(exist_ok=True)
    atomic.write_json(path, network_to_json(merged))


def _runs_table(schema, name, point, values, result, types, uncertainty=None) -> pa.Table:
    n = len(result.replications)
    columns = {"scenario": pa.array([name] * n, pa.string()), "point": pa.array(np.full(n, point, np.int32))}
    for key in values:
        columns[key] = pa.array(np.full(n, float(values[key])))
    columns["replication"] = pa.array(result.replications.astype(np.int64))
    if uncertainty:
        columns["draw"] = pa.array(draw_ids(uncertainty, result.replications))
        for key in uncertainty.names:
            columns[f"parameters.{key}"] = pa.array(np.asarray(result.drawn.get(key, np.full(n, np.nan)),
                                                               dtype=np.float64))
    for key, kind in types.items():
        if key in result.outcomes:
            data = result.outcomes[key]
            mask = np.isnan(data) if data.dtype.kind == "f" else None
            columns[key] = pa.array(data.astype(bool) if kind == pa.bool_() else data.astype(np.float64), kind,
                                    mask=mask)
        else:
            columns[key] = pa.nulls(n, kind)
    return pa.table(columns, schema=schema)


def _point_summaries(scenario, results, uncertainty=None) -> dict[str, OutcomeSummary]:
    summary = {}
    draws = (np.concatenate([draw_ids(uncertainty, r.replications) for r in results]) if uncertainty else None)
    for outcome in scenario.outcomes:
        values = np.concatenate([r.outcomes[outcome.id] for r in results if outcome.id in r.outcomes] or [[]])
        if len(values):
            summary[outcome.id] = summarise_outcome(outcome, values, scenario.dates, draws)
    return summary


def _fmt(x) -> str:
    return "" if x is None else f"{x:.6g}"


def _point_rows(name, point, values, swept, summary):
    rows = []
    for outcome, s in summary.items():
        q = s.quantiles or s.step_quantiles or {}
        ci = s.ci95 or (None, None)
        mci = s.mean_ci95 or (None, None)
        rows.append([name, point] + [_fmt(values[k]) for k in swept] + [
            outcome, s.kind, s.n, _fmt(s.probability), _fmt(ci[0]), _fmt(ci[1]), _fmt(s.mean),
            _fmt(s.sd), _fmt(mci[0]), _fmt(mci[1])] + [_fmt(q.get(c)) for c in QCOLS]
            + [(s.date_quantiles or {}).get("q50", "")])
    return rows


def _series_table(name, point, scenario, results):
    """The point's series as a table, built by columns (a sweep has millions of rows): for each step and tracked
    series, the mean over every replication of the point, then the quantile bands from its first chunk."""
    done = [r for r in results if r.series_sum is not None]
    if not done:
        return None
    series = series_of(scenario)
    count = sum(len(r.replications) for r in done)
    mean = sum(r.series_sum for r in done) / count                    # (T + 1, S)
    bands = next((r.stats for r in results if r.stats is not None), None)  # (T + 1, 6, S)
    stats = ("mean",) + (tuple(STATISTICS[1:]) if bands is not None else ())
    values = mean[:, None, :] if bands is None else np.concatenate([mean[:, None, :], bands[:, 1:, :]], axis=1)
    steps, k, n = values.shape  # rows in the order step, series, statistic (as the CSV always had them)
    values = values.transpose(0, 2, 1).reshape(-1)
    step = np.repeat(np.arange(steps, dtype=np.int32), n * k)
    column = np.tile(np.repeat(np.arange(n), k), steps)
    statistic = np.tile(np.arange(k), steps * n)
    dates = [d.isoformat() for d in scenario.dates]
    columns = {
        "scenario": _strings([name], np.zeros(len(values), dtype=np.int32)),
        "point": pa.array(np.full(len(values), point, dtype=np.int32)), "step": pa.array(step),
        "date": _strings(dates, step), "quantity": _strings([x.quantity for x in series], column),
        "source": _strings([x.source for x in series], column), "target": _strings([x.target for x in series], column),
        "statistic": _strings(list(stats), statistic), "value": pa.array(values, pa.float64())}
    return pa.table(columns, schema=SERIES_SCHEMA)


def _strings(words: list[str], indices: np.ndarray):
    """words[indices] as an Arrow string column, without a Python loop over the rows."""
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, dtype=np.int32)),
                                          pa.array(words, pa.string())).cast(pa.string())


def _series_csv_rows(table) -> list[tuple]:
    """series.csv rows of a series table: values with 6 significant digits."""
    columns = [table.column(name).to_pylist() for name in SERIES_COLUMNS]
    columns[-1] = [f"{v:.6g}" for v in columns[-1]]
    return list(zip(*columns))


def _write_trajectories(writer, folder, name, point, scenario, result):
    series = series_of(scenario)
    traj = result.trajectories  # (steps + 1, R, S)
    steps, reps, count = traj.shape
    rep_ids = result.replications
    table = pa.table({
        "scenario": pa.array([name] * traj.size, pa.string()),
        "point": pa.array(np.full(traj.size, point, np.int32)),
        "replication": pa.array(np.broadcast_to(rep_ids[None, :, None], traj.shape).ravel().astype(np.int64)),
        "step": pa.array(np.broadcast_to(np.arange(steps)[:, None, None], traj.shape).ravel().astype(np.int32)),
        "quantity": pa.array(np.broadcast_to(np.array([s.quantity for s in series])[None, None, :], traj.shape).ravel()),
        "source": pa.array(np.broadcast_to(np.array([s.source for s in series])[None, None, :], traj.shape).ravel()),
        "target": pa.array(np.broadcast_to(np.array([s.target for s in series])[None, None, :], traj.shape).ravel()),
        "value": pa.array(traj.ravel()),
    })
    if writer is None:
        writer = pq.ParquetWriter(folder / ".trajectories.parquet.tmp", table.schema)
    writer.write_table(table)
    return writer

