"""Chinese biotechs (licensors): financing, gating, offering, asking and distress.

Design notes (vectorised over every living biotech; runway = cash / monthly burn):
- Financing. This month's primary-financing pool is financing_pool * funding (the driver is
  the volume of money, ARC25). Founders' rounds of new biotechs come out of it first (see
  :mod:`sim.model.sector`). Biotechs whose runway is below trigger + opportunistic * E[funding]
  apply; investors see a share of them and back the best (later stage, better asset, luck)
  while the pool lasts:  round = size * e^(gain * (best stage - 1)) * funding^elasticity * LogN.
- Burn and folding. Burn = overhead + the China-run cost of programmes it develops (its
  share after licensing). A biotech that cannot pay its burn, and is not in licensing talks,
  folds: its cash is liquidated and unlicensed programmes stop. One left with no rights in
  any active programme winds down the same way (its investors take back what is left), and
  one whose products earn more than it spends pays cash beyond ``cash_hold_months`` of burn
  to its shareholders.
- Gating. A finished stage leads into a costlier one only with gate_runway months of cash at
  the new burn; otherwise, or while it is in licensing talks (the buyer will design the next
  trial, RT23), the programme reads out and waits at the gate (QM24: programmes are shopped
  when they cannot be funded).
- Offering. Core programmes (its most promising) are held to the strategy's hold stage while
  the runway allows; others are shopped, more intensely as the runway shortens; below the
  distress runway everything is shopped, global rights of clinical programmes included.
- Asking. The reservation price of a rights package (QM24: core assets are held when money
  allows; non-core go early for cash):

      ask = share * decay^max(stage - 1, 0) * (E[funding] / ref)^(e * d^stage) * optimism
            * novelty_own / novelty * V_package * (floor + (1 - floor) * min(1, runway / hold))

  times paused_ask for a programme stranded at a gate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.model.codes import ACTIVE, BIOTECH, PHASE3, WITHDRAWN
from sim.model.assets import APPROVED, CN, EX_CN, US, holds_any
from sim.model.firms import Kind

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket

# Markets to look in for a programme its originator still holds, the likeliest first (an
# unlicensed programme's US or China rights; REGIONS happens to list CN, then US, first).
EX_CN_FIRST = np.array([US, *(r for r in np.flatnonzero(EX_CN) if r != US)])
ALL_CN_FIRST = np.array([CN, *(r for r in range(EX_CN.size) if r != CN)])


class Biotech(mesa.Agent):
    """A Chinese biotech. Its state is row ``row`` of ``model.firms``; its programmes are
    the rows of ``model.assets`` it originated."""

    kind = Kind.biotech

    def __init__(self, model: "LicensingMarket", row: int):
        super().__init__(model)
        self.row = row

    # ------------------------------------------------------------------ what a user inspects
    @property
    def cash(self) -> float:
        return float(self.model.firms.cash[self.row])

    @property
    def burn(self) -> float:
        return float(self.model.firms.burn[self.row])

    @property
    def runway(self) -> float:
        return float(self.model.firms.runway(np.array([self.row]))[0])

    @property
    def strategy(self) -> str:
        return "partnership_first" if self.model.firms.strategy[self.row] else "ipo_first"

    @property
    def pipeline(self) -> np.ndarray:
        """Ids of its active programmes."""
        a = self.model.assets
        n = a.n
        return ((a.originator[:n] == self.row) & (a.status[:n] == ACTIVE)).nonzero()[0]

    @property
    def deals(self) -> np.ndarray:
        """Ledger rows of the deals it signed as licensor."""
        led = self.model.ledger
        return (led.licensor[: led.n] == self.row).nonzero()[0]

    # ------------------------------------------------------------------ the kind's policies
    @classmethod
    def step_kind(cls, model: "LicensingMarket") -> None:
        """The biotechs' month: financing, then burn (folding those that cannot pay)."""
        finance(model)
        model.month_folded = pay_burn(model)


def refresh_burn(model: "LicensingMarket") -> None:
    """Monthly burn of every biotech: overhead plus its share of the programmes it pays for."""
    a, f = model.assets, model.firms
    live = a.live()
    ids = live[~a.paused[live] & (a.stage[live] < APPROVED)]
    orig = a.originator[ids]
    cost = model.params.development.cost[a.stage[ids]]
    share = np.where(a.developer[ids] != orig, 1.0 - model.params.terms.licensee_cost_share, 1.0)
    burn = np.bincount(orig, weights=cost * share, minlength=f.n)
    is_bt = (f.kind[: f.n] == BIOTECH) & f.alive[: f.n]
    f.burn[: f.n] = np.where(is_bt, burn + model.params.finance.overhead, f.burn[: f.n])


