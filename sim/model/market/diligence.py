"""Diligence: talks from first contact to a signed deal, a lapse, or a failure.

Design notes:
- Work. Talks need months of diligence work: median ``diligence_months`` (RT23: ~9), times a
  stage factor (more data to check) and a novelty factor (first-in-class biology is slower,
  RT23), with log-normal spread. A cool market slows the pace: work per month is
  m / (m + cool * (1 - min(funding, 1))) (RT23: ~12 months in a cool market).
- Failure. Diligence kills the deal with probability fail + distrust_fail * distrust, read
  when it ends (RT23: non-compliant data can kill a deal). A programme that fails its
  readout during the talks ends them; one that reaches its stage gate waits there (the
  buyer will design the next trial) after reading out, so the buyer sees the data.
- Terms settle at signing. Diligence reveals the true quality; the buyer re-values the
  package in this month's climate and the programme's stage now,
  v = W_open * basis_now / basis_open * reading; the seller's ask is re-read at this
  month's climate and runway. The deal signs only if (1 - hurdle) * v >= ask, at
  P = min(v, max(ask + seller_power * (v - ask), rival)), and only if the buyer can pay
  the upfront from its BD account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import ACTIVE
from sim.model.assets import N_REGIONS, all_columns
from sim.model.market import terms
from sim.model.market.offers import asks
from sim.model.market.valuation import climate, distrust

if TYPE_CHECKING:
    from sim.model.market.offers import Offers
    from sim.model.model import LicensingMarket

class TalksTable:
    """Talks in progress, one row each (columns)."""

    COLUMNS = {"asset": np.int64, "seller": np.int64, "buyer": np.int64, "package": np.int64, "value": float,
               "basis": float, "rival": float, "start": np.int64, "work": float, "done": float,
               "distressed": bool, "stage": np.int64}

    def __init__(self) -> None:
        for name, dtype in self.COLUMNS.items():
            setattr(self, name, np.zeros(0, dtype=dtype))
        self.mask = np.zeros((0, N_REGIONS), bool)

    @property
    def n(self) -> int:
        return int(self.asset.size)

    def append(self, **cols: np.ndarray) -> None:
        for name, values in cols.items():
            old = getattr(self, name)
            setattr(self, name, np.concatenate([old, np.asarray(values, dtype=old.dtype)]))

    def take(self, keep: np.ndarray) -> dict[str, np.ndarray]:
        """Remove the rows not in ``keep``; return the removed rows as columns."""
        drop = ~keep
        gone = {name: getattr(self, name)[drop] for name in [*self.COLUMNS, "mask"]}
        for name in [*self.COLUMNS, "mask"]:
            setattr(self, name, getattr(self, name)[keep])
        return gone


def work(model: "LicensingMarket", assets: np.ndarray) -> np.ndarray:
    """Months of diligence work at a normal pace."""
    d, a = model.params.diligence, model.assets
    median = d.months * d.stage_factor[a.stage[assets]] * d.novelty_factor[a.novelty[assets]]
    return np.maximum(1.0, median * model.rng.lognormal(0.0, d.spread, assets.size))


def pace(model: "LicensingMarket") -> float:
    d = model.params.diligence
    slow = d.cool_months * max(0.0, 1.0 - min(model.drivers_now["funding"], 1.0))
    return d.months / (d.months + slow)


def open_talks(model: "LicensingMarket", offers: "Offers", o: np.ndarray, j: np.ndarray, value: np.ndarray,
               basis: np.ndarray, rival: np.ndarray) -> None:
    assets = offers.asset[o]
    model.assets.in_talks[assets] = True
    model.talks.append(asset=assets, seller=offers.seller[o], buyer=j, package=offers.package[o], value=value,
                       basis=basis, rival=rival, start=np.full(o.size, model.month), work=work(model, assets),
                       done=np.zeros(o.size), distressed=offers.distressed[o],
                       stage=model.assets.stage[assets])
    model.talks.mask = np.concatenate([model.talks.mask, offers.mask[o]])


def close_talks(model: "LicensingMarket") -> None:
    """Advance every talk by this month's pace; settle those whose work is done."""
    t = model.talks
    if t.n == 0:
        return
    t.done += pace(model)
    d = t.take(t.done < t.work - 1e-9)
    if d["asset"].size == 0:
        return
    a, f = model.assets, model.firms
    a.in_talks[d["asset"]] = False
    held = (a.rights[d["asset"]] == d["seller"][:, None]) | ~d["mask"]
    valid = (a.status[d["asset"]] == ACTIVE) & f.alive[d["seller"]] & all_columns(held)
    idx = valid.nonzero()[0]
    if idx.size == 0:
        return
    value_now = a.package_value(d["asset"][idx], d["mask"][idx])
    assets, js = d["asset"][idx], d["buyer"][idx]
    distrusted = distrust(model, assets, js)
    basis_now = value_now * climate(model, assets, js, distrusted)
    p = model.params
    failed = model.rng.random(idx.size) < p.diligence.fail + p.diligence.distrust_fail * distrusted
    reading = np.exp(-0.5 * model.rng.normal(0.0, p.valuation.quality_noise, idx.size))
    true_value = d["value"][idx] * basis_now / np.maximum(d["basis"][idx], 1e-12) * reading
    ask = asks(model, d["asset"][idx], d["seller"][idx], value_now)
    agreed = ~failed & ((1.0 - p.valuation.hurdle) * true_value >= ask)
    price = np.minimum(true_value, np.maximum(ask + p.valuation.seller_power * (true_value - ask), d["rival"][idx]))
    model.month_failed += int((~agreed).sum())
    ok = agreed.nonzero()[0]
    if ok.size == 0:
        return
    rows = idx[ok]
    payout = a.milestone_payout(d["asset"][rows], p.terms.sales_milestone_share)
    runway = f.runway(d["seller"][rows])
    for k, row_i in enumerate(rows):
        row = {name: d[name][row_i] for name in d}
        if not terms.sign(model, row, float(price[ok[k]]), float(distrusted[ok[k]]), float(payout[k]),
                          float(runway[k])):
            model.month_failed += 1
