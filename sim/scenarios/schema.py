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

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from sim.limits import FIRST_YEAR, LAST_YEAR, MAX_SEED, MAX_SPAN_MONTHS


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


#: The first line of a scenario file that points YAML editors (yaml-language-server) to its JSON Schema.
MODELINE = "# yaml-language-server: $schema=scenario.schema.json"

YearMonth = Annotated[str, BeforeValidator(_year_month)]

#: A name that is also a folder name: results/<name>/ (no path, no leading dot, no "." or "..").
FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,79}")


def check_folder_name(value: str) -> str:
    """``value`` if it is a safe folder name, else ValueError saying what is allowed."""
    if not FOLDER_NAME.fullmatch(value):
        raise ValueError(f"{value[:40]!r} is not allowed; a name is 1 to 80 letters, digits, '_', '-' or '.', "
                         "starting with a letter or digit (it names the output folder)")
    return value


def month_index(ym: str) -> int:
    """Months since year 0 for a 'YYYY-MM' string (used for date arithmetic)."""
    y, m = ym.split("-")
    return int(y) * 12 + int(m) - 1


def P(default: Any, description: str, *, unit: str = "", source: str = "assumption", **kw: Any) -> Any:
    """A documented parameter: default, meaning, unit and source in one place."""
    return Field(default, description=description, json_schema_extra={"unit": unit, "source": source}, **kw)


class Strict(BaseModel):
    # allow_inf_nan=False: NaN and infinities are refused in every number of a scenario
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

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
    """A time series: dated points joined by straight lines, flat after the last point (or one constant level)."""

    points: dict[YearMonth, float] = P({}, "dated values; between them linear, after the last held flat (needed "
                                       "unless constant is set)", unit="index")
    scale: float = P(1.0, "multiplier applied to every point (for experiments)", unit="x", ge=0.0, le=100.0)
    shocks: list[Shock] = P([], "dated shocks added on top of the series")
    constant: float | None = P(None, "hold the driver at this one level every month instead of following its "
                                  "points (so a scenario that extends another can hold a driver flat); scale and "
                                  "shocks still apply", unit="index")

    lower: ClassVar[float] = 0.0
    upper: ClassVar[float] = float("inf")

    @model_validator(mode="after")
    def _check_points(self) -> "Driver":
        if not self.points and self.constant is None:
            raise ValueError("needs at least one dated point, or a constant")
        for key, value in self.points.items():
            if not (self.lower <= value <= self.upper):
                raise ValueError(
                    f"point {key} = {value} is out of range; allowed {self.lower:g} to {self.upper:g}"
                )
        if self.constant is not None and not (self.lower <= self.constant <= self.upper):
            raise ValueError(f"constant = {self.constant} is out of range; allowed {self.lower:g} to {self.upper:g}")
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


def _check_keys(table: dict[str, Any], allowed: list[str], label: str, complete: bool = False) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        raise ValueError(f"{label}.{unknown[0]}: unknown key; allowed {', '.join(allowed)}")
    if complete:
        missing = [k for k in allowed if k not in table]
        if missing:
            raise ValueError(f"{label}: missing {', '.join(missing)}; every one of {', '.join(allowed)} is needed")


def _check_weights(table: dict[str, float], label: str) -> None:
    if any(not (v >= 0) for v in table.values()) or sum(table.values()) <= 0:
        raise ValueError(f"{label}: weights must be non-negative with a positive sum")


def _check_range(table: dict[str, float], label: str, lo: float, hi: float | None) -> None:
    for k, v in table.items():
        if not (v >= lo and (hi is None or v <= hi)):
            allowed = f"{lo:g} to {hi:g}" if hi is not None else f"{lo:g} or more"
            raise ValueError(f"{label}.{k} = {v}; allowed {allowed}")


def _check_monotone(table: dict[str, float], order: list[str], label: str, rising: bool) -> None:
    values = [table[k] for k in order if k in table]
    pairs = list(zip(values, values[1:]))
    if any((b < a) if rising else (b > a) for a, b in pairs):
        word = "rise" if rising else "fall"
        raise ValueError(f"{label}: values must {word} along {', '.join(order)}")


def _check_stage(value: str, label: str) -> None:
    if value not in STAGES:
        raise ValueError(f"{label}: {value!r} is not a stage; allowed {', '.join(STAGES)}")


# ----------------------------------------------------------------------- populations


class Population(Strict):
    biotechs: int = P(260, "Chinese companies with novel-drug pipelines at the start (2018: 301 in the 2019 "
                      "Pharmaprojects review, up 15% on a year before)", unit="firms",
                      source="Citeline Pharma R&D Annual Review 2019 (via secondary), derived", ge=1, le=20000)
    top_mncs: int = P(20, "top multinational pharma (the named patent-cliff MNCs first)", unit="firms", source="EV",
                      ge=0, le=40)
    mid_size: int = P(70, "mid-size pharma and biotech buyers (60% of 2023 counterparties)", unit="firms",
                      source="RT23", ge=0, le=2000)
    incubators: int = P(10, "US incubators / NewCo builders", unit="firms", ge=0, le=500)
    regional: int = P(25, "regional licensees (JP, KR, SEA, MENA, IN)", unit="firms", ge=0, le=500)


