"""Multinational pharma: the top MNCs facing patent cliffs, and mid-size pharma.

Design notes:
- Revenue gap. A buyer's need is the share of its revenue expiring within five years:
  gap_b(t) = exposure_b * patent_cliff(t). The driver carries the dated cliff (EV: $300B of
  brand revenue loses exclusivity in 2025-2030, peaking with Keytruda in 2028); the named
  expiries of sim/data/mncs.yaml say who is exposed: exposure = revenue_gap * (1/2 + 1/2 *
  s_b / mean s), s_b = the buyer's named expiring sales over its revenue (mid-size buyers
  draw their exposure around revenue_gap).
- Money. Revenue falls by a product's sales when it loses exclusivity (dated, [EV]). The
  BD allocation is bd_budget_share * revenue * (1 + gap_budget_elasticity * gap) a year, and
  BD capacity and search effort rise with the gap likewise: a deeper cliff buys more and pays more.
- Appetite by stage follows the home culture (RT23: US buys earliest; EU, JP, KR wait for
  phase 2 proof of concept), lifted for early assets as internal early R&D is cut
  (ARC25: large pharma's share of sponsored oncology trials fell from 60% to 28%):
  appetite[preclinical] * (x / x_ref)^e, appetite[phase 1] * (x / x_ref)^(e / 2).
- A mid-size buyer earns less from a product worldwide (``mid_commercial_reach``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np
import yaml

from sim.model.codes import INCUBATOR
from sim.model.buyers.base import GLOBAL, Buyer
from sim.model.firms import Kind
from sim.scenarios.schema import STAGES, month_index

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket

CULTURE = {"US": "US", "EU": "EU", "UK": "EU", "CH": "EU", "JP": "JP", "KR": "JP"}
MID_SIZE_REGIONS = ["US"] * 45 + ["EU"] * 20 + ["UK"] * 5 + ["CH"] * 5 + ["JP"] * 13 + ["KR"] * 12


@lru_cache(maxsize=1)
def named_mncs() -> tuple[dict, ...]:
    """The named top MNCs and their dated expiries ([EV]), parsed once per process (read-only)."""
    return tuple(yaml.safe_load(resources.files("sim.data").joinpath("mncs.yaml").read_text()))


class Mnc(Buyer):
    """A top multinational (named, with dated patent expiries)."""

    kind = Kind.mnc
    population = "top_mncs"
    packages = np.array([True, True, True, False])  # global, ex_china, us_eu_jp

    @classmethod
    def traits(cls, model: "LicensingMarket", count: int) -> dict:
        p = model.params.mnc
        named = named_mncs()
        infos = [named[i] if i < len(named) else {"name": f"MNC {i + 1}", "region": "US",
                                                  "revenue_usd": p.top_revenue, "expiries": []}
                 for i in range(count)]
        revenue = np.array([float(x["revenue_usd"]) for x in infos])
        share = np.array([sum(float(e["sales_usd"]) for e in x["expiries"]) for x in infos]) / revenue
        mean = share.mean() if share.mean() > 0 else 1.0
        exposure = p.revenue_gap * (0.5 + 0.5 * share / mean)
        model.expiries = [(month_index(str(e["date"])), i, float(e["sales_usd"]))
                          for i, x in enumerate(infos) for e in x["expiries"]]
        regions = [x["region"] for x in infos]
        return {"revenue_usd": revenue, "cash": revenue * p.bd_budget_share, "exposure": exposure,
                "appetite": cls.culture_appetite(model, regions), "name": [x["name"] for x in infos],
                "region": regions}

    @classmethod
    def culture_appetite(cls, model: "LicensingMarket", regions: list[str]) -> np.ndarray:
        table = model.params.mnc.appetite
        return np.array([table[CULTURE[r]] for r in regions]).reshape(len(regions), len(STAGES))

    @classmethod
    def deals_per_year(cls, model: "LicensingMarket") -> float:
        return model.params.mnc.top_deals_per_year

    @classmethod
    def update_revenue(cls, model: "LicensingMarket", js: np.ndarray) -> None:
        # Revenue falls when a named product loses exclusivity (dated, [EV]).
        for when, i, sales in model.expiries:
            if when == model.month_abs and i < js.size and model.month >= 0:
                row = model.buyers.row[js[i]]
                model.firms.revenue[row] = max(model.firms.revenue[row] - sales, 0.0)

    @classmethod
    def gap(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        return model.buyers.exposure[js] * model.drivers_now["patent_cliff"]

    @classmethod
    def budget(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        return cls.revenue_budget(model, js) * (1.0 + model.params.mnc.gap_budget_elasticity * cls.gap(model, js))

    @classmethod
    def capacity(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        p = model.params.mnc
        return cls.deals_per_year(model) / 12.0 * (1.0 + p.gap_capacity_elasticity * cls.gap(model, js))

    @classmethod
    def search_effort(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        # A BD team facing a revenue gap searches harder, as it starts more diligence.
        return super().search_effort(model, js) * (1.0 + model.params.mnc.gap_capacity_elasticity * cls.gap(model, js))

    @classmethod
    def appetite(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        p = model.params.mnc
        table = model.buyers.appetite[js]
        lift = (model.drivers_now["rd_externalisation"] / p.externalisation_reference) ** (
            p.externalisation_elasticity * np.array([1.0, p.externalisation_phase1_share, 0, 0, 0, 0]))
        return table * lift[None, :] * cls.reach(model)

    @classmethod
    def reach(cls, model: "LicensingMarket") -> float:
        return 1.0

    @classmethod
    def deal_type(cls, model, package, distressed, seller_kind, core_healthy_clinical) -> str:
        if package == GLOBAL and (distressed or seller_kind == INCUBATOR):
            return "acquisition"
        if core_healthy_clinical and model.rng.random() < model.params.terms.co_development_propensity:
            return "co_development"
        return "license"


class MidSizePharma(Mnc):
    """A mid-size pharma or biotech buyer (60% of 2023 counterparties, RT23)."""

    kind = Kind.mid_size
    population = "mid_size"

    @classmethod
    def traits(cls, model: "LicensingMarket", count: int) -> dict:
        p, rng = model.params.mnc, model.rng
        revenue = p.mid_revenue * rng.lognormal(0.0, p.mid_revenue_spread, count)
        regions = [MID_SIZE_REGIONS[i] for i in rng.integers(len(MID_SIZE_REGIONS), size=count)]
        exposure = p.revenue_gap * rng.uniform(0.5, 1.5, count)
        return {"revenue_usd": revenue, "cash": revenue * p.bd_budget_share, "exposure": exposure,
                "appetite": cls.culture_appetite(model, regions),
                "name": [f"Mid-size pharma {i + 1}" for i in range(count)], "region": regions}

    @classmethod
    def update_revenue(cls, model: "LicensingMarket", js: np.ndarray) -> None:
        """Mid-size buyers have no named expiries: their gap is the driver's alone."""

    @classmethod
    def deals_per_year(cls, model: "LicensingMarket") -> float:
        return model.params.mnc.mid_deals_per_year

    @classmethod
    def reach(cls, model: "LicensingMarket") -> float:
        return model.params.mnc.mid_commercial_reach
