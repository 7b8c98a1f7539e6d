"""The `sim` command: a thin layer over library functions. Exit status: 0 ok, 1 runs failed, 2 bad input."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sim.errors import ScenarioError, SimError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2023-06-30, found '{text}'") from None


def uncertainty_options(p) -> None:
    p.add_argument("--uncertainty", type=Path, metavar="FILE",
                   help="draw uncertain parameters per replication group: a tuning config's ranges (.toml) or a "
                        "joint sample (.csv, e.g. the plausible.csv of sim calibrate)")
    p.add_argument("--per-draw", type=int, default=20, metavar="N",
                   help="with --uncertainty: replications that share one draw of the parameters (default 20)")


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
    uncertainty_options(p)

    p = sub.add_parser("batch", help="run scenarios x sweep points x replications in parallel, resumably")
    p.add_argument("scenarios", type=Path, nargs="*", help="scenario files (not with --resume)")
    p.add_argument("--sweep", type=Path, help="a sweep file (docs/sweeps.md)")
    p.add_argument("--reps", type=int, help="replications per scenario and point")
    p.add_argument("--seed", type=int, help="seed for every scenario (default: each scenario's meta.seed)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--executor", choices=("process", "dask", "serial"), default="process")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--chunk-size", type=int, help="replications per chunk (default 1000)")
    p.add_argument("--keep-trajectories", action="store_true", help="also write every replication's series")
    p.add_argument("--out", type=Path, default=Path("results"), help="results root (default: results/)")
    p.add_argument("--resume", type=Path, metavar="BATCH_DIR", help="finish an interrupted batch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value in every scenario of the batch (repeatable)")
    uncertainty_options(p)

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

    def executor_options(p):
        p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
        p.add_argument("--executor", choices=("process", "dask", "serial"), default="process")
        p.add_argument("--scheduler", help="address of an existing Dask scheduler")

    p = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity of outcomes to the tuning config's values")
    p.add_argument("scenario", type=Path)
    p.add_argument("--config", type=Path, required=True, help="tuning config (docs/tuning.md)")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")
    p.add_argument("--outcomes", help="comma-separated outcome ids (default: the config's, else all)")
    p.add_argument("--out", type=Path, help="output folder (default: results/sensitivity-<scenario>-<time>/)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    executor_options(p)

    p = sub.add_parser("calibrate", help="fit the tuning config's values to an observed timeline")
    p.add_argument("scenario", type=Path)
    p.add_argument("--observed", type=Path, required=True, action="append",
                   help="observed.csv (docs/tuning.md); repeat it to read several files")
    p.add_argument("--cutoff", type=_date, help="fit only the observations on or before this date (YYYY-MM-DD)")
    p.add_argument("--save-as", type=Path, metavar="FILE",
                   help="also write the calibrated variant as FILE, extending the scenario by a relative path "
                        "(FILE's folder must hold the scenario, e.g. scenarios/<name>-calibrated.toml)")
    p.add_argument("--config", type=Path, required=True, help="tuning config (docs/tuning.md)")
    p.add_argument("--out", type=Path, help="output folder (default: results/calibrate-<scenario>-<time>/)")
    executor_options(p)

    p = sub.add_parser("backtest", help="score a scenario's forecasts of what happened after a cut-off")
    p.add_argument("scenario", type=Path)
    p.add_argument("--observed", type=Path, required=True, action="append",
                   help="observed.csv; repeat it to read several files (those before the cut-off give persistence)")
    p.add_argument("--cutoff", type=_date, help="score only the observations after this date (default: the "
                                                "scenario's meta.fitted_until, else all)")
    p.add_argument("--reps", type=int, help="replications (default: the scenario's)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    p.add_argument("--out", type=Path, help="output folder (default: results/backtest-<scenario>-<time>/)")

    p = sub.add_parser("show", help="print the fully resolved scenario (after extends and --set) as TOML")
    p.add_argument("scenario", type=Path)
    p.add_argument("--expanded", action="store_true",
                   help="print the events that templates and shocks expand to, instead of the templates")
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
    uncertainty = _uncertainty(args, args.scenario)
    started = dt.datetime.now().astimezone()
    clock = time.perf_counter()
    result = run_scenario(scenario, seed=seed, replications=reps, keep_trajectories=args.keep_trajectories,
                          uncertainty=uncertainty)
    elapsed = time.perf_counter() - clock
    info = RunInfo(tuple(args.overrides), started, dt.datetime.now().astimezone(), args.keep_trajectories)
    folder = write_run(result, args.out, info, plots=not args.no_plots)
    summary = json.loads((folder / "summary.json").read_text())["outcomes"]
    print(f"{scenario.meta.name}: {reps} replications, seed {seed}, {elapsed:.1f} s")
    if uncertainty:
        print(f"parameters drawn from {uncertainty.source}: {-(-reps // uncertainty.per_draw)} draws of "
              f"{uncertainty.per_draw} replications each; " + "; ".join(uncertainty.describe()))
    print(outcome_table(summary))
    print("intervals: " + ("Monte Carlo error of the runs and the parameter draws; the range over parameter draws "
                           "shows what the parameters' uncertainty does" if uncertainty else
                           "Monte Carlo error only, with every parameter at the scenario's value "
                           "(--uncertainty tune.toml adds the parameters' uncertainty)"))
    print(f"results in {folder}/")
    return EXIT_OK


def _uncertainty(args, scenario_path: Path):
    if getattr(args, "uncertainty", None) is None:
        return None
    from sim.analysis.uncertainty_file import load_uncertainty

    return load_uncertainty(args.uncertainty, scenario_path, args.per_draw, getattr(args, "overrides", ()))


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


def _tuning_executor(args):
    from sim.experiment.executors import make_executor

    if args.jobs is not None and args.jobs < 1:
        raise SimError(f"--jobs must be at least 1, found {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise SimError("--scheduler is the address of a Dask scheduler: use it with --executor dask")
    return make_executor(args.executor, args.jobs, args.scheduler)


def _default_out(kind: str, scenario: Path) -> Path:
    return Path("results") / f"{kind}-{scenario.stem}-{dt.datetime.now():%Y%m%d-%H%M%S}"


def cmd_sensitivity(args) -> int:
    from tqdm import tqdm

    from sim.analysis.sensitivity import run_sensitivity, sample
    from sim.analysis.tuning_config import load_tuning
    from sim.report.tuning_reports import sensitivity_report

    config = load_tuning(args.config)
    executor = _tuning_executor(args)
    outcomes = tuple(x.strip() for x in args.outcomes.split(",")) if args.outcomes else ()
    total = 2 * len(sample(config, args.method))
    print(f"{args.method}: {total // 2} points x {config.replications} replications, twice (seeds {config.seed} "
          f"and {config.seed + 1})", file=sys.stderr)
    with tqdm(total=total, unit="point", file=sys.stderr, disable=args.quiet or not sys.stderr.isatty()) as bar:
        result = run_sensitivity(args.scenario, config, args.method, executor, bar, outcomes)
    out = sensitivity_report(result, args.out or _default_out("sensitivity", args.scenario))
    for o, change in result.stability().items():
        top = next(r for r in result.rows() if r["outcome"] == o and r["rank"] == 1)
        print(f"{o}: most influential {top['parameter']}; indices change by at most {change:.0%} "
              "of the largest with a second seed")
    print(f"report: {out / 'report.html'}; table: {out / 'sensitivity.csv'}")
    return EXIT_OK


def cmd_calibrate(args) -> int:
    from sim.analysis.calibration import calibrate
    from sim.analysis.tuning_config import load_tuning
    from sim.report.tuning_reports import calibration_report

    config = load_tuning(args.config)
    if args.save_as is not None:
        from sim.analysis.calibration import save_as_extends

        save_as_extends(args.scenario, args.save_as)  # before hours of work, not after
    result = calibrate(args.scenario, args.observed, config, _tuning_executor(args),
                       report=lambda text: print(text, file=sys.stderr, flush=True), cutoff=args.cutoff)
    print(f"fitted {len(result.observed)} observation(s)"
          + (f" up to {args.cutoff}" if args.cutoff else "") + f"; left out {len(result.left_out)} "
          "(after the cut-off, or settled by a scheduled shock)", file=sys.stderr)
    out = calibration_report(args.scenario, args.observed, result, args.out or _default_out("calibrate", args.scenario),
                             save_as=args.save_as)
    print(f"loss {result.loss_before:.3f} -> {result.loss_after:.3f}")
    ranges = result.plausible_ranges()
    print(f"{'value':<32} {'fitted':>10}  plausible ({len(result.plausible())} of {len(result.evaluated)} sets "
          f"within the 95% likelihood-ratio bound, +{result.bound:.2f})")
    for key, value in result.best.items():
        low, high = ranges.get(key, (value, value))
        print(f"{key:<32} {value:>10.4g}  {low:.4g} to {high:.4g}")
    converged, why = result.converged()
    print(f"{'converged' if converged else 'warning: not converged'}: {why}")
    from sim.analysis.calibration import at_edges

    for note in at_edges(result):
        print(f"warning: {note}")
    print(f"calibrated scenario: {args.save_as or out / 'calibrated.toml'}; plausible values: {out / 'plausible.csv'} "
          f"(sim run ... --uncertainty {out / 'plausible.csv'}); report: {out / 'report.html'}")
    return EXIT_OK


def cmd_backtest(args) -> int:
    from sim.analysis.backtest import backtest
    from sim.report.tuning_reports import backtest_report

    if (args.reps is not None and args.reps < 1) or (args.seed is not None and args.seed < 0):
        raise SimError("--reps must be at least 1 and --seed at least 0")
    result = backtest(args.scenario, args.observed, args.reps, args.seed, args.cutoff)
    out = backtest_report(result, args.observed, args.out or _default_out("backtest", args.scenario))
    after = f"after {result.cutoff}" if result.cutoff else "(no cut-off)"
    print(f"{len(result.rows)} observation(s) {after} scored; {len(result.given)} left out as given "
          f"(settled by a scheduled shock)")
    for r in result.rows:
        print(f"  {r['observed_date']}  {'true ' if r['value'] else 'false'}  P {r['probability']:.2f}  "
              f"climatology {r['climatology']:.2f}  persistence {r['persistence']:.0f}  {r['short']}")
    if result.skill:
        for name, brier, log, skill in result.skill.table():
            print(f"{name:<12} Brier {brier}  log {log}" + (f"  model's Brier skill against it {skill}" if skill else ""))
    print(f"report: {out / 'report.html'}")
    return EXIT_OK


def cmd_show(args) -> int:
    import tomli_w

    from sim.scenario.loader import load_scenario

    scenario = load_scenario(args.scenario, args.overrides)
    what = "templates and shocks expanded" if args.expanded else "extends, mechanisms and --set applied"
    sys.stdout.write(f"# {scenario.path} resolved ({what}); hash {scenario.content_hash[:12]}\n")
    sys.stdout.write(tomli_w.dumps(scenario.expanded_document() if args.expanded else scenario.resolved))
    if scenario.templates and not args.expanded:
        count = sum(len(t.instances) for t in scenario.templates)
        sys.stdout.write(f"\n# templates expand at load into {count} events (sim show --expanded prints them):\n")
        for t in scenario.templates:
            shown = ", ".join(t.instances[:6]) + (f", ... ({len(t.instances)} in all)" if len(t.instances) > 6 else "")
            sys.stdout.write(f"#   {t.id} (from {t.source}): {shown}\n")
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
        value = result.outcomes[outcome.id][0]
        if outcome.kind == "first":
            value = "never" if value != value else f"step {int(value)} ({result.scenario.dates[int(value)]})"
        print(f"  {outcome.id} = {value}")
    verdict = {True: "identical to the batch's record", False: "DIFFERS from the batch's record",
               None: "no batch record to compare"}[done.matches_batch]
    print(f"event log: {verdict}")
    print(f"full trajectory and events in {done.folder}/")
    return EXIT_OK if done.matches_batch is not False else EXIT_FAILED


COMMANDS = {"validate": cmd_validate, "run": cmd_run, "batch": cmd_batch, "compare": cmd_compare, "sensitivity": cmd_sensitivity,
            "calibrate": cmd_calibrate, "backtest": cmd_backtest, "show": cmd_show, "replay": cmd_replay}


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
