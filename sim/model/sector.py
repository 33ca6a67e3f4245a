"""The sector grows: entry of new biotechs, discovery of new programmes, and learning.

Design notes:
- Entry. Biotechs are founded at entry_per_year * funding(t - lag)^e a year (Poisson): the
  financing climate of ``entry_lag_months`` ago funded the seed rounds and lead candidates
  of the firms that now hold a programme they could license. Their opening cash
  (``entrant_runway_months`` of burn) comes out of this month's financing pool. So the
  2020-21 boom deepens the pipeline that the 2022-24 winter then sells.
- Discovery. A biotech with runway above the pause level starts new preclinical
  programmes at discovery_per_year * funding^elasticity a year.
- Learning. The ecosystem learns from its clinical readouts (phase 2 on), with diminishing
  returns: innovation I = learning_rate * E / (E + scale) approaches learning_rate as the
  experience E accumulates. Experience also fades, E_t = E * (1 - 1/M) + readouts (know-how
  leaves with people; Argote et al. 1990), so under constant drivers it settles at M times the
  readouts a month, and so does innovation: without forgetting, E grows without bound and
  the sector's quality, approvals and population creep up for decades. New programmes' novelty odds tilt by
  e^(I * (1.5 - rank)) toward first/best-in-class, their mean quality rises by
  learning_quality * I, the chance of a global data package by e^(learning_global_data * I),
  and China-run development speeds up by e^(-learning_speed * I) (ARC25: early clinical work
  25-55% faster; SinoDrugWatch: 9 first-in-class candidates in 2015, 120 in 2024).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.assets import categories, cdf
from sim.model.biotech import Biotech
from sim.model.codes import BIOTECH

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


def innovation(model: "LicensingMarket") -> tuple[float, float, float]:
    """(novelty tilt, quality shift, global-data log-lift) of programmes started now."""
    s = model.params.sector
    level = _level(model)
    return level, s.learning_quality * level, s.learning_global_data * level


def _level(model: "LicensingMarket") -> float:
    s = model.params.sector
    return s.learning_rate * model.clinical_experience / (model.clinical_experience + s.experience_scale)


def china_speed(model: "LicensingMarket") -> float:
    s = model.params.sector
    return model.params.development.china_speed * float(np.exp(-s.learning_speed * _level(model)))


def found(model: "LicensingMarket", count: int, initial: bool) -> np.ndarray:
    """Create ``count`` biotechs with their programmes; returns their firm rows."""
    if count <= 0:
        return np.zeros(0, np.int64)
    s, fp, rng = model.params.sector, model.params.finance, model.rng
    if initial:
        n_assets = 1 + rng.poisson(max(s.per_biotech - 1.0, 0.0), size=count)
        stage_w = s.initial_stage_mix
    else:
        n_assets = np.ones(count, np.int64)
        stage_w = np.array([1.0 - s.entrant_phase1_share, s.entrant_phase1_share, 0.0, 0.0, 0.0, 0.0])
    owners_rel = np.repeat(np.arange(count), n_assets)
    stages = categories(rng, cdf(stage_w), owners_rel.size)
    burn = fp.overhead + np.bincount(owners_rel, weights=model.params.development.cost[stages], minlength=count)
    runway = fp.initial_runway_months if initial else fp.entrant_runway_months
    cash = burn * runway * rng.lognormal(0.0, 0.5 if initial else 0.3, size=count)
    if not initial:  # seed rounds come out of this month's financing pool
        cash = cash * min(1.0, model.financing_left / max(cash.sum(), 1e-9))
        model.financing_left -= float(cash.sum())
    strategy = (rng.random(count) < fp.partnership_first_share).astype(np.int8)
    bd_cap = rng.beta(2.0, 2.0, size=count) * 1.5 + 0.25
    optimism = rng.lognormal(0.0, fp.valuation_spread, size=count)
    rows = model.firms.add(int(BIOTECH), count, cash, source=None if initial else "financing",
                           month=model.month, strategy=strategy, bd_cap=bd_cap, optimism=optimism)
    for r in rows:
        model.biotech_agents[int(r)] = Biotech(model, int(r))
    ids = model.assets.add(rng, rows[owners_rel], stages, model.month, innovation(model), model.china_speed,
                           initial=initial)
    if initial:
        approved = ids[model.assets.stage[ids] == len(stage_w) - 1]
        model.assets.approved_month[approved] = model.month - rng.integers(0, 60, size=approved.size)
    if not initial:
        model.month_raised += float(cash.sum())
        model.month_rounds += count
    return rows


def enter(model: "LicensingMarket") -> None:
    s = model.params.sector
    lagged = model.paths.funding[max(model.t - int(round(s.entry_lag_months)), 0)]
    count = int(model.rng.poisson(s.entry_per_year / 12.0 * lagged ** s.entry_funding_elasticity))
    model.month_new = count
    found(model, count, initial=False)


def discover(model: "LicensingMarket") -> None:
    s, f = model.params.sector, model.firms
    alive = f.of_kind(BIOTECH)
    if alive.size == 0 or s.discovery_per_year <= 0:
        return
    rate = s.discovery_per_year / 12.0 * model.drivers_now["funding"] ** s.discovery_funding_elasticity
    starters = alive[(f.runway(alive) > model.params.seller.pause_runway_months)
                     & (model.rng.random(alive.size) < rate)]
    if starters.size:
        model.assets.add(model.rng, starters, np.zeros(starters.size, np.int8), model.month, innovation(model),
                         model.china_speed)
