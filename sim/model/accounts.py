"""Cash accounts of every economic entity, and the only ways money may move.

Design notes: each entity (biotech, MNC, incubator, regional licensee) owns one row
of ``cash`` (US dollars). Money moves by ``transfer`` between rows, or crosses the
model boundary through a declared ``source`` (financing raised, fund raises, budget
allocations, product revenue) or ``sink`` (R&D spend, overhead, budget sweeps,
liquidation). The books balance when

    sum(cash) == initial + sum(sources) - sum(sinks)

which :func:`sim.model.invariants.check_invariants` asserts after every step in tests.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Accounts:
    """Cash balances with declared flows."""

    def __init__(self, capacity: int = 1024):
        self.cash = np.zeros(capacity, dtype=np.float64)
        self.n = 0
        self.initial_total = 0.0
        self.sources: dict[str, float] = defaultdict(float)
        self.sinks: dict[str, float] = defaultdict(float)
        self.transfers: dict[str, float] = defaultdict(float)

    def open(self, count: int, opening: np.ndarray | float = 0.0, *, source: str | None = None) -> np.ndarray:
        """Open ``count`` accounts; opening balances are counted as initial or as ``source``."""
        if self.n + count > self.cash.size:
            grown = np.zeros(max(self.cash.size * 2, self.n + count), dtype=np.float64)
            grown[: self.n] = self.cash[: self.n]
            self.cash = grown
        ids = np.arange(self.n, self.n + count)
        opening = np.broadcast_to(np.asarray(opening, dtype=np.float64), (count,))
        if np.any(opening < 0):
            raise ValueError("opening balance must be non-negative")
        self.cash[ids] = opening
        total = float(opening.sum())
        if source is None:
            self.initial_total += total
        else:
            self.sources[source] += total
        self.n += count
        return ids

    # flows of one amount ----------------------------------------------------------------
    def transfer(self, src: int, dst: int, amount: float, kind: str) -> None:
        if amount < 0:
            raise ValueError(f"negative transfer {amount} ({kind})")
        self.cash[src] -= amount
        self.cash[dst] += amount
        self.transfers[kind] += amount

    def source(self, dst: int, amount: float, kind: str) -> None:
        if amount < 0:
            raise ValueError(f"negative source {amount} ({kind})")
        self.cash[dst] += amount
        self.sources[kind] += amount

    def sink(self, src: int, amount: float, kind: str) -> None:
        if amount < 0:
            raise ValueError(f"negative sink {amount} ({kind})")
        self.cash[src] -= amount
        self.sinks[kind] += amount

    # vectorised flows -------------------------------------------------------------------
    def source_many(self, dst: np.ndarray, amounts: np.ndarray, kind: str) -> None:
        amounts = np.asarray(amounts, dtype=np.float64)
        if amounts.size and amounts.min() < 0:
            raise ValueError(f"negative source ({kind})")
        np.add.at(self.cash, dst, amounts)
        self.sources[kind] += float(amounts.sum())

    def sink_many(self, src: np.ndarray, amounts: np.ndarray, kind: str) -> None:
        amounts = np.asarray(amounts, dtype=np.float64)
        if amounts.size and amounts.min() < 0:
            raise ValueError(f"negative sink ({kind})")
        np.subtract.at(self.cash, src, amounts)
        self.sinks[kind] += float(amounts.sum())

    # checks -----------------------------------------------------------------------------
    def expected_total(self) -> float:
        return self.initial_total + sum(self.sources.values()) - sum(self.sinks.values())

    def imbalance(self) -> float:
        """Difference between the money held and the money the declared flows account for."""
        return float(self.cash[: self.n].sum()) - self.expected_total()
