"""The monthly licensing market: offers, valuation, matching, diligence, terms, contracts.

Design notes (one month, in order):
1. Offers. Sellers put rights packages up: biotechs (see ``Biotech.choose_offers``) and
   incubators whose NewCo asset reached proof of concept. A package is a set of markets:
   global, ex_china, us_eu_jp or one region.
2. Screening: a BD team looks closely at a share of what is on the table (more in its focus
   areas); a top MNC skips programmes whose peak sales are too small to matter to it
   (``mnc.materiality_usd``), which mid-size buyers take.
   Valuation, as one (offers x buyers) matrix:
       W[o,b] = V_o * share[o,b] * appetite[b, stage_o] * trust_factor[o,b] * urgency_b * fit[o,b] * e^(noise)
   V_o is the risk-adjusted NPV of worldwide rights; trust_factor = 1 - sensitivity * distrust, where
       distrust[o,b] = (1 - trust_b) * max(data_weight(stage), novelty_data_weight(novelty))
   for China-only data (one fifth of that for a global data package): a buyer takes on trust the
   clinical data or, for novel biology, the originator's own science.
   The seller's ask = own_share(funding outlook) * V_o * share * novelty_own/novelty * runway factor.
3. Matching. A buyer opens talks on an offer when (1 - hurdle) * W >= (1 - room) * ask: a China
   deal must beat sourcing elsewhere (hurdle), and the ask need only be within negotiation
   room of that, since terms settle at signing. It must have BD capacity and be able to afford
   the upfront. Offers with the largest relative surplus (W - ask) / W go first, each to its
   highest-value buyer.
4. Diligence takes months of work whose pace slows while the market is cool, and can fail, the
   more often the larger the distrust. When it ends, the buyer knows the true value v, read in
   that month's appetite, trust and urgency and the asset's stage then (v = W_start * basis_now /
   basis_start without the reading error, basis = package value x appetite x trust factor x
   urgency), and the seller's ask is re-read at that month's climate and runway: the deal signs
   only if (1 - hurdle) * v >= ask_now, at P = max(ask_now + power * (v - ask_now), W2) (a rival
   bidder lifts the price to its own value, an English auction), capped at v. So a deal signed in a
   cooling market is priced in it, and talks begun in a boom lapse if the seller never comes down.
5. Terms. Upfront = upfront_share(stage) * (1 - distrust)^upfront_distrust * P (what a buyer takes
   on trust it pays for in milestones); the rest is contingent. Milestones are quoted in nominal dollars, so their headline is the contingent part divided by the
   chance (and discount) of reaching them: early deals carry large headlines, small upfronts.
6. Contracts. Milestones are paid as the asset advances, royalties on sales after approval;
   licensees return rights (strategy shifts, hazard lower for later-stage deals) and deals
   end when trials fail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.model.agents import Biotech, Kind
from sim.model.assets import APPROVED, CN, EX_CN, N_REGIONS, US_EU_JP
from sim.scenarios.schema import AREAS, LICENSEE_REGIONS, MODALITIES, NOVELTIES, REGIONS, STAGES, Stage

if TYPE_CHECKING:
    from sim.model.model import LicensingMarket

PACKAGES = ["global", "ex_china", "us_eu_jp", "regional"]
GLOBAL, EX_CHINA, USEUJP, REGIONAL = range(4)
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

    @property
    def size(self) -> int:
        return int(self.asset.size)


@dataclass
class Diligence:
    asset: int
    seller: int
    buyer: int
    package: int
    mask: np.ndarray
    value: float  # the buyer's value when talks began (before diligence)
    basis: float  # the package's value x buyer_climate when talks began (W before fit and reading error)
    rival: float  # the best rival bidder's value (-inf without one)
    start: int
    work: float  # months of diligence work at a normal pace
    distressed: bool
    stage: int
    done: float = 0.0  # work done so far (a cool market slows the pace)


# ------------------------------------------------------------------------------ offers
def build_offers(model: "LicensingMarket") -> Offers:
    book, ent = model.book, model.ent
    ids = Biotech.choose_offers(model)
    parts: list[tuple] = []
    if ids.size:
        owner = book.originator[ids]
        held = book.rights[ids] == owner[:, None]
        runway = Biotech.runway(model, owner)
        distressed = runway < model.sc.biotech.distress_runway_months
        whole = held.all(axis=1)
        ex_cn = held[:, EX_CN].all(axis=1)
        uej = held[:, US_EU_JP].all(axis=1)
        pkg = np.full(ids.size, -1)
        pkg[uej] = USEUJP
        pkg[ex_cn] = EX_CHINA
        # A fire sale of everything needs something a buyer can take over: a clinical asset.
        pkg[distressed & whole & (book.stage[ids] >= Stage.phase1)] = GLOBAL
        main = pkg >= 0
        if main.any():
            masks = PACKAGE_MASKS[pkg[main]]
            parts.append((ids[main], owner[main], pkg[main], np.full(main.sum(), -1), masks, distressed[main]))
        # Regional rights for late, data-rich assets.
        late = book.stage[ids] >= model.regional_min_stage
        for r in REGIONAL_INDEX:
            ok = late & held[:, r]
            if ok.any():
                mask = np.zeros((ok.sum(), N_REGIONS), dtype=bool)
                mask[:, r] = True
                parts.append((ids[ok], owner[ok], np.full(ok.sum(), REGIONAL), np.full(ok.sum(), r), mask,
                              distressed[ok]))
    # NewCo exits: incubators shop assets that reached proof of concept.
    n = book.n
    dev = book.developer[:n]
    inc = (ent.kind[dev] == Kind.incubator) & (book.status[:n] == 0) & ~book.in_play[:n]
    inc &= book.stage[:n] >= model.incubator_exit_stage
    inc_ids = np.flatnonzero(inc)
    if inc_ids.size:
        holder = dev[inc_ids]
        held = book.rights[inc_ids] == holder[:, None]
        pkg = np.where(held.all(axis=1), GLOBAL, EX_CHINA)
        masks = held
        parts.append((inc_ids, holder, pkg, np.full(inc_ids.size, -1), masks, np.zeros(inc_ids.size, bool)))
    if not parts:
        z = np.zeros(0, dtype=np.int64)
        return Offers(z, z, z, z, np.zeros((0, N_REGIONS), bool), np.zeros(0, bool))
    cols = list(zip(*parts))
    return Offers(*(np.concatenate(c) for c in cols))


# --------------------------------------------------------------------------- valuation
@dataclass
class Bids:
    """The (offer, buyer) pairs a BD team screened this month and would pursue, with values."""

    offer: np.ndarray  # offer row
    buyer: np.ndarray  # index into the buyer table
    value: np.ndarray  # W, US dollars
    basis: np.ndarray  # the package's value x buyer_climate: W before fit and reading error
    ask: np.ndarray  # the seller's ask for each offer (indexed by offer row)


def seller_ask(model: "LicensingMarket", assets: np.ndarray, sellers: np.ndarray, masks: np.ndarray,
               value: np.ndarray | None = None) -> np.ndarray:
    """The sellers' reservation prices (US dollars) for rights packages, at today's climate.

    ``value`` is the packages' risk-adjusted value (world value x territory share) when the
    caller has it already.

    A biotech's ask follows its own value of the rights (funding climate, stage, and its own
    optimism: ``biotech.valuation_spread``) and its runway; sellers value novelty less steeply
    than buyers do (a fast follower still sells in China); stranded programmes are offered cheaper. An incubator sells a NewCo asset at 0.8
    of its value.
    """
    book, sc = model.book, model.sc
    stage = book.stage[assets].astype(int)
    is_biotech = model.ent.kind[sellers] == Kind.biotech
    factor = np.ones(assets.size)
    if is_biotech.any():
        factor[is_biotech] = Biotech.reservation_factor(model, sellers[is_biotech])
    own = np.where(is_biotech, Biotech.own_value_share(model, stage) * model.own_novelty_ratio[book.novelty[assets]]
                   * model.ent.optimism[sellers], 0.8)
    if value is None:
        value = book.package_value(assets, masks)
    return own * value * factor * np.where(book.paused[assets], sc.biotech.paused_ask, 1.0)


def distrust(model: "LicensingMarket", assets: np.ndarray, buyers: np.ndarray) -> np.ndarray:
    """What each buyer must take on trust in each asset this month, 0-1: (1 - trust) x reliance.

    Reliance on China-only data is the weight of the clinical data (by stage) or, for novel
    biology, of the originator's own science (by novelty), whichever is larger; a global data
    package needs one fifth of that.
    """
    book = model.book
    stage = book.stage[assets].astype(int)
    reliance = np.maximum(model.data_weight_by_stage[stage], model.data_weight_by_novelty[book.novelty[assets]])
    reliance = reliance * np.where(book.global_data[assets], 0.2, 1.0)
    return (1.0 - model.buyer_trust[model.t, buyers]) * reliance


def buyer_climate(model: "LicensingMarket", assets: np.ndarray, buyers: np.ndarray,
                  distrusted: np.ndarray | None = None) -> np.ndarray:
    """This month's multiplier of each buyer's value of each asset: stage appetite x trust x urgency.

    The trust factor 1 - trust_sensitivity x distrust discounts China-only data. Read when talks
    open and again when terms settle at signing, so a buyer whose trust, appetite or urgency
    moved during the talks pays the new value or walks away. ``distrusted`` is
    :func:`distrust` of the same pairs when the caller has it already.
    """
    sc, t = model.sc, model.t
    stage = model.book.stage[assets].astype(int)
    if distrusted is None:
        distrusted = distrust(model, assets, buyers)
    tf = 1.0 - sc.mnc.trust_sensitivity * distrusted
    urgency = 1.0 + sc.mnc.urgency_gain * model.buyer_urgency[t, buyers]
    return model.buyer_appetite[t, buyers, stage] * tf * urgency


def talks_basis(model: "LicensingMarket", asset: int, mask: np.ndarray, buyer: int) -> float:
    """One buyer's value of one rights package this month before fit and reading error: the
    package's share of the asset's world value x :func:`buyer_climate` (the ``basis`` of a bid)."""
    ids = np.array([asset])
    return float(model.book.package_value(ids, mask[None, :])[0] * buyer_climate(model, ids, np.array([buyer]))[0])


def upfront_share(model: "LicensingMarket", stage: np.ndarray, distrusted: np.ndarray) -> np.ndarray:
    """Share of the price paid upfront: the stage's share times the trusted part of the value to the
    power ``market.upfront_distrust``. What a buyer takes on trust it pays for in milestones, which
    are paid only if the data hold up (risk sharing)."""
    return model.upfront_share_by_stage[stage] * (1.0 - distrusted) ** model.sc.market.upfront_distrust


def value_pairs(model: "LicensingMarket", offers: Offers, buyers: np.ndarray) -> Bids:
    """Value the screened (offer, buyer) pairs and keep those a buyer would pursue.

    ``buyers`` are indices into the buyer table: only buyers with BD capacity this month
    bid. Screening (search friction) comes first, so only a few percent of all pairs are
    valued; the arithmetic is the same matrix formula, on the screened pairs.
    """
    book, bt = model.book, model.buyer_table
    sc = model.sc
    a = offers.asset
    stage = book.stage[a].astype(int)
    area = book.area[a]
    # Search friction: a BD team screens only part of what is on the table each month.
    focus = bt["focus"][buyers][:, area].T  # (offers, buyers)
    attention = sc.mnc.attention * np.where(focus, 1.0, sc.mnc.scouting)
    screened = model.rng.random(focus.shape) < attention
    # Kind of package and region must suit the buyer; nobody buys from itself.
    screened &= bt["territory_ok"][buyers][:, offers.package].T
    regional = offers.package == REGIONAL
    screened &= ~regional[:, None] | (offers.region[:, None] == bt["home"][buyers][None, :])
    screened &= offers.seller[:, None] != bt["entity"][buyers][None, :]
    # Materiality: a top MNC does not pursue a programme too small to matter to its revenue gap.
    if sc.mnc.materiality_usd > 0:
        small = book.peak_sales(a) < sc.mnc.materiality_usd
        screened &= ~(small[:, None] & (bt["kind"][buyers] == Kind.mnc)[None, :])
    o, j = np.nonzero(screened)
    b = buyers[j]
    package = book.package_value(a, offers.mask)
    ask = seller_ask(model, a, offers.seller, offers.mask, value=package)
    # Buyer's value of each screened pair.
    fit = np.where(focus[o, j], 1.0, 0.7)
    noise = model.rng.normal(0.0, sc.market.quality_noise, size=o.size)
    distrusted = distrust(model, a[o], b)
    basis = package[o] * buyer_climate(model, a[o], b, distrusted)
    W = basis * fit * np.exp(noise)
    # Regional licensees buy data-rich, affordable drugs: novelty counts for them as for the seller.
    regional_buyer = bt["kind"][b] == Kind.regional
    W = np.where(regional_buyer, W * model.own_novelty_ratio[book.novelty[a[o]]], W)
    # A China deal must beat sourcing elsewhere (hurdle). Terms settle at signing, so a buyer
    # opens talks when the ask is within negotiation room of what it would pay; whether the
    # seller comes down that far is decided when diligence ends (close_diligence).
    keep = ((1.0 - sc.mnc.hurdle) * W >= (1.0 - sc.market.negotiation_room) * ask[o]) & (W > 0)
    # The buyer must be able to pay the upfront at the price it would likely agree.
    likely = ask[o] + sc.market.seller_power * np.maximum(W - ask[o], 0.0)
    keep &= bt["cash"][b] >= upfront_share(model, stage[o], distrusted) * likely
    return Bids(offer=o[keep], buyer=j[keep], value=W[keep], basis=basis[keep], ask=ask)


def match(model: "LicensingMarket", offers: Offers) -> list[Diligence]:
    """Start diligence on the best offer-buyer pairs (greedy on relative surplus, rivals lift the price)."""
    bt = model.buyer_table
    if offers.size == 0 or bt["n"] == 0:
        return []
    bidders = np.flatnonzero(bt["credits"] >= 1.0)
    if bidders.size == 0:
        return []
    bids = value_pairs(model, offers, bidders)
    if bids.offer.size == 0:
        return []
    # Pairs sorted by offer, best value first; the first pair of each offer is its best bid.
    order = np.lexsort((-bids.value, bids.offer))
    o_sorted, j_sorted, w_sorted = bids.offer[order], bids.buyer[order], bids.value[order]
    basis_sorted = bids.basis[order]
    starts = np.flatnonzero(np.r_[True, o_sorted[1:] != o_sorted[:-1]])
    ends = np.r_[starts[1:], o_sorted.size]
    first = o_sorted[starts]
    ask = bids.ask
    # BD teams with limited capacity pursue the best return first: surplus relative to value.
    rel = (w_sorted[starts] - ask[first]) / w_sorted[starts]
    credits = bt["credits"][bidders].copy()
    taken_assets: set[int] = set()
    started: list[Diligence] = []
    for k in np.argsort(-rel, kind="stable"):
        if not (credits >= 1.0).any():
            break
        o = int(first[k])
        asset = int(offers.asset[o])
        if asset in taken_assets:
            continue
        lo, hi = starts[k], ends[k]
        free = credits[j_sorted[lo:hi]] >= 1.0
        if not free.any():
            continue
        i = lo + int(free.argmax())
        pick, value = int(j_sorted[i]), float(w_sorted[i])
        # The best other bidder who screened the offer is the rival: an English auction.
        rival = float(w_sorted[lo + 1]) if i == lo and hi - lo > 1 else (float(w_sorted[lo]) if i > lo else -np.inf)
        credits[pick] -= 1.0
        taken_assets.add(asset)
        b = int(bidders[pick])
        model.buyers[b].credits -= 1.0
        model.book.in_play[asset] = True
        work = model.diligence_work(asset)
        started.append(Diligence(asset=asset, seller=int(offers.seller[o]), buyer=b, package=int(offers.package[o]),
                                 mask=offers.mask[o].copy(), value=value, basis=float(basis_sorted[i]), rival=rival,
                                 start=model.month, work=work, distressed=bool(offers.distressed[o]),
                                 stage=int(model.book.stage[asset])))
    return started


# ------------------------------------------------------------------------------ signing
def close_diligence(model: "LicensingMarket", d: Diligence) -> bool:
    """Finish a diligence: sign the deal or let it fail. Returns True when signed."""
    book, ent = model.book, model.ent
    book.in_play[d.asset] = False
    still_held = (book.rights[d.asset][d.mask] == d.seller).all()
    if book.status[d.asset] != 0 or not ent.alive[d.seller] or not still_held:
        return False
    sc = model.sc
    # Diligence can kill a deal over non-compliant data (RT23): the more the buyer must take on trust.
    distrusted = float(distrust(model, np.array([d.asset]), np.array([d.buyer]))[0])
    p_fail = sc.market.diligence_fail + sc.market.diligence_distrust_fail * distrusted
    if model.rng.random() < p_fail:
        model.month_failed += 1
        return False
    # Diligence reveals the asset's true quality: re-value without the buyer's reading error, as
    # the asset and the buyer's climate are now (trust, appetite and urgency may have moved during
    # the talks, and an asset not held at a stage gate may have advanced).
    reading = float(np.exp(-model.rng.normal(0.0, sc.market.quality_noise) * 0.5))
    true_value = d.value * talks_basis(model, d.asset, d.mask, d.buyer) / d.basis * reading
    # Terms settle now, against the seller's ask in today's climate and runway: a seller whose
    # money got scarcer during the talks comes down; one whose prospects rose holds out, and
    # the buyer walks away if the deal no longer beats sourcing elsewhere.
    ask = float(seller_ask(model, np.array([d.asset]), np.array([d.seller]), d.mask[None, :])[0])
    if (1.0 - sc.mnc.hurdle) * true_value < ask:
        model.month_failed += 1
        return False
    power = sc.market.seller_power
    price = min(true_value, max(ask + power * (true_value - ask), d.rival))
    sign(model, d, price, distrusted)
    return True


def sign(model: "LicensingMarket", d: Diligence, price: float, distrusted: float) -> int:
    """Record the deal at ``price``: terms, payment of the upfront, transfer of the rights.

    ``distrusted`` is :func:`distrust` of the asset and buyer this month (it sets the upfront share).
    """
    sc, book, ent = model.sc, model.book, model.ent
    buyer = model.buyers[d.buyer]
    stage = int(book.stage[d.asset])
    seller_kind = Kind(int(ent.kind[d.seller]))
    seller_runway = float(Biotech.runway(model, np.array([d.seller]))[0]) if seller_kind == Kind.biotech else np.inf
    # Deal type follows who is selling, why, and to whom.
    if buyer.kind == Kind.incubator:
        deal_type = "newco"
    elif d.package == GLOBAL and d.distressed:
        deal_type = "acquisition"
    elif seller_kind == Kind.incubator:
        deal_type = "acquisition" if model.rng.random() < 0.5 else "license"
    elif (seller_runway >= sc.biotech.hold_runway_months and book.core[d.asset] and stage >= Stage.phase1
          and buyer.kind in (Kind.mnc, Kind.mid_size) and model.rng.random() < sc.market.co_development_propensity):
        deal_type = "co_development"
    else:
        deal_type = "license"
    up_share = float(upfront_share(model, np.array([stage]), np.array([distrusted]))[0])
    royalty = sc.market.royalty_rate[STAGES[stage]]
    equity_share = 0.0
    if deal_type == "newco":
        up_share *= 0.5  # NewCos pay in equity more than cash
        equity_share = sc.incubator.equity_share
    elif deal_type == "co_development":
        up_share *= 0.7
        royalty = min(1.0, royalty * 1.5)  # profit share in lieu of cash
    elif deal_type == "acquisition":
        up_share = max(up_share, 0.75)
        royalty = 0.0
    upfront = up_share * price
    payout = milestone_payout_factor(model, d.asset)
    milestones = (price - upfront) / max(payout, 1e-3)
    equity = equity_share * d.value if deal_type == "newco" else 0.0
    # Pay the upfront; a buyer short of cash draws on corporate (or NewCo) funds.
    pay(model, buyer.entity, d.seller, upfront, "upfront", asset=d.asset)
    # Transfer the rights and, for packages that include the US, global development lead.
    book.rights[d.asset][d.mask] = buyer.entity
    if d.mask[REGIONS.index("US")]:
        book.developer[d.asset] = buyer.entity
        book.speed[d.asset] = sc.incubator.speed if buyer.kind == Kind.incubator else 1.0
    was_core = bool(book.core[d.asset])
    if d.mask[CN]:
        book.core[d.asset] = False
    licensee_region = "US" if buyer.kind == Kind.incubator else buyer.region
    date = model.date
    n_steps = max(APPROVED - stage, 1)
    dev_m = milestones * (1.0 - sc.market.sales_milestone_share) / n_steps
    sales_m = milestones * sc.market.sales_milestone_share
    record = {
        "signed": date, "year": date.year, "licensor_id": d.seller,
        "licensor_kind": "biotech" if seller_kind == Kind.biotech else "incubator",
        "licensee_id": buyer.entity, "licensee_kind": buyer.kind.name, "licensee_region": licensee_region,
        "asset_id": d.asset, "modality": MODALITIES[book.modality[d.asset]], "area": AREAS[book.area[d.asset]],
        "novelty": NOVELTIES[book.novelty[d.asset]], "stage": STAGES[stage], "_stage_code": stage,
        "territory": PACKAGES[d.package], "deal_type": deal_type, "upfront_usd": upfront,
        "milestones_usd": milestones, "royalty_rate": royalty, "equity_usd": equity,
        "total_value_usd": upfront + milestones, "diligence_months": float(model.month - d.start),
        "terminated": None, "termination_reason": None, "milestones_paid_usd": 0.0,
        "china_origin": seller_kind == Kind.biotech, "core": was_core, "distressed": bool(d.distressed),
        "_warmup": model.month < 0,
    }
    deal = model.ledger.add(record, regions=d.mask, dev_milestone=dev_m, sales_milestone=sales_m,
                            equity_share=equity_share)
    model.month_deals += 1
    model.month_upfront += upfront
    return deal


def pay(model: "LicensingMarket", payer: int, payee: int, amount: float, kind: str, asset: int = -1) -> None:
    """Pay ``amount``; buyers short of cash are topped up from declared corporate/NewCo funds.

    Money a NewCo receives for an asset is shared with the biotech holding equity in it.
    """
    if amount <= 0:
        return
    acc = model.accounts
    short = amount - acc.cash[payer]
    if short > 0:
        label = "newco_financing" if model.ent.kind[payer] == Kind.incubator else "corporate_funds"
        acc.source(payer, float(short), label)
    acc.transfer(payer, payee, amount, kind)
    if asset >= 0 and model.ent.kind[payee] == Kind.incubator:
        led = model.ledger
        stakes = np.flatnonzero((led.asset[: led.n] == asset) & (led.licensee[: led.n] == payee)
                                & (led.equity_share[: led.n] > 0))
        for s in stakes:
            holder = int(led.licensor[s])
            if model.ent.alive[holder]:
                acc.transfer(payee, holder, amount * float(led.equity_share[s]), "newco_equity_proceeds")


def milestone_payout_factor(model: "LicensingMarket", asset: int) -> float:
    """Expected, discounted share of a deal's milestones that will be paid (0-1]."""
    book, sc = model.book, model.sc
    stage = int(book.stage[asset])
    ids = np.array([asset])
    n_steps = max(APPROVED - stage, 1)
    dev_w = (1.0 - sc.market.sales_milestone_share) / n_steps
    rate = 1.0 + sc.market.discount_rate
    pos, t, total = 1.0, 0.0, 0.0
    for s in range(stage, APPROVED):
        pos *= float(book.success_prob(ids, np.array([s]))[0])
        t += book.duration_base[s] / 12.0
        total += dev_w * pos * rate ** (-t)
    total += sc.market.sales_milestone_share * pos * rate ** (-(t + 2.0))
    return total


