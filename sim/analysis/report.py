"""Outcome summaries, written-out differences between two futures, and the printable HTML report.

* :func:`detect_kind` tells a result folder of ``licsim run`` / ``compare`` / ``batch`` apart.
* :func:`load_frames` reads the deal ledger and monthly series of a run folder (for a batch
  folder, the deal ledgers it kept); :func:`read_runs_table` a batch's runs table.
* A batch folder (``licsim batch``: ``runs/`` with one row per run, ``deals/point=P/`` when the
  experiment keeps deal ledgers, ``manifest.json``, and ``analysis/`` after ``licsim analyze``)
  is reported as: the experiment, runs ok and failed, outcome means per design point, the
  analysis' charts and sensitivity tables, and charts of the kept deals.
* :func:`outcome_table` gives one row of scalar outcomes per replication;
  :func:`key_differences` writes out how two futures differ (used by the dashboard's comparison page).
* :func:`build_report` / :func:`write_report`: one self-contained HTML page (charts embedded as
  base64 PNG, no external resources), written atomically as ``report.html`` in the folder.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import EARLY, LICENSEE_KINDS
from sim.analysis.validation import format_value as format_number
from sim.errors import UserError

MAX_TABLE_ROWS = 60
MAX_IMAGES = 40
MAX_CSVS = 12

# ------------------------------------------------------------------------------ result folders


def _find(folder: Path, pattern: str, depth: int = 2, limit: int = 500) -> list[Path]:
    """Files matching ``pattern`` in ``folder`` and up to ``depth - 1`` levels below (not hidden), sorted."""
    out: list[Path] = []
    level = [folder]
    for _ in range(depth):
        nxt = []
        for d in level:
            try:
                entries = sorted(d.iterdir())
            except OSError:
                continue
            for p in entries:
                if p.name.startswith("."):
                    continue
                if p.is_dir():
                    nxt.append(p)
                elif p.match(pattern):
                    out.append(p)
                    if len(out) >= limit:
                        return out
        level = nxt
    return sorted(out)


def detect_kind(folder: str | Path) -> str | None:
    """'run', 'compare', 'batch', 'files' (only PNG/CSV to show) or None (nothing usable)."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    if (folder / "comparison.csv").is_file():
        return "compare"
    if (folder / "runs").is_dir():
        return "batch"
    if (folder / "deals.parquet").is_file() or (folder / "monthly.parquet").is_file():
        return "run"
    if (folder / "manifest.json").is_file() and ((folder / "yearly.csv").is_file() or (folder / "charts").is_dir()):
        return "run"
    if _find(folder, "*.png", limit=1) or _find(folder, "*.csv", limit=1):
        return "files"
    return None


def _read_parquets(paths: Sequence[Path], root: Path | None = None) -> pd.DataFrame | None:
    """Read and stack parquet files; with several files, replications are tagged with the file's
    path under ``root`` (``point=3/replication-2:0``) so runs that each count from 0 stay apart."""
    frames = []
    for p in paths:
        try:
            df = pd.read_parquet(p)
        except Exception:
            continue
        if "replication" not in df.columns:
            df.insert(0, "replication", 0)
        if len(paths) > 1:
            rel = p.relative_to(root) if root is not None else Path(p.name)
            tag = str(rel.with_suffix(""))
            df["replication"] = [f"{tag}:{r}" for r in df["replication"]]
        frames.append(df)
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def load_frames(folder: str | Path) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Deal ledger and monthly series of a run folder; for a batch folder, the deal ledgers it
    kept (``deals/``; batches keep no monthly series)."""
    folder = Path(folder)
    deals = _read_parquets([folder / "deals.parquet"]) if (folder / "deals.parquet").is_file() else None
    monthly = _read_parquets([folder / "monthly.parquet"]) if (folder / "monthly.parquet").is_file() else None
    if deals is None and monthly is None and (folder / "deals").is_dir():
        files = sorted(p for p in (folder / "deals").rglob("*.parquet") if not p.name.startswith("."))
        deals = _read_parquets(files, folder / "deals")
    return deals, monthly


def read_runs_table(folder: str | Path) -> pd.DataFrame | None:
    """The runs table of a batch folder (one row per run with its outcomes), or None."""
    runs = Path(folder) / "runs"
    files = sorted(p for p in runs.glob("*.parquet") if not p.name.startswith(".")) if runs.is_dir() else []
    if not files:
        return None
    try:
        df = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
    except Exception:
        return None
    keys = [c for c in ("point", "replication") if c in df.columns]
    return df.sort_values(keys, kind="stable").reset_index(drop=True) if keys else df


def compare_sides(folder: str | Path) -> list[tuple[str, pd.DataFrame | None, pd.DataFrame | None]]:
    """The futures of a compare folder: each sub-folder holding a run's frames, in name order."""
    folder = Path(folder)
    sides = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if detect_kind(sub) in ("run", "batch"):
            deals, monthly = load_frames(sub)
            if deals is not None or monthly is not None:
                sides.append((sub.name, deals, monthly))
    return sides


# ------------------------------------------------------------------------------ outcomes


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    kind: str  # count | money | share | months | firms


METRICS: list[Metric] = [
    Metric("deals_per_year", "deals signed per year", "count"),
    Metric("upfront_per_year_usd", "upfront payments per year", "money"),
    Metric("median_upfront_usd", "median upfront per deal", "money"),
    Metric("value_per_year_usd", "headline deal value per year", "money"),
    Metric("financing_per_year_usd", "primary financing per year", "money"),
    Metric("share_mnc", "share of deals with top MNCs", "share"),
    Metric("share_mid_size", "share of deals with mid-size buyers", "share"),
    Metric("share_incubator", "share of deals with incubators (NewCos)", "share"),
    Metric("share_regional", "share of deals with regional licensees", "share"),
    Metric("share_global", "share of deals for global rights", "share"),
    Metric("share_early", "share of deals at preclinical or phase 1", "share"),
    Metric("share_terminated", "share of deals terminated", "share"),
    Metric("active_biotechs_end", "active biotechs at the end", "firms"),
    Metric("folded_biotechs", "biotechs that folded", "firms"),
]


