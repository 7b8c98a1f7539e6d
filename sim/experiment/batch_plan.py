"""A batch plan: scenarios x sweep points x chunks of replications, fixed before anything runs.

The chunking is part of the plan (not of the executor), so results do not depend on how many
workers run it; the plan is saved in the batch folder, which is what makes --resume possible.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import tomli_w

from sim.errors import RunFolderError, ScenarioError, SimError, excerpt
from sim.experiment import atomic
from sim.experiment.chunks import ChunkSpec
from sim.experiment.estimate import check_batch_shape
from sim.experiment.run_folder import SEEDS_NOTE
from sim.experiment.sweep import Sweep, canonical_key, check_sweep_against, point_count, sweep_points
from sim.scenario.documents import Document, apply_overrides, read_document, set_values
from sim.scenario.loader import build_scenario
from sim.scenario.schema import Scenario
from sim.scenario.uncertainty import Uncertainty, from_json, to_json

DEFAULT_CHUNK = 1000
UNCERTAINTY_FILE = "uncertainty.json"


@dataclass(frozen=True)
class PlannedScenario:
    file: str
    name: str
    seed: int
    replications: int
    base: Document                    # resolved, before sweep values
    points: tuple[Scenario, ...]      # one built scenario per sweep point


@dataclass(frozen=True)
class BatchPlan:
    scenarios: tuple[PlannedScenario, ...]
    points: tuple[dict, ...]          # sweep values per point ([{}] without a sweep)
    sweep_file: str | None
    chunk_size: int
    keep_trajectories: bool
    uncertainty: Uncertainty | None = None  # parameters drawn per replication group (the same at every point)

    def chunks(self) -> list[ChunkSpec]:
        specs = []
        for s, planned in enumerate(self.scenarios):
            for p, scenario in enumerate(planned.points):
                for c, first in enumerate(range(0, planned.replications, self.chunk_size)):
                    specs.append(ChunkSpec(s, p, c, first, min(first + self.chunk_size, planned.replications),
                                           planned.seed, self.keep_trajectories, planned.file, scenario.resolved,
                                           self.uncertainty, scenario.content_hash))
        return specs

    @property
    def total_replications(self) -> int:
        return sum(s.replications * len(self.points) for s in self.scenarios)

    def digest(self) -> str:
        text = json.dumps([[s.name, s.seed, s.replications, [x.content_hash for x in s.points]] for s in self.scenarios]
                          + [list(self.points), self.chunk_size]
                          + ([to_json(self.uncertainty)] if self.uncertainty else []), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def make_plan(files: list[Path], sweep: Sweep | None, reps: int | None, seed: int | None,
              chunk_size: int = DEFAULT_CHUNK, keep_trajectories: bool = False,
              uncertainty: Uncertainty | None = None, overrides=(), force: bool = False) -> BatchPlan:
    check_batch_shape(0, point_count(sweep) if sweep else 1, force)
    points = tuple(sweep_points(sweep)) if sweep else ({},)
    docs = [read_document(file) for file in files]
    if overrides:
        docs = [apply_overrides(doc, list(overrides)) for doc in docs]
    if sweep and uncertainty:
        both = sorted({canonical_key(k) for k in sweep.keys} & {f"parameters.{n}" for n in uncertainty.names})
        if both:
            raise SimError(f"{', '.join(both)}: both swept and drawn as uncertain; a value is either swept or "
                           "drawn, not both")
    if sweep:
        problems = []
        for doc in docs:
            try:
                check_sweep_against(sweep, doc)
            except ScenarioError as error:
                problems += error.problems
        if problems:
            raise ScenarioError(problems)
    declared = [doc.data.get("meta", {}).get("replications", 1000) if isinstance(doc.data.get("meta"), dict)
                else 1000 for doc in docs]  # chunks are counted before anything is built (the loader checks it later)
    wanted = [reps or (sweep.replications if sweep and sweep.replications else n) for n in declared]
    check_batch_shape(sum(-(-n // chunk_size) for n in wanted if isinstance(n, int)) * len(points), len(points),
                      force)
    scenarios = []
    for file, doc in zip(files, docs):
        scenarios.append(_planned(doc, str(file), points, sweep.path if sweep else "", reps or (
            sweep.replications if sweep else None), seed))
    names = [s.name for s in scenarios]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise SimError(f"two scenarios in one batch are named {', '.join(clashes)}: give each its own meta.name "
                       "(a batch tells scenarios apart by name)")
    return BatchPlan(tuple(scenarios), points, sweep.path if sweep else None, chunk_size, keep_trajectories,
                     uncertainty)


def _planned(doc: Document, file: str, points, origin: str, reps, seed) -> PlannedScenario:
    built = tuple(build_scenario(set_values(doc, point, origin) if point else doc) for point in points)
    meta = built[0].meta
    return PlannedScenario(file, meta.name, meta.seed if seed is None else seed,
                           meta.replications if reps is None else reps, doc, built)


def save_plan(plan: BatchPlan, folder: Path) -> dict:
    """Write the resolved scenarios and return the plan's part of the manifest."""
    (folder / "scenarios").mkdir(exist_ok=True)
    entries = []
    for s, planned in enumerate(plan.scenarios):
        name = f"{s:03d}-{planned.name}.toml"
        atomic.write_text(atomic.inside(folder / "scenarios", name), tomli_w.dumps(planned.base.data))
        entries.append({"file": planned.file, "name": planned.name, "resolved": f"scenarios/{name}",
                        "seed": planned.seed, "replications_per_point": planned.replications,
                        "hash": planned.points[0].content_hash if len(plan.points) == 1 else None,
                        "point_hashes": [x.content_hash for x in planned.points]})
    if plan.uncertainty:
        atomic.write_json(folder / UNCERTAINTY_FILE, to_json(plan.uncertainty))
    return {"scenarios": entries, "sweep_file": plan.sweep_file, "points": list(plan.points),
            "uncertainty": plan.uncertainty.manifest() if plan.uncertainty else None,
            "chunk_size": plan.chunk_size, "keep_trajectories": plan.keep_trajectories,
            "plan_digest": plan.digest(), "chunks": len(plan.chunks()), "replications": plan.total_replications,
            "replication_seeds": "the same at every point; " + SEEDS_NOTE.format(seed="seed")}


