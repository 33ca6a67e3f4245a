"""Seeds of an experiment: one root, one child per (design point, replication).

Run ``i = point * replications + replication`` gets the ``i``-th child of
``numpy.random.SeedSequence(root).spawn(n_points * replications)``. ``spawn`` makes child
``i`` as ``SeedSequence(root, spawn_key=(i,))``, so :func:`run_seed` builds it directly
(no list of a million children in memory) and gives exactly the same stream.

The integer handed to the model and recorded in the ``seed`` column is the child's first
64-bit state word shifted right by one bit, so it fits a signed 64-bit column (Parquet
INT64, DuckDB BIGINT, R, Stata)::

    seed = int(SeedSequence(root, spawn_key=(i,)).generate_state(1, numpy.uint64)[0] >> 1)

A single run is reproduced with ``simulate(scenario, seed=row.seed, replication=row.replication)``.
The design sampler (LHS, Sobol scrambling, Morris) is seeded from a separate stream,
``SeedSequence([root, 1])``, so the design never shares randomness with the runs.
"""

from __future__ import annotations

import numpy as np

from sim.seeds import run_seed  # noqa: F401  (one derivation, re-exported)


def run_index(point: int | np.ndarray, replication: int | np.ndarray, replications: int) -> int | np.ndarray:
    """Position of (point, replication) in the experiment's fixed run order (ints or arrays)."""
    return point * replications + replication


def design_seed(root: int) -> int:
    """Seed of the design sampler (below 2**32, as SALib's samplers accept)."""
    return int(np.random.SeedSequence([root, 1]).generate_state(1, dtype=np.uint32)[0])
