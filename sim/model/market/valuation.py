"""What a buyer takes on trust, and this month's multiplier of its value of a programme.

Design notes: a buyer relies on China-only data by the weight of the clinical data (by
stage) or, for novel biology, of the originator's own science (by novelty), whichever is
larger; a global data package leaves ``global_data_reliance`` of that, and a buyer kind that
re-runs or bridges trials relies less (its ``reliance_factor``). Then

    distrust = (1 - trust_b) * reliance,   trust_b = the market's trust + the buyer's offset
    climate  = appetite_b[stage] * (1 - trust_sensitivity * distrust) * (1 + urgency_gain * gap_b)

(RT23: long-standing MNC distrust of China-only data; first-in-class deals in 2024 broke the
"trust threshold"). The climate is read when talks open and again at signing. A buyer's trust,
appetite, gap and reliance are its terms of the month (:meth:`BuyerTable.observe`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.assets import cells

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


def reliance(model: "LicensingMarket", assets: np.ndarray) -> np.ndarray:
    """How far a buyer (of a kind with reliance factor 1) relies on China-only data in each programme."""
    a, v = model.assets, model.params.valuation
    weight = np.maximum(v.data_weight[a.stage[assets]], v.novelty_data_weight[a.novelty[assets]])
    return weight * np.where(a.global_data[assets], v.global_data_reliance, 1.0)


def distrust(model: "LicensingMarket", assets: np.ndarray, js: np.ndarray,
             relied: np.ndarray | None = None) -> np.ndarray:
    """What each buyer must take on trust in each programme this month, 0-1 (pairs ``assets``,
    ``js``); ``relied``: the programmes' :func:`reliance`, when the caller has it already."""
    relied = reliance(model, assets) if relied is None else relied
    return (1.0 - model.buyers.trust_now[js]) * (relied * model.buyers.reliance_now[js])


def climate(model: "LicensingMarket", assets: np.ndarray, js: np.ndarray, distrusted: np.ndarray | None = None,
            stage: np.ndarray | None = None) -> np.ndarray:
    """This month's multiplier of each buyer's value of each programme (pairs ``assets``, ``js``);
    ``distrusted`` (their :func:`distrust`) and ``stage``, when the caller has them already."""
    v, b = model.params.valuation, model.buyers
    stage = model.assets.stage[assets] if stage is None else stage
    if distrusted is None:
        distrusted = distrust(model, assets, js)
    trust_factor = 1.0 - v.trust_sensitivity * distrusted
    urgency = 1.0 + v.urgency_gain * b.gap_now[js]
    return cells(b.appetite_now, js, stage) * trust_factor * urgency
