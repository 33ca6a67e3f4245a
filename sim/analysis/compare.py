"""Compare two scenarios on common random numbers: paired differences with 90% intervals.

Both scenarios run with the same seeds (replication r of A and of B share seed r), so until the
scenarios differ the two runs are identical month by month, and afterwards the difference
B - A of a replication is the effect of the change plus far less noise than two independent
runs would carry. For each outcome the table gives A's and B's replication means, the mean
paired difference B - A, the 90% interval of the paired differences across replications
(5th-95th percentile: how large the effect is in 9 of 10 futures), and a 90% confidence interval
of the mean difference (Student t): a difference is marked significant (``*``) when that
interval excludes zero.

Outcomes are measured over a *window*: by default from the first year in which the two
scenarios' monthly outputs differ in any replication to the last simulated year (so a change
that starts in 2025 is judged on 2025 onward, not diluted by seven identical years).

Deal outcomes count China out-licensing deals only (the targets file's ``universe``).
Optional ledger columns ``core`` (the asset is one of the licensor's core assets) and
``distressed`` (the licensor was below its distress runway when it sold) add rows on core-asset
timing and distressed sales; without ``distressed``, distressed sales are read from
``deal_type == acquisition`` (the model's distressed global-rights sales).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import EARLY, LICENSEE_KINDS
from sim.analysis.validation import (
    DEFAULT_RUNNER,
    Period,
    PreparedRun,
    format_value,
    load_targets,
    map_runs,
    parse_period,
    prepare_runs,
    replication_seeds,
)
from sim.errors import UserError
from sim.scenarios.schema import STAGES

__all__ = ["COMPARISON_COLUMNS", "compare_runs", "comparison_chart", "comparison_figure", "comparison_window",
           "divergence_month", "input_differences", "print_comparison", "run_comparison"]

STAGE_GROUPS = [("preclinical", ["preclinical"]), ("phase 1", ["phase1"]), ("phase 2", ["phase2"]),
                ("phase 3", ["phase3"]), ("filed/approved", ["filed", "approved"])]
#: Licensee kinds as people name them. An incubator always buys as a NewCo (deal_type "newco"),
#: so its share is the NewCo share too: one row, not two equal ones.
KIND_LABELS = {"mnc": "top-MNC", "mid_size": "mid-size", "incubator": "incubator (NewCo)", "regional": "regional"}
FALLBACK_UNIVERSE: dict[str, Any] = {"china_origin": True, "licensor_kind": "biotech", "territory": {"not": "china"}}

COMPARISON_COLUMNS = ["section", "metric", "label", "period", "unit", "a_mean", "a_p05", "a_p95", "b_mean",
                      "b_p05", "b_p95", "diff_mean", "diff_p05", "diff_p95", "diff_ci_low", "diff_ci_high",
                      "significant", "n"]


def default_universe() -> dict[str, Any]:
    try:
        return dict(load_targets().universe)
    except UserError:
        return dict(FALLBACK_UNIVERSE)


# ------------------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class Outcome:
    key: str
    label: str
    unit: str
    section: str
    fn: Callable[[PreparedRun, Period], float]


def _window(df: pd.DataFrame, w: Period) -> pd.DataFrame:
    mi = df["_mi"].to_numpy() if len(df) else np.array([], dtype=int)
    return df[(mi >= w.start) & (mi <= w.end)]


def _deals(run: PreparedRun, w: Period) -> pd.DataFrame:
    return _window(run.deals, w)


def _months(run: PreparedRun, w: Period) -> pd.DataFrame:
    return _window(run.monthly, w)


def _years(run: PreparedRun, w: Period) -> float:
    n = len(_months(run, w))
    return (n if n else w.months) / 12.0


def _share(d: pd.DataFrame, col: str, values: Sequence[Any]) -> float:
    if not len(d) or col not in d.columns:
        return math.nan
    return float(d[col].isin(list(values)).mean())


def _per_year(fn: Callable[[pd.DataFrame], float]) -> Callable[[PreparedRun, Period], float]:
    return lambda r, w: fn(_deals(r, w)) / _years(r, w)


def _mean_col(col: str, where: Callable[[pd.DataFrame], pd.Series] | None = None):
    def f(r: PreparedRun, w: Period) -> float:
        d = _deals(r, w)
        if where is not None and len(d):
            d = d[where(d).to_numpy()]
        return float(d[col].mean()) if len(d) else math.nan
    return f


def _stage_index(d: pd.DataFrame) -> pd.Series:
    return d["stage"].map({s: i for i, s in enumerate(STAGES)}).astype(float)


def _distressed(d: pd.DataFrame) -> pd.Series:
    if "distressed" in d.columns:
        return d["distressed"].astype(bool)
    return d["deal_type"] == "acquisition"


def _survival(r: PreparedRun, w: Period) -> float:
    mo = r.monthly
    if not len(mo) or "folded_biotechs" not in mo.columns:
        return math.nan
    inside = _window(mo, w)
    before = mo[mo["_mi"] < w.start]
    start = float(before["active_biotechs"].iloc[-1]) if len(before) else float(inside["active_biotechs"].iloc[0])
    exposed = start + float(inside.get("new_biotechs", pd.Series(dtype=float)).sum())
    return 1.0 - float(inside["folded_biotechs"].sum()) / exposed if exposed else math.nan


def _monthly_per_year(col: str):
    def f(r: PreparedRun, w: Period) -> float:
        mo = _months(r, w)
        return float(mo[col].sum()) / _years(r, w) if col in mo.columns and len(mo) else math.nan
    return f


def _monthly_last(col: str):
    def f(r: PreparedRun, w: Period) -> float:
        mo = _months(r, w)
        return float(mo[col].iloc[-1]) if col in mo.columns and len(mo) else math.nan
    return f


def outcomes(columns: Sequence[str]) -> list[Outcome]:
    """The outcomes compared, given the deal ledger's columns (optional rows need optional columns)."""
    early = lambda d: d["stage"].isin(EARLY)  # noqa: E731
    out = [
        Outcome("deals_per_year", "deals per year", "count", "deals", _per_year(len)),
        Outcome("early_deals_per_year", "preclinical + phase 1 deals per year", "count", "deals",
                _per_year(lambda d: float(d["stage"].isin(EARLY).sum()))),
        Outcome("upfront_per_year_usd", "upfront payments per year", "usd", "value",
                _per_year(lambda d: float(d["upfront_usd"].sum()))),
        Outcome("headline_per_year_usd", "headline value per year", "usd", "value",
                _per_year(lambda d: float(d["total_value_usd"].sum()))),
        Outcome("upfront_per_deal_usd", "mean upfront per deal", "usd", "value", _mean_col("upfront_usd")),
        Outcome("early_upfront_per_deal_usd", "mean upfront per early deal", "usd", "value",
                _mean_col("upfront_usd", early)),
        Outcome("headline_per_deal_usd", "mean headline value per deal", "usd", "value",
                _mean_col("total_value_usd")),
        Outcome("equity_per_year_usd", "NewCo equity to licensors per year", "usd", "value",
                _per_year(lambda d: float(d["equity_usd"].sum()) if "equity_usd" in d.columns else math.nan)),
    ]
    for label, stages in STAGE_GROUPS:
        out.append(Outcome(f"share_{label.replace(' ', '').replace('/', '_')}", f"share at {label}", "share",
                           "stage mix", lambda r, w, s=stages: _share(_deals(r, w), "stage", s)))
    out += [
        Outcome("share_early", "share at preclinical or phase 1", "share", "stage mix",
                lambda r, w: _share(_deals(r, w), "stage", EARLY)),
        Outcome("mean_stage", "mean stage at signing (0 = preclinical, 5 = approved)", "number", "stage mix",
                lambda r, w: float(_stage_index(_deals(r, w)).mean()) if len(_deals(r, w)) else math.nan),
    ]
    if "core" in columns:
        is_core = lambda d: d["core"].astype(bool)  # noqa: E731
        out += [
            Outcome("core_mean_stage", "core assets: mean stage at signing", "number", "stage mix",
                    lambda r, w: float(_stage_index(_deals(r, w)[is_core(_deals(r, w)).to_numpy()]).mean())
                    if len(_deals(r, w)) and is_core(_deals(r, w)).any() else math.nan),
            Outcome("core_late_share", "core assets: share licensed at phase 2 or later", "share", "stage mix",
                    lambda r, w: float((~_deals(r, w)[is_core(_deals(r, w)).to_numpy()]["stage"].isin(EARLY)).mean())
                    if len(_deals(r, w)) and is_core(_deals(r, w)).any() else math.nan),
            Outcome("noncore_early_share", "non-core assets: share licensed at preclinical or phase 1", "share",
                    "stage mix",
                    lambda r, w: float(_deals(r, w)[~is_core(_deals(r, w)).to_numpy()]["stage"].isin(EARLY).mean())
                    if len(_deals(r, w)) and (~is_core(_deals(r, w))).any() else math.nan),
        ]
    dis_label = "distressed" if "distressed" in columns else "distressed (acquisition)"
    out += [
        Outcome("distressed_early_per_year", f"{dis_label} early deals per year", "count", "distress",
                _per_year(lambda d: float((_distressed(d) & d["stage"].isin(EARLY)).sum()) if len(d) else 0.0)),
        Outcome("distressed_share", f"share of deals that are {dis_label} sales", "share", "distress",
                lambda r, w: float(_distressed(_deals(r, w)).mean()) if len(_deals(r, w)) else math.nan),
    ]
    for kind in LICENSEE_KINDS:
        label = KIND_LABELS.get(kind, kind.replace("_", "-"))
        out.append(Outcome(f"share_{kind}", f"share with {label} licensees", "share",
                           "counterparties", lambda r, w, k=kind: _share(_deals(r, w), "licensee_kind", [k])))
    out += [
        Outcome("share_us_licensee", "share with US licensees", "share", "counterparties",
                lambda r, w: _share(_deals(r, w), "licensee_region", ["US"])),
        Outcome("financing_per_year_usd", "primary financing per year", "usd", "biotechs",
                _monthly_per_year("primary_financing_usd")),
        Outcome("active_biotechs_end", "active biotechs at the end", "number", "biotechs",
                _monthly_last("active_biotechs")),
        Outcome("folded_per_year", "biotechs folding per year", "number", "biotechs",
                _monthly_per_year("folded_biotechs")),
        Outcome("biotech_survival", "biotech survival over the window", "share", "biotechs", _survival),
    ]
    return out


