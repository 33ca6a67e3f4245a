"""Validation against the real market: calibration targets as data, the scorecard, and replications.

The targets (C1-C10 of docs/evidence.md) live in ``experiments/targets.yaml``. Each target names a
*measure* computed from one replication's outputs (the deal ledger and the monthly series),
a period, the observed value with its source tag, and a band. A scenario is run N times with
seeds from ``numpy.random.SeedSequence(root).spawn(N)``; every target is computed per
replication and judged on the **replication mean**; the 90% interval across replications is
reported beside it.

Target kinds and their pass rules (mean = replication mean):

``level``, ``ratio``
    counts, money, months, ratios: ``observed * (1 -/+ tolerance)``; tolerance 25% unless the
    target gives ``band: [low, high]`` (a range from the source).
``share``
    a share of deals: ``observed -/+ pp``; 10 percentage points unless given.
``threshold``
    ``min`` and/or ``max`` on the mean (e.g. 2024 preclinical share > 60%).
``direction``
    a relation between several means of the same target: ``increasing`` / ``decreasing``
    over ``periods``, ``greater`` (first > second) or ``largest`` (first > each of the rest)
    over ``compare``. The per-replication "contrast" (smallest step, or first minus the
    largest rival) is reported; the target passes when the contrast of the means exceeds
    ``min_gap`` (default 0).

Measures (``metric``) of one replication; deal measures use only the *universe* rows
(China out-licensing deals, set at the top of the targets file) signed in the period:

``deal_count``                  deals matching ``where``
``deal_sum``                    sum of ``column`` over deals matching ``where``
``deal_ratio``                  sum(``numerator``) / sum(``denominator``)
``deal_share``                  deals matching ``where`` / deals matching ``among``
``deal_median``                 median of ``column`` over deals matching ``where``
``top_share``                   among the ``n`` largest deals by ``column`` (matching ``among``),
                                the share matching ``where``
``monthly_sum``                 sum of the monthly series ``column``
``crossover``                   first month (decimal year) in the period where the trailing
                                ``window``-month sum of the deals' ``column`` exceeds that of
                                the monthly series ``against``

Filters (``where``, ``among``, ``universe``) map a column to a value, a list of values, or
``{not: value-or-list}``.

Periods: ``2022``, ``2022-H1``, ``2022-Q3``, ``2022-07`` or a range ``2018..2023``
(``2020-01..2021-06``); both ends inclusive. A deal falls in a period by the month it was
signed, or, with ``dated: talks_started``, by the month its talks began (signing month minus
``diligence_months``): the market conditions a negotiation ran under.

Parallel replications: :func:`map_replications` (and :func:`map_runs` for mixed jobs) run
``sim.model.run.simulate`` in a spawn-context process pool; ``licsim compare`` and
``licsim calibrate`` reuse it.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

import sim
from sim.errors import UserError
from sim.model.run import replication_seeds  # noqa: F401  (re-exported: one derivation of seeds)
from sim.scenarios.loader import load_yaml_model
from sim.scenarios.schema import STAGES

__all__ = [
    "DEFAULT_RUNNER",
    "DEFAULT_TARGETS",
    "Period",
    "RunOutput",
    "Scorecard",
    "TargetSet",
    "evaluate",
    "format_value",
    "load_targets",
    "map_replications",
    "map_runs",
    "parse_period",
    "prepare_runs",
    "print_scorecard",
    "replication_seeds",
    "validation_figure",
    "yearly_series",
]

#: The model entry point, as ``module:function`` so that worker processes can import it.
DEFAULT_RUNNER = "sim.model.run:simulate"
#: The project's targets file (used when ``--targets`` is not given).
DEFAULT_TARGETS = Path(sim.__file__).resolve().parents[1] / "experiments" / "targets.yaml"


# =============================================================================== periods


@dataclass(frozen=True)
class Period:
    """An inclusive range of months; ``start``/``end`` are months since year 0 (``year*12 + month-1``)."""

    start: int
    end: int
    label: str

    @property
    def months(self) -> int:
        return self.end - self.start + 1


_ONE = re.compile(r"^(\d{4})(?:-?(H[12]|Q[1-4])|-(\d{1,2}))?$", re.IGNORECASE)


def _parse_one(text: str) -> tuple[int, int]:
    m = _ONE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a period; write 2022, 2022-H1, 2022-Q3, 2022-07 or a range 2018..2023")
    year = int(m.group(1))
    part, month = m.group(2), m.group(3)
    if part:
        part = part.upper()
        n = int(part[1])
        size = 6 if part[0] == "H" else 3
        first = year * 12 + (n - 1) * size
        return first, first + size - 1
    if month:
        mo = int(month)
        if not 1 <= mo <= 12:
            raise ValueError(f"{text!r}: month {mo} is not 1-12")
        return year * 12 + mo - 1, year * 12 + mo - 1
    return year * 12, year * 12 + 11


def parse_period(spec: Any) -> Period:
    """A :class:`Period` from ``2022``, ``"2022-H1"``, ``"2018..2023"`` and the like."""
    if isinstance(spec, Period):
        return spec
    if isinstance(spec, bool) or spec is None:
        raise ValueError(f"{spec!r} is not a period")
    text = str(spec).strip()
    if ".." in text:
        a, b = text.split("..", 1)
        start, _ = _parse_one(a)
        _, end = _parse_one(b)
    else:
        start, end = _parse_one(text)
    if end < start:
        raise ValueError(f"period {text!r} ends before it starts")
    return Period(start, end, text)


def format_month(value: float) -> str:
    """A decimal year (``2024.75``) as ``2024-10``."""
    mi = int(round(value * 12))
    return f"{mi // 12:04d}-{mi % 12 + 1:02d}"


# ================================================================================ targets

Unit = Literal["count", "usd", "share", "ratio", "months", "month", "number"]
Metric = Literal["deal_count", "deal_sum", "deal_ratio", "deal_share", "deal_median", "top_share",
                 "monthly_sum", "crossover"]
Kind = Literal["level", "ratio", "share", "threshold", "direction"]


def _check_filter(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("a filter is a mapping of column: value, column: [values] or column: {not: value}")
    out: dict[str, Any] = {}
    for col, cond in value.items():
        if isinstance(cond, Mapping):
            if set(cond) != {"not"}:
                raise ValueError(f"filter on {col}: only {{not: ...}} is allowed as a mapping")
            inner = cond["not"]
            if isinstance(inner, (Mapping,)):
                raise ValueError(f"filter on {col}: not takes a value or a list of values")
        elif isinstance(cond, list):
            if any(isinstance(v, (Mapping, list)) for v in cond):
                raise ValueError(f"filter on {col}: a list of plain values is expected")
        out[str(col)] = cond
    return out


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Measure(_Strict):
    """What one number of one replication is: a metric over a period, with its filters."""

    metric: Metric
    period: str | None = None
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    among: dict[str, Any] = Field(default_factory=dict)
    n: int | None = Field(None, ge=1)
    against: str | None = None
    window: int = Field(12, ge=1, le=120)
    label: str | None = None
    dated: Literal["signed", "talks_started"] = "signed"

    _check_where = field_validator("where", "among", mode="before")(classmethod(lambda cls, v: _check_filter(v)))

    @field_validator("period", mode="before")
    @classmethod
    def _period(cls, v: Any) -> Any:
        if v is None:
            return v
        parse_period(v)
        return str(v)

    @model_validator(mode="after")
    def _needs(self) -> "Measure":
        need = {
            "deal_sum": ["column"], "deal_median": ["column"], "monthly_sum": ["column"],
            "deal_ratio": ["numerator", "denominator"], "top_share": ["column", "n"],
            "crossover": ["column", "against"],
        }.get(self.metric, [])
        missing = [k for k in need if getattr(self, k) is None]
        if missing:
            raise ValueError(f"metric {self.metric} needs {', '.join(missing)}")
        if self.dated != "signed" and self.metric in ("monthly_sum", "crossover"):
            raise ValueError(f"dated: {self.dated} applies to deal measures, not {self.metric}")
        return self

    def default_unit(self) -> str:
        if self.metric in ("deal_share", "top_share"):
            return "share"
        if self.metric == "deal_count":
            return "count"
        if self.metric == "deal_ratio":
            return "ratio"
        if self.metric == "crossover":
            return "month"
        col = self.column or ""
        if col.endswith("_usd"):
            return "usd"
        if col.endswith("months"):
            return "months"
        return "number"


class Target(Measure):
    """One calibration target: a measure (or several, for directions), a band and a source."""

    metric: Metric | None = None  # type: ignore[assignment]  (directions may use ``compare`` only)
    id: str = Field(..., pattern=r"^[A-Za-z0-9_.\-]+$")
    group: str
    name: str
    kind: Kind
    observed: float | None = None
    observed_text: str | None = None
    tolerance: float | None = Field(None, ge=0)
    pp: float | None = Field(None, ge=0)
    band: tuple[float, float] | None = None
    min: float | None = None
    max: float | None = None
    relation: Literal["increasing", "decreasing", "greater", "largest"] | None = None
    periods: list[str] | None = None
    compare: list[Measure] | None = None
    min_gap: float = 0.0
    unit: Unit | None = None
    scale: float | None = Field(None, gt=0)
    weight: float = Field(1.0, ge=0)
    gate: bool = True
    source: str
    mechanism: str | None = None  # which of the model's mechanisms should produce it
    note: str = ""
    plot: Literal["deals", "headline", "upfront", "preclinical_share"] | None = None

    @field_validator("observed", mode="before")
    @classmethod
    def _observed(cls, v: Any) -> Any:
        if isinstance(v, str) and re.fullmatch(r"\s*\d{4}-\d{1,2}\s*", v):  # a month, for crossovers
            p = parse_period(v)
            return p.start / 12.0
        return v

    @field_validator("periods", mode="before")
    @classmethod
    def _periods(cls, v: Any) -> Any:
        if v is None:
            return v
        if not isinstance(v, list) or len(v) < 2:
            raise ValueError("periods: a list of at least two periods")
        for p in v:
            parse_period(p)
        return [str(p) for p in v]

    @model_validator(mode="after")
    def _consistent(self) -> "Target":  # type: ignore[override]
        if self.kind == "direction":
            if self.relation is None:
                raise ValueError("a direction target needs relation: increasing, decreasing, greater or largest")
            if self.relation in ("increasing", "decreasing"):
                if not self.periods or self.metric is None:
                    raise ValueError(f"relation {self.relation} needs a metric and periods: [..]")
            else:
                if not self.compare or len(self.compare) < 2:
                    raise ValueError(f"relation {self.relation} needs compare: a list of at least two measures")
                for m in self.compare:
                    if m.period is None:
                        raise ValueError("every measure in compare needs a period")
            return self
        if self.metric is None:
            raise ValueError("a metric is required")
        if self.period is None:
            raise ValueError("a period is required")
        if self.kind == "threshold":
            if self.min is None and self.max is None:
                raise ValueError("a threshold target needs min and/or max")
        elif self.band is None and self.observed is None:
            raise ValueError(f"a {self.kind} target needs observed (or band: [low, high])")
        if self.band is not None and self.band[0] > self.band[1]:
            raise ValueError("band: low must not exceed high")
        return self

    # -- derived ---------------------------------------------------------------------

    def unit_(self) -> str:
        if self.unit:
            return self.unit
        if self.metric is not None:
            return self.default_unit()
        assert self.compare
        return self.compare[0].default_unit()

    def bounds(self) -> tuple[float, float]:
        """The band (low, high) for the replication mean; (-inf, inf) for directions."""
        if self.kind == "direction":
            return (self.min_gap, math.inf)
        if self.kind == "threshold":
            return (-math.inf if self.min is None else self.min, math.inf if self.max is None else self.max)
        if self.band is not None:
            return (float(self.band[0]), float(self.band[1]))
        assert self.observed is not None
        if self.kind == "share":
            pp = 0.10 if self.pp is None else self.pp
            return (round(max(0.0, self.observed - pp), 12), round(min(1.0, self.observed + pp), 12))
        tol = 0.25 if self.tolerance is None else self.tolerance
        a, b = self.observed * (1 - tol), self.observed * (1 + tol)
        return (_tidy(min(a, b)), _tidy(max(a, b)))

    def measures(self) -> list[tuple[str, Measure]]:
        """(label, measure) for every number the target needs from one replication."""
        if self.kind == "direction" and self.relation in ("increasing", "decreasing"):
            base = self.model_dump(include=set(Measure.model_fields))
            out = []
            for p in self.periods or []:
                out.append((p, Measure.model_validate({**base, "period": p, "label": None})))
            return out
        if self.kind == "direction":
            return [(m.label or m.period or str(i), m) for i, m in enumerate(self.compare or [])]
        return [(self.period or "", Measure.model_validate(self.model_dump(include=set(Measure.model_fields))))]

    def period_label(self) -> str:
        if self.kind == "direction":
            if self.periods:
                return " -> ".join(self.periods)
            ps = [m.period or "" for m in self.compare or []]
            return ps[0] if len(set(ps)) == 1 else " vs ".join(ps)
        return self.period or ""

    def norm_scale(self, point_means: Sequence[float] = ()) -> float:
        """The distance that counts as one unit of misfit (for calibration losses)."""
        if self.scale:
            return self.scale
        lo, hi = self.bounds()
        if self.kind in ("level", "ratio", "share") and math.isfinite(lo) and math.isfinite(hi) and hi > lo:
            return (hi - lo) / 2
        if self.unit_() in ("share", "ratio"):
            return 0.10 if self.unit_() == "share" else 0.02
        if self.unit_() == "month":
            return 0.5  # half a year
        if self.kind == "threshold":
            ref = self.min if self.min is not None else self.max
            return max(abs(ref or 0.0) * 0.25, 1e-9)
        finite = [abs(x) for x in point_means if np.isfinite(x)]
        return max(0.25 * (float(np.mean(finite)) if finite else 1.0), 1e-9)


def _tidy(x: float) -> float:
    """Round away binary noise (0.18000000000000002 -> 0.18) without touching real digits."""
    return float(f"{x:.12g}")


class TargetSet(_Strict):
    """The targets file: which deals count, and the targets."""

    title: str = ""
    description: str = ""
    universe: dict[str, Any] = Field(default_factory=lambda: {"china_origin": True})
    usd_per_cny: float | None = None
    targets: list[Target]
    path: str | None = None
    digest: str | None = None

    _check_universe = field_validator("universe", mode="before")(classmethod(lambda cls, v: _check_filter(v)))

    @model_validator(mode="after")
    def _unique(self) -> "TargetSet":
        seen: set[str] = set()
        for t in self.targets:
            if t.id in seen:
                raise ValueError(f"target id {t.id} appears twice")
            seen.add(t.id)
        return self

    def gated(self) -> list[Target]:
        return [t for t in self.targets if t.gate]


def load_targets(path: str | os.PathLike[str] | None = None) -> TargetSet:
    """Read and check a targets file; every problem is a one-line :class:`UserError` with file:line."""
    path = Path(path) if path is not None else DEFAULT_TARGETS
    targets, _ = load_yaml_model(path, TargetSet, what="targets file", name_path=_target_name)
    digest = hashlib.sha256(path.read_text(encoding="utf-8").encode()).hexdigest()[:16]
    return targets.model_copy(update={"path": str(path), "digest": digest})


def _target_name(loc: tuple[str | int, ...], data: Mapping[str, Any]) -> str | None:
    """``target C3.band`` rather than ``targets.2.band`` in messages, where the target has an id."""
    if len(loc) >= 2 and loc[0] == "targets" and isinstance(loc[1], int):
        try:
            tid = data["targets"][loc[1]].get("id")
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
        if tid is not None:
            return f"target {tid}" + "".join(f".{x}" for x in loc[2:])
    return None


# ================================================================= replication outputs


@dataclass
class RunOutput:
    """One replication's outputs (what :func:`sim.model.run.simulate` returns, made portable)."""

    deals: pd.DataFrame
    monthly: pd.DataFrame
    seed: int | None = None
    replication: int = 0