# ---------------------------------------------------------------------------- assets


class Assets(Strict):
    """Drug programmes: what they are, how they develop, what they are worth."""

    per_biotech: float = P(4.6, "mean pipeline of a company at the start (1 + Poisson): about 1,190 China-originated "
                           "pipeline drugs in 2018 (7.8% of 15,267) over about 260 companies", unit="assets",
                           source="McKinsey 2021; Citeline 2019 (derived)", ge=1.0, le=50)
    initial_stage_mix: dict[str, float] = P(
        {"preclinical": 0.45, "phase1": 0.25, "phase2": 0.12, "phase3": 0.10, "filed": 0.03, "approved": 0.05},
        "stage mix of the pipeline at the start (2017: about 80 of 800 molecules in phase 3)", unit="weights",
        source="McKinsey via Pacific Bridge Medical (phase 3 share); assumption (rest)",
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
        "novelty mix of programmes started by an inexperienced ecosystem (2015: 9 Chinese first-in-class "
        "clinical candidates)", unit="weights", source="SinoDrugWatch (first-in-class count); assumption",
    )
    global_data_share: float = P(0.08, "share of new programmes with a global-standard data package before "
                                 "learning", unit="share", ge=0.0, le=1.0)
    core_share: float = P(0.4, "share of a biotech's programmes that are core (held to later stages)", unit="share",
                          source="QM24", ge=0.0, le=1.0)
    core_value_tilt: float = P(3.0, "how strongly a biotech makes its most promising programmes its core ones: the "
                               "core_share with the highest tilt * log(potential) + N(0,1) are core", unit="x",
                               ge=0.0, le=20.0)
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
    quality_success_gain: float = P(0.25, "log-odds multiplier of stage success per unit of latent quality",
                                    unit="per sd", ge=0.0, le=2.0)
    success_cap: float = P(0.97, "highest chance any stage succeeds", unit="probability", ge=0.5, le=1.0)
    duration_months: dict[str, float] = P(
        {"preclinical": 20.0, "phase1": 27.6, "phase2": 43.2, "phase3": 39.6, "filed": 15.6},
        "typical months in each stage (phase 1 2.3 y, phase 2 3.6 y, phase 3 3.3 y, review 1.3 y)",
        unit="months", source="BIO21",
    )
    duration_spread: float = P(0.25, "spread of a stage's duration around the typical", unit="log-sd", ge=0.0, le=2.0)
    china_speed: float = P(0.7, "China-run preclinical-phase 2 durations relative to typical (25-55% faster)",
                           unit="x", source="ARC25", ge=0.1, le=2.0)
    monthly_cost_usd: dict[str, float] = P(
        {"preclinical": 1e5, "phase1": 2.5e5, "phase2": 6e5, "phase3": 1.5e6, "filed": 3e5, "approved": 0.0},
        "development cost per month of a China-run programme: about two trials a stage at 30-50% of US per-trial "
        "costs (US oncology trials: phase 1 $4.5M, phase 2 $11.2M, phase 3 $22.1M)", unit="USD/month",
        source="assumption, from Sertkaya et al. 2016 (Clinical Trials 13:117) and ARC25 (China 30-50%)",
    )
    peak_sales_usd: dict[str, float] = P(
        {"oncology": 9e8, "immunology": 8e8, "cardiometabolic": 8e8, "other": 4e8},
        "median worldwide peak sales of an approved drug by area, before novelty and quality", unit="USD/year",
    )
    novelty_value: dict[str, float] = P(
        {"first_in_class": 1.8, "best_in_class": 1.35, "fast_follower": 0.75, "me_too": 0.35},
        "peak-sales multiplier by novelty (buyers pay for differentiation)", unit="x", source="RT23 (ordering)",
    )
    quality_sd: float = P(0.5, "spread of latent quality (log peak-sales multiplier)", unit="log-sd", ge=0.0, le=3.0)
    region_value_share: dict[str, float] = P(
        {"CN": 0.07, "US": 0.48, "EU": 0.2, "JP": 0.07, "KR": 0.015, "SEA": 0.025, "MENA": 0.025, "IN": 0.01,
         "ROW": 0.085},
        "share of an asset's worldwide value earned in each market (China's is low: NRDL price cuts of "
        "57.6% on average; US prices many times China's)", unit="share", source="ARC25 (China pricing); assumption",
    )
    china_margin: float = P(0.4, "share of China sales an originator keeps after cost of goods and selling",
                            unit="share", ge=0.0, le=1.0)
    launch_ramp_months: float = P(60.0, "months from approval to peak sales (linear ramp)", unit="months", ge=1.0,
                                  le=240)
    exclusivity_months: float = P(168.0, "months a product sells after approval before it loses exclusivity "
                                  "(Keytruda: approved Sept 2014, exclusivity to Dec 2028)", unit="months",
                                  source="EV (dates); FDA approval date", ge=12.0, le=480)

    def _tables(self) -> "Assets":
        for label, allowed in [("initial_stage_mix", STAGES), ("area_mix", AREAS), ("modality_mix", MODALITIES),
                               ("novelty_mix", NOVELTIES)]:
            _check_keys(getattr(self, label), allowed, f"assets.{label}")
            _check_weights(getattr(self, label), f"assets.{label}")
        for label, allowed in [("novelty_value", NOVELTIES), ("success", STAGES[:-1]),
                               ("duration_months", STAGES[:-1]), ("monthly_cost_usd", STAGES),
                               ("area_success", AREAS), ("peak_sales_usd", AREAS), ("region_value_share", REGIONS)]:
            _check_keys(getattr(self, label), allowed, f"assets.{label}", complete=True)
            _check_range(getattr(self, label), f"assets.{label}", 0.0, 1.0 if label == "success" else None)
        _check_monotone(self.novelty_value, NOVELTIES, "assets.novelty_value", rising=False)
        return self


