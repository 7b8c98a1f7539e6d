"""A chunk: a range of replications of one scenario at one sweep point. Running one is a pure
function of its spec, so any process, executor or resumed batch produces the same bytes."""

from __future__ import annotations

import hashlib
import io
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.experiment import atomic
from sim.model.model import run_scenario
from sim.model.network import NetworkRecord, network_from_json, network_to_json
from sim.scenario.documents import Document
from sim.scenario.loader import build_scenario
from sim.scenario.uncertainty import Uncertainty


@dataclass(frozen=True)
class ChunkSpec:
    scenario: int          # index of the scenario in the batch
    point: int             # index of the sweep point (0 without a sweep)
    chunk: int             # index of the chunk within (scenario, point)
    first: int             # replication ids first..stop-1
    stop: int
    seed: int
    keep_trajectories: bool
    file: str = field(compare=False)
    data: dict = field(compare=False, repr=False)  # the resolved scenario document at this point
    uncertainty: Uncertainty | None = field(default=None, compare=False, repr=False)
    scenario_hash: str = ""  # the content hash of the scenario at this point: part of the chunk's identity
    skip: tuple[tuple[int, str], ...] = field(default=(), compare=False)  # (replication, why): known to kill

    def identity(self) -> dict:
        """What a chunk file must say it holds to be trusted on resume."""
        return {"scenario": self.scenario, "point": self.point, "chunk": self.chunk, "first": self.first,
                "stop": self.stop, "seed": self.seed, "scenario_hash": self.scenario_hash,
                "keep_trajectories": self.keep_trajectories}

    @property
    def name(self) -> str:
        return f"s{self.scenario:03d}-p{self.point:05d}-c{self.chunk:05d}"

    @property
    def size(self) -> int:
        return self.stop - self.first


@dataclass
class ChunkResult:
    replications: np.ndarray                 # the ids that succeeded
    outcomes: dict[str, np.ndarray]
    failures: list[tuple[int, str]]          # (replication id, traceback)
    series_sum: np.ndarray | None            # (steps + 1, S): sum over the chunk's replications
    stats: np.ndarray | None                 # (steps + 1, 6, S) quantile bands, first chunk of a point only
    trajectories: np.ndarray | None          # (steps + 1, R, S) with --keep-trajectories
    seconds: float = 0.0
    drawn: dict[str, np.ndarray] = field(default_factory=dict)  # uncertain parameter -> (R,) values
    first_fired: np.ndarray | None = None    # (R, E) step each event first fired, -1 = never
    fired_count: np.ndarray | None = None    # (R, E) times it fired
    network: NetworkRecord | None = None     # sums over the chunk's replications (chunks add up)


def simulate(scenario, seed, replications, keep_trajectories, uncertainty=None, bands=True):
    """Kept separate so that tests can make chosen replications fail."""
    return run_scenario(scenario, seed=seed, replications=replications, keep_trajectories=keep_trajectories,
                        uncertainty=uncertainty, bands=bands)


def _failing(scenario, spec: ChunkSpec, ids: list[int], known_bad: bool = False) -> list[tuple[int, str]]:
    """The replications among ids that fail, found by halving: about 2 log2(n) runs of shrinking size for one
    bad replication, not n runs of one (replications are independent, so a half that runs is clean).
    `known_bad`: ids together are known to fail (so start with the halves)."""
    if not known_bad:
        try:
            simulate(scenario, spec.seed, ids, False, spec.uncertainty, bands=False)
            return []
        except Exception:
            if len(ids) == 1:
                return [(ids[0], traceback.format_exc())]
    half = len(ids) // 2
    return _failing(scenario, spec, ids[:half]) + _failing(scenario, spec, ids[half:])