@dataclass
class PreparedRun:
    """One replication with its universe deals and month indices precomputed."""

    replication: int
    seed: int | None
    deals: pd.DataFrame  # universe rows only, with ``_mi`` (month index of signing)
    monthly: pd.DataFrame  # with ``_mi``
    all_deals: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _mask(df: pd.DataFrame, filt: Mapping[str, Any], what: str) -> np.ndarray:
    m = np.ones(len(df), dtype=bool)
    for col, cond in filt.items():
        if col not in df.columns:
            raise UserError(f"{what}: column {col!r} is not in the deal ledger "
                            f"(columns: {', '.join(c for c in df.columns if not c.startswith('_'))})")
        neg = isinstance(cond, Mapping)
        if neg:
            cond = cond["not"]
        vals = cond if isinstance(cond, list) else [cond]
        hit = df[col].isin(vals).to_numpy()
        m &= ~hit if neg else hit
    return m


def _with_month_index(df: pd.DataFrame, col: str, year_col: str | None = None) -> pd.DataFrame:
    df = df.copy()
    if col in df.columns and len(df):
        ts = pd.to_datetime(df[col])
        df["_mi"] = (ts.dt.year * 12 + ts.dt.month - 1).astype("int64")
    elif year_col and year_col in df.columns and len(df):
        df["_mi"] = (df[year_col].astype("int64") * 12).astype("int64")
    else:
        df["_mi"] = pd.Series(np.zeros(len(df), dtype="int64"), index=df.index)
    return df