def finance(model: "LicensingMarket") -> None:
    """Investors fund the most attractive biotechs seeking money while this month's pool lasts."""
    p, f = model.params.finance, model.firms
    pool = model.financing_left
    alive = f.of_kind(BIOTECH)
    if alive.size == 0 or pool <= 0:
        return
    funding = model.drivers_now["funding"]
    trigger = p.trigger_months + p.opportunistic_months * model.beliefs.funding.expected
    applicants = alive[f.runway(alive) < trigger]
    applicants = applicants[model.rng.random(applicants.size) < p.rate]
    if applicants.size == 0:
        return
    best_stage, best_q = best_programmes(model, applicants)
    ipo = f.strategy[applicants] == 0
    score = (best_stage + p.investor_quality_weight * best_q + p.investor_ipo_preference * ipo
             + model.rng.gumbel(0.0, 1.0, applicants.size))
    size = (p.round_size * np.exp(p.round_stage_gain * (best_stage - 1)) * funding ** p.round_elasticity
            * model.rng.lognormal(0.0, p.round_spread, applicants.size))
    order = np.argsort(-score, kind="stable")
    funded = order[np.cumsum(size[order]) <= pool]
    if funded.size == 0:
        return
    winners = applicants[funded]
    f.source(winners, size[funded], "financing")
    f.rounds[winners] += 1
    model.financing_left -= float(size[funded].sum())
    model.month_raised += float(size[funded].sum())
    model.month_rounds += int(winners.size)


def pay_burn(model: "LicensingMarket") -> int:
    """Biotechs pay their burn; those that cannot (and are not in talks) fold. Returns how many folded."""
    refresh_burn(model)
    f = model.firms
    alive = f.of_kind(BIOTECH)
    burn = f.burn[alive]
    paid = np.minimum(burn, f.cash[alive])
    f.sink(alive, paid, "rd_spend")
    in_talks = np.zeros(f.n, dtype=bool)
    in_talks[model.talks.seller[: model.talks.n]] = True
    broke = alive[(paid < burn) & ~in_talks[alive]]
    # A biotech left with no programme of its own and none in its deals' hands winds down: its
    # investors take back what is left rather than pay overhead for nothing.
    a = model.assets
    live = a.live()
    orig = a.originator[live]
    own = orig[holds_any(a.rights, live, orig, ALL_CN_FIRST)]
    has_programme = np.zeros(f.n, dtype=bool)
    has_programme[own] = True
    empty = alive[~has_programme[alive] & ~in_talks[alive]]
    gone = np.union1d(broke, empty)
    if gone.size:
        fold(model, gone)
    # Income beyond cash_hold_months of burn goes to shareholders.
    alive = f.of_kind(BIOTECH)
    excess = np.maximum(f.cash[alive] - model.params.finance.cash_hold_months * f.burn[alive], 0.0)
    f.sink(alive, excess, "distribution")
    return int(gone.size)


def fold(model: "LicensingMarket", rows: np.ndarray) -> None:
    """Close biotechs: liquidate their cash; programmes nobody else develops stop."""
    f, a = model.firms, model.assets
    f.alive[rows] = False
    f.sink(rows, f.cash[rows].copy(), "liquidation")
    f.burn[rows] = 0.0
    n = a.n
    closing = np.zeros(f.n, dtype=bool)
    closing[rows] = True
    gone = closing[a.originator[:n]] & (a.status[:n] == ACTIVE)
    orphan = gone & (a.developer[:n] == a.originator[:n])
    a.status[:n][orphan] = WITHDRAWN
    a.in_talks[:n][orphan] = False
    for r in rows:
        agent = model.biotech_agents.pop(int(r), None)
        if agent is not None:
            agent.remove()


