"""Accounting and property-rights invariants, checked after every step in tests.

- Money is conserved: cash held == initial + declared sources - declared sinks.
- No active entity has negative cash.
- A territory of an asset is never licensed twice: live deals on the same asset whose
  territories overlap form a chain (the later licensor is the earlier licensee, as when a
  NewCo sells on), and each market's holder is the licensee at the end of that chain.
- Stages only move forward.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


class InvariantError(AssertionError):
    pass


def check_invariants(model: "LicensingMarket", previous_stage: np.ndarray | None = None) -> np.ndarray:
    """Raise :class:`InvariantError` if any invariant fails; return the stages to pass next time."""
    acc, ent, book, led = model.accounts, model.ent, model.book, model.ledger
    # Money.
    scale = max(1.0, acc.initial_total + sum(acc.sources.values()) + sum(acc.sinks.values()))
    if abs(acc.imbalance()) > 1e-9 * scale:
        raise InvariantError(f"money not conserved: imbalance {acc.imbalance():.6g} USD")
    cash = acc.cash[: acc.n]
    bad = np.flatnonzero(ent.alive[: acc.n] & (cash < -1e-6 * max(1.0, np.abs(cash).max())))
    if bad.size:
        raise InvariantError(f"active entities with negative cash: {bad[:5].tolist()} ({cash[bad[:5]].tolist()})")
    # Rights.
    live = led.live()
    by_asset: dict[int, list[int]] = defaultdict(list)
    for d in live:
        by_asset[int(led.asset[d])].append(int(d))
    for asset, deals in by_asset.items():
        deals.sort()
        for i, a in enumerate(deals):
            for b in deals[i + 1:]:
                if (led.regions[a] & led.regions[b]).any() and led.licensor[b] != led.licensee[a]:
                    raise InvariantError(f"asset {asset}: deals {a} and {b} license the same territory twice")
    expected = np.repeat(book.originator[: book.n, None], book.rights.shape[1], axis=1)
    for asset, deals in by_asset.items():
        for d in sorted(deals):  # later deals in a chain overwrite earlier ones
            expected[asset, led.regions[d]] = led.licensee[d]
    held = book.rights[: book.n]
    # Rights of failed assets no longer matter; check the assets still in development or on the market.
    active = book.status[: book.n] == 0
    mismatch = np.flatnonzero(active & (held != expected).any(axis=1))
    if mismatch.size:
        a = int(mismatch[0])
        raise InvariantError(f"asset {a}: rights {held[a].tolist()} do not match live deals {expected[a].tolist()}")
    # Stages.
    stage = book.stage[: book.n].copy()
    if previous_stage is not None:
        n = previous_stage.size
        back = np.flatnonzero(stage[:n] < previous_stage)
        if back.size:
            raise InvariantError(f"assets moved back a stage: {back[:5].tolist()}")
    return stage