def run_chunk(spec: ChunkSpec) -> ChunkResult:
    clock = time.perf_counter()
    scenario = build_scenario(Document(spec.data, root_file=spec.file))
    skipped = dict(spec.skip)
    ids = [k for k in range(spec.first, spec.stop) if k not in skipped]
    failures: list[tuple[int, str]] = []
    try:
        result = simulate(scenario, spec.seed, ids, spec.keep_trajectories, spec.uncertainty,
                          bands=spec.chunk == 0) if ids else None  # a point's bands come from its first chunk
    except Exception:
        failures = _failing(scenario, spec, ids, known_bad=True) if len(ids) > 1 else [
            (ids[0], traceback.format_exc())]
        bad = {k for k, _ in failures}
        good = [k for k in ids if k not in bad]
        result = simulate(scenario, spec.seed, good, spec.keep_trajectories, spec.uncertainty,
                          bands=spec.chunk == 0) if good else None
    failures = sorted(failures + list(skipped.items()))
    if result is None:
        return ChunkResult(np.array([], dtype=np.int64), {}, failures, None, None, None,
                           time.perf_counter() - clock)
    count = len(result.replications)
    return ChunkResult(
        replications=result.replications, outcomes=result.outcomes, failures=failures,
        series_sum=result.stats[:, 0, :] * count, stats=result.stats if spec.chunk == 0 else None,
        trajectories=result.trajectories, seconds=time.perf_counter() - clock, drawn=result.drawn,
        first_fired=_compact(result.first_fired), fired_count=_compact(result.fired_count), network=result.network)


def _compact(steps: np.ndarray) -> np.ndarray:
    """Steps and counts fit in 32 bits (a scenario has far fewer steps); halves the chunk files."""
    return steps.astype(np.int32)


def save_chunk(folder: Path, spec: ChunkSpec, result: ChunkResult) -> Path:
    """One .npz per chunk holding its identity and a SHA-256 of its arrays, so that a damaged, edited or
    swapped file is recognised on resume (and run again) instead of being trusted."""
    arrays = {"identity": np.array(json.dumps(spec.identity(), sort_keys=True)),
              "replications": result.replications,
              "failed": np.array([k for k, _ in result.failures], dtype=np.int64),
              "tracebacks": np.array([t for _, t in result.failures], dtype=str),
              "seconds": np.array(result.seconds)}
    for key, values in result.outcomes.items():
        arrays[f"outcome:{key}"] = values
    for key in ("series_sum", "stats", "trajectories", "first_fired", "fired_count"):
        if getattr(result, key) is not None:
            arrays[key] = getattr(result, key)
    for key, values in result.drawn.items():
        arrays[f"drawn:{key}"] = values
    if result.network is not None:
        arrays["network"] = np.array(json.dumps(network_to_json(result.network)))
    arrays["checksum"] = np.array(_checksum(arrays))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = Path(folder) / f"{spec.name}.npz"
    atomic.write_bytes(path, buffer.getvalue(), durable=False)  # torn by a power cut: its checksum fails on resume
    return path


def _checksum(arrays: dict) -> str:
    digest = hashlib.sha256()
    for key in sorted(k for k in arrays if k != "checksum"):
        value = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}:{value.dtype.str}:{value.shape}:".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


class BadChunk(Exception):
    """A chunk file that cannot be trusted: unreadable, its checksum wrong, or holding another chunk."""


def check_chunk(path: Path, spec: ChunkSpec) -> None:
    """Raise BadChunk unless the file at path is whole and is spec's chunk."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise BadChunk("missing") from None
    except Exception as error:  # zipfile, zlib, numpy format errors: any damage to the bytes
        raise BadChunk(f"damaged, unreadable ({type(error).__name__})") from None
    if "checksum" not in arrays or "identity" not in arrays:
        raise BadChunk("no checksum (written by an older version, or not a chunk)")
    if str(arrays["checksum"]) != _checksum(arrays):
        raise BadChunk("damaged, its checksum does not match its contents")
    if json.loads(str(arrays["identity"])) != json.loads(json.dumps(spec.identity())):
        raise BadChunk("holds another chunk's replications (its identity differs from the plan's)")


def load_chunk(path: Path) -> ChunkResult:
    with np.load(path, allow_pickle=False) as data:
        outcomes = {key.split(":", 1)[1]: data[key] for key in data.files if key.startswith("outcome:")}
        get = (lambda key: data[key] if key in data.files else None)
        drawn = {key.split(":", 1)[1]: data[key] for key in data.files if key.startswith("drawn:")}
        return ChunkResult(data["replications"], outcomes,
                           list(zip(data["failed"].tolist(), data["tracebacks"].tolist())),
                           get("series_sum"), get("stats"), get("trajectories"), float(data["seconds"]), drawn,
                           get("first_fired"), get("fired_count"),
                           network_from_json(json.loads(str(data["network"]))) if "network" in data.files else None)
