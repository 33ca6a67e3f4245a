"""Every firm's row: what it is, whether it lives, and its cash, with the only ways money may move.

Design notes: a firm (Chinese biotech, top MNC, mid-size pharma, US incubator, regional
licensee) is one row of typed columns; the Mesa agent of that firm reads its row. Cash
is a column of the same table (US dollars, float64). Money moves between rows by
``transfer``, or crosses the model's boundary through a declared ``source`` (financing
rounds, revenue allocated to BD, fund raises, product revenue) or ``sink`` (R&D spend,
budget returned, liquidation, distribution to shareholders). Nobody can spend what it does not have: ``transfer``
and ``sink`` refuse an amount above the payer's cash (:class:`Overdraft`), so every
payment decision must check affordability first. The books balance when

    sum(cash) == opening + sum(sources) - sum(sinks)

which :func:`sim.model.invariants.check_invariants` asserts after every step in tests.
"""

from __future__ import annotations

from collections import defaultdict
import numpy as np

from sim.model.codes import Kind  # noqa: F401  (re-exported)

#: The declared flows across the model's boundary; any other label is a programming error.
SOURCES = ("financing", "revenue", "fund_raise")
SINKS = ("rd_spend", "budget_return", "liquidation", "distribution")


class Overdraft(RuntimeError):
    """A payer tried to spend money it does not have (a bug in the caller's affordability check)."""