# ---------------------------------------------------------------------------- sector


class Sector(Strict):
    """How the Chinese biotech sector grows: entry, discovery and learning."""

    entry_per_year: float = P(60.0, "biotechs founded per year at funding index 1 (they enter with a first "
                              "programme; BCG: >140 formed 2010-2020, most of them after 2015)", unit="firms/year",
                              source="fitted", ge=0.0, le=5000)
    entry_funding_elasticity: float = P(0.5, "elasticity of foundings to the (lagged) funding index: founding a "
                                        "biotech needs founders and science as well as money, so entry responds "
                                        "less than one for one and more money also lengthens existing firms' lives",
                                        unit="elasticity", ge=0.0, le=1.0)
    entry_lag_months: float = P(18.0, "months from the financing climate that funds a founding to the firm "
                                "holding a programme it could license (seed round, lead candidate)",
                                unit="months", source="assumption", ge=0.0, le=60)
    entrant_phase1_share: float = P(0.15, "share of entrants' first programmes already in phase 1 (spun out or "
                                    "in-licensed)", unit="share", ge=0.0, le=1.0)
    discovery_per_year: float = P(0.8, "new preclinical programmes a biotech with runway starts per year at funding "
                                  "index 1", unit="programmes/year", source="fitted", ge=0.0, le=20)
    discovery_funding_elasticity: float = P(0.5, "elasticity of discovery to the funding index", unit="elasticity",
                                            ge=0.0, le=3.0)
    learning_rate: float = P(1.0, "innovation a mature ecosystem reaches through clinical experience (half of it at "
                             "experience_scale readouts): tilts new programmes toward first/best-in-class, raises "
                             "quality, speed and global data",
                             unit="per log-unit", source="assumption", ge=0.0, le=3.0)
    experience_scale: float = P(300.0, "clinical readouts (phase 2 or later) at which half of learning_rate is reached",
                                unit="readouts", ge=1.0, le=1e5)
    experience_memory_months: float = P(120.0, "months over which clinical experience fades (exponential memory): "
                                        "know-how leaves with people and teams, so experience, and learning with it, "
                                        "settles when readouts do (organisational forgetting, Argote, Beckman and "
                                        "Epple 1990, for the direction; the length is an assumption)", unit="months",
                                        source="assumption", ge=1.0, le=1200)
    learning_quality: float = P(0.3, "rise of new programmes' mean latent quality per unit of innovation",
                                unit="sd per unit", ge=0.0, le=2.0)
    learning_speed: float = P(0.1, "fall of China-run development time per unit of innovation (log)",
                              unit="log per unit", ge=0.0, le=1.0)
    learning_global_data: float = P(0.5, "rise of the share of programmes with global data per unit of innovation "
                                    "(log)", unit="log per unit", ge=0.0, le=3.0)


# -------------------------------------------------------------------------- biotechs


