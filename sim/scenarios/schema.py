"""The scenario schema: the one home of every parameter, with unit, meaning, default and source.

Precedence, lowest first: the defaults here < the scenario it ``extends`` < the scenario
file < overrides given on the command line or by an experiment design (dotted paths
such as ``drivers.funding.scale``). Unknown fields are errors (``extra="forbid"``).

Units: money in US dollars (float); time in months unless a name says ``_years``;
probabilities and shares in [0, 1]. Source tags refer to docs/evidence.md
([RT23], [QM24], [CB24], [ARC25], [AI25], [BIO21], [EV]); "assumption" marks a
modelling choice with no published figure behind it.
"""

from __future__ import annotations

import datetime as _dt
import re
from enum import IntEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class Stage(IntEnum):
    """Development stage of an asset; stages only move forward."""

    preclinical = 0
    phase1 = 1
    phase2 = 2
    phase3 = 3
    filed = 4
    approved = 5


STAGES = [s.name for s in Stage]
AREAS = ["oncology", "immunology", "cardiometabolic", "other"]
MODALITIES = ["small_molecule", "antibody", "bispecific", "adc", "cell_gene", "oligonucleotide"]
NOVELTIES = ["first_in_class", "best_in_class", "fast_follower", "me_too"]
#: Markets in which rights are held separately. Territories are sets of these.
REGIONS = ["CN", "US", "EU", "JP", "KR", "SEA", "MENA", "IN", "ROW"]
#: Home regions of regional licensees (buyers of single-region rights).
LICENSEE_REGIONS = ["JP", "KR", "SEA", "MENA", "IN"]
MNC_REGIONS = ["US", "EU", "UK", "CH", "JP", "KR"]