def read_manifest(folder: Path) -> dict:
    """A batch folder's manifest.json, or a clear error saying what is wrong with the folder."""
    path = Path(folder) / "manifest.json"
    if not Path(folder).is_dir():
        raise RunFolderError(f"{folder}: not a folder")
    run = (Path(folder) / "summary.json").is_file()
    hint = " (it is a `sim run` folder: only batches resume)" if run else ""
    if not path.is_file():
        raise RunFolderError(f"{folder}: not a batch folder (no manifest.json){hint}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunFolderError(f"{path}: damaged, not readable JSON ({error}); the chunks are still there, but "
                             "the plan cannot be trusted: start the batch again") from None
    if not isinstance(manifest, dict):
        raise RunFolderError(f"{path}: damaged: expected a JSON object")
    if "batch_id" not in manifest:
        raise RunFolderError(f"{folder}: not a batch folder (its manifest.json is not a batch's){hint}")
    return manifest


def load_plan(folder: Path) -> tuple[BatchPlan, dict]:
    manifest = read_manifest(folder)
    try:
        return _load_plan(folder, manifest), manifest
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        what = f"no {error}" if isinstance(error, KeyError) else "a value of the wrong type or out of range"
        raise RunFolderError(f"{Path(folder) / 'manifest.json'}: damaged or edited ({excerpt(what)}); start the "
                             "batch again") from None


def _load_plan(folder: Path, manifest: dict) -> BatchPlan:
    points = tuple(manifest["points"])
    scenarios = []
    for entry in manifest["scenarios"]:
        doc = read_document(atomic.inside(Path(folder), *Path(entry["resolved"]).parts))
        doc.root_file = entry["file"]
        planned = _planned(doc, entry["file"], points, manifest["sweep_file"] or "",
                           entry["replications_per_point"], entry["seed"])
        if [x.content_hash for x in planned.points] != entry["point_hashes"]:
            raise RunFolderError(f"{folder}: {entry['resolved']} no longer matches the manifest's hashes")
        scenarios.append(planned)
    uncertainty = None
    if manifest.get("uncertainty"):
        uncertainty = from_json(json.loads((Path(folder) / UNCERTAINTY_FILE).read_text()))
    plan = BatchPlan(tuple(scenarios), points, manifest["sweep_file"], manifest["chunk_size"],
                     manifest["keep_trajectories"], uncertainty)
    if type(plan.chunk_size) is not int or plan.chunk_size < 1:
        raise ValueError(f"chunk_size {plan.chunk_size!r}")
    if manifest.get("plan_digest") != plan.digest():  # (absent: edited, or written before digests were kept)
        raise RunFolderError(f"{Path(folder) / 'manifest.json'}: its seeds, replications, points or chunk size "
                             "disagree with the plan it was written with (edited by hand?); refusing to mix "
                             "results: start the batch again")
    return plan


def batch_scenarios(folder: Path) -> dict[str, Scenario]:
    """The scenarios a batch ran (as planned, before sweep values), by name."""
    manifest = read_manifest(folder)
    out = {}
    for entry in manifest.get("scenarios", []):
        doc = read_document(atomic.inside(Path(folder), *Path(entry["resolved"]).parts))
        out[entry["name"]] = build_scenario(doc)
    return out