class Biotechs(Strict):
    initial_runway_months: float = P(30.0, "mean months of cash at the start", unit="months", ge=1.0, le=240)
    entrant_runway_months: float = P(24.0, "months of cash a new biotech's seed round buys", unit="months",
                                     ge=1.0, le=240)
    overhead_usd: float = P(2e5, "monthly overhead of a biotech besides its programmes", unit="USD/month", ge=0,
                            le=1e8)
    financing_pool_usd: float = P(12.3e9, "primary-financing capital investors put into Chinese biotechs per year at "
                                  "funding index 1 (2021: CNY 87.82B at 7.14 CNY/USD), founders' rounds included",
                                  unit="USD/year", source="ARC25", ge=0, le=1e12)
    financing_trigger_months: float = P(18.0, "a biotech tries to raise money when its runway is below this",
                                        unit="months", ge=0.0, le=240)
    opportunistic_months: float = P(12.0, "extra runway months below which biotechs raise, per unit of the expected "
                                    "funding index (money is raised when it is cheap)", unit="months", ge=0.0, le=240)
    financing_rate: float = P(0.35, "share of the biotechs seeking money that get in front of investors each month",
                              unit="share/month", source="assumption", ge=0.0, le=1.0)
    round_size_usd: float = P(1.4e7, "typical round at funding index 1 for a biotech whose best asset is in "
                              "phase 1 (2021: CNY 87.82B over 625 rounds)", unit="USD", source="ARC25", ge=0, le=1e10)
    investor_quality_weight: float = P(0.5, "weight investors give the quality of a biotech's best programme, "
                                       "against one stage of development, when they choose whom to fund",
                                       unit="stages per sd", ge=0.0, le=5.0)
    investor_ipo_preference: float = P(0.3, "investors' preference for IPO-first biotechs, in stages of development",
                                       unit="stages", ge=0.0, le=5.0)
    round_size_stage_gain: float = P(0.3, "log-growth of round size per stage of the best asset", unit="per stage",
                                     ge=0.0, le=3.0)
    round_size_elasticity: float = P(0.6, "elasticity of round size to the funding index", unit="elasticity",
                                     ge=0.0, le=3.0)
    round_size_spread: float = P(0.4, "spread of round sizes", unit="log-sd", ge=0.0, le=2.0)
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
    cash_hold_months: float = P(60.0, "most months of burn a biotech keeps in cash: product and royalty income "
                                "beyond it goes to its shareholders (distribution), so a firm with products does not "
                                "hoard without limit", unit="months", ge=12.0, le=600)
    gate_runway_months: float = P(12.0, "a biotech starts a new clinical phase only with this runway at the new "
                                  "burn; otherwise the programme waits at the gate", unit="months", ge=0.0, le=120,
                                  source="QM24, ARC25")
    own_value_share: float = P(0.7, "the biotech's own value of ex-China rights relative to a global buyer's, "
                               "at the reference funding level, for a programme up to phase 1", unit="share",
                               source="fitted", ge=0.05, le=1.0)
    own_value_stage_decay: float = P(0.8, "each stage after phase 1 multiplies the own value by this: late "
                                     "development and launch abroad need global trials and a commercial presence a "
                                     "Chinese biotech mostly lacks", unit="x per stage", source="ARC25 (direction)",
                                     ge=0.3, le=1.0)
    funding_value_elasticity: float = P(1.0, "elasticity of the biotech's own value of a preclinical programme to the "
                                        "expected funding index: abundant capital funds early programmes, so owners "
                                        "need not license", unit="elasticity", source="fitted", ge=0.0, le=3.0)
    funding_elasticity_stage_decay: float = P(0.7, "each stage multiplies that elasticity by this (investors in a "
                                              "winter still fund clinical data)", unit="x per stage", ge=0.0, le=1.0,
                                              source="QM24 (direction)")
    funding_reference: float = P(0.5, "funding index at which the own value equals own_value_share (the "
                                 "2018-2019 climate)", unit="index", ge=0.01, le=10.0, source="ARC25")
    own_novelty_value: dict[str, float] = P(
        {"first_in_class": 1.25, "best_in_class": 1.1, "fast_follower": 1.0, "me_too": 0.85},
        "how the biotech itself values novelty: flatter than buyers, since fast followers still earn in "
        "China's domestic market", unit="x",
    )
    valuation_spread: float = P(0.3, "spread across biotechs of their own valuation of their programmes (founders' "
                                "and investors' optimism)", unit="log-sd", ge=0.0, le=0.6)
    paused_ask: float = P(0.7, "ask multiplier for a programme its owner cannot fund into its next phase",
                          unit="x", ge=0.0, le=1.0, source="QM24 (direction)")
    reservation_floor: float = P(0.3, "reservation price multiplier at zero runway (distress discount)",
                                 unit="x", ge=0.0, le=1.0)
    offer_rate: float = P(0.35, "monthly odds that an eligible asset is shopped, for BD capability 1 and "
                          "full cash need", unit="probability/month", source="fitted", ge=0.0, le=1.0)
    cash_need_months: float = P(36.0, "runway at which an IPO-first biotech stops needing to sell assets for cash; "
                                "shopping intensity = clip(1.2 - runway / this, 0.1, 1)", unit="months",
                                ge=1.0, le=240, source="QM24")
    regional_min_stage: str = P("phase3", "earliest stage at which regional rights are offered (ample data)",
                                unit="stage", source="RT23, QM24")

    def _tables(self) -> "Biotechs":
        _check_keys(self.own_novelty_value, NOVELTIES, "biotech.own_novelty_value", complete=True)
        _check_range(self.own_novelty_value, "biotech.own_novelty_value", 0.0, None)
        _check_keys(self.core_hold_stage, ["ipo_first", "partnership_first"], "biotech.core_hold_stage",
                    complete=True)
        for key, value in self.core_hold_stage.items():
            _check_stage(value, f"biotech.core_hold_stage.{key}")
        _check_stage(self.regional_min_stage, "biotech.regional_min_stage")
        return self


# ---------------------------------------------------------------------------- buyers


