"""Terms: the deal's type, upfront, milestones, royalty and equity, settled at signing.

Design notes:
- Upfront. upfront = share(stage) * (1 - distrust)^upfront_distrust * price; the share rises
  linearly from preclinical to approved (later, less risky programmes are paid more in cash).
  What a buyer takes on trust it pays in milestones, which are paid only if the data hold up
  (RT23, AI25: risk sharing).
- Milestones are quoted nominally: the contingent rest of the price divided by the chance
  (and discount) of paying them, so early deals carry large headlines and small upfronts
  (2024: upfront $4.1B of $51.9B headline, ~8%).
- Type. A NewCo deal pays part of the upfront in equity (``upfront_cash_share``); a
  distressed seller's global rights, or a NewCo selling on all its rights, go as an
  acquisition (at least ``acquisition_upfront`` in cash, no royalty); a cash-healthy seller of
  a core clinical programme may take co-development terms (less upfront, a profit share).
- Money. The buyer pays the upfront from its BD account; a buyer that cannot pay does not
  sign. A NewCo that receives money for an asset passes its licensor's equity share on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.model.codes import BIOTECH, INCUBATOR, PHASE1
from sim.model.assets import APPROVED, US
from sim.model.buyers.base import PACKAGES
from sim.model.firms import Kind
from sim.scenarios.schema import AREAS, MODALITIES, NOVELTIES, STAGES

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket


def upfront_share(model: "LicensingMarket", stage: np.ndarray, distrusted: np.ndarray) -> np.ndarray:
    t = model.params.terms
    return t.upfront_by_stage[stage] * (1.0 - distrusted) ** t.upfront_distrust


def sign(model: "LicensingMarket", talk: dict, price: float, distrusted: float, payout: float,
         seller_runway: float) -> bool:
    """Record a deal from a finished talk at ``price``; False if the buyer cannot pay the upfront.

    ``payout`` is :meth:`AssetTable.milestone_payout` of the programme and ``seller_runway`` the
    seller's runway, both this month.
    """
    p, a, f = model.params, model.assets, model.firms
    buyer = model.buyers.agents[int(talk["buyer"])]
    asset, seller = int(talk["asset"]), int(talk["seller"])
    stage = int(a.stage[asset])
    seller_kind = Kind(int(f.kind[seller]))
    healthy_core = (seller_kind == BIOTECH and bool(a.core[asset]) and stage >= PHASE1
                    and seller_runway >= p.seller.hold_runway_months)
    deal_type = type(buyer).deal_type(model, int(talk["package"]), bool(talk["distressed"]), seller_kind,
                                      healthy_core)
    share = float(upfront_share(model, stage, distrusted))
    royalty = float(p.terms.royalty_by_stage[stage])
    equity_share = 0.0
    if deal_type == "newco":
        share *= p.incubator.upfront_cash_share
        equity_share = p.incubator.equity_share
    elif deal_type == "co_development":
        share *= p.terms.co_development_upfront
        royalty = min(1.0, royalty * p.terms.co_development_royalty)
    elif deal_type == "acquisition":
        share, royalty = max(share, p.terms.acquisition_upfront), 0.0
    upfront = share * price
    if f.cash[buyer.row] < upfront:
        return False
    milestones = (price - upfront) / payout
    pay(model, buyer.row, seller, upfront, "upfront", asset)
    mask = talk["mask"]
    a.rights[asset][mask] = buyer.row
    if mask[US]:
        a.developer[asset] = buyer.row
        a.speed[asset] = p.incubator.speed if buyer.kind == INCUBATOR else 1.0
    was_core = bool(a.core[asset])
    if mask[0]:
        a.core[asset] = False
    steps = max(APPROVED - stage, 1)
    date = model.date
    record = {
        "signed": date, "year": date.year, "licensor_id": seller,
        "licensor_kind": "biotech" if seller_kind == BIOTECH else "incubator",
        "licensee_id": buyer.row, "licensee_kind": buyer.kind.name, "licensee_region": buyer.region,
        "asset_id": asset, "modality": MODALITIES[a.modality[asset]], "area": AREAS[a.area[asset]],
        "novelty": NOVELTIES[a.novelty[asset]], "stage": STAGES[stage], "_stage_code": stage,
        "territory": PACKAGES[int(talk["package"])], "deal_type": deal_type, "upfront_usd": upfront,
        "milestones_usd": milestones, "royalty_rate": royalty,
        "equity_usd": equity_share * float(talk["value"]) if deal_type == "newco" else 0.0,
        "total_value_usd": upfront + milestones, "diligence_months": float(model.month - int(talk["start"])),
        "terminated": None, "termination_reason": None, "returned": False, "milestones_paid_usd": 0.0,
        "china_origin": seller_kind == BIOTECH, "core": was_core, "distressed": bool(talk["distressed"]),
        "_warmup": model.month < 0,
    }
    model.ledger.add(record, regions=mask, dev_milestone=milestones * (1.0 - p.terms.sales_milestone_share) / steps,
                     sales_milestone=milestones * p.terms.sales_milestone_share, equity_share=equity_share)
    model.month_deals += 1
    model.month_upfront += upfront
    return True


def pay(model: "LicensingMarket", payer: int, payee: int, amount: float, label: str, asset: int) -> None:
    """Pay ``amount`` (the payer must have it); a NewCo paid for an asset passes on its licensor's equity share."""
    if amount <= 0:
        return
    f = model.firms
    f.transfer(payer, payee, amount, label)
    if f.kind[payee] == INCUBATOR:
        led = model.ledger
        stakes = ((led.asset[: led.n] == asset) & (led.licensee[: led.n] == payee)
                   & (led.equity_share[: led.n] > 0)).nonzero()[0]
        for s in stakes:
            holder = int(led.licensor[s])
            if f.alive[holder]:
                f.transfer(payee, holder, amount * float(led.equity_share[s]), "newco_equity_proceeds")
