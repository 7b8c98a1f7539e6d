"""`sim batch` and `sim.run_batch`: plan (or reload) a batch, run what is missing, write the outputs.

Above the layers it drives: it is handed a typed BatchRequest (from the command line or the Python API)
and says what happens through two callables, so that the command line prints and Python stays quiet.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sim.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, SimError
from sim.experiment.batch import (
    batch_lock,
    finish_manifest,
    missing_chunks,
    progress_bar,
    run_batch,
    start_batch,
)
from sim.experiment.batch_plan import DEFAULT_CHUNK, load_plan, make_plan
from sim.experiment.estimate import check_fits, estimate_batch
from sim.experiment.executors import make_executor
from sim.experiment.stats import missing_warnings, outcome_table, side_by_side
from sim.experiment.summaries import OutcomeSummary
from sim.experiment.sweep import load_sweep, sweep_raw
from sim.scenario.limits import check_reps_seed


def _stderr(text: str) -> None:
    print(text, file=sys.stderr)


@dataclass(frozen=True)
class BatchRequest:
    """What a batch is asked to do: `sim batch`'s options, typed (docs in `sim batch --help`)."""
    scenarios: tuple[Path, ...] = ()
    sweep: Path | None = None
    reps: int | None = None
    seed: int | None = None
    jobs: int | None = None
    executor: str = "process"
    scheduler: str | None = None
    chunk_size: int | None = None
    keep_trajectories: bool = False
    out: Path = Path("results")
    resume: Path | None = None
    overrides: tuple[str, ...] = ()
    uncertainty: Path | None = None
    per_draw: int = 20
    force: bool = False
    progress: bool = True  # a progress bar on the terminal


@dataclass(frozen=True)
class BatchOutcome:
    """How a batch ended: its folder, the exit status (0 done; 1 stopped on an error, or done with some
    replications failed; 130 interrupted), and, when done, point 0's summaries per scenario and the failed
    replications as (scenario, point, replication, seed, traceback)."""
    folder: Path
    status: int
    headline: dict[str, dict[str, OutcomeSummary]] = field(default_factory=dict)
    failures: tuple[tuple[str, int, int, int, str], ...] = ()

    @property
    def complete(self) -> bool:
        return self.status != EXIT_INTERRUPTED and bool(self.headline)


def launch_batch(request: BatchRequest, say: Callable[[str], None] = print,
                 warn: Callable[[str], None] = _stderr) -> BatchOutcome:
    """Plan (or reload) and run a batch; `say` gets the results for the reader, `warn` notices and warnings."""
    if request.scheduler and request.executor != "dask":
        raise SimError("--scheduler is the address of a Dask scheduler: use it with --executor dask")
    check_reps_seed(request.reps, request.seed)
    if request.chunk_size is not None and request.chunk_size < 1:
        raise SimError(f"--chunk-size must be at least 1, found {request.chunk_size}")
    executor = make_executor(request.executor, request.jobs, request.scheduler)
    if request.resume:
        fixed = [name for name, given in (("scenarios", request.scenarios), ("--sweep", request.sweep), ("--reps", request.reps),
                                          ("--seed", request.seed), ("--keep-trajectories", request.keep_trajectories),
                                          ("--chunk-size", request.chunk_size), ("--set", request.overrides),
                                          ("--uncertainty", request.uncertainty)) if given]
        if fixed:
            raise SimError(f"--resume continues the batch as planned; {', '.join(fixed)} cannot change")
        plan, _ = load_plan(request.resume)
        folder = request.resume
    else:
        if not request.scenarios:
            raise SimError("give one or more scenario files (or --resume BATCH_DIR)")
        sweep = load_sweep(request.sweep) if request.sweep else None
        uncertainty = None
        if request.uncertainty:
            from sim.analysis.uncertainty_file import load_uncertainty

            for file in request.scenarios:  # the same parameters are drawn in every scenario: each must have them
                uncertainty = load_uncertainty(request.uncertainty, file, request.per_draw, request.overrides)
        plan = make_plan(request.scenarios, sweep, request.reps, request.seed, request.chunk_size or DEFAULT_CHUNK,
                         request.keep_trajectories, uncertainty, request.overrides, request.force)
        estimate = estimate_batch([(p.points[0], p.replications, len(plan.points)) for p in plan.scenarios],
                                  plan.chunk_size, executor.workers)
        check_fits(estimate, f"{plan.total_replications:,} replications", "use fewer replications or scenarios per "
                   "batch (several batches compare as one)", request.force, warn)
        folder = start_batch(plan, request.out, request.executor, sweep_raw(sweep) if sweep else None)
    try:
        with batch_lock(folder):
            return _run(plan, folder, executor, request, say, warn)
    except (SimError, OSError):
        if not request.resume and not any((folder / "chunks").glob("*.npz")):  # nothing ran: leave no empty batch
            shutil.rmtree(folder, ignore_errors=True)
        raise


