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


def toy_run_frames(task: Task) -> RunOutput:
    """As :func:`toy_run`, with a small deal ledger and monthly series (for kept files)."""
    import pandas as pd

    rng = np.random.default_rng(task.seed)
    n = 1 + task.point % 3
    deals = pd.DataFrame({"replication": task.replication, "deal_id": np.arange(n, dtype=np.int64),
                          "upfront_usd": rng.uniform(1e6, 1e8, n)})
    monthly = pd.DataFrame({"replication": task.replication,
                            "month": pd.date_range("2023-01-01", periods=6, freq="MS"),
                            "deals": rng.integers(0, 5, 6)})
    return RunOutput(toy_run(task), deals=deals, monthly=monthly)


def toy_run_slow(task: Task) -> dict[str, float]:
    """As :func:`toy_run`, taking ``LICSIM_TOY_SLEEP`` seconds (default 0.2): a batch that lasts."""
    import time

    time.sleep(float(os.environ.get("LICSIM_TOY_SLEEP", "0.2")))
    return toy_run(task)


def toy_run_killed_once(task: Task) -> dict[str, float]:
    """As :func:`toy_run`, but the first attempt of run (0, 0) kills its own worker process with
    SIGKILL, as ``kill -9`` from outside would (once: ``LICSIM_TOY_MARKER`` names the file that
    remembers it)."""
    import signal

    marker = os.environ.get("LICSIM_TOY_MARKER")
    if marker and task.point == 0 and task.replication == 0 and not os.path.exists(marker):
        open(marker, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)
    return toy_run(task)


def toy_run_deleting_runs(task: Task) -> dict[str, float]:
    """As :func:`toy_run`, but the last run deletes the stored run files under ``LICSIM_TOY_OUT``,
    as another process ignoring the folder's lock would: the batch ends with runs missing."""
    out = os.environ.get("LICSIM_TOY_OUT")
    if out and task.point == 1 and task.replication == 1:
        from pathlib import Path

        for f in (Path(out) / "runs").glob("chunk-*.parquet"):
            f.unlink()
    return toy_run(task)
