"""Parameters as each mechanism reads them: one small frozen object per mechanism.

The scenario schema (:mod:`sim.scenarios.schema`) is the one home of every parameter, with
unit, meaning, default and source. This module only reshapes it once per run into what a
mechanism needs (tables by stage become arrays indexed by stage code), so no mechanism reaches
into ``scenario.x.y`` and each mechanism's inputs can be read at a glance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenarios.schema import AREAS, MODALITIES, NOVELTIES, REGIONS, STAGES, Scenario, Stage

N_STAGES = len(STAGES)


def _by(table: dict, keys: list[str], fill: float = 0.0) -> np.ndarray:
    return np.array([float(table.get(k, fill)) for k in keys])


def _frozen(cls):
    return dataclass(frozen=True, eq=False)(cls)


@_frozen
class DevelopmentParams:
    """Programmes: odds, durations, costs and worth (assets, development)."""

    success: np.ndarray  # by stage; approved = 1
    area_success: np.ndarray
    quality_success_gain: float
    success_cap: float
    duration: np.ndarray  # months by stage; approved = inf
    duration_spread: float
    china_speed: float
    cost: np.ndarray  # USD/month by stage, China-run
    peak_area: np.ndarray
    novelty_value: np.ndarray
    quality_sd: float
    region_share: np.ndarray
    discount_rate: float
    product_value_multiple: float
    china_margin: float
    launch_ramp_months: float
    exclusivity_months: float
    area_mix: np.ndarray
    modality_mix: np.ndarray
    novelty_mix: np.ndarray
    global_data_share: float
    core_share: float
    core_value_tilt: float


@_frozen
class SectorParams:
    """Entry, discovery and learning."""

    initial_firms: int
    per_biotech: float
    initial_stage_mix: np.ndarray
    entry_per_year: float
    entry_funding_elasticity: float
    entry_lag_months: float
    entrant_phase1_share: float
    discovery_per_year: float
    discovery_funding_elasticity: float
    learning_rate: float
    experience_scale: float
    experience_memory_months: float
    learning_quality: float
    learning_speed: float
    learning_global_data: float


@_frozen
class FinanceParams:
    """Biotech financing and burn."""

    pool_per_year: float
    trigger_months: float
    opportunistic_months: float
    rate: float
    round_size: float
    investor_quality_weight: float
    investor_ipo_preference: float
    round_stage_gain: float
    round_elasticity: float
    round_spread: float
    overhead: float
    initial_runway_months: float
    entrant_runway_months: float
    cash_hold_months: float
    partnership_first_share: float
    valuation_spread: float


@_frozen
class SellerParams:
    """Biotech offering, asking, gating and distress."""

    hold_stage_ipo: int
    hold_stage_partner: int
    hold_runway_months: float
    distress_runway_months: float
    pause_runway_months: float
    gate_runway_months: float
    own_value_share: float
    own_by_stage: np.ndarray
    funding_elasticity_by_stage: np.ndarray
    funding_reference: float
    own_novelty_ratio: np.ndarray  # the seller's novelty value relative to a buyer's
    paused_ask: float
    reservation_floor: float
    offer_rate: float
    cash_need_months: float
    regional_min_stage: int


@_frozen
class ValuationParams:
    """What a buyer's BD team sees and how it values it."""

    data_weight: np.ndarray  # by stage
    novelty_data_weight: np.ndarray
    global_data_reliance: float
    trust_sensitivity: float
    trust_spread: float
    urgency_gain: float
    quality_noise: float
    hurdle: float
    attention: float
    search_trust_elasticity: float
    search_trust_reference: float
    scouting: float
    off_focus_fit: float
    credit_cap: float
    oncology_focus_share: float
    seller_power: float


@_frozen
class MncParams:
    top_revenue: float
    mid_revenue: float
    mid_revenue_spread: float
    bd_budget_share: float
    budget_carry_months: float
    revenue_gap: float
    gap_budget_elasticity: float
    gap_capacity_elasticity: float
    appetite: dict  # culture -> array by stage
    externalisation_reference: float
    externalisation_elasticity: float
    externalisation_phase1_share: float
    mid_commercial_reach: float
    top_deals_per_year: float
    mid_deals_per_year: float


@_frozen
class IncubatorParams:
    fund: float
    deploy_months: float
    max_stage: int
    appetite: float
    data_reliance: float
    equity_share: float
    upfront_cash_share: float
    exit_stage: int
    exit_ask_share: float
    deals_per_year: float
    reserve_months: float
    us_cost_multiple: float
    speed: float


@_frozen
class RegionalParams:
    revenue: float
    revenue_spread: float
    deals_per_year: float
    late_appetite: float
    data_reliance: float
    min_stage: int


@_frozen
class DiligenceParams:
    months: float
    spread: float
    cool_months: float
    stage_factor: np.ndarray
    novelty_factor: np.ndarray
    fail: float
    distrust_fail: float


