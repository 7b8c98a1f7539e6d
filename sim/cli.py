"""The `sim` command: a thin layer over library functions.

Exit status: 0 ok; 1 some replications failed or a batch stopped; 2 bad input or an operational error (a file
that cannot be written, a full disk, a job too big for the machine); 70 an internal error (a bug);
130 interrupted (Ctrl-C or SIGTERM; a batch is left resumable)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

from sim.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, ScenarioError, SimError
from sim.scenario.limits import check_reps_seed

FORCE_HELP = "start even when the estimated memory exceeds what the machine has, or the plan is huge"


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill PID`, a cluster scheduler) taken the way Ctrl-C is: workers stopped, a batch resumable."""


def _on_sigterm(signum, frame):
    raise Terminated()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2023-06-30, found '{text}'") from None


OUT_HELP = "results root (default: results/); every command writes a new folder inside it, here {folder}/"


def uncertainty_options(p) -> None:
    p.add_argument("--uncertainty", type=Path, metavar="FILE",
                   help="draw uncertain parameters per replication group: a tuning config's ranges (.toml) or a "
                        "joint sample (.csv, e.g. the plausible.csv of sim calibrate)")
    p.add_argument("--per-draw", type=int, default=20, metavar="N",
                   help="with --uncertainty: replications that share one draw of the parameters (default 20)")


