"""Matplotlib figures of the dashboard's panels.

Pure functions of the model's data frames (deal ledger, monthly series, runways); no solara,
no pyplot state (``matplotlib.figure.Figure`` is used directly, so this is safe in threads).
Each panel has a ``draw_*(ax, ...)`` function; :func:`panel_png` renders one panel to PNG
bytes and :func:`dashboard_png` puts all of them on one sheet for export. The HTML report
reuses these figures.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import BrokenExecutor, CancelledError, Future, ProcessPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sim.analysis.metrics import LICENSEE_KINDS as COUNTERPARTIES
from sim.analysis.metrics import TERRITORIES
from sim.scenarios.schema import STAGES

STAGE_COLOURS = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]
STAGE_LABELS = {"preclinical": "preclinical", "phase1": "phase 1", "phase2": "phase 2", "phase3": "phase 3",
                "filed": "filed", "approved": "approved"}
COUNTERPARTY_LABELS = {"mnc": "top MNC", "mid_size": "mid-size", "incubator": "incubator", "regional": "regional"}
COUNTERPARTY_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a"]
TERRITORY_LABELS = {"global": "global", "ex_china": "ex-China", "us_eu_jp": "US/EU/JP", "regional": "regional",
                    "china": "China"}
TERRITORY_COLOURS = ["#4daf4a", "#377eb8", "#984ea3", "#ff7f00", "#e41a1c"]
PALETTE = {"a": "#1f77b4", "b": "#d62728"}
#: the drivers panel: monthly column -> (label, colour)
DRIVER_LINES = {"funding": ("China biotech funding", "#ff7f0e"), "trust": ("trust in China data", "#2ca02c"),
                "patent_cliff": ("patent-cliff pressure", "#9467bd"), "us_venture": ("US venture funding", "#1f77b4")}
OBSERVED_COLOUR = "black"
_PNG_LOCK = threading.Lock()

#: Font sizes in points. A live panel is FIGURE_WIDTH inches wide; at 1280x720 the page shows it
#: about 880 px wide (1.7 px a point), at 1920x1080 two side by side (about 1.45 px a point): titles
#: stay above 18 px and every other text above 14 px, readable from the back of a room.
TITLE_PT = 14.0
TEXT_PT = 11.0
FIGURE_WIDTH = 7.2
#: PNG resolution of the live panels (pixels per inch)
DPI = 90

#: one entry per live panel: key -> (title, figure size in inches)
PANELS: dict[str, tuple[str, tuple[float, float]]] = {
    "drivers": ("Drivers: the climate the market is in", (FIGURE_WIDTH, 3.4)),
    "deals": ("Deals per quarter by stage", (FIGURE_WIDTH, 3.6)),
    "money": ("Upfront payments vs primary financing", (FIGURE_WIDTH, 3.6)),
    "counterparties": ("Who licenses: share of each year's deals", (FIGURE_WIDTH, 3.6)),
    "rights": ("Where rights go", (FIGURE_WIDTH, 3.6)),
    "runways": ("Biotech cash runway", (FIGURE_WIDTH, 3.4)),
}


def _usd_b(x: float, _pos: Any = None) -> str:
    """Axis label of a value in $ billions: $250M below 1B, $1.5B, $12B."""
    if x == 0:
        return "$0"
    if abs(x) < 1:
        return f"${x * 1000:,.0f}M"
    return f"${x:,.1f}B" if abs(x) < 10 else f"${x:,.0f}B"


def _title(ax, text: str, fontsize: float = TITLE_PT) -> None:
    """A left-aligned panel title at a fixed height (matplotlib's automatic title placement
    measures every tick label first: a third of a small panel's drawing time)."""
    ax.set_title(text, fontsize=fontsize, loc="left", y=1.0, pad=6)


def _legend(ax, handles=None, **kw) -> None:
    """The legend at the right of the plot, outside it."""
    kw = {"fontsize": TEXT_PT, "frameon": False, "loc": "upper left", "bbox_to_anchor": (1.0, 1.02),
          "handlelength": 1.4, "borderaxespad": 0.2, **kw}
    if handles is not None:
        kw["handles"] = handles
    ax.legend(**kw)


def _stacked_bars(ax, x: np.ndarray, heights: Sequence[np.ndarray], colours: Sequence[str],
                  labels: Sequence[str] | None, width: float, faded: np.ndarray | None = None) -> None:
    """Stacked bars, one polygon collection per layer and only the non-empty bars drawn (a quarter
    axis of a long scenario has hundreds of empty rectangles, and ``ax.bar`` makes each an artist),
    with a legend entry per layer when there are ``labels``. Bars where ``faded`` is true are drawn
    pale and hatched (a quarter that is not over yet)."""
    bottom = np.zeros(len(x), dtype=float)
    handles = []
    faded = np.zeros(len(x), dtype=bool) if faded is None else np.asarray(faded, dtype=bool)
    for i, (h, colour) in enumerate(zip(heights, colours)):
        h = np.asarray(h, dtype=float)
        for pale in (False, True):
            keep = (h > 0) & (faded == pale)
            x0, x1 = x[keep] - width / 2, x[keep] + width / 2
            y0, y1 = bottom[keep], bottom[keep] + h[keep]
            verts = np.stack([np.column_stack([x0, y0]), np.column_stack([x0, y1]),
                              np.column_stack([x1, y1]), np.column_stack([x1, y0])], axis=1)
            if len(verts):
                ax.add_collection(PolyCollection(verts, facecolors=colour, edgecolors="grey" if pale else "none",
                                                 linewidths=0.5 if pale else 0, alpha=0.45 if pale else 1.0,
                                                 hatch="//" if pale else None), autolim=False)
        if labels is not None:
            handles.append(Patch(facecolor=colour, label=labels[i]))
        bottom += h
    top = float(bottom.max()) if len(bottom) else 0.0
    ax.set_xlim(float(x.min()) - 0.6 if len(x) else -0.6, float(x.max()) + 0.6 if len(x) else 0.6)
    ax.set_ylim(0, top * 1.05 if top > 0 else 1)
    if faded.any() and labels is not None:
        handles.append(Patch(facecolor="white", edgecolor="grey", hatch="//", label="quarter so far"))
    if handles:
        _legend(ax, handles)


def _nrep(df: pd.DataFrame | None) -> int:
    """How many runs a frame holds (its replication column), at least 1."""
    if df is None or "replication" not in df.columns or not len(df):
        return 1
    return max(1, int(df["replication"].nunique()))


def _empty(ax, text: str = "no deals yet") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="grey", fontsize=TITLE_PT)
    ax.set_xticks([])
    ax.set_yticks([])