YEARLY = [("deals", "deals", "count", lambda d: float(len(d))),
          ("upfront_usd", "upfront payments", "usd", lambda d: float(d["upfront_usd"].sum())),
          ("headline_usd", "headline value", "usd", lambda d: float(d["total_value_usd"].sum())),
          ("early_share", "share at preclinical or phase 1", "share",
           lambda d: float(d["stage"].isin(EARLY).mean()) if len(d) else math.nan)]


# ------------------------------------------------------------------------------ pairing


def comparison_window(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun]) -> tuple[Period, str]:
    """The default window: from the first year the runs differ to the last month both simulate,
    with a note on how it was chosen. The runs must share at least one month."""
    months = sorted(set(runs_a[0].monthly["_mi"]) & set(runs_b[0].monthly["_mi"]))
    first = divergence_month(runs_a, runs_b)
    if first is None:
        start = months[0] // 12 * 12
        note = " (the runs are identical)"
    else:
        start = max(first // 12 * 12, months[0])
        note = f" (from the first year the runs differ, {first // 12}-{first % 12 + 1:02d})"
    end = months[-1]
    label = f"{start // 12}..{end // 12}" if end % 12 == 11 else f"{start // 12}..{end // 12}-{end % 12 + 1:02d}"
    return Period(start, end, label), note


def divergence_month(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun]) -> int | None:
    """First month (index) at which any replication's monthly outputs differ between A and B; None if never."""
    first: int | None = None
    for ra, rb in zip(runs_a, runs_b):
        ma, mb = ra.monthly.set_index("_mi"), rb.monthly.set_index("_mi")
        common = ma.index.intersection(mb.index)
        cols = [c for c in ma.columns if c in mb.columns and c != "replication"
                and pd.api.types.is_numeric_dtype(ma[c]) and pd.api.types.is_numeric_dtype(mb[c])]
        a = ma.loc[common, cols].to_numpy(dtype=float)
        b = mb.loc[common, cols].to_numpy(dtype=float)
        diff = ~np.isclose(a, b, rtol=1e-12, atol=0.0, equal_nan=True)
        rows = np.flatnonzero(diff.any(axis=1))
        if len(rows):
            m = int(common[rows[0]])
            first = m if first is None else min(first, m)
        da, db = ra.all_deals, rb.all_deals
        n = min(len(da), len(db))
        if len(da) != len(db) or (n and not np.allclose(da["upfront_usd"].to_numpy()[:n],
                                                        db["upfront_usd"].to_numpy()[:n])):
            # deals differ: the first deal that is not the same in both ledgers
            for i in range(n + 1):
                if i == n or da["_mi"].iat[i] != db["_mi"].iat[i] or \
                        not math.isclose(da["upfront_usd"].iat[i], db["upfront_usd"].iat[i], rel_tol=1e-12):
                    cands = [int(x["_mi"].iat[i]) for x in (da, db) if i < len(x)]
                    if cands:
                        first = min(cands) if first is None else min(first, *cands)
                    break
    return first


