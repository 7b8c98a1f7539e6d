"""What `sim compare` reads from batch folders: per scenario its runs, series, points and scenario."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.errors import RunFolderError
from sim.experiment.batch_outputs import network_file
from sim.experiment.batch_plan import load_plan
from sim.model.network import NetworkRecord, network_from_json
from sim.scenario.schema import Scenario


@dataclass
class ScenarioResults:
    label: str                           # unique display name
    name: str
    batch: Path
    seed: int
    scenario: Scenario                   # at point 0
    document: dict                       # the resolved scenario before sweep values
    replications: np.ndarray             # point 0
    outcomes: dict[str, np.ndarray]      # point 0, outcome -> (R,) (bool or float with NaN)
    series: dict[tuple[str, str, str], dict[str, np.ndarray]]   # point 0: (quantity, source, target) -> stat -> (steps+1,)
    swept: list[str]                     # swept keys ([] without a sweep)
    point_rows: list[dict]               # points.csv rows of this scenario
    network: NetworkRecord | None = None  # point 0's alignment network (network/<i>-<name>.json)

    @property
    def is_sweep(self) -> bool:
        return bool(self.swept)

    def outcome_kind(self, outcome: str) -> str:
        found = next((o for o in self.scenario.outcomes if o.id == outcome), None)
        if found is None:
            return ""
        return "bool" if found.is_boolean else found.kind


def load_batches(folders: list[Path]) -> list[ScenarioResults]:
    import pyarrow.parquet as pq

    results = []
    for folder in folders:
        folder = Path(folder)
        if not (folder / "runs.parquet").is_file():
            raise RunFolderError(f"{folder}: not a finished batch folder (no runs.parquet); "
                                 "`sim compare` reads the output of `sim batch`")
        plan, manifest = load_plan(folder)
        table = pq.read_table(folder / "runs.parquet", filters=[("point", "=", 0)])
        points = list(csv.DictReader((folder / "points.csv").open()))
        series = _series(folder / "series.csv")
        for index, planned in enumerate(plan.scenarios):
            mine = table.filter(_equals(table, "scenario", planned.name))
            network_path = network_file(folder, index, planned.name)
            network = network_from_json(json.loads(network_path.read_text())) if network_path.is_file() else None
            outcomes = {}
            for o in planned.points[0].outcomes:
                column = mine.column(o.id)
                values = column.to_numpy(zero_copy_only=False)
                outcomes[o.id] = values.astype(bool) if o.is_boolean else values.astype(np.float64)
            results.append(ScenarioResults(
                planned.name, planned.name, folder, planned.seed, planned.points[0], planned.base.data,
                mine.column("replication").to_numpy(), outcomes, series.get(planned.name, {}),
                list(plan.points[0]) if len(plan.points) > 1 else [],
                [row for row in points if row["scenario"] == planned.name], network))
    names = [r.name for r in results]
    for r in results:
        if names.count(r.name) > 1:
            r.label = f"{r.name} ({r.batch.name})"
    return results


def _equals(table, column: str, value):
    import pyarrow.compute as pc

    return pc.equal(table.column(column), value)


def _series(path: Path) -> dict[str, dict]:
    """series.csv rows of point 0 -> scenario -> (quantity, source, target) -> statistic -> values by step."""
    acc: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row["point"] == "0":
                acc[row["scenario"]][(row["quantity"], row["source"], row["target"])][row["statistic"]].append(
                    float(row["value"]))
    return {s: {k: {stat: np.array(v) for stat, v in stats.items()} for k, stats in by.items()}
            for s, by in acc.items()}


def is_paired(a: ScenarioResults, b: ScenarioResults) -> bool:
    """Common random numbers: the same seed, so replication k of each used the same random streams
    (a replication that failed in one of them is left out of the pairs)."""
    return a.seed == b.seed and len(np.intersect1d(a.replications, b.replications)) >= 2


def aligned(a: ScenarioResults, b: ScenarioResults, outcome: str, paired: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both outcome arrays; when paired, only the replication ids both have, in the same order."""
    if not paired:
        return a.outcomes[outcome], b.outcomes[outcome]
    common = np.intersect1d(a.replications, b.replications)
    ia = np.argsort(a.replications)[np.searchsorted(np.sort(a.replications), common)]
    ib = np.argsort(b.replications)[np.searchsorted(np.sort(b.replications), common)]
    return a.outcomes[outcome][ia], b.outcomes[outcome][ib]


_ABSENT = "(absent)"


def _compact(value, limit: int = 100_000) -> str:
    """A TOML-like rendering of a value for the report: whole, up to a limit no real value reaches."""
    def render(v) -> str:
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {render(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(render(x) for x in v) + "]"
        if isinstance(v, str):
            return v if v == _ABSENT else f'"{v}"'
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return f"{v:.6g}"
        return str(v)

    text = render(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def scenario_changes(base: dict, variant: dict, prefix: str = "") -> list[tuple[str, str, str]]:
    """(key path, baseline value, variant value) for each value a variant changes, adds or removes;
    a table only one side has is one row. Names and descriptions are left out."""
    rows = []
    for key in list(base) + [k for k in variant if k not in base]:
        path = f"{prefix}.{key}" if prefix else str(key)
        if path in ("meta.name", "meta.description"):
            continue
        a, b = base.get(key, _ABSENT), variant.get(key, _ABSENT)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            rows += scenario_changes(a, b, path)
        else:
            rows.append((path, _compact(a), _compact(b)))
    return rows
