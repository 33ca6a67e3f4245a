"""Contracts in force: milestones, royalties, and why licences end.

Design notes:
- Milestones. Development and regulatory milestones fall due when the programme moves up a
  stage; the sales milestone ``sales_milestone_months`` after approval. The current holder
  of the rights pays from its BD account; what it cannot pay yet is owed and paid first
  from later allocations (nobody spends money it does not have).
- Royalties. After approval the licensee's sales in its territory ramp up over
  ``launch_ramp_months``; it pays the royalty on them out of that revenue (declared:
  ``revenue``), and the sales add to the revenue its BD budget is a share of (in-licensing
  refills a patent-cliff gap). The originator keeps its China margin on China sales.
- Ends. A deal ends (ARC25: failed trials, regulatory change, buyer strategy shifts):
  * when its programme fails a trial (``failed_trial``);
  * when the licensee returns the rights for strategy reasons, at a yearly hazard that is
    lower the later the stage at signing (QM24): h = h2 * decay^(stage - phase 2);
  * when trust in China data falls below what licensees expected (a regulatory or
    data-compliance shock) on programmes resting on China-only data:
    h = regulatory_hazard * (expected trust - trust).
  * when the product loses exclusivity (``exclusivity_lost``), as its sales end.
  Returned deals (strategy, regulatory) give the rights back to the licensor: that is RT23's
  "returned" count (10 of 149 in 2018-2023). A failed trial is not a return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import ACTIVE, BIOTECH, LAPSED, PHASE2
from sim.model.assets import APPROVED, CN, US
from sim.model.market.terms import pay

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


def _deals_on(model: "LicensingMarket", live: np.ndarray, assets: np.ndarray) -> np.ndarray:
    """The live deals (of ``live``) whose programme is one of ``assets``."""
    hit = np.zeros(model.assets.n, dtype=bool)
    hit[assets] = True
    return live[hit[model.ledger.asset[live]]]


def holder(model: "LicensingMarket", deals: np.ndarray) -> np.ndarray:
    """Firm holding the rights of each deal now (its licensee, or whoever it passed them to)."""
    led = model.ledger
    return model.assets.rights[led.asset[deals], led.region0[deals]]


def on_advance(model: "LicensingMarket", assets: np.ndarray) -> None:
    """Development milestones fall due on live deals whose programme moved up a stage."""
    if assets.size == 0 or model.ledger.n == 0:
        return
    led = model.ledger
    live = led.live()
    hit = _deals_on(model, live, assets)
    led.owed[hit] += led.dev_milestone[hit]
    settle(model)


def settle(model: "LicensingMarket") -> None:
    """Pay owed milestones as far as each payer's BD account allows (oldest deals first)."""
    led, f = model.ledger, model.firms
    due = (led.owed[: led.n] > 0).nonzero()[0]
    if due.size == 0:
        return
    for deal, payer in zip(due.tolist(), holder(model, due).tolist()):  # paying moves no rights
        licensor = int(led.licensor[deal])
        if not f.alive[licensor] or not led.active[deal]:
            led.owed[deal] = 0.0  # nobody left to pay, or the contract is over
            continue
        amount = min(float(led.owed[deal]), float(f.cash[payer]))
        if amount > 0:
            pay(model, payer, licensor, amount, "milestone", int(led.asset[deal]))
            led.owed[deal] -= amount
            led.pay_milestone(int(deal), amount)


def on_failure(model: "LicensingMarket", assets: np.ndarray) -> None:
    """Deals on programmes whose trial failed end with them."""
    if assets.size == 0 or model.ledger.n == 0:
        return
    led = model.ledger
    live = led.live()
    for deal in _deals_on(model, live, assets):
        led.terminate(int(deal), model.date, "failed_trial")


def terminations(model: "LicensingMarket") -> int:
    """Licensees return rights: strategy shifts, and regulatory change when trust falls."""
    led, a, c = model.ledger, model.assets, model.params.contracts
    live = led.live()
    if live.size == 0:
        return 0
    live = live[holder(model, live) == led.licensee[live]]  # only the current holder can hand rights back
    if live.size == 0:
        return 0
    strategy = c.strategy_hazard * c.strategy_stage_decay ** (led.stage_at_signing[live] - PHASE2)
    china_only = ~a.global_data[led.asset[live]]
    regulatory = c.regulatory_hazard * model.beliefs.trust_fall * china_only
    draw = model.rng.random(live.size) * 12.0
    reg_end = draw < regulatory
    strat_end = ~reg_end & (draw < regulatory + strategy)
    for deal, reason in [(d, "regulatory") for d in live[reg_end]] + [(d, "strategy") for d in live[strat_end]]:
        asset, mask, licensor = int(led.asset[deal]), led.regions[deal], int(led.licensor[deal])
        a.rights[asset][mask] = licensor
        if mask[US]:
            a.developer[asset] = licensor
            a.speed[asset] = 1.0
        led.terminate(int(deal), model.date, reason)
    model.month_returned = int(reg_end.sum() + strat_end.sum())
    return model.month_returned


def launch_ramp(model: "LicensingMarket", assets: np.ndarray) -> np.ndarray:
    """Share of peak sales approved products reach this month: linear over ``launch_ramp_months``."""
    a = model.assets
    months = model.month - a.approved_month[assets]
    return np.minimum(np.maximum(months / model.params.development.launch_ramp_months, 0.0), 1.0)


def royalties_and_sales(model: "LicensingMarket") -> None:
    """Approved programmes earn sales: licensees pay royalties, originators keep China margins."""
    a, led, f, p = model.assets, model.ledger, model.firms, model.params
    n = a.n
    approved = ((a.status[:n] == ACTIVE) & (a.stage[:n] == APPROVED)).nonzero()[0]
    # Products that lose exclusivity stop earning; the deals on them run out.
    lapse = model.month - a.approved_month[approved] >= p.development.exclusivity_months
    lapsing = approved[lapse]
    if lapsing.size:
        a.status[lapsing] = LAPSED
        live = led.live()
        for deal in _deals_on(model, live, lapsing):
            led.terminate(int(deal), model.date, "exclusivity_lost")
        approved = approved[~lapse]
    if approved.size == 0:
        return
    monthly = a.peak_sales(approved) / 12.0 * launch_ramp(model, approved)
    cn = a.rights[approved, CN]
    own = f.alive[cn] & (f.kind[cn] == BIOTECH)
    f.source(cn[own], p.development.china_margin * monthly[own] * p.development.region_share[CN], "revenue")
    if led.n == 0:
        return
    live = led.live()
    on_market = _deals_on(model, live, approved)
    on_market = on_market[f.alive[led.licensor[on_market]]]
    if on_market.size == 0:
        return
    assets = led.asset[on_market]
    share = led.regions[on_market] @ p.development.region_share
    sales = a.peak_sales(assets) / 12.0 * launch_ramp(model, assets) * share
    royalty = led.royalty[on_market] * sales
    payers, payees = holder(model, on_market), led.licensor[on_market]
    # In-licensed launches refill the licensee's revenue (and so its BD budget): a year's worth.
    f.licensed_sales[: f.n] = np.bincount(payers, weights=12.0 * sales, minlength=f.n)
    # The royalty is paid out of the licensee's product revenue (declared), not its BD budget.
    f.source(payers, royalty, "revenue")
    f.transfer_many(payers, payees, royalty, "royalty")
    months_on = model.month - a.approved_month[assets]
    due = on_market[(months_on == p.terms.sales_milestone_months) & (led.sales_milestone[on_market] > 0)]
    led.owed[due] += led.sales_milestone[due]
