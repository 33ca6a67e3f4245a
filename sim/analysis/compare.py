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

__all__ = ["COMPARISON_COLUMNS", "compare_runs", "comparison_figure", "comparison_window", "divergence_month",
           "run_comparison"]

STAGE_GROUPS = [("preclinical", ["preclinical"]), ("phase 1", ["phase1"]), ("phase 2", ["phase2"]),
                ("phase 3", ["phase3"]), ("filed/approved", ["filed", "approved"])]
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
        out.append(Outcome(f"share_{kind}", f"share with {kind.replace('_', '-')} licensees", "share",
                           "counterparties", lambda r, w, k=kind: _share(_deals(r, w), "licensee_kind", [k])))
    out += [
        Outcome("share_newco", "share of NewCo deals", "share", "counterparties",
                lambda r, w: _share(_deals(r, w), "deal_type", ["newco"])),
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


def _fmt_diff(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "-"
    if unit in ("share", "ratio"):
        return f"{v * 100:+.1f} pp"
    if unit in ("count", "number"):
        return f"{v:+.3g}" if abs(v) < 100 else f"{v:+.0f}"
    s = format_value(abs(v), unit)
    return ("-" if v < 0 else "+") + s


def print_comparison(table: pd.DataFrame, labels: tuple[str, str], window: Period, console: Any = None,
                     note: str = "") -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    la, lb = labels
    win = table[table["section"] != "by year"]
    tab = Table(title=f"{lb} vs {la}, {window.label.replace('..', '–')}{note}", header_style="bold", box=None,
                padding=(0, 1))
    for c, j in [("outcome", "left"), (f"A: {la}", "right"), (f"B: {lb}", "right"), ("B - A", "right"),
                 ("90% interval of B - A", "right"), ("", "left")]:
        tab.add_column(c, justify=j)  # type: ignore[arg-type]
    section = None
    for _, r in win.iterrows():
        if r["section"] != section:
            section = r["section"]
            tab.add_row(f"[bold]{section}[/bold]", "", "", "", "", "")
        u = r["unit"]
        tab.add_row(f"  {r['label']}", format_value(r["a_mean"], u), format_value(r["b_mean"], u),
                    _fmt_diff(r["diff_mean"], u),
                    f"{_fmt_diff(r['diff_p05'], u)} to {_fmt_diff(r['diff_p95'], u)}" if r["n"] else "-",
                    "*" if r["significant"] else "")
    console.print(tab)
    yr = table[table["section"] == "by year"]
    if len(yr):
        t2 = Table(title="by year (A -> B, B - A [90% interval])", header_style="bold", box=None, padding=(0, 1))
        t2.add_column("year")
        for key, label, unit, _ in YEARLY[:3]:
            t2.add_column(label, justify="right")
        for y, g in yr.groupby("period", sort=True):
            cells = [str(y)]
            for key, _, unit, _ in YEARLY[:3]:
                r = g[g["metric"] == key].iloc[0]
                cells.append(f"{format_value(r['a_mean'], unit)} -> {format_value(r['b_mean'], unit)}  "
                             f"{_fmt_diff(r['diff_mean'], unit)} [{_fmt_diff(r['diff_p05'], unit)}, "
                             f"{_fmt_diff(r['diff_p95'], unit)}]" + (" *" if r["significant"] else ""))
            t2.add_row(*cells)
        console.print(t2)
    console.print("* the 90% confidence interval of the mean paired difference excludes zero")


# -------------------------------------------------------------------------------- chart


def _yearly_matrix(runs: Sequence[PreparedRun], years: Sequence[int], fn: Callable[[pd.DataFrame], float]) -> np.ndarray:
    out = np.full((len(runs), len(years)), np.nan)
    for i, r in enumerate(runs):
        dy = r.deals["_mi"].to_numpy() // 12 if len(r.deals) else np.array([], dtype=int)
        for j, y in enumerate(years):
            out[i, j] = fn(r.deals[dy == y])
    return out


def comparison_figure(runs_a: Sequence[PreparedRun], runs_b: Sequence[PreparedRun], labels: tuple[str, str],
                      window: Period, path: str | Path) -> Path:
    """Side-by-side chart of A and B: yearly lines with 90% bands, stage and counterparty mix, biotechs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.io import write_figure

    months = sorted(set(runs_a[0].monthly["_mi"]) & set(runs_b[0].monthly["_mi"]))
    years = sorted({m // 12 for m in months})
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    colours = ("C0", "C1")

    def band(ax, x, mats, scale=1.0, yearly=True):
        for mat, lab, col in zip(mats, labels, colours):
            with np.errstate(all="ignore"):
                mean = np.nanmean(mat, axis=0) / scale
                lo, hi = np.nanpercentile(mat, 5, axis=0) / scale, np.nanpercentile(mat, 95, axis=0) / scale
            ax.fill_between(x, lo, hi, color=col, alpha=0.2, linewidth=0)
            ax.plot(x, mean, color=col, label=lab, marker="o" if len(x) < 30 else None, ms=3)
        if yearly:
            ax.axvspan(window.start // 12 - 0.5, window.end // 12 + 0.5, color="grey", alpha=0.1, linewidth=0)
        else:
            ax.axvspan(window.start / 12, (window.end + 1) / 12, color="grey", alpha=0.1, linewidth=0)
        ax.grid(alpha=0.3)

    panels = [(axes[0, 0], "deals per year", YEARLY[0][3], 1.0, "deals"),
              (axes[0, 1], "upfront per year (US$ billion)", YEARLY[1][3], 1e9, "US$ bn"),
              (axes[0, 2], "share at preclinical or phase 1 (%)", YEARLY[3][3], 0.01, "%")]
    for ax, title, fn, scale, ylab in panels:
        mats = [_yearly_matrix(runs, years, fn) for runs in (runs_a, runs_b)]
        band(ax, np.array(years, dtype=float), mats, scale)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylab)
    axes[0, 0].legend(fontsize=8)

    def mix(ax, groups, col, title):
        width = 0.35
        for k, (runs, lab, colr) in enumerate(zip((runs_a, runs_b), labels, colours)):
            shares = np.array([[_share(_deals(r, window), col, vals) for _, vals in groups] for r in runs])
            with np.errstate(all="ignore"):
                m = np.nanmean(shares, axis=0) * 100
                lo, hi = np.nanpercentile(shares, 5, axis=0) * 100, np.nanpercentile(shares, 95, axis=0) * 100
            x = np.arange(len(groups)) + (k - 0.5) * width
            # Rounding can put a percentile a hair past an (equal) mean; error bars must not be negative.
            err = np.clip(np.nan_to_num(np.array([m - lo, hi - m])), 0.0, None)
            ax.bar(x, m, width, color=colr, label=lab, yerr=err, capsize=3, alpha=0.85)
        ax.set_xticks(np.arange(len(groups)), [g for g, _ in groups], fontsize=8)
        ax.set_title(f"{title}, {window.label.replace('..', '–')} (%)", fontsize=10)
        ax.grid(alpha=0.3, axis="y")

    mix(axes[1, 0], STAGE_GROUPS, "stage", "stage at signing")
    mix(axes[1, 1], [(k.replace("_", "-"), [k]) for k in LICENSEE_KINDS], "licensee_kind", "licensees")
    ax = axes[1, 2]
    x = np.array([m / 12 for m in months])
    mats = []
    for runs in (runs_a, runs_b):
        mat = np.full((len(runs), len(months)), np.nan)
        for i, r in enumerate(runs):
            s = r.monthly.set_index("_mi")["active_biotechs"] if "active_biotechs" in r.monthly.columns else None
            if s is not None:
                mat[i] = s.reindex(months).to_numpy(dtype=float)
        mats.append(mat)
    band(ax, x, mats, yearly=False)
    ax.set_title("active biotechs", fontsize=10)
    fig.suptitle(f"{labels[1]} vs {labels[0]} (same seeds; shaded: comparison window; bands: 90% of runs)",
                 fontsize=11)
    fig.tight_layout()
    return write_figure(fig, path, dpi=100)


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
    print_comparison(table, (la, lb), win, console, note=note)
    if out is not None:
        out = Path(out)
        with atomic_dir(out) as tmp:
            write_csv(table, tmp / "comparison.csv")
            comparison_figure(runs_a, runs_b, (la, lb), win, tmp / "compare.png")
            for tag, name, part in (("a", la, outs[:replications]), ("b", lb, outs[replications:])):
                sub = tmp / f"{tag}_{name}"
                write_parquet(pd.concat([o.deals for o in part], ignore_index=True), sub / "deals.parquet")
                write_parquet(pd.concat([o.monthly for o in part], ignore_index=True), sub / "monthly.parquet")
            write_json({
                "command": "compare", "scenario": f"{lb} vs {la}", "a": la, "b": lb, **dict(manifest or {}),
                "replications": replications, "root_seed": root, "seeds": seeds,
                "window": win.label, "window_rule": "given" if win_override else "first year the runs differ",
                "universe": universe, "elapsed_s": round(elapsed, 2), "intervals_cover": intervals,
                **({"posterior": posterior.describe(), "posterior_draws": draws, "posterior_kept": own}
                   if posterior is not None else {}),
                "files": ["comparison.csv", "compare.png", f"a_{la}/", f"b_{lb}/"],
            }, tmp / "manifest.json")
        console.print(f"wrote {out}/comparison.csv, compare.png ({elapsed:.0f} s)")
    return ComparisonResult(table, win, seeds, out)