def _years(monthly_rep: pd.DataFrame | None, deals_rep: pd.DataFrame | None) -> float:
    if monthly_rep is not None and len(monthly_rep):
        return max(len(monthly_rep) / 12.0, 1 / 12)
    if deals_rep is not None and len(deals_rep) and "signed" in deals_rep:
        s = pd.to_datetime(deals_rep["signed"])
        return max(((s.max() - s.min()).days / 365.25), 1.0)
    return float("nan")


def _share(deals: pd.DataFrame, col: str, values: Sequence[str]) -> float:
    if col not in deals.columns or not len(deals):
        return float("nan")
    return float(deals[col].astype(str).isin(values).mean())


def outcome_table(deals: pd.DataFrame | None, monthly: pd.DataFrame | None) -> pd.DataFrame:
    """One row of scalar outcomes (:data:`METRICS`) per replication, over every month given.

    Deals are China out-licensing deals (licensor a Chinese biotech: ``china_origin``) where the
    ledger says so, as in ``licsim run``'s yearly table and ``licsim compare``."""
    if deals is not None and "china_origin" in deals.columns:
        deals = deals[deals["china_origin"].astype(bool).to_numpy()]
    reps: list[Any] = []
    for df in (deals, monthly):
        if df is not None and "replication" in df.columns:
            reps.extend(df["replication"].dropna().unique().tolist())
    reps = sorted(set(reps), key=lambda r: (str(type(r)), r)) or [None]
    rows = []
    for rep in reps:
        d = deals if rep is None or deals is None or "replication" not in deals.columns else deals[deals["replication"] == rep]
        m = monthly if rep is None or monthly is None or "replication" not in monthly.columns else monthly[monthly["replication"] == rep]
        if d is None:
            d = pd.DataFrame()
        years = _years(m, d)
        row: dict[str, Any] = {"replication": rep}
        row["deals_per_year"] = len(d) / years if years == years else float("nan")
        up = d["upfront_usd"].astype(float) if "upfront_usd" in d.columns else pd.Series(dtype=float)
        row["upfront_per_year_usd"] = float(up.sum()) / years if len(d) else 0.0
        row["median_upfront_usd"] = float(up.median()) if len(up) else float("nan")
        if "total_value_usd" in d.columns:
            row["value_per_year_usd"] = float(d["total_value_usd"].astype(float).sum()) / years
        else:
            row["value_per_year_usd"] = float("nan")
        if m is not None and "primary_financing_usd" in m.columns:
            row["financing_per_year_usd"] = float(m["primary_financing_usd"].sum()) / years
        else:
            row["financing_per_year_usd"] = float("nan")
        for kind in LICENSEE_KINDS:
            row[f"share_{kind}"] = _share(d, "licensee_kind", [kind])
        row["share_global"] = _share(d, "territory", ["global"])
        row["share_early"] = _share(d, "stage", list(EARLY))
        row["share_terminated"] = float(d["terminated"].notna().mean()) if "terminated" in d.columns and len(d) else float("nan")
        if m is not None and len(m) and "active_biotechs" in m.columns:
            row["active_biotechs_end"] = float(m.sort_values("month")["active_biotechs"].iloc[-1]) if "month" in m else float(m["active_biotechs"].iloc[-1])
        else:
            row["active_biotechs_end"] = float("nan")
        row["folded_biotechs"] = float(m["folded_biotechs"].sum()) if m is not None and "folded_biotechs" in m.columns else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


# Metric kinds as the project's one number formatter (validation.format_value) names units.
_UNIT_OF_KIND = {"money": "usd", "share": "share", "count": "count", "months": "months", "firms": "count"}


def format_value(metric: Metric, value: float) -> str:
    """A metric's value as people read it: $4.18B, 39.7%, 103.1 (``-`` when missing)."""
    return format_number(value, _UNIT_OF_KIND.get(metric.kind, ""))


