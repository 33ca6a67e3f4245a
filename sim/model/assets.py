"""Drug programmes as typed columns, their odds and their worth.

Design notes: programmes are not agents; they are rows of typed arrays owned by the model
(BAM-engine "roles"). ``rights[i, r]`` is the firm that holds programme i in market r
(``REGIONS``): the originator until a territory is licensed, then the licensee; a market is
held by exactly one firm at a time, by construction. Odds of a stage, with latent quality q
(standard normal, it also scales peak sales):

    p(stage, area, q) = min(cap, success[stage] * area_success[area] * exp(gain * q))

A buyer values worldwide rights at the risk-adjusted, discounted value of the product:

    V = P(reach approval) * peak_sales * product_value_multiple * (1 + r) ^ -(years to launch)

and a rights package at V times the package's share of worldwide sales. A programme that has
read out at a stage gate (``read_out``) counts that stage's odds as won.
"""

from __future__ import annotations

import functools

import numpy as np

from sim.model.codes import ACTIVE, APPROVED, PHASE2, Status  # noqa: F401  (Status re-exported)
from sim.model.params import DevelopmentParams
from sim.scenarios.schema import REGIONS

N_REGIONS = len(REGIONS)
CN = REGIONS.index("CN")
US = REGIONS.index("US")
EX_CN = np.array([r != "CN" for r in REGIONS])
US_EU_JP = np.array([r in ("US", "EU", "JP") for r in REGIONS])
APPROVED = int(APPROVED)


def all_columns(m: np.ndarray) -> np.ndarray:
    """Rows of a boolean (rows, regions) matrix (at least one column) with every column set. Column
    by column: numpy's reduction along short rows costs several times more (it runs every month
    on every offer)."""
    return functools.reduce(np.logical_and, (m[:, c] for c in range(m.shape[1])))


