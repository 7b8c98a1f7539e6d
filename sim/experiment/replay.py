"""Re-run one replication of a recorded run alone, with everything tracked."""

from __future__ import annotations

import csv
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from sim.errors import RunFolderError
from sim.experiment import atomic
from sim.experiment.run_folder import EVENT_COLUMNS, event_rows, write_trajectories
from sim.model.model import RunResult, run_scenario
from sim.scenario.loader import load_scenario
from sim.scenario.schema import Scenario, Tracking


@dataclass(frozen=True)
class Replay:
    result: RunResult
    folder: Path
    events: list[tuple]
    matches_batch: bool | None  # None when the batch kept no record of that replication


def track_everything(scenario: Scenario) -> Scenario:
    ids = scenario.actor_ids
    tracking = Tracking(
        relations=tuple((a, b) for a in ids for b in ids if a != b) + tuple(
            (a, b.id) for a in ids for b in scenario.blocs),
        attributes=tuple((a, name) for a in ids for name in scenario.attribute_names),
        presence=tuple(range(len(scenario.presence))), camps=scenario.tracking.camps)
    return dataclasses.replace(scenario, tracking=tracking)


def load_run_manifest(run_dir: Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise RunFolderError(f"{run_dir}: not a run folder (no manifest.json)")
    manifest = json.loads(path.read_text())
    if "batch_id" in manifest:
        raise RunFolderError(f"{run_dir} is a batch folder; `sim replay` takes a run folder of `sim run` "
                             "(results/<scenario>/<run-id>/)")
    return manifest


def replay(run_dir: Path, replication: int) -> Replay:
    run_dir = Path(run_dir)
    manifest = load_run_manifest(run_dir)
    if not 0 <= replication < manifest["replications"]:
        raise RunFolderError(f"{run_dir}: replication {replication} is outside this run "
                             f"(0..{manifest['replications'] - 1})")
    if manifest.get("uncertainty"):
        raise RunFolderError(f"{run_dir}: this run drew parameter values per replication (--uncertainty); replay "
                             "re-runs with the scenario's own values, so it cannot reproduce it (not supported)")
    scenario = load_scenario(run_dir / "scenario.toml")
    if scenario.content_hash != manifest["scenario_hash"]:
        raise RunFolderError(f"{run_dir}/scenario.toml does not match the manifest's scenario hash")
    result = run_scenario(track_everything(scenario), seed=manifest["seed"], replications=[replication],
                          keep_trajectories=True)
    out = run_dir / "replays" / f"replication-{replication}"
    out.mkdir(parents=True, exist_ok=True)
    write_trajectories(out / "trajectory.csv", result)
    rows = event_rows(result)
    atomic.write_csv(out / "events.csv", EVENT_COLUMNS, rows)
    return Replay(result, out, rows, _matches(run_dir, replication, rows))


def _matches(run_dir: Path, replication: int, rows: list[tuple]) -> bool | None:
    """Whether the run's own event log (events.parquet or events.csv) holds exactly these rows for the
    replication; None when the run kept no event log."""
    mine = [tuple(str(x) for x in row) for row in rows]
    if (run_dir / "events.parquet").is_file():
        import pyarrow.parquet as pq

        table = pq.read_table(run_dir / "events.parquet", filters=[("replication", "=", replication)])
        columns = [table.column(name).to_pylist() for name in EVENT_COLUMNS]
        return [tuple(str(v) for v in row) for row in zip(*columns)] == mine
    if (run_dir / "events.csv").is_file():
        with (run_dir / "events.csv").open(newline="") as handle:
            recorded = [tuple(r) for r in csv.reader(handle)][1:]
        return [r for r in recorded if r[0] == str(replication)] == mine
    return None