@_frozen
class TermsParams:
    upfront_by_stage: np.ndarray  # rises linearly from preclinical to approved
    upfront_distrust: float
    royalty_by_stage: np.ndarray
    co_development_propensity: float
    co_development_upfront: float
    co_development_royalty: float
    acquisition_upfront: float
    licensee_cost_share: float
    sales_milestone_share: float
    sales_milestone_months: int


@_frozen
class ContractParams:
    strategy_hazard: float
    strategy_stage_decay: float
    regulatory_hazard: float


@_frozen
class TrustParams:
    gain: float
    scale: float
    memory_months: float
    failure_weight: float


@_frozen
class ExpectationParams:
    funding_memory_months: float
    funding_trend_months: float
    trust_memory_months: float


@_frozen
class Params:
    """Every mechanism's parameters for one run."""

    development: DevelopmentParams
    sector: SectorParams
    finance: FinanceParams
    seller: SellerParams
    valuation: ValuationParams
    mnc: MncParams
    incubator: IncubatorParams
    regional: RegionalParams
    diligence: DiligenceParams
    terms: TermsParams
    contracts: ContractParams
    trust: TrustParams
    expectations: ExpectationParams
    warmup_months: int

    @classmethod
    def from_scenario(cls, sc: Scenario) -> "Params":
        a, s, b, m, i, r, k = sc.assets, sc.sector, sc.biotech, sc.mnc, sc.incubator, sc.regional, sc.market
        stage_no = np.arange(N_STAGES)
        novelty_value = _by(a.novelty_value, NOVELTIES)
        region = _by(a.region_value_share, REGIONS)
        development = DevelopmentParams(
            success=np.r_[_by(a.success, STAGES[:-1]), 1.0], area_success=_by(a.area_success, AREAS),
            quality_success_gain=a.quality_success_gain, success_cap=a.success_cap,
            duration=np.r_[_by(a.duration_months, STAGES[:-1]), np.inf], duration_spread=a.duration_spread,
            china_speed=a.china_speed, cost=_by(a.monthly_cost_usd, STAGES), peak_area=_by(a.peak_sales_usd, AREAS),
            novelty_value=novelty_value, quality_sd=a.quality_sd, region_share=region / region.sum(),
            discount_rate=k.discount_rate, product_value_multiple=k.product_value_multiple,
            china_margin=a.china_margin, launch_ramp_months=a.launch_ramp_months,
            exclusivity_months=a.exclusivity_months,
            area_mix=_norm(_by(a.area_mix, AREAS)), modality_mix=_norm(_by(a.modality_mix, MODALITIES)),
            novelty_mix=_norm(_by(a.novelty_mix, NOVELTIES)), global_data_share=a.global_data_share,
            core_share=a.core_share, core_value_tilt=a.core_value_tilt,
        )
        sector = SectorParams(
            initial_firms=sc.population.biotechs, per_biotech=a.per_biotech,
            initial_stage_mix=_norm(_by(a.initial_stage_mix, STAGES)), entry_per_year=s.entry_per_year,
            entry_funding_elasticity=s.entry_funding_elasticity,            entry_lag_months=s.entry_lag_months, entrant_phase1_share=s.entrant_phase1_share,
            discovery_per_year=s.discovery_per_year, discovery_funding_elasticity=s.discovery_funding_elasticity,
            learning_rate=s.learning_rate, experience_scale=s.experience_scale,
            experience_memory_months=s.experience_memory_months, learning_quality=s.learning_quality,
            learning_speed=s.learning_speed, learning_global_data=s.learning_global_data,
        )
        finance = FinanceParams(
            pool_per_year=b.financing_pool_usd, trigger_months=b.financing_trigger_months,
            opportunistic_months=b.opportunistic_months, rate=b.financing_rate, round_size=b.round_size_usd,
            investor_quality_weight=b.investor_quality_weight, investor_ipo_preference=b.investor_ipo_preference,
            round_stage_gain=b.round_size_stage_gain, round_elasticity=b.round_size_elasticity,
            round_spread=b.round_size_spread, overhead=b.overhead_usd, initial_runway_months=b.initial_runway_months,
            entrant_runway_months=b.entrant_runway_months, cash_hold_months=b.cash_hold_months, partnership_first_share=b.partnership_first_share,
            valuation_spread=b.valuation_spread,
        )
        seller = SellerParams(
            hold_stage_ipo=STAGES.index(b.core_hold_stage["ipo_first"]),
            hold_stage_partner=STAGES.index(b.core_hold_stage["partnership_first"]),
            hold_runway_months=b.hold_runway_months, distress_runway_months=b.distress_runway_months,
            pause_runway_months=b.pause_runway_months, gate_runway_months=b.gate_runway_months,
            own_value_share=b.own_value_share,
            own_by_stage=b.own_value_stage_decay ** np.maximum(stage_no - int(int(Stage.phase1)), 0),
            funding_elasticity_by_stage=b.funding_value_elasticity * b.funding_elasticity_stage_decay ** stage_no,
            funding_reference=b.funding_reference,
            own_novelty_ratio=_by(b.own_novelty_value, NOVELTIES) / novelty_value,
            paused_ask=b.paused_ask, reservation_floor=b.reservation_floor, offer_rate=b.offer_rate,
            cash_need_months=b.cash_need_months, regional_min_stage=STAGES.index(b.regional_min_stage),
        )
        valuation = ValuationParams(
            data_weight=_by(m.data_weight, STAGES), novelty_data_weight=_by(m.novelty_data_weight, NOVELTIES),
            global_data_reliance=m.global_data_reliance, trust_sensitivity=m.trust_sensitivity,
            trust_spread=m.trust_spread, urgency_gain=m.urgency_gain, quality_noise=k.quality_noise,
            hurdle=m.hurdle, attention=m.attention, search_trust_elasticity=m.search_trust_elasticity,
            search_trust_reference=m.search_trust_reference, scouting=m.scouting, off_focus_fit=m.off_focus_fit,
            credit_cap=m.credit_cap, oncology_focus_share=m.oncology_focus_share,
            seller_power=k.seller_power,
        )
        mnc = MncParams(
            top_revenue=m.top_revenue_usd, mid_revenue=m.mid_revenue_usd, mid_revenue_spread=m.mid_revenue_spread,
            bd_budget_share=m.bd_budget_share, budget_carry_months=m.budget_carry_months, revenue_gap=m.revenue_gap,
            gap_budget_elasticity=m.gap_budget_elasticity, gap_capacity_elasticity=m.gap_capacity_elasticity,
            appetite={c: _by(t, STAGES) for c, t in m.stage_appetite.items()},
            externalisation_reference=m.externalisation_reference,
            externalisation_elasticity=m.externalisation_elasticity,
            externalisation_phase1_share=m.externalisation_phase1_share, mid_commercial_reach=m.mid_commercial_reach,
            top_deals_per_year=m.top_deals_per_year, mid_deals_per_year=m.mid_deals_per_year,
        )
        incubator = IncubatorParams(
            fund=i.fund_usd, deploy_months=i.fund_deploy_months, max_stage=STAGES.index(i.max_stage),
            appetite=i.appetite, data_reliance=i.data_reliance, equity_share=i.equity_share,
            upfront_cash_share=i.upfront_cash_share, exit_stage=STAGES.index(i.exit_stage),
            exit_ask_share=i.exit_ask_share, deals_per_year=i.deals_per_year, reserve_months=i.reserve_months,
            us_cost_multiple=i.us_cost_multiple, speed=i.speed,
        )
        regional = RegionalParams(
            revenue=r.revenue_usd, revenue_spread=r.revenue_spread, deals_per_year=r.deals_per_year,
            late_appetite=r.late_appetite, data_reliance=r.data_reliance,
            min_stage=STAGES.index(b.regional_min_stage),
        )
        diligence = DiligenceParams(
            months=k.diligence_months, spread=k.diligence_spread, cool_months=k.cool_market_months,
            stage_factor=_by(k.diligence_stage_factor, STAGES),
            novelty_factor=_by(k.diligence_novelty_factor, NOVELTIES), fail=k.diligence_fail,
            distrust_fail=k.diligence_distrust_fail,
        )
        lo, hi = k.upfront_share_preclinical, k.upfront_share_approved
        terms = TermsParams(
            upfront_by_stage=lo + (hi - lo) * stage_no / (N_STAGES - 1), upfront_distrust=k.upfront_distrust,
            royalty_by_stage=_by(k.royalty_rate, STAGES), co_development_propensity=k.co_development_propensity,
            co_development_upfront=k.co_development_upfront, co_development_royalty=k.co_development_royalty,
            acquisition_upfront=k.acquisition_upfront, licensee_cost_share=k.licensee_cost_share,
            sales_milestone_share=k.sales_milestone_share, sales_milestone_months=k.sales_milestone_months,
        )
        c, t, e = sc.contracts, sc.trust, sc.expectations
        return cls(
            development=development, sector=sector, finance=finance, seller=seller, valuation=valuation, mnc=mnc,
            incubator=incubator, regional=regional, diligence=diligence, terms=terms,
            contracts=ContractParams(strategy_hazard=c.strategy_hazard, strategy_stage_decay=c.strategy_stage_decay,
                                     regulatory_hazard=c.regulatory_hazard),
            trust=TrustParams(gain=t.track_record_gain, scale=t.track_record_scale,
                              memory_months=t.track_record_memory_months, failure_weight=t.failure_weight),
            expectations=ExpectationParams(funding_memory_months=e.funding_memory_months,
                                           funding_trend_months=e.funding_trend_months,
                                           trust_memory_months=e.trust_memory_months),
            warmup_months=k.warmup_months,
        )


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()
