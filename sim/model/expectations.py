"""Expectations and beliefs, formed only from what has happened (no one sees the future).

Design notes:
- Funding. A biotech prices its rights on the funding climate it expects. The expectation is
  Holt's trend-following smoothing of the observed funding index x_t, with memory M months
  (alpha = 1/M) and a trend read ahead H months:

      level_t = level + alpha * (x_t - level)
      trend_t = trend + alpha * ((level_t - level) - trend)
      E_t[x] = max(level_t + H * trend_t, 0)

  A boom is extrapolated while it lasts and a winter likewise (QM24, RT23: valuations move with
  the climate investors see), but nothing after month t enters E_t.
- Trust. A licensee's expectation of trust adapts with memory M_trust; a fall of trust below it
  is a shock that returns licences on China-only data (regulatory change, ARC25).
- Track record. Readouts of licensed China-originated programmes run abroad (phase 2 or later)
  count as surprises against the odds buyers expected (p: the odds of a programme of the start's
  average quality at that stage and area): a success adds 1 - p, a failure takes w * p. They
  accumulate with exponential memory: R_t = R * (1 - 1/M) + sum(surprises). Trust in China data
  is the driver plus gain * tanh(R_t / scale): global approvals and trials that beat their odds
  raise it, failures lower it (RT23, ARC25: 2024 first-in-class deals broke the "trust
  threshold" on the back of such results). A phase 2 that fails as often as phase 2s fail is no
  news: with w = 1 the record has mean zero when China's programmes do only as well abroad as
  expected, and it rises as far as they do better (learning raises their quality, and buyers
  license the better ones), so expected failures do not wear trust down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.params import ExpectationParams, TrustParams


@dataclass
class FundingExpectation:
    """Holt's linear (level and trend) smoothing of the funding index."""

    memory: float
    horizon: float
    level: float
    trend: float = 0.0

    def update(self, observed: float) -> float:
        alpha = 1.0 / self.memory
        level = self.level + alpha * (observed - self.level)
        self.trend += alpha * ((level - self.level) - self.trend)
        self.level = level
        return self.expected

    @property
    def expected(self) -> float:
        return max(self.level + self.horizon * self.trend, 0.0)


@dataclass
class Beliefs:
    """The market's beliefs this month: expected funding, trust and its expectation, track record."""

    funding: FundingExpectation
    trust_memory: float
    trust_params: TrustParams
    expected_trust: float
    record: float = 0.0
    trust: float = 0.0  # the market's trust in China data this month: driver + track record

    @classmethod
    def start(cls, e: ExpectationParams, t: TrustParams, funding: float, trust: float) -> "Beliefs":
        return cls(funding=FundingExpectation(e.funding_memory_months, e.funding_trend_months, funding),
                   trust_memory=e.trust_memory_months, trust_params=t, expected_trust=trust, trust=trust)

    def record_readouts(self, good_news: float, bad_news: float) -> None:
        """Add this month's surprises: sum of (1 - p) over successes and of p over failures."""
        p = self.trust_params
        self.record = self.record * (1.0 - 1.0 / p.memory_months) + good_news - p.failure_weight * bad_news

    def update(self, funding: float, trust_driver: float) -> None:
        """Observe this month's drivers; the trust expectation lags the trust now."""
        self.funding.update(funding)
        self.expected_trust += (self.trust - self.expected_trust) / self.trust_memory
        p = self.trust_params
        self.trust = float(np.clip(trust_driver + p.gain * np.tanh(self.record / p.scale), 0.0, 1.0))

    @property
    def trust_fall(self) -> float:
        """How far trust is below what licensees expected (0 when it is not)."""
        return max(self.expected_trust - self.trust, 0.0)