def _normalise_stage(df: pd.DataFrame) -> pd.DataFrame:
    if "stage" in df.columns and len(df) and pd.api.types.is_integer_dtype(df["stage"]):
        df = df.copy()
        df["stage"] = df["stage"].map(lambda i: STAGES[int(i)])
    return df


def prepare_runs(results: Iterable[Any], universe: Mapping[str, Any] | None = None) -> list[PreparedRun]:
    """Split outputs into prepared replications.

    Args:
        results: Objects with ``deals`` and ``monthly`` frames (RunResult, :class:`RunOutput`), one
            per replication, or a single such object whose frames hold several replications (split
            by their ``replication`` column; a replication with no deals still counts, from monthly).
        universe: The filter that makes a deal a China out-licensing deal.
    """
    universe = dict(universe or {})
    items = [results] if hasattr(results, "deals") else list(results)
    out: list[PreparedRun] = []
    for k, res in enumerate(items):
        deals, monthly = res.deals, res.monthly
        reps = None
        if "replication" in monthly.columns and monthly["replication"].nunique() > 1:
            reps = sorted(monthly["replication"].unique())
        if reps is None:
            rep = getattr(res, "replication", None)
            if rep is None:
                rep = int(monthly["replication"].iloc[0]) if "replication" in monthly.columns and len(monthly) else k
            seed = getattr(res, "seed", None)
            if seed is None and "seed" in deals.columns and len(deals):
                seed = int(deals["seed"].iloc[0])
            out.append(_prepare_one(int(rep), seed, deals, monthly, universe))
        else:
            for rep in reps:
                d = deals[deals["replication"] == rep] if "replication" in deals.columns else deals.iloc[:0]
                mo = monthly[monthly["replication"] == rep]
                seed = int(d["seed"].iloc[0]) if "seed" in d.columns and len(d) else None
                out.append(_prepare_one(int(rep), seed, d, mo, universe))
    return out