def _col(df: pd.DataFrame | None, name: str) -> bool:
    return df is not None and len(df) > 0 and name in df.columns


def _ordered(counts: pd.Series, order: Sequence[str]) -> pd.Series:
    """Counts in a fixed category order, unknown categories appended."""
    keys = [k for k in order if k in counts.index] + sorted(str(k) for k in counts.index if k not in order)
    return counts.reindex(keys).fillna(0)


def _quarters(start: pd.Timestamp | None, end: pd.Timestamp | None) -> pd.PeriodIndex | None:
    if start is None or end is None or pd.isna(start) or pd.isna(end) or end < start:
        return None
    return pd.period_range(pd.Timestamp(start).to_period("Q"), pd.Timestamp(end).to_period("Q"), freq="Q")


def _quarter_axis(ax, index: pd.PeriodIndex) -> None:
    """Year labels at each Q1 of a quarter-numbered x axis (at most ~7 labels: they are large)."""
    labels = [str(p) for p in index]
    ticks = [i for i, lab in enumerate(labels) if lab.endswith("Q1")] or list(range(0, len(labels), 4))
    if len(ticks) > 7:
        ticks = ticks[:: int(np.ceil(len(ticks) / 7))]
    ax.set_xticks(ticks)
    ax.set_xticklabels([labels[i][:4] for i in ticks], fontsize=TEXT_PT)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.tick_params(labelsize=TEXT_PT)


def _span(data_start, data_end, start=None, end=None) -> pd.PeriodIndex | None:
    """Quarters from the run's start to its end (the whole scenario), else those with data."""
    lo = start if start is not None else data_start
    hi = end if end is not None else data_end
    if lo is None or hi is None:
        return None
    return _quarters(min(pd.Timestamp(lo), pd.Timestamp(data_start)) if data_start is not None else pd.Timestamp(lo),
                     max(pd.Timestamp(hi), pd.Timestamp(data_end)) if data_end is not None else pd.Timestamp(hi))


def unfinished_quarter(now: Any) -> tuple[pd.Period, int] | None:
    """The quarter the live run is in, and its months simulated so far, while it is not over
    (``now`` is the last simulated month); None when ``now`` ends a quarter or is unknown."""
    if now is None or pd.isna(now):
        return None
    now = pd.Timestamp(now)
    done = (now.month - 1) % 3 + 1
    return (now.to_period("Q"), done) if done < 3 else None


def _observed(observed: Sequence[dict[str, Any]] | None, panel: str) -> list[dict[str, Any]]:
    return [o for o in (observed or []) if o.get("panel") == panel]


def _observed_segments(ax, index: pd.PeriodIndex, rows: Sequence[dict[str, Any]], colour: str, label: str) -> bool:
    """Observed values as dashed steps over the quarters of their period (per quarter); True if any."""
    drawn = False
    pos = {p: i for i, p in enumerate(index)}
    for o in rows:
        qs = [pos[q] for q in pd.period_range(pd.Timestamp(o["start"]).to_period("Q"),
                                              pd.Timestamp(o["end"]).to_period("Q"), freq="Q") if q in pos]
        if not qs:
            continue
        ax.hlines(o["per_quarter"], min(qs) - 0.45, max(qs) + 0.45, colors=colour, linestyles="--", lw=2.2,
                  label=None if drawn else label, zorder=5)
        ax.plot([min(qs) - 0.45, max(qs) + 0.45], [o["per_quarter"]] * 2, ls="none", marker="|", ms=10,
                color=colour, zorder=5)
        drawn = True
    return drawn


def draw_deals_by_stage(ax, deals: pd.DataFrame | None, start=None, end=None, now=None,
                        observed: Sequence[dict[str, Any]] | None = None, limit: float | None = None) -> None:
    """Stacked bars: deals signed per quarter, split by the asset's stage at signing.

    The x axis covers ``start`` to ``end`` (the whole scenario in the live dashboard), so bars
    fill in from the left as the months go by. The quarter ``now`` is in, while it is not over,
    is drawn pale and hatched: it is not a low quarter, only an unfinished one. ``observed``
    (the targets) adds the observed deals per quarter as dashed lines; ``limit`` fixes the top
    of the y axis (two futures side by side share it).
    """
    _title(ax, PANELS["deals"][0])
    if not _col(deals, "signed"):
        index = _quarters(start, end)
        if index is not None:
            _quarter_axis(ax, index)
            ax.set_ylim(0, 1)
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no deals yet", ha="center", va="center", transform=ax.transAxes, color="grey",
                    fontsize=TITLE_PT)
            rows = _observed(observed, "deals")
            if rows and _observed_segments(ax, index, rows, OBSERVED_COLOUR, "observed"):
                ax.set_ylim(0, max(o["per_quarter"] for o in rows) * 1.1)
                ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
                ax.set_ylabel("deals", fontsize=TEXT_PT)
                _legend(ax)
        else:
            _empty(ax)
        return
    signed = pd.to_datetime(deals["signed"])
    q = signed.dt.to_period("Q")
    stage = deals["stage"].astype(str) if "stage" in deals.columns else pd.Series("unknown", index=deals.index)
    table = pd.crosstab(q, stage) / _nrep(deals)  # mean per run when the frame holds several
    index = _span(signed.min(), signed.max(), start, end)
    if index is not None:
        table = table.reindex(index, fill_value=0)
    cols = [s for s in STAGES if s in table.columns] + [c for c in table.columns if c not in STAGES]
    colours = [STAGE_COLOURS[STAGES.index(c)] if c in STAGES else "#bbbbbb" for c in cols]
    partial = unfinished_quarter(now)
    faded = np.array([partial is not None and p == partial[0] for p in table.index])
    _stacked_bars(ax, np.arange(len(table)), [table[c].to_numpy() for c in cols], colours,
                  [STAGE_LABELS.get(c, c) for c in cols], width=0.85, faded=faded)
    _quarter_axis(ax, table.index)
    rows = _observed(observed, "deals")
    if rows and _observed_segments(ax, table.index, rows, OBSERVED_COLOUR, "observed"):
        top = max(o["per_quarter"] for o in rows)
        ax.set_ylim(0, max(ax.get_ylim()[1], top * 1.1))
        handles, _labels = ax.get_legend_handles_labels()
        old = ax.get_legend()
        _legend(ax, [*(old.legend_handles if old is not None else []), *handles])
    if limit is not None:
        ax.set_ylim(0, limit)
    ax.set_ylabel("deals" if _nrep(deals) == 1 else f"deals (mean of {_nrep(deals)} runs)", fontsize=TEXT_PT)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.tick_params(labelsize=TEXT_PT)