def _record_stop(folder, error: BaseException, plan, clock: float, workers: int, stage: str = "") -> None:
    """Say in the manifest why the batch stopped, if the disk still lets us (its status is "incomplete" anyway)."""
    from sim.experiment.batch import BatchReport

    done = len(plan.chunks()) - len(missing_chunks(plan, folder))
    report = BatchReport(folder, len(plan.chunks()), done, interrupted=isinstance(error, KeyboardInterrupt),
                         error=None if isinstance(error, KeyboardInterrupt) else f"{stage}{type(error).__name__}: {error}")
    with contextlib.suppress(OSError):
        finish_manifest(folder, report, time.perf_counter() - clock, workers)


def _run(plan, folder, executor, request: BatchRequest, say, warn) -> BatchOutcome:
    todo = missing_chunks(plan, folder, warn=warn)
    done_reps = plan.total_replications - sum(c.size for c in todo)
    warn(f"{folder}: {len(plan.scenarios)} scenario(s) x {len(plan.points)} point(s), "
         f"{plan.total_replications:,} replications in {len(plan.chunks())} chunks; {len(todo)} chunk(s) to run")
    clock = time.perf_counter()
    with progress_bar(plan.total_replications, done_reps, not request.progress) as bar:
        try:
            report = run_batch(plan, folder, executor, bar, todo)
        except (SimError, OSError) as error:
            _record_stop(folder, error, plan, clock, executor.workers)
            raise
    seconds = time.perf_counter() - clock
    if not report.complete:
        finish_manifest(folder, report, seconds, executor.workers)
        why = "interrupted" if report.interrupted else f"stopped: {report.error}"
        warn(f"{why}; {report.chunks_done} of {report.chunks_total} chunks are saved.\n"
             f"finish it with: sim batch --resume {folder}")
        return BatchOutcome(folder, EXIT_INTERRUPTED if report.interrupted else EXIT_FAILED)
    from sim.experiment.batch_outputs import write_outputs  # pyarrow only once there is something to write

    try:
        headline, failures = write_outputs(plan, folder)
    except BaseException as error:  # a full disk, Ctrl-C: the chunks are safe; say so in the manifest
        _record_stop(folder, error, plan, clock, executor.workers, "writing the outputs: ")
        raise
    report.failures = failures
    finish_manifest(folder, report, seconds, executor.workers)
    for name, summary in headline.items():
        for warning in missing_warnings(summary, f"{name}: " if len(headline) > 1 else ""):
            warn(warning)
    ran = sum(c.size for c in todo) - len(failures)
    if ran:
        say(f"ran {ran:,} replications in {seconds:.1f} s ({ran / seconds:,.0f}/s) on {executor.workers} worker(s)")
    if len(plan.points) == 1:
        say(outcome_table(next(iter(headline.values()))) if len(headline) == 1 else side_by_side(headline))
        say("intervals: Monte Carlo error" + (" of the runs and of the parameter draws" if plan.uncertainty else
                                              " only, parameters fixed (--uncertainty adds their spread)"))
    else:
        say(f"{len(plan.points)} sweep points per scenario: outcomes per point in {folder}/points.csv")
    if failures:
        warn(f"\n{len(failures)} replication(s) failed (details in {folder}/failures.csv):")
        for name, point, rep, seed, tb in failures[:10]:
            warn(f"  {name} point {point} replication {rep} seed {seed}: {tb.strip().splitlines()[-1]}")
        if len(failures) > 10:
            warn(f"  ... and {len(failures) - 10} more")
    say(f"results in {folder}/")
    return BatchOutcome(folder, EXIT_FAILED if failures else EXIT_OK, headline, tuple(failures))
