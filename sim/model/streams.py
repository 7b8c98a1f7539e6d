"""Random numbers per replication, so that replication k is the same run alone or in any batch,
and so that scenarios sharing a seed share their random numbers (common random numbers).

Replication k owns SeedSequence(seed, spawn_key=(k,)) (exactly `SeedSequence(seed).spawn(n)[k]`),
which spawns two PCG64 streams:
- normals (the relation noise): N x N standard normals (float32) per step, in blocks of BLOCK_STEPS;
- uniforms (event firing and effect sizes): the uniform of draw slot j at step t sits at a fixed
  position of its stream, block * 2**40 + j * BLOCK_STEPS + offset in the block, whatever the number
  of slots. Slots follow the events in file order, so a variant that adds events after the others,
  or switches one off, leaves every other event's draws exactly as they were.
"""

from __future__ import annotations

import numpy as np

BLOCK_STEPS = 8
_BLOCK_STRIDE = 2**40  # stream positions reserved per block of uniforms


def replication_seed(seed: int, replication: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=(int(replication),))


class ReplicationStreams:
    def __init__(self, seed: int, replications: np.ndarray, n_normals: int, n_uniforms: int):
        # the children of replication_seed(seed, k), i.e. its .spawn(2), built directly (faster)
        self.normal_generators = [np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(seed, spawn_key=(int(k), 0)))) for k in replications]
        self.uniform_generators = [np.random.Generator(np.random.PCG64(
            np.random.SeedSequence(seed, spawn_key=(int(k), 1)))) for k in replications]
        count = len(replications)
        self._normals = np.empty((count, BLOCK_STEPS, n_normals), dtype=np.float32)  # noise needs no more
        self._uniforms = np.empty((count, n_uniforms, BLOCK_STEPS))  # slot-major: slot j's block is contiguous
        self._block = -1

    def draws(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """(normals (R, n_normals), uniforms (R, n_uniforms)) for `step` (1-based)."""
        block, offset = divmod(step - 1, BLOCK_STEPS)
        if block != self._block:
            self._fill(block)
        return self._normals[:, offset, :], self._uniforms[:, :, offset]

    def _fill(self, block: int) -> None:
        used = self._uniforms.shape[1] * BLOCK_STEPS
        for gen, normals in zip(self.normal_generators, self._normals):
            gen.standard_normal(out=normals, dtype=np.float32)
        for gen, uniforms in zip(self.uniform_generators, self._uniforms):
            if self._block >= 0:  # move to this block's fixed start; blocks are filled in order
                gen.bit_generator.advance(_BLOCK_STRIDE * (block - self._block) - used)
            elif block:
                gen.bit_generator.advance(_BLOCK_STRIDE * block)
            gen.random(out=uniforms)
        self._block = block