EXAMPLES = {
    "validate": ["sim validate scenarios/*.toml"],
    "new": ["sim new my-scenario", "sim new scenarios/island-pact.toml --rule landscape"],
    "lint": ["sim lint scenarios/niger-2024.toml", "sim lint my-scenario.toml --strict"],
    "run": ["sim run scenarios/niger-2024.toml",
            "sim run scenarios/niger-2024.toml --uncertainty tuning/niger-tune.toml --reps 2000",
            "sim run scenarios/niger-2024.toml --set parameters.balance_rate=0.02 --seed 3 --no-plots"],
    "batch": ["sim batch scenarios/niger-2024.toml scenarios/niger-us-deal.toml --reps 5000",
              "sim batch scenarios/niger-2024.toml --sweep sweeps/niger-lhs.toml --jobs 2",
              "sim batch scenarios/niger-2024.toml --uncertainty tuning/niger-tune.toml --reps 20000",
              "sim batch scenarios/niger-2024.toml --executor dask --scheduler tcp://127.0.0.1:8786",
              "sim batch --resume results/batch-<id>"],
    "compare": ["sim compare scenarios/niger-2024.toml --set parameters.balance_rate=0.02 --reps 2000",
                "sim compare results/batch-<id> --baseline niger-2024 --outcomes us_withdrawn",
                "sim compare --ablate-events scenarios/niger-2024.toml --reps 500"],
    "sensitivity": ["sim sensitivity scenarios/niger-2024.toml --config tuning/niger-tune.toml --method morris"],
    "calibrate": ["sim calibrate scenarios/sahel-2020-2025.toml --observed scenarios/observed/sahel-2020-2023.csv "
                  "--config tuning/sahel-tune.toml --cutoff 2023-06-30 --jobs 2"],
    "backtest": ["sim backtest scenarios/sahel-2020-2025-calibrated.toml --observed scenarios/observed/sahel-2020-2023.csv "
                 "--observed scenarios/observed/sahel-2023-2025.csv"],
    "discover": ["sim discover results/batch-<id> --outcome us_withdrawn --value false",
                 "sim discover results/batch-<id> --outcome shared_base_weeks --above 10 --features values"],
    "show": ["sim show scenarios/niger-2024.toml --set parameters.balance_rate=0.02",
             "sim show scenarios/sahel-2020-2025.toml --expanded"],
    "replay": ["sim replay results/niger-2024/<run-id> --replication 412"],
    "schema": ["sim schema > scenario.schema.json",
               "sim schema --out scenarios/scenario.schema.json"],
}


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("sim-scenarios")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _parser() -> argparse.ArgumentParser:
    from sim.experiment.executors import EXECUTORS

    parser = argparse.ArgumentParser(prog="sim", description="Strategic scenario simulation engine.",
                                     epilog="examples:\n  sim run scenarios/niger-2024.toml\n  sim <command> --help",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"sim {_version()}")
    parser.add_argument("--debug", action="store_true", help="on an internal error, show the traceback")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check scenario files and print every problem found")
    p.add_argument("files", nargs="+", type=Path)

    p = sub.add_parser("new", help="write a commented starter scenario that validates, runs and lints clean")
    p.add_argument("name", type=Path, help="the file to write (NAME or NAME.toml; never overwritten)")
    p.add_argument("--rule", choices=("balance", "landscape"), default="balance",
                   help="alignment rule: structural balance (default) or camps (landscape)")

    p = sub.add_parser("lint", help="run a scenario briefly and report modelling smells, with why and how to fix")
    p.add_argument("scenario", type=Path)
    p.add_argument("--strict", action="store_true", help="exit 1 when any smell is not accepted in the scenario")
    p.add_argument("--reps", type=int, default=200,
                   help="replications at the scenario's values (default 200; half as many per swept value)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's)")

    p = sub.add_parser("run", help="run Monte Carlo replications of a scenario and write a results folder")
    p.add_argument("scenario", type=Path)
    p.add_argument("--reps", type=int, help="replications (default: the scenario's meta.replications)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's meta.seed)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override any value, e.g. parameters.balance_rate=0.08 (repeatable)")
    p.add_argument("--keep-trajectories", action="store_true", help="also write every replication's series")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="<scenario>/<run-id>"))
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("--events", choices=("parquet", "csv", "both", "none"), default="parquet",
                   help="the event log's form: events.parquet (compact, the default), events.csv, both, or none")
    p.add_argument("--quiet", action="store_true", help="print only the results folder")
    uncertainty_options(p)

    p = sub.add_parser("batch", help="run scenarios x sweep points x replications in parallel, resumably")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)
    p.add_argument("scenarios", type=Path, nargs="*", help="scenario files (not with --resume)")
    p.add_argument("--sweep", type=Path, help="a sweep file (docs/sweeps.md)")
    p.add_argument("--reps", type=int, help="replications per scenario and point")
    p.add_argument("--seed", type=int, help="seed for every scenario (default: each scenario's meta.seed)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--executor", choices=tuple(EXECUTORS), default="process")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--chunk-size", type=int, help="replications per chunk (default 1000)")
    p.add_argument("--keep-trajectories", action="store_true", help="also write every replication's series")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="batch-<id>"))
    p.add_argument("--resume", type=Path, metavar="BATCH_DIR", help="finish an interrupted batch")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a value in every scenario of the batch (repeatable)")
    uncertainty_options(p)

    p = sub.add_parser("compare", help="compare scenarios: batch folders, or a scenario and its what-if (--set)")
    p.add_argument("inputs", type=Path, nargs="*", metavar="BATCH_OR_SCENARIO",
                   help="batch folders (results/batch-<id>/), or one scenario file with --set: it runs the scenario "
                        "and its what-if, paired, then compares them")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="with a scenario file: the what-if's changes (repeatable)")
    p.add_argument("--baseline", help="scenario to compare against (default: the first)")
    p.add_argument("--outcomes", help="comma-separated outcome ids (default: all of every scenario's)")
    p.add_argument("--series", help="comma-separated tracked series, e.g. niger:us,niger:russia")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="compare-<time>"))
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="plot format (default png)")
    p.add_argument("--ablate-events", type=Path, metavar="RUN_OR_SCENARIO",
                   help="rerun a run folder's (or a scenario file's) scenario with each event switched off")
    p.add_argument("--reps", type=int, help="with a scenario file or --ablate-events: replications (default: the "
                                            "scenario's)")
    p.add_argument("--seed", type=int, help="with a scenario file or --ablate-events: seed (default: the scenario's)")
    p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
    p.add_argument("--executor", choices=tuple(EXECUTORS), default="process")
    p.add_argument("--scheduler", help="address of an existing Dask scheduler, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    def executor_options(p):
        p.add_argument("--jobs", type=int, help="worker processes (default: all cores)")
        p.add_argument("--executor", choices=tuple(EXECUTORS), default="process")
        p.add_argument("--scheduler", help="address of an existing Dask scheduler")

    p = sub.add_parser("sensitivity", help="Sobol or Morris sensitivity of outcomes to the tuning config's values")
    p.add_argument("scenario", type=Path)
    p.add_argument("--config", type=Path, required=True, help="tuning config (docs/tuning.md)")
    p.add_argument("--method", choices=("sobol", "morris"), default="sobol")  # = analysis/sensitivity.METHODS (tested;
    # written out so that `sim --help` need not import the analysis)
    p.add_argument("--outcomes", help="comma-separated outcome ids (default: the config's, else all)")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="sensitivity-<scenario>-<time>"))
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
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="calibrate-<scenario>-<time>"))
    p.add_argument("--quiet", action="store_true", help="no line per generation")
    executor_options(p)

    p = sub.add_parser("backtest", help="score a scenario's forecasts of what happened after a cut-off")
    p.add_argument("scenario", type=Path)
    p.add_argument("--observed", type=Path, required=True, action="append",
                   help="observed.csv; repeat it to read several files (those before the cut-off give persistence)")
    p.add_argument("--cutoff", type=_date, help="score only the observations after this date (default: the "
                                                "scenario's meta.fitted_until, else all)")
    p.add_argument("--reps", type=int, help="replications (default: the scenario's)")
    p.add_argument("--seed", type=int, help="seed (default: the scenario's)")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="backtest-<scenario>-<time>"))

    p = sub.add_parser("discover", help="scenario discovery: which values and events go with an outcome (PRIM, tree)")
    p.add_argument("batch", type=Path, help="a batch folder (results/batch-<id>/), with a sweep or --uncertainty")
    p.add_argument("--outcome", required=True, help="the outcome to explain")
    p.add_argument("--scenario", help="which scenario of the batch (default: the first)")
    p.add_argument("--value", choices=("true", "false"), default="true",
                   help="explain the runs where the outcome holds (true, default) or where it does not (false)")
    p.add_argument("--above", type=float, help="for a numeric outcome: the runs of interest are those above this")
    p.add_argument("--box", type=int, help="pick this box of PRIM's peeling trajectory (default: chosen for you)")
    p.add_argument("--max-dims", type=int, default=3, help="at most this many restrictions in the chosen box")
    p.add_argument("--features", choices=("all", "values", "events"), default="all",
                   help="explain with swept/drawn values and events (all, default), or with either alone")
    p.add_argument("--exclude", action="append", default=[], metavar="EVENT",
                   help="leave this event out of the features (repeatable); the events the outcome's own "
                        "expression names are always left out")
    p.add_argument("--out", type=Path, default=Path("results"), help=OUT_HELP.format(folder="discover-<outcome>-<time>"))
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="plot format (default png)")

    p = sub.add_parser("show", help="print the fully resolved scenario (after extends and --set) as TOML")
    p.add_argument("scenario", type=Path)
    p.add_argument("--expanded", action="store_true",
                   help="print the events that templates and shocks expand to, instead of the templates")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY.PATH=VALUE")

    p = sub.add_parser("replay", help="re-run one replication of a run alone: full trajectory and event log")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--replication", type=int, required=True)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files, for editors (docs/scenarios.md)")
    p.add_argument("--out", type=Path, metavar="FILE", help="write it to FILE (atomically) instead of printing it")
    for name, sub_parser in sub.choices.items():
        sub_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        sub_parser.epilog = "examples:\n" + "\n".join(f"  {line}" for line in EXAMPLES[name])
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