def draw_money(ax, monthly: pd.DataFrame | None, deals: pd.DataFrame | None = None, start=None, end=None,
               now=None, observed: Sequence[dict[str, Any]] | None = None) -> None:
    """Quarterly upfront payments received by licensors against primary financing raised.

    Finished quarters are drawn as solid steps. The quarter ``now`` is in, while it is not over,
    is drawn apart, as a dotted step at its pace so far (its sum scaled to three months), so the
    lines do not drop off a cliff at the live edge. ``observed`` adds the observed values per
    quarter (dashed).
    """
    _title(ax, PANELS["money"][0])
    if not _col(monthly, "month"):
        index = _quarters(start, end)
        if index is not None:
            _quarter_axis(ax, index)
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no months simulated yet", ha="center", va="center", transform=ax.transAxes,
                    color="grey", fontsize=TITLE_PT)
        else:
            _empty(ax, "no months simulated yet")
        return
    m = monthly.copy()
    months = pd.to_datetime(m["month"])
    m["q"] = months.dt.to_period("Q")
    cols = [c for c in ("upfront_usd", "primary_financing_usd") if c in m.columns]
    g = m.groupby("q")[cols].sum() / 1e9
    if "upfront_usd" not in g and _col(deals, "upfront_usd"):
        up = deals.groupby(pd.to_datetime(deals["signed"]).dt.to_period("Q"))["upfront_usd"].sum()
        g["upfront_usd"] = (up / 1e9).reindex(g.index).fillna(0)
    if "replication" in m.columns and m["replication"].nunique() > 1:
        g = g / m["replication"].nunique()  # mean over runs
    index = _span(months.min(), months.max(), start, end)
    full = g.reindex(index) if index is not None else g
    partial = unfinished_quarter(now)
    at = full.index.get_loc(partial[0]) if partial is not None and partial[0] in full.index else None
    x = np.arange(len(full))
    lines = (("primary_financing_usd", "#ff7f0e", 2.0, "primary financing"),
             ("upfront_usd", "#1f77b4", 2.6, "licensing upfronts"))
    for col, colour, lw, label in lines:
        if col not in full:
            continue
        y = full[col].to_numpy(dtype=float)
        done = y.copy()
        if at is not None:
            done[at:] = np.nan
            pace = y[at] * 3 / partial[1]
            ax.plot([at - 0.5, at + 0.5], [pace, pace], color=colour, lw=lw, ls=":")
            ax.plot([at], [pace], color=colour, marker="o", ms=6, mfc="white")
        if col == "primary_financing_usd":
            ax.fill_between(x, np.nan_to_num(done), step="mid", alpha=0.2, color=colour, where=~np.isnan(done))
        ax.plot(x, done, drawstyle="steps-mid", color=colour, lw=lw, label=label)
    handles, _ = ax.get_legend_handles_labels()
    if at is not None:
        handles.append(Line2D([], [], color="grey", ls=":", marker="o", mfc="white", label="this quarter\n(pace so far)"))
    for row_panel, colour, label in (("upfront", "#1f77b4", "observed\nupfronts"),
                                     ("financing", "#ff7f0e", "observed\nfinancing")):
        rows = _observed(observed, row_panel)
        if rows and _observed_segments(ax, full.index, [{**o, "per_quarter": o["per_quarter"] / 1e9} for o in rows],
                                       colour, label):
            handles.append(Line2D([], [], color=colour, ls="--", lw=2.2, label=label))
    _quarter_axis(ax, full.index)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_b))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
    ax.set_ylabel("US$ per quarter", fontsize=TEXT_PT)
    ax.set_ylim(bottom=0)
    _legend(ax, handles)


def draw_counterparties(ax, deals: pd.DataFrame | None, observed: Sequence[dict[str, Any]] | None = None) -> None:
    """Share of each year's deals by licensee kind (top MNC, mid-size, incubator, regional);
    ``observed`` adds the observed top-MNC share of a year as a marker."""
    _title(ax, PANELS["counterparties"][0])
    if not _col(deals, "licensee_kind"):
        _empty(ax)
        return
    year = deals["year"] if "year" in deals.columns else pd.to_datetime(deals["signed"]).dt.year
    table = pd.crosstab(year, deals["licensee_kind"].astype(str))
    cols = [c for c in COUNTERPARTIES if c in table.columns] + [c for c in table.columns if c not in COUNTERPARTIES]
    share = table[cols].div(table[cols].sum(axis=1), axis=0) * 100
    x = np.arange(len(share))
    colours = [COUNTERPARTY_COLOURS[COUNTERPARTIES.index(c)] if c in COUNTERPARTIES else "#bbbbbb" for c in cols]
    _stacked_bars(ax, x, [share[c].to_numpy() for c in cols], colours, [COUNTERPARTY_LABELS.get(c, c) for c in cols],
                  width=0.8)
    totals = table[cols].sum(axis=1).to_numpy()
    step = max(1, int(np.ceil(len(x) / 7)))  # at most ~7 labels: they are large
    shown = x[::-1][::step][::-1]
    ax.set_xticks(shown)
    ax.set_xticklabels([f"{int(share.index[i]) % 100:02d}\n{int(totals[i])}" for i in shown], fontsize=TEXT_PT)
    ax.set_xlabel("year ('18 = 2018), deals below", fontsize=TEXT_PT)
    rows = _observed(observed, "mnc_share")
    years = {int(y): i for i, y in enumerate(share.index)}
    pts = [(years[o["year"]], o["value"] * 100) for o in rows if o.get("year") in years]
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], ls="none", marker="D", ms=9, mfc="white",
                mec=OBSERVED_COLOUR, mew=2, zorder=5)
        old = ax.get_legend()
        _legend(ax, [*(old.legend_handles if old is not None else []),
                     Line2D([], [], ls="none", marker="D", ms=9, mfc="white", mec=OBSERVED_COLOUR, mew=2,
                            label="observed\ntop-MNC share")])
    ax.set_ylim(0, 100)
    ax.set_ylabel("% of deals", fontsize=TEXT_PT)
    ax.tick_params(labelsize=TEXT_PT)