def summary_table(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Mean, standard deviation and replications of every outcome, formatted for people."""
    rows = []
    for metric in METRICS:
        if metric.key not in outcomes.columns:
            continue
        values = outcomes[metric.key].astype(float).dropna()
        if not len(values):
            continue
        mean = float(values.mean())
        sd = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
        rows.append({"outcome": metric.label, "mean": format_value(metric, mean),
                     "sd across runs": format_value(metric, sd) if len(values) > 1 else "",
                     "runs": len(values)})
    return pd.DataFrame(rows)


def key_differences(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                    limit: int = 6) -> list[str]:
    """How future B differs from future A, largest differences first, as sentences.

    ``a`` and ``b`` are :func:`outcome_table` frames (one row per replication). A difference
    smaller than twice its standard error (when both sides have several runs) is marked as
    within seed-to-seed noise.
    """
    la, lb = labels
    scored = []
    for metric in METRICS:
        if metric.key not in a.columns or metric.key not in b.columns:
            continue
        va, vb = a[metric.key].astype(float).dropna(), b[metric.key].astype(float).dropna()
        if not len(va) or not len(vb):
            continue
        ma, mb = float(va.mean()), float(vb.mean())
        diff = mb - ma
        if metric.kind == "share":
            score = abs(diff) * 100 / 20  # 10 points counts like a 50% change
            if abs(diff) < 0.02:
                continue
            change = f"{diff * 100:+.1f} points"
        else:
            if ma == 0 and mb == 0:
                continue
            rel = diff / abs(ma) if ma else float("inf")
            score = abs(rel) if math.isfinite(rel) else 10.0
            if abs(rel) < 0.05:
                continue
            change = f"{rel * 100:+.0f}%" if math.isfinite(rel) else "from zero"
        noise = ""
        if len(va) > 1 and len(vb) > 1:
            se = math.sqrt(va.var(ddof=1) / len(va) + vb.var(ddof=1) / len(vb))
            if se > 0 and abs(diff) < 2 * se:
                noise = " (within seed-to-seed noise)"
                score /= 4
        more = "higher" if diff > 0 else "lower"
        text = (f"{metric.label[0].upper()}{metric.label[1:]} is {more} under {lb}: "
                f"{format_value(metric, mb)} vs {format_value(metric, ma)} under {la} ({change}){noise}.")
        scored.append((score, text))
    scored.sort(key=lambda t: -t[0])
    if not scored:
        return [f"{lb} and {la} differ by less than 5% (or 2 points) on every outcome."]
    return [t for _, t in scored[:limit]]


@dataclass
class _Frames:
    deals: pd.DataFrame
    monthly: pd.DataFrame


def paired_comparison(a: tuple[pd.DataFrame, pd.DataFrame], b: tuple[pd.DataFrame, pd.DataFrame]) -> pd.DataFrame | None:
    """The table ``licsim compare`` writes (comparison.csv), for two futures given as (deals, monthly)
    with the same replications; None when that is not possible (then use :func:`key_differences`).

    The window starts in the first year the two futures differ, as in ``licsim compare``.
    """
    try:
        from sim.analysis.compare import compare_runs, comparison_window, default_universe
        from sim.analysis.validation import prepare_runs
    except ImportError:
        return None
    try:
        universe = default_universe()
        ra = prepare_runs(_Frames(*a), universe)
        rb = prepare_runs(_Frames(*b), universe)
        if not ra or len(ra) != len(rb):
            return None
        months = sorted(set(ra[0].monthly["_mi"]) & set(rb[0].monthly["_mi"]))
        if not months:
            return None
        return compare_runs(ra, rb, comparison_window(ra, rb)[0])
    except Exception:  # a future the compare module does not accept: fall back to plain outcomes
        return None


def _fmt_unit(value: Any, unit: str) -> str:
    if unit == "number" and isinstance(value, (int, float)) and math.isfinite(value) and abs(value) >= 100:
        return f"{value:,.0f}"
    return format_number(value, unit)


def differences_from_comparison(table: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                                limit: int = 6) -> list[str]:
    """Sentences on the largest differences in a comparison table (``licsim compare``'s columns).

    Differences whose 90% confidence interval excludes zero come first; a difference that is
    not distinguishable from seed-to-seed noise says so.
    """
    la, lb = labels
    rows = table
    if "section" in rows.columns:
        rows = rows[rows["section"].astype(str) != "by year"]
    need = {"label", "a_mean", "b_mean"}
    if not need <= set(rows.columns):
        return []
    scored = []
    for r in rows.itertuples(index=False):
        r = r._asdict()
        a, b = float(r["a_mean"]), float(r["b_mean"])
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        unit = str(r.get("unit", ""))
        diff = float(r.get("diff_mean", b - a))
        if not math.isfinite(diff):
            diff = b - a
        if unit in ("share", "ratio"):
            if abs(diff) < 0.02:
                continue
            score = abs(diff) * 100 / 20
            change = f"{diff * 100:+.1f} points"
        else:
            if a == 0 and b == 0:
                continue
            rel = diff / abs(a) if a else float("inf")
            if abs(rel) < 0.05:
                continue
            score = min(abs(rel), 10.0)
            change = f"{rel * 100:+.0f}%" if math.isfinite(rel) else "up from zero"
        n = int(r.get("n", 0) or 0)
        sig = r.get("significant")
        sig = str(sig).lower() in ("true", "1", "*") if sig is not None else False
        note = ""
        if n > 1:
            if sig:
                score += 100
            else:
                note = "; not distinguishable from seed-to-seed noise"
        label = str(r["label"])
        more = "higher" if diff > 0 else "lower"
        period = f" ({str(r['period']).replace('..', chr(0x2013))})" if r.get("period") and str(r.get("period")) != "nan" else ""
        scored.append((score, f"{label[0].upper()}{label[1:]}{period} is {more} under {lb}: {_fmt_unit(b, unit)} "
                              f"vs {_fmt_unit(a, unit)} under {la} ({change}{note})."))
    scored.sort(key=lambda t: -t[0])
    if not scored:
        return [f"{lb} and {la} differ by less than 5% (or 2 points) on every outcome."]
    return [t for _, t in scored[:limit]]


def side_by_side(a: pd.DataFrame, b: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """Mean outcome of each future next to the other's."""
    rows = []
    for metric in METRICS:
        if metric.key not in a.columns or metric.key not in b.columns:
            continue
        ma, mb = a[metric.key].astype(float).mean(), b[metric.key].astype(float).mean()
        if pd.isna(ma) and pd.isna(mb):
            continue
        rows.append({"outcome": metric.label, labels[0]: format_value(metric, ma), labels[1]: format_value(metric, mb)})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ HTML

CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.25em;border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:1.6em} h3{font-size:1.05em;margin-bottom:.3em}
.meta{color:#666;font-size:.9em} table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top} th{background:#f2f2f2}
td.num{text-align:right} figure{margin:1em 0;page-break-inside:avoid} figure img{max-width:100%;height:auto}
figcaption{font-size:.85em;color:#555} ul.diff li{margin:.25em 0} .note{font-size:.8em;color:#777}
.wide{max-width:100%;overflow-x:auto} td,th{overflow-wrap:anywhere}
@media print{body{margin:0;max-width:none} h2{page-break-after:avoid} table{page-break-inside:avoid;font-size:.75em}
.wide{overflow:visible}}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def png_img(data: bytes, alt: str) -> str:
    b64 = base64.b64encode(data).decode("ascii")
    return f'<img alt="{_esc(alt)}" src="data:image/png;base64,{b64}">'


def figure_html(data: bytes, caption: str) -> str:
    return f"<figure>{png_img(data, caption)}<figcaption>{_esc(caption)}</figcaption></figure>"


def number_for_people(v: float, column: str = "") -> str:
    """A number in a table cell, by what its column holds: money ($2.48B), shares (54.0%), else a
    few significant figures (1,234; 56.7; 0.54). Never 2,481,100,508 or 0.5398."""
    if not math.isfinite(v):
        return "" if math.isnan(v) else str(v)
    name = column.lower()
    if "usd" in name.replace("-", "_").split("_") or name.endswith("usd"):
        return format_number(v, "usd")
    if "share" in name or "survival" in name or name.endswith("_to_value"):
        return format_number(v, "share")
    if name in ("s1", "st", "s1_conf", "st_conf", "s2", "s2_conf", "mu_star_conf"):
        return f"{v:.2f}"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if v == int(v):
        return f"{int(v)}"
    return f"{v:.1f}" if abs(v) >= 100 else f"{v:.3g}"


def table_html(df: pd.DataFrame, max_rows: int = MAX_TABLE_ROWS) -> str:
    if df is None or not len(df.columns):
        return '<p class="note">(empty)</p>'
    shown = df.head(max_rows)
    head = "".join(f"<th>{_esc(c)}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for col, v in zip(shown.columns, row):
            if isinstance(v, (float, np.floating)):
                cells.append(f'<td class="num">{_esc(number_for_people(float(v), str(col)))}</td>')
            elif isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                cells.append(f'<td class="num">{_esc(v)}</td>')
            else:
                cells.append(f"<td>{_esc('' if v is None or (isinstance(v, float) and math.isnan(v)) else v)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if len(df) > max_rows:
        more = f'<p class="note">first {max_rows} of {len(df)} rows shown</p>'
    return (f'<div class="wide"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
            f"{more}")


def _kv_table(items: Mapping[str, Any]) -> str:
    rows = []
    for k, v in items.items():
        if isinstance(v, dict) and "name" in v and ("population" in v or "drivers" in v):
            v = f"{v['name']}: {v.get('description', '')} (full scenario in manifest.json)"
        if isinstance(v, (dict, list)):
            v = json.dumps(v, default=str)
            if len(v) > 300:
                v = v[:300] + " ..."
        rows.append(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        return data if isinstance(data, dict) else {"value": data}
    except Exception:
        return None


def _read_csv(path: Path) -> pd.DataFrame | None:
    try:
        return pd.read_csv(path)
    except Exception:
        return None


def _frame_charts(deals: pd.DataFrame | None, monthly: pd.DataFrame | None) -> list[str]:
    """The dashboard's panels for a finished run (first replication for time series)."""
    from sim.interfaces.dashboard import panels

    out = []
    d = deals
    m = monthly
    data = {"deals": d, "monthly": m, "runways": None}
    if m is not None and "month" in m.columns and len(m):
        months = pd.to_datetime(m["month"])
        data["start"], data["end"] = months.min(), months.max()
    nrep = 1
    if d is not None and "replication" in d.columns:
        nrep = max(1, d["replication"].nunique())
    if m is not None and "replication" in m.columns:
        nrep = max(nrep, m["replication"].nunique())
    note = f" (mean of {nrep} runs)" if nrep > 1 else ""
    captions = {
        "deals": "Deals signed per quarter, by the asset's stage at signing" + note,
        "money": "Upfront payments received per quarter against primary financing raised" + note,
        "counterparties": "Share of each year's deals by kind of licensee" + note,
        "rights": "Where the rights went: territory licensed and licensee home region" + note,
    }
    for key, caption in captions.items():
        try:
            out.append(figure_html(panels.panel_png(key, data, dpi=100), caption))
        except Exception as exc:  # a chart must never sink the whole report
            out.append(f'<p class="note">chart "{_esc(key)}" could not be drawn: {_esc(exc)}</p>')
    return out


def _images(folder: Path, exclude: set[Path] = frozenset()) -> list[Path]:
    found = [p for p in _find(folder, "*.png") if p not in exclude]
    return found[:MAX_IMAGES]


def _section(title: str, body: str) -> str:
    return f"<section><h2>{_esc(title)}</h2>{body}</section>"


def _span_text(deals: pd.DataFrame | None, monthly: pd.DataFrame | None) -> str:
    """The months a run covers, as 2018-01 to 2030-12."""
    for df, col in ((monthly, "month"), (deals, "signed")):
        if df is not None and col in df.columns and len(df):
            d = pd.to_datetime(df[col])
            return f"{d.min():%Y-%m} to {d.max():%Y-%m}"
    return "the run"


def _frames_sections(deals: pd.DataFrame | None, monthly: pd.DataFrame | None, outcomes: bool = True) -> list[str]:
    sections = []
    if deals is None and monthly is None:
        return sections
    summary = summary_table(outcome_table(deals, monthly)) if outcomes else pd.DataFrame()
    if len(summary):
        sections.append(_section(f"Outcomes, {_span_text(deals, monthly)} (China out-licensing deals; the "
                                 "whole run, every month simulated)", table_html(summary)))
    if deals is not None and len(deals):
        from sim.interfaces.dashboard import panels

        charts = _frame_charts(deals, monthly)
        sections.append(_section("Market charts", "".join(charts)))
        table = panels.notable_deals(deals, n=15, quantile=None, newest_first=False)
        sections.append(_section("Largest deals (by upfront)", table_html(table)))
    return sections


#: Most deal ledgers of a batch read for its deal charts (spread evenly over the runs).
MAX_DEAL_FILES = 200
_RUN_KEYS = ("point", "replication", "seed", "status", "error")


@dataclass
class _BatchParts:
    """A batch report's sections, and the files they already show."""

    sections: list[str]
    pngs: set[Path]
    csvs: set[Path]


def _sub(data: Mapping[str, Any] | None, key: str) -> Mapping[str, Any]:
    """``data[key]`` where it is a mapping, else an empty one (manifests are read, not trusted)."""
    value = (data or {}).get(key)
    return value if isinstance(value, Mapping) else {}


def _batch_columns(runs: pd.DataFrame, manifest: Mapping[str, Any] | None) -> tuple[list[str], list[str]]:
    """The varied parameters and the outcomes among the runs table's columns.

    From the manifest when it lists them; otherwise the numeric columns, a dotted name (a
    scenario path) counting as a parameter.
    """
    manifest = manifest or {}
    exp = _sub(manifest, "experiment")
    params = [p.get("path") for p in manifest.get("parameters") or [] if isinstance(p, Mapping)]
    if not params and isinstance(exp.get("parameters"), Mapping):
        params = list(exp["parameters"])
    outcomes = list(manifest.get("outcomes") or exp.get("outcomes") or [])
    numeric = [c for c in runs.columns if c not in _RUN_KEYS and pd.api.types.is_numeric_dtype(runs[c])]
    if not params:
        params = [c for c in numeric if "." in c and c not in outcomes]
    if not outcomes:
        outcomes = [c for c in numeric if c not in params]
    return [p for p in params if p in runs.columns], [o for o in outcomes if o in runs.columns]


def _experiment_facts(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What was run, from a batch manifest, in a few lines."""
    exp = _sub(manifest, "experiment")
    design = _sub(manifest, "design") or _sub(exp, "design")
    description = " ".join(str(exp.get("description") or "").split())
    facts: dict[str, Any] = {}
    for key, value in (("experiment", exp.get("name")), ("description", description),
                       ("experiment file", manifest.get("experiment_file")),
                       ("base scenario", exp.get("base")), ("base scenario file", manifest.get("base_scenario_file"))):
        if value:
            facts[key] = value
    if exp.get("overrides"):
        facts["overrides"] = ", ".join(f"{k} = {v}" for k, v in exp["overrides"].items())
    if design:
        size = ", ".join(f"{design[k]} {k}" for k in ("points", "replications", "runs") if design.get(k) is not None)
        facts["design"] = f"{design.get('kind', '?')}" + (f" ({size})" if size else "")
    params = manifest.get("parameters") or [
        {"path": k, **v} for k, v in (exp.get("parameters") or {}).items() if isinstance(v, Mapping)]
    for p in params:
        if not isinstance(p, Mapping) or "path" not in p:
            continue
        if p.get("values") is not None:
            spread = "values " + ", ".join(str(v) for v in p["values"])
        else:
            spread = f"{p.get('low')} to {p.get('high')}"
        facts[f"parameter {p['path']}"] = spread
    outcomes = manifest.get("outcomes") or exp.get("outcomes")
    if outcomes:
        facts["outcomes"] = ", ".join(map(str, outcomes))
    seed = manifest.get("root_seed", exp.get("seed"))
    if seed is not None:
        facts["root seed"] = seed
    for key in ("status", "created"):
        if manifest.get(key):
            facts[key] = manifest[key]
    git = manifest.get("git")
    if isinstance(git, Mapping) and git.get("commit"):
        facts["git commit"] = str(git["commit"])[:12] + (" (uncommitted changes)" if git.get("dirty") else "")
    versions = manifest.get("versions")
    if isinstance(versions, Mapping) and versions.get("licsim"):
        facts["licsim version"] = versions["licsim"]
    return facts


def _money_columns(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """US dollar columns (``*_usd*``) written as $M / $B for people."""
    money = Metric("", "", "money")
    out = df.copy()
    for c in columns:
        if "usd" in c.split("_") and c in out.columns:
            out[c] = [format_value(money, float(v)) for v in out[c]]
    return out


def _batch_sections(folder: Path, manifest: Mapping[str, Any] | None) -> _BatchParts:
    """What a ``licsim batch`` folder holds: the experiment, runs ok and failed, the outcomes
    per design point, ``licsim analyze``'s charts and tables, and the kept deal ledgers."""
    parts = _BatchParts([], set(), set())
    if _sub(manifest, "experiment"):
        parts.sections.append(_section("Experiment", _kv_table(_experiment_facts(manifest))))
    elif manifest:
        parts.sections.append(_section("Run settings", _kv_table(manifest)))
    runs = read_runs_table(folder)
    if runs is None:
        parts.sections.append(_section("Runs", '<p class="note">no finished runs in runs/ yet</p>'))
    else:
        parts.sections.extend(_runs_sections(runs, manifest))
    _analysis_sections(folder, manifest, parts)
    parts.sections.extend(_batch_deals_sections(folder))
    return parts


def _runs_sections(runs: pd.DataFrame, manifest: Mapping[str, Any] | None) -> list[str]:
    """Runs ok and failed, outcome means per design point, outcomes across runs, failures."""
    sections = []
    params, outcomes = _batch_columns(runs, manifest)
    status = runs["status"].astype(str) if "status" in runs.columns else pd.Series(["ok"] * len(runs))
    n_ok = int((status == "ok").sum())
    facts: dict[str, Any] = {"runs stored": len(runs), "runs ok": n_ok, "runs failed": len(runs) - n_ok}
    planned = _sub(manifest, "design").get("runs")
    if planned is not None and int(planned) > len(runs):
        facts["runs not yet done"] = f"{int(planned) - len(runs)} of {int(planned)} (run licsim batch again to finish)"
    if "point" in runs.columns:
        facts["design points"] = int(runs["point"].nunique())
    if "replication" in runs.columns:
        facts["replications per point"] = int(runs["replication"].nunique())
    sections.append(_section("Runs", _kv_table(facts)))
    ok = runs[status.to_numpy() == "ok"]
    if outcomes and len(ok) and "point" in ok.columns:
        grouped = ok.groupby("point", sort=True)
        table = grouped[params].first() if params else pd.DataFrame(index=grouped.size().index)
        table["runs ok"] = grouped.size()
        failed = runs[status.to_numpy() != "ok"].groupby("point").size() if "point" in runs.columns else None
        if failed is not None and len(failed):
            table["runs failed"] = failed.reindex(table.index).fillna(0).astype(int)
        table = table.join(grouped[outcomes].mean()).reset_index()
        sections.append(_section("Outcomes by design point (mean of the runs that finished)",
                                 table_html(_money_columns(table, outcomes))))
    if outcomes and len(ok):
        values = ok[outcomes].astype(float)
        stats = pd.DataFrame({"outcome": outcomes, "runs with a value": values.notna().sum().to_numpy(),
                              "mean": values.mean().to_numpy(), "sd": values.std(ddof=1).to_numpy(),
                              "5%": values.quantile(0.05).to_numpy(), "median": values.median().to_numpy(),
                              "95%": values.quantile(0.95).to_numpy()})
        money = [i for i, o in enumerate(outcomes) if "usd" in o.split("_")]
        shown = stats.astype(object)
        for i in money:
            for c in ("mean", "sd", "5%", "median", "95%"):
                shown.at[i, c] = format_value(Metric("", "", "money"), float(stats.at[i, c]))
        sections.append(_section("Outcomes across all runs", table_html(shown)))
        try:
            from matplotlib.figure import Figure

            from sim.interfaces.dashboard.panels import to_png

            cols = outcomes[:9]
            ncols = min(3, len(cols))
            nrows = int(math.ceil(len(cols) / ncols))
            fig = Figure(figsize=(11, 2.8 * nrows), layout="constrained")
            for i, c in enumerate(cols):
                ax = fig.add_subplot(nrows, ncols, i + 1)
                v = values[c].dropna()
                ax.hist(v, bins=min(30, max(5, int(math.sqrt(len(v))))), color="#4c72b0", edgecolor="white")
                ax.set_title(c, fontsize=9, loc="left")
                ax.tick_params(labelsize=7)
            caption = f"each outcome over the {len(ok)} runs that finished" + (
                f" (first {len(cols)} of {len(outcomes)} outcomes)" if len(cols) < len(outcomes) else "")
            sections.append(_section("Distributions across runs", figure_html(to_png(fig, dpi=100), caption)))
        except Exception as exc:  # a chart must never sink the whole report
            sections.append(f'<p class="note">distribution charts could not be drawn: {_esc(exc)}</p>')
    if "status" in runs.columns:
        failed_rows = runs[status.to_numpy() != "ok"]
        if len(failed_rows):
            cols = [c for c in ("point", "replication", "seed", "error") if c in failed_rows.columns]
            sections.append(_section("Failed runs (tracebacks in errors.log)",
                                     table_html(failed_rows[cols], max_rows=20)))
    return sections


def _analysis_sections(folder: Path, manifest: Mapping[str, Any] | None, parts: _BatchParts) -> None:
    """``licsim analyze``'s output (``analysis/``): notes, sensitivity indices and charts."""
    adir = folder / "analysis"
    if not adir.is_dir():
        parts.sections.append(_section("Analysis", '<p class="note">not analysed yet: run <code>licsim analyze '
                                                   f'{_esc(folder)}</code> for per-outcome charts and, for sobol '
                                                   'and morris designs, sensitivity indices</p>'))
        return
    body = []
    notes = adir / "notes.txt"
    if notes.is_file():
        try:
            lines = [ln.strip() for ln in notes.read_text(encoding="utf-8").splitlines() if ln.strip()]
        except (OSError, UnicodeDecodeError):
            lines = []
        if lines:
            body.append('<ul class="diff">' + "".join(f"<li>{_esc(ln)}</li>" for ln in lines) + "</ul>")
    points_csv = adir / "points.csv"
    if points_csv.is_file():  # the runs table above gives the same means; the file has sd and intervals too
        parts.csvs.add(points_csv)
        body.append('<p class="note">per-point means, sd and 90% intervals of every outcome: '
                    "analysis/points.csv</p>")
    for name in ("sobol.csv", "morris.csv", "sobol_s2.csv"):
        path = adir / name
        if path.is_file():
            parts.csvs.add(path)
            df = _read_csv(path)
            if df is not None:
                title = {"sobol.csv": "Sobol indices (S1 first order, ST total; 95% intervals)",
                         "morris.csv": "Morris elementary effects (mu*, sigma)",
                         "sobol_s2.csv": "Sobol second-order indices"}[name]
                body.append(f"<h3>{_esc(title)} (analysis/{_esc(name)})</h3>" + table_html(df))
    pngs = sorted(p for p in adir.glob("*.png") if not p.name.startswith("."))
    sensitivity = [p for p in pngs if p.stem.startswith("sensitivity_")]
    figs = []
    kind = str(_sub(manifest, "design").get("kind") or "")
    for p in sensitivity + [p for p in pngs if p not in sensitivity][: max(0, MAX_IMAGES - len(sensitivity))]:
        if p.stem.startswith("sensitivity_"):
            outcome = p.stem.removeprefix("sensitivity_")
            caption = f"{kind + ' ' if kind else ''}sensitivity of {outcome} to each parameter"
        else:
            caption = f"{p.stem} against each varied parameter (point means, 90% of runs)"
        try:
            figs.append(figure_html(p.read_bytes(), f"{caption} (analysis/{p.name})"))
        except OSError:
            continue
        parts.pngs.add(p)
    body.extend(figs)
    if body:
        parts.sections.append(_section("Analysis (licsim analyze)", "".join(body)))


def _batch_deals_sections(folder: Path) -> list[str]:
    """Charts and largest deals from the deal ledgers a batch kept (``deals/point=P/*.parquet``)."""
    ddir = folder / "deals"
    if not ddir.is_dir():
        return []
    files = sorted(p for p in ddir.rglob("*.parquet") if not p.name.startswith("."))
    if not files:
        return []
    step = max(1, math.ceil(len(files) / MAX_DEAL_FILES))
    chosen = files[::step]
    deals = _read_parquets(chosen, ddir)
    if deals is None or not len(deals):
        return []
    points = {p.parent.name for p in chosen}
    note = (f'<p class="note">deal ledgers of {len(chosen)} runs'
            + (f" (every {step}th of {len(files)})" if step > 1 else "")
            + f" over {len(points)} design points, pooled; per-point differences are in the tables above</p>")
    sections = _frames_sections(deals, None, outcomes=False)
    if sections:
        sections[0] = sections[0].replace("</h2>", "</h2>" + note, 1)
    return sections


def _refuse_links_out(folder: Path) -> None:
    """Refuse a folder holding a link that leads out of it: the report reads only what is inside.

    A results folder may be shared or unpacked from elsewhere; a link in it to another file of
    the machine would otherwise be embedded in the page.
    """
    top = folder.resolve()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            if p.is_symlink() and not p.resolve().is_relative_to(top):
                raise UserError(f"{p}: a link out of {folder}; licsim report reads only files inside the folder "
                                "it reports on; remove the link or copy the file in")


def _comparison_sections(folder: Path, comp: pd.DataFrame, manifest: Mapping[str, Any] | None,
                         used_pngs: set[Path]) -> list[str]:
    """A compare folder, answer first: the key differences and the headline outcomes over the
    comparison window, the chart, every outcome, the headline measures by year. Every number
    comes from comparison.csv (the table ``licsim compare`` printed), with its window stated."""
    from sim.analysis.compare import HEADLINE, INTERVAL_NOTE, people_table, window_text

    la = str((manifest or {}).get("a", "A"))
    lb = str((manifest or {}).get("b", "B"))
    section = comp["section"].astype(str) if "section" in comp.columns else pd.Series("", index=comp.index)
    win = comp[section != "by year"]
    periods = list(dict.fromkeys(win["period"].astype(str))) if "period" in win.columns else []
    window = window_text(periods[0]) if len(periods) == 1 else "the comparison window"
    n = int(pd.to_numeric(win.get("n", pd.Series(dtype=float)), errors="coerce").max()) if "n" in win else 0
    runs = f"; means of {n} paired runs" if n > 0 else ""
    out = []
    body = ""
    sentences = differences_from_comparison(comp, (la, lb))
    if sentences:
        body += '<ul class="diff">' + "".join(f"<li>{_esc(s)}</li>" for s in sentences) + "</ul>"
    metric = win["metric"].astype(str) if "metric" in win.columns else pd.Series("", index=win.index)
    head = win[metric.isin(HEADLINE)]
    if len(head):
        head = head.assign(_o=[HEADLINE.index(m) for m in head["metric"]]).sort_values("_o")
        body += f"<h3>Headline outcomes, {_esc(window)}{_esc(runs)}</h3>" + table_html(people_table(head))
    body += f'<p class="note">A = {_esc(la)}, B = {_esc(lb)}. {_esc(INTERVAL_NOTE)}.</p>'
    out.append(_section(f"Key differences: {lb} against {la}, {window}", body))
    png = folder / "compare.png"
    if png.is_file():
        used_pngs.add(png)
        try:
            out.append(_section("Charts", figure_html(png.read_bytes(), f"{lb} against {la} (compare.png)")))
        except OSError:
            pass
    rest = win[~metric.isin(HEADLINE)]
    if len(rest):
        out.append(_section(f"All outcomes, {window}", table_html(people_table(rest), max_rows=200)))
    yr = comp[section == "by year"]
    if len(yr) and "metric" in yr.columns:
        yr = yr[yr["metric"].astype(str).isin(["deals", "upfront_usd", "headline_usd"])]
        yr = yr.assign(label=[f"{p} {lab}" for p, lab in zip(yr["period"], yr["label"])])
        out.append(_section("By year", table_html(people_table(yr, "year, outcome"), max_rows=200)))
    return out


def _sides_sections(folder: Path, manifest: Mapping[str, Any] | None) -> list[str]:
    """A compare folder without a usable comparison.csv: each side's means over its whole run."""
    sides = compare_sides(folder)
    if len(sides) < 2:
        return []
    la = str((manifest or {}).get("a", sides[0][0]))
    lb = str((manifest or {}).get("b", sides[1][0]))
    oa, ob = outcome_table(sides[0][1], sides[0][2]), outcome_table(sides[1][1], sides[1][2])
    body = '<ul class="diff">' + "".join(f"<li>{_esc(s)}</li>" for s in key_differences(oa, ob, (la, lb))) + "</ul>"
    body += ('<p class="note">No comparison.csv: means over each side\'s whole run, every month simulated, '
             "not paired</p>") + table_html(side_by_side(oa, ob, (la, lb)))
    if not (folder / "compare.png").is_file():
        from sim.interfaces.dashboard import panels

        (_, da, ma), (_, db, mb) = sides[0], sides[1]
        try:
            png = panels.comparison_png({"deals": da, "monthly": ma}, {"deals": db, "monthly": mb}, (la, lb), dpi=100)
            body += figure_html(png, f"{la} vs {lb}")
        except Exception as exc:
            body += f'<p class="note">comparison chart could not be drawn: {_esc(exc)}</p>'
    return [_section(f"Key differences: {lb} against {la}", body)]


#: yearly.csv's columns shown in a report (all of them are in the file).
YEARLY_SHOWN = [("year", "year", ""), ("deals", "deals", "count"), ("upfront_usd", "upfronts", "usd"),
                ("total_value_usd", "headline value", "usd"), ("upfront_to_value", "upfront / headline", "share"),
                ("median_upfront_usd", "median upfront", "usd"), ("share_stage_preclinical", "preclinical", "share"),
                ("share_kind_mnc", "top MNC", "share"), ("primary_financing_usd", "financing", "usd"),
                ("active_biotechs", "active biotechs", "count")]


def yearly_for_people(yearly: pd.DataFrame) -> pd.DataFrame:
    """yearly.csv's main columns, averaged over replications and formatted ($4.18B, 39.7%)."""
    df = yearly.groupby("year", as_index=False).mean(numeric_only=True) if "year" in yearly.columns else yearly
    out = pd.DataFrame()
    for col, name, unit in YEARLY_SHOWN:
        if col not in df.columns:
            continue
        out[name] = [str(int(v)) if unit == "" else format_number(v, unit) for v in df[col]]
    return out


def build_report(folder: str | Path) -> str:
    """The HTML text of the report on a result folder (raises UserError if there is nothing to show)."""
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder}: no such folder; give the output folder of licsim run, compare or batch")
    if not folder.is_dir():
        raise UserError(f"{folder}: not a folder; give the output folder of licsim run, compare or batch")
    _refuse_links_out(folder)
    kind = detect_kind(folder)
    if kind is None:
        raise UserError(f"{folder}: not a result folder (no deals.parquet, monthly.parquet, comparison.csv, runs/, "
                        "PNG or CSV files); give the output folder of licsim run, compare or batch")
    sections: list[str] = []
    manifest = _read_json(folder / "manifest.json") if (folder / "manifest.json").is_file() else None
    used_csvs: set[Path] = set()
    used_pngs: set[Path] = set()

    if kind == "compare":
        comp = _read_csv(folder / "comparison.csv")
        used_csvs.add(folder / "comparison.csv")
        if comp is not None and {"label", "a_mean", "b_mean"} <= set(comp.columns):
            sections.extend(_comparison_sections(folder, comp, manifest, used_pngs))
        else:
            sections.extend(_sides_sections(folder, manifest))
    elif kind == "batch":
        parts = _batch_sections(folder, manifest)
        sections.extend(parts.sections)
        used_pngs |= parts.pngs
        used_csvs |= parts.csvs
    elif kind == "run":
        deals, monthly = load_frames(folder)
        sections.extend(_frames_sections(deals, monthly))
        yearly = folder / "yearly.csv"
        if yearly.is_file():
            used_csvs.add(yearly)
            df = _read_csv(yearly)
            if df is not None:
                sections.append(_section("Year by year (yearly.csv; means over the runs, main columns)",
                                         table_html(yearly_for_people(df))))

    # charts the command wrote itself (charts/*.png first), then any other PNGs
    images = _images(folder / "charts", used_pngs) if (folder / "charts").is_dir() else []
    used_pngs.update(images)
    images += [p for p in _images(folder, used_pngs) if p.name != "report.png"][: max(0, MAX_IMAGES - len(images))]
    if images:
        figs = []
        for p in images:
            try:
                figs.append(figure_html(p.read_bytes(), str(p.relative_to(folder))))
            except OSError:
                continue
        sections.append(_section("Charts", "".join(figs)))

    csvs = [p for p in _find(folder, "*.csv") if p not in used_csvs]
    if kind == "batch":  # the runs and deal ledgers are summarised above, not printed
        csvs = [p for p in csvs if not {"runs", "deals"} & set(p.relative_to(folder).parts)]
    for p in csvs[:MAX_CSVS]:
        df = _read_csv(p)
        if df is not None:
            sections.append(_section(f"Table: {p.relative_to(folder)}", table_html(df, max_rows=40)))
    if not sections:
        raise UserError(f"{folder}: found nothing to report")
    if manifest and kind != "batch":  # the answer first; how it was made last
        sections.append(_section("Settings (manifest.json)", _kv_table(manifest)))

    what = {"run": "a simulation run", "compare": "a comparison", "batch": "a batch experiment",
            "files": "result files"}[kind]
    name = manifest.get("scenario", folder.name) if manifest else folder.name
    if kind == "batch" and _sub(manifest, "experiment"):
        name = _sub(manifest, "experiment").get("name") or folder.name
    if isinstance(name, dict):
        name = name.get("name", folder.name)
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>licsim report: {_esc(name)}</title><style>{CSS}</style></head><body>"
        f"<h1>licsim report: {_esc(name)}</h1>"
        f'<p class="meta">{_esc(what)} &middot; folder {_esc(folder.resolve().name)} &middot; generated {stamp}</p>'
        + "".join(sections)
        + '<p class="note">Made by licsim report. Self-contained: every chart is embedded in this file.</p>'
        "</body></html>\n"
    )


def write_report(folder: str | Path, out: str | Path | None = None) -> Path:
    """Write ``report.html`` atomically into the folder (or to ``out``); returns its path."""
    from sim.io import atomic_path

    folder = Path(folder)
    text = build_report(folder)
    target = Path(out) if out is not None else folder / "report.html"
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
