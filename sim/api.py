"""The Python API: what a notebook or a script needs, doing the same work as the command line, quietly.

    import sim
    scenario = sim.load_scenario("scenarios/niger-2024.toml", overrides=["parameters.balance_rate=0.02"])
    result = sim.run_scenario(scenario, reps=500, seed=7)
    sim.summarise(result)["us_withdrawn"].probability
    batch = sim.run_batch(["scenarios/niger-2024.toml", "scenarios/niger-us-deal.toml"], "results", reps=2000)
    sim.compare([batch.folder], "results", baseline="niger-2024")   # -> the report's folder

Bad input raises sim.ScenarioError (every problem, with file and key path) or sim.SimError, as the
command line's exit status 2 does; nothing here prints except warnings to stderr.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import EXIT_INTERRUPTED
from sim.scenario.schema import Scenario, check_reps_seed

if TYPE_CHECKING:  # the engine (numpy, numba, mesa) is imported when first used: `import sim` stays instant
    from sim.batch_command import BatchOutcome, BatchRequest
    from sim.experiment.summaries import OutcomeSummary
    from sim.model.model import RunResult

__all__ = ["load_scenario", "run_scenario", "summarise", "run_batch", "resume_batch", "compare"]


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> Scenario:
    """Read, resolve `extends` and mechanisms, apply `--set`-style overrides ("key.path=value"), validate."""
    from sim.scenario.loader import load_scenario as load

    return load(path, tuple(overrides))


def run_scenario(scenario: Scenario | str | Path, reps: int | None = None, seed: int | None = None, *,
                 uncertainty: str | Path | None = None, per_draw: int = 20,
                 keep_trajectories: bool = False) -> RunResult:
    """Run replications in memory (no files): `reps` and `seed` default to the scenario's meta; with
    `uncertainty` (a tuning config or a joint sample, as `sim run --uncertainty`), the uncertain parameters
    are drawn once per `per_draw` replications. Replication k gives the same numbers alone or in any run."""
    from sim.model.model import run_scenario as run

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    check_reps_seed(reps, seed)
    drawn = None
    if uncertainty is not None:
        from sim.analysis.uncertainty_file import load_uncertainty

        drawn = load_uncertainty(Path(uncertainty), Path(scenario.path), per_draw)
    return run(scenario, seed, reps, keep_trajectories, drawn)


def summarise(result: RunResult) -> dict[str, OutcomeSummary]:
    """Each outcome of a run as summary.json gives it: probability or mean, 95% interval, quantiles."""
    from sim.experiment.stats import summarise_outcome
    from sim.model.uncertain import draw_ids

    draws = draw_ids(result.uncertainty, result.replications) if result.uncertainty else None
    return {o.id: summarise_outcome(o, result.outcomes[o.id], result.scenario.dates, draws)
            for o in result.scenario.outcomes}


def run_batch(scenarios: Iterable[str | Path], out: str | Path = "results", *, sweep: str | Path | None = None,
              reps: int | None = None, seed: int | None = None, jobs: int | None = None, executor: str = "process",
              scheduler: str | None = None, overrides: Sequence[str] = (), uncertainty: str | Path | None = None,
              per_draw: int = 20, chunk_size: int | None = None, keep_trajectories: bool = False,
              force: bool = False, progress: bool = False) -> BatchOutcome:
    """`sim batch` from Python: a new batch folder inside `out`. The result says where (`folder`), whether it
    finished (`status`: 0, or 1 when some replications failed; an interrupted batch raises KeyboardInterrupt
    after saving its chunks, and `resume_batch` finishes it) and point 0's summaries (`headline`)."""
    from sim.batch_command import BatchRequest

    path = (lambda p: Path(p) if p is not None else None)
    request = BatchRequest(tuple(Path(s) for s in scenarios), path(sweep), reps, seed, jobs, executor, scheduler,
                           chunk_size, keep_trajectories, Path(out), None, tuple(overrides), path(uncertainty),
                           per_draw, force, progress)
    return _quietly(request)


def resume_batch(folder: str | Path, *, jobs: int | None = None, executor: str = "process",
                 scheduler: str | None = None, progress: bool = False) -> BatchOutcome:
    """`sim batch --resume`: run the chunks an interrupted batch is missing and write its outputs."""
    from sim.batch_command import BatchRequest

    return _quietly(BatchRequest(jobs=jobs, executor=executor, scheduler=scheduler, resume=Path(folder),
                                 progress=progress))


def _quietly(request: BatchRequest) -> BatchOutcome:
    import sys

    from sim.batch_command import launch_batch

    outcome = launch_batch(request, say=lambda text: None, warn=lambda text: print(text, file=sys.stderr))
    if outcome.status == EXIT_INTERRUPTED:
        raise KeyboardInterrupt(f"batch interrupted; its chunks are saved: sim.resume_batch({str(outcome.folder)!r})")
    return outcome


def compare(batches: Iterable[str | Path], out: str | Path = "results", *, baseline: str | None = None,
            outcomes: Sequence[str] = (), series: Sequence[str] = (), fmt: str = "png") -> Path:
    """`sim compare` of batch folders: a new report folder inside `out` (report.html, report.md,
    comparison.json, plots); returns it."""
    from sim.experiment.atomic import new_folder
    from sim.report.comparison import CompareOptions
    from sim.report.comparison import compare as write_comparison

    options = CompareOptions(baseline, tuple(outcomes), tuple(series), fmt)
    return write_comparison([Path(b) for b in batches], new_folder(Path(out), "compare"), options)
