"""The decision-makers, as Mesa agents: Chinese biotechs and the three kinds of buyer.

Design notes:
- Buyers (MNC, mid-size pharma, US incubator, regional licensee) are few; each steps on its
  own each month: it receives its budget (a declared source) and BD capacity credits.
  Its preferences (stage appetite, trust, urgency, focus) enter the market's valuation
  matrix as one row each.
- Biotechs are many. Their state lives in the model's entity columns (cash in
  :class:`~sim.model.accounts.Accounts`), and their rules are written here as vectorised
  policies over the whole population, so a month costs a few numpy calls, not a loop.

Biotech finance, per month (runway = cash / burn):
    pool     = financing_pool_usd / 12 * funding        (the funding driver is the financing volume)
    apply    if runway < trigger + opportunistic_months * funding; investors see a share of applicants
    funded   best first (stage + 0.5 q_best + luck) while the pool lasts
    round    = round_size * exp(gain * (best stage - 1)) * funding^elasticity * LogN(0, 0.4)
Reservation price of a rights package (rises with the funding climate, most for early
programmes; falls as runway shortens, QM24):
    ask = own_value_share * decay^max(stage - phase1, 0) * (outlook / reference)^e(stage) * value
          * (floor + (1 - floor) * min(1, runway / hold))
(outlook: the funding index averaged over this month and the next ``funding_outlook_months``;
a Chinese biotech adds value early cheaply at home; late development abroad needs capabilities it
mostly lacks, so its own value of ex-China rights falls with stage: ``own_value_stage_decay``).
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.scenarios.schema import AREAS, STAGES, Stage

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


class Kind(IntEnum):
    """Entity kinds; names are the labels used in the deal ledger."""

    biotech = 0
    mnc = 1
    mid_size = 2
    incubator = 3
    regional = 4


CULTURE = {"US": "US", "EU": "EU", "UK": "EU", "CH": "EU", "JP": "JP", "KR": "JP"}


class Biotech(mesa.Agent):
    """A Chinese biotech (licensor). Its columns: ``model.ent`` row ``entity``."""

    def __init__(self, model: "LicensingMarket", entity: int):
        super().__init__(model)
        self.entity = entity

    @property
    def cash(self) -> float:
        return float(self.model.accounts.cash[self.entity])

    @property
    def strategy(self) -> str:
        return "partnership_first" if self.model.ent.strategy[self.entity] else "ipo_first"

    # --------------------------------------------------------------- population policies
    @staticmethod
    def runway(model: "LicensingMarket", entities: np.ndarray) -> np.ndarray:
        """Months of cash at the current burn (inf when nothing is burning)."""
        burn = model.ent.burn[entities]
        cash = model.accounts.cash[entities]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(burn > 0, cash / np.maximum(burn, 1e-9), np.inf)

    @staticmethod
    def own_value_share(model: "LicensingMarket", stage: np.ndarray) -> np.ndarray:
        """What a biotech thinks rights at ``stage`` are worth, relative to a global buyer.

        Abundant capital makes developing alone (and an IPO exit) a real alternative, most of
        all for early programmes, so reservation prices rise with the funding climate
        (QM24: core assets are held when money allows). Past phase 1 the own value falls by
        ``own_value_stage_decay`` a stage: late development abroad needs global trials and a
        commercial presence that a Chinese biotech mostly lacks (ARC25).
        """
        b = model.sc.biotech
        relative = max(model.funding_outlook[model.t], 1e-6) / b.funding_reference
        by_stage = model.own_value_by_stage[stage] * relative ** model.funding_elasticity_by_stage[stage]
        return b.own_value_share * by_stage

    @staticmethod
    def reservation_factor(model: "LicensingMarket", entities: np.ndarray) -> np.ndarray:
        b = model.sc.biotech
        runway = Biotech.runway(model, entities)
        hold = max(b.hold_runway_months, 1e-9)
        return b.reservation_floor + (1.0 - b.reservation_floor) * np.minimum(1.0, runway / hold)

    @staticmethod
    def raise_financing(model: "LicensingMarket", pool: float) -> tuple[float, int]:
        """Investors fund the most attractive biotechs seeking money, up to this month's pool.

        ``pool`` is the primary-financing capital available this month (the funding driver is
        that volume, ARC25). Biotechs short of runway apply (more of them raise opportunistically
        when money is easy); investors see a share of the applicants and back the best first
        (later stage, better asset, some luck) until the pool is spent. Returns (dollars, rounds).
        """
        b = model.sc.biotech
        ent = model.ent
        alive = ent.alive_biotechs()
        if alive.size == 0 or pool <= 0:
            return 0.0, 0
        funding = model.now["funding"]
        trigger = b.financing_trigger_months + b.opportunistic_months * funding
        applicants = alive[Biotech.runway(model, alive) < trigger]
        applicants = applicants[model.rng.random(applicants.size) < b.financing_rate]
        if applicants.size == 0:
            return 0.0, 0
        best_stage, best_q = model.best_assets(applicants)
        ipo = ent.strategy[applicants] == 0
        score = best_stage + 0.5 * best_q + 0.3 * ipo + model.rng.gumbel(0.0, 1.0, applicants.size)
        size = (b.round_size_usd * np.exp(b.round_size_stage_gain * (best_stage - 1))
                * funding ** b.round_size_elasticity * model.rng.lognormal(0.0, 0.4, applicants.size))
        order = np.argsort(-score, kind="stable")
        funded = order[np.cumsum(size[order]) <= pool]
        if funded.size == 0:
            return 0.0, 0
        winners = applicants[funded]
        model.accounts.source_many(winners, size[funded], "financing")
        ent.rounds[winners] += 1
        return float(size[funded].sum()), int(winners.size)

    @staticmethod
    def choose_offers(model: "LicensingMarket") -> np.ndarray:
        """Which unlicensed assets the biotechs shop this month (asset ids).

        Core assets (a biotech's most promising ones, ``assets.core_value_tilt``) are held back
        to the strategy's hold stage while the runway allows;
        non-core assets are shopped from preclinical on; distressed biotechs shop all.
        """
        b = model.sc.biotech
        book = model.book
        n = book.n
        ids = np.arange(n)
        orig = book.originator[:n]
        ex_cn_free = (book.rights[:n][:, 1:] == orig[:, None]).any(axis=1)
        cand = (book.status[:n] == 0) & ~book.in_play[:n] & model.ent.alive[orig] & ex_cn_free
        cand &= model.ent.kind[orig] == Kind.biotech
        cand &= book.stage[:n] < Stage.approved + 1
        ids = ids[cand]
        if ids.size == 0:
            return ids
        owners = book.originator[ids]
        runway = Biotech.runway(model, owners)
        hold_stage = np.where(model.ent.strategy[owners] == 1, model.hold_stage_partner, model.hold_stage_ipo)
        held = book.core[ids] & (runway >= b.hold_runway_months) & (book.stage[ids] < hold_stage)
        ids, owners, runway = ids[~held], owners[~held], runway[~held]
        # Assets are sold for cash: IPO-first firms shop them as their runway shortens;
        # partnership-first firms shop whenever they can.
        need = np.clip(1.2 - runway / b.cash_need_months, 0.1, 1.0)
        need = np.where((model.ent.strategy[owners] == 1) | book.paused[ids], 1.0, need)
        p = np.clip(b.offer_rate * model.ent.bd_cap[owners] * need, 0.0, 1.0)
        return ids[model.rng.random(ids.size) < p]


class Buyer(mesa.Agent):
    """Common behaviour of every buyer; subclasses fill the hooks.

    What a buyer wants depends on the drivers and on its own fixed traits, so each hook
    returns its whole path over the run (one value per month); the model stacks the
    paths of all buyers into the matrices the valuation reads.
    """

    kind: Kind

    def __init__(self, model: "LicensingMarket", entity: int, region: str, revenue: float, capacity: float):
        super().__init__(model)
        self.entity = entity
        self.region = region
        self.revenue = revenue
        self.capacity_per_year = capacity
        self.credits = float(model.rng.random())  # staggers first deals across buyers
        self.trust_offset = float(model.rng.normal(0.0, model.sc.mnc.trust_spread))
        n_focus = model.rng.integers(2, len(AREAS) + 1)
        focus = np.zeros(len(AREAS), dtype=bool)
        focus[model.rng.choice(len(AREAS), size=n_focus, replace=False)] = True
        focus[0] |= model.rng.random() < 0.8  # most buyers are in oncology
        self.focus = focus

    def prepare(self) -> None:
        """Compute this buyer's monthly paths once the model's drivers are known."""
        self.inflow_path = self.budget_path().tolist()
        self.capacity_path = (self.capacity_path_() / 12.0).tolist()

    def step(self) -> None:
        """Monthly: budget inflow (declared source), sweep of idle cash, capacity credits."""
        m = self.model.t
        inflow = self.inflow_path[m]
        acc = self.model.accounts
        if inflow > 0:
            acc.source(self.entity, inflow, "bd_budget")
        excess = float(acc.cash[self.entity]) - 24.0 * inflow
        if excess > 0:
            acc.sink(self.entity, excess, "budget_sweep")
        self.credits = min(self.credits + self.capacity_path[m], 2.0)

    # hooks: paths over the run ------------------------------------------------------
    def budget_path(self) -> np.ndarray:
        return np.full(self.model.n_months, self.revenue * self.model.sc.mnc.bd_budget_share / 12.0)

    def capacity_path_(self) -> np.ndarray:
        return np.full(self.model.n_months, self.capacity_per_year)

    def trust_path(self) -> np.ndarray:
        return np.clip(self.model.paths.trust + self.trust_offset, 0.0, 1.0)

    def urgency_path(self) -> np.ndarray:
        return np.zeros(self.model.n_months)

    def appetite_path(self) -> np.ndarray:
        """Willingness to buy at each stage, (months, len(STAGES))."""
        return np.ones((self.model.n_months, len(STAGES)))

    def territory_ok(self) -> np.ndarray:
        """Which territory packages (market.PACKAGES order) this buyer takes."""
        raise NotImplementedError


class Mnc(Buyer):
    """Top MNC or mid-size pharma: buys differentiated assets against its revenue gap."""

    def __init__(self, model, entity, region, revenue, capacity, tier: str, expiries=()):
        super().__init__(model, entity, region, revenue, capacity)
        self.kind = Kind.mnc if tier == "top" else Kind.mid_size
        self.name = None
        self.expiries = list(expiries)  # (absolute month index, sales USD)
        self.gap_scale = float(model.rng.uniform(0.5, 1.5))

    def urgency_path(self) -> np.ndarray:
        """Share of revenue expiring within 5 years: named expiries plus the background cliff."""
        m = self.model
        t = m.start_abs + np.arange(m.n_months)
        named = np.zeros(m.n_months)
        for when, sales in self.expiries:
            named += np.where((t < when) & (when <= t + 60), sales, 0.0)
        return named / max(self.revenue, 1.0) + m.sc.mnc.revenue_gap * self.gap_scale * m.paths.patent_cliff

    def budget_path(self) -> np.ndarray:
        return super().budget_path() * (1.0 + self.urgency_path())

    def capacity_path_(self) -> np.ndarray:
        return self.capacity_per_year * (1.0 + self.urgency_path())

    def appetite_path(self) -> np.ndarray:
        m = self.model
        base = np.array([m.sc.mnc.stage_appetite[CULTURE[self.region]][s] for s in STAGES])
        # Cutting internal early R&D pushes MNCs to source early assets outside (ARC25).
        excess = np.maximum(m.paths.rd_externalisation - 0.4, 0.0)
        path = np.tile(base, (m.n_months, 1))
        path[:, Stage.preclinical] *= np.exp(m.sc.mnc.externalisation_gain * excess)
        path[:, Stage.phase1] *= np.exp(m.sc.mnc.externalisation_phase1 * m.sc.mnc.externalisation_gain * excess)
        if self.kind == Kind.mid_size:
            path *= m.sc.mnc.mid_commercial_reach
        return path

    def territory_ok(self) -> np.ndarray:
        return np.array([True, True, True, False])  # global, ex_china, us_eu_jp, regional


class Incubator(Buyer):
    """US incubator building NewCos around early assets, funded by US venture money."""

    kind = Kind.incubator

    def budget_path(self) -> np.ndarray:
        # A fund is deployed over about five years; new money follows the US venture climate.
        return self.model.sc.incubator.fund_usd * self.model.paths.us_venture / 60.0

    def capacity_path_(self) -> np.ndarray:
        return self.capacity_per_year * self.model.paths.us_venture

    def trust_path(self) -> np.ndarray:
        # NewCos re-run trials in the US, so China-only data matters less to them.
        return 0.5 + 0.5 * super().trust_path()

    def appetite_path(self) -> np.ndarray:
        top = STAGES.index(self.model.sc.incubator.max_stage)
        row = np.where(np.arange(len(STAGES)) <= top, 1.3, 0.0)
        return np.tile(row, (self.model.n_months, 1))

    def territory_ok(self) -> np.ndarray:
        return np.array([True, True, False, False])


class RegionalLicensee(Buyer):
    """Regional licensee (JP, KR, SEA, MENA, IN): regional rights to late, data-rich assets."""

    kind = Kind.regional

    def appetite_path(self) -> np.ndarray:
        # Regional licensees want data-rich assets: registration and market stage most.
        first = STAGES.index(self.model.sc.biotech.regional_min_stage)
        row = np.where(np.arange(len(STAGES)) >= first, 1.0, 0.0)
        row[Stage.filed:] *= 1.5
        return np.tile(row, (self.model.n_months, 1))

    def trust_path(self) -> np.ndarray:
        # Regional approval rests on a small bridging study; China data is largely accepted.
        return 0.6 + 0.4 * super().trust_path()

    def territory_ok(self) -> np.ndarray:
        return np.array([False, False, False, True])