def best_programmes(model: "LicensingMarket", rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stage and quality of each biotech's most advanced active programme (stage -1 if none)."""
    a, f = model.assets, model.firms
    idx = a.live()
    key = a.stage[idx].astype(float) + 0.01 * np.tanh(a.quality[idx])
    best_key = np.full(f.n, -1.0)
    np.maximum.at(best_key, a.originator[idx], key)
    best_q = np.full(f.n, -np.inf)
    np.maximum.at(best_q, a.originator[idx], a.quality[idx])
    stage = np.floor(best_key[rows] + 0.5).astype(int)
    return np.where(best_key[rows] < 0, -1, stage), np.where(np.isfinite(best_q[rows]), best_q[rows], 0.0)


def gated(model: "LicensingMarket", ids: np.ndarray) -> np.ndarray:
    """Which of the programmes ``ids`` (whose stage has just ended) must wait at the gate."""
    a, f, p = model.assets, model.firms, model.params.seller
    orig = a.originator[ids]
    self_run = (a.developer[ids] == orig) & (f.kind[orig] == BIOTECH)
    stage = a.stage[ids]
    cost = model.params.development.cost
    extra = cost[np.minimum(stage + 1, APPROVED)] - cost[stage]
    with np.errstate(divide="ignore", invalid="ignore"):
        runway_next = f.cash[orig] / np.maximum(f.burn[orig] + extra, 1e-9)
    short = runway_next < p.gate_runway_months
    return self_run & (stage < PHASE3) & (short | a.in_talks[ids])


def paused(model: "LicensingMarket", ids: np.ndarray) -> np.ndarray:
    """Which of the programmes ``ids`` their cash-short biotechs pause: non-core ones they still run themselves."""
    a, f = model.assets, model.firms
    orig = a.originator[ids]
    self_run = (a.developer[ids] == orig) & (f.kind[orig] == BIOTECH)
    return self_run & ~a.core[ids] & (f.runway(orig) < model.params.seller.pause_runway_months)


def distressed(model: "LicensingMarket", rows: np.ndarray) -> np.ndarray:
    return (model.firms.kind[rows] == BIOTECH) & (
        model.firms.runway(rows) < model.params.seller.distress_runway_months)


def choose_offers(model: "LicensingMarket") -> np.ndarray:
    """Which unlicensed programmes the biotechs shop this month (programme ids)."""
    a, f, p = model.assets, model.firms, model.params.seller
    live = a.live()
    orig = a.originator[live]
    cand = ~a.in_talks[live] & f.alive[orig] & (f.kind[orig] == BIOTECH)
    ids, owners = live[cand], orig[cand]
    free = holds_any(a.rights, ids, owners, EX_CN_FIRST)  # it still holds an ex-China market
    ids, owners = ids[free], owners[free]
    if ids.size == 0:
        return ids
    runway = f.runway(owners)
    partner = f.strategy[owners] == 1
    hold_stage = np.where(partner, p.hold_stage_partner, p.hold_stage_ipo)
    held = a.core[ids] & (runway >= p.hold_runway_months) & (a.stage[ids] < hold_stage)
    ids, owners, runway, partner = ids[~held], owners[~held], runway[~held], partner[~held]
    # Programmes are sold for cash: IPO-first firms shop them as their runway shortens;
    # partnership-first firms, and owners of stranded programmes, shop whenever they can.
    need = np.minimum(np.maximum(1.2 - runway / p.cash_need_months, 0.1), 1.0)
    need = np.where(partner | a.paused[ids], 1.0, need)
    odds = np.minimum(np.maximum(p.offer_rate * f.bd_cap[owners] * need, 0.0), 1.0)
    return ids[model.rng.random(ids.size) < odds]


def ask(model: "LicensingMarket", ids: np.ndarray, sellers: np.ndarray, value: np.ndarray) -> np.ndarray:
    """A biotech's reservation price (US dollars) for rights packages worth ``value`` to a global buyer."""
    a, p = model.assets, model.params.seller
    stage = a.stage[ids]
    climate = max(model.beliefs.funding.expected, 1e-6) / p.funding_reference
    own = (p.own_value_share * p.own_by_stage[stage] * climate ** p.funding_elasticity_by_stage[stage]
           * p.own_novelty_ratio[a.novelty[ids]] * model.firms.optimism[sellers])
    runway = model.firms.runway(sellers)
    hold = max(p.hold_runway_months, 1e-9)
    reserve = p.reservation_floor + (1.0 - p.reservation_floor) * np.minimum(1.0, runway / hold)
    return own * value * reserve * np.where(a.paused[ids], p.paused_ask, 1.0)