def _stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    from sim.analysis.validation import _interval

    ok = np.isfinite(a) & np.isfinite(b)
    d = b[ok] - a[ok]
    am, a05, a95, _ = _interval(a)
    bm, b05, b95, _ = _interval(b)
    row = {"a_mean": am, "a_p05": a05, "a_p95": a95, "b_mean": bm, "b_p05": b05, "b_p95": b95,
           "diff_mean": math.nan, "diff_p05": math.nan, "diff_p95": math.nan, "diff_ci_low": math.nan,
           "diff_ci_high": math.nan, "significant": False, "n": int(len(d))}
    if len(d):
        row["diff_mean"], row["diff_p05"], row["diff_p95"], _ = _interval(d)
        if len(d) > 1:
            se = float(d.std(ddof=1)) / math.sqrt(len(d))
            q = _t95(len(d) - 1)
            row["diff_ci_low"], row["diff_ci_high"] = row["diff_mean"] - q * se, row["diff_mean"] + q * se
            row["significant"] = bool(row["diff_ci_low"] > 0 or row["diff_ci_high"] < 0)
    return row


def _t95(df: int) -> float:
    """The 95th percentile of Student's t (two-sided 90% interval)."""
    try:
        from scipy.stats import t

        return float(t.ppf(0.95, df))
    except ImportError:  # pragma: no cover - scipy comes with SALib
        return 1.645 + 2.0 / max(df, 1)