def cmd_new(args) -> int:
    from sim.experiment import atomic
    from sim.scenario.checks import NAME, NAME_RULE
    from sim.scenario.loader import load_scenario
    from sim.starters import starter

    if args.name.name in ("", ".", ".."):
        raise SimError(f"{str(args.name)!r} names no file; give one, e.g. sim new my-scenario")
    path = args.name if args.name.suffix.lower() == ".toml" else args.name.with_name(args.name.name + ".toml")
    if path.exists():
        raise SimError(f"{path} exists; sim new never overwrites a file (choose another name, or delete it)")
    if not path.parent.is_dir():
        raise SimError(f"{path.parent}: no such folder")
    if not NAME.fullmatch(path.stem):
        raise SimError(f"{path.stem!r} cannot name a scenario (the file name becomes its meta.name): expected "
                       f"{NAME_RULE}")
    try:
        atomic.write_text(path, starter(args.rule, path.stem), exclusive=True)
    except FileExistsError:
        raise SimError(f"{path} exists; sim new never overwrites a file (choose another name, or delete it)") from None
    scenario = load_scenario(path)
    print(f"wrote {path}: {scenario.meta.name}, {len(scenario.actors)} actors, {len(scenario.events)} events "
          f"({args.rule} rule). Next: sim lint {path}; sim run {path}")
    return EXIT_OK