def draw_rights(axes, deals: pd.DataFrame | None, limits: tuple[float, float] | None = None) -> None:
    """Two bar charts: deals by territory licensed, and by the licensee's home region (``limits``:
    the x axes' ends, shared by two futures side by side)."""
    ax_t, ax_r = axes
    _title(ax_t, "Territory licensed", fontsize=TEXT_PT + 1)
    _title(ax_r, "Licensee's home", fontsize=TEXT_PT + 1)
    if not _col(deals, "territory"):
        _empty(ax_t)
        _empty(ax_r)
        return
    n = _nrep(deals)
    t = _ordered(deals["territory"].astype(str).value_counts(), TERRITORIES) / n
    colours = [TERRITORY_COLOURS[TERRITORIES.index(k)] if k in TERRITORIES else "#bbbbbb" for k in t.index]
    ax_t.barh([TERRITORY_LABELS.get(k, k) for k in t.index][::-1], t.to_numpy()[::-1], color=colours[::-1])
    ax_t.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    if "licensee_region" in deals.columns:
        r = deals["licensee_region"].astype(str).value_counts().head(6) / n
        ax_r.barh(list(r.index)[::-1], r.to_numpy()[::-1], color="#607d8b")
        ax_r.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    else:
        _empty(ax_r, "no region data")
    for ax, limit in zip(axes, limits or (None, None)):
        ax.tick_params(labelsize=TEXT_PT)
        ax.set_xlabel("deals" if n == 1 else f"deals (mean of {n} runs)", fontsize=TEXT_PT)
        if limit is not None:
            ax.set_xlim(0, limit)


def draw_runways(ax, runways: np.ndarray | None, thresholds: dict[str, float] | None = None) -> None:
    """Histogram of active biotechs' months of cash; the last bin collects 60+ months."""
    _title(ax, PANELS["runways"][0])
    r = np.asarray(runways if runways is not None else [], dtype=float)
    r = r[np.isfinite(r)] if r.size else r
    if r.size == 0:
        _empty(ax, "no active biotechs")
        return
    cap = 60.0
    bins = np.arange(0, cap + 3.01, 3.0)
    counts, _ = np.histogram(np.clip(r, 0, cap + 1.5), bins=bins)
    _stacked_bars(ax, (bins[:-1] + bins[1:]) / 2, [counts], ["#8c6bb1"], None, width=2.7)
    ax.set_xlim(0, bins[-1])
    ax.set_ylim(0, ax.get_ylim()[1] * 1.25)  # room for the names of the thresholds
    for name, value in (thresholds or {}).items():
        ax.axvline(value, color="grey", ls="--", lw=1.2)
        ax.text(value + 0.5, ax.get_ylim()[1] * 0.97, name, fontsize=TEXT_PT, color="dimgrey", va="top")
    med = float(np.median(r))
    short = float(np.mean(r < 12) * 100)
    ax.text(0.98, 0.97, f"{r.size} biotechs\nmedian {med:.0f} months\n{short:.0f}% under 12 months",
            transform=ax.transAxes, ha="right", va="top", fontsize=TEXT_PT)
    ax.set_xlabel("months of cash (60+ at the right)", fontsize=TEXT_PT)
    ax.set_ylabel("biotechs", fontsize=TEXT_PT)
    ax.tick_params(labelsize=TEXT_PT)


def draw_drivers(ax, drivers: pd.DataFrame | None, now=None) -> None:
    """The drivers over the whole scenario (funding, trust, patent cliff, US venture), the months
    simulated so far solid and the rest pale, with the current month marked."""
    _title(ax, PANELS["drivers"][0])
    if drivers is None or not len(drivers) or "month" not in drivers.columns:
        _empty(ax, "no driver paths")
        return
    t = pd.to_datetime(drivers["month"])
    x = (t.dt.year + (t.dt.month - 1) / 12).to_numpy(dtype=float)
    now_x = None
    if now is not None and not pd.isna(now):
        now = pd.Timestamp(now)
        now_x = now.year + (now.month - 1) / 12
    for col, (label, colour) in DRIVER_LINES.items():
        if col not in drivers.columns:
            continue
        y = drivers[col].to_numpy(dtype=float)
        ax.plot(x, y, color=colour, lw=2, alpha=0.35)
        past = x <= (now_x if now_x is not None else -np.inf)
        ax.plot(np.where(past, x, np.nan), np.where(past, y, np.nan), color=colour, lw=2.6, label=label)
    if now_x is not None:
        ax.axvline(now_x, color="black", lw=1.5)
        ax.text(now_x, 0.97, f" {now:%Y-%m}", transform=ax.get_xaxis_transform(), va="top", ha="left",
                fontsize=TEXT_PT, fontweight="bold", bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    handles = [Line2D([], [], color=c, lw=2.6, label=lab) for col, (lab, c) in DRIVER_LINES.items()
               if col in drivers.columns]
    _legend(ax, handles)
    ax.set_xlim(x.min(), x.max() + 1 / 12)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=7))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("index (see legend)", fontsize=TEXT_PT)
    ax.tick_params(labelsize=TEXT_PT)
    ax.grid(alpha=0.3)


