"""Random numbers per replication, so that replication k is the same run alone or in any batch,
and so that scenarios sharing a seed share their random numbers (common random numbers).

- Relation noise is counter-based too: replication k's N x N standard normals (float32) at step t are
  a pure function of (seed, k, t), computed where they are used (sim/model/kernels.py), never held for
  a block of steps. (Until issue 13 each replication owned an SFC64 generator, and building and filling
  10,000 of them took half of a step.)
- Event draws (firing and effect sizes) are counter-based: the uniform for (seed, replication,
  event id, step, slot) is a pure function of those five values, a SplitMix64 stream keyed by the
  seed, the replication and a hash of the event's *id*, read at position (step, slot). So an event
  keeps its draws whatever other events a variant adds, removes or switches off (template instances
  included), and only the draws an event actually needs are computed, in bulk over replications.
"""

from __future__ import annotations

import hashlib

import numpy as np

from sim.model.kernels import GOLDEN, Kernels, mix
from sim.model.kernels import kernels as default_kernels


def event_key(event_id: str) -> np.uint64:
    """A stable 64-bit key for an event id (independent of the event's position in the file)."""
    return np.uint64(int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little"))


def replication_keys(seed: int, replications: np.ndarray) -> np.ndarray:
    """A 64-bit key per replication id under `seed` (the same id gives the same key in any batch)."""
    seed_key = np.uint64(int.from_bytes(hashlib.blake2b(str(int(seed)).encode(), digest_size=8).digest(), "little"))
    with np.errstate(over="ignore"):
        return mix(np.asarray(replications, dtype=np.uint64) * np.uint64(GOLDEN) + seed_key)


class EventDraws:
    """Uniforms in [0, 1) for (replication, event, step, slot), computed only where needed."""

    def __init__(self, seed: int, replications: np.ndarray, kernels: Kernels | None = None):
        self.replication_keys = replication_keys(seed, replications)
        self.kernels = kernels or default_kernels()

    def uniforms(self, reps: np.ndarray, keys: np.ndarray, step: int, slot: int | np.ndarray) -> np.ndarray:
        """One uniform per (reps[i], keys[i]) at `step` and `slot` (arrays of equal length)."""
        slots = np.broadcast_to(np.asarray(slot, dtype=np.uint64), np.shape(reps))
        return self.kernels.uniforms(self.replication_keys, reps, keys, step, slots)


_NOISE = np.uint64(0x6E6F697365)  # "noise": the relation noise's keys, apart from the events' streams


def noise_keys(seed: int, replications: np.ndarray) -> np.ndarray:
    """The key of each replication's relation-noise stream (sim.model.kernels reads it at each step)."""
    return mix(replication_keys(seed, replications) ^ _NOISE)