def cmd_lint(args) -> int:
    import textwrap

    from sim.analysis.lint import lint
    from sim.scenario.loader import load_scenario

    check_reps_seed(args.reps, args.seed)
    scenario = load_scenario(args.scenario)
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    report = lint(scenario, args.reps, args.seed)
    print(f"{report.scenario}: {len(report.findings) + len(report.unused)} smell(s) in {report.runs}; "
          f"{report.seconds:.1f} s")
    wrap = (lambda label, text: textwrap.fill(text, 110, initial_indent=f"  {label}: ",
                                              subsequent_indent=" " * (len(label) + 4)))
    for f in report.findings:
        print(f"{'accepted' if f.accepted else 'warning'}[{f.smell}] {f.subject}: {f.message}")
        if f.accepted:
            print(wrap("accepted", f.accepted))
        else:
            print(wrap("why", f.why))
            print(wrap("fix", f.fix))
    for a in report.unused:
        print(f"warning[stale-accept] {a.subject}: the [[lint.accept]] of {a.smell} matches no smell found (the smell is "
              "gone, or its smell or subject is mistyped): remove or correct it")
    open_count = len(report.open) + len(report.unused)
    print(f"{open_count} open, {len(report.findings) - len(report.open)} accepted in the scenario ([[lint.accept]])"
          if report.findings or report.unused else "no smells found")
    return EXIT_FAILED if args.strict and open_count else EXIT_OK


def _run_plots(folder, result) -> None:
    from sim.plots.run_plots import plot_run  # matplotlib only when plots are asked for

    plot_run(folder, result.scenario, result)


def cmd_run(args) -> int:
    import json

    from sim.experiment.estimate import check_fits, estimate_run, run_block
    from sim.experiment.run_folder import RUN_CHUNK, RunInfo, run_chunks, write_run
    from sim.experiment.stats import missing_warnings, outcome_table
    from sim.experiment.summaries import summaries_from_json
    from sim.scenario.loader import load_scenario

    check_reps_seed(args.reps, args.seed)
    scenario = load_scenario(args.scenario, args.overrides)
    for warning in scenario.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    seed = scenario.meta.seed if args.seed is None else args.seed
    reps = scenario.meta.replications if args.reps is None else args.reps
    uncertainty = _uncertainty(args, args.scenario)
    block = run_block(scenario, RUN_CHUNK)
    check_fits(estimate_run(scenario, reps, args.keep_trajectories, min(block, reps)),
               f"{reps:,} replications of {scenario.meta.name}", "run them as a batch (sim batch keeps only a "
               "chunk per worker in memory)", args.force, lambda text: print(text, file=sys.stderr))
    started = dt.datetime.now().astimezone()
    clock = time.perf_counter()
    blocks = run_chunks(scenario, seed, reps, args.keep_trajectories, uncertainty, chunk=block)
    forms = {"parquet": ("parquet",), "csv": ("csv",), "both": ("parquet", "csv"), "none": ()}[args.events]
    info = RunInfo(tuple(args.overrides), started, None, args.keep_trajectories, forms)
    folder = write_run(blocks, args.out, info, extras=None if args.no_plots else _run_plots)
    elapsed = time.perf_counter() - clock
    summary = summaries_from_json(json.loads((folder / "summary.json").read_text())["outcomes"])
    for warning in missing_warnings(summary):
        print(warning, file=sys.stderr)
    if args.quiet:
        print(folder)
        return EXIT_OK
    print(f"{scenario.meta.name}: {reps} replications, seed {seed}, {elapsed:.1f} s (run and written)")
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
    from sim.batch_command import BatchRequest, launch_batch

    request = BatchRequest(
        scenarios=tuple(args.scenarios), sweep=args.sweep, reps=args.reps, seed=args.seed, jobs=args.jobs,
        executor=args.executor, scheduler=args.scheduler, chunk_size=args.chunk_size,
        keep_trajectories=args.keep_trajectories, out=args.out, resume=args.resume, overrides=tuple(args.overrides),
        uncertainty=args.uncertainty, per_draw=args.per_draw, force=args.force, progress=not args.quiet)
    return launch_batch(request).status


