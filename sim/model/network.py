"""The alignment network at chosen steps, and camp membership over time, summed over replications so
that chunks of a batch add up: mean relations, mean capability, the share of runs in which two actors
share a camp, and the commonest split into camps with its share of runs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.rules import local_camps

SNAPSHOTS = 4  # default: the start, two dates between, and the end


def default_steps(steps: int) -> tuple[int, ...]:
    return tuple(sorted({round(k * steps / (SNAPSHOTS - 1)) for k in range(SNAPSHOTS)}))


@dataclass
class NetworkRecord:
    steps: tuple[int, ...]        # snapshot steps
    count: int                    # replications summed
    relations: np.ndarray         # (K, N, N) sums of relations
    capability: np.ndarray        # (K, N) sums of capability
    together: np.ndarray          # (K, N, N) runs in which i and j share a camp
    splits: list[dict]            # per snapshot: camp signs (actor 0 in +1) as a string of +/- -> runs
    with_first: np.ndarray        # (T + 1, N) per step, runs in which each actor shares actor 0's camp
                                  # (NaN rows at steps where camps were not computed)

    def merge(self, other: NetworkRecord) -> NetworkRecord:
        splits = [dict(a) for a in self.splits]
        for mine, theirs in zip(splits, other.splits):
            for key, runs in theirs.items():
                mine[key] = mine.get(key, 0) + runs
        return NetworkRecord(self.steps, self.count + other.count, self.relations + other.relations,
                             self.capability + other.capability, self.together + other.together, splits,
                             self.with_first + other.with_first)

    def modal_split(self, k: int) -> tuple[str, float]:
        """The commonest split at snapshot k and the share of runs that have it."""
        if not self.splits[k] or not self.count:
            return "", 0.0
        key, runs = max(sorted(self.splits[k].items()), key=lambda item: item[1])
        return key, runs / self.count


class NetworkRecorder:
    def __init__(self, steps: tuple[int, ...], n: int, total_steps: int, replications: int):
        self.steps = tuple(steps)
        k = len(self.steps)
        self.relations = np.zeros((k, n, n))
        self.capability = np.zeros((k, n))
        self.together = np.zeros((k, n, n))
        self.splits: list[dict] = [{} for _ in range(k)]
        self.with_first = np.full((total_steps + 1, n), np.nan)
        self.count = replications

    def observe(self, step: int, relations: np.ndarray, capability: np.ndarray, camps: np.ndarray | None) -> None:
        """At every step: camp membership when camps are kept; at snapshot steps, the network too (camps
        found here by local search when the run does not keep them)."""
        if camps is not None:
            self.with_first[step] = (camps == camps[:, :1]).sum(axis=0)
        if step not in self.steps:
            return
        k = self.steps.index(step)
        if camps is None:
            camps = local_camps(relations, np.maximum(capability, 0.0), np.ones(capability.shape))
        self.relations[k] = relations.sum(axis=0)
        self.capability[k] = capability.sum(axis=0)
        self.together[k] = (camps[:, :, None] == camps[:, None, :]).sum(axis=0)
        self.splits[k] = split_counts(camps * camps[:, :1] > 0)

    def finish(self) -> NetworkRecord:
        return NetworkRecord(self.steps, self.count, self.relations, self.capability, self.together, self.splits,
                             self.with_first)


def split_counts(together: np.ndarray) -> dict[str, int]:
    """{"++-+...": runs} for (R, N) rows of "with the first actor", in the rows' order as np.unique(axis=0) sorts
    them. Up to 63 actors a row is read as a binary number (the first actor its highest bit), and the numbers
    are counted: np.unique over rows sorts them as bytes, ten times slower."""
    n = together.shape[1]
    if n > 63:
        keys, runs = np.unique(together.astype(np.uint8), axis=0, return_counts=True)
    else:
        weights = np.left_shift(np.uint64(1), np.arange(n - 1, -1, -1, dtype=np.uint64))
        codes, runs = np.unique(together.astype(np.uint64) @ weights, return_counts=True)
        keys = (codes[:, None] & weights) > 0
    return {"".join("+" if v else "-" for v in key): int(c) for key, c in zip(keys, runs)}


def network_to_json(record: NetworkRecord) -> dict:
    return {"steps": list(record.steps), "count": record.count, "relations": record.relations.tolist(),
            "capability": record.capability.tolist(), "together": record.together.tolist(), "splits": record.splits,
            "with_first": [[None if v != v else v for v in row] for row in record.with_first.tolist()]}


def network_from_json(data: dict) -> NetworkRecord:
    return NetworkRecord(tuple(data["steps"]), int(data["count"]), np.array(data["relations"], dtype=np.float64),
                         np.array(data["capability"], dtype=np.float64), np.array(data["together"], dtype=np.float64),
                         [dict(x) for x in data["splits"]],
                         np.array([[np.nan if v is None else v for v in row] for row in data["with_first"]],
                                  dtype=np.float64))
