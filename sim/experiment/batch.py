"""Run a batch plan chunk by chunk into results/batch-<id>/, resume it, and assemble the results.

Every finished chunk is saved at once (atomically) under chunks/; the tidy outputs are built
from the chunk files in plan order, so they are the same whatever ran the chunks, in what order,
and across interruptions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import RunFolderError, SimError
from sim.experiment import atomic
from sim.experiment.batch_plan import BatchPlan, save_plan
from sim.experiment.chunks import BadChunk, ChunkSpec, check_chunk, run_chunk, save_chunk
from sim.experiment.executors import ProcessExecutor, WorkerDied
from sim.experiment.packs import PackSpec, pack, run_item
from sim.experiment.run_folder import package_versions

LOCK = "batch.lock"
STARTED = ".started"  # chunks/<name>.started: begun and not saved; left behind, the process died running it


@dataclass
class BatchReport:
    folder: Path
    chunks_total: int
    chunks_done: int = 0
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
    # "incomplete" until the batch finishes: a process that dies without a word (SIGKILL, a full disk) leaves the
    # truth on disk, never a "running" that nothing runs
    manifest = {"batch_id": folder.name, "status": "incomplete", "command": sys.argv, "versions": package_versions(),
                "executor": executor_name, "started": now.isoformat(timespec="seconds"),
                "sweep": sweep} | save_plan(plan, folder)
    atomic.write_json(folder / "manifest.json", manifest)
    return folder


@contextlib.contextmanager
def batch_lock(folder: Path):
    """Hold the batch folder for this process: a second `sim batch --resume` on it is refused, not let loose
    on the same chunks. The kernel releases the lock when the process dies, however it dies."""
    path = Path(folder) / LOCK
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise RunFolderError(f"{folder}: another `sim batch` ({holder}) is running this batch; wait for it to "
                                 "finish (or stop it) before resuming") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        yield
    finally:
        handle.close()


def missing_chunks(plan: BatchPlan, folder: Path, warn=None) -> list[ChunkSpec]:
    """Chunks without a trustworthy file. A damaged, edited or swapped file is run again, with a warning."""
    todo = []
    for spec in plan.chunks():
        path = folder / "chunks" / f"{spec.name}.npz"
        try:
            check_chunk(path, spec)
        except BadChunk as why:
            if path.exists() and warn is not None:
                warn(f"warning: chunks/{path.name}: {why}; running it again")
            todo.append(spec)
    return todo


def run_batch(plan: BatchPlan, folder: Path, executor, progress=None, todo=None, packing: bool = True) -> BatchReport:
    """Run every chunk not yet on disk; save each as it finishes. Never loses a finished chunk. A chunk whose
    replications kill their process is isolated: those are recorded as failures and the rest is saved. Small
    chunks of a sweep over parameters run together in packs (packs.py); the files are the same."""
    todo = missing_chunks(plan, folder) if todo is None else todo
    report = BatchReport(folder, len(plan.chunks()), len(plan.chunks()) - len(todo))
    chunks = folder / "chunks"
    died = {spec.name for spec in todo if (chunks / f"{spec.name}{STARTED}").exists()}
    suspects = [spec for spec in todo if spec.name in died]
    todo = [spec for spec in todo if spec.name not in died]
    try:
        for spec in suspects:  # the process died in these last time: run each in a worker of its own
            _save(chunks, spec, isolate(spec), report, progress)
        with executor:
            def started(item) -> None:  # handed to a worker: if the batch dies now, these chunks are suspects
                for spec in _specs(item):
                    (chunks / f"{spec.name}{STARTED}").touch()

            items = pack(todo, plan) if packing else todo
            for item, result in executor.run(run_item, items, on_submit=started):
                if isinstance(result, WorkerDied):
                    done = [(spec, isolate(spec)) for spec in _specs(item)]
                else:
                    done = list(zip(item.specs, result)) if isinstance(item, PackSpec) else [(item, result)]
                for spec, chunk in done:
                    _save(chunks, spec, chunk, report, progress)
    except KeyboardInterrupt:
        report.interrupted = True
    except (SimError, OSError):  # the user's to fix (a scheduler that does not answer, a full disk): exit 2
        _forget_started(chunks)
        raise
    except Exception as error:  # the cluster went away: keep what finished
        report.error = f"{type(error).__name__}: {error}"
    _forget_started(chunks)
    return report


def _specs(item) -> tuple[ChunkSpec, ...]:
    return item.specs if isinstance(item, PackSpec) else (item,)


def _forget_started(chunks: Path) -> None:
    """Alive to see them stop: these chunks were interrupted, they did not kill the process."""
    for marker in chunks.glob(f"*{STARTED}"):
        marker.unlink(missing_ok=True)


def _save(chunks: Path, spec: ChunkSpec, result, report: BatchReport, progress) -> None:
    save_chunk(chunks, spec, result)
    (chunks / f"{spec.name}{STARTED}").unlink(missing_ok=True)
    report.chunks_done += 1
    if progress is not None:
        progress.update(spec.size)


def isolate(spec: ChunkSpec):
    """Run spec in a worker process of its own, halving its range to find the replications that kill the
    process; they are skipped (recorded as failures with why) and the chunk's other replications run. If
    the parts run alone but not together (memory?), every replication of the chunk is recorded as failed."""
    killers: list[int] = []
    with ProcessExecutor(1) as worker:  # (an exception here, SIGTERM included, terminates the worker)

        def search(first: int, stop: int) -> None:
            part = dataclasses.replace(spec, first=first, stop=stop, keep_trajectories=False)
            if not isinstance(worker.run_one(run_chunk, part), WorkerDied):
                return
            if stop - first == 1:
                killers.append(first)
                return
            middle = (first + stop) // 2
            search(first, middle)
            search(middle, stop)

        search(spec.first, spec.stop)
        skip = tuple((k, f"replication {k}: {WorkerDied().message}") for k in killers)
        result = worker.run_one(run_chunk, dataclasses.replace(spec, skip=skip))
    if isinstance(result, WorkerDied):
        why = ("the process died running this chunk's replications together, though every part ran alone "
               "(out of memory?)")
        everything = dict(skip) | {k: f"replication {k}: {why}" for k in range(spec.first, spec.stop)
                                   if k not in killers}
        result = run_chunk(dataclasses.replace(spec, skip=tuple(sorted(everything.items()))))  # runs nothing
    return result


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



def progress_bar(total: int, initial: int, quiet: bool):
    """A progress bar of replications on stderr (none when quiet or when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="rep", unit_scale=True, file=sys.stderr, dynamic_ncols=True,
                disable=quiet or not sys.stderr.isatty(), desc="replications")