# ---------------------------------------------------------------------------- contracts
def on_advance(model: "LicensingMarket", assets: np.ndarray) -> None:
    """Pay development/regulatory milestones for live deals on assets that moved up a stage."""
    if assets.size == 0:
        return
    led = model.ledger
    live = led.live()
    hit = live[np.isin(led.asset[live], assets)]
    for deal in hit:
        asset = int(led.asset[deal])
        payer = int(current_holder(model, deal))
        licensor = int(led.licensor[deal])
        amount = float(led.dev_milestone[deal])
        if model.ent.alive[licensor] and amount > 0:
            pay(model, payer, licensor, amount, "milestone", asset=asset)
            led.pay_milestone(deal, amount)


def current_holder(model: "LicensingMarket", deals):
    """Entity holding the rights of each deal now (its licensee, or whoever it passed them to)."""
    led = model.ledger
    return model.book.rights[led.asset[deals], led.region0[deals]]


def on_failure(model: "LicensingMarket", assets: np.ndarray) -> None:
    """Deals on assets whose trial failed end with the asset."""
    if assets.size == 0:
        return
    led = model.ledger
    live = led.live()
    for deal in live[np.isin(led.asset[live], assets)]:
        led.terminate(int(deal), model.date, "failed_trial")


def terminations(model: "LicensingMarket") -> int:
    """Licensees return rights: strategy shifts, and regulatory/data shocks as trust falls."""
    led, sc, book = model.ledger, model.sc, model.book
    live = led.live()
    if live.size == 0:
        return 0
    # Only the deal whose licensee holds the rights now can hand them back.
    leaf = current_holder(model, live) == led.licensee[live]
    live = live[leaf]
    if live.size == 0:
        return 0
    base = sc.market.termination_hazard / 12.0
    hazard = base * sc.market.termination_stage_decay ** (led.stage_at_signing[live] - Stage.phase2)
    china_only = ~book.global_data[led.asset[live]]
    distrust = np.maximum(model.trust_drop, 0.0) * china_only
    hazard = hazard * (1.0 + 20.0 * distrust)
    ends = live[model.rng.random(live.size) < np.minimum(hazard, 1.0)]
    for deal in ends:
        reason = "regulatory" if distrust[np.searchsorted(live, deal)] > 0.05 else "strategy"
        asset = int(led.asset[deal])
        mask = led.regions[deal]
        licensor = int(led.licensor[deal])
        book.rights[asset][mask] = licensor
        if mask[REGIONS.index("US")]:
            book.developer[asset] = licensor
            book.speed[asset] = 1.0
        led.terminate(int(deal), model.date, reason)
    return int(ends.size)