def notable_deals(deals: pd.DataFrame | None, n: int = 10, quantile: float | None = 0.75,
                  newest_first: bool = True) -> pd.DataFrame:
    """The latest notable deals: those with the largest upfronts (top quartile of the deals so far),
    newest first. With ``quantile=None, newest_first=False``: the ``n`` largest upfronts."""
    if not _col(deals, "upfront_usd"):
        return pd.DataFrame(columns=["signed", "licensee", "stage", "territory", "type", "upfront", "total"])
    d = deals.copy()
    d["upfront_usd"] = d["upfront_usd"].astype(float)
    if quantile is not None and len(d) >= 8:
        d = d[d["upfront_usd"] >= float(d["upfront_usd"].quantile(quantile))]
    if newest_first and "signed" in d.columns:
        d = d.sort_values(["signed", "upfront_usd"], ascending=[False, False]).head(n)
    else:
        d = d.sort_values("upfront_usd", ascending=False).head(n)

    out = pd.DataFrame({
        "signed": pd.to_datetime(d["signed"]).dt.strftime("%Y-%m"),
        "licensee": [f"{COUNTERPARTY_LABELS.get(str(k), str(k))} ({r})" for k, r in
                     zip(d.get("licensee_kind", ""), d.get("licensee_region", ""))],
        "stage": [STAGE_LABELS.get(str(s), str(s)) for s in d.get("stage", "")],
        "territory": [TERRITORY_LABELS.get(str(t), str(t)) for t in d.get("territory", "")],
        "type": [str(t).replace("_", "-") for t in d.get("deal_type", "")],
        "upfront": [deal_money(v) for v in d["upfront_usd"]],
        "total": [deal_money(v) for v in d.get("total_value_usd", d["upfront_usd"])],
    })
    return out.reset_index(drop=True)


def deal_money(v: Any) -> str:
    """A deal's payment for the deals table: $1.45B, $26M, $0.4M; 'none' for nothing (never '$0M')."""
    v = float(v) if v is not None and not pd.isna(v) else 0.0
    if v <= 0:
        return "none"
    if v >= 1e9:
        return f"${v / 1e9:,.2f}B"
    if v >= 9.95e6:
        return f"${v / 1e6:,.0f}M"
    return f"${v / 1e6:,.1f}M" if v >= 0.05e6 else "<$0.1M"


# ---------------------------------------------------------------------------- rendering


def to_png(fig: Figure, dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 1})  # fast; a little larger
    return buf.getvalue()


#: each live panel's margins (left, right, top, bottom), as shares of the figure: fixed, because
#: constrained layout costs a third of the drawing time; the right margin holds the legend
_MARGINS = {"drivers": (0.09, 0.66, 0.88, 0.12), "deals": (0.09, 0.76, 0.88, 0.11),
            "money": (0.12, 0.71, 0.88, 0.11), "counterparties": (0.09, 0.73, 0.88, 0.26),
            "runways": (0.10, 0.98, 0.88, 0.17)}


def panel_figure(key: str, data: dict[str, Any]) -> Figure:
    """One live panel as a figure. ``data`` holds deals, monthly, runways, drivers, start, end,
    now (the last simulated month), thresholds and observed (the targets, when shown)."""
    title, size = PANELS[key]
    fig = Figure(figsize=size)
    if key == "rights":
        axes = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.15, right=0.98, top=0.78, bottom=0.17, wspace=0.42)
        fig.suptitle(title, fontsize=TITLE_PT, x=0.02, ha="left")
        draw_rights(axes, data.get("deals"), (data.get("limits") or {}).get("rights"))
    else:
        ax = fig.subplots()
        left, right, top, bottom = _MARGINS[key]
        fig.subplots_adjust(left=left, right=right, top=top, bottom=bottom)
        _draw_one(key, ax, data)
    return fig


def _draw_one(key: str, ax, data: dict[str, Any]) -> None:
    if key == "deals":
        draw_deals_by_stage(ax, data.get("deals"), data.get("start"), data.get("end"), data.get("now"),
                            data.get("observed"), (data.get("limits") or {}).get("deals"))
    elif key == "money":
        draw_money(ax, data.get("monthly"), data.get("deals"), data.get("start"), data.get("end"), data.get("now"),
                   data.get("observed"))
    elif key == "counterparties":
        draw_counterparties(ax, data.get("deals"), data.get("observed"))
    elif key == "runways":
        draw_runways(ax, data.get("runways"), data.get("thresholds"))
    elif key == "drivers":
        draw_drivers(ax, data.get("drivers"), data.get("now"))
    else:
        raise KeyError(key)


#: which inputs each live panel draws from (the others are ignored, so a cache key can skip them)
PANEL_INPUTS = {"drivers": ("drivers",), "deals": ("deals",), "money": ("monthly", "deals"),
                "counterparties": ("deals",), "rights": ("deals",), "runways": ("runways",)}
#: the ledger columns a panel draws from: a month in which old deals only change (a milestone paid,
#: a termination) leaves these panels as they were
PANEL_DEAL_COLUMNS = {"deals": ("replication", "signed", "stage"),
                      "counterparties": ("replication", "year", "signed", "licensee_kind"),
                      "rights": ("replication", "territory", "licensee_region")}
#: what else a panel's picture depends on: the current month (drivers), the unfinished quarter
#: (deals, money) and the observed values shown (deals, money, counterparties)
_NOW_PANELS = {"drivers": "month", "deals": "quarter", "money": "quarter"}
_OBSERVED_PANELS = ("deals", "money", "counterparties")
_PNG_CACHE: "OrderedDict[tuple, bytes]" = OrderedDict()
_PNG_CACHE_SIZE = 64


def _digest(value: Any) -> str:
    """A content hash of a frame or array (about a millisecond for a run's ledger)."""
    h = hashlib.blake2b(digest_size=16)
    if value is None:
        h.update(b"none")
    elif isinstance(value, pd.DataFrame):
        h.update(repr((list(value.columns), len(value))).encode())
        for col in value.columns:
            s = value[col]
            if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
                h.update(np.ascontiguousarray(s.to_numpy()).tobytes())
            else:
                h.update("\x1f".join(map(str, s.tolist())).encode())
    else:
        h.update(np.ascontiguousarray(np.asarray(value, dtype=float)).tobytes())
    return h.hexdigest()


def _digests(data: dict[str, Any], names: Sequence[str], key: str | None = None) -> tuple[str, ...]:
    """Digests of some inputs, remembered in ``data`` (several panels share one month's frames);
    of the deal ledger, only the columns panel ``key`` draws from."""
    memo = data.setdefault("_digests", {})
    out = []
    for name in names:
        cols = PANEL_DEAL_COLUMNS.get(key or "") if name == "deals" else None
        slot = f"{name}:{key}" if cols else name
        if slot not in memo:
            value = data.get(name)
            if cols and isinstance(value, pd.DataFrame):
                value = value[[c for c in cols if c in value.columns]]
            memo[slot] = _digest(value)
        out.append(memo[slot])
    return tuple(out)


