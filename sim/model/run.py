"""Run one scenario for one seed, end to end, and free the model afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import mesa
import pandas as pd

from sim.model.model import LicensingMarket
from sim.scenarios.schema import Scenario


@dataclass
class RunResult:
    """The outputs of one run: the deal ledger and the monthly series."""

    deals: pd.DataFrame
    monthly: pd.DataFrame
    seed: int
    replication: int


def simulate(scenario: Scenario, seed: int, replication: int = 0,
             on_month: Callable[[LicensingMarket], None] | None = None) -> RunResult:
    """Run ``scenario`` from start to end with ``seed``; return plain tables.

    The model is dismantled before returning: Mesa 3.3.1 never frees a model that had
    agents (``Agent._ids`` keeps it), which would make long-lived workers grow without bound.
    """
    model = LicensingMarket(scenario, seed=seed)
    try:
        while model.running:
            model.step()
            if on_month is not None:
                on_month(model)
        deals = model.deals_frame()
        monthly = model.monthly_frame()
    finally:
        release(model)
    deals.insert(0, "seed", seed)
    deals.insert(0, "replication", replication)
    monthly.insert(0, "replication", replication)
    return RunResult(deals=deals, monthly=monthly, seed=seed, replication=replication)


def release(model: LicensingMarket) -> None:
    """Drop every reference Mesa keeps to a finished model (3.3.1 leak)."""
    model.remove_all_agents()
    getattr(mesa.Agent, "_ids", {}).pop(model, None)


def replication_seeds(root: int, n: int) -> list[int]:
    """Seeds of ``n`` replications, children of ``root`` via ``SeedSequence.spawn``.

    Replication r of a root seed is always the same run, whatever the number of
    replications asked for or the order in which they run (common random numbers).
    """
    import numpy as np

    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in np.random.SeedSequence(root).spawn(n)]


def _run_one(args: tuple[Scenario, int, int]) -> RunResult:
    scenario, seed, replication = args
    return simulate(scenario, seed, replication)


def run_replications(scenario: Scenario, seeds: list[int], workers: int = 1,
                     on_done: Callable[[RunResult], None] | None = None) -> list[RunResult]:
    """Run one replication per seed (in worker processes when ``workers`` > 1), in seed order.

    Worker processes use the ``spawn`` start method (Mesa forces it) and are recycled
    every few tasks, which keeps memory bounded despite Mesa 3.3.1's model leak.
    """
    tasks = [(scenario, s, r) for r, s in enumerate(seeds)]
    results: list[RunResult | None] = [None] * len(tasks)
    if workers <= 1 or len(tasks) <= 1:
        for i, task in enumerate(tasks):
            results[i] = _run_one(task)
            if on_done:
                on_done(results[i])
        return results  # type: ignore[return-value]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, max_tasks_per_child=8) as pool:
        futures = {pool.submit(_run_one, task): i for i, task in enumerate(tasks)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            if on_done:
                on_done(results[i])
    return results  # type: ignore[return-value]
