"""Matching: which buyer opens talks on which offer this month.

Design notes: every buyer kind bids on what its BD teams screened (see
:class:`sim.model.buyers.base.Buyer`); only buyers with a capacity credit bid. BD teams
pursue the best return first: offers go in order of relative surplus (W - ask) / W of their
best bid, each to the highest-valuing buyer that still has a credit. The best other bidder
is the rival whose value the price must match at signing (an English auction).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.buyers import BUYER_KINDS
from sim.model.buyers.base import Bids
from sim.model.market import diligence

if TYPE_CHECKING:
    from sim.model.market.offers import Offers
    from sim.model.model import LicensingMarket


def match(model: "LicensingMarket", offers: "Offers") -> int:
    """Open talks on the best offer-buyer pairs; returns how many started."""
    bt = model.buyers
    if offers.size == 0 or bt.n == 0:
        return 0
    parts = []
    for kind in BUYER_KINDS:
        js = bt.of(kind.kind)
        parts.append(kind.bid(model, offers, js[bt.credits[js] >= 1.0]))
    bids = Bids.concat(parts)
    if bids.offer.size == 0:
        return 0
    order = np.lexsort((-bids.value, bids.offer))
    o_sorted, j_sorted = bids.offer[order], bids.buyer[order]
    w_sorted, basis_sorted = bids.value[order], bids.basis[order]
    starts = np.concatenate([[True], o_sorted[1:] != o_sorted[:-1]]).nonzero()[0]
    ends = np.concatenate([starts[1:], [o_sorted.size]])
    first = o_sorted[starts]
    rel = (w_sorted[starts] - offers.ask[first]) / w_sorted[starts]
    # The greedy pass is sequential (each pick spends a credit the next offer may want), so it
    # runs over Python lists: per-element numpy indexing would cost more than the work.
    credits = bt.credits.tolist()
    first_l, starts_l, ends_l = first.tolist(), starts.tolist(), ends.tolist()
    asset_of, j_l, w_l, basis_l = offers.asset.tolist(), j_sorted.tolist(), w_sorted.tolist(), basis_sorted.tolist()
    taken: set[int] = set()
    picked: list[tuple[int, int, float, float, float]] = []
    for k in np.argsort(-rel, kind="stable").tolist():
        o = first_l[k]
        asset = asset_of[o]
        if asset in taken:
            continue
        lo, hi = starts_l[k], ends_l[k]
        i = next((i for i in range(lo, hi) if credits[j_l[i]] >= 1.0), -1)
        if i < 0:
            continue
        j = j_l[i]
        rival = w_l[lo + 1] if i == lo and hi - lo > 1 else (w_l[lo] if i > lo else -np.inf)
        credits[j] -= 1.0
        taken.add(asset)
        picked.append((o, j, w_l[i], basis_l[i], rival))
    bt.credits[:] = credits
    if picked:
        o, j, value, basis, rival = (np.array(c) for c in zip(*picked))
        diligence.open_talks(model, offers, o.astype(np.int64), j.astype(np.int64), value, basis, rival)
    return len(picked)