def _cache_key(key: str, data: dict[str, Any], dpi: int) -> tuple:
    inputs = _digests(data, PANEL_INPUTS.get(key, ()), key)
    extra = (str(data.get("start")), str(data.get("end")), repr(sorted((data.get("thresholds") or {}).items())))
    now = _NOW_PANELS.get(key)
    if now == "month":
        extra += (str(data.get("now")),)
    elif now == "quarter":
        extra += (repr(unfinished_quarter(data.get("now"))),)
    if key in _OBSERVED_PANELS:
        extra += (repr(data.get("observed")),)
    if data.get("limits"):
        extra += (repr(data.get("limits")),)
    return (key, dpi, inputs, extra)


def _remember(cache_key: tuple, png: bytes) -> bytes:
    with _PNG_LOCK:
        _PNG_CACHE[cache_key] = png
        while len(_PNG_CACHE) > _PNG_CACHE_SIZE:
            _PNG_CACHE.popitem(last=False)
    return png


def _cached(cache_key: tuple) -> bytes | None:
    """A picture from the cache, marked as recently used (the caller holds ``_PNG_LOCK``)."""
    hit = _PNG_CACHE.get(cache_key)
    if hit is not None:
        _PNG_CACHE.move_to_end(cache_key)
    return hit


def ready_png(key: str, data: dict[str, Any], dpi: int = DPI) -> bytes | None:
    """The panel's picture if it is drawn already (cached, or finished by a drawing worker), else
    None; never waits. The live page shows it at once and draws the others in the background."""
    cache_key = _cache_key(key, data, dpi)
    with _PNG_LOCK:
        hit = _cached(cache_key)
        if hit is not None:
            return hit
        pending = _PENDING.get(cache_key)
        if pending is None or not pending.done() or pending.cancelled() or pending.exception() is not None:
            return None
        _PENDING.pop(cache_key)
    return _remember(cache_key, pending.result())


def fetch_png(key: str, data: dict[str, Any], dpi: int = DPI) -> bytes | None:
    """For the live page, off its render thread: the picture of a panel that :func:`prefetch`
    handed to a drawing worker, waited for; None when a newer month's picture of the panel took
    its place in the queue before a worker started on it. Drawn here when there are no workers
    (or they stopped)."""
    cache_key = _cache_key(key, data, dpi)
    with _PNG_LOCK:
        pending = _PENDING.get(cache_key)
    if pending is None:
        return panel_png(key, data, dpi)
    try:
        png = pending.result(timeout=_WORKER_TIMEOUT_S)
    except CancelledError:
        return None
    except (BrokenExecutor, FutureTimeout):
        return panel_png(key, data, dpi)  # reports the broken workers and draws here
    with _PNG_LOCK:
        if _PENDING.get(cache_key) is pending:
            del _PENDING[cache_key]
    return _remember(cache_key, png)


def collect(data: dict[str, Any], keys: Sequence[str] | None = None, dpi: int = DPI) -> Iterator[tuple[str, bytes]]:
    """The pictures of ``data``'s panels as each is ready: those drawn already first, then those
    with the drawing workers in the order they finish (one that a newer month's picture replaced in
    the queue is left out), and the rest drawn here."""
    prefetch(data, keys, dpi)
    waiting: dict[Future, str] = {}
    here = []
    for key in keys if keys is not None else PANEL_INPUTS:
        png = ready_png(key, data, dpi)
        if png is not None:
            yield key, png
            continue
        with _PNG_LOCK:
            fut = _PENDING.get(_cache_key(key, data, dpi))
        if fut is None:
            here.append(key)
        else:
            waiting[fut] = key
    try:
        for fut in as_completed(list(waiting), timeout=_WORKER_TIMEOUT_S):
            key = waiting.pop(fut)
            png = fetch_png(key, data, dpi)
            if png is not None:
                yield key, png
    except FutureTimeout:
        here.extend(waiting.values())  # fetch_png reports stuck workers and draws here
    for key in here:
        png = fetch_png(key, data, dpi)
        if png is not None:
            yield key, png


def panel_png(key: str, data: dict[str, Any], dpi: int = DPI) -> bytes:
    """One live panel as PNG bytes, cached by content: a panel whose data did not change (the
    empty charts after Reset, the first months of a run replayed with the same seed) is not
    drawn again, so a new run shows up at once. A panel that :func:`prefetch` handed to a
    drawing worker is taken from there (or drawn here if it is still waiting in the queue)."""
    cache_key = _cache_key(key, data, dpi)
    with _PNG_LOCK:
        hit = _cached(cache_key)
        if hit is not None:
            return hit
        pending = _PENDING.pop(cache_key, None)
        _IN_HAND[cache_key] = _IN_HAND.get(cache_key, 0) + 1  # prefetch must not hand it over again
    try:
        if pending is not None and not pending.cancel():  # a worker is drawing it (or has)
            try:
                return _remember(cache_key, pending.result(timeout=_WORKER_TIMEOUT_S))
            except CancelledError:  # a newer month's picture took its place in the queue: draw it here
                pass
            except (BrokenExecutor, FutureTimeout) as exc:  # draw here from now on
                print(f"licsim dashboard: drawing workers stopped ({type(exc).__name__}); drawing in the server",
                      file=sys.stderr, flush=True)
                stop_workers()
        return _remember(cache_key, _draw(key, data, dpi))
    finally:
        with _PNG_LOCK:
            left = _IN_HAND.pop(cache_key) - 1
            if left:
                _IN_HAND[cache_key] = left


# ---------------------------------------------------------------------------- drawing workers
#
# The dashboard server draws each new month's panels in worker processes, side by side, while
# its own thread goes on updating the page; a month with new deals redraws all five panels, and
# drawn one after another in the server they were most of the time between a click and the page
# showing the month. Without workers (tests, reports, ``start_workers(0)``) everything is drawn
# in the calling thread, with the same result.

_POOL: ProcessPoolExecutor | None = None
_PENDING: "OrderedDict[tuple, Future]" = OrderedDict()
_IN_HAND: dict[tuple, int] = {}  # pictures being drawn (or collected from a worker) by panel_png right now
_WORKER_TIMEOUT_S = 30.0


def _draw(key: str, data: dict[str, Any], dpi: int) -> bytes:
    return to_png(panel_figure(key, data), dpi=dpi)


