"""What every buyer kind shares: its table, its Mesa agent, and the default screen, value and bid.

Design notes:
- Budget. Each month a buyer's BD account receives its allocation (a declared source:
  ``revenue`` for companies, ``fund_raise`` for incubators); it pays upfronts and
  milestones only out of that account, and money beyond ``budget_carry_months`` of
  allocation goes back to the company (``budget_return``). A buyer cannot sign a deal whose
  upfront it cannot pay.
- Capacity. A BD team starts diligence only with a credit; credits accrue at the kind's
  deals per year (more for an MNC facing a revenue gap) and are capped at two.
- Screen. A BD team looks closely at a share ``attention`` of the shopped programmes in its
  focus areas each month (``scouting`` of that outside them), only at rights packages its
  kind buys, and never at its own. It searches China harder the more it trusts China data:
  effort = (trust_b / reference)^(search_trust_elasticity * kind_reliance), and an MNC facing a
  revenue gap searches harder still.
- Value, for a screened pair (package o, buyer b):

      W = V_o * appetite_b[stage] * (1 - sensitivity * distrust) * (1 + urgency_gain * gap_b)
          * fit * e^(noise),   distrust = (1 - trust_b) * reliance_o * kind_reliance

  (reliance_o: weight of China-only data by stage or, for novel biology, by novelty.)
- Bid. The buyer pursues the pair when a China deal beats sourcing elsewhere,
  (1 - hurdle) * W >= ask, and it could pay the upfront at the price it would likely agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import mesa
import numpy as np

from sim.model.assets import cells
from sim.model.firms import Kind
from sim.model.market.valuation import climate, distrust
from sim.scenarios.schema import AREAS, STAGES

if TYPE_CHECKING:
    from sim.model.market.offers import Offers
    from sim.model.model import LicensingMarket

#: Rights packages, in the order of ``Offers.package`` codes.
PACKAGES = ["global", "ex_china", "us_eu_jp", "regional"]
GLOBAL, EX_CHINA, USEUJP, REGIONAL = range(4)


def bernoulli_cells(rng: np.random.Generator, rows: int, cols: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """The (row, column) cells of a rows x cols grid, each taken independently with probability p,
    in row-major order. Drawn as geometric gaps between taken cells, so the cost follows the
    cells taken, not the grid (a dense draw when p is large)."""
    size = rows * cols
    if size == 0 or p <= 0.0:
        flat = np.zeros(0, np.int64)
    elif p >= 0.2:
        flat = (rng.random(size) < p).nonzero()[0]
    else:
        chunks, last = [], -1
        while last < size:
            expect = (size - last) * p
            gaps = rng.geometric(p, size=int(expect + 4.0 * np.sqrt(expect) + 16))
            cells = last + np.cumsum(np.minimum(gaps, size + 1))  # a gap past the end ends it (no overflow)
            chunks.append(cells)
            last = int(cells[-1])
        flat = chunks[0] if len(chunks) == 1 else np.concatenate(chunks)
        flat = flat[: flat.searchsorted(size)]  # the cells are in order: those inside the grid come first
    return np.divmod(flat, cols)


class BuyerTable:
    """Columns of every buyer, indexed by buyer number j (the order of creation)."""

    def __init__(self) -> None:
        self.row = np.zeros(0, np.int64)  # firm row
        self.kind = np.zeros(0, np.int64)
        self.credits = np.zeros(0)
        self.focus = np.zeros((0, len(AREAS)), bool)
        self.trust_offset = np.zeros(0)
        self.home = np.zeros(0, np.int64)  # market index of a regional licensee, -1 otherwise
        self.exposure = np.zeros(0)  # revenue gap per unit of the patent-cliff driver
        self.appetite = np.zeros((0, len(STAGES)))  # appetite by stage at the reference climate
        self.agents: list[Buyer] = []
        self._of: dict[int, np.ndarray] = {}
        self.classes: dict[int, type[Buyer]] = {}  # each kind's class, by kind code
        # This month's terms of every buyer, set by :meth:`observe` once the month's drivers and
        # beliefs are known: its trust in China data, appetite by stage, revenue gap, search
        # effort and reliance on China-only data. Every screen, bid and signing of the month
        # reads them, rather than recomputing them pair by pair. They are as of the last buyers
        # phase (or creation): after changing trust or drivers by hand, call observe again.
        self.trust_now = np.zeros(0)
        self.appetite_now = np.zeros((0, len(STAGES)))
        self.gap_now = np.zeros(0)
        self.effort_now = np.zeros(0)
        self.reliance_now = np.zeros(0)

    @property
    def n(self) -> int:
        return int(self.row.size)

    def append(self, **cols: np.ndarray) -> np.ndarray:
        start = self.n
        for name, values in cols.items():
            setattr(self, name, np.concatenate([getattr(self, name), np.asarray(values, getattr(self, name).dtype)]))
        self._of.clear()
        return np.arange(start, self.n)

    def of(self, kind: Kind) -> np.ndarray:
        """Buyer numbers of a kind (read-only: the table only grows at creation)."""
        k = int(kind)
        if k not in self._of:
            js = (self.kind == k).nonzero()[0]
            js.flags.writeable = False
            self._of[k] = js
        return self._of[k]

    def observe(self, model: "LicensingMarket") -> None:
        """Form this month's terms of every buyer from its kind's hooks (see the attributes)."""
        self.trust_now = np.minimum(np.maximum(model.beliefs.trust + self.trust_offset, 0.0), 1.0)
        self.appetite_now = np.zeros((self.n, len(STAGES)))
        self.gap_now = np.zeros(self.n)
        self.effort_now = np.zeros(self.n)
        self.reliance_now = np.zeros(self.n)
        for kind in self.classes.values():
            js = self.of(kind.kind)
            if js.size:
                self.appetite_now[js] = kind.appetite(model, js)
                self.gap_now[js] = kind.gap(model, js)
                self.effort_now[js] = kind.search_effort(model, js)
                self.reliance_now[js] = kind.reliance_factor(model)


@dataclass
class Bids:
    """Pairs a kind would pursue this month: offer row, buyer number, value W and its basis."""

    offer: np.ndarray
    buyer: np.ndarray
    value: np.ndarray
    basis: np.ndarray  # W before fit and reading error: what re-valuation at signing scales

    @classmethod
    def empty(cls) -> "Bids":
        z = np.zeros(0, np.int64)
        return cls(z, z, np.zeros(0), np.zeros(0))

    @classmethod
    def concat(cls, parts: list["Bids"]) -> "Bids":
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(b, f) for b in parts]) for f in ("offer", "buyer", "value", "basis")))


class Buyer(mesa.Agent):
    """A buyer firm. Its state is row ``row`` of ``model.firms`` and number ``j`` of ``model.buyers``."""

    kind: ClassVar[Kind]
    population: ClassVar[str]  # its count in the scenario's ``population``
    packages: ClassVar[np.ndarray]  # which rights packages (PACKAGES order) it buys
    budget_source: ClassVar[str] = "revenue"

    def __init__(self, model: "LicensingMarket", row: int, j: int, region: str, name: str):
        super().__init__(model)
        self.row, self.j, self.region, self.name = row, j, region, name

    # ------------------------------------------------------------------ what a user inspects
    @property
    def cash(self) -> float:
        return float(self.model.firms.cash[self.row])

    @property
    def revenue(self) -> float:
        return float(self.model.firms.revenue[self.row])

    @property
    def trust(self) -> float:
        """Its trust in China data this month: what its screens, bids and signings act on."""
        return float(self.model.buyers.trust_now[self.j])

    @property
    def deals(self) -> np.ndarray:
        """Ledger rows of the deals it signed as licensee."""
        led = self.model.ledger
        return (led.licensee[: led.n] == self.row).nonzero()[0]

    @property
    def pipeline(self) -> np.ndarray:
        """Programmes it develops (licensed in)."""
        a = self.model.assets
        return ((a.developer[: a.n] == self.row) & (a.status[: a.n] == 0)).nonzero()[0]

    # ------------------------------------------------------------------ creation
    @classmethod
    def create(cls, model: "LicensingMarket", count: int) -> None:
        """Add ``count`` buyers of this kind (firm rows, table rows, agents)."""
        if count <= 0:
            return
        rng = model.rng
        traits = cls.traits(model, count)
        cash, revenue = traits.pop("cash"), traits.pop("revenue_usd")
        names, regions = traits.pop("name"), traits.pop("region")
        rows = model.firms.add(int(cls.kind), count, cash, source=None, month=model.month, revenue=revenue)
        n_focus = rng.integers(2, len(AREAS) + 1, size=count)
        focus = np.zeros((count, len(AREAS)), bool)
        for i in range(count):
            focus[i, rng.choice(len(AREAS), size=n_focus[i], replace=False)] = True
        focus[:, 0] |= rng.random(count) < model.params.valuation.oncology_focus_share
        js = model.buyers.append(row=rows, kind=np.full(count, int(cls.kind)), credits=rng.random(count),
                                 focus=focus, trust_offset=rng.normal(0.0, model.params.valuation.trust_spread, count),
                                 home=traits.pop("home", np.full(count, -1)),
                                 exposure=traits.pop("exposure", np.zeros(count)),
                                 appetite=traits.pop("appetite", np.ones((count, len(STAGES)))))
        for row, j, region, name in zip(rows, js, regions, names):
            model.buyers.agents.append(cls(model, int(row), int(j), region, name))
        model.buyers.classes[int(cls.kind)] = cls
        model.buyers.observe(model)  # the new buyers' terms, so they can bid at once

    @classmethod
    def traits(cls, model: "LicensingMarket", count: int) -> dict:
        """Per-buyer traits: ``revenue_usd`` (a year), opening ``cash``, ``name``, ``region``, and
        optionally ``home`` and ``exposure``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the kind's month
    @classmethod
    def update_revenue(cls, model: "LicensingMarket", js: np.ndarray) -> None:
        """Dated changes to the buyers' revenue this month (none by default)."""

    @classmethod
    def budget(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """This month's allocation to each buyer's BD account (US dollars)."""
        raise NotImplementedError

    @classmethod
    def revenue_budget(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """A company's month of BD allocation at no revenue gap: bd_budget_share of its revenue,
        in-licensed sales included (the base of the companies' ``budget``)."""
        rows = model.buyers.row[js]
        return (model.firms.revenue[rows] + model.firms.licensed_sales[rows]) * model.params.mnc.bd_budget_share / 12.0

    @classmethod
    def capacity(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """Diligence starts each buyer can add this month."""
        raise NotImplementedError

    @classmethod
    def step_kind(cls, model: "LicensingMarket") -> None:
        """Budget in, idle money back, capacity credits."""
        js = model.buyers.of(cls.kind)
        if js.size == 0:
            return
        cls.update_revenue(model, js)
        f, rows = model.firms, model.buyers.row[js]
        inflow = cls.budget(model, js)
        f.source(rows, inflow, cls.budget_source)
        excess = np.maximum(f.cash[rows] - model.params.mnc.budget_carry_months * inflow, 0.0)
        f.sink(rows, excess, "budget_return")
        model.buyers.credits[js] = np.minimum(model.buyers.credits[js] + cls.capacity(model, js),
                                              model.params.valuation.credit_cap)

    # ------------------------------------------------------------------ valuation hooks
    @classmethod
    def reliance_factor(cls, model: "LicensingMarket") -> float:
        """Its reliance on China-only data relative to an MNC's."""
        return 1.0

    @classmethod
    def gap(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """Share of revenue expiring within five years (drives urgency)."""
        return np.zeros(js.size)

    @classmethod
    def search_effort(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """How hard each BD team searches China, relative to ``attention``: more the more it trusts
        China data (as far as its kind relies on that data)."""
        v = model.params.valuation
        relative = np.maximum(model.buyers.trust_now[js], 1e-3) / v.search_trust_reference
        return relative ** (v.search_trust_elasticity * cls.reliance_factor(model))

    @classmethod
    def appetite(cls, model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
        """(buyers, stages) willingness to buy by stage this month."""
        raise NotImplementedError

    @classmethod
    def screen(cls, model: "LicensingMarket", offers: "Offers", js: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (offer row, buyer position in ``js``) pairs its BD teams look at closely this month.

        Each pair is looked at with probability attention x (1 in focus, ``scouting`` outside) x
        search effort, independently. Most pairs are not, so the pairs are drawn sparsely: cells
        at the highest of these probabilities, then thinned to each pair's own (the same law as
        one uniform draw per pair, at a cost in the pairs drawn rather than in offers x buyers).
        """
        v = model.params.valuation
        effort = v.attention * model.buyers.effort_now[js]
        top = min(effort.max(initial=0.0) * max(1.0, v.scouting), 1.0)
        o, k = bernoulli_cells(model.rng, offers.size, js.size, top)
        if o.size == 0:
            return o, k
        jk = js[k]
        focus = cells(model.buyers.focus, jk, offers.area[o])
        attention = effort[k] * np.where(focus, 1.0, v.scouting)
        keep = model.rng.random(o.size) * top < attention
        keep &= cls.packages[offers.package[o]]
        keep &= offers.seller[o] != model.buyers.row[jk]
        return o[keep], k[keep]

    @classmethod
    def value(cls, model: "LicensingMarket", offers: "Offers", o: np.ndarray, js: np.ndarray,
              distrusted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Value W and basis of the pairs (offer rows ``o``, buyer numbers ``js``, what each takes
        on trust ``distrusted``)."""
        v = model.params.valuation
        basis = offers.value[o] * climate(model, offers.asset[o], js, distrusted, offers.stage[o])
        infocus = cells(model.buyers.focus, js, offers.area[o])
        fit = np.where(infocus, 1.0, v.off_focus_fit)
        return basis * fit * np.exp(model.rng.normal(0.0, v.quality_noise, o.size)), basis

    @classmethod
    def reserve(cls, model: "LicensingMarket", js: np.ndarray, assets: np.ndarray) -> np.ndarray:
        """Cash a buyer must keep besides the upfront to take a programme on."""
        return np.zeros(js.size)

    @classmethod
    def bid(cls, model: "LicensingMarket", offers: "Offers", js: np.ndarray) -> Bids:
        """The pairs this kind's buyers would pursue: they beat the hurdle and are affordable."""
        from sim.model.market.terms import upfront_share  # terms reads this module's PACKAGES

        if js.size == 0 or offers.size == 0:
            return Bids.empty()
        o, k = cls.screen(model, offers, js)
        if o.size == 0:
            return Bids.empty()
        jj = js[k]
        distrusted = distrust(model, offers.asset[o], jj, offers.relied[o])
        W, basis = cls.value(model, offers, o, jj, distrusted)
        v = model.params.valuation
        ask = offers.ask[o]
        keep = ((1.0 - v.hurdle) * W >= ask) & (W > 0)
        likely = ask + v.seller_power * np.maximum(W - ask, 0.0)
        upfront = upfront_share(model, offers.stage[o], distrusted) * likely
        upfront = upfront * cls.upfront_factor()
        keep &= model.firms.cash[model.buyers.row[jj]] >= upfront + cls.reserve(model, jj, offers.asset[o])
        return Bids(offer=o[keep], buyer=jj[keep], value=W[keep], basis=basis[keep])

    # ------------------------------------------------------------------ terms hooks
    @classmethod
    def upfront_factor(cls) -> float:
        return 1.0

    @classmethod
    def deal_type(cls, model: "LicensingMarket", package: int, distressed: bool, seller_kind: Kind,
                  core_healthy_clinical: bool) -> str:
        """What kind of deal a signing is: license, co_development, acquisition or newco."""
        return "license"