def compare_runs(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun], window: Period) -> pd.DataFrame:
    """The comparison table: window outcomes, then per-year rows, as paired statistics."""
    if len(runs_a) != len(runs_b):
        raise ValueError("A and B need the same number of replications")
    cols = set(runs_a[0].deals.columns) & set(runs_b[0].deals.columns) if runs_a else set()
    rows = []
    for o in outcomes(sorted(cols)):
        a = np.array([o.fn(r, window) for r in runs_a], dtype=float)
        b = np.array([o.fn(r, window) for r in runs_b], dtype=float)
        rows.append({"section": o.section, "metric": o.key, "label": o.label, "period": window.label,
                     "unit": o.unit, **_stats(a, b)})
    for y in range(window.start // 12, window.end // 12 + 1):
        p = Period(max(y * 12, window.start), min(y * 12 + 11, window.end), str(y))
        for key, label, unit, fn in YEARLY:
            a = np.array([fn(_deals(r, p)) for r in runs_a], dtype=float)
            b = np.array([fn(_deals(r, p)) for r in runs_b], dtype=float)
            rows.append({"section": "by year", "metric": key, "label": label, "period": str(y), "unit": unit,
                         **_stats(a, b)})
    return pd.DataFrame(rows, columns=COMPARISON_COLUMNS)


# ------------------------------------------------------------------------------ printing

#: The outcomes a strategist asks for first, in this order (``licsim compare``'s headline).
HEADLINE = ["deals_per_year", "upfront_per_year_usd", "headline_per_year_usd", "share_early", "biotech_survival"]
#: Scenario fields that name or describe a scenario rather than set an input.
_NOT_INPUTS = ("name", "description", "extends", "seed")
INTERVAL_NOTE = ("90% CI: the 90% confidence interval of the mean paired difference B - A (Student t "
                 "over the replications); * where it excludes zero")


def window_text(label: str) -> str:
    """A period label as people read it: 2026..2030 -> 2026-2030."""
    return str(label).replace("..", "\u2013")


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def input_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """The inputs that differ between two scenarios (``scenario_to_dict`` form): (dotted path, A's
    value, B's value), in the scenario's field order; a missing value is None."""
    fa = {k: v for k, v in _flatten(dict(a)).items() if k.split(".")[0] not in _NOT_INPUTS}
    fb = {k: v for k, v in _flatten(dict(b)).items() if k.split(".")[0] not in _NOT_INPUTS}
    keys = list(fa) + [k for k in fb if k not in fa]
    return [(k, fa.get(k), fb.get(k)) for k in keys if fa.get(k) != fb.get(k)]


def _short(value: Any, width: int = 28) -> str:
    """A scenario value in a few characters (lists of shocks and points are summarised)."""
    if value is None or value == [] or value == {}:
        return "none"
    if isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        text = "; ".join(", ".join(f"{k} {v}" for k, v in item.items() if v is not None) for item in value)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt_diff(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "-"
    if unit in ("share", "ratio"):
        return "0.0 pp" if abs(v) < 0.0005 else f"{v * 100:+.1f} pp"
    if unit == "count":
        return "0.0" if abs(v) < 0.05 else f"{v:+,.1f}"
    if unit == "number":  # two decimals at most: 1.19 -> 1.26 is +0.07, not +0.0751
        return ("0.00" if abs(v) < 0.005 else f"{v:+.2f}") if abs(v) < 100 else f"{v:+,.0f}"
    s = format_value(abs(v), unit)
    return ("-" if v < 0 else "+") + s


def _fmt_level(v: float, unit: str) -> str:
    if unit == "number" and np.isfinite(v) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return format_value(v, unit)


def ci_text(row: Mapping[str, Any]) -> str:
    """The interval the significance star is judged on: the 90% CI of the mean difference."""
    lo, hi, u = row["diff_ci_low"], row["diff_ci_high"], row["unit"]
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "-"
    return f"{_fmt_diff(lo, u)} to {_fmt_diff(hi, u)}"


def _outcome_table(title: str, rows: pd.DataFrame, sections: bool, label_col: str = "outcome"):
    from rich.table import Table

    tab = Table(title=title, title_justify="left", header_style="bold", box=None, padding=(0, 1), expand=False)
    tab.add_column(label_col, ratio=1, overflow="fold", min_width=14)
    for c in ("A", "B", "B - A", "90% CI"):
        tab.add_column(c, justify="right", no_wrap=True)
    tab.add_column("", no_wrap=True, width=1)
    section = None
    for _, r in rows.iterrows():
        if sections and r["section"] != section:
            section = r["section"]
            tab.add_row(f"[bold underline]{section}[/]", "", "", "", "", "")
        u = r["unit"]
        tab.add_row(str(r["label"]), _fmt_level(r["a_mean"], u),
                    _fmt_level(r["b_mean"], u), _fmt_diff(r["diff_mean"], u), ci_text(r),
                    "*" if r["significant"] else "")
    return tab


def people_table(rows: pd.DataFrame, label_col: str = "outcome") -> pd.DataFrame:
    """Rows of a comparison table (comparison.csv) as people read them, formatted exactly as
    ``licsim compare`` prints them: outcome, A, B, B - A, the 90% CI of the mean difference, and
    ``*`` where that interval excludes zero."""
    out = []
    for _, r in rows.iterrows():
        r = {**{c: math.nan for c in ("a_mean", "b_mean", "diff_mean", "diff_ci_low", "diff_ci_high")}, **r}
        u = str(r.get("unit", ""))
        sig = str(r.get("significant", "")).strip().lower() in ("true", "1", "*")
        out.append({label_col: str(r["label"]), "A": _fmt_level(float(r["a_mean"]), u),
                    "B": _fmt_level(float(r["b_mean"]), u), "B - A": _fmt_diff(float(r["diff_mean"]), u),
                    "90% CI of B - A": ci_text({**r, "diff_ci_low": float(r["diff_ci_low"]),
                                                "diff_ci_high": float(r["diff_ci_high"]), "unit": u}),
                    "": "*" if sig else ""})
    return pd.DataFrame(out, columns=[label_col, "A", "B", "B - A", "90% CI of B - A", ""])


def print_comparison(table: pd.DataFrame, labels: tuple[str, str], window: Period, console: Any = None,
                     note: str = "", inputs: Sequence[tuple[str, Any, Any]] | None = None) -> None:
    """Print a comparison for people, narrowest first: the headline outcomes, the inputs that
    differ, the other outcomes, and the headline measures year by year. Every interval printed
    is the one the star is judged on (:data:`INTERVAL_NOTE`); the spread of the paired
    differences across runs is in comparison.csv (``diff_p05``, ``diff_p95``)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    la, lb = labels
    win = table[table["section"] != "by year"]
    n = int(win["n"].max()) if len(win) else 0
    console.print(f"[bold]{lb}[/bold] (B) against [bold]{la}[/bold] (A), {window_text(window.label)}{note}; "
                  f"means of {n} paired runs")
    head = win.set_index("metric").reindex([m for m in HEADLINE if m in set(win["metric"])]).reset_index()
    console.print(_outcome_table("Headline", head, sections=False))
    if inputs is not None:
        tab = Table(title="What differs between the scenarios (inputs)", title_justify="left", header_style="bold",
                    box=None, padding=(0, 1))
        tab.add_column("input", overflow="fold", ratio=1, min_width=16)
        tab.add_column("A", overflow="fold", ratio=1)
        tab.add_column("B", overflow="fold", ratio=1)
        for path, va, vb in list(inputs)[:12]:
            tab.add_row(path, _short(va, 80), _short(vb, 80))
        if len(inputs) > 12:
            tab.add_row(f"... and {len(inputs) - 12} more (manifest.json has both scenarios)", "", "")
        if not inputs:
            tab.add_row("none: the two scenarios set the same inputs", "", "")
        console.print(tab)
    rest = win[~win["metric"].isin(HEADLINE)]
    if len(rest):
        console.print(_outcome_table(f"All outcomes, {window_text(window.label)}", rest, sections=True))
    yr = table[(table["section"] == "by year") & table["metric"].isin([k for k, *_ in YEARLY[:3]])]
    if len(yr):
        yr = yr.assign(label=[f"{p} {lab}" for p, lab in zip(yr["period"], yr["label"])])
        console.print(_outcome_table("By year", yr, sections=False, label_col="year, outcome"))
    console.print(INTERVAL_NOTE)


# -------------------------------------------------------------------------------- chart


def _yearly_matrix(runs: Sequence[PreparedRun], years: Sequence[int], fn: Callable[[pd.DataFrame], float]) -> np.ndarray:
    out = np.full((len(runs), len(years)), np.nan)
    for i, r in enumerate(runs):
        dy = r.deals["_mi"].to_numpy() // 12 if len(r.deals) else np.array([], dtype=int)
        for j, y in enumerate(years):
            out[i, j] = fn(r.deals[dy == y])
    return out


#: The drivers' monthly columns, as people name them, with their units.
DRIVER_LABELS = {
    "funding_index": ("China biotech funding", "index, 2021 = 1"),
    "trust_index": ("trust in China data", "0 to 1"),
    "patent_cliff_index": ("patent-cliff pressure", "index, 2023 = 1"),
    "us_venture_index": ("US venture funding", "index, 2021 = 1"),
    "rd_externalisation_index": ("R&D externalisation", "0 to 1"),
}
#: Smallest font on the comparison chart, in points (it is read on paper and on slides).
CHART_FONT = 10


def human(name: str) -> str:
    """A scenario or field name for a chart: underscores become spaces."""
    return str(name).replace("_", " ")


def _driver_matrix(runs: Sequence[PreparedRun], col: str, months: Sequence[int]) -> np.ndarray:
    mat = np.full((len(runs), len(months)), np.nan)
    for i, r in enumerate(runs):
        if col in r.monthly.columns:
            mat[i] = r.monthly.set_index("_mi")[col].reindex(months).to_numpy(dtype=float)
    return mat


def differing_drivers(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun], months: Sequence[int]) -> list[str]:
    """The driver columns whose monthly path differs between A and B."""
    out = []
    for col in DRIVER_LABELS:
        a, b = _driver_matrix(runs_a[:1], col, months), _driver_matrix(runs_b[:1], col, months)
        if np.isfinite(a).any() and not np.allclose(a, b, equal_nan=True):
            out.append(col)
    return out


def comparison_figure(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun], labels: tuple[str, str],
                      window: Period, path: str | Path,
                      inputs: Sequence[tuple[str, Any, Any]] | None = None) -> Path:
    """Write :func:`comparison_chart` as a PNG (atomically)."""
    from sim.io import write_figure

    return write_figure(comparison_chart(runs_a, runs_b, labels, window, inputs), path, dpi=100)


def comparison_chart(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun], labels: tuple[str, str],
                     window: Period, inputs: Sequence[tuple[str, Any, Any]] | None = None) -> Any:
    """A and B side by side on one sheet, read top left first: the driver(s) that differ, then
    deals, upfronts, headline value, early-stage share and financing per year (mean line, band:
    90% of runs), the stage and licensee mix over the window, and active biotechs. Every panel
    has a legend, a unit on each axis and people's names."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    months = sorted(set(runs_a[0].monthly["_mi"]) & set(runs_b[0].monthly["_mi"]))
    years = sorted({m // 12 for m in months})
    fig = Figure(figsize=(16, 12.5), layout="constrained")
    axes = fig.subplots(3, 3)
    colours = ("#1f77b4", "#d62728")
    names = (f"A: {human(labels[0])}", f"B: {human(labels[1])}")
    fs = CHART_FONT
    win_text = window_text(window.label)

    def finish(ax, title: str, ylabel: str, xlabel: str = "year", legend: bool = True) -> None:
        ax.set_title(title, fontsize=fs + 3, loc="left")
        ax.set_ylabel(ylabel, fontsize=fs + 1)
        ax.set_xlabel(xlabel, fontsize=fs + 1)
        ax.tick_params(labelsize=fs + 1)
        ax.grid(alpha=0.3)
        if legend:
            handles, labs = ax.get_legend_handles_labels()
            handles.append(Patch(facecolor="grey", alpha=0.15, label=f"comparison window, {win_text}"))
            ax.legend(handles=handles, fontsize=fs, frameon=False, loc="best")

    def band(ax, x, mats, scale=1.0, yearly=True):
        for mat, lab, col in zip(mats, names, colours):
            with np.errstate(all="ignore"), warnings.catch_warnings():  # a year without deals has no share
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(mat, axis=0) / scale
                lo, hi = np.nanpercentile(mat, 5, axis=0) / scale, np.nanpercentile(mat, 95, axis=0) / scale
            ax.fill_between(x, lo, hi, color=col, alpha=0.2, linewidth=0)
            ax.plot(x, mean, color=col, label=f"{lab} (mean; band 90% of runs)", marker="o" if len(x) < 30 else None,
                    ms=3)
        if yearly:
            ax.axvspan(window.start // 12 - 0.5, window.end // 12 + 0.5, color="grey", alpha=0.15, linewidth=0)
        else:
            ax.axvspan(window.start / 12, (window.end + 1) / 12, color="grey", alpha=0.15, linewidth=0)
        ax.set_ylim(bottom=0)

    from matplotlib.patches import Patch

    # 1. what was changed: the driver paths that differ, else the inputs written out
    ax = axes[0, 0]
    drivers = differing_drivers(runs_a, runs_b, months)
    x = np.array([m / 12 for m in months])
    if drivers:
        styles = ["-", "--", ":", "-."]
        handles = []
        for j, col in enumerate(drivers[:4]):
            for runs, colour in zip((runs_a, runs_b), colours):
                ax.plot(x, np.nanmean(_driver_matrix(runs[:1], col, months), axis=0), color=colour, ls=styles[j],
                        lw=2)
            handles.append(Line2D([], [], color="black", ls=styles[j], label=DRIVER_LABELS[col][0]))
        handles += [Line2D([], [], color=c, lw=2, label=n) for c, n in zip(colours, names)]
        ax.axvspan(window.start / 12, (window.end + 1) / 12, color="grey", alpha=0.15, linewidth=0)
        ax.legend(handles=handles, fontsize=fs, frameon=False, loc="best")
        units = {DRIVER_LABELS[c][1] for c in drivers[:4]}
        finish(ax, "What differs: " + ", ".join(DRIVER_LABELS[c][0] for c in drivers[:2])
               + (" ..." if len(drivers) > 2 else ""),
               units.pop() if len(units) == 1 else "index (see legend)", legend=False)
    else:
        ax.axis("off")
        ax.set_title("What differs (inputs)", fontsize=fs + 3, loc="left")
        lines = [f"{human(k)}: {_short(va, 18)} -> {_short(vb, 18)}" for k, va, vb in (inputs or [])[:8]]
        ax.text(0, 0.95, "\n".join(lines) if lines else "no driver differs", va="top", ha="left", fontsize=fs,
                transform=ax.transAxes, wrap=True)

    usd_b = FuncFormatter(lambda v, _p: "$0" if v == 0 else f"${v * 1000:,.0f}M" if abs(v) < 1
                          else f"${v:,.1f}B" if abs(v) < 10 else f"${v:,.0f}B")
    yx = np.array(years, dtype=float)
    yearly_panels = [
        (axes[0, 1], "Deals per year", YEARLY[0][3], 1.0, "deals per year", None),
        (axes[0, 2], "Upfront payments per year", YEARLY[1][3], 1e9, "US$ per year", usd_b),
        (axes[1, 0], "Headline deal value per year", YEARLY[2][3], 1e9, "US$ per year", usd_b),
        (axes[1, 1], "Share of deals at preclinical or phase 1", YEARLY[3][3], 0.01, "% of the year's deals", None),
    ]
    for ax, title, fn, scale, ylab, fmt in yearly_panels:
        band(ax, yx, [_yearly_matrix(runs, years, fn) for runs in (runs_a, runs_b)], scale)
        if fmt is not None:
            ax.yaxis.set_major_formatter(fmt)
        finish(ax, title, ylab)
    ax = axes[1, 2]
    fin = []
    for runs in (runs_a, runs_b):
        mat = np.full((len(runs), len(years)), np.nan)
        for i, r in enumerate(runs):
            if "primary_financing_usd" in r.monthly.columns:
                s = r.monthly.groupby(r.monthly["_mi"] // 12)["primary_financing_usd"].sum()
                mat[i] = s.reindex(years).to_numpy(dtype=float)
        fin.append(mat)
    band(ax, yx, fin, 1e9)
    ax.yaxis.set_major_formatter(usd_b)
    finish(ax, "Primary financing of China biotechs", "US$ per year")

    def mix(ax, groups, col, title):
        width = 0.38
        for k, (runs, lab, colr) in enumerate(zip((runs_a, runs_b), names, colours)):
            shares = np.array([[_share(_deals(r, window), col, vals) for _, vals in groups] for r in runs])
            with np.errstate(all="ignore"):
                m = np.nanmean(shares, axis=0) * 100
                lo, hi = np.nanpercentile(shares, 5, axis=0) * 100, np.nanpercentile(shares, 95, axis=0) * 100
            xs = np.arange(len(groups)) + (k - 0.5) * width
            # Rounding can put a percentile a hair past an (equal) mean; error bars must not be negative.
            err = np.clip(np.nan_to_num(np.array([m - lo, hi - m])), 0.0, None)
            ax.bar(xs, m, width, color=colr, label=f"{lab} (mean; bar 90% of runs)", yerr=err, capsize=3, alpha=0.85)
        ax.set_xticks(np.arange(len(groups)), [g.replace("/", "/\n").replace(" (", "\n(") for g, _ in groups])
        ax.set_ylim(0, 125)  # room for the legend above the bars
        ax.set_yticks(range(0, 101, 20))
        finish(ax, f"{title}, {win_text}", "% of deals", xlabel="", legend=False)
        ax.legend(fontsize=fs, frameon=False, loc="upper center", ncols=1)
        ax.grid(alpha=0.3, axis="y")

    mix(axes[2, 0], STAGE_GROUPS, "stage", "Stage at signing")
    mix(axes[2, 1], [(KIND_LABELS.get(k, k), [k]) for k in LICENSEE_KINDS], "licensee_kind", "Licensees")
    axes[2, 1].tick_params(axis="x", labelsize=fs)
    ax = axes[2, 2]
    mats = []
    for runs in (runs_a, runs_b):
        mat = np.full((len(runs), len(months)), np.nan)
        for i, r in enumerate(runs):
            s = r.monthly.set_index("_mi")["active_biotechs"] if "active_biotechs" in r.monthly.columns else None
            if s is not None:
                mat[i] = s.reindex(months).to_numpy(dtype=float)
        mats.append(mat)
    band(ax, x, mats, yearly=False)
    finish(ax, "Active China biotechs", "biotechs at month end")
    fig.suptitle(f"{human(labels[1])} (B) against {human(labels[0])} (A): the same seeds; shaded: the comparison "
                 f"window, {win_text}; bands: 90% of runs", fontsize=fs + 4)
    return fig


# ------------------------------------------------------------------------------ the command


@dataclass
class ComparisonResult:
    table: pd.DataFrame
    window: Period
    seeds: list[int]
    out: Path | None


def _is_ours(folder: Path) -> bool:
    return not folder.exists() or (folder.is_dir() and (not any(folder.iterdir())
                                                        or (folder / "comparison.csv").is_file()))


def _inputs_of(sc_a: Any, sc_b: Any) -> list[tuple[str, Any, Any]] | None:
    """The inputs two scenario objects differ in; None when they are not scenarios."""
    try:
        from sim.scenarios.loader import scenario_to_dict

        return input_differences(scenario_to_dict(sc_a), scenario_to_dict(sc_b))
    except Exception:  # a stand-in object (tests): no inputs to show
        return None


def run_comparison(sc_a: Any, sc_b: Any, replications: int, *, seed: int | None = None, workers: int | None = None,
                   out: Path | None = None, window: str | None = None, runner: str = DEFAULT_RUNNER,
                   console: Any = None, universe: Mapping[str, Any] | None = None,
                   manifest: Mapping[str, Any] | None = None, posterior: Any = None) -> ComparisonResult:
    """Run A and B on the same seeds, print the paired comparison, write the outputs (atomically).

    With ``posterior`` (:class:`sim.analysis.posterior.Posterior`), replication r of A and of B
    both run with the parameter set seed r draws (a parameter A and B set differently keeps each
    one's value), so the intervals cover parameter uncertainty as well as seed noise."""
    from sim.analysis.posterior import differing, posterior_jobs

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.io import atomic_dir, write_csv, write_json, write_parquet

    console = console or Console()
    la, lb = getattr(sc_a, "name", "A"), getattr(sc_b, "name", "B")
    try:
        win_override = parse_period(window) if window else None
    except ValueError as exc:
        raise UserError(f"--window: {exc}") from None
    if out is not None and not _is_ours(Path(out)):
        raise UserError(f"--out {out}: the folder exists and is not a comparison folder (no comparison.csv); "
                        "choose a new or empty folder")
    root = int(seed if seed is not None else getattr(sc_a, "seed", 0))
    seeds = replication_seeds(root, replications)
    own = differing(sc_a, sc_b, posterior.params) if posterior is not None else []
    jobs_a, draws = posterior_jobs(sc_a, seeds, posterior, skip=own)
    jobs_b, _ = posterior_jobs(sc_b, seeds, posterior, skip=own)  # the same draws: the pairing holds
    jobs = jobs_a + jobs_b
    if posterior is None:
        intervals = "seed noise only (the scenarios' parameters as written)"
    else:
        intervals = (f"seed noise and parameter uncertainty (one of {len(posterior)} parameter sets of "
                     f"{posterior.path} per replication, the same for A and B"
                     + (f"; {', '.join(own)} kept as each scenario sets it" if own else "") + ")")
    console.print(f"intervals cover {intervals}")
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as progress:
        task = progress.add_task(f"{la} and {lb}: replications", total=len(jobs))
        outs = map_runs(jobs, workers, runner=runner, on_done=lambda i, _: progress.advance(task))
    elapsed = time.perf_counter() - t0
    universe = dict(universe) if universe is not None else default_universe()
    runs_a = prepare_runs(outs[:replications], universe)
    runs_b = prepare_runs(outs[replications:], universe)
    months = sorted(set(runs_a[0].monthly["_mi"]) & set(runs_b[0].monthly["_mi"]))
    if not months:
        raise UserError(f"{la} and {lb} share no simulated months; compare scenarios with overlapping horizons")
    win, note = (win_override, "") if win_override is not None else comparison_window(runs_a, runs_b)
    table = compare_runs(runs_a, runs_b, win)
    inputs = _inputs_of(sc_a, sc_b)
    print_comparison(table, (la, lb), win, console, note=note, inputs=inputs)
    if out is not None:
        out = Path(out)
        with atomic_dir(out) as tmp:
            write_csv(table, tmp / "comparison.csv")
            comparison_figure(runs_a, runs_b, (la, lb), win, tmp / "compare.png", inputs=inputs)
            for tag, name, part in (("a", la, outs[:replications]), ("b", lb, outs[replications:])):
                sub = tmp / f"{tag}_{name}"
                write_parquet(pd.concat([o.deals for o in part], ignore_index=True), sub / "deals.parquet")
                write_parquet(pd.concat([o.monthly for o in part], ignore_index=True), sub / "monthly.parquet")
            write_json({
                "command": "compare", "scenario": f"{lb} vs {la}", "a": la, "b": lb, **dict(manifest or {}),
                "replications": replications, "root_seed": root, "seeds": seeds,
                "window": win.label, "window_rule": "given" if win_override else "first year the runs differ",
                "inputs_changed": [{"input": k, "a": va, "b": vb} for k, va, vb in inputs or []],
                "universe": universe, "elapsed_s": round(elapsed, 2), "intervals_cover": intervals,
                **({"posterior": posterior.describe(), "posterior_draws": draws, "posterior_kept": own}
                   if posterior is not None else {}),
                "files": ["comparison.csv", "compare.png", f"a_{la}/", f"b_{lb}/"],
            }, tmp / "manifest.json")
        console.print(f"wrote {out}/comparison.csv, compare.png ({elapsed:.0f} s)")
    return ComparisonResult(table, win, seeds, out)
