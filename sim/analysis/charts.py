"""Charts of a run: the mean across replications, with a 5-95% band when there are several."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.analysis.metrics import LICENSEE_KINDS  # noqa: E402
from sim.io import write_figure  # noqa: E402
from sim.scenarios.schema import STAGES  # noqa: E402

STAGE_COLOURS = ["#2c7fb8", "#41b6c4", "#a1dab4", "#fdae61", "#f46d43", "#a50026"]
KIND_COLOURS = {"mnc": "#1b9e77", "mid_size": "#7570b3", "incubator": "#d95f02", "regional": "#e7298a"}


def band(yearly: pd.DataFrame, column: str) -> pd.DataFrame:
    """Mean, 5th and 95th percentile of ``column`` across replications, by year."""
    g = yearly.groupby("year")[column]
    return pd.DataFrame({"mean": g.mean(), "lo": g.quantile(0.05), "hi": g.quantile(0.95)})


def _with_band(ax: plt.Axes, b: pd.DataFrame, label: str, colour: str, scale: float = 1.0, replications: int = 1):
    ax.plot(b.index, b["mean"] / scale, color=colour, label=label, lw=2)
    if replications > 1:
        ax.fill_between(b.index, b["lo"] / scale, b["hi"] / scale, color=colour, alpha=0.2, lw=0)


def write_run_charts(yearly: pd.DataFrame, outdir: Path, title: str = "") -> list[Path]:
    """Write the four standard charts of a run into ``outdir``; returns their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    reps = int(yearly["replication"].nunique())
    years = sorted(yearly["year"].unique())
    suffix = f" ({reps} replications, mean and 5-95% band)" if reps > 1 else ""
    paths = []

    # 1. Deals per year stacked by stage.
    fig, ax = plt.subplots(figsize=(9, 4.8))
    mean = yearly.groupby("year").mean(numeric_only=True)
    bottom = np.zeros(len(years))
    for stage, colour in zip(STAGES, STAGE_COLOURS):
        counts = (mean["deals"] * mean[f"share_stage_{stage}"]).reindex(years).fillna(0).to_numpy()
        ax.bar(years, counts, bottom=bottom, color=colour, label=stage)
        bottom += counts
    if reps > 1:
        b = band(yearly, "deals")
        ax.errorbar(b.index, b["mean"], yerr=[b["mean"] - b["lo"], b["hi"] - b["mean"]], fmt="none",
                    ecolor="black", capsize=3, lw=1)
    ax.set_title(f"China out-licensing deals per year by stage at signing{suffix}\n{title}")
    ax.set_ylabel("deals")
    ax.legend(ncol=3, fontsize=8)
    paths.append(write_figure(fig, outdir / "deals_by_stage.png"))

    # 2. Upfront per year against primary financing.
    fig, ax = plt.subplots(figsize=(9, 4.8))
    _with_band(ax, band(yearly, "upfront_usd"), "licence upfronts", "#d95f02", 1e9, reps)
    _with_band(ax, band(yearly, "primary_financing_usd"), "primary financing", "#1b9e77", 1e9, reps)
    ax.set_ylabel("US$ billion per year")
    ax.set_title(f"Upfront payments vs primary financing of Chinese biotechs{suffix}\n{title}")
    ax.legend()
    paths.append(write_figure(fig, outdir / "upfront_vs_financing.png"))

    # 3. Stage share over time.
    fig, ax = plt.subplots(figsize=(9, 4.8))
    for stage, colour in zip(STAGES, STAGE_COLOURS):
        _with_band(ax, band(yearly, f"share_stage_{stage}"), stage, colour, 0.01, reps)
    ax.set_ylabel("% of deals")
    ax.set_title(f"Stage of assets at signing, share of deals{suffix}\n{title}")
    ax.legend(ncol=3, fontsize=8)
    paths.append(write_figure(fig, outdir / "stage_share.png"))

    # 4. Counterparty mix.
    fig, ax = plt.subplots(figsize=(9, 4.8))
    bottom = np.zeros(len(years))
    for kind in LICENSEE_KINDS:
        share = mean[f"share_kind_{kind}"].reindex(years).fillna(0).to_numpy() * 100
        ax.bar(years, share, bottom=bottom, color=KIND_COLOURS[kind], label=kind)
        bottom += share
    ax.set_ylabel("% of deals")
    ax.set_title(f"Who licenses Chinese assets (licensee kind){suffix}\n{title}")
    ax.legend(ncol=4, fontsize=8)
    paths.append(write_figure(fig, outdir / "counterparty_mix.png"))
    return paths
