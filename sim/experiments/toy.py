"""Stand-in run functions for testing and benchmarking the batch machinery without the model.

(:func:`model_failing` wraps the real model, to test that a failing run leaves the others.)

Each is a picklable top-level ``run_fn(task) -> dict`` like :func:`sim.experiments.tasks.run_model`,
deterministic in the task's seed and parameters.
"""

from __future__ import annotations

import os

import numpy as np

from sim.experiments.tasks import RunOutput, Task, run_model


def toy_run(task: Task) -> dict[str, float]:
    """Outcome k = (k + 1) * (sum of numeric parameters) + normal noise (sd 0.1) from the seed."""
    rng = np.random.default_rng(task.seed)
    x = sum(float(v) for _, v in task.params if isinstance(v, (int, float)) and not isinstance(v, bool))
    return {name: (k + 1) * x + 0.1 * float(rng.normal()) for k, name in enumerate(task.outcomes)}


def toy_run_failing(task: Task) -> dict[str, float]:
    """As :func:`toy_run`, but replication 0 of point 1 raises."""
    if task.point == 1 and task.replication == 0:
        raise RuntimeError(f"boom at point {task.point}")
    return toy_run(task)


def toy_run_crash(task: Task) -> dict[str, float]:
    """As :func:`toy_run`, but replication 1 of point 2 kills its worker process."""
    if task.point == 2 and task.replication == 1:
        os._exit(17)
    return toy_run(task)


def model_failing(task: Task) -> RunOutput:
    """The real model (:func:`~sim.experiments.tasks.run_model`), but replication 0 of point 1 raises."""
    if task.point == 1 and task.replication == 0:
        raise ValueError(f"deliberate failure at point {task.point}, replication {task.replication}")
    return run_model(task)