class Mnc(Strict):
    """Multinational pharma: top MNCs (named, with dated patent expiries) and mid-size pharma."""

    top_revenue_usd: float = P(45e9, "revenue of an unnamed top MNC", unit="USD/year", ge=0, le=1e12)
    mid_revenue_usd: float = P(3e9, "median revenue of a mid-size buyer", unit="USD/year", ge=0, le=1e12)
    mid_revenue_spread: float = P(0.6, "spread of mid-size buyers' revenues", unit="log-sd", ge=0.0, le=2.0)
    bd_budget_share: float = P(0.02, "share of revenue allocated per year to in-licensing payments (upfronts and "
                               "milestones) at no revenue gap", unit="share/year", source="fitted", ge=0.0, le=0.2)
    budget_carry_months: float = P(24.0, "months of budget a BD account may hold; more goes back to the company",
                                   unit="months", ge=1.0, le=240)
    revenue_gap: float = P(0.2, "share of a buyer's revenue expiring within 5 years at patent-cliff index 1; named "
                           "MNCs are spread around it by their own expiries in sim/data/mncs.yaml", unit="share",
                           ge=0.0, le=1.0, source="ARC25, EV")
    gap_budget_elasticity: float = P(1.0, "extra BD budget per unit of revenue gap (budget x (1 + this x gap))",
                                     unit="x per share", source="assumption", ge=0.0, le=5.0)
    gap_capacity_elasticity: float = P(1.0, "extra BD capacity and search effort per unit of revenue gap", unit="x per share",
                                       ge=0.0, le=5.0)
    urgency_gain: float = P(1.0, "extra willingness to pay per unit of revenue gap", unit="x per share",
                            source="assumption", ge=0.0, le=5.0)
    trust_spread: float = P(0.1, "spread of each buyer's trust around the market's", unit="sd", ge=0.0, le=1.0)
    trust_sensitivity: float = P(0.7, "value discount on China-only data at zero trust", unit="share",
                                 source="assumption", ge=0.0, le=1.0)
    data_weight: dict[str, float] = P(
        {"preclinical": 0.3, "phase1": 0.7, "phase2": 1.0, "phase3": 1.0, "filed": 1.0, "approved": 1.0},
        "weight of clinical data in an asset's value by stage: the trust discount scales with it",
        unit="share", source="RT23 (direction)",
    )
    novelty_data_weight: dict[str, float] = P(
        {"first_in_class": 1.0, "best_in_class": 0.6, "fast_follower": 0.2, "me_too": 0.1},
        "weight of the originator's own evidence by novelty: a first-in-class asset's biology is shown only by "
        "China-generated data", unit="share", source="RT23, ARC25 (direction)",
    )
    global_data_reliance: float = P(0.2, "reliance on China-only data left for a programme with a global data "
                                    "package", unit="share", ge=0.0, le=1.0)
    stage_appetite: dict[str, dict[str, float]] = P(
        {"US": {"preclinical": 0.3, "phase1": 0.6, "phase2": 1.0, "phase3": 0.9, "filed": 0.8, "approved": 0.6},
         "EU": {"preclinical": 0.1, "phase1": 0.25, "phase2": 1.0, "phase3": 1.0, "filed": 0.9, "approved": 0.7},
         "JP": {"preclinical": 0.08, "phase1": 0.25, "phase2": 1.0, "phase3": 1.0, "filed": 1.0, "approved": 0.8}},
        "willingness to buy by stage for a buyer of each home culture (UK, CH as EU; KR as JP) when R&D "
        "externalisation is at its reference: US buys earliest, EU/JP/KR wait for phase 2 proof of concept",
        unit="x", source="RT23 (ordering); assumption (levels)",
    )
    externalisation_reference: float = P(0.5, "R&D-externalisation level at which stage_appetite holds",
                                         unit="share", ge=0.01, le=1.0)
    externalisation_phase1_share: float = P(0.5, "share of the externalisation elasticity that applies to phase 1 "
                                            "(preclinical gets all of it)", unit="share", ge=0.0, le=1.0)
    externalisation_elasticity: float = P(2.0, "elasticity of preclinical appetite to R&D externalisation (phase 1 "
                                          "gets half): as internal early research is cut, MNCs buy it outside",
                                          unit="elasticity", source="fitted", ge=0.0, le=4.0)
    mid_commercial_reach: float = P(0.7, "a mid-size buyer's peak sales of an asset relative to a top MNC's",
                                    unit="x", source="assumption", ge=0.1, le=1.0)
    hurdle: float = P(0.3, "surplus over price, as a share of value, that a China deal must offer to beat "
                      "sourcing elsewhere", unit="share", source="fitted", ge=0.0, le=0.8)
    top_deals_per_year: float = P(3.0, "BD capacity of a top MNC: new China diligence starts per year at no gap",
                                  unit="deals/year", source="fitted", ge=0.0, le=100)
    mid_deals_per_year: float = P(0.8, "BD capacity of a mid-size buyer", unit="deals/year", source="fitted",
                                  ge=0.0, le=100)
    attention: float = P(0.02, "share of the shopped assets in its focus areas that a buyer's BD team screens "
                         "closely each month (search friction)", unit="share/month", source="fitted", ge=0.0, le=1.0)
    search_trust_elasticity: float = P(1.0, "elasticity of a BD team's search effort on China to its trust in China "
                                       "data (scaled by its kind's reliance on that data): a team spends its scouting "
                                       "where it expects deals to survive diligence, so China's market opens as trust "
                                       "grows", unit="elasticity", source="fitted", ge=0.0, le=4.0)
    search_trust_reference: float = P(0.5, "trust at which search effort is as ``attention`` says", unit="0-1",
                                      ge=0.05, le=1.0)
    scouting: float = P(0.35, "attention to assets outside its focus areas, relative to those inside", unit="x",
                        ge=0.0, le=1.0)
    credit_cap: float = P(2.0, "most diligence starts a BD team can bank for later months", unit="deals", ge=1.0,
                          le=24.0)
    oncology_focus_share: float = P(0.8, "share of buyers with oncology among their focus areas (most China assets "
                                    "are in oncology)", unit="share", ge=0.0, le=1.0)
    off_focus_fit: float = P(0.7, "value of an asset outside a buyer's focus areas relative to one inside",
                             unit="x", ge=0.0, le=1.0)

    def _tables(self) -> "Mnc":
        _check_keys(self.data_weight, STAGES, "mnc.data_weight", complete=True)
        _check_range(self.data_weight, "mnc.data_weight", 0.0, 1.0)
        _check_keys(self.novelty_data_weight, NOVELTIES, "mnc.novelty_data_weight", complete=True)
        _check_range(self.novelty_data_weight, "mnc.novelty_data_weight", 0.0, 1.0)
        for culture, table in self.stage_appetite.items():
            if culture not in ("US", "EU", "JP"):
                raise ValueError(f"mnc.stage_appetite.{culture}: unknown buyer culture; allowed US, EU, JP")
            _check_keys(table, STAGES, f"mnc.stage_appetite.{culture}", complete=True)
            _check_range(table, f"mnc.stage_appetite.{culture}", 0.0, 10.0)
        return self