def _prepare_one(rep: int, seed: int | None, deals: pd.DataFrame, monthly: pd.DataFrame,
                 universe: Mapping[str, Any]) -> PreparedRun:
    all_deals = _normalise_stage(_with_month_index(deals, "signed", "year"))
    if "returned" in all_deals.columns and len(all_deals):
        # The year the rights came back (a target counts returns known by a date, as RT23 did).
        ended = pd.to_datetime(all_deals["terminated"]).dt.year
        all_deals["returned_year"] = np.where(all_deals["returned"].astype(bool), ended, np.nan)
    uni = all_deals[_mask(all_deals, universe, "targets universe")] if len(all_deals) else all_deals
    mo = _with_month_index(monthly, "month")
    return PreparedRun(rep, seed, uni, mo.sort_values("_mi").reset_index(drop=True), all_deals)


# ================================================================================ measures


def _in_period(df: pd.DataFrame, p: Period, months: np.ndarray | None = None) -> np.ndarray:
    """Rows whose month (``months``, else the row's own ``_mi``) falls in ``p``."""
    mi = df["_mi"].to_numpy() if months is None else months
    return (mi >= p.start) & (mi <= p.end)


def _need(df: pd.DataFrame, col: str, what: str, where: str = "deal ledger") -> pd.Series:
    if col not in df.columns:
        raise UserError(f"{what}: column {col!r} is not in the {where} "
                        f"(columns: {', '.join(c for c in df.columns if not c.startswith('_'))})")
    return df[col]


def compute(measure: Measure, run: PreparedRun, what: str = "target") -> float:
    """The value of one measure in one replication (NaN when it is undefined, e.g. no deals)."""
    m = measure
    p = parse_period(m.period) if m.period is not None else None
    if m.metric == "monthly_sum":
        mo = run.monthly
        sel = _in_period(mo, p) if p else np.ones(len(mo), bool)
        return float(_need(mo, m.column, what, "monthly series")[sel].sum())  # type: ignore[arg-type]
    d = run.deals
    if p is None:
        sel = np.ones(len(d), bool)
    elif m.dated == "talks_started" and len(d):
        started = d["_mi"].to_numpy() - np.round(_need(d, "diligence_months", what).to_numpy(dtype=float))
        sel = _in_period(d, p, started)
    else:
        sel = _in_period(d, p)
    if m.metric == "crossover":
        return _crossover(m, run, p, what)
    if m.metric == "deal_count":
        return float((sel & _mask(d, m.where, what)).sum())
    if m.metric == "deal_sum":
        rows = sel & _mask(d, m.where, what)
        return float(_need(d, m.column, what)[rows].sum())  # type: ignore[arg-type]
    if m.metric == "deal_ratio":
        rows = sel & _mask(d, m.where, what)
        num = float(_need(d, m.numerator, what)[rows].sum())  # type: ignore[arg-type]
        den = float(_need(d, m.denominator, what)[rows].sum())  # type: ignore[arg-type]
        return num / den if den else math.nan
    if m.metric == "deal_share":
        base = sel & _mask(d, m.among, what)
        n = int(base.sum())
        return float((base & _mask(d, m.where, what)).sum()) / n if n else math.nan
    if m.metric == "deal_median":
        rows = sel & _mask(d, m.where, what)
        vals = _need(d, m.column, what)[rows].dropna()  # type: ignore[arg-type]
        return float(vals.median()) if len(vals) else math.nan
    if m.metric == "top_share":
        base = d[sel & _mask(d, m.among, what)]
        if not len(base):
            return math.nan
        key = _need(base, m.column, what)  # type: ignore[arg-type]
        order = np.argsort(-key.to_numpy(dtype=float), kind="stable")[: m.n]
        top = base.iloc[order]
        return float(_mask(top, m.where, what).mean())
    raise AssertionError(m.metric)


def _crossover(m: Measure, run: PreparedRun, p: Period | None, what: str) -> float:
    """First month in ``p`` where the trailing sum of deals' ``column`` exceeds that of monthly ``against``."""
    mo = run.monthly
    if not len(mo):
        return math.nan
    months = mo["_mi"].to_numpy()
    b = _need(mo, m.against, what, "monthly series").to_numpy(dtype=float)  # type: ignore[arg-type]
    d = run.deals
    a_by_month = d.groupby("_mi")[_need(d, m.column, what).name].sum() if len(d) else pd.Series(dtype=float)  # type: ignore[arg-type]
    a = a_by_month.reindex(months, fill_value=0.0).to_numpy(dtype=float)
    w = m.window
    a_roll = pd.Series(a).rolling(w, min_periods=w).sum().to_numpy()
    b_roll = pd.Series(b).rolling(w, min_periods=w).sum().to_numpy()
    ok = a_roll > b_roll
    if p is not None:
        ok &= (months >= p.start) & (months <= p.end)
    hits = np.flatnonzero(ok)
    return float(months[hits[0]]) / 12.0 if len(hits) else math.nan


# =============================================================================== scorecard

