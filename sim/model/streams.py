"""Random numbers per replication, so that replication k is the same run alone or in any batch.

Replication k draws from its own PCG64 generator seeded by SeedSequence(seed, spawn_key=(k,)),
which is exactly `SeedSequence(seed).spawn(n)[k]`. Every step consumes a fixed number of
standard normals and uniforms, drawn in blocks of BLOCK_STEPS steps (a constant, so the
stream does not depend on how many replications run together).
"""

from __future__ import annotations

import numpy as np

BLOCK_STEPS = 8


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(int(replication),))


class ReplicationStreams:
    def __init__(self, seed: int, replications: np.ndarray, n_normals: int, n_uniforms: int):
        self.generators = [np.random.Generator(np.random.PCG64(replication_seed(seed, k))) for k in replications]
        count = len(self.generators)
        self._normals = np.empty((count, BLOCK_STEPS, n_normals))
        self._uniforms = np.empty((count, BLOCK_STEPS, n_uniforms))
        self._block = -1

    def draws(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(normals (R, n_normals), uniforms (R, n_uniforms)) for `step` (1-based)."""
        block, offset = divmod(step - 1, BLOCK_STEPS)
        if block != self._block:
            for generator, normals, uniforms in zip(self.generators, self._normals, self._uniforms):
                generator.standard_normal(out=normals)
                generator.random(out=uniforms)
            self._block = block
        return self._normals[:, offset, :], self._uniforms[:, offset, :]
