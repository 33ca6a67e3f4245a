"""LicensingMarket: the Mesa model. Wiring only: the population, the ordered phases of a month,
and the DataCollector of the monthly series.

Where each mechanism lives:
    sim/model/expectations.py   expectations of funding and trust; the track record that moves trust
    sim/model/sector.py         entry of biotechs, discovery of programmes, learning
    sim/model/development.py    progress, readouts, stage gates, NewCo development
    sim/model/biotech.py        biotechs: financing, burn and folding, gating, offering, asking, distress
    sim/model/buyers/           one class per buyer kind: budget, capacity, appetite, screen, value, bid, terms
    sim/model/market/           offers, valuation, matching, diligence, terms, contracts
    sim/model/firms.py          every firm's row and its cash; the only ways money moves
    sim/model/assets.py         programmes as columns; odds and worth
    sim/model/ledger.py         the deal ledger
"""

from __future__ import annotations

from functools import partial
from typing import Callable

import mesa
import numpy as np
import pandas as pd

from sim.model.codes import ACTIVE, BIOTECH
from sim.model import development, sector
from sim.model.assets import AssetTable
from sim.model.biotech import Biotech, refresh_burn
from sim.model.buyers import BUYER_KINDS, BuyerTable
from sim.model.drivers import DriverPaths
from sim.model.expectations import Beliefs
from sim.model.firms import FirmTable
from sim.model.ledger import Ledger
from sim.model.market import contracts, diligence, matching
from sim.model.market.diligence import TalksTable
from sim.model.market.offers import build_offers
from sim.model.params import Params
from sim.scenarios.schema import Scenario, month_index

#: The monthly series (one row per recorded month), in column order.
MONTHLY_COLUMNS = [
    "month", "funding_index", "trust_index", "patent_cliff_index", "us_venture_index", "rd_externalisation_index",
    "trust_effective", "expected_funding", "active_biotechs", "pipeline_programmes", "primary_financing_usd",
    "financing_rounds", "offers", "in_diligence", "deals", "upfront_usd", "biotech_cash_usd", "buyer_bd_cash_usd",
    "folded_biotechs", "new_biotechs", "diligence_started", "diligence_failed", "returned_deals",
]
_INT_COLUMNS = ("active_biotechs", "pipeline_programmes", "financing_rounds", "offers", "in_diligence", "deals",
                "folded_biotechs", "new_biotechs", "diligence_started", "diligence_failed", "returned_deals")


def _reading(key: str, model: "LicensingMarket"):
    return model.current[key]


def _pipeline_size(agent) -> int:
    return int(agent.pipeline.size)


