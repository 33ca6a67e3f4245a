"""US incubators: build NewCos around early Chinese assets with US venture money.

Design notes:
- Money. An incubator's fund is raised from US venture money: fund * us_venture / deploy
  months arrives each month (``fund_raise``). It pays NewCo upfronts and the NewCos' US-run
  development (``us_cost_multiple`` times the China cost, ARC25: China trial cost per patient
  is 30-50% of an MNC's) out of it, and starts a NewCo only if it holds ``reserve_months`` of
  that development besides the upfront. A NewCo whose incubator runs out of money waits.
- Appetite. Preclinical and phase 1 only, keenly (RT23: US funds put Chinese assets into
  incubated companies); it re-runs trials in the US, so it relies less on China-only data.
- Terms. A NewCo pays part of the upfront in equity to the licensor (QM24); at proof of
  concept it sells the asset on to an MNC (a second deal) and the licensor's equity share of
  the proceeds flows back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.buyers.base import Buyer
from sim.model.firms import Kind
from sim.scenarios.schema import STAGES

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


class Incubator(Buyer):
    kind = Kind.incubator
    population = "incubators"
    packages = np.array([True, True, False, False])  # global, ex_china
    budget_source = "fund_raise"

    @classmethod
    def traits(cls, model: "LicensingMarket", count: int) -> dict:
        p = model.params.incubator
        return {"revenue_usd": np.zeros(count), "cash": np.full(count, 0.25 * p.fund),
                "name": [f"US incubator {i + 1}" for i in range(count)], "region": ["US"] * count}

    @classmethod
    def budget(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        p = model.params.incubator
        return np.full(js.size, p.fund * model.drivers_now["us_venture"] / p.deploy_months)

    @classmethod
    def capacity(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        return np.full(js.size, model.params.incubator.deals_per_year / 12.0)

    @classmethod
    def appetite(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        p = model.params.incubator
        row = np.where(np.arange(len(STAGES)) <= p.max_stage, p.appetite, 0.0)
        return np.repeat(row[None, :], js.size, axis=0)

    @classmethod
    def reliance_factor(cls, model: "LicensingMarket") -> float:
        return model.params.incubator.data_reliance

    @classmethod
    def reserve(cls, model: "LicensingMarket", js: np.ndarray, assets: np.ndarray) -> np.ndarray:
        p = model.params.incubator
        cost = model.params.development.cost[model.assets.stage[assets]]
        return p.reserve_months * p.us_cost_multiple * cost

    @classmethod
    def upfront_factor(cls) -> float:
        return 1.0  # the equity part is settled in deal terms (terms.newco_upfront)

    @classmethod
    def deal_type(cls, model, package, distressed, seller_kind, core_healthy_clinical) -> str:
        return "newco"
