"""Analysis of a batch folder: per-point summaries, sensitivity indices, charts.

Writes ``DIR/analysis/`` (built in a temporary folder and swapped in whole):

* ``points.csv``: per design point and outcome: runs (with a value for the outcome; a
  share of no deals has none), failed runs, mean, sd, and the 90% interval of the runs
  (5th and 95th percentiles), with the point's parameter values.
* ``sobol.csv`` (Sobol designs): S1, ST and their 95% confidence intervals per outcome and
  parameter (``sobol_s2.csv`` with second-order indices when the design has them).
* ``morris.csv`` (Morris designs): mu, mu*, mu* confidence interval and sigma.
* ``sensitivity_<outcome>.png``: the indices as a chart.
* ``<outcome>.png``: the outcome against each varied parameter (point means, 90% bands).

Sensitivity indices are computed on each point's mean over its replications (the
replications average out the model's own noise); a point whose runs all failed leaves an
outcome without indices, and the reason is reported.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments.batch import read_runs
from sim.io import atomic_dir

#: The interval reported for each point: 5th to 95th percentile of its runs.
INTERVAL = (0.05, 0.95)
CONF_LEVEL = 0.95


@dataclass
class Analysis:
    folder: Path
    points: pd.DataFrame
    sensitivity: pd.DataFrame | None
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def read_manifest(out: str | Path) -> dict[str, Any]:
    path = Path(out) / "manifest.json"
    if not Path(out).is_dir():
        raise UserError(f"{out}: no such folder; give the output folder of licsim batch")
    if not path.is_file():
        raise UserError(f"{out}: not a batch folder (no manifest.json); give the output folder of licsim batch")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"{path}: not valid JSON ({exc})") from None


def point_summary(runs: pd.DataFrame, params: list[str], outcomes: list[str]) -> pd.DataFrame:
    """One row per (point, outcome): parameter values, runs, failed, mean, sd, p05, p95."""
    first = runs.groupby("point", sort=True)[params].first() if params else None
    failed = (runs["status"] != "ok").groupby(runs["point"]).sum()
    ok = runs[runs["status"] == "ok"]
    frames = []
    for name in outcomes:
        g = ok.groupby("point")[name]
        stats = pd.DataFrame({
            "runs": g.count(), "mean": g.mean(), "sd": g.std(ddof=1),
            "p05": g.quantile(INTERVAL[0]), "p95": g.quantile(INTERVAL[1]),
        }).reindex(failed.index)
        stats["runs"] = stats["runs"].fillna(0).astype("int64")
        stats.insert(1, "failed", failed.astype("int64"))
        stats.insert(0, "outcome", name)
        frames.append(stats)
    table = pd.concat(frames).reset_index()
    if first is not None:
        table = table.merge(first.reset_index(), on="point", how="left")
    cols = ["point", *params, "outcome", "runs", "failed", "mean", "sd", "p05", "p95"]
    return table[cols].sort_values(["point", "outcome"], kind="stable").reset_index(drop=True)


def sensitivity(manifest: dict[str, Any], design: pd.DataFrame, means: pd.DataFrame,
                outcomes: list[str]) -> tuple[pd.DataFrame | None, pd.DataFrame | None, list[str]]:
    """Sobol (S1, ST) or Morris (mu*, sigma) indices per outcome from per-point means."""
    kind = manifest["design"]["kind"]
    if kind not in ("sobol", "morris"):
        return None, None, []
    params = manifest["parameters"]
    problem = {"num_vars": len(params), "names": [p["path"] for p in params],
               "bounds": [[p["low"], p["high"]] for p in params]}
    n_points = int(manifest["design"]["points"])
    seed = int(manifest.get("design_seed", 0))
    rows, s2rows, notes = [], [], []
    for name in outcomes:
        y = means[name].reindex(range(n_points)).to_numpy(dtype=float)
        if np.isnan(y).any():
            missing = int(np.isnan(y).sum())
            notes.append(f"{name}: no {kind} indices: {missing} of {n_points} points have no value (unfinished "
                         "or failed runs, or an outcome undefined there, e.g. a share of no deals)")
            continue
        if np.nanstd(y) == 0:
            notes.append(f"{name}: no {kind} indices: the outcome is the same at every point")
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind == "sobol":
                from SALib.analyze import sobol

                second = bool(manifest["design"].get("second_order"))
                si = sobol.analyze(problem, y, calc_second_order=second, conf_level=CONF_LEVEL, seed=seed)
                for i, p in enumerate(problem["names"]):
                    rows.append({"outcome": name, "parameter": p, "S1": si["S1"][i], "S1_conf": si["S1_conf"][i],
                                 "ST": si["ST"][i], "ST_conf": si["ST_conf"][i]})
                if second:
                    for i, a in enumerate(problem["names"]):
                        for j in range(i + 1, len(problem["names"])):
                            s2rows.append({"outcome": name, "parameter_1": a, "parameter_2": problem["names"][j],
                                           "S2": si["S2"][i, j], "S2_conf": si["S2_conf"][i, j]})
            else:
                from SALib.analyze import morris

                x = design[[f"raw:{p}" for p in problem["names"]]].to_numpy(dtype=float)
                si = morris.analyze(problem, x, y, conf_level=CONF_LEVEL,
                                    num_levels=int(manifest["design"].get("levels") or 4), seed=seed)
                for i, p in enumerate(problem["names"]):
                    rows.append({"outcome": name, "parameter": p, "mu": si["mu"][i], "mu_star": si["mu_star"][i],
                                 "mu_star_conf": si["mu_star_conf"][i], "sigma": si["sigma"][i]})
    table = pd.DataFrame(rows) if rows else None
    s2 = pd.DataFrame(s2rows) if s2rows else None
    return table, s2, notes


def analyze(out: str | Path, *, charts: bool = True) -> Analysis:
    """Write ``out/analysis/`` and return the tables."""
    out = Path(out)
    manifest = read_manifest(out)
    runs = read_runs(out)
    params = [p["path"] for p in manifest["parameters"]]
    outcomes = [o for o in manifest["outcomes"] if o in runs.columns]
    total = int(manifest["design"]["runs"])
    notes = []
    if len(runs) < total:
        notes.append(f"incomplete batch: {len(runs)} of {total} runs; run licsim batch again to finish it")
    n_failed = int((runs["status"] != "ok").sum())
    if n_failed:
        notes.append(f"{n_failed} failed runs left out of the statistics (errors in {out / 'errors.log'})")
    points = point_summary(runs, params, outcomes)
    means = runs[runs["status"] == "ok"].groupby("point")[outcomes].mean()
    design_path = out / "design.parquet"
    design = pd.read_parquet(design_path) if design_path.exists() else pd.DataFrame()
    sens, s2, sens_notes = sensitivity(manifest, design, means, outcomes)
    notes += sens_notes
    files: list[Path] = []
    with atomic_dir(out / "analysis") as tmp:
        points.to_csv(tmp / "points.csv", index=False)
        kind = manifest["design"]["kind"]
        if sens is not None:
            sens.to_csv(tmp / f"{kind}.csv", index=False)
        if s2 is not None:
            s2.to_csv(tmp / "sobol_s2.csv", index=False)
        if charts:
            _charts(tmp, manifest, runs, points, sens, params, outcomes)
        (tmp / "notes.txt").write_text("".join(f"{n}\n" for n in notes))
        names = sorted(p.name for p in tmp.iterdir())
    files = [out / "analysis" / n for n in names]
    return Analysis(out, points, sens, notes, files)


# ---------------------------------------------------------------------------- charts


def _charts(folder: Path, manifest: dict[str, Any], runs: pd.DataFrame, points: pd.DataFrame,
            sens: pd.DataFrame | None, params: list[str], outcomes: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind = manifest["design"]["kind"]
    ok = runs[runs["status"] == "ok"]
    for name in outcomes:
        sub = points[points["outcome"] == name]
        fig, axes = plt.subplots(1, len(params), figsize=(4.2 * len(params), 3.6), squeeze=False)
        for ax, p in zip(axes[0], params):
            numeric = pd.api.types.is_numeric_dtype(sub[p]) and not pd.api.types.is_bool_dtype(sub[p])
            if kind == "grid":
                # other parameters vary too: show each value's runs and the mean over them
                by = ok.groupby(p)[name]
                xs = list(by.groups)
                pos = xs if numeric else list(range(len(xs)))
                m = by.mean().reindex(xs)
                lo, hi = by.quantile(INTERVAL[0]).reindex(xs), by.quantile(INTERVAL[1]).reindex(xs)
                ax.scatter(ok[p] if numeric else ok[p].map({v: i for i, v in enumerate(xs)}), ok[name],
                           s=8, alpha=0.25, color="grey", label="runs")
                ax.errorbar(pos, m, yerr=[m - lo, hi - m], fmt="o-", color="tab:blue", capsize=3,
                            label="mean, 90% of runs")
                if not numeric:
                    ax.set_xticks(pos, [str(x) for x in xs])
            else:
                ax.scatter(sub[p], sub["mean"], s=10, alpha=0.6, color="tab:blue", label="point mean")
                if len(sub) <= 200:
                    ax.errorbar(sub[p], sub["mean"], yerr=[sub["mean"] - sub["p05"], sub["p95"] - sub["mean"]],
                                fmt="none", ecolor="tab:blue", alpha=0.3)
            ax.set_xlabel(p)
            ax.set_ylabel(name)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7, loc="best")
        fig.suptitle(f"{manifest['experiment']['name']}: {name}", fontsize=10)
        fig.tight_layout()
        fig.savefig(folder / f"{name}.png", dpi=110)
        plt.close(fig)
    if sens is None:
        return
    for name, tab in sens.groupby("outcome", sort=False):
        fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(tab) + 2), 3.6))
        if kind == "sobol":
            x = np.arange(len(tab))
            ax.bar(x - 0.2, tab["S1"], 0.4, yerr=tab["S1_conf"], capsize=3, label="S1 (first order)")
            ax.bar(x + 0.2, tab["ST"], 0.4, yerr=tab["ST_conf"], capsize=3, label="ST (total)")
            ax.set_xticks(x, tab["parameter"], rotation=20, ha="right", fontsize=8)
            ax.set_ylabel("Sobol index (95% CI)")
            ax.axhline(0, color="black", lw=0.5)
        else:
            ax.errorbar(tab["mu_star"], tab["sigma"], xerr=tab["mu_star_conf"], fmt="o", capsize=3)
            for _, r in tab.iterrows():
                ax.annotate(r["parameter"], (r["mu_star"], r["sigma"]), fontsize=7, xytext=(3, 3),
                            textcoords="offset points")
            ax.set_xlabel("mu* (mean absolute elementary effect, 95% CI)")
            ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.legend(fontsize=8) if kind == "sobol" else None
        ax.set_title(f"{kind} sensitivity: {name}", fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / f"sensitivity_{name}.png", dpi=110)
        plt.close(fig)
