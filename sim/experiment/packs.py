"""Packs: small chunks of a parameter sweep run as one model, each point's values set per replication.

A step costs a fixed amount of Python work (events, recording) whatever the number of replications, so a
sweep of many points with few replications each spends most of its time on that fixed work. When the
swept keys are all parameters, several points' chunks can share one model: replication rows of point p
get point p's values (the per-replication parameters of parameter uncertainty, which give bit-identical
results to a scenario holding the value). The pack is split back into one ChunkResult per chunk, equal
to what the chunk run alone returns (tested), so chunk files, resume and outputs do not change.
Point 0 is never packed: its alignment network is the one a batch keeps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from sim.experiment.chunks import ChunkResult, ChunkSpec, run_chunk
from sim.model.model import RunResult, ScenarioModel
from sim.model.recorder import summarise_steps
from sim.scenario.documents import Document
from sim.scenario.loader import build_scenario


@dataclass(frozen=True)
class PackSpec:
    specs: tuple[ChunkSpec, ...]
    names: tuple[str, ...]  # the swept parameters

    @property
    def name(self) -> str:
        return f"{self.specs[0].name}+{len(self.specs) - 1}"

    @property
    def size(self) -> int:
        return sum(spec.size for spec in self.specs)


def packable(plan) -> tuple[str, ...] | None:
    """The swept parameter names when the plan's sweep varies only parameters (and nothing else forbids
    packing), else None."""
    keys = set().union(*(point.keys() for point in plan.points))
    if not keys or plan.uncertainty is not None or plan.keep_trajectories:
        return None
    if not all(key.startswith("parameters.") and key.count(".") == 1 for key in keys):
        return None
    if any(isinstance(value, str) for point in plan.points for value in point.values()):
        return None  # an option (a word), not a number: it cannot vary per replication
    return tuple(sorted(key.split(".", 1)[1] for key in keys))


def pack(todo: list[ChunkSpec], plan, limit: int | None = None) -> list:
    """The chunks to run, with consecutive small chunks of one scenario (point 0 excepted) gathered into packs
    of at most `limit` replications (the plan's chunk size)."""
    names = packable(plan)
    if names is None:
        return list(todo)
    limit = limit or plan.chunk_size
    out: list = []
    current: list[ChunkSpec] = []

    def close():
        if len(current) > 1:
            out.append(PackSpec(tuple(current), names))
        else:
            out.extend(current)
        current.clear()

    for spec in todo:
        if spec.point == 0 or spec.size * 2 > limit:
            close()
            out.append(spec)
            continue
        if current and (current[0].scenario != spec.scenario or sum(s.size for s in current) + spec.size > limit):
            close()
        current.append(spec)
    close()
    return out


def run_item(item):
    """run_chunk for a chunk; for a pack, one ChunkResult per chunk in it (as a list)."""
    return run_pack(item) if isinstance(item, PackSpec) else run_chunk(item)


def run_pack(item: PackSpec) -> list[ChunkResult]:
    clock = time.perf_counter()
    specs = item.specs
    base = build_scenario(Document(specs[0].data, root_file=specs[0].file))
    ids = np.concatenate([np.arange(spec.first, spec.stop) for spec in specs])
    varying = {name: np.concatenate([np.full(spec.size, float(_value(spec, name))) for spec in specs])
               for name in item.names}
    try:
        with np.errstate(all="ignore"):
            model = ScenarioModel(base, specs[0].seed, ids, True, varying, bands=False)
        result = model.run()
    except Exception:  # some replication fails: let each chunk find its own, as alone
        return [run_chunk(spec) for spec in specs]
    seconds = (time.perf_counter() - clock) / len(specs)
    out, offset = [], 0
    for spec in specs:
        rows = slice(offset, offset + spec.size)
        offset += spec.size
        out.append(_part(spec, result, rows, seconds))
    return out


def _value(spec: ChunkSpec, name: str) -> float:
    return float(spec.data["parameters"][name])  # a number, as the loader checked


def _part(spec: ChunkSpec, result: RunResult, rows: slice, seconds: float) -> ChunkResult:
    """What run_chunk(spec) returns, cut from the pack's result."""
    stats = summarise_steps(result.trajectories[:, rows, :])
    count = rows.stop - rows.start
    return ChunkResult(
        replications=result.replications[rows], outcomes={k: v[rows] for k, v in result.outcomes.items()},
        failures=[], series_sum=stats[:, 0, :] * count, stats=stats if spec.chunk == 0 else None,
        trajectories=None, seconds=seconds, drawn={},
        first_fired=result.first_fired[rows].astype(np.int32), fired_count=result.fired_count[rows].astype(np.int32),
        network=None)
