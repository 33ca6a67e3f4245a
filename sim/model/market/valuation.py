"""What a buyer takes on trust, and this month's multiplier of its value of a programme.

Design notes: a buyer relies on China-only data by the weight of the clinical data (by
stage) or, for novel biology, of the originator's own science (by novelty), whichever is
larger; a global data package leaves ``global_data_reliance`` of that, and a buyer kind that
re-runs or bridges trials relies less (its ``reliance_factor``). Then

    distrust = (1 - trust_b) * reliance,   trust_b = the market's trust + the buyer's offset
    climate  = appetite_b[stage] * (1 - trust_sensitivity * distrust) * (1 + urgency_gain * gap_b)

(RT23: long-standing MNC distrust of China-only data; first-in-class deals in 2024 broke the
"trust threshold"). The climate is read when talks open and again at signing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.model.buyers.base import Buyer
    from sim.model.model import LicensingMarket


def buyer_trust(model: "LicensingMarket", js: np.ndarray) -> np.ndarray:
    return np.clip(model.beliefs.trust + model.buyers.trust_offset[js], 0.0, 1.0)


def distrust(model: "LicensingMarket", kind: "type[Buyer]", assets: np.ndarray, js: np.ndarray) -> np.ndarray:
    """What each buyer must take on trust in each programme this month, 0-1."""
    a, v = model.assets, model.params.valuation
    reliance = np.maximum(v.data_weight[a.stage[assets].astype(int)], v.novelty_data_weight[a.novelty[assets]])
    reliance = reliance * np.where(a.global_data[assets], v.global_data_reliance, 1.0) * kind.reliance_factor(model)
    return (1.0 - buyer_trust(model, js)) * reliance


def climate(model: "LicensingMarket", kind: "type[Buyer]", assets: np.ndarray, js: np.ndarray,
            distrusted: np.ndarray | None = None) -> np.ndarray:
    """This month's multiplier of each buyer's value of each programme (pairs ``assets``, ``js``);
    ``distrusted``: their :func:`distrust`, when the caller has it already."""
    v = model.params.valuation
    stage = model.assets.stage[assets].astype(int)
    appetite = kind.appetite(model, js)[np.arange(js.size), stage]
    if distrusted is None:
        distrusted = distrust(model, kind, assets, js)
    trust_factor = 1.0 - v.trust_sensitivity * distrusted
    urgency = 1.0 + v.urgency_gain * kind.gap(model, js)
    return appetite * trust_factor * urgency
