"""The Python API: what a notebook or a script needs, doing the same work as the command line.

    import sim
    scenario = sim.load_scenario("scenarios/niger-2024.toml", overrides=["parameters.balance_rate=0.02"])
    result = sim.run_scenario(scenario, reps=500, seed=7)
    sim.summarise(result)["us_withdrawn"].probability
    batch = sim.run_batch(["scenarios/niger-2024.toml", "scenarios/niger-us-deal.toml"], "results", reps=2000)
    sim.compare([batch.folder], "results", baseline="niger-2024")   # -> the report's folder

Bad input raises sim.ScenarioError (every problem, with file and key path) or sim.SimError, where the
command line exits with status 2. Nothing is printed on stdout; a batch's progress notices and
warnings go to stderr, as with `sim batch --quiet`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import EXIT_INTERRUPTED, SimError
from sim.scenario.schema import Scenario, check_reps_seed

if TYPE_CHECKING:  # the engine (numpy, numba, mesa) is imported when first used: `import sim` stays instant
    from sim.batch_command import BatchOutcome, BatchRequest
    from sim.experiment.summaries import OutcomeSummary
    from sim.model.model import RunResult

__all__ = ["load_scenario", "run_scenario", "summarise", "run_batch", "resume_batch", "compare"]
FORMATS = ("png", "svg", "pdf")


def _strings(name: str, value, what: str) -> tuple[str, ...]:
    """A list of strings; a single string is refused (it would be read letter by letter)."""
    if isinstance(value, (str, bytes)) or not all(isinstance(v, str) for v in value):
        raise SimError(f"{name}: expected a list of {what}, found {value!r:.80}")
    return tuple(value)


def _paths(name: str, value) -> tuple[Path, ...]:
    """One path or a list of them."""
    paths = (value,) if isinstance(value, (str, Path)) else tuple(value)
    if not paths or not all(isinstance(p, (str, Path)) for p in paths):
        raise SimError(f"{name}: expected a path or a non-empty list of paths, found {value!r:.80}")
    return tuple(Path(p) for p in paths)


def _count(name: str, value, low: int = 0) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
        raise SimError(f"{name}: expected a whole number of at least {low}, found {value!r:.40}")


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, resolve `extends` and mechanisms, apply `--set`-style overrides ("key.path=value"), validate."""
    from sim.scenario.loader import load_scenario as load

    return load(path, _strings("overrides", overrides, "'key.path=value' strings"))


def run_scenario(scenario: Scenario | str | Path, *, reps: int | None = None, seed: int | None = None,
                 overrides: Sequence[str] = (), uncertainty: str | Path | None = None, per_draw: int = 20,
                 keep_trajectories: bool = False) -> RunResult:
    """Run replications in memory (no files, no memory estimate: mind `reps`): `reps` and `seed` default to
    the scenario's meta. A path is loaded with `overrides`. With `uncertainty` (a tuning config or a joint
    sample, as `sim run --uncertainty`), the uncertain parameters are drawn once per `per_draw` replications.
    Replication k gives the same numbers alone or in any run."""
    from sim.model.model import run_scenario as run

    _count("reps", reps, 1)
    _count("seed", seed)
    check_reps_seed(reps, seed)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    elif overrides:
        raise SimError("overrides: give them to load_scenario (this scenario is already loaded)")
    drawn = None
    if uncertainty is not None:
        from sim.analysis.uncertainty_file import load_uncertainty

        drawn = load_uncertainty(Path(uncertainty), Path(scenario.path), per_draw, tuple(overrides))
    return run(scenario, seed, reps, keep_trajectories, drawn)


def summarise(result: RunResult) -> dict[str, OutcomeSummary]:
    """Each outcome of a run as summary.json gives it: probability or mean, 95% interval, quantiles."""
    from sim.experiment.run_folder import run_summaries

    return run_summaries(result)


def run_batch(scenarios: str | Path | Iterable[str | Path], out: str | Path = "results", *,
              sweep: str | Path | None = None, reps: int | None = None, seed: int | None = None,
              jobs: int | None = None, executor: str = "process", scheduler: str | None = None,
              overrides: Sequence[str] = (), uncertainty: str | Path | None = None, per_draw: int = 20,
              chunk_size: int | None = None, keep_trajectories: bool = False, force: bool = False,
              progress: bool = False) -> BatchOutcome:
    """`sim batch` from Python: a new batch folder inside `out`. Returns where it is (`folder`), `status`
    (0, or 1 when some replications failed: `failures`) and point 0's summaries per scenario (`headline`).
    A batch that stops on an error raises SimError; an interrupted one raises KeyboardInterrupt; both keep
    the chunks that ran, and `resume_batch(folder)` finishes the batch."""
    from sim.batch_command import BatchRequest

    for name, value, low in (("reps", reps, 1), ("seed", seed, 0), ("jobs", jobs, 1), ("chunk_size", chunk_size, 1),
                             ("per_draw", per_draw, 1)):
        _count(name, value, low)
    optional = (lambda p: Path(p) if p is not None else None)
    return _quietly(BatchRequest(
        scenarios=_paths("scenarios", scenarios), sweep=optional(sweep), reps=reps, seed=seed, jobs=jobs,
        executor=executor, scheduler=scheduler, chunk_size=chunk_size, keep_trajectories=keep_trajectories,
        out=Path(out), overrides=_strings("overrides", overrides, "'key.path=value' strings"),
        uncertainty=optional(uncertainty), per_draw=per_draw, force=force, progress=progress))


def resume_batch(folder: str | Path, *, jobs: int | None = None, executor: str = "process",
                 scheduler: str | None = None, progress: bool = False) -> BatchOutcome:
    """`sim batch --resume`: run the chunks an interrupted batch is missing and write its outputs."""
    from sim.batch_command import BatchRequest

    _count("jobs", jobs, 1)
    return _quietly(BatchRequest(jobs=jobs, executor=executor, scheduler=scheduler, resume=Path(folder),
                                 progress=progress))


def _quietly(request: BatchRequest) -> BatchOutcome:
    import sys

    from sim.batch_command import launch_batch

    outcome = launch_batch(request, say=lambda text: None, warn=lambda text: print(text, file=sys.stderr))
    if outcome.status == EXIT_INTERRUPTED:
        raise KeyboardInterrupt(f"batch interrupted; its chunks are saved: sim.resume_batch({str(outcome.folder)!r})")
    if not outcome.headline:
        raise SimError(f"the batch stopped before its outputs were written (the reason is on stderr); its chunks "
                       f"are saved: sim.resume_batch({str(outcome.folder)!r})")
    return outcome


def compare(batches: str | Path | Iterable[str | Path], out: str | Path = "results", *, baseline: str | None = None,
            outcomes: Sequence[str] = (), series: Sequence[str] = (), fmt: str = "png") -> Path:
    """`sim compare` of batch folders: a new report folder inside `out` (report.html, report.md,
    comparison.json, plots); returns it. `series` are tracked relations as "source:target"."""
    from sim.experiment.atomic import new_folder
    from sim.report.comparison import CompareOptions
    from sim.report.comparison import compare as write_comparison

    if fmt not in FORMATS:
        raise SimError(f"fmt: expected one of {', '.join(FORMATS)}, found {fmt!r:.40}")
    options = CompareOptions(baseline, _strings("outcomes", outcomes, "outcome ids"),
                             _strings("series", series, "'source:target' strings"), fmt)
    return write_comparison(list(_paths("batches", batches)), new_folder(Path(out), "compare"), options)