def _sample_data() -> dict[str, Any]:
    """A few made-up months and deals, only to warm a drawing worker up."""
    months = pd.date_range("2018-01-01", periods=6, freq="MS")
    deals = pd.DataFrame({"replication": 0, "signed": months[[1, 4]], "year": 2018, "stage": list(STAGES[:2]),
                          "licensee_kind": list(COUNTERPARTIES[:2]), "territory": list(TERRITORIES[:2]),
                          "licensee_region": ["US", "EU"], "upfront_usd": [5e7, 1e8], "total_value_usd": [5e8, 1e9]})
    monthly = pd.DataFrame({"month": months, "upfront_usd": np.linspace(0, 1e8, 6),
                            "primary_financing_usd": np.linspace(1e9, 5e8, 6)})
    drivers = pd.DataFrame({"month": pd.date_range("2018-01-01", periods=36, freq="MS"),
                            **{k: np.linspace(0.5, 1.0, 36) for k in DRIVER_LINES}})
    return {"deals": deals, "monthly": monthly, "runways": np.linspace(1.0, 70.0, 40), "start": months[0],
            "end": months[-1] + pd.DateOffset(years=2), "thresholds": {"distress": 6.0, "raise": 18.0},
            "drivers": drivers, "now": months[-2],
            "observed": [{"panel": "deals", "start": months[0], "end": months[-1], "per_quarter": 3.0}]}


def _warm_up() -> int:
    """Import and draw every panel once, empty and with data, in a new worker (fonts, caches, the
    first call of each pandas and matplotlib path), so its first real picture is quick."""
    sample = _sample_data()
    for key in PANELS:
        _draw(key, {}, DPI)
        _draw(key, sample, DPI)
    return os.getpid()


def default_workers() -> int:
    """Two drawing workers on a small machine, up to four where there are cores to spare."""
    from sim.experiments.executors import available_cores

    return min(4, max(2, available_cores() - 1))


def start_workers(n: int | None = None) -> int:
    """Start ``n`` drawing worker processes (default :func:`default_workers`; 0: none) and warm them
    up in the background. Returns how many run. They are :func:`sim.experiments.executors.spawn_pool`
    workers: Ctrl-C is left to the server, and they end when the server is gone."""
    from sim.experiments.executors import spawn_pool

    global _POOL
    n = default_workers() if n is None else int(n)
    with _PNG_LOCK:
        if _POOL is not None or n <= 0:
            return 0 if _POOL is None else _POOL._max_workers
        _POOL = spawn_pool(n)
        pool = _POOL
    for _ in range(n):
        pool.submit(_warm_up)
    atexit.register(stop_workers)
    return n


def stop_workers() -> None:
    """Stop the drawing workers; panels are drawn in the calling thread from then on."""
    global _POOL
    with _PNG_LOCK:
        pool, _POOL = _POOL, None
        pending = list(_PENDING.values())
        _PENDING.clear()
    for fut in pending:
        fut.cancel()
    if pool is not None:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in processes:  # one stuck in a drawing would keep the server from exiting
            proc.terminate()


def workers_running() -> int:
    pool = _POOL
    return 0 if pool is None else pool._max_workers


def prefetch(data: dict[str, Any], keys: Sequence[str] | None = None, dpi: int = DPI) -> int:
    """Hand the panels of ``data`` that are not drawn yet to the drawing workers (none started:
    nothing happens); :func:`panel_png` then collects them. Returns how many were handed over."""
    if _POOL is None:
        return 0
    handed = 0
    for key in keys if keys is not None else PANEL_INPUTS:
        cache_key = _cache_key(key, data, dpi)
        with _PNG_LOCK:
            if cache_key in _PNG_CACHE or cache_key in _PENDING or cache_key in _IN_HAND or _POOL is None:
                continue
            inputs = {name: data.get(name) for name in (*PANEL_INPUTS[key], "start", "end", "thresholds", "now",
                                                         "observed")}
            for older, fut in list(_PENDING.items()):  # an older month of this panel: no one will wait for it
                if older[:2] == cache_key[:2] and fut.cancel():
                    del _PENDING[older]
            try:
                _PENDING[cache_key] = _POOL.submit(_draw, key, inputs, dpi)
            except RuntimeError:  # the pool broke or is shutting down
                break
            handed += 1
            while len(_PENDING) > _PNG_CACHE_SIZE:  # asked for and never collected (a Reset came first)
                _PENDING.popitem(last=False)[1].cancel()
    return handed


def panel_version(key: str, data: dict[str, Any]) -> tuple:
    """What a panel's picture depends on: panels drawn from the deal ledger only change when a
    deal is signed, so months without deals cost them nothing."""
    if PANEL_INPUTS.get(key) == ("deals",):
        deals = data.get("deals")
        return ("deals", 0 if deals is None else len(deals))
    return ("steps", data.get("steps"))


def dashboard_figure(data: dict[str, Any], title: str = "") -> Figure:
    """All panels on one sheet (the PNG export)."""
    fig = Figure(figsize=(18, 16), layout="constrained")
    if title:
        fig.suptitle(title, fontsize=TITLE_PT + 2, x=0.01, ha="left")
    grid = fig.add_gridspec(4, 4)
    _draw_one("drivers", fig.add_subplot(grid[0, 0:2]), data)
    _draw_one("deals", fig.add_subplot(grid[0, 2:4]), data)
    _draw_one("money", fig.add_subplot(grid[1, 0:2]), data)
    _draw_one("counterparties", fig.add_subplot(grid[1, 2:4]), data)
    _draw_one("runways", fig.add_subplot(grid[2, 0:2]), data)
    draw_rights((fig.add_subplot(grid[2, 2]), fig.add_subplot(grid[2, 3])), data.get("deals"))
    ax = fig.add_subplot(grid[3, :])
    ax.axis("off")
    ax.set_title("Latest notable deals", fontsize=TITLE_PT, loc="left")
    table = notable_deals(data.get("deals"), n=8)
    if len(table):
        cells = table[["signed", "licensee", "stage", "territory", "upfront"]].astype(str).values.tolist()
        t = ax.table(cellText=cells, colLabels=["signed", "licensee", "stage", "territory", "upfront"],
                     loc="upper center", cellLoc="left")
        t.auto_set_font_size(False)
        t.set_fontsize(TEXT_PT)
        t.scale(1, 1.5)
    else:
        _empty(ax)
    return fig


def dashboard_png(data: dict[str, Any], title: str = "", dpi: int = 100) -> bytes:
    return to_png(dashboard_figure(data, title), dpi=dpi)