class Incubators(Strict):
    fund_usd: float = P(400e6, "capital an incubator raises per fund at US venture index 1", unit="USD", ge=0,
                        le=1e11)
    fund_deploy_months: float = P(60.0, "months over which a fund's money arrives (drawn down as the fund invests)",
                                  unit="months", ge=1.0, le=240)
    max_stage: str = P("phase1", "latest stage an incubator buys", unit="stage", source="RT23, QM24")
    appetite: float = P(1.3, "an incubator's willingness to buy up to max_stage, relative to an MNC's "
                        "proof-of-concept appetite (high risk appetite)", unit="x", ge=0.0, le=5.0,
                        source="RT23 (direction)")
    data_reliance: float = P(0.5, "share of an MNC's reliance on China-only data left for a NewCo, which re-runs "
                             "trials in the US", unit="share", ge=0.0, le=1.0, source="RT23 (direction)")
    equity_share: float = P(0.2, "NewCo equity given to the licensor", unit="share", ge=0.0, le=1.0, source="QM24")
    upfront_cash_share: float = P(0.5, "a NewCo's upfront share relative to a licence's (it pays in equity)",
                                  unit="x", ge=0.0, le=1.0, source="QM24 (direction)")
    exit_stage: str = P("phase2", "stage at which the NewCo sells or partners the asset (proof of concept)",
                        unit="stage", source="RT23")
    exit_ask_share: float = P(0.8, "a NewCo's ask for its asset relative to its own value", unit="share", ge=0.1,
                              le=1.0)
    deals_per_year: float = P(1.5, "NewCos an incubator's team can start per year", unit="deals/year",
                              source="assumption", ge=0.0, le=100)
    reserve_months: float = P(12.0, "months of the NewCo's US development an incubator must hold in cash before it "
                              "starts one", unit="months", ge=0.0, le=120)
    us_cost_multiple: float = P(2.5, "cost of a US-run programme relative to a China-run one (China trial cost per "
                                "patient 30-50% of an MNC's)", unit="x", ge=1.0, le=10.0, source="ARC25")
    speed: float = P(0.85, "NewCo development durations relative to typical", unit="x", ge=0.1, le=3.0)

    def _tables(self) -> "Incubators":
        _check_stage(self.max_stage, "incubator.max_stage")
        _check_stage(self.exit_stage, "incubator.exit_stage")
        return self


class Regional(Strict):
    revenue_usd: float = P(1.5e9, "median revenue of a regional licensee", unit="USD/year", ge=0, le=1e12)
    revenue_spread: float = P(0.5, "spread of regional licensees' revenues", unit="log-sd", ge=0.0, le=2.0)
    deals_per_year: float = P(1.0, "regional deals a licensee can start per year", unit="deals/year",
                              source="assumption", ge=0.0, le=100)
    late_appetite: float = P(1.5, "extra appetite for filed and approved assets (ample data, fast launch)",
                             unit="x", ge=0.0, le=5.0, source="RT23 (direction)")
    data_reliance: float = P(0.4, "share of an MNC's reliance on China-only data left for a regional licensee "
                             "(approval rests on a small bridging study)", unit="share", ge=0.0, le=1.0,
                             source="RT23 (direction)")