def cells(m: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``m[rows, cols]`` for a C-ordered matrix and columns in ``range(m.shape[1])`` (no negative
    or wrapping column), as one gather from its flat view: about half the time of numpy's
    two-array indexing, and every screen and valuation reads thousands of cells."""
    return m.ravel()[rows.astype(np.int64, copy=False) * m.shape[1] + cols]


def holds_any(rights: np.ndarray, ids: np.ndarray, holder: np.ndarray, markets: np.ndarray) -> np.ndarray:
    """Whether ``holder[i]`` holds any of ``markets`` of programme ``ids[i]``. The first market
    is looked at for every programme, the others only for those not found there (put the
    likeliest first): this runs every month over every programme. ``markets``: market indices,
    or a boolean mask over the markets."""
    if markets.dtype == bool:
        markets = markets.nonzero()[0]
    found = rights[:, markets[0]][ids] == holder  # a column, then a gather: faster than rights[ids, m]
    rest = (~found).nonzero()[0]
    if rest.size and markets.size > 1:
        found[rest] = (rights[ids[rest]][:, markets[1:]] == holder[rest, None]).any(axis=1)
    return found


def cdf(weights: np.ndarray) -> np.ndarray:
    """Cumulative distribution of non-negative category weights (what :func:`categories` draws from)."""
    if not (weights.min() >= 0.0 and 0.0 < weights.sum() < np.inf):
        raise ValueError(f"category weights must be finite, non-negative and not all zero: {weights}")
    out = np.cumsum(weights)
    out /= out[-1]
    return out


def categories(rng: np.random.Generator, cumulative: np.ndarray, k: int) -> np.ndarray:
    """``k`` category indices drawn with :func:`cdf` ``cumulative``: the draws of
    ``rng.choice(len(weights), size=k, p=weights)``, without its per-call checks of the weights
    (programmes are started every month, a few at a time)."""
    return cumulative.searchsorted(rng.random(k), side="right")


class AssetTable:
    """Columnar state of every programme; grows as programmes are started."""

    # int64 for columns used as indices (firm rows, stage, area, novelty): numpy casts an index of
    # any other integer type on every gather, and these are gathered thousands of times a month.
    INT = {"originator": np.int64, "developer": np.int64, "stage": np.int64, "status": np.int8, "area": np.int64,
           "modality": np.int8, "novelty": np.int64, "created": np.int32, "approved_month": np.int32}
    FLOAT = ("quality", "progress", "duration", "speed", "quality_odds", "odds_base", "peak")  # last 3: fixed at start
    BOOL = ("global_data", "core", "in_talks", "paused", "read_out")

    def __init__(self, params: DevelopmentParams, capacity: int = 4096):
        self.p = params
        self.n = 0
        self.core_cut: float | None = None
        for name, dtype in self.INT.items():
            setattr(self, name, np.full(capacity, -1, dtype=dtype))
        for name in self.FLOAT:
            setattr(self, name, np.zeros(capacity))
        for name in self.BOOL:
            setattr(self, name, np.zeros(capacity, dtype=bool))
        self.rights = np.full((capacity, N_REGIONS), -1, dtype=np.int64)
        # Months from the start of each stage to approval, and years from preclinical to each stage's end.
        self._to_approval = np.cumsum(np.concatenate([[0.0], params.duration[:APPROVED]]))
        self._stage_end_years = np.cumsum(params.duration[:APPROVED]) / 12.0
        self._stage_start_years = np.concatenate([[0.0], self._stage_end_years])
        self._area_cdf, self._modality_cdf = cdf(params.area_mix), cdf(params.modality_mix)

    def _grow(self, extra: int) -> None:
        cap = self.stage.size
        if self.n + extra <= cap:
            return
        new_cap = max(self.n + extra, cap * 2)
        for name in [*self.INT, *self.FLOAT, *self.BOOL]:
            old = getattr(self, name)
            arr = np.full(new_cap, -1 if name in self.INT else 0, dtype=old.dtype)
            arr[:cap] = old
            setattr(self, name, arr)
        rights = np.full((new_cap, N_REGIONS), -1, dtype=np.int64)
        rights[:cap] = self.rights
        self.rights = rights

    def add(self, rng: np.random.Generator, owners: np.ndarray, stage: np.ndarray, month: int,
            innovation: tuple[float, float, float], speed: float, initial: bool = False) -> np.ndarray:
        """Start programmes for ``owners`` at ``stage``; returns their ids.

        ``innovation`` (:func:`sim.model.sector.innovation`: novelty tilt, quality shift, log-lift of
        the odds of a global data package) comes from the ecosystem's experience.
        """
        p = self.p
        k = owners.size
        self._grow(k)
        ids = np.arange(self.n, self.n + k)
        self.originator[ids] = owners
        self.developer[ids] = owners
        self.stage[ids] = stage
        self.status[ids] = ACTIVE
        self.area[ids] = categories(rng, self._area_cdf, k)
        self.modality[ids] = categories(rng, self._modality_cdf, k)
        tilt = p.novelty_mix * np.exp(innovation[0] * (1.5 - np.arange(p.novelty_mix.size)))
        self.novelty[ids] = categories(rng, cdf(tilt / tilt.sum()), k)
        self.quality[ids] = rng.normal(innovation[1], 1.0, size=k)
        self.quality_odds[ids], self.odds_base[ids], self.peak[ids] = self.fixed_at_start(ids)
        self.global_data[ids] = rng.random(k) < min(1.0, p.global_data_share * np.exp(innovation[2]))
        # Core programmes are the promising ones: those whose (noisy) potential clears the cut
        # that makes core_share of the starting pipeline core.
        potential = np.log(p.novelty_value[self.novelty[ids]]) + p.quality_sd * self.quality[ids]
        key = p.core_value_tilt * potential + rng.normal(0.0, 1.0, size=k)
        if self.core_cut is None:
            self.core_cut = float(np.quantile(key, 1.0 - p.core_share)) if k else 0.0
        self.core[ids] = key > self.core_cut
        self.created[ids] = month
        self.speed[ids] = 1.0
        self.rights[ids, :] = owners[:, None]
        self.n += k
        self.start_stage(rng, ids, speed)
        if initial:  # programmes present at the start are part-way through their stage
            self.progress[ids] = rng.random(k) * np.minimum(self.duration[ids], 1e6)
        return ids

    def start_stage(self, rng: np.random.Generator, ids: np.ndarray, china_speed: float) -> None:
        """Draw the duration of the stage each programme has just entered."""
        stage = self.stage[ids]
        china_run = (self.developer[ids] == self.originator[ids]) & (stage <= PHASE2)
        factor = np.where(china_run, china_speed, 1.0) * self.speed[ids]
        self.duration[ids] = self.p.duration[stage] * factor * rng.lognormal(0.0, self.p.duration_spread, ids.size)
        self.progress[ids] = 0.0
        self.read_out[ids] = False

    def fixed_at_start(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What a programme's area, novelty and quality fix for good: its quality's odds factor, that
        times its area's (the odds before the stage's), and its peak sales. Stored when it starts, as
        every month values hundreds of programmes; the invariants check the stored columns."""
        p = self.p
        quality_odds = np.exp(p.quality_success_gain * self.quality[ids])
        peak = (p.peak_area[self.area[ids]] * p.novelty_value[self.novelty[ids]]
                * np.exp(p.quality_sd * self.quality[ids]))
        return quality_odds, p.area_success[self.area[ids]] * quality_odds, peak

    def live(self) -> np.ndarray:
        """Ids of the active programmes (most rows are programmes that have ended)."""
        return (self.status[: self.n] == ACTIVE).nonzero()[0]

    # ------------------------------------------------------------------ odds and worth
    def success_prob(self, ids: np.ndarray, stage: np.ndarray | None = None) -> np.ndarray:
        return self._odds(ids, stage, self.quality_odds[ids])

    def prior_odds(self, ids: np.ndarray) -> np.ndarray:
        """The odds a programme of the start's average quality has at its stage and area: what
        buyers expect of a China programme before its own data (the track record's yardstick)."""
        return self._odds(ids, None, 1.0)

    def _odds(self, ids: np.ndarray, stage: np.ndarray | None, quality_factor: np.ndarray | float) -> np.ndarray:
        p = self.p
        stage = self.stage[ids] if stage is None else stage
        odds = p.success[stage] * p.area_success[self.area[ids]] * quality_factor
        return np.where(stage >= APPROVED, 1.0, np.minimum(odds, p.success_cap))

    def _odds_by_stage(self, ids: np.ndarray) -> list[np.ndarray]:
        """Each programme's odds of each stage before approval, stage by stage (1 for a stage
        already passed or read out)."""
        p, base = self.p, self.odds_base[ids]
        done = self.stage[ids] + self.read_out[ids]  # stage s is behind it when done > s
        return [np.where(done > s, 1.0, np.minimum(base * p.success[s], p.success_cap)) for s in range(APPROVED)]

    def stage_odds(self, ids: np.ndarray) -> np.ndarray:
        """(programmes, stages) odds of each stage, with stages already passed or read out at 1."""
        return np.column_stack([*self._odds_by_stage(ids), np.ones(ids.size)])

    def pos_to_approval(self, ids: np.ndarray) -> np.ndarray:
        """The product of :meth:`stage_odds` over the stages, stage by stage (no (programmes, stages) matrix)."""
        return functools.reduce(np.multiply, self._odds_by_stage(ids))

    def years_to_launch(self, ids: np.ndarray) -> np.ndarray:
        stage = self.stage[ids]
        ahead = self._to_approval
        later = ahead[APPROVED] - ahead[np.minimum(stage + 1, APPROVED)]
        current = np.where(stage < APPROVED, np.maximum(self.duration[ids] - self.progress[ids], 0.0), 0.0)
        return (later + current) / 12.0

    def peak_sales(self, ids: np.ndarray) -> np.ndarray:
        return self.peak[ids]

    def world_value(self, ids: np.ndarray) -> np.ndarray:
        """Risk-adjusted NPV of worldwide rights (US dollars)."""
        p = self.p
        disc = (1.0 + p.discount_rate) ** (-self.years_to_launch(ids))
        return self.pos_to_approval(ids) * self.peak_sales(ids) * p.product_value_multiple * disc

    def territory_share(self, masks: np.ndarray) -> np.ndarray:
        # A row sum, not a matrix product: BLAS rounds by the array's shape, and a package must be
        # worth the same bits whichever other packages are valued with it.
        return np.where(masks, self.p.region_share, 0.0).sum(axis=1)

    def package_value(self, ids: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Risk-adjusted value of each rights package: world value x its territories' share."""
        return self.world_value(ids) * self.territory_share(masks)

    def milestone_payout(self, ids: np.ndarray, sales_share: float) -> np.ndarray:
        """Expected, discounted share of a deal's nominal milestones that will be paid (0-1].

        Development milestones are spread evenly over the stage moves left; the sales
        milestone comes two years after approval.
        """
        p = self.p
        stage = self.stage[ids]
        odds = self.stage_odds(ids)[:, :APPROVED]
        reach = np.cumprod(odds, axis=1)  # chance of completing stage s
        when = self._stage_end_years  # years to the end of stage s from preclinical start
        start = self._stage_start_years[stage]
        disc = (1.0 + p.discount_rate) ** (-np.maximum(when[None, :] - start[:, None], 0.0))
        cols = np.arange(APPROVED)
        ahead = cols[None, :] >= stage[:, None]
        steps = np.maximum(APPROVED - stage, 1)
        dev = ((1.0 - sales_share) / steps) * (reach * disc * ahead).sum(axis=1)
        sales = sales_share * reach[:, -1] * (1.0 + p.discount_rate) ** (-(when[-1] - start + 2.0))
        return np.maximum(dev + sales, 1e-3)