class FirmTable:
    """Columns of every firm, indexed by firm id; grows as biotechs are founded."""

    INT = {"kind": np.int8, "strategy": np.int8, "rounds": np.int32, "founded": np.int32}
    FLOAT = ("cash", "burn", "bd_cap", "optimism", "revenue", "licensed_sales")
    BOOL = ("alive",)

    def __init__(self, capacity: int = 1024):
        self.n = 0
        for name, dtype in self.INT.items():
            setattr(self, name, np.zeros(capacity, dtype=dtype))
        for name in self.FLOAT:
            setattr(self, name, np.zeros(capacity))
        for name in self.BOOL:
            setattr(self, name, np.zeros(capacity, dtype=bool))
        self.opening_total = 0.0
        self.sources: dict[str, float] = defaultdict(float)
        self.sinks: dict[str, float] = defaultdict(float)
        self.transfers: dict[str, float] = defaultdict(float)

    # ----------------------------------------------------------------- rows
    def add(self, kind: int, count: int, cash: np.ndarray | float, *, source: str | None, month: int,
            **cols: np.ndarray) -> np.ndarray:
        """Open ``count`` rows of ``kind`` with opening ``cash`` (initial, or from a declared ``source``)."""
        if self.n + count > self.kind.size:
            cap = max(self.kind.size * 2, self.n + count)
            for name in [*self.INT, *self.FLOAT, *self.BOOL]:
                old = getattr(self, name)
                new = np.zeros(cap, dtype=old.dtype)
                new[: self.n] = old[: self.n]
                setattr(self, name, new)
        ids = np.arange(self.n, self.n + count)
        cash = np.broadcast_to(np.asarray(cash, dtype=np.float64), (count,))
        if not np.all(np.isfinite(cash)) or np.any(cash < 0):
            raise ValueError("opening cash must be finite and non-negative")
        self.kind[ids] = kind
        self.alive[ids] = True
        self.founded[ids] = month
        self.cash[ids] = cash
        for name in ("strategy", "rounds", "burn", "revenue", "licensed_sales"):
            getattr(self, name)[ids] = 0
        self.bd_cap[ids] = 1.0
        self.optimism[ids] = 1.0
        for name, values in cols.items():
            getattr(self, name)[ids] = values
        total = float(cash.sum())
        if source is None:
            self.opening_total += total
        else:
            self._declare(self.sources, SOURCES, source, total)
        self.n += count
        return ids

    def of_kind(self, kind: int, alive: bool = True) -> np.ndarray:
        mask = self.kind[: self.n] == kind
        if alive:
            mask &= self.alive[: self.n]
        return mask.nonzero()[0]

    def runway(self, ids: np.ndarray) -> np.ndarray:
        """Months of cash at the current burn (inf when nothing is burning)."""
        burn = self.burn[ids]
        return np.where(burn > 0, self.cash[ids] / np.maximum(burn, 1e-9), np.inf)  # never divides by 0

    # ----------------------------------------------------------------- money
    @staticmethod
    def _declare(book: dict[str, float], allowed: tuple[str, ...], label: str, amount: float) -> None:
        if label not in allowed:
            raise ValueError(f"undeclared money flow {label!r}; declared: {', '.join(allowed)}")
        book[label] += amount

    def source(self, ids: np.ndarray, amounts: np.ndarray, label: str) -> None:
        """Money from outside into firms ``ids`` (arrays of the same length)."""
        amounts = np.asarray(amounts, dtype=float)
        total = _checked_total(ids, amounts, label)
        np.add.at(self.cash, ids, amounts)
        self._declare(self.sources, SOURCES, label, total)

    def sink(self, ids: np.ndarray, amounts: np.ndarray, label: str) -> None:
        """Money out of the model from firms ``ids`` (arrays of the same length; each must have it)."""
        amounts = np.asarray(amounts, dtype=float)
        total = _checked_total(ids, amounts, label)
        self._check_funds(ids, amounts, label)
        np.subtract.at(self.cash, ids, amounts)
        self._declare(self.sinks, SINKS, label, total)

    def transfer(self, src: int, dst: int, amount: float, label: str) -> None:
        """Pay ``amount`` from ``src`` to ``dst``; raises :class:`Overdraft` if ``src`` lacks it."""
        if not (amount >= 0 and amount < np.inf):
            raise ValueError(f"money flow {label!r} must be finite and non-negative")
        if amount > self.cash[src] * (1 + 1e-12) + 1e-6:
            self._overdraft(src, amount, label)
        self.cash[src] -= amount
        self.cash[dst] += amount
        self.transfers[label] += amount

    def transfer_many(self, src: np.ndarray, dst: np.ndarray, amounts: np.ndarray, label: str) -> None:
        """Vectorised :meth:`transfer` (all payers must afford their total)."""
        amounts = np.asarray(amounts, dtype=float)
        total = _checked_total(src, amounts, label)
        if np.shape(dst) != amounts.shape:
            raise ValueError(f"money flow {label!r}: {amounts.size} amounts for {np.size(dst)} payees")
        self._check_funds(src, amounts, label)
        np.subtract.at(self.cash, src, amounts)
        np.add.at(self.cash, dst, amounts)
        self.transfers[label] += total

    def _check_funds(self, ids: np.ndarray, amounts: np.ndarray, label: str) -> None:
        if ids.size == 0:
            return
        if ids[0] >= 0 and (ids.size == 1 or (ids[1:] > ids[:-1]).all()):  # distinct payers in order:
            # each against its own cash (bincount, below, refuses a negative id)
            short = amounts > self.cash[ids] * (1 + 1e-12) + 1e-6
            if short.any():
                i = int(short.argmax())
                self._overdraft(int(ids[i]), amounts[i], label)
            return
        need = np.bincount(ids, weights=amounts, minlength=self.n)
        short = need > self.cash[: need.size] * (1 + 1e-12) + 1e-6
        if short.any():
            i = int(short.nonzero()[0][0])
            self._overdraft(i, need[i], label)

    def _overdraft(self, firm: int, amount: float, label: str) -> None:
        raise Overdraft(f"firm {firm} ({Kind(int(self.kind[firm])).name}) cannot pay {amount:.6g} USD of {label} "
                        f"with {self.cash[firm]:.6g} USD")

    def expected_total(self) -> float:
        return self.opening_total + sum(self.sources.values()) - sum(self.sinks.values())

    def imbalance(self) -> float:
        """Money held minus the money the declared flows account for."""
        return float(self.cash[: self.n].sum()) - self.expected_total()


def _checked_total(ids: np.ndarray, amounts: np.ndarray, label: str) -> float:
    """The sum of a flow's amounts, one for each firm in ``ids``, each of which must be finite and
    non-negative (then the sum is finite: no amount is NaN or infinite)."""
    if np.shape(ids) != amounts.shape:
        raise ValueError(f"money flow {label!r}: {amounts.size} amounts for {np.size(ids)} firms")
    total = float(np.add.reduce(amounts))
    if amounts.size and not (np.minimum.reduce(amounts) >= 0 and total < np.inf):
        raise ValueError(f"money flow {label!r} must be finite and non-negative")
    return total
