"""Offers: the rights packages on the table this month, with their value and the seller's ask.

Design notes: biotechs shop the programmes :func:`sim.model.biotech.choose_offers` picks.
A package is the largest of ex-China or US/EU/JP the seller still holds; a distressed
seller of a clinical programme offers global rights (a fire sale of everything); a
programme at or past ``regional_min_stage`` is also offered region by region to regional
licensees. NewCos shop the programmes that reached proof of concept (``exit_stage``) at
``exit_ask_share`` of their value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import ACTIVE, BIOTECH, INCUBATOR, PHASE1
from sim.model import biotech
from sim.model.assets import EX_CN, N_REGIONS, US_EU_JP
from sim.model.buyers.base import EX_CHINA, GLOBAL, REGIONAL, USEUJP
from sim.scenarios.schema import LICENSEE_REGIONS, REGIONS

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket

ALL = np.ones(N_REGIONS, dtype=bool)
PACKAGE_MASKS = np.stack([ALL, EX_CN, US_EU_JP])  # rows: GLOBAL, EX_CHINA, USEUJP
REGIONAL_INDEX = np.array([REGIONS.index(r) for r in LICENSEE_REGIONS])


@dataclass
class Offers:
    """This month's offers as columns (one row per rights package on the table)."""

    asset: np.ndarray
    seller: np.ndarray
    package: np.ndarray
    region: np.ndarray  # market index for regional packages, -1 otherwise
    mask: np.ndarray  # (n, N_REGIONS) bool
    distressed: np.ndarray
    value: np.ndarray = None  # risk-adjusted value of the package to a global buyer (USD)
    ask: np.ndarray = None  # the seller's reservation price (USD)

    @property
    def size(self) -> int:
        return int(self.asset.size)


def build_offers(model: "LicensingMarket") -> Offers:
    a = model.assets
    ids = biotech.choose_offers(model)
    parts: list[tuple] = []
    if ids.size:
        owner = a.originator[ids]
        held = a.rights[ids] == owner[:, None]
        distressed = biotech.distressed(model, owner)
        pkg = np.full(ids.size, -1)
        pkg[held[:, US_EU_JP].all(axis=1)] = USEUJP
        pkg[held[:, EX_CN].all(axis=1)] = EX_CHINA
        pkg[distressed & held.all(axis=1) & (a.stage[ids] >= PHASE1)] = GLOBAL
        main = pkg >= 0
        if main.any():
            parts.append((ids[main], owner[main], pkg[main], np.full(main.sum(), -1), PACKAGE_MASKS[pkg[main]],
                          distressed[main]))
        late = a.stage[ids] >= model.params.seller.regional_min_stage
        for r in REGIONAL_INDEX:
            ok = late & held[:, r]
            if ok.any():
                mask = np.zeros((ok.sum(), N_REGIONS), dtype=bool)
                mask[:, r] = True
                parts.append((ids[ok], owner[ok], np.full(ok.sum(), REGIONAL), np.full(ok.sum(), r), mask,
                              distressed[ok]))
    n = a.n
    dev = a.developer[:n]
    newco = (model.firms.kind[dev] == INCUBATOR) & (a.status[:n] == ACTIVE) & ~a.in_talks[:n]
    newco &= a.stage[:n] >= model.params.incubator.exit_stage
    newco_ids = np.flatnonzero(newco)
    if newco_ids.size:
        holder = dev[newco_ids]
        held = a.rights[newco_ids] == holder[:, None]
        pkg = np.where(held.all(axis=1), GLOBAL, EX_CHINA)
        parts.append((newco_ids, holder, pkg, np.full(newco_ids.size, -1), held, np.zeros(newco_ids.size, bool)))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return Offers(z, z, z, z, np.zeros((0, N_REGIONS), bool), np.zeros(0, bool), np.zeros(0), np.zeros(0))
    offers = Offers(*(np.concatenate(c) for c in zip(*parts)))
    offers.value = a.package_value(offers.asset, offers.mask)
    offers.ask = asks(model, offers.asset, offers.seller, offers.value)
    return offers


def asks(model: "LicensingMarket", assets: np.ndarray, sellers: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Sellers' reservation prices: a biotech's (:func:`sim.model.biotech.ask`) or a NewCo's."""
    out = value * model.params.incubator.exit_ask_share
    bt = model.firms.kind[sellers] == BIOTECH
    if bt.any():
        out[bt] = biotech.ask(model, assets[bt], sellers[bt], value[bt])
    return out