def _year_month(value: Any) -> str:
    """Accept 2018, '2018-01', '2018-01-15', a date or datetime; return 'YYYY-MM'."""
    if isinstance(value, bool):
        raise ValueError("a date must be written YYYY-MM")
    if isinstance(value, int):
        value = f"{value}-01"
    if isinstance(value, (_dt.date, _dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?\s*", value)
        if m and 1 <= int(m.group(2)) <= 12:
            return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    raise ValueError(f"a date must be written YYYY-MM (got {value!r})")


YearMonth = Annotated[str, BeforeValidator(_year_month)]


def month_index(ym: str) -> int:
    """Months since year 0 for a 'YYYY-MM' string (used for date arithmetic)."""
    y, m = ym.split("-")
    return int(y) * 12 + int(m) - 1


def P(default: Any, description: str, *, unit: str = "", source: str = "assumption", **kw: Any) -> Any:
    """A documented parameter: default, meaning, unit and source in one place."""
    return Field(default, description=description, json_schema_extra={"unit": unit, "source": source}, **kw)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @model_validator(mode="before")
    @classmethod
    def _merge_table_defaults(cls, data: Any) -> Any:
        """Parameter tables (mappings with a default) merge key by key with their default.

        So a scenario can set ``market.upfront_share: {preclinical: 0.3}`` and keep the other
        stages; nested tables (``mnc.stage_appetite.US``) merge one level deeper.
        """
        if not isinstance(data, dict):
            return data
        out = dict(data)
        for name, field in cls.model_fields.items():
            default = field.default
            given = data.get(name)
            if isinstance(default, dict) and isinstance(given, dict):
                merged = {**default, **given}
                for key, value in given.items():
                    if isinstance(value, dict) and isinstance(default.get(key), dict):
                        merged[key] = {**default[key], **value}
                out[name] = merged
        return out


# --------------------------------------------------------------------------- drivers


class Shock(Strict):
    """A dated, additive change to a driver, ramped in linearly and optionally temporary."""

    at: YearMonth = P(..., "month the shock starts", unit="YYYY-MM")
    change: float = P(..., "additive change to the driver's value at full strength", unit="index points")
    ramp_months: int = P(1, "months over which the change builds up linearly", unit="months", ge=1, le=120)
    duration_months: int | None = P(
        None, "months at full strength before it fades out over ramp_months; empty = permanent", unit="months", ge=1
    )


class Driver(Strict):
    """A time series: dated points joined by straight lines, flat after the last point."""

    points: dict[YearMonth, float] = P(..., "dated values; between them linear, after the last held flat", unit="index")
    scale: float = P(1.0, "multiplier applied to every point (for experiments)", unit="x", ge=0.0, le=100.0)
    shocks: list[Shock] = P([], "dated shocks added on top of the series")

    lower: ClassVar[float] = 0.0
    upper: ClassVar[float] = float("inf")

    @model_validator(mode="after")
    def _check_points(self) -> "Driver":
        if not self.points:
            raise ValueError("needs at least one dated point")
        for key, value in self.points.items():
            if not (self.lower <= value <= self.upper):
                raise ValueError(
                    f"point {key} = {value} is out of range; allowed {self.lower:g} to {self.upper:g}"
                )
        return self


class UnitDriver(Driver):
    """A driver whose values are shares or levels in [0, 1]."""

    upper: ClassVar[float] = 1.0


class Drivers(Strict):
    funding: Driver = P(
        Driver(points={"2018-01": 0.55, "2019-01": 0.5, "2020-06": 0.8, "2021-06": 1.0, "2022-06": 0.62,
                       "2023-06": 0.45, "2024-06": 0.315, "2025-06": 0.34}),
        "China biotech primary-financing climate; 1.0 = the 2021 peak (625 rounds, CNY 87.82B); "
        "2024 = 0.315 (339 rounds, CNY 27.68B)", unit="index, 2021 = 1", source="ARC25",
    )
    trust: UnitDriver = P(
        UnitDriver(points={"2018-01": 0.30, "2021-01": 0.36, "2023-01": 0.42, "2024-06": 0.58, "2025-06": 0.62}),
        "MNC trust in China-generated clinical data; 0 = none, 1 = as for US/EU data; 2024 inflection",
        unit="0-1", source="RT23, ARC25",
    )
    patent_cliff: Driver = P(
        Driver(points={"2018-01": 0.6, "2021-01": 0.8, "2023-01": 1.0, "2026-01": 1.2, "2028-06": 1.35, "2030-12": 1.2}),
        "large-pharma revenue at risk from loss of exclusivity; 1.0 = 2023 (69 >$1B drugs off patent by "
        "end-2023; $300B at risk 2025-2030)", unit="index, 2023 = 1", source="ARC25, EV",
    )
    us_venture: Driver = P(
        Driver(points={"2018-01": 0.55, "2020-06": 0.8, "2021-06": 1.0, "2022-06": 0.6, "2023-06": 0.55,
                       "2024-06": 0.75, "2025-06": 0.8}),
        "US life-science venture funding for incubators and NewCos; 1.0 = 2021 peak; shape follows the "
        "boom / capital-winter / partial-recovery sentiment", unit="index, 2021 = 1", source="QM24, RT23 (shape)",
    )
    rd_externalisation: UnitDriver = P(
        UnitDriver(points={"2015-01": 0.40, "2024-01": 0.72, "2026-01": 0.75}),
        "share of early innovation large pharma sources outside: 1 - large pharma's share of sponsored "
        "oncology trials (60% in 2015, 28% in 2024)", unit="0-1", source="ARC25",
    )


# ----------------------------------------------------------------------- populations


class Population(Strict):
    biotechs: int = P(420, "Chinese biotechs at the start with assets to license", unit="firms", ge=1, le=20000)
    top_mncs: int = P(20, "top multinational pharma (the named patent-cliff MNCs first)", unit="firms", ge=0, le=40)
    mid_size: int = P(70, "mid-size pharma and biotech buyers (60% of 2023 counterparties)", unit="firms",
                      source="RT23", ge=0, le=2000)
    incubators: int = P(10, "US incubators / NewCo builders", unit="firms", ge=0, le=500)
    regional: int = P(25, "regional licensees (JP, KR, SEA, MENA, IN)", unit="firms", ge=0, le=500)


# ---------------------------------------------------------------------------- assets


class Assets(Strict):
    per_biotech: float = P(2.4, "mean pipeline size of a biotech (1 + Poisson)", unit="assets", ge=0.0, le=50)
    initial_stage_mix: dict[str, float] = P(
        {"preclinical": 0.42, "phase1": 0.26, "phase2": 0.13, "phase3": 0.08, "filed": 0.04, "approved": 0.07},
        "stage mix of the pipeline at the start", unit="weights",
    )
    area_mix: dict[str, float] = P(
        {"oncology": 0.55, "immunology": 0.17, "cardiometabolic": 0.12, "other": 0.16},
        "therapeutic-area mix (oncology dominates China pipelines)", unit="weights",
    )
    modality_mix: dict[str, float] = P(
        {"small_molecule": 0.38, "antibody": 0.24, "bispecific": 0.12, "adc": 0.12, "cell_gene": 0.08,
         "oligonucleotide": 0.06}, "modality mix", unit="weights",
    )
    novelty_mix: dict[str, float] = P(
        {"first_in_class": 0.04, "best_in_class": 0.14, "fast_follower": 0.44, "me_too": 0.38},
        "novelty mix of the assets present at the start", unit="weights",
    )
    learning_rate: float = P(
        1.0, "rise of new assets' innovation (novelty odds, quality) per e-fold of cumulative clinical "
        "experience in the ecosystem", unit="per log-unit", ge=0.0, le=3.0,
    )
    global_data_share: float = P(0.08, "share of new assets starting with a global-standard data package",
                                 unit="share", ge=0.0, le=1.0, source="RT23")
    core_share: float = P(0.4, "share of a biotech's assets that are core (held to later stages)", unit="share",
                          source="QM24", ge=0.0, le=1.0)
    core_value_tilt: float = P(0.0, "how strongly a biotech makes its most promising programmes (novelty, quality) "
                               "its core ones: 0 = core regardless of promise; the core_share of the starting "
                               "pipeline with the highest tilt * log(potential) + N(0,1) are core, and later "
                               "programmes above that cut", unit="x", ge=0.0, le=20.0, source="QM24")
    readout_at_gate: bool = P(False, "a programme its owner cannot take into the next, costlier stage (or is licensing "
                              "out) finishes its stage and reads out before it waits at the gate: a failure ends it "
                              "there, and one held with positive data is valued with that stage's odds won. Off: it "
                              "waits before the readout, so a buyer can license it just before the data (off in the "
                              "baseline: attempts/stage7_refits.md, stages 13-15)", source="BIO21, RT23")
    success: dict[str, float] = P(
        {"preclinical": 0.60, "phase1": 0.520, "phase2": 0.289, "phase3": 0.578, "filed": 0.906},
        "probability of moving to the next stage (preclinical is an assumption)", unit="probability",
        source="BIO21",
    )
    area_success: dict[str, float] = P(
        {"oncology": 0.893, "immunology": 1.0, "cardiometabolic": 1.03, "other": 1.03},
        "per-phase multiplier on success by area; oncology's gives ~5% LoA from phase 1", unit="x",
        source="BIO21",
    )
    duration_months: dict[str, float] = P(
        {"preclinical": 20.0, "phase1": 27.6, "phase2": 43.2, "phase3": 39.6, "filed": 15.6},
        "typical months in each stage (phase 1 2.3 y, phase 2 3.6 y, phase 3 3.3 y, review 1.3 y)",
        unit="months", source="BIO21",
    )
    china_speed: float = P(0.7, "China-run preclinical-phase 2 durations relative to typical (25-55% faster)",
                           unit="x", source="ARC25", ge=0.1, le=2.0)
    monthly_cost_usd: dict[str, float] = P(
        {"preclinical": 2e5, "phase1": 6e5, "phase2": 1.5e6, "phase3": 3.5e6, "filed": 5e5, "approved": 0.0},
        "development cost per month of a China-run programme (30-50% of MNC cost per patient)", unit="USD/month",
        source="ARC25",
    )
    peak_sales_usd: dict[str, float] = P(
        {"oncology": 9e8, "immunology": 8e8, "cardiometabolic": 8e8, "other": 4e8},
        "median worldwide peak sales of an approved drug by area, before novelty and quality", unit="USD/year",
    )
    novelty_value: dict[str, float] = P(
        {"first_in_class": 1.8, "best_in_class": 1.35, "fast_follower": 0.75, "me_too": 0.35},
        "peak-sales multiplier by novelty (buyers pay for differentiation)", unit="x", source="RT23",
    )
    quality_sd: float = P(0.5, "spread of latent quality (log peak-sales multiplier, and success odds)",
                          unit="log-sd", ge=0.0, le=3.0)
    region_value_share: dict[str, float] = P(
        {"CN": 0.07, "US": 0.48, "EU": 0.2, "JP": 0.07, "KR": 0.015, "SEA": 0.025, "MENA": 0.025, "IN": 0.01,
         "ROW": 0.085},
        "share of an asset's worldwide value earned in each market (China's is low: NRDL price cuts of "
        "57.6% on average; US prices many times China's)", unit="share", source="ARC25 (China pricing); assumption",
    )


# -------------------------------------------------------------------------- biotechs


class Biotechs(Strict):
    initial_runway_months: float = P(30.0, "mean months of cash at the start", unit="months", ge=0.0, le=240)
    overhead_usd: float = P(4e5, "monthly overhead of a biotech besides its programmes", unit="USD/month", ge=0)
    entry_per_year: float = P(0.17, "new biotechs founded per year at funding index 1, as a share of the "
                              "starting population", unit="share/year", ge=0.0, le=10.0)
    financing_trigger_months: float = P(18.0, "a biotech tries to raise money when its runway is below this",
                                        unit="months", ge=0.0, le=240)
    financing_pool_usd: float = P(12.3e9, "primary-financing capital investors put into Chinese biotechs per year at "
                                  "funding index 1 (2021: CNY 87.82B at 7.14 CNY/USD), founders' rounds included",
                                  unit="USD/year", source="ARC25", ge=0)
    financing_rate: float = P(0.35, "share of the biotechs seeking money that get in front of investors each month",
                              unit="share/month", ge=0.0, le=1.0)
    opportunistic_months: float = P(12.0, "extra runway months below which biotechs raise, per unit of the funding "
                                    "index (money is raised when it is cheap)", unit="months", ge=0.0, le=240)
    discovery_per_year: float = P(0.8, "new preclinical programmes a biotech starts per year at funding index 1",
                                  unit="programmes/year", ge=0.0, le=20)
    discovery_funding_elasticity: float = P(0.3, "elasticity of discovery to the funding index (preclinical "
                                            "work is cheap in China and went on through the capital winter)",
                                            unit="elasticity", ge=0.0, le=5.0, source="ARC25")
    own_novelty_value: dict[str, float] = P(
        {"first_in_class": 1.25, "best_in_class": 1.1, "fast_follower": 1.0, "me_too": 0.85},
        "how the biotech itself values novelty: flatter than buyers, since fast followers still earn in "
        "China's domestic market", unit="x", source="ARC25, RT23",
    )
    round_size_usd: float = P(1.4e7, "typical round at funding index 1 for a biotech whose best asset is in "
                              "phase 1 (2021: CNY 87.82B over 625 rounds)", unit="USD", source="ARC25", ge=0)
    round_size_stage_gain: float = P(0.3, "log-growth of round size per stage of the best asset", unit="per stage",
                                     ge=0.0, le=3.0)
    round_size_elasticity: float = P(0.6, "elasticity of round size to the funding index", unit="elasticity",
                                     ge=0.0, le=5.0)
    partnership_first_share: float = P(0.5, "share of biotechs whose strategy is partnership-first (vs IPO-first)",
                                       unit="share", ge=0.0, le=1.0, source="QM24")
    core_hold_stage: dict[str, str] = P(
        {"ipo_first": "phase3", "partnership_first": "phase2"},
        "stage a core asset is held to while cash allows, by strategy", unit="stage", source="QM24",
    )
    hold_runway_months: float = P(24.0, "core assets are held back while the runway is at least this",
                                  unit="months", ge=0.0, le=240, source="QM24")
    distress_runway_months: float = P(6.0, "below this runway a biotech sells at distress (global rights)",
                                      unit="months", ge=0.0, le=120)
    pause_runway_months: float = P(12.0, "below this runway non-core unlicensed programmes are paused",
                                   unit="months", ge=0.0, le=120)
    own_value_share: float = P(0.75, "the biotech's own value of ex-China rights relative to a global buyer's, "
                               "at the reference funding level", unit="share", ge=0.0, le=10.0)
    valuation_spread: float = P(0.5, "spread across biotechs of their own valuation of their programmes (founders' "
                                "and investors' optimism): each biotech's own value is the norm times a lognormal "
                                "draw with this log-sd", unit="log-sd", ge=0.0, le=3.0)
    own_value_stage_decay: float = P(
        0.8, "each stage after phase 1 multiplies the biotech's own value of ex-China rights by this: a Chinese "
        "biotech adds value to an early programme cheaply at home (trial cost 30-50%, 25-55% faster), but late "
        "development and launch abroad need global trials and a commercial presence it mostly lacks "
        "(independent globalization is the rarest of the four paths abroad)", unit="x per stage", ge=0.0, le=1.5,
        source="ARC25",
    )
    funding_reference: float = P(0.5, "funding index at which the own value equals own_value_share for every "
                                 "stage (the 2018-2019 climate)", unit="index", ge=0.01, le=10.0, source="ARC25")
    funding_outlook_months: float = P(0.0, "months ahead over which a biotech reads the funding climate when it prices "
                                    "its rights: the driver is the volume of rounds closed, and valuations move "
                                    "ahead of it (a round takes months to close), so an owner's own value follows "
                                    "the mean of the funding index over this month and the next ones (a fraction of a "
                                    "month weighs the last one by that fraction); 0 = this month's", unit="months", ge=0.0, le=36.0, source="QM24, RT23")
    funding_value_elasticity: dict[str, float] = P(
        {"preclinical": 1.2, "phase1": 0.9, "phase2": 0.6, "phase3": 0.4, "filed": 0.2, "approved": 0.1},
        "elasticity of the biotech's own value of its rights to the funding index, by stage: abundant capital "
        "funds early programmes (and IPO exits on them), so owners need not license; in a capital winter "
        "investors want clinical data, so early programmes lose most", unit="elasticity",
        source="QM24, RT23, ARC25",
    )
    gate_runway_months: float = P(12.0, "a biotech starts a new clinical phase of a programme only with this "
                                  "runway at the new burn; otherwise the programme waits at the gate",
                                  unit="months", ge=0.0, le=120, source="QM24, ARC25")
    paused_ask: float = P(0.5, "ask multiplier for a programme its owner has paused or cannot take into "
                          "its next phase for lack of cash (a stranded asset is worth less to its owner)", unit="x", ge=0.0, le=1.0, source="QM24")
    reservation_floor: float = P(0.3, "reservation price multiplier at zero runway (distress discount)",
                                 unit="x", ge=0.0, le=1.0)
    offer_rate: float = P(0.35, "monthly odds that an eligible asset is shopped, for BD capability 1 and "
                          "full cash need", unit="probability/month", ge=0.0, le=1.0)
    cash_need_months: float = P(36.0, "runway at which an IPO-first biotech stops needing to sell assets for cash; "
                                "shopping intensity = clip(1.2 - runway / this, 0.1, 1)", unit="months",
                                ge=1.0, le=240, source="QM24")
    regional_min_stage: str = P("phase3", "earliest stage at which regional rights are offered (ample data)",
                                unit="stage", source="RT23, QM24")


# ---------------------------------------------------------------------------- buyers


class Mnc(Strict):
    """Multinational pharma: top MNCs (named, with dated patent expiries) and mid-size pharma."""

    top_revenue_usd: float = P(45e9, "revenue of an unnamed top MNC", unit="USD/year", ge=0)
    mid_revenue_usd: float = P(3e9, "median revenue of a mid-size buyer", unit="USD/year", ge=0)
    bd_budget_share: float = P(0.012, "share of revenue spent per year on in-licensing upfronts (all sources)",
                               unit="share/year", ge=0.0, le=1.0)
    revenue_gap: float = P(0.2, "share of a buyer's revenue expiring within 5 years at patent-cliff index 1, "
                           "besides the named expiries in sim/data/mncs.yaml", unit="share", ge=0.0, le=1.0,
                           source="ARC25, EV")
    urgency_gain: float = P(1.5, "extra willingness to pay per unit of revenue gap (share of revenue expiring "
                            "within 5 years)", unit="x per share", ge=0.0, le=20.0, source="EV, ARC25")
    trust_spread: float = P(0.1, "spread of each buyer's trust around the trust driver", unit="sd", ge=0.0, le=1.0)
    trust_sensitivity: float = P(0.7, "value discount on China-only data at zero trust", unit="share",
                                 ge=0.0, le=1.0, source="RT23")
    data_weight: dict[str, float] = P(
        {"preclinical": 0.3, "phase1": 0.7, "phase2": 1.0, "phase3": 1.0, "filed": 1.0, "approved": 1.0},
        "weight of clinical data in an asset's value by stage: the trust discount scales with it",
        unit="share", source="RT23",
    )
    novelty_data_weight: dict[str, float] = P(
        {"first_in_class": 1.0, "best_in_class": 0.6, "fast_follower": 0.2, "me_too": 0.1},
        "weight of the originator's own evidence in an asset's value by novelty: a first-in-class asset's "
        "biology is shown only by China-generated data, a follower's target is validated elsewhere; the "
        "trust discount scales with the larger of this and the stage's data weight (2024: first-in-class "
        "deals broke the trust threshold)", unit="share", source="RT23, ARC25",
    )
    stage_appetite: dict[str, dict[str, float]] = P(
        {"US": {"preclinical": 0.3, "phase1": 0.6, "phase2": 1.0, "phase3": 0.9, "filed": 0.8, "approved": 0.6}, "EU": {"preclinical": 0.1, "phase1": 0.25, "phase2": 1.0, "phase3": 1.0, "filed": 0.9, "approved": 0.7}, "JP": {"preclinical": 0.08, "phase1": 0.25, "phase2": 1.0, "phase3": 1.0, "filed": 1.0, "approved": 0.8}},
        "willingness to buy by stage for a buyer of each home culture (UK, CH as EU; KR as JP); "
        "US buys earliest, EU/JP/KR wait for phase 2 proof of concept", unit="x", source="RT23",
    )
    externalisation_gain: float = P(5.0, "log-lift of appetite for preclinical assets per unit of the "
                                    "R&D-externalisation driver above 0.4 (externalisation_phase1 of it for phase 1)",
                                    unit="log per share", ge=0.0, le=20.0, source="ARC25")
    externalisation_phase1: float = P(0.5, "share of the preclinical log-lift from R&D externalisation that phase 1 "
                                      "appetite gets (0: cutting internal research is replaced by buying research "
                                      "only; 1: by buying early clinical assets as much)", unit="share", ge=0.0, le=1.0)
    mid_commercial_reach: float = P(0.7, "a mid-size buyer's peak sales of an asset relative to a top MNC's "
                                    "(global launch capability)", unit="x", ge=0.0, le=2.0)
    materiality_usd: float = P(0.0, "smallest worldwide peak sales a top MNC's BD team pursues: a programme too small "
                               "to move a large company's revenue gap is left to mid-size buyers (0 = none)",
                               unit="USD/year", ge=0.0, le=2e10)
    hurdle: float = P(0.4, "surplus over price, as a share of value, that a China deal must offer to beat "
                      "sourcing elsewhere", unit="share", ge=0.0, le=1.0)
    top_deals_per_year: float = P(3.0, "BD capacity of a top MNC: new China diligence starts per year",
                                  unit="deals/year", ge=0.0, le=100)
    mid_deals_per_year: float = P(0.8, "BD capacity of a mid-size buyer", unit="deals/year", ge=0.0, le=100)
    attention: float = P(0.022, "share of the shopped assets in its focus areas that a buyer's BD team screens "
                         "closely each month (search friction)", unit="share/month", ge=0.0, le=1.0)
    scouting: float = P(0.35, "attention to assets outside its focus areas, relative to those inside", unit="x",
                        ge=0.0, le=1.0)


class Incubators(Strict):
    fund_usd: float = P(400e6, "capital of an incubator's fund at US venture index 1", unit="USD", ge=0)
    max_stage: str = P("phase1", "latest stage an incubator buys", unit="stage", source="RT23, QM24")
    equity_share: float = P(0.2, "NewCo equity given to the licensor", unit="share", ge=0.0, le=1.0, source="QM24")
    exit_stage: str = P("phase2", "stage at which the NewCo sells or partners the asset (proof of concept)",
                        unit="stage", source="RT23")
    deals_per_year: float = P(1.5, "NewCos an incubator can start per year at US venture index 1",
                              unit="deals/year", ge=0.0, le=100)
    speed: float = P(0.85, "NewCo development durations relative to typical", unit="x", ge=0.1, le=3.0)


class Regional(Strict):
    revenue_usd: float = P(1.5e9, "median revenue of a regional licensee", unit="USD/year", ge=0)
    deals_per_year: float = P(1.0, "regional deals a licensee can start per year", unit="deals/year", ge=0.0, le=100)
    bridging_months: float = P(15.0, "months from regional licence to launch (Saudi: 12-18 with a small "
                               "bridging study)", unit="months", ge=0.0, le=120, source="RT23")


# ---------------------------------------------------------------------------- market


class Market(Strict):
    warmup_months: int = P(12, "months the market runs at the start's drivers before the first recorded month, "
                           "so the start opens with deals in talks and contracts in force (burn-in)",
                           unit="months", ge=0, le=120)
    discount_rate: float = P(0.10, "buyers' annual discount rate", unit="per year", ge=0.0, le=1.0)
    product_value_multiple: float = P(1.5, "value of a launched product as a multiple of its peak sales",
                                      unit="x", ge=0.0, le=50)
    quality_noise: float = P(0.25, "noise in a buyer's read of asset quality before diligence", unit="log-sd",
                             ge=0.0, le=3.0)
    diligence_months: float = P(9.0, "median months from first talks to signing", unit="months", ge=0.0,
                                le=60, source="RT23")
    cool_market_months: float = P(4.0, "extra diligence months, per normal diligence, when the funding index "
                                  "is 0: talks slow while the market is cool (median ~12 in a cool market)", unit="months", ge=0.0, le=60, source="RT23")
    diligence_stage_factor: dict[str, float] = P(
        {"preclinical": 0.8, "phase1": 0.9, "phase2": 1.0, "phase3": 1.1, "filed": 1.1, "approved": 1.1},
        "diligence time relative to the median, by stage: more data takes longer to check", unit="x",
    )
    diligence_novelty_factor: dict[str, float] = P(
        {"first_in_class": 1.3, "best_in_class": 1.1, "fast_follower": 0.95, "me_too": 0.85},
        "diligence time relative to the median, by novelty: first-in-class assets are slower to close "
        "(unvalidated biology to check)", unit="x", source="RT23",
    )
    diligence_fail: float = P(0.12, "chance diligence fails on grounds other than trust", unit="probability",
                              ge=0.0, le=1.0)
    diligence_distrust_fail: float = P(0.35, "extra chance diligence fails per unit of distrust (1 - the buyer's "
                                       "trust, times the asset's reliance on China-only data, as in "
                                       "market.upfront_distrust): due diligence can kill a deal over non-compliant "
                                       "data", unit="probability", ge=0.0, le=1.0, source="RT23")
    negotiation_room: float = P(0.25, "how far below its opening ask a buyer expects a seller to come during talks: "
                                "talks open when the ask is within this share above what the buyer would pay; terms "
                                "settle at signing against the seller's ask then", unit="share", ge=0.0, lt=1.0)
    seller_power: float = P(0.4, "seller's share of the bargaining surplus with a single bidder", unit="share",
                            ge=0.0, le=1.0)
    upfront_share: dict[str, float] = P(
        {"preclinical": 0.2, "phase1": 0.22, "phase2": 0.25, "phase3": 0.3, "filed": 0.4, "approved": 0.5},
        "share of the risk-adjusted price paid upfront; the rest is contingent milestones", unit="share",
    )
    upfront_distrust: float = P(0.0, "how far a buyer moves payment from upfront cash into milestones for what it "
                                "must take on trust: the upfront share is the stage's share times (1 - distrust) "
                                "to this power, where distrust = (1 - the buyer's trust) x the asset's reliance on "
                                "China-only data (mnc.data_weight, mnc.novelty_data_weight; a fifth of that for a "
                                "global data package); milestones are paid only if the data hold up (risk "
                                "sharing); 0 = terms do not depend on trust", unit="power", ge=0.0, le=5.0,
                                source="RT23, AI25")
    royalty_rate: dict[str, float] = P(
        {"preclinical": 0.06, "phase1": 0.08, "phase2": 0.11, "phase3": 0.14, "filed": 0.16, "approved": 0.18},
        "royalty on the licensee's net sales", unit="share",
    )
    licensee_cost_share: float = P(0.6, "share of development cost the licensee bears after signing",
                                   unit="share", ge=0.0, le=1.0)
    termination_hazard: float = P(0.012, "yearly chance a licensee returns rights for strategy reasons, for a deal "
                                  "signed at phase 2", unit="per year", ge=0.0, le=1.0, source="RT23, QM24")
    termination_stage_decay: float = P(0.6, "termination hazard multiplier per stage later at signing (later "
                                       "deals are terminated less)", unit="x per stage", ge=0.0, le=2.0,
                                       source="QM24")
    co_development_propensity: float = P(0.35, "chance a cash-healthy seller of a core clinical asset takes "
                                         "co-development terms", unit="probability", ge=0.0, le=1.0, source="QM24")
    sales_milestone_share: float = P(0.35, "share of milestones tied to sales (paid after approval)", unit="share",
                                     ge=0.0, le=1.0)


# -------------------------------------------------------------------------- scenario


class Scenario(Strict):
    """A complete scenario. Only ``name`` is required; everything else has a documented default."""

    name: str = P(..., "short name; outputs go to results/<name>/", unit="text", min_length=1, max_length=80,
                  pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = P("", "what question the scenario answers", unit="text")
    extends: str | None = P(None, "scenario this one inherits from: a path relative to this file, an absolute "
                            "path, or a shipped scenario's name", unit="path")
    start: YearMonth = P("2018-01", "first simulated month", unit="YYYY-MM")
    end: YearMonth = P("2030-12", "last simulated month", unit="YYYY-MM")
    seed: int = P(20180101, "root seed when none is given on the command line", unit="integer", ge=0)
    population: Population = Population()
    drivers: Drivers = Drivers()
    assets: Assets = Assets()
    biotech: Biotechs = Biotechs()
    mnc: Mnc = Mnc()
    incubator: Incubators = Incubators()
    regional: Regional = Regional()
    market: Market = Market()

    @model_validator(mode="after")
    def _check(self) -> "Scenario":
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}; end must be on or after start")
        _check_keys(self.assets.initial_stage_mix, STAGES, "assets.initial_stage_mix")
        _check_keys(self.assets.area_mix, AREAS, "assets.area_mix")
        _check_keys(self.assets.modality_mix, MODALITIES, "assets.modality_mix")
        _check_keys(self.assets.novelty_mix, NOVELTIES, "assets.novelty_mix")
        _check_keys(self.assets.novelty_value, NOVELTIES, "assets.novelty_value", complete=True)
        _check_keys(self.assets.success, STAGES[:-1], "assets.success", complete=True)
        _check_keys(self.assets.duration_months, STAGES[:-1], "assets.duration_months", complete=True)
        _check_keys(self.assets.monthly_cost_usd, STAGES, "assets.monthly_cost_usd", complete=True)
        _check_keys(self.assets.area_success, AREAS, "assets.area_success", complete=True)
        _check_keys(self.assets.peak_sales_usd, AREAS, "assets.peak_sales_usd", complete=True)
        _check_keys(self.assets.region_value_share, REGIONS, "assets.region_value_share", complete=True)
        _check_keys(self.market.upfront_share, STAGES, "market.upfront_share", complete=True)
        _check_keys(self.mnc.data_weight, STAGES, "mnc.data_weight", complete=True)
        _check_keys(self.mnc.novelty_data_weight, NOVELTIES, "mnc.novelty_data_weight", complete=True)
        _check_keys(self.market.diligence_stage_factor, STAGES, "market.diligence_stage_factor", complete=True)
        _check_keys(self.market.diligence_novelty_factor, NOVELTIES, "market.diligence_novelty_factor",
                    complete=True)
        _check_keys(self.biotech.funding_value_elasticity, STAGES, "biotech.funding_value_elasticity",
                    complete=True)
        _check_keys(self.biotech.own_novelty_value, NOVELTIES, "biotech.own_novelty_value", complete=True)
        _check_keys(self.market.royalty_rate, STAGES, "market.royalty_rate", complete=True)
        for culture, table in self.mnc.stage_appetite.items():
            if culture not in ("US", "EU", "JP"):
                raise ValueError(f"mnc.stage_appetite.{culture}: unknown buyer culture; allowed US, EU, JP")
            _check_keys(table, STAGES, f"mnc.stage_appetite.{culture}", complete=True)
        for field, value in [("biotech.regional_min_stage", self.biotech.regional_min_stage),
                             ("incubator.max_stage", self.incubator.max_stage),
                             ("incubator.exit_stage", self.incubator.exit_stage),
                             *[(f"biotech.core_hold_stage.{k}", v) for k, v in self.biotech.core_hold_stage.items()]]:
            if value not in STAGES:
                raise ValueError(f"{field}: {value!r} is not a stage; allowed {', '.join(STAGES)}")
        _check_keys(self.biotech.core_hold_stage, ["ipo_first", "partnership_first"], "biotech.core_hold_stage",
                    complete=True)
        for table, label in [(self.assets.success, "assets.success"),
                             (self.market.upfront_share, "market.upfront_share"),
                             (self.market.royalty_rate, "market.royalty_rate"),
                             (self.mnc.data_weight, "mnc.data_weight"),
                             (self.mnc.novelty_data_weight, "mnc.novelty_data_weight")]:
            for k, v in table.items():
                if not 0.0 <= v <= 1.0:
                    raise ValueError(f"{label}.{k} = {v}; allowed 0 to 1")
        for table, label in [(self.assets.duration_months, "assets.duration_months"),
                             (self.assets.monthly_cost_usd, "assets.monthly_cost_usd"),
                             (self.assets.peak_sales_usd, "assets.peak_sales_usd"),
                             (self.assets.novelty_value, "assets.novelty_value"),
                             (self.assets.area_success, "assets.area_success"),
                             (self.assets.region_value_share, "assets.region_value_share"),
                             (self.biotech.funding_value_elasticity, "biotech.funding_value_elasticity"),
                             (self.market.diligence_stage_factor, "market.diligence_stage_factor"),
                             (self.market.diligence_novelty_factor, "market.diligence_novelty_factor"),
                             *[(t, f"mnc.stage_appetite.{c}") for c, t in self.mnc.stage_appetite.items()]]:
            for k, v in table.items():
                if v < 0:
                    raise ValueError(f"{label}.{k} = {v}; allowed 0 or more")
        for table, label in [(self.assets.initial_stage_mix, "assets.initial_stage_mix"),
                             (self.assets.area_mix, "assets.area_mix"),
                             (self.assets.modality_mix, "assets.modality_mix"),
                             (self.assets.novelty_mix, "assets.novelty_mix")]:
            if any(v < 0 for v in table.values()) or sum(table.values()) <= 0:
                raise ValueError(f"{label}: weights must be non-negative with a positive sum")
        return self


def _check_keys(table: dict[str, Any], allowed: list[str], label: str, complete: bool = False) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise ValueError(f"{label}.{unknown[0]}: unknown key; allowed {', '.join(allowed)}")
    if complete:
        missing = [k for k in allowed if k not in table]
        if missing:
            raise ValueError(f"{label}: missing {', '.join(missing)}; every one of {', '.join(allowed)} is needed")


def parameter_table() -> list[dict[str, str]]:
    """Every parameter with its path, default, unit, source and meaning (for docs and `licsim params`)."""
    rows: list[dict[str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            ann = field.annotation
            path = f"{prefix}{name}"
            if isinstance(ann, type) and issubclass(ann, BaseModel) and not issubclass(ann, Driver):
                walk(ann, path + ".")
                continue
            extra = field.json_schema_extra or {}
            default = field.get_default(call_default_factory=True)
            if isinstance(default, BaseModel):
                default = default.model_dump()
            rows.append({"path": path, "default": repr(default) if default is not ... else "(required)",
                         "unit": str(extra.get("unit", "")), "source": str(extra.get("source", "")),
                         "meaning": field.description or ""})

    walk(Scenario, "")
    return rows
