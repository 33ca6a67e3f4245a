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
    """Seeds of ``n`` replications: children 0..n-1 of ``SeedSequence(root).spawn``.

    The derivation is :func:`sim.seeds.run_seed` (replication r of a root seed is
    the same run in ``run``, ``validate``, ``compare``, ``calibrate`` and a batch's point 0).
    """
    from sim.seeds import run_seed

    return [run_seed(root, r) for r in range(n)]
