"""The `sim` command: a thin layer over library functions. Exit status: 0 ok, 1 runs failed, 2 bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sim.errors import ScenarioError, SimError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sim", description="Strategic scenario simulation engine.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check scenario files and print every problem found")
    p.add_argument("files", nargs="+", type=Path)

    p = sub.add_parser("run", help="run Monte Carlo replications of a scenario and write a results folder")
    p.add_argument("scenario", type=Path)
    p.add_argument("--reps", type=int, help="replications (default: the scenario's meta.replications)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's meta.seed)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override any value, e.g. parameters.balance_rate=0.08 (repeatable)")
    p.add_argument("--keep-trajectories", action="store_true", help="also write every replication's series")
    p.add_argument("--out", type=Path, default=Path("results"), help="results root (default: results/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")

    p = sub.add_parser("batch", help="run scenarios x sweep points x replications in parallel, resumably")
    p.add_argument("scenarios", type=Path, nargs="*", help="scenario files (not with --resume)")
    p.add_argument("--sweep", type=Path, help="a sweep file (docs/sweeps.md)")
    p.add_argument("--reps", type=int, help="replications per scenario and point")
    p.add_argument("--seed", type=int, help="seed for every scenario (default: each scenario's meta.seed)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--executor", choices=("process", "dask", "serial"), default="process")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786")
    p.add_argument("--chunk-size", type=int, help="replications per chunk (default 1000)")
    p.add_argument("--keep-trajectories", action="store_true", help="also write every replication's series")
    p.add_argument("--out", type=Path, default=Path("results"), help="results root (default: results/)")
    p.add_argument("--resume", type=Path, metavar="BATCH_DIR", help="finish an interrupted batch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("compare", help="compare scenarios across batches: report with plots and differences")
    p.add_argument("batches", type=Path, nargs="*", help="batch folders (results/batch-<id>/)")
    p.add_argument("--baseline", help="scenario to compare against (default: the first)")
    p.add_argument("--outcomes", help="comma-separated outcome ids (default: all of the baseline's)")
    p.add_argument("--series", help="comma-separated tracked series, e.g. niger:us,niger:russia")
    p.add_argument("--out", type=Path, help="output folder (default: results/compare-<time>/)")
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="plot format (default png)")
    p.add_argument("--ablate-events", type=Path, metavar="RUN_OR_SCENARIO",
                   help="rerun a run folder's (or a scenario file's) scenario with each event switched off")
    p.add_argument("--reps", type=int, help="with --ablate-events: replications (default: the run's)")
    p.add_argument("--seed", type=int, help="with --ablate-events: seed (default: the run's)")

    p = sub.add_parser("show", help="print the fully resolved scenario (after extends and --set) as TOML")
    p.add_argument("scenario", type=Path)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")

    p = sub.add_parser("replay", help="re-run one replication of a run alone: full trajectory and event log")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--replication", type=int, required=True)
    return parser


def cmd_validate(args) -> int:
    from sim.scenario.loader import load_scenario

    status = EXIT_OK
    for path in args.files:
        try:
            scenario = load_scenario(path)
        except ScenarioError as error:
            status = EXIT_BAD_INPUT
            print(f"FAIL {path}: {len(error.problems)} problem(s)")
            for problem in error.problems:
                print(f"  {problem}")
            continue
        print(f"ok   {path}: {scenario.meta.name}, {len(scenario.actors)} actors, {len(scenario.events)} events, "
              f"{len(scenario.outcomes)} outcomes, {scenario.meta.steps} {scenario.meta.step_unit}s")
        for warning in scenario.warnings:
            print(f"  warning: {warning}")
    return status


def cmd_run(args) -> int:
    from sim.analysis.stats import outcome_table
    from sim.experiment.run_folder import RunInfo, write_run
    from sim.model.model import run_scenario
    from sim.scenario.loader import load_scenario
    import json

    scenario = load_scenario(args.scenario, args.overrides)
    if args.reps is not None and args.reps < 1:
        raise SimError(f"--reps must be at least 1, found {args.reps}")
    if args.seed is not None and args.seed < 0:
        raise SimError(f"--seed must be >= 0, found {args.seed}")
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    seed = scenario.meta.seed if args.seed is None else args.seed
    reps = scenario.meta.replications if args.reps is None else args.reps
    started = dt.datetime.now().astimezone()
    clock = time.perf_counter()
    result = run_scenario(scenario, seed=seed, replications=reps, keep_trajectories=args.keep_trajectories)
    elapsed = time.perf_counter() - clock
    info = RunInfo(tuple(args.overrides), started, dt.datetime.now().astimezone(), args.keep_trajectories)
    folder = write_run(result, args.out, info, plots=not args.no_plots)
    summary = json.loads((folder / "summary.json").read_text())["outcomes"]
    print(f"{scenario.meta.name}: {reps} replications, seed {seed}, {elapsed:.1f} s")
    print(outcome_table(summary))
    print(f"results in {folder}/")
    return EXIT_OK


def cmd_batch(args) -> int:
    from sim.experiment.batch_launch import launch_batch

    return launch_batch(args)


def cmd_compare(args) -> int:
    from sim.report.comparison import CompareOptions, compare

    split = (lambda text: tuple(x.strip() for x in text.split(",") if x.strip()) if text else ())
    out = args.out or Path("results") / f"compare-{dt.datetime.now():%Y%m%d-%H%M%S}"
    options = CompareOptions(args.baseline, split(args.outcomes), split(args.series), args.format)
    if args.ablate_events:
        from sim.report.ablation import ablation_report

        if args.batches:
            raise SimError("--ablate-events takes one run folder or scenario file, not batch folders")
        folder = ablation_report(args.ablate_events, out, options, args.reps, args.seed)
    else:
        if not args.batches:
            raise SimError("give one or more batch folders (or --ablate-events RUN_OR_SCENARIO)")
        folder = compare(args.batches, out, options)
    print(f"report: {folder / 'report.html'} (and report.md)")
    return EXIT_OK


def cmd_show(args) -> int:
    import tomli_w

    from sim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    sys.stdout.write(f"# {scenario.path} resolved (extends and --set applied); hash {scenario.content_hash[:12]}\n")
    sys.stdout.write(tomli_w.dumps(scenario.resolved))
    return EXIT_OK


def cmd_replay(args) -> int:
    from sim.experiment.replay import replay

    done = replay(args.run_dir, args.replication)
    result = done.result
    print(f"replication {args.replication} of {result.scenario.meta.name} (seed {result.seed}): "
          f"{len(done.events)} events")
    for row in done.events:
        print(f"  step {row[1]:>4}  {row[2]}  {row[3]:<24} {row[5]}\n{'':>37}-> {row[6]}")
    print("outcomes:")
    for outcome in result.scenario.outcomes:
        print(f"  {outcome.id} = {result.outcomes[outcome.id][0]}")
    verdict = {True: "identical to the batch's record", False: "DIFFERS from the batch's record",
               None: "no batch record to compare"}[done.matches_batch]
    print(f"event log: {verdict}")
    print(f"full trajectory and events in {done.folder}/")
    return EXIT_OK if done.matches_batch is not False else EXIT_FAILED


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "batch": cmd_batch, "compare": cmd_compare, "show": cmd_show, "replay": cmd_replay}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ScenarioError as error:
        print(f"error: {len(error.problems)} problem(s) in the input:", file=sys.stderr)
        for problem in error.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SimError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted; nothing was written for the unfinished run", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