def royalties_and_sales(model: "LicensingMarket") -> None:
    """Approved assets earn sales: licensees pay royalties, biotechs keep China revenue."""
    book, led, acc = model.book, model.ledger, model.accounts
    n = book.n
    approved = np.flatnonzero((book.status[:n] == 0) & (book.stage[:n] == APPROVED))
    if approved.size == 0:
        return
    ramp = np.clip((model.month - book.approved_month[approved]) / 60.0, 0.0, 1.0)
    monthly_peak = book.peak_sales(approved) / 12.0 * ramp
    # The originator's China sales (net margin after cost of goods and selling).
    cn_holder = book.rights[approved, CN]
    own = model.ent.alive[cn_holder] & (model.ent.kind[cn_holder] == Kind.biotech)
    acc.source_many(cn_holder[own], 0.4 * monthly_peak[own] * book.region_share[CN], "product_revenue")
    if not model.ledger.n:
        return
    live = led.live()
    on_market = live[book.stage[led.asset[live]] == APPROVED]
    on_market = on_market[book.status[led.asset[on_market]] == 0]
    on_market = on_market[model.ent.alive[led.licensor[on_market]]]
    if on_market.size == 0:
        return
    assets = led.asset[on_market]
    ramp = np.clip((model.month - book.approved_month[assets]) / 60.0, 0.0, 1.0)
    sales = book.peak_sales(assets) / 12.0 * ramp * (led.regions[on_market] @ book.region_share)
    royalty = led.royalty[on_market] * sales
    payers = current_holder(model, on_market)
    paying = royalty > 0
    # The licensee's sales enter as revenue; the royalty share of it goes to the licensor.
    acc.source_many(payers[paying], royalty[paying], "product_revenue")
    acc.sink_many(payers[paying], royalty[paying], "royalty_paid")
    acc.source_many(led.licensor[on_market][paying], royalty[paying], "royalty_received")
    due = on_market[(model.month - book.approved_month[assets] == 24) & (led.sales_milestone[on_market] > 0)]
    for deal in due:
        payer, licensor = int(current_holder(model, deal)), int(led.licensor[deal])
        pay(model, payer, licensor, float(led.sales_milestone[deal]), "milestone", asset=int(led.asset[deal]))
        led.pay_milestone(int(deal), float(led.sales_milestone[deal]))
