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

from sim.model.codes import BIOTECH, INCUBATOR, PHASE1
from sim.model import biotech
from sim.model.assets import EX_CN, N_REGIONS, US_EU_JP, all_columns
from sim.model.buyers.base import EX_CHINA, GLOBAL, REGIONAL, USEUJP
from sim.model.market.valuation import reliance
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
    stage: np.ndarray = None  # the programme's stage (int)
    area: np.ndarray = None  # its therapeutic area
    relied: np.ndarray = None  # how far a buyer relies on its China-only data (valuation.reliance)

    @property
    def size(self) -> int:
        return int(self.asset.size)


def build_offers(model: "LicensingMarket") -> Offers:
    a = model.assets
    ids = biotech.choose_offers(model)
    parts: list[tuple] = []  # columns of Offers up to value; a programme's world value is reckoned once
    if ids.size:
        owner = a.originator[ids]
        held = a.rights[ids] == owner[:, None]
        distressed = biotech.distressed(model, owner)
        world = a.world_value(ids)
        pkg = np.full(ids.size, -1)
        pkg[all_columns(held[:, US_EU_JP])] = USEUJP
        pkg[all_columns(held[:, EX_CN])] = EX_CHINA
        pkg[distressed & all_columns(held) & (a.stage[ids] >= PHASE1)] = GLOBAL
        main = (pkg >= 0).nonzero()[0]
        parts.append((ids[main], owner[main], pkg[main], np.full(main.size, -1), PACKAGE_MASKS[pkg[main]],
                      distressed[main], world[main] * a.territory_share(PACKAGE_MASKS)[pkg[main]]))
        # Regional packages, region by region (then programme order), of programmes late enough.
        late = a.stage[ids] >= model.params.seller.regional_min_stage
        rr, ii = np.nonzero((late[:, None] & held[:, REGIONAL_INDEX]).T)
        region = REGIONAL_INDEX[rr]
        mask = np.zeros((ii.size, N_REGIONS), dtype=bool)
        mask[np.arange(ii.size), region] = True
        parts.append((ids[ii], owner[ii], np.full(ii.size, REGIONAL), region, mask, distressed[ii],
                      world[ii] * a.p.region_share[region]))  # one region's share, exactly as the row sum
    live = a.live()
    holder = a.developer[live]
    newco = (model.firms.kind[holder] == INCUBATOR) & ~a.in_talks[live]
    newco &= a.stage[live] >= model.params.incubator.exit_stage
    if newco.any():
        newco_ids, holder = live[newco], holder[newco]
        held = a.rights[newco_ids] == holder[:, None]
        pkg = np.where(all_columns(held), GLOBAL, EX_CHINA)
        parts.append((newco_ids, holder, pkg, np.full(newco_ids.size, -1), held, np.zeros(newco_ids.size, bool),
                      a.world_value(newco_ids) * a.territory_share(held)))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        parts.append((z, z, z, z, np.zeros((0, N_REGIONS), bool), np.zeros(0, bool), np.zeros(0)))
    offers = Offers(*(np.concatenate(c) for c in zip(*parts)))
    offers.stage = a.stage[offers.asset]
    offers.area = a.area[offers.asset]
    offers.relied = reliance(model, offers.asset)
    offers.ask = asks(model, offers.asset, offers.seller, offers.value)
    return offers


def asks(model: "LicensingMarket", assets: np.ndarray, sellers: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Sellers' reservation prices: a biotech's (:func:`sim.model.biotech.ask`) or a NewCo's."""
    out = value * model.params.incubator.exit_ask_share
    bt = model.firms.kind[sellers] == BIOTECH
    if bt.any():
        out[bt] = biotech.ask(model, assets[bt], sellers[bt], value[bt])
    return out