# ---------------------------------------------------------------------------- market


class Market(Strict):
    warmup_months: int = P(12, "months the market runs at the start's drivers before the first recorded month, "
                           "so the start opens with deals in talks and contracts in force (burn-in)",
                           unit="months", ge=0, le=120)
    discount_rate: float = P(0.10, "buyers' annual discount rate", unit="per year", ge=0.0, le=1.0)
    product_value_multiple: float = P(1.5, "value of a launched product as a multiple of its peak sales",
                                      unit="x", ge=0.1, le=20)
    quality_noise: float = P(0.25, "noise in a buyer's read of asset quality before diligence", unit="log-sd",
                             ge=0.0, le=2.0)
    diligence_months: float = P(9.0, "median months from first talks to signing", unit="months", ge=1.0,
                                le=60, source="RT23")
    diligence_spread: float = P(0.3, "spread of diligence work around the median", unit="log-sd", ge=0.0, le=2.0)
    cool_market_months: float = P(4.0, "extra diligence months, per normal diligence, when the funding index is 0 "
                                  "(median ~12 in a cool market)", unit="months", ge=0.0, le=60, source="RT23")
    diligence_stage_factor: dict[str, float] = P(
        {"preclinical": 0.8, "phase1": 0.9, "phase2": 1.0, "phase3": 1.1, "filed": 1.1, "approved": 1.1},
        "diligence time relative to the median, by stage: more data takes longer to check", unit="x",
    )
    diligence_novelty_factor: dict[str, float] = P(
        {"first_in_class": 1.3, "best_in_class": 1.1, "fast_follower": 0.95, "me_too": 0.85},
        "diligence time relative to the median, by novelty: first-in-class assets are slower to close",
        unit="x", source="RT23 (direction)",
    )
    diligence_fail: float = P(0.12, "chance diligence fails on grounds other than trust", unit="probability",
                              ge=0.0, le=1.0)
    diligence_distrust_fail: float = P(0.35, "extra chance diligence fails per unit of distrust: due diligence can "
                                       "kill a deal over non-compliant data", unit="probability", ge=0.0, le=1.0,
                                       source="RT23 (direction)")
    seller_power: float = P(0.4, "seller's share of the bargaining surplus with a single bidder", unit="share",
                            ge=0.0, le=1.0)
    upfront_share_preclinical: float = P(0.1, "share of the risk-adjusted price paid upfront for a preclinical "
                                         "programme (the share rises linearly by stage to upfront_share_approved)",
                                         unit="share", source="fitted", ge=0.0, le=1.0)
    upfront_share_approved: float = P(0.5, "share of the risk-adjusted price paid upfront for an approved product",
                                      unit="share", ge=0.0, le=1.0)
    upfront_distrust: float = P(1.0, "how far a buyer moves payment from upfront cash into milestones for what it "
                                "takes on trust: upfront share x (1 - distrust)^this", unit="power", ge=0.0, le=3.0,
                                source="RT23, AI25 (direction)")
    royalty_rate: dict[str, float] = P(
        {"preclinical": 0.06, "phase1": 0.08, "phase2": 0.11, "phase3": 0.14, "filed": 0.16, "approved": 0.18},
        "royalty on the licensee's net sales", unit="share",
    )
    co_development_propensity: float = P(0.35, "chance a cash-healthy seller of a core clinical asset takes "
                                         "co-development terms", unit="probability", ge=0.0, le=1.0, source="QM24")
    co_development_upfront: float = P(0.7, "upfront share of a co-development deal relative to a licence's",
                                      unit="x", ge=0.0, le=1.0)
    co_development_royalty: float = P(1.5, "royalty (profit share) of a co-development deal relative to a licence's",
                                      unit="x", ge=1.0, le=5.0)
    acquisition_upfront: float = P(0.75, "least upfront share of an acquisition of all rights", unit="share",
                                   ge=0.0, le=1.0)
    licensee_cost_share: float = P(0.6, "share of development cost the licensee bears after signing",
                                   unit="share", ge=0.0, le=1.0)
    sales_milestone_share: float = P(0.35, "share of milestones tied to sales (paid after approval)", unit="share",
                                     ge=0.0, le=1.0)
    sales_milestone_months: int = P(24, "months after approval at which the sales milestone is paid",
                                    unit="months", ge=0, le=240)

    def _tables(self) -> "Market":
        if self.upfront_share_approved < self.upfront_share_preclinical:
            raise ValueError("market.upfront_share_approved must be at least market.upfront_share_preclinical "
                             "(later, less risky programmes are paid more upfront)")
        for label, allowed in [("diligence_stage_factor", STAGES), ("diligence_novelty_factor", NOVELTIES),
                               ("royalty_rate", STAGES)]:
            _check_keys(getattr(self, label), allowed, f"market.{label}", complete=True)
            _check_range(getattr(self, label), f"market.{label}", 0.0, 1.0 if label == "royalty_rate" else None)
        _check_monotone(self.royalty_rate, STAGES, "market.royalty_rate", rising=True)
        return self


