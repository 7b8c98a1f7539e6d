"""Run a batch plan chunk by chunk into results/batch-<id>/, resume it, and assemble the results.

Every finished chunk is saved at once (atomically) under chunks/; the tidy outputs are built
from the chunk files in plan order, so they are the same whatever ran the chunks, in what order,
and across interruptions.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sim.experiment import atomic
from sim.experiment.batch_plan import BatchPlan, save_plan
from sim.experiment.chunks import ChunkSpec, run_chunk, save_chunk
from sim.experiment.run_folder import package_versions


@dataclass
class BatchReport:
    folder: Path
    chunks_total: int
    chunks_done: int = 0
    replications_done: int = 0
    failures: list[tuple[str, int, int, int, str]] = field(default_factory=list)  # scenario, point, rep, seed, tb
    error: str | None = None
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return self.chunks_done == self.chunks_total and not self.error and not self.interrupted


def new_batch_folder(root: Path, plan: BatchPlan, now: dt.datetime) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    folder = root / f"batch-{now:%Y%m%d-%H%M%S}-{plan.digest()[:6]}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"batch-{now:%Y%m%d-%H%M%S}-{plan.digest()[:6]}-{suffix}"
    (folder / "chunks").mkdir(parents=True)
    return folder


def start_batch(plan: BatchPlan, root: Path, executor_name: str, sweep: dict | None = None) -> Path:
    now = dt.datetime.now().astimezone()
    folder = new_batch_folder(Path(root), plan, now)
    manifest = {"batch_id": folder.name, "status": "running", "command": sys.argv, "versions": package_versions(),
                "executor": executor_name, "started": now.isoformat(timespec="seconds"),
                "sweep": sweep} | save_plan(plan, folder)
    atomic.write_json(folder / "manifest.json", manifest)
    return folder


def missing_chunks(plan: BatchPlan, folder: Path) -> list[ChunkSpec]:
    """Chunks without a readable file (an unreadable one, e.g. damaged by hand, is run again)."""
    import zipfile

    return [spec for spec in plan.chunks() if not zipfile.is_zipfile(folder / "chunks" / f"{spec.name}.npz")]


def run_batch(plan: BatchPlan, folder: Path, executor, progress=None) -> BatchReport:
    """Run every chunk not yet on disk; save each as it finishes. Never loses a finished chunk."""
    todo = missing_chunks(plan, folder)
    report = BatchReport(folder, len(plan.chunks()), len(plan.chunks()) - len(todo))
    try:
        with executor:
            for spec, result in executor.run(run_chunk, todo):
                save_chunk(folder / "chunks", spec, result)
                report.chunks_done += 1
                report.replications_done += spec.size
                if progress is not None:
                    progress.update(spec.size)
    except KeyboardInterrupt:
        report.interrupted = True
    except Exception as error:  # a worker died or the cluster went away: keep what finished
        report.error = f"{type(error).__name__}: {error}"
    return report


def finish_manifest(folder: Path, report: BatchReport, seconds: float, workers: int) -> None:
    import json

    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    status = ("complete" if report.complete and not report.failures else
              "complete with failures" if report.complete else "interrupted" if report.interrupted else "incomplete")
    manifest.update({"status": status, "finished": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                     "seconds_this_session": round(seconds, 3), "workers_this_session": workers,
                     "chunks_done": report.chunks_done,
                     "failures": len(report.failures)})
    if report.error:
        manifest["error"] = report.error
    atomic.write_json(path, manifest)

