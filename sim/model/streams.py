"""Random numbers per replication, so that replication k is the same run alone or in any batch,
and so that scenarios sharing a seed share their random numbers (common random numbers).

- Relation noise: replication k owns an SFC64 stream seeded by SeedSequence(seed, spawn_key=(k, 0))
  (the first child of `SeedSequence(seed).spawn(n)[k]`): N x N standard normals (float32) per step,
  filled in blocks of BLOCK_STEPS. (SFC64 rather than PCG64: twice as fast here, and the noise is a
  large share of a step.)
- Event draws (firing and effect sizes) are counter-based: the uniform for (seed, replication,
  event id, step, slot) is a pure function of those five values, a SplitMix64 stream keyed by the
  seed, the replication and a hash of the event's *id*, read at position (step, slot). So an event
  keeps its draws whatever other events a variant adds, removes or switches off (template instances
  included), and only the draws an event actually needs are computed, in bulk over replications.
"""

from __future__ import annotations

import hashlib

import numpy as np

BLOCK_STEPS = 8
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_SLOT_BITS = 16  # position in an event's stream: step << 16 | slot (the loader caps effects per event well below)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (a bijection on 64-bit integers), elementwise and in place."""
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


def event_key(event_id: str) -> np.uint64:
    """A stable 64-bit key for an event id (independent of the event's position in the file)."""
    return np.uint64(int.from_bytes(hashlib.blake2b(event_id.encode(), digest_size=8).digest(), "little"))


class EventDraws:
    """Uniforms in [0, 1) for (replication, event, step, slot), computed only where needed."""

    def __init__(self, seed: int, replications: np.ndarray):
        seed_key = np.uint64(int.from_bytes(hashlib.blake2b(str(int(seed)).encode(), digest_size=8).digest(),
                                            "little"))
        with np.errstate(over="ignore"):
            self.replication_keys = _mix(np.asarray(replications, dtype=np.uint64) * _GOLDEN + seed_key)

    def uniforms(self, reps: np.ndarray, keys: np.ndarray, step: int, slot: int | np.ndarray) -> np.ndarray:
        """One uniform per (reps[i], keys[i]) at `step` and `slot` (arrays of equal length)."""
        with np.errstate(over="ignore"):
            state = _mix(self.replication_keys[reps] ^ keys)  # the start of this (replication, event) stream
            position = (np.uint64(step) << np.uint64(_SLOT_BITS)) + np.asarray(slot, dtype=np.uint64)
            state += (position + np.uint64(1)) * _GOLDEN
            return (_mix(state) >> np.uint64(11)) * (1.0 / (1 << 53))


class NoiseStreams:
    """Per-replication standard normals for the relation noise, N x N per step."""

    def __init__(self, seed: int, replications: np.ndarray, n_normals: int):
        self.generators = [np.random.Generator(np.random.SFC64(
            np.random.SeedSequence(seed, spawn_key=(int(k), 0)))) for k in replications]
        self._normals = np.empty((len(replications), BLOCK_STEPS, n_normals), dtype=np.float32)
        self._block = -1

    def normals(self, step: int) -> np.ndarray:
        """(R, n_normals) standard normals for `step` (1-based)."""
        block, offset = divmod(step - 1, BLOCK_STEPS)
        if block != self._block:
            for gen, normals in zip(self.generators, self._normals):
                gen.standard_normal(out=normals, dtype=np.float32)
            self._block = block
        return self._normals[:, offset, :]