class LicensingMarket(mesa.Model):
    """The cross-border licensing market, one step per calendar month.

    Args:
        scenario: a validated :class:`~sim.scenarios.schema.Scenario`, or the name or path of a
            scenario file (default: the shipped baseline).
        seed: root seed; all randomness flows from it (default: the scenario's ``seed``).
        rng: a seed given the Mesa way (an integer), as an alternative to ``seed``.
        overrides: dotted-path overrides, e.g. ``{"drivers.funding.scale": 1.5}``.
        collect_agents: also collect each firm's cash and pipeline every month
            (``datacollector.get_agenttype_vars_dataframe``); off by default, as it costs time.
    """

    def __init__(self, scenario: Scenario | str = "baseline", seed: int | None = None, *, rng: int | None = None,
                 overrides: dict | None = None, collect_agents: bool = False):
        if not isinstance(scenario, Scenario) or overrides:
            from sim.scenarios.loader import apply_overrides, load_scenario

            scenario = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
            scenario = apply_overrides(scenario, overrides) if overrides else scenario
        if seed is not None and rng is not None:
            raise ValueError("give seed or rng, not both")
        if rng is not None and not isinstance(rng, (int, np.integer)):
            raise TypeError("rng must be an integer seed (all randomness flows from one recorded seed)")
        seed = int(rng) if rng is not None else (scenario.seed if seed is None else int(seed))
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(seed)))
        self.seed = seed
        self.scenario = scenario
        self.params = Params.from_scenario(scenario)
        self.start_abs = month_index(scenario.start)
        self.n_months = month_index(scenario.end) - self.start_abs + 1
        self.paths = DriverPaths.build(scenario.drivers, scenario.start, self.n_months)
        # Month number of the step in progress: 0 is the scenario's start; burn-in months are negative.
        self.month = -1 - self.params.warmup_months
        self._date_of: tuple[int, pd.Timestamp | None] = (-1, None)
        self.drivers_now = self.paths.at(0)
        self.beliefs = Beliefs.start(self.params.expectations, self.params.trust, self.drivers_now["funding"],
                                     self.drivers_now["trust"])
        self.firms = FirmTable()
        self.assets = AssetTable(self.params.development)
        self.buyers = BuyerTable()
        self.talks = TalksTable()
        self.ledger = Ledger()
        self.biotech_agents: dict[int, Biotech] = {}
        self.clinical_experience = 0.0
        self.expiries: list[tuple[int, int, float]] = []  # (month, top-MNC number, sales lost): set by Mnc
        self.china_speed = self.params.development.china_speed
        self._reset_month()
        self.financing_left = 0.0
        for kind in BUYER_KINDS:
            kind.create(self, getattr(scenario.population, kind.population))
        sector.found(self, self.params.sector.initial_firms, initial=True)
        refresh_burn(self)
        self.current: dict = {}
        reporters = {c: partial(_reading, c) for c in MONTHLY_COLUMNS}
        agent_reporters = {}
        if collect_agents:
            agent_reporters = {Biotech: {"cash": "cash", "runway": "runway", "pipeline": _pipeline_size}}
            agent_reporters.update({k: {"cash": "cash", "pipeline": _pipeline_size} for k in BUYER_KINDS})
        self.datacollector = mesa.DataCollector(model_reporters=reporters, agenttype_reporters=agent_reporters)
        self.running = True
        # Burn-in: the market runs a while at the start's drivers so that the start opens with
        # deals in talks and contracts in force; nothing of it is recorded.
        for _ in range(self.params.warmup_months):
            self._month(record=False)

    #: The phases of a month, in order: (name, function of the model).
    PHASES: tuple[tuple[str, Callable[["LicensingMarket"], None]], ...] = ()

    def step(self) -> None:
        """One calendar month."""
        self._month(record=True)

    def _month(self, record: bool) -> None:
        for _name, phase in self.PHASES:
            phase(self)
        if record:
            self._record()
        if self.month >= self.n_months - 1:
            self.running = False

    # ----------------------------------------------------------------------- phases
    def _reset_month(self) -> None:
        self.month_deals = self.month_failed = self.month_returned = self.month_folded = 0
        self.month_new = self.month_rounds = self.month_offers = self.month_started = 0
        self.month_upfront = self.month_raised = 0.0

    def _observe(self) -> None:
        """A new month: drivers, beliefs formed from what has happened, this month's financing pool."""
        self.month += 1
        self._reset_month()
        self.drivers_now = self.paths.at(self.t)
        self.beliefs.update(self.drivers_now["funding"], self.drivers_now["trust"])
        self.china_speed = sector.china_speed(self)
        self.financing_left = self.params.finance.pool_per_year / 12.0 * self.drivers_now["funding"]

    def _buyers(self) -> None:
        self.buyers.observe(self)
        for kind in BUYER_KINDS:
            kind.step_kind(self)

    def _market(self) -> None:
        offers = build_offers(self)
        self.month_offers = offers.size
        self.month_started = matching.match(self, offers)

    def _record(self) -> None:
        d, f = self.drivers_now, self.firms
        alive = f.of_kind(BIOTECH)
        buyers = self.buyers.row
        a = self.assets
        self.current = dict(zip(MONTHLY_COLUMNS, (
            self.date, d["funding"], d["trust"], d["patent_cliff"], d["us_venture"], d["rd_externalisation"],
            self.beliefs.trust, self.beliefs.funding.expected, int(alive.size),
            int((a.status[: a.n] == ACTIVE).sum()), self.month_raised, self.month_rounds, self.month_offers,
            self.talks.n, self.month_deals, self.month_upfront, float(f.cash[alive].sum()),
            float(f.cash[buyers].sum()), self.month_folded, self.month_new, self.month_started, self.month_failed,
            self.month_returned,
        )))
        self.datacollector.collect(self)

    # ----------------------------------------------------------------------- time
    @property
    def t(self) -> int:
        """Index into the driver paths (burn-in months use the start's drivers)."""
        return max(self.month, 0)

    @property
    def month_abs(self) -> int:
        return self.start_abs + self.t

    @property
    def date(self) -> pd.Timestamp:
        """First day of the month being simulated (made once a month: it is read at every signing)."""
        m = self.month_abs
        if self._date_of[0] != m:
            self._date_of = (m, pd.Timestamp(year=m // 12, month=m % 12 + 1, day=1))
        return self._date_of[1]

    # ----------------------------------------------------------------------- outputs
    def monthly_frame(self) -> pd.DataFrame:
        df = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        df = df.reindex(columns=MONTHLY_COLUMNS)
        df["month"] = pd.to_datetime(df["month"])
        for c in _INT_COLUMNS:
            df[c] = df[c].astype("int64")
        return df

    def deals_frame(self) -> pd.DataFrame:
        return self.ledger.frame()

    def biotech_runways(self) -> np.ndarray:
        return self.firms.runway(self.firms.of_kind(BIOTECH))


LicensingMarket.PHASES = (
    ("observe", LicensingMarket._observe),
    ("buyers: budgets and capacity", LicensingMarket._buyers),
    ("contracts: owed milestones", contracts.settle),
    ("development", development.develop),
    ("contracts: sales and royalties", contracts.royalties_and_sales),
    ("sector: entry", sector.enter),
    ("sector: discovery", sector.discover),
    ("biotechs: financing, burn, folding", Biotech.step_kind),
    ("contracts: terminations", contracts.terminations),
    ("diligence: closing and signing", diligence.close_talks),
    ("offers and matching", LicensingMarket._market),
)