def cmd_compare(args) -> int:
    from sim.report.comparison import CompareOptions, compare

    split = (lambda text: tuple(x.strip() for x in text.split(",") if x.strip()) if text else ())
    options = CompareOptions(args.baseline, split(args.outcomes), split(args.series), args.format)
    check_reps_seed(args.reps, args.seed)
    scenario_file = len(args.inputs) == 1 and args.inputs[0].suffix.lower() == ".toml"
    if args.ablate_events:
        from sim.report.ablation import ablation_report

        if args.inputs:
            raise SimError("--ablate-events takes one run folder or scenario file, not batch folders")
        folder = ablation_report(args.ablate_events, _default_out("compare", "ablation", args.out), options, args.reps,
                                 args.seed, _tuning_executor(args))
    elif scenario_file:
        from sim.experiment.what_if import run_what_if

        if not args.overrides:
            raise SimError(f"{args.inputs[0]}: a scenario file is compared with its what-if: give the what-if's "
                           "changes with --set KEY.PATH=VALUE (or give batch folders)")
        executor = _tuning_executor(args)
        batch = run_what_if(args.inputs[0], args.overrides, args.reps, args.seed, args.out, executor, args.quiet)
        folder = compare([batch], _default_out("compare", args.inputs[0], args.out), options)
    else:
        if args.overrides or args.reps is not None or args.seed is not None:
            raise SimError("--set, --reps and --seed go with a scenario file (or --ablate-events), not batch folders")
        if not args.inputs:
            raise SimError("give batch folders, or a scenario file and --set for its what-if (or --ablate-events)")
        folder = compare(args.inputs, _default_out("compare", "", args.out), options)
    print(f"report: {folder / 'report.html'} (and report.md)")
    return EXIT_OK


def _tuning_executor(args):
    from sim.experiment.executors import make_executor

    if args.jobs is not None and args.jobs < 1:
        raise SimError(f"--jobs must be at least 1, found {args.jobs}")
    if args.scheduler and args.executor != "dask":
        raise SimError("--scheduler is the address of a Dask scheduler: use it with --executor dask")
    return make_executor(args.executor, args.jobs, args.scheduler)


def _default_out(kind: str, scenario: Path | str, root: Path = Path("results")) -> Path:
    from sim.experiment.atomic import new_folder

    return new_folder(root, kind, Path(scenario).stem if isinstance(scenario, Path) else scenario)


