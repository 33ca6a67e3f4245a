"""The one derivation of a run's seed from a root seed (shared by the model's replications and
by experiments: replication r of a root seed is the same run in every command).

``run_seed(root, i)`` is the ``i``-th child of ``numpy.random.SeedSequence(root).spawn(...)``,
built directly as ``SeedSequence(root, spawn_key=(i,))``; the integer is its first 64-bit state
word shifted right by one bit, so it fits a signed 64-bit column.
"""

from __future__ import annotations

import numpy as np


def run_seed(root: int, index: int) -> int:
    """The seed of run ``index``: a non-negative integer below 2**63."""
    child = np.random.SeedSequence(root, spawn_key=(index,))
    return int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
