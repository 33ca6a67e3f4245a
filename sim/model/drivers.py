"""Exogenous drivers: the funding climate, trust, patent-cliff pressure, US venture money.

Design notes: a driver is a piecewise-linear series through dated points, held flat
before the first and after the last point (or one ``constant`` level), times ``scale``, plus
dated additive shocks (ramped in linearly, optionally fading out). Everything is precomputed
once per run as one array over the simulated months, so the market reads a driver with an index.

    x(t) = clip(scale * interp(t; points) + sum_k shock_k(t), lower, upper)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenarios.schema import Driver, Drivers, month_index

DRIVER_NAMES = ("funding", "trust", "patent_cliff", "us_venture", "rd_externalisation")


def driver_series(driver: Driver, start: str, n_months: int) -> np.ndarray:
    """Evaluate one driver at each simulated month (float64 array of length n_months)."""
    t = month_index(start) + np.arange(n_months, dtype=np.float64)
    if driver.constant is not None:
        level = np.full(n_months, driver.constant)
    else:
        keys = sorted(driver.points, key=month_index)
        xp = np.array([month_index(k) for k in keys], dtype=np.float64)
        fp = np.array([driver.points[k] for k in keys], dtype=np.float64)
        level = np.interp(t, xp, fp)
    values = level * driver.scale
    for shock in driver.shocks:
        t0 = month_index(shock.at)
        ramp = shock.ramp_months
        strength = np.clip((t - t0 + 1) / ramp, 0.0, 1.0)
        if shock.duration_months is not None:
            t_fade = t0 + ramp - 1 + shock.duration_months
            strength = strength * np.clip(1.0 - (t - t_fade) / ramp, 0.0, 1.0)
        values = values + shock.change * strength
    return np.clip(values, driver.lower, driver.upper)


@dataclass(frozen=True)
class DriverPaths:
    """All drivers over the run, one array each, indexed by month number (0 = start)."""

    funding: np.ndarray
    trust: np.ndarray
    patent_cliff: np.ndarray
    us_venture: np.ndarray
    rd_externalisation: np.ndarray

    @classmethod
    def build(cls, drivers: Drivers, start: str, n_months: int) -> "DriverPaths":
        return cls(**{name: driver_series(getattr(drivers, name), start, n_months) for name in DRIVER_NAMES})

    def at(self, month: int) -> dict[str, float]:
        return {name: float(getattr(self, name)[month]) for name in DRIVER_NAMES}