SCORECARD_COLUMNS = [
    "id", "group", "name", "kind", "period", "unit", "observed", "band_low", "band_high", "sim_mean",
    "sim_p05", "sim_p95", "n_valid", "holds_share", "passed", "gate", "distance", "centrality", "scale",
    "weight", "observed_display", "simulated_display", "interval_display", "band_display", "detail", "source",
]


@dataclass
class Scorecard:
    """Scorecard rows (one per target) and the per-replication values behind them."""

    table: pd.DataFrame
    values: pd.DataFrame  # id, label, replication, value
    replications: int

    @property
    def gated(self) -> pd.DataFrame:
        return self.table[self.table["gate"]]

    @property
    def passed(self) -> bool:
        return bool(self.gated["passed"].all())

    @property
    def failing(self) -> list[str]:
        g = self.gated
        return list(g.loc[~g["passed"], "id"])

    def summary(self) -> str:
        g = self.gated
        text = f"{int(g['passed'].sum())}/{len(g)} targets pass"
        if self.failing:
            text += "; failing: " + ", ".join(self.failing)
        return text


def _interval(values: np.ndarray) -> tuple[float, float, float, int]:
    v = values[np.isfinite(values)]
    if not len(v):
        return math.nan, math.nan, math.nan, 0
    p05, p95 = np.percentile(v, [5, 95])
    return float(v.mean()), float(p05), float(p95), int(len(v))


def _contrast(points: np.ndarray, relation: str) -> np.ndarray:
    """Per row: the smallest step (increasing/decreasing) or first minus the largest rival."""
    points = np.atleast_2d(points)
    if relation == "increasing":
        return np.diff(points, axis=1).min(axis=1)
    if relation == "decreasing":
        return (-np.diff(points, axis=1)).min(axis=1)
    if relation == "greater":
        return points[:, 0] - points[:, 1]
    if relation == "largest":
        return points[:, 0] - points[:, 1:].max(axis=1)
    raise AssertionError(relation)


def evaluate(targets: TargetSet, runs: Sequence[PreparedRun] | Iterable[Any]) -> Scorecard:
    """The scorecard of prepared replications (or raw outputs, prepared here) against the targets."""
    runs = list(runs)
    if runs and not isinstance(runs[0], PreparedRun):
        runs = prepare_runs(runs, targets.universe)
    if not runs:
        raise UserError("no replications to evaluate")
    rows: list[dict[str, Any]] = []
    vals: list[dict[str, Any]] = []
    for t in targets.targets:
        what = f"target {t.id}"
        labelled = t.measures()
        pts = np.array([[compute(m, r, what) for _, m in labelled] for r in runs], dtype=float)
        for j, (label, _) in enumerate(labelled):
            for i, r in enumerate(runs):
                vals.append({"id": t.id, "label": label, "replication": r.replication, "value": pts[i, j]})
        rows.append(_score(t, pts, [lab for lab, _ in labelled]))
    table = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    return Scorecard(table, pd.DataFrame(vals, columns=["id", "label", "replication", "value"]), len(runs))


def _score(t: Target, pts: np.ndarray, labels: list[str]) -> dict[str, Any]:
    unit = t.unit_()
    lo, hi = t.bounds()
    holds = math.nan
    detail = ""
    if t.kind == "direction":
        assert t.relation is not None
        means = np.array([np.nanmean(c) if np.isfinite(c).any() else np.nan for c in pts.T])
        stat = float(_contrast(means[None, :], t.relation)[0])
        per_rep = _contrast(pts, t.relation)
        _, p05, p95, n_valid = _interval(per_rep)
        finite = per_rep[np.isfinite(per_rep)]
        holds = float((finite > t.min_gap).mean()) if len(finite) else math.nan
        mean = stat
        sep = {"increasing": " < ", "decreasing": " > ", "greater": " > ", "largest": " > "}[t.relation]
        if t.relation in ("increasing", "decreasing"):  # the periods are in the period column
            detail = sep.join(format_value(v, unit) for v in means)
        else:
            detail = sep.join(f"{lab} {format_value(v, unit)}" for lab, v in zip(labels, means))
        if t.relation == "largest":
            detail = f"{labels[0]} {format_value(means[0], unit)} > max of others " \
                     f"{format_value(np.nanmax(means[1:]) if np.isfinite(means[1:]).any() else np.nan, unit)}"
        scale = t.norm_scale(list(means))
        passed = bool(np.isfinite(stat) and stat > t.min_gap)
        distance = (max(0.0, t.min_gap - stat) / scale) if np.isfinite(stat) else 10.0
        if np.isfinite(stat) and stat <= t.min_gap and distance == 0.0:
            distance = 1e-6
        centrality = 0.0
        sim_display = detail if np.isfinite(stat) else "no data"
        interval_display = f"holds in {holds:.0%} of runs" if np.isfinite(holds) else "-"
        band_display = {"increasing": "rises", "decreasing": "falls", "greater": "first > second",
                        "largest": "first is largest"}[t.relation]
        observed_display = t.observed_text or band_display
    else:
        mean, p05, p95, n_valid = _interval(pts[:, 0])
        scale = t.norm_scale([mean])
        passed = bool(np.isfinite(mean) and lo <= mean <= hi)
        if not np.isfinite(mean):
            distance = 10.0
            detail = "no data in any replication"
        elif mean < lo:
            distance = (lo - mean) / scale
        elif mean > hi:
            distance = (mean - hi) / scale
        else:
            distance = 0.0
        centrality = 0.0
        if t.observed is not None and np.isfinite(mean) and t.kind != "threshold":
            centrality = float(np.clip((mean - t.observed) / scale, -1.0, 1.0))
        sim_display = format_value(mean, unit)
        interval_display = f"{format_value(p05, unit)} to {format_value(p95, unit)}" if n_valid else "-"
        band_display = _band_text(lo, hi, unit)
        observed_display = t.observed_text or (format_value(t.observed, unit) if t.observed is not None
                                               else band_display)
        if n_valid < len(pts):
            detail = (detail + "; " if detail else "") + f"defined in {n_valid} of {len(pts)} replications"
    return {
        "id": t.id, "group": t.group, "name": t.name, "kind": t.kind, "period": t.period_label(), "unit": unit,
        "observed": t.observed if t.observed is not None else math.nan,
        "band_low": lo, "band_high": hi, "sim_mean": mean, "sim_p05": p05, "sim_p95": p95, "n_valid": n_valid,
        "holds_share": holds, "passed": passed, "gate": t.gate, "distance": float(distance),
        "centrality": float(centrality), "scale": float(scale), "weight": t.weight,
        "observed_display": observed_display, "simulated_display": sim_display,
        "interval_display": interval_display, "band_display": band_display,
        "detail": detail, "source": t.source,
    }