# ---------------------------------------------------------------------------- comparison


def _per_rep_year(df: pd.DataFrame, value: str | None, date_col: str) -> pd.DataFrame:
    """Per replication (rows) and year (columns): the count (value None) or the sum of ``value``."""
    d = df.copy()
    d["_year"] = pd.to_datetime(d[date_col]).dt.year
    d["_rep"] = d["replication"] if "replication" in d.columns else 0
    if value is None:
        g = d.groupby(["_rep", "_year"]).size()
    else:
        g = d.groupby(["_rep", "_year"])[value].sum()
    return g.unstack("_year").fillna(0)


def _mean_band(ax, table: pd.DataFrame, colour: str, label: str, ls: str = "-", scale: float = 1.0) -> None:
    """The mean over runs as a line and, with several runs, the 5-95% band of the runs."""
    x = table.columns.to_numpy(dtype=float)
    v = table.to_numpy(dtype=float) / scale
    ax.plot(x, v.mean(axis=0), color=colour, ls=ls, marker="o", ms=4, lw=2, label=label)
    if len(v) > 1:
        ax.fill_between(x, np.percentile(v, 5, axis=0), np.percentile(v, 95, axis=0), color=colour, alpha=0.18,
                        linewidth=0)


def comparison_figure(a: dict[str, Any], b: dict[str, Any], labels: tuple[str, str]) -> Figure:
    """Two futures on shared axes: deals and money per year (mean line, band: 5-95% of the
    seeds' runs), and the counterparty and territory shares (bars: 5-95% of the runs)."""
    fig = Figure(figsize=(12, 8), layout="constrained")
    axes = fig.subplots(2, 2)
    colours = (PALETTE["a"], PALETTE["b"])
    sides = ((a, labels[0], colours[0]), (b, labels[1], colours[1]))
    runs = max(_nrep(a.get("deals")), _nrep(b.get("deals")))
    band = " (line: mean of the runs; band: 90% of them)" if runs > 1 else ""

    ax = axes[0, 0]
    ax.set_title("Deals per year", fontsize=TITLE_PT, loc="left")
    for side, label, colour in sides:
        deals = side.get("deals")
        if _col(deals, "signed"):
            _mean_band(ax, _per_rep_year(deals, None, "signed"), colour, label)
    ax.set_ylabel("deals per year", fontsize=TEXT_PT)
    ax.legend(fontsize=TEXT_PT, frameon=False, title=band.strip(" ()") or None, title_fontsize=TEXT_PT)
    ax.set_ylim(bottom=0)

    ax = axes[0, 1]
    ax.set_title("Upfronts (solid) and primary financing (dashed)", fontsize=TITLE_PT, loc="left")
    for side, label, colour in sides:
        monthly = side.get("monthly")
        if _col(monthly, "month"):
            for col, ls in (("upfront_usd", "-"), ("primary_financing_usd", "--")):
                if col in monthly.columns:
                    _mean_band(ax, _per_rep_year(monthly, col, "month"), colour,
                               f"{label}: {'upfronts' if ls == '-' else 'financing'}", ls=ls, scale=1e9)
    ax.yaxis.set_major_formatter(FuncFormatter(_usd_b))
    ax.set_ylabel("US$ per year", fontsize=TEXT_PT)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=TEXT_PT - 1, frameon=False)

    for ax, col, order, names, title in (
        (axes[1, 0], "licensee_kind", COUNTERPARTIES, COUNTERPARTY_LABELS, "Who licenses (% of deals)"),
        (axes[1, 1], "territory", TERRITORIES, TERRITORY_LABELS, "Territory licensed (% of deals)"),
    ):
        ax.set_title(title, fontsize=TITLE_PT, loc="left")
        per_side = []
        for side, _label, _colour in sides:
            deals = side.get("deals")
            if _col(deals, col):
                rep = deals["replication"] if "replication" in deals.columns else pd.Series(0, index=deals.index)
                per_side.append(pd.crosstab(rep, deals[col].astype(str), normalize="index") * 100)
            else:
                per_side.append(pd.DataFrame())
        keys = [k for k in order if any(k in t.columns for t in per_side)]
        keys += sorted({str(k) for t in per_side for k in t.columns} - set(keys))
        x = np.arange(len(keys))
        for i, ((_side, label, colour), t) in enumerate(zip(sides, per_side)):
            t = t.reindex(columns=keys).fillna(0)
            m = t.mean(axis=0).to_numpy() if len(t) else np.zeros(len(keys))
            err = None
            if len(t) > 1:
                lo, hi = np.percentile(t.to_numpy(), 5, axis=0), np.percentile(t.to_numpy(), 95, axis=0)
                err = np.clip(np.array([m - lo, hi - m]), 0, None)
            ax.bar(x + (i - 0.5) * 0.4, m, width=0.4, color=colour, label=label, yerr=err, capsize=3)
        ax.set_xticks(x)
        ax.set_xticklabels([names.get(k, k) for k in keys], fontsize=TEXT_PT)
        ax.set_ylabel("% of deals", fontsize=TEXT_PT)
        ax.legend(fontsize=TEXT_PT, frameon=False)
    for ax in axes.flat:
        ax.tick_params(labelsize=TEXT_PT)
        ax.grid(alpha=0.3)
    return fig


def side_limits(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Shared axis limits for two futures' panels drawn side by side: the deals panel's highest
    quarter and the rights panel's longest bars, over both (so A and B read on the same scale)."""
    top, terr, region = 0.0, 0.0, 0.0
    for side in (a, b):
        deals = side.get("deals")
        if not _col(deals, "signed"):
            continue
        n = _nrep(deals)
        top = max(top, float(deals.groupby(pd.to_datetime(deals["signed"]).dt.to_period("Q")).size().max()) / n)
        if "territory" in deals.columns:
            terr = max(terr, float(deals["territory"].astype(str).value_counts().max()) / n)
        if "licensee_region" in deals.columns:
            region = max(region, float(deals["licensee_region"].astype(str).value_counts().max()) / n)
    return {"deals": top * 1.05 or 1.0, "rights": (terr * 1.05 or 1.0, region * 1.05 or 1.0)}


def comparison_png(a: dict[str, Any], b: dict[str, Any], labels: tuple[str, str], dpi: int = DPI) -> bytes:
    return to_png(comparison_figure(a, b, labels), dpi=dpi)
