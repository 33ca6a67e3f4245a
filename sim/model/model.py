"""LicensingMarket: the Mesa model. Wiring, population and the order of a month.

A month, in order (each phase is a named method below):
    drivers -> buyers' budgets -> development (costs, progress, stage moves, milestones)
    -> sales and royalties -> biotech finance (rounds, entry, distress, folding)
    -> contract terminations -> diligence closings (signing) -> offers and matching -> record
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import mesa
import numpy as np
import pandas as pd
import yaml

from sim.model import market
from sim.model.accounts import Accounts
from sim.model.agents import Biotech, Buyer, Incubator, Kind, Mnc, RegionalLicensee
from sim.model.assets import APPROVED, AssetBook, Status
from sim.model.drivers import DriverPaths
from sim.model.ledger import Ledger
from sim.scenarios.schema import LICENSEE_REGIONS, NOVELTIES, REGIONS, STAGES, Scenario, Stage, month_index

MONTHLY_COLUMNS = [
    "month", "funding_index", "trust_index", "patent_cliff_index", "us_venture_index", "rd_externalisation_index",
    "active_biotechs", "primary_financing_usd", "financing_rounds", "offers", "in_diligence", "deals",
    "upfront_usd", "biotech_cash_usd", "folded_biotechs", "new_biotechs", "diligence_started", "diligence_failed",
]
MID_SIZE_REGIONS = (["US"] * 45 + ["EU"] * 20 + ["UK"] * 5 + ["CH"] * 5 + ["JP"] * 13 + ["KR"] * 12)


@dataclass
class Entities:
    """Columns of every economic entity, indexed by entity id (= account row)."""

    kind: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    strategy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int8))  # 1 = partnership-first
    bd_cap: np.ndarray = field(default_factory=lambda: np.zeros(0))
    burn: np.ndarray = field(default_factory=lambda: np.zeros(0))
    rounds: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    optimism: np.ndarray = field(default_factory=lambda: np.zeros(0))  # a biotech's own valuation, x the norm

    def extend(self, kind: int, count: int, **cols: np.ndarray) -> None:
        new = {"kind": np.full(count, kind, np.int8), "alive": np.ones(count, bool),
               "strategy": np.zeros(count, np.int8), "bd_cap": np.zeros(count), "burn": np.zeros(count),
               "rounds": np.zeros(count, np.int32), "optimism": np.ones(count)}
        new.update(cols)
        for name, values in new.items():
            setattr(self, name, np.concatenate([getattr(self, name), np.asarray(values, getattr(self, name).dtype)]))

    def alive_biotechs(self) -> np.ndarray:
        return np.flatnonzero(self.alive & (self.kind == Kind.biotech))


@lru_cache(maxsize=1)
def load_mncs() -> tuple[dict, ...]:
    """The named top MNCs and their dated expiries ([EV]), parsed once per process (read-only)."""
    return tuple(yaml.safe_load(resources.files("sim.data").joinpath("mncs.yaml").read_text()))


class LicensingMarket(mesa.Model):
    """The cross-border licensing market, one step per month.

    Args:
        scenario: a validated :class:`~sim.scenarios.schema.Scenario`.
        seed: root seed; all randomness flows from it through ``self.rng``.
    """

    def __init__(self, scenario: Scenario, seed: int | None = None):
        seed = scenario.seed if seed is None else int(seed)
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(seed)))
        self.seed = seed
        self.sc = scenario
        self.start_abs = month_index(scenario.start)
        self.n_months = month_index(scenario.end) - self.start_abs + 1
        self.paths = DriverPaths.build(scenario.drivers, scenario.start, self.n_months)
        # Month number of the step in progress: 0 is the scenario's start; the burn-in months
        # before it are negative (the population is created just before them).
        self.month = -1 - scenario.market.warmup_months
        self._initialising = True
        self._date_cache: tuple[int, pd.Timestamp | None] = (-1, None)
        self.now = self.paths.at(0)
        self.funding_outlook = self.paths.outlook("funding", scenario.biotech.funding_outlook_months)
        self.trust_peak = self.now["trust"]
        self.trust_drop = 0.0
        self.accounts = Accounts()
        self.ent = Entities()
        self.book = AssetBook(scenario)
        self.ledger = Ledger()
        self.pending: list[market.Diligence] = []
        self.buyers: list[Buyer] = []
        self.biotech_agents: dict[int, Biotech] = {}
        self.monthly_rows: list[tuple] = []
        self.clinical_experience = 0.0
        self.hold_stage_ipo = STAGES.index(scenario.biotech.core_hold_stage["ipo_first"])
        self.hold_stage_partner = STAGES.index(scenario.biotech.core_hold_stage["partnership_first"])
        self.regional_min_stage = STAGES.index(scenario.biotech.regional_min_stage)
        self.incubator_exit_stage = STAGES.index(scenario.incubator.exit_stage)
        self.upfront_share_by_stage = np.array([scenario.market.upfront_share[s] for s in STAGES])
        self.own_value_by_stage = scenario.biotech.own_value_stage_decay ** np.maximum(
            np.arange(len(STAGES)) - int(Stage.phase1), 0)
        self.funding_elasticity_by_stage = np.array([scenario.biotech.funding_value_elasticity[s] for s in STAGES])
        self.diligence_factor_by_stage = np.array([scenario.market.diligence_stage_factor[s] for s in STAGES])
        self.diligence_factor_by_novelty = np.array([scenario.market.diligence_novelty_factor[x] for x in NOVELTIES])
        self.data_weight_by_stage = np.array([scenario.mnc.data_weight[s] for s in STAGES])
        self.data_weight_by_novelty = np.array([scenario.mnc.novelty_data_weight[x] for x in NOVELTIES])
        self.own_novelty_ratio = np.array([scenario.biotech.own_novelty_value[x] / scenario.assets.novelty_value[x]
                                           for x in NOVELTIES])
        self._create_buyers()
        self._create_biotechs(scenario.population.biotechs, initial=True)
        self._refresh_burn()
        self._initialising = False
        self.running = True
        # Burn-in: the market runs a while at the start's drivers so that 2018 opens with deals
        # in talks and contracts in force, as the real market did; nothing of it is recorded.
        for _ in range(scenario.market.warmup_months):
            self._advance(record=False)

    # ---------------------------------------------------------------------- population
    def _open(self, kind: Kind, count: int, opening, **cols) -> np.ndarray:
        ids = self.accounts.open(count, opening, source=None if self._initialising else "financing")
        self.ent.extend(int(kind), count, **cols)
        return ids

    def _create_buyers(self) -> None:
        sc, rng = self.sc, self.rng
        pop = sc.population
        named = load_mncs()
        for i in range(pop.top_mncs):
            info = named[i] if i < len(named) else {"name": f"MNC {i + 1}", "region": "US",
                                                    "revenue_usd": sc.mnc.top_revenue_usd, "expiries": []}
            revenue = float(info["revenue_usd"])
            entity = int(self._open(Kind.mnc, 1, 6 * revenue * sc.mnc.bd_budget_share / 12)[0])
            expiries = [(month_index(str(e["date"])), float(e["sales_usd"])) for e in info["expiries"]]
            agent = Mnc(self, entity, info["region"], revenue, sc.mnc.top_deals_per_year, "top", expiries)
            agent.name = info["name"]
            self.buyers.append(agent)
        for _ in range(pop.mid_size):
            revenue = sc.mnc.mid_revenue_usd * rng.lognormal(0.0, 0.6)
            region = MID_SIZE_REGIONS[rng.integers(len(MID_SIZE_REGIONS))]
            entity = int(self._open(Kind.mid_size, 1, 6 * revenue * sc.mnc.bd_budget_share / 12)[0])
            self.buyers.append(Mnc(self, entity, region, revenue, sc.mnc.mid_deals_per_year, "mid"))
        for _ in range(pop.incubators):
            entity = int(self._open(Kind.incubator, 1, 0.25 * sc.incubator.fund_usd)[0])
            self.buyers.append(Incubator(self, entity, "US", 0.0, sc.incubator.deals_per_year))
        for i in range(pop.regional):
            revenue = sc.regional.revenue_usd * rng.lognormal(0.0, 0.5)
            entity = int(self._open(Kind.regional, 1, 6 * revenue * sc.mnc.bd_budget_share / 12)[0])
            region = LICENSEE_REGIONS[i % len(LICENSEE_REGIONS)]
            self.buyers.append(RegionalLicensee(self, entity, region, revenue, sc.regional.deals_per_year))
        self.buyer_entities = np.array([b.entity for b in self.buyers], dtype=np.int64)
        self.buyer_kind = np.array([int(b.kind) for b in self.buyers], dtype=np.int64)
        self.buyer_home = np.array([REGIONS.index(b.region) if b.kind == Kind.regional else -2
                                    for b in self.buyers], dtype=np.int64)
        self.buyer_focus = np.array([b.focus for b in self.buyers]).reshape(len(self.buyers), -1)
        self.buyer_territory = np.array([b.territory_ok() for b in self.buyers]).reshape(len(self.buyers), -1)
        for b in self.buyers:
            b.prepare()
        nb, nt = len(self.buyers), self.n_months
        # (months, buyers[, stages]) paths of everything a buyer's valuation needs.
        self.buyer_trust = np.array([b.trust_path() for b in self.buyers]).reshape(nb, nt).T.copy()
        self.buyer_urgency = np.array([b.urgency_path() for b in self.buyers]).reshape(nb, nt).T.copy()
        self.buyer_appetite = (np.array([b.appetite_path() for b in self.buyers])
                               .reshape(nb, nt, len(STAGES)).transpose(1, 0, 2).copy())

    def _create_biotechs(self, count: int, initial: bool = False) -> np.ndarray:
        if count <= 0:
            return np.zeros(0, np.int64)
        sc, rng = self.sc, self.rng
        b, a = sc.biotech, sc.assets
        n_assets = 1 + rng.poisson(max(a.per_biotech - 1.0, 0.0), size=count)
        strategy = (rng.random(count) < b.partnership_first_share).astype(np.int8)
        bd_cap = rng.beta(2.0, 2.0, size=count) * 1.5 + 0.25
        if initial:
            stage_w = np.array([a.initial_stage_mix.get(s, 0.0) for s in STAGES])
        else:
            stage_w = np.array([0.85, 0.15, 0, 0, 0, 0])
        owners_rel = np.repeat(np.arange(count), n_assets)
        stages = rng.choice(len(STAGES), size=owners_rel.size, p=stage_w / stage_w.sum())
        burn = b.overhead_usd + np.bincount(owners_rel, weights=self.book.cost[stages], minlength=count)
        # Opening cash: a runway's worth at the burn of the pipeline (for entrants, their seed round).
        spread = 0.5 if initial else 0.3
        opening = burn * b.initial_runway_months * rng.lognormal(0.0, spread, size=count)
        # Founders and their investors differ in what they think their programmes are worth.
        optimism = rng.lognormal(0.0, b.valuation_spread, size=count)
        ids = self._open(Kind.biotech, count, opening, strategy=strategy, bd_cap=bd_cap, optimism=optimism)
        for e in ids:
            self.biotech_agents[int(e)] = Biotech(self, int(e))
        innovation = self.sc.assets.learning_rate * np.log1p(self.clinical_experience / 100.0)
        self.book.add(rng, ids[owners_rel], stages, self.month, innovation, a.china_speed, initial=initial)
        if initial:
            approved = self.book.stage[: self.book.n] == APPROVED
            self.book.approved_month[: self.book.n][approved] = self.month - int(rng.integers(0, 60))
        return ids

    # ----------------------------------------------------------------------- the month
    def step(self) -> None:
        """One calendar month."""
        self._advance(record=True)

    @property
    def t(self) -> int:
        """Index into the driver paths (warm-up months use the start's drivers)."""
        return max(self.month, 0)

    def _advance(self, record: bool) -> None:
        self.month += 1
        self.now = self.paths.at(self.t)
        self.trust_peak = max(self.trust_peak, self.now["trust"])
        self.trust_drop = self.trust_peak - self.now["trust"]
        self.month_deals = 0
        self.month_upfront = 0.0
        self.month_failed = 0
        for kind in (Mnc, Incubator, RegionalLicensee):
            if kind in self.agents_by_type:
                self.agents_by_type[kind].shuffle_do("step")
        self.develop()
        market.royalties_and_sales(self)
        self.discover()
        new = self.enter()
        pool = self.sc.biotech.financing_pool_usd / 12.0 * self.now["funding"] - self.entry_cash
        raised, rounds = Biotech.raise_financing(self, pool)
        raised += self.entry_cash
        rounds += new
        folded = self.pay_burn_and_fold()
        market.terminations(self)
        self.close_diligence()
        offers = market.build_offers(self)
        self._buyer_table()
        started = market.match(self, offers)
        self.pending.extend(started)
        if record:
            self.record(raised, rounds, offers.size, new, folded, len(started))
        if self.month >= self.n_months - 1:
            self.running = False

    @property
    def date(self) -> pd.Timestamp:
        """First day of the month being simulated."""
        m = self.start_abs + max(self.month, 0)
        if self._date_cache[0] != m:
            self._date_cache = (m, pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1))
        return self._date_cache[1]

    @property
    def month_abs(self) -> int:
        return self.start_abs + max(self.month, 0)

    # --------------------------------------------------------------------- development
    def _refresh_burn(self) -> None:
        """Monthly burn of each biotech: overhead plus its share of running programmes."""
        book, ent, sc = self.book, self.ent, self.sc
        n = book.n
        active = (book.status[:n] == Status.active) & ~book.paused[:n] & (book.stage[:n] < APPROVED)
        orig = book.originator[:n]
        cost = book.cost[book.stage[:n].astype(int)]
        licensed_away = book.developer[:n] != orig
        share = np.where(licensed_away, 1.0 - sc.market.licensee_cost_share, 1.0)
        own_cost = np.where(active & ent.alive[orig], cost * share, 0.0)
        burn = np.bincount(orig, weights=own_cost, minlength=ent.kind.size)
        is_bt = ent.kind == Kind.biotech
        ent.burn = np.where(is_bt & ent.alive, burn + sc.biotech.overhead_usd, 0.0)
        # NewCos: incubators pay the (US-run, pricier) development of their assets.
        dev = book.developer[:n]
        newco = active & (ent.kind[dev] == Kind.incubator)
        self.newco_cost = np.bincount(dev[newco], weights=2.5 * cost[newco], minlength=ent.kind.size)

    def develop(self) -> None:
        """Programmes progress; stages end in success or failure; milestones follow."""
        book, ent, sc = self.book, self.ent, self.sc
        n = book.n
        orig = book.originator[:n]
        # Cash-short biotechs pause non-core programmes they still run themselves.
        runway = Biotech.runway(self, orig)
        self_run = (book.developer[:n] == orig) & (ent.kind[orig] == Kind.biotech)
        active = (book.status[:n] == Status.active) & (book.stage[:n] < APPROVED)
        paused = self_run & ~book.core[:n] & (runway < sc.biotech.pause_runway_months)
        # Stage gate: a finished stage leads into a costlier clinical phase only if the biotech
        # can fund it; otherwise the programme waits at the gate (and is shopped, QM24).
        stage = book.stage[:n].astype(int)
        # (checked in the month the stage would end, before the programme moves on)
        ready = active & self_run & (book.progress[:n] + 1.0 >= book.duration[:n]) & (stage < Stage.phase3)
        extra = book.cost[np.minimum(stage + 1, APPROVED)] - book.cost[stage]
        cash = self.accounts.cash[orig]
        with np.errstate(divide="ignore", invalid="ignore"):
            runway_next = cash / np.maximum(ent.burn[orig] + extra, 1e-9)
        gated = ready & (runway_next < sc.biotech.gate_runway_months)
        # A programme in licensing talks waits at the gate too: the buyer will design and fund
        # the next trial (standard design, FTO; RT23), so the seller does not start it alone.
        gated |= ready & book.in_play[:n]
        # With assets.readout_at_gate, the stage's own work ends and its data read out before the
        # gate: a programme held there has positive data (one that failed is dropped), and a buyer
        # licensing it knows them; only the next, costlier stage waits for money or a licensee.
        reading = np.flatnonzero(gated & ~book.read_out[:n]) if sc.assets.readout_at_gate else np.zeros(0, np.intp)
        readout_ok = self.rng.random(reading.size) < book.success_prob(reading)
        book.progress[reading] = book.duration[reading]
        book.read_out[reading[readout_ok]] = True
        book.paused[:n] = paused | gated
        moving = active & ~book.paused[:n]
        book.progress[:n][moving] += 1.0
        due = np.flatnonzero(moving & (book.progress[:n] >= book.duration[:n]))
        ok = book.read_out[due] | (self.rng.random(due.size) < book.success_prob(due))
        up, down = due[ok], np.concatenate([due[~ok], reading[~readout_ok]])
        book.status[down] = Status.failed
        book.in_play[down] = False
        book.stage[up] += 1
        self.clinical_experience += float((book.stage[up] >= Stage.phase2).sum())
        # A stage run by a foreign licensee produces global-standard data.
        book.global_data[up] |= ent.kind[book.developer[up]] != Kind.biotech
        newly_approved = up[book.stage[up] == APPROVED]
        book.approved_month[newly_approved] = self.month
        book.start_stage(self.rng, up, sc.assets.china_speed)
        market.on_advance(self, up)
        market.on_failure(self, down)

    def pay_burn_and_fold(self) -> int:
        """Biotechs pay their burn; those that cannot fold and their unlicensed assets leave."""
        self._refresh_burn()
        ent, acc = self.ent, self.accounts
        alive = ent.alive_biotechs()
        burn = ent.burn[alive]
        cash = acc.cash[alive]
        paid = np.minimum(burn, np.maximum(cash, 0.0))
        acc.sink_many(alive, paid, "rd_spend")
        # A biotech in diligence cuts spending to what it has and waits for the deal.
        in_talks = np.zeros(ent.kind.size, dtype=bool)
        for d in self.pending:
            in_talks[d.seller] = True
        broke = alive[(paid < burn) & ~in_talks[alive]]
        # NewCo development costs (declared: incubator R&D spend), funded by the NewCo's raises.
        inc = np.flatnonzero(self.newco_cost > 0)
        for e in inc:
            cost = float(self.newco_cost[e])
            short = cost - acc.cash[e]
            if short > 0:
                acc.source(int(e), float(short), "newco_financing")
            acc.sink(int(e), cost, "rd_spend")
        if broke.size:
            self.fold(broke)
        return int(broke.size)

    def fold(self, entities: np.ndarray) -> None:
        ent, book, acc = self.ent, self.book, self.accounts
        ent.alive[entities] = False
        leftover = np.maximum(acc.cash[entities], 0.0)
        acc.sink_many(entities, leftover, "liquidation")
        n = book.n
        gone = np.isin(book.originator[:n], entities) & (book.status[:n] == Status.active)
        # Programmes nobody else develops stop; licensed-out ones go on with their licensee.
        orphan = gone & (book.developer[:n] == book.originator[:n])
        book.status[:n][orphan] = Status.withdrawn
        book.in_play[:n][orphan] = False
        for e in entities:
            agent = self.biotech_agents.pop(int(e), None)
            if agent is not None:
                agent.remove()

    def discover(self) -> None:
        """Living biotechs with cash start new preclinical programmes (faster when money is easy)."""
        b = self.sc.biotech
        alive = self.ent.alive_biotechs()
        if alive.size == 0 or b.discovery_per_year <= 0:
            return
        runway = Biotech.runway(self, alive)
        rate = b.discovery_per_year / 12.0 * self.now["funding"] ** b.discovery_funding_elasticity
        starters = alive[(runway > b.pause_runway_months) & (self.rng.random(alive.size) < rate)]
        if starters.size:
            innovation = self.sc.assets.learning_rate * np.log1p(self.clinical_experience / 100.0)
            self.book.add(self.rng, starters, np.zeros(starters.size, dtype=np.int8), self.month, innovation,
                          self.sc.assets.china_speed)

    def enter(self) -> int:
        """New biotechs are founded at a rate that follows the funding climate."""
        self.entry_cash = 0.0
        lam = self.sc.biotech.entry_per_year / 12.0 * self.sc.population.biotechs * self.now["funding"]
        count = int(self.rng.poisson(lam))
        if count == 0:
            return 0
        before = self.accounts.sources["financing"]
        self._create_biotechs(count)
        self.entry_cash = self.accounts.sources["financing"] - before
        return count

    # ----------------------------------------------------------------------- market
    def diligence_work(self, asset: int) -> float:
        """Months of diligence at a normal pace: more data (later stages) and novel biology
        (first-in-class, RT23) take longer."""
        book = self.book
        median = (self.sc.market.diligence_months * self.diligence_factor_by_stage[int(book.stage[asset])]
                  * self.diligence_factor_by_novelty[int(book.novelty[asset])])
        return max(1.0, median * float(self.rng.lognormal(0.0, 0.3)))

    def diligence_pace(self) -> float:
        """Work done per month: a cool market (low funding) slows talks (RT23: ~9 -> ~12 months)."""
        m = self.sc.market
        slow = m.cool_market_months * max(0.0, 1.0 - min(self.now["funding"], 1.0))
        return m.diligence_months / (m.diligence_months + slow) if m.diligence_months > 0 else 1.0

    def close_diligence(self) -> None:
        pace = self.diligence_pace()
        for d in self.pending:
            d.done += pace
        due = [d for d in self.pending if d.done >= d.work - 1e-9]
        self.pending = [d for d in self.pending if d.done < d.work - 1e-9]
        for d in due:
            market.close_diligence(self, d)

    def best_assets(self, entities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage and quality of each biotech's most advanced active asset (stage -1 if none)."""
        book = self.book
        n = book.n
        active = book.status[:n] == Status.active
        idx = np.flatnonzero(active)
        key = book.stage[idx].astype(float) + 0.01 * np.tanh(book.quality[idx])
        best_key = np.full(self.ent.kind.size, -1.0)
        np.maximum.at(best_key, book.originator[idx], key)
        best_q = np.full(self.ent.kind.size, -np.inf)
        np.maximum.at(best_q, book.originator[idx], book.quality[idx])
        best_q = np.where(np.isfinite(best_q), best_q, 0.0)
        stage = np.floor(best_key[entities] + 0.5).astype(int)
        return np.where(best_key[entities] < 0, -1, stage), best_q[entities]

    def _buyer_table(self) -> None:
        bs = self.buyers
        if not bs:
            self.buyer_table = {"n": 0}
            return
        self.buyer_table = {
            "n": len(bs),
            "entity": self.buyer_entities,
            "kind": self.buyer_kind,
            "focus": self.buyer_focus,
            "territory_ok": self.buyer_territory,
            "home": self.buyer_home,
            "credits": np.array([b.credits for b in bs]),
            "cash": self.accounts.cash[self.buyer_entities],
        }

    # ------------------------------------------------------------------------ outputs
    def record(self, raised: float, rounds: int, offers: int, new: int, folded: int, started: int) -> None:
        d = self.now
        alive = self.ent.alive_biotechs()
        self.monthly_rows.append((
            self.date, d["funding"], d["trust"], d["patent_cliff"], d["us_venture"], d["rd_externalisation"],
            int(alive.size), raised, rounds, offers, len(self.pending), self.month_deals, self.month_upfront,
            float(self.accounts.cash[alive].sum()), folded, new, started, self.month_failed,
        ))

    def monthly_frame(self) -> pd.DataFrame:
        df = pd.DataFrame.from_records(self.monthly_rows, columns=MONTHLY_COLUMNS)
        df["month"] = pd.to_datetime(df["month"])
        for c in ("active_biotechs", "financing_rounds", "offers", "in_diligence", "deals", "folded_biotechs",
                  "new_biotechs", "diligence_started", "diligence_failed"):
            df[c] = df[c].astype("int64")
        return df

    def deals_frame(self) -> pd.DataFrame:
        return self.ledger.frame()

    def biotech_runways(self) -> np.ndarray:
        alive = self.ent.alive_biotechs()
        return Biotech.runway(self, alive)