def cmd_sensitivity(args) -> int:
    from tqdm import tqdm

    from sim.analysis.sensitivity import run_sensitivity, sample, sensitivity_warnings
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
    out = sensitivity_report(result, _default_out("sensitivity", args.scenario, args.out))
    for o, change in result.stability().items():
        top = next(r for r in result.rows() if r["outcome"] == o and r["rank"] == 1)
        print(f"{o}: most influential {top['parameter']}; indices change by at most {change:.0%} "
              "of the largest with a second seed")
    for warning in sensitivity_warnings(result.rows(), args.method):
        print(f"warning: {warning}")
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
                       report=(lambda text: None) if args.quiet else (lambda text: print(text, file=sys.stderr,
                                                                                          flush=True)),
                       cutoff=args.cutoff)
    print(f"fitted {len(result.observed)} observation(s)"
          + (f" up to {args.cutoff}" if args.cutoff else "") + f"; left out {len(result.left_out)} "
          "(after the cut-off, or settled by a scheduled shock)", file=sys.stderr)
    out = calibration_report(args.scenario, args.observed, result, _default_out("calibrate", args.scenario, args.out),
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

    check_reps_seed(args.reps, args.seed)
    result = backtest(args.scenario, args.observed, args.reps, args.seed, args.cutoff)
    out = backtest_report(result, args.observed, _default_out("backtest", args.scenario, args.out))
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


def cmd_discover(args) -> int:
    from sim.analysis.discovery import discover, outcome_events
    from sim.experiment.batch_plan import batch_scenarios
    from sim.report.discovery_report import discovery_report

    if args.max_dims < 1:
        raise SimError(f"--max-dims must be at least 1, found {args.max_dims}")
    scenarios = batch_scenarios(args.batch)
    name = args.scenario or next(iter(scenarios), None)
    scenario = scenarios.get(name)
    dates = scenario.dates if scenario else None
    names = {e.id: e.name for e in scenario.events} if scenario else None
    exclude = set(args.exclude)
    if scenario is not None:
        unknown = exclude - {e.id for e in scenario.events}
        if unknown:
            raise SimError(f"--exclude {', '.join(sorted(unknown))}: no such event in {name}")
        outcome = next((o for o in scenario.outcomes if o.id == args.outcome), None)
        exclude |= outcome_events(outcome) if outcome else set()
    clock = time.perf_counter()
    result = discover(args.batch, args.outcome, name, args.value, args.above, args.box, args.max_dims,
                      dates=dates, event_names=names, steps=scenario.meta.steps if scenario else None,
                      use=args.features, exclude=frozenset(exclude))
    out = discovery_report(result, args.batch, _default_out("discover", args.outcome, args.out), dates, names,
                           args.format)
    print(f"{result.scenario}: {result.n:,} runs, {len(result.features)} features; {time.perf_counter() - clock:.1f} s")
    print(result.sentence)
    print(f"classification tree: {result.tree_accuracy:.0%} of held-out runs right "
          f"(majority guess {result.tree_baseline:.0%}); rules in {out / 'tree.txt'}")
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
    verdict = {True: "identical to the run's record", False: "DIFFERS from the run's record",
               None: "the run kept no event log to compare (--events none)"}[done.matches_batch]
    print(f"event log: {verdict}")
    print(f"full trajectory and events in {done.folder}/")
    return EXIT_OK if done.matches_batch is not False else EXIT_FAILED


def cmd_schema(args) -> int:
    from sim.scenario.json_schema import SCHEMA_FILE, schema_text  # here: `sim --help` need not load the loader

    text = schema_text()
    if args.out is None:
        sys.stdout.write(text)
        return EXIT_OK
    from sim.experiment.atomic import write_text

    if args.out.is_dir():
        raise SimError(f"--out {args.out} is a folder; give a file name, e.g. {args.out / SCHEMA_FILE}")
    if not args.out.parent.is_dir():
        raise SimError(f"{args.out.parent}: no such folder")
    write_text(args.out, text)
    print(f"wrote {args.out}")
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "new": cmd_new, "lint": cmd_lint, "run": cmd_run, "batch": cmd_batch, "compare": cmd_compare, "sensitivity": cmd_sensitivity,
            "calibrate": cmd_calibrate, "backtest": cmd_backtest, "discover": cmd_discover, "show": cmd_show, "replay": cmd_replay,
            "schema": cmd_schema}


def main(argv: list[str] | None = None) -> int:
    import signal
    import threading

    args = _parser().parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from sim.model.kernels import chosen

        chosen()  # a bad SIM_KERNELS is said before any work, not by every worker of a batch
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
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader stopped reading (sim lint ... | head): not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return EXIT_OK
    except OSError as error:  # a file that cannot be read or written, a full disk
        where = f" {error.filename}" if error.filename else ""
        print(f"error: cannot use{where}: {error.strerror or error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except MemoryError:
        print("error: out of memory; use fewer replications per run (sim batch streams any number)",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as error:  # a bug: one line, not a traceback; --debug shows where
        if getattr(args, "debug", False):
            raise
        print(f"internal error (a bug, please report it with the command): {type(error).__name__}: "
              f"{str(error)[:200]} (run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
