"""A scenario and its what-if as one paired batch: the same seed and replication ids, so replication k
of the what-if differs from replication k of the scenario only by the changes (common random numbers)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sim.errors import SimError
from sim.experiment.batch import finish_manifest, progress_bar, run_batch, start_batch
from sim.experiment.batch_plan import DEFAULT_CHUNK, BatchPlan, _planned
from sim.scenario.documents import apply_overrides, read_document
from sim.scenario.loader import build_scenario

WHAT_IF = "-what-if"


def what_if_plan(path: Path, overrides, reps: int | None, seed: int | None) -> BatchPlan:
    doc = read_document(path)
    base = _planned(doc, str(path), ({},), "", reps, seed)
    name = base.name[: 64 - len(WHAT_IF)] + WHAT_IF
    changed = apply_overrides(doc, list(overrides) + [f"meta.name={name}"])
    variant = _planned(changed, str(path), ({},), "", base.replications, base.seed)  # paired: same seed and ids
    if build_scenario(apply_overrides(doc, list(overrides))).content_hash == base.points[0].content_hash:
        raise SimError("--set changes nothing in the scenario: the what-if would be the scenario itself")
    return BatchPlan((base, variant), ({},), None, DEFAULT_CHUNK, False)


def run_what_if(path: Path, overrides, reps: int | None, seed: int | None, root: Path, executor,
                quiet: bool = False) -> Path:
    """Run the batch and return its folder (under root, like any batch)."""
    from sim.experiment.batch_outputs import write_outputs

    plan = what_if_plan(Path(path), overrides, reps, seed)
    folder = start_batch(plan, root, type(executor).__name__)
    print(f"{folder}: {plan.scenarios[0].name} and {plan.scenarios[1].name}, {plan.scenarios[0].replications:,} "
          f"paired replications each (seed {plan.scenarios[0].seed})", file=sys.stderr)
    clock = time.perf_counter()
    with progress_bar(plan.total_replications, 0, quiet) as bar:
        report = run_batch(plan, folder, executor, bar)
    if not report.complete:
        finish_manifest(folder, report, time.perf_counter() - clock, executor.workers)
        raise SimError(f"the batch did not finish ({report.error or 'interrupted'}); resume it with: "
                       f"sim batch --resume {folder}, then sim compare {folder}")
    _, failures = write_outputs(plan, folder)
    report.failures = failures
    finish_manifest(folder, report, time.perf_counter() - clock, executor.workers)
    return folder