class Contracts(Strict):
    """Why licences end: failed trials (always), strategy shifts and regulatory change."""

    strategy_hazard: float = P(0.015, "yearly chance a licensee returns rights for strategy reasons, for a deal "
                               "signed at phase 2", unit="per year", source="fitted", ge=0.0, le=0.5)
    strategy_stage_decay: float = P(0.7, "strategy hazard multiplier per stage later at signing (the further along "
                                    "an asset is when licensed, the lower the chance of termination)",
                                    unit="x per stage", ge=0.1, le=1.0, source="QM24")
    regulatory_hazard: float = P(0.5, "yearly chance a licence on China-only data is returned per unit of trust "
                                 "fallen below what the licensee expected (regulatory change, data-compliance "
                                 "shock)", unit="per year per trust unit", ge=0.0, le=10.0, source="ARC25 (cause)")


class Trust(Strict):
    """Trust responds to the track record of China-originated assets abroad, on top of the trust driver."""

    track_record_gain: float = P(0.1, "most that a long record of global successes (or failures) of licensed "
                                 "China-originated programmes adds to (takes from) trust", unit="trust units",
                                 source="fitted", ge=0.0, le=0.3)
    track_record_scale: float = P(20.0, "net surprise of global readouts (phase 2 or later, run by licensees; a "
                                  "success counts 1 - the odds expected of it, a failure minus failure_weight x "
                                  "those odds) that moves the record by tanh(1)", unit="readouts (surprise)", ge=0.1, le=1e4)
    track_record_memory_months: float = P(60.0, "months over which the record fades (exponential memory)",
                                          unit="months", ge=1.0, le=600)
    failure_weight: float = P(1.0, "weight of a failed global readout's surprise relative to a success's (1 = "
                              "an expected failure is no news on average)", unit="x", ge=0.0,
                              le=5.0)


class Expectations(Strict):
    """How actors form expectations of the climate: only from what has happened (no foresight)."""

    funding_memory_months: float = P(6.0, "adaptive expectation of the funding index: each month the expected "
                                     "level moves 1/this of the way to the observed", unit="months", ge=1.0, le=120)
    funding_trend_months: float = P(6.0, "months ahead a biotech extrapolates the smoothed trend of funding when it "
                                    "prices (trend-following); 0 = adaptive level only", unit="months", ge=0.0,
                                    le=36)
    trust_memory_months: float = P(12.0, "adaptive expectation of trust held by licensees (a fall below it is a "
                                   "shock)", unit="months", ge=1.0, le=120)


# -------------------------------------------------------------------------- scenario


class Scenario(Strict):
    """A complete scenario. Only ``name`` is required; everything else has a documented default."""

    name: str = P(..., "short name; outputs go to results/<name>/", unit="text")
    description: str = P("", "what question the scenario answers", unit="text")
    extends: str | None = P(None, "scenario this one inherits from: a path relative to this file, an absolute "
                            "path, or a shipped scenario's name", unit="path")
    start: YearMonth = P("2018-01", "first simulated month", unit="YYYY-MM")
    end: YearMonth = P("2030-12", "last simulated month", unit="YYYY-MM")
    seed: int = P(20180101, "root seed when none is given on the command line", unit="integer", ge=0,
                  le=MAX_SEED)
    # Left out of dumps while unset, so scenarios without one hash and compare as before.
    parameters: str | None = P(None, "parameter ensemble (a posterior.parquet of licsim calibrate): licsim run, "
                               "compare, batch and validate draw one set from it per replication, as with "
                               "--posterior FILE, which overrides it; a path relative to the file that sets it, or "
                               "absolute; null: none. One model alone (LicensingMarket, simulate, the dashboard) "
                               "runs the scenario's own values", unit="path", exclude_if=lambda v: v is None)
    population: Population = Population()
    drivers: Drivers = Drivers()
    assets: Assets = Assets()
    sector: Sector = Sector()
    biotech: Biotechs = Biotechs()
    mnc: Mnc = Mnc()
    incubator: Incubators = Incubators()
    regional: Regional = Regional()
    market: Market = Market()
    contracts: Contracts = Contracts()
    trust: Trust = Trust()
    expectations: Expectations = Expectations()

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return check_folder_name(value)

    @model_validator(mode="after")
    def _check(self) -> "Scenario":
        if month_index(self.end) < month_index(self.start):
            raise ValueError(f"end {self.end} is before start {self.start}; end must be on or after start")
        for field, value in (("start", self.start), ("end", self.end)):
            if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
                raise ValueError(f"{field} {value} is out of range; allowed {FIRST_YEAR}-01 to {LAST_YEAR}-12")
        span = month_index(self.end) - month_index(self.start) + 1
        if span > MAX_SPAN_MONTHS:
            raise ValueError(f"end {self.end} is {span} months after start {self.start}; a scenario spans at most "
                             f"{MAX_SPAN_MONTHS} months ({MAX_SPAN_MONTHS // 12} years)")
        for section in (self.assets, self.biotech, self.mnc, self.incubator, self.market):
            section._tables()
        return self


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