def _band_text(lo: float, hi: float, unit: str) -> str:
    if math.isinf(lo) and math.isinf(hi):
        return "any"
    if math.isinf(hi):
        return f">= {format_value(lo, unit)}"
    if math.isinf(lo):
        return f"<= {format_value(hi, unit)}"
    return f"{format_value(lo, unit)} to {format_value(hi, unit)}"


def format_value(value: Any, unit: str) -> str:
    """A number as a reader wants it: $7.2B, 43, 28%, 9.0 mo, 2024-10."""
    if value is None:
        return "-"
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "-" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if unit == "usd":
        a = abs(v)
        if a >= 1e9:
            return f"${v / 1e9:.2f}B" if a < 10e9 else f"${v / 1e9:.1f}B"
        if a >= 1e6:
            return f"${v / 1e6:.0f}M"
        return f"${v / 1e6:.2f}M" if a >= 1e3 else "$0"
    if unit in ("share", "ratio"):
        return f"{v * 100:.1f}%"
    if unit == "count":
        return f"{v:.1f}" if abs(v - round(v)) > 1e-9 else f"{v:.0f}"
    if unit == "months":
        return f"{v:.1f} mo"
    if unit == "month":
        return format_month(v)
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"


def print_scorecard(card: Scorecard, console: Any = None, title: str = "Scorecard") -> None:
    """Print a scorecard as a rich table, then one summary line."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    wide = console.width >= 200
    narrow = console.width < 140  # one block per target: what was observed, simulated and allowed
    from rich.padding import Padding
    from rich.text import Text

    tab = Table(title=title, show_lines=False, header_style="bold", box=None, padding=(0, 1))

    def result(r) -> str:
        if not r["gate"]:
            return "[dim]info[/dim] " + ("[green]ok[/green]" if r["passed"] else "[yellow]off[/yellow]")
        return "[bold green]PASS[/bold green]" if r["passed"] else "[bold red]FAIL[/bold red]"

    if narrow:
        tab.add_column("target (period): observed; simulated mean (90% interval); band", ratio=1, overflow="fold")
        tab.add_column("result", no_wrap=True)
        for _, r in card.table.iterrows():
            period = str(r["period"]).replace("..", "\u2013")
            interval = str(r["interval_display"])
            sim = str(r["simulated_display"]) + (f" ({interval})" if interval not in ("", "-") else "")
            tab.add_row(f"[bold]{r['id']}[/bold] ({period})", result(r))
            detail = f"observed {r['observed_display']}; simulated {sim}; band {r['band_display']}"
            tab.add_row(Padding(Text(detail, overflow="fold"), (0, 0, 0, 4)), "")
        console.print(tab)
        style = "bold green" if card.passed else "bold red"
        console.print(f"[{style}]{card.summary()}[/{style}] ({card.replications} replications)")
        return
    tab.add_column("target", no_wrap=True)
    if wide:
        tab.add_column("what", max_width=40)
    tab.add_column("period")
    tab.add_column("observed", justify="right")
    tab.add_column("sim. mean", justify="right")
    tab.add_column("90% interval", justify="right")
    tab.add_column("band", justify="right")
    tab.add_column("result", no_wrap=True)
    for _, r in card.table.iterrows():
        cells = [str(r["id"])] + ([str(r["name"])] if wide else []) + [
            str(r["period"]).replace("..", "–"), str(r["observed_display"]), str(r["simulated_display"]),
            str(r["interval_display"]), str(r["band_display"]), result(r)]
        tab.add_row(*cells)
    console.print(tab)
    style = "bold green" if card.passed else "bold red"
    console.print(f"[{style}]{card.summary()}[/{style}] ({card.replications} replications)")


# ============================================================================ yearly series

YEARLY_COLUMNS = ["replication", "year", "deals", "headline_usd", "upfront_usd", "preclinical_share",
                  "early_share", "mnc_share", "primary_financing_usd"]


def yearly_series(runs: Sequence[PreparedRun], years: Sequence[int] | None = None) -> pd.DataFrame:
    """Per replication and year: universe deals, headline and upfront value, stage and buyer shares, financing."""
    rows = []
    for r in runs:
        d, mo = r.deals, r.monthly
        ys = years
        if ys is None:
            ys = sorted(set((mo["_mi"] // 12).tolist())) if len(mo) else sorted(set((d["_mi"] // 12).tolist()))
        dy = d["_mi"].to_numpy() // 12 if len(d) else np.array([], dtype=int)
        my = mo["_mi"].to_numpy() // 12 if len(mo) else np.array([], dtype=int)
        stage = d["stage"].to_numpy() if "stage" in d.columns else np.array([], dtype=object)
        kind = d["licensee_kind"].to_numpy() if "licensee_kind" in d.columns else np.array([], dtype=object)
        for y in ys:
            sel = dy == y
            n = int(sel.sum())
            st = stage[sel] if len(stage) else stage
            rows.append({
                "replication": r.replication, "year": int(y), "deals": n,
                "headline_usd": float(d["total_value_usd"].to_numpy()[sel].sum()) if n else 0.0,
                "upfront_usd": float(d["upfront_usd"].to_numpy()[sel].sum()) if n else 0.0,
                "preclinical_share": float((st == "preclinical").mean()) if n else math.nan,
                "early_share": float(np.isin(st, ["preclinical", "phase1"]).mean()) if n else math.nan,
                "mnc_share": float((kind[sel] == "mnc").mean()) if n and len(kind) else math.nan,
                "primary_financing_usd": float(mo["primary_financing_usd"].to_numpy()[my == y].sum())
                if "primary_financing_usd" in mo.columns else math.nan,
            })
    return pd.DataFrame(rows, columns=YEARLY_COLUMNS)


def summarise_yearly(yearly: pd.DataFrame) -> pd.DataFrame:
    """Mean and 90% interval across replications of each yearly column."""
    out = []
    for y, g in yearly.groupby("year"):
        row: dict[str, Any] = {"year": y}
        for c in YEARLY_COLUMNS[2:]:
            v = g[c].to_numpy(dtype=float)
            mean, p05, p95, _ = _interval(v)
            row[c], row[f"{c}_p05"], row[f"{c}_p95"] = mean, p05, p95
        out.append(row)
    return pd.DataFrame(out)


_PANELS = [("deals", "deals", "China out-licensing deals per year", "count"),
           ("headline", "headline_usd", "headline value per year", "usd"),
           ("upfront", "upfront_usd", "upfront per year", "usd"),
           ("preclinical_share", "preclinical_share", "preclinical share of deals", "share")]


def validation_figure(yearly: pd.DataFrame, targets: TargetSet, path: str | os.PathLike[str],
                      title: str = "", last_year: int | None = None) -> Path:
    """Simulated (mean, 90% band) against observed yearly series; written atomically as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.io import write_figure

    if last_year is None:
        ends = [parse_period(p).end // 12 for t in targets.gated()
                for p in ([t.period] if t.period else []) + list(t.periods or [])
                + [m.period for m in t.compare or [] if m.period]]
        last_year = max(ends) if ends else int(yearly["year"].max())
    summ = summarise_yearly(yearly[yearly["year"] <= last_year])
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for ax, (key, col, label, unit) in zip(axes.ravel(), _PANELS):
        scale = 1e9 if unit == "usd" else (0.01 if unit == "share" else 1)
        x = summ["year"].to_numpy()
        ax.fill_between(x, summ[f"{col}_p05"] / scale, summ[f"{col}_p95"] / scale, alpha=0.25, color="C0",
                        label="simulated 90% interval", linewidth=0)
        ax.plot(x, summ[col] / scale, color="C0", marker="o", ms=3, label="simulated mean")
        for t in targets.targets:
            if t.plot != key or not t.period:
                continue
            p = parse_period(t.period)
            if p.months != 12 or p.start % 12:
                continue
            lo, hi = t.bounds()
            yr = p.start // 12
            if t.kind == "threshold":
                yv = (t.min if t.min is not None else t.max) / scale  # type: ignore[operator]
                ax.plot([yr - 0.35, yr + 0.35], [yv, yv], color="C3", ls="--")
                ax.annotate(f"{'>' if t.min is not None else '<'} {format_value(yv * scale, unit)} ({t.id})",
                            (yr, yv), textcoords="offset points", xytext=(-60, 6), fontsize=7, color="C3")
                continue
            obs = (t.observed if t.observed is not None else (lo + hi) / 2) / scale
            ax.errorbar([yr], [obs], yerr=[[obs - lo / scale], [hi / scale - obs]], fmt="s", color="C3",
                        capsize=4, ms=5, label="observed (band)" if "observed (band)" not in
                        [h.get_label() for h in ax.get_legend_handles_labels()[0]] else None)
        ax.set_title(label, fontsize=10)
        ax.set_ylabel({"usd": "US$ billion", "share": "%", "count": "deals"}[unit])
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title or "Simulated against observed", fontsize=11)
    fig.tight_layout()
    return write_figure(fig, path, dpi=110)


