"""`sim batch`: plan (or reload) a batch, run what is missing with a progress bar, write outputs. Part of the
command line (it parses arguments and prints), above the layers it drives."""

from __future__ import annotations

import contextlib
import shutil
import sys
import time

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
from sim.experiment.sweep import load_sweep, sweep_raw
from sim.scenario.schema import check_reps_seed


def launch_batch(args) -> int:
    if args.scheduler and args.executor != "dask":
        raise SimError("--scheduler is the address of a Dask scheduler: use it with --executor dask")
    check_reps_seed(args.reps, args.seed)
    if args.chunk_size is not None and args.chunk_size < 1:
        raise SimError(f"--chunk-size must be at least 1, found {args.chunk_size}")
    executor = make_executor(args.executor, args.jobs, args.scheduler)
    if args.resume:
        fixed = [name for name, given in (("scenarios", args.scenarios), ("--sweep", args.sweep), ("--reps", args.reps),
                                          ("--seed", args.seed), ("--keep-trajectories", args.keep_trajectories),
                                          ("--chunk-size", args.chunk_size), ("--set", args.overrides),
                                          ("--uncertainty", args.uncertainty)) if given]
        if fixed:
            raise SimError(f"--resume continues the batch as planned; {', '.join(fixed)} cannot change")
        plan, _ = load_plan(args.resume)
        folder = args.resume
    else:
        if not args.scenarios:
            raise SimError("give one or more scenario files (or --resume BATCH_DIR)")
        sweep = load_sweep(args.sweep) if args.sweep else None
        uncertainty = None
        if args.uncertainty:
            from sim.analysis.uncertainty_file import load_uncertainty

            for file in args.scenarios:  # the same parameters are drawn in every scenario: each must have them
                uncertainty = load_uncertainty(args.uncertainty, file, args.per_draw, args.overrides)
        plan = make_plan(args.scenarios, sweep, args.reps, args.seed, args.chunk_size or DEFAULT_CHUNK,
                         args.keep_trajectories, uncertainty, args.overrides, args.force)
        estimate = estimate_batch([(p.points[0], p.replications, len(plan.points)) for p in plan.scenarios],
                                  plan.chunk_size, executor.workers)
        check_fits(estimate, f"{plan.total_replications:,} replications", "use fewer replications or scenarios per "
                   "batch (several batches compare as one)", args.force, lambda text: print(text, file=sys.stderr))
        folder = start_batch(plan, args.out, args.executor, sweep_raw(sweep) if sweep else None)
    try:
        with batch_lock(folder):
            return _run(plan, folder, executor, args)
    except (SimError, OSError):
        if not args.resume and not any((folder / "chunks").glob("*.npz")):  # nothing ran: leave no empty batch
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


def _run(plan, folder, executor, args) -> int:
    todo = missing_chunks(plan, folder, warn=lambda text: print(text, file=sys.stderr))
    done_reps = plan.total_replications - sum(c.size for c in todo)
    print(f"{folder}: {len(plan.scenarios)} scenario(s) x {len(plan.points)} point(s), "
          f"{plan.total_replications:,} replications in {len(plan.chunks())} chunks; "
          f"{len(todo)} chunk(s) to run", file=sys.stderr)
    clock = time.perf_counter()
    with progress_bar(plan.total_replications, done_reps, args.quiet) as bar:
        try:
            report = run_batch(plan, folder, executor, bar, todo)
        except (SimError, OSError) as error:
            _record_stop(folder, error, plan, clock, executor.workers)
            raise
    seconds = time.perf_counter() - clock
    if not report.complete:
        finish_manifest(folder, report, seconds, executor.workers)
        why = "interrupted" if report.interrupted else f"stopped: {report.error}"
        print(f"{why}; {report.chunks_done} of {report.chunks_total} chunks are saved.\n"
              f"finish it with: sim batch --resume {folder}", file=sys.stderr)
        return EXIT_INTERRUPTED if report.interrupted else EXIT_FAILED
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
            print(warning, file=sys.stderr)
    ran = sum(c.size for c in todo) - len(failures)
    if ran:
        print(f"ran {ran:,} replications in {seconds:.1f} s ({ran / seconds:,.0f}/s) on {executor.workers} worker(s)")
    if len(plan.points) == 1:
        print(outcome_table(next(iter(headline.values()))) if len(headline) == 1 else side_by_side(headline))
        print("intervals: Monte Carlo error" + (" of the runs and of the parameter draws" if plan.uncertainty else
                                                " only, parameters fixed (--uncertainty adds their spread)"))
    else:
        print(f"{len(plan.points)} sweep points per scenario: outcomes per point in {folder}/points.csv")
    if failures:
        print(f"\n{len(failures)} replication(s) failed (details in {folder}/failures.csv):", file=sys.stderr)
        for name, point, rep, seed, tb in failures[:10]:
            print(f"  {name} point {point} replication {rep} seed {seed}: {tb.strip().splitlines()[-1]}",
                  file=sys.stderr)
        if len(failures) > 10:
            print(f"  ... and {len(failures) - 10} more", file=sys.stderr)
    print(f"results in {folder}/")
    return EXIT_FAILED if failures else EXIT_OK
