"""Accounting and property-rights invariants, checked after every step in tests.

- Money is finite: every cash balance and every declared flow is a finite number.
- Money is conserved: cash held == opening + declared sources - declared sinks, so no firm of
  any kind gains or loses money except through a declared flow or a transfer.
- Nobody holds negative cash: no firm spent what it did not have.
- A territory of a programme is never licensed twice: live deals on the same programme whose
  territories overlap form a chain (the later licensor is the earlier licensee, as when a
  NewCo sells on), and each market's holder is the licensee at the end of that chain.
- Stages only move forward.
- What a programme's quality, area and novelty fix at its start (odds factor, peak sales) is
  what its stored columns say.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from sim.model.firms import Kind

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


class InvariantError(AssertionError):
    pass


def check_money(model: "LicensingMarket") -> None:
    f = model.firms
    cash = f.cash[: f.n]
    flows = [f.opening_total, *f.sources.values(), *f.sinks.values(), *f.transfers.values()]
    if not (np.all(np.isfinite(cash)) and np.all(np.isfinite(flows))):
        bad = np.flatnonzero(~np.isfinite(cash))
        raise InvariantError(f"non-finite money: firms {bad[:5].tolist()} or a declared flow")
    scale = max(1.0, f.opening_total + sum(f.sources.values()) + sum(f.sinks.values()))
    if abs(f.imbalance()) > 1e-9 * scale:
        raise InvariantError(f"money not conserved: imbalance {f.imbalance():.6g} USD")
    bad = np.flatnonzero(cash < -1e-6)
    if bad.size:
        kinds = [Kind(int(k)).name for k in f.kind[bad[:5]]]
        raise InvariantError(f"firms with negative cash (spent what they did not have): {bad[:5].tolist()} {kinds}")


def check_invariants(model: "LicensingMarket", previous_stage: np.ndarray | None = None) -> np.ndarray:
    """Raise :class:`InvariantError` if any invariant fails; return the stages to pass next time."""
    check_money(model)
    a, led = model.assets, model.ledger
    live = led.live()
    by_asset: dict[int, list[int]] = defaultdict(list)
    for d in live:
        by_asset[int(led.asset[d])].append(int(d))
    for asset, deals in by_asset.items():
        deals.sort()
        for i, x in enumerate(deals):
            for y in deals[i + 1:]:
                if (led.regions[x] & led.regions[y]).any() and led.licensor[y] != led.licensee[x]:
                    raise InvariantError(f"asset {asset}: deals {x} and {y} license the same territory twice")
    expected = np.repeat(a.originator[: a.n, None], a.rights.shape[1], axis=1)
    for asset, deals in by_asset.items():
        for d in sorted(deals):  # later deals in a chain overwrite earlier ones
            expected[asset, led.regions[d]] = led.licensee[d]
    held = a.rights[: a.n]
    active = a.status[: a.n] == 0
    mismatch = np.flatnonzero(active & (held != expected).any(axis=1))
    if mismatch.size:
        i = int(mismatch[0])
        raise InvariantError(f"asset {i}: rights {held[i].tolist()} do not match live deals {expected[i].tolist()}")
    ids = np.arange(a.n)
    stored = (a.quality_odds[: a.n], a.odds_base[: a.n], a.peak[: a.n])
    drift = np.flatnonzero(~np.logical_and.reduce([x == y for x, y in zip(stored, a.fixed_at_start(ids))]))
    if drift.size:
        raise InvariantError(f"assets {drift[:5].tolist()}: stored odds or peak sales differ from their quality, "
                             "area and novelty")
    stage = a.stage[: a.n].copy()
    if previous_stage is not None:
        back = np.flatnonzero(stage[: previous_stage.size] < previous_stage)
        if back.size:
            raise InvariantError(f"assets moved back a stage: {back[:5].tolist()}")
    return stage