# ============================================================================ replications


def _resolve(runner: str) -> Callable[..., Any]:
    mod, _, fn = runner.partition(":")
    return getattr(importlib.import_module(mod), fn)


def _run_job(runner: str, scenario: Any, seed: int, replication: int) -> RunOutput:
    """Worker: run one replication and return its frames (a top-level function, for spawn pools)."""
    res = _resolve(runner)(scenario, seed=seed, replication=replication)
    deals, monthly = res.deals, res.monthly
    for df in (deals, monthly):
        if "replication" not in df.columns:
            df.insert(0, "replication", replication)
    if "seed" not in deals.columns:
        deals.insert(1, "seed", seed)
    return RunOutput(deals=deals, monthly=monthly, seed=seed, replication=replication)


def make_executor(workers: int) -> Any:
    """A process pool for :func:`map_runs` (:func:`sim.experiments.executors.spawn_pool`)."""
    from sim.experiments.executors import spawn_pool

    return spawn_pool(workers)


class RunFailed(RuntimeError):
    """A run that raised on a batch executor (the message is the run's own ``Type: message``)."""


def _run_task(runner: str, task: Any) -> Any:
    """Worker for :func:`map_runs` on a batch executor: one job, sent as a task (its scenario as JSON)."""
    from sim.experiments.tasks import RunOutput as TaskOutput, task_scenario

    out = _run_job(runner, task_scenario(task), task.seed, task.replication)
    return TaskOutput({}, out.deals, out.monthly)


def _map_on_executor(executor: Any, jobs: list[tuple[Any, int, int]], runner: str,
                     on_done: Callable[[int, Any], None] | None, errors: str) -> list[Any]:
    """:func:`map_runs` on an :class:`sim.experiments.executors.Executor` (local processes or Dask):
    job i becomes task ``point=i``, each distinct scenario serialised once."""
    import functools

    from sim.experiments.tasks import Task

    texts: dict[int, tuple[str, str]] = {}

    def task(i: int, sc: Any, seed: int, rep: int) -> Task:
        if id(sc) not in texts:
            text = sc.model_dump_json()
            texts[id(sc)] = (text, hashlib.sha256(text.encode()).hexdigest()[:16])
        return Task(i, rep, int(seed), (), (), *texts[id(sc)], save_deals=True, save_monthly=True)

    results: list[Any] = [None] * len(jobs)
    tasks = (task(i, *job) for i, job in enumerate(jobs))
    for rec in executor.imap_unordered(functools.partial(_run_task, runner), tasks):
        i = rec.point
        if rec.status == "ok":
            results[i] = RunOutput(deals=rec.deals, monthly=rec.monthly, seed=rec.seed, replication=rec.replication)
        elif errors == "return":
            results[i] = RunFailed(rec.error)
        else:
            name = getattr(jobs[i][0], "name", "scenario")
            raise RuntimeError(f"{name}: replication {rec.replication} (seed {rec.seed}) failed: {rec.error}")
        if on_done:
            on_done(i, results[i])
    return results


