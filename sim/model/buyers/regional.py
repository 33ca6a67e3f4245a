"""Regional licensees (Japan, Korea, South-East Asia, Middle East, India).

Design notes: they buy the rights of one region to late-stage or approved programmes with
plenty of clinical data (RT23, QM24: Saudi approval in 12-18 months on a small bridging
study), keenest on filed and approved ones; China data largely suffices for them
(``data_reliance``). A fast follower sells as well in these markets as a first-in-class
drug, so they value novelty as the seller does. Their BD budget is a share of revenue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import FILED
from sim.model.buyers.base import Buyer
from sim.model.firms import Kind
from sim.scenarios.schema import LICENSEE_REGIONS, REGIONS, STAGES

if TYPE_CHECKING:
    from sim.model.market.offers import Offers
    from sim.model.model import LicensingMarket


class RegionalLicensee(Buyer):
    kind = Kind.regional
    population = "regional"
    packages = np.array([False, False, False, True])

    @classmethod
    def traits(cls, model: "LicensingMarket", count: int) -> dict:
        p, rng = model.params.regional, model.rng
        revenue = p.revenue * rng.lognormal(0.0, p.revenue_spread, count)
        regions = [LICENSEE_REGIONS[i % len(LICENSEE_REGIONS)] for i in range(count)]
        return {"revenue_usd": revenue, "cash": revenue * model.params.mnc.bd_budget_share,
                "home": np.array([REGIONS.index(r) for r in regions]),
                "name": [f"Regional licensee {i + 1} ({r})" for i, r in enumerate(regions)], "region": regions}

    @classmethod
    def budget(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        return cls.revenue_budget(model, js)

    @classmethod
    def capacity(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        return np.full(js.size, model.params.regional.deals_per_year / 12.0)

    @classmethod
    def appetite(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        p = model.params.regional
        stages = np.arange(len(STAGES))
        row = np.where(stages >= p.min_stage, 1.0, 0.0) * np.where(stages >= FILED, p.late_appetite, 1.0)
        return np.repeat(row[None, :], js.size, axis=0)

    @classmethod
    def reliance_factor(cls, model: "LicensingMarket") -> float:
        return model.params.regional.data_reliance

    @classmethod
    def screen(cls, model: "LicensingMarket", offers: "Offers", js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        o, k = super().screen(model, offers, js)
        home = offers.region[o] == model.buyers.home[js[k]]
        return o[home], k[home]

    @classmethod
    def value(cls, model, offers, o, js, distrusted):
        W, basis = super().value(model, offers, o, js, distrusted)
        ratio = model.params.seller.own_novelty_ratio[model.assets.novelty[offers.asset[o]]]
        return W * ratio, basis * ratio