def map_runs(jobs: Sequence[tuple[Any, int, int]], workers: int | None = None, *, runner: str = DEFAULT_RUNNER,
             executor: Any = None, on_done: Callable[[int, RunOutput], None] | None = None,
             errors: Literal["raise", "return"] = "raise") -> list[RunOutput]:
    """Run ``(scenario, seed, replication)`` jobs, in parallel when there is more than one worker.

    Args:
        jobs: The runs; results come back in the same order.
        workers: Processes (default: every core); 1 runs in this process.
        runner: ``module:function`` with the signature of ``simulate(scenario, seed, replication)``.
        executor: A pool to reuse (see :func:`make_executor`), or an executor of ``licsim batch``
            (:func:`sim.experiments.executors.make_executor`: local processes or Dask); it is left open.
        on_done: Called as ``on_done(job_index, output)`` as each job finishes (for progress).
        errors: ``raise`` stops at the first failed run (naming its replication and seed);
            ``return`` puts the exception in that run's slot and goes on (calibration uses it).
    """
    from sim.experiments.executors import Executor, available_cores

    jobs = list(jobs)
    if isinstance(executor, Executor):
        return _map_on_executor(executor, jobs, runner, on_done, errors)
    results: list[RunOutput | None] = [None] * len(jobs)
    workers = available_cores() if workers is None else max(1, int(workers))
    if executor is None and (workers == 1 or len(jobs) <= 1):
        for i, (sc, seed, rep) in enumerate(jobs):
            try:
                results[i] = _run_job(runner, sc, seed, rep)
            except UserError:
                raise
            except Exception as exc:
                if errors == "raise":
                    raise
                results[i] = exc  # type: ignore[call-overload]
            if on_done:
                on_done(i, results[i])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]
    from concurrent.futures import as_completed

    own = executor is None
    pool = executor or make_executor(min(workers, len(jobs)))
    try:
        futs = {pool.submit(_run_job, runner, sc, seed, rep): i for i, (sc, seed, rep) in enumerate(jobs)}
        for fut in as_completed(futs):
            i = futs[fut]
            try:
                results[i] = fut.result()
            except UserError:
                raise
            except Exception as exc:
                if errors == "return":
                    results[i] = exc  # type: ignore[call-overload]
                    if on_done:
                        on_done(i, exc)  # type: ignore[arg-type]
                    continue
                sc, seed, rep = jobs[i]
                name = getattr(sc, "name", "scenario")
                raise RuntimeError(f"{name}: replication {rep} (seed {seed}) failed: "
                                   f"{type(exc).__name__}: {exc}") from exc
            if on_done:
                on_done(i, results[i])  # type: ignore[arg-type]
    except BaseException:
        if own:
            pool.shutdown(wait=False, cancel_futures=True)
            own = False
        else:
            for f in futs:
                f.cancel()
        raise
    finally:
        if own:
            pool.shutdown(wait=True)
    return results  # type: ignore[return-value]


def map_replications(scenario: Any, seeds: Sequence[int], workers: int | None = None, *,
                     runner: str = DEFAULT_RUNNER, executor: Any = None,
                     on_done: Callable[[int, RunOutput], None] | None = None) -> list[RunOutput]:
    """Run ``scenario`` once per seed (replication r gets ``seeds[r]``), in parallel across cores."""
    return map_runs([(scenario, int(s), r) for r, s in enumerate(seeds)], workers, runner=runner,
                    executor=executor, on_done=on_done)


# ============================================================================= the command


@dataclass
class ValidationResult:
    scorecard: Scorecard
    yearly: pd.DataFrame
    seeds: list[int]
    out: Path | None


def run_validation(scenario: Any, targets: TargetSet, replications: int, *, seed: int | None = None,
                   workers: int | None = None, runner: str = DEFAULT_RUNNER, out: Path | None = None,
                   console: Any = None, manifest: Mapping[str, Any] | None = None,
                   posterior: Any = None) -> ValidationResult:
    """Run, score, print and (when ``out`` is given) write ``validation.csv``, the figure and friends.

    With ``posterior`` (:class:`sim.analysis.posterior.Posterior`), replication r runs with the
    parameter set its seed draws, so the intervals cover parameter uncertainty as well as seed noise."""
    from sim.analysis.posterior import posterior_jobs

    import time

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.io import write_csv, write_json

    console = console or Console()
    root = int(seed if seed is not None else getattr(scenario, "seed", 0))
    seeds = replication_seeds(root, replications)
    name = getattr(scenario, "name", "scenario")
    jobs, draws = posterior_jobs(scenario, seeds, posterior)
    if posterior is not None:
        console.print(f"parameters: one of {len(posterior)} sets of {posterior.path} per replication (drawn by its "
                      "seed); the 90% intervals cover seed noise and parameter uncertainty")
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"{name}: replications", total=len(seeds))
        outputs = map_runs(jobs, workers, runner=runner, on_done=lambda i, _: progress.advance(task))
    elapsed = time.perf_counter() - t0
    runs = prepare_runs(outputs, targets.universe)
    card = evaluate(targets, runs)
    yearly = yearly_series(runs)
    print_scorecard(card, console, title=f"{name}: calibration targets ({replications} replications)")
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(card.table, out / "validation.csv")
        write_csv(card.values, out / "replications.csv")
        write_csv(yearly, out / "yearly.csv")
        validation_figure(yearly, targets, out / "validation.png", title=f"{name}: simulated vs observed")
        write_json({
            "command": "validate", "scenario": name, **(dict(manifest or {})), "targets": targets.path,
            "targets_digest": targets.digest, "replications": replications, "root_seed": root, "seeds": seeds,
            "passed": card.passed, "summary": card.summary(), "elapsed_s": round(elapsed, 2),
            **({"posterior": posterior.describe(), "posterior_draws": draws} if posterior is not None else {}),
            "files": ["validation.csv", "replications.csv", "yearly.csv", "validation.png"],
        }, out / "manifest.json")
        console.print(f"wrote {out}/validation.csv, validation.png ({elapsed:.0f} s)")
    return ValidationResult(card, yearly, seeds, out)
