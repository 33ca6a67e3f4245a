"""Yearly measures and per-run summary outcomes, computed from a run's two tables.

China out-licensing deals are those whose licensor is a Chinese biotech
(``china_origin``); NewCo exits (licensor = incubator) are second deals and are
counted separately.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.scenarios.schema import LICENSEE_REGIONS, STAGES

LICENSEE_KINDS = ["mnc", "mid_size", "incubator", "regional"]
TERRITORIES = ["global", "ex_china", "us_eu_jp", "regional", "china"]
LICENSEE_REGION_LABELS = ["US", "EU", "UK", "CH", *LICENSEE_REGIONS]
EARLY = ("preclinical", "phase1")


def _shares(deals: pd.DataFrame, column: str, labels: list[str], keys: list[str]) -> pd.DataFrame:
    counts = pd.crosstab([deals[k] for k in keys], deals[column]).reindex(columns=labels, fill_value=0)
    total = counts.sum(axis=1).replace(0, np.nan)
    out = counts.div(total, axis=0).fillna(0.0)
    out.columns = [f"share_{column.replace('licensee_', '')}_{c}" for c in labels]
    return out


def yearly_table(deals: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    """One row per (replication, year): counts, money and mixes of China out-licensing deals.

    Columns: replication, year, deals, newco_exits, total_value_usd, upfront_usd, mean_upfront_usd,
    median_upfront_usd, upfront_to_value, share_stage_<stage>, share_kind_<kind>,
    share_region_<region>, share_territory_<territory>, terminations, primary_financing_usd,
    financing_rounds, active_biotechs (end of year), median_diligence_months.
    """
    m = monthly.copy()
    if "replication" not in m:
        m["replication"] = 0
    m["year"] = m["month"].dt.year
    keys = ["replication", "year"]
    frame = m.groupby(keys).agg(primary_financing_usd=("primary_financing_usd", "sum"),
                                financing_rounds=("financing_rounds", "sum"),
                                active_biotechs=("active_biotechs", "last"))
    d = deals.copy()
    if "replication" not in d:
        d["replication"] = 0
    china = d[d["china_origin"]]
    g = china.groupby(keys)
    money = pd.DataFrame({
        "deals": g.size(),
        "total_value_usd": g["total_value_usd"].sum(),
        "upfront_usd": g["upfront_usd"].sum(),
        "mean_upfront_usd": g["upfront_usd"].mean(),
        "median_upfront_usd": g["upfront_usd"].median(),
        "median_diligence_months": g["diligence_months"].median(),
    })
    exits = d[~d["china_origin"]].groupby(keys).size().rename("newco_exits")
    term = d.dropna(subset=["terminated"]).assign(year=lambda x: x["terminated"].dt.year)
    terms = term.groupby(keys).size().rename("terminations")
    # Every share column exists even in a run without deals (charts and tables rely on them).
    parts = [money, exits, terms,
             _shares(china, "stage", STAGES, keys),
             _shares(china, "licensee_kind", LICENSEE_KINDS, keys),
             _shares(china, "licensee_region", LICENSEE_REGION_LABELS, keys),
             _shares(china, "territory", TERRITORIES, keys)]
    out = frame.join(parts, how="left")
    count_cols = ["deals", "newco_exits", "terminations"]
    out[count_cols] = out[count_cols].fillna(0).astype("int64")
    for col in ("total_value_usd", "upfront_usd"):
        out[col] = out[col].fillna(0.0)
    share_cols = [c for c in out.columns if c.startswith("share_")]
    out[share_cols] = out[share_cols].fillna(0.0)
    out["upfront_to_value"] = out["upfront_usd"] / out["total_value_usd"].replace(0, np.nan)
    out = out.reset_index()
    lead = ["replication", "year", "deals", "newco_exits", "total_value_usd", "upfront_usd", "mean_upfront_usd",
            "median_upfront_usd", "upfront_to_value"]
    rest = [c for c in out.columns if c not in lead]
    return out[lead + rest]


# ------------------------------------------------------------------- per-run outcomes
def _outcome_names() -> list[str]:
    names = []
    for y in range(2018, 2031):
        names += [f"deals_{y}", f"upfront_usd_{y}", f"total_value_usd_{y}", f"preclinical_share_{y}",
                  f"early_share_{y}", f"mnc_share_{y}", f"primary_financing_usd_{y}"]
    names += ["deals_mean_2018_2023", "deals_mean_2024_2030", "upfront_usd_mean_2024_2030",
              "preclinical_share_2024_2030", "early_share_2024_2030", "mnc_share_2024_2030",
              "incubator_share_2024_2030", "biotech_survival", "active_biotechs_end", "newco_exits",
              "terminations", "median_diligence_months", "licensor_upfront_captured_usd", "newco_equity_usd"]
    return names


#: Names accepted as batch-experiment outcomes (see :func:`run_summary`).
OUTCOMES = _outcome_names()


def run_summary(result: Any) -> dict[str, float]:
    """Scalar outcomes of one run (NaN where a year is outside the run)."""
    deals, monthly = result.deals, result.monthly
    china = deals[deals["china_origin"]]
    out: dict[str, float] = {name: float("nan") for name in OUTCOMES}
    years = monthly["month"].dt.year
    by_year = {y: china[china["year"] == y] for y in sorted(set(years))}
    for y, d in by_year.items():
        if y < 2018 or y > 2030:
            continue
        n = len(d)
        out[f"deals_{y}"] = float(n)
        out[f"upfront_usd_{y}"] = float(d["upfront_usd"].sum())
        out[f"total_value_usd_{y}"] = float(d["total_value_usd"].sum())
        out[f"preclinical_share_{y}"] = float((d["stage"] == "preclinical").mean()) if n else float("nan")
        out[f"early_share_{y}"] = float(d["stage"].isin(EARLY).mean()) if n else float("nan")
        out[f"mnc_share_{y}"] = float((d["licensee_kind"] == "mnc").mean()) if n else float("nan")
        out[f"primary_financing_usd_{y}"] = float(monthly.loc[years == y, "primary_financing_usd"].sum())

    def mean_over(prefix: str, lo: int, hi: int) -> float:
        vals = [out[f"{prefix}_{y}"] for y in range(lo, hi + 1) if not np.isnan(out.get(f"{prefix}_{y}", np.nan))]
        return float(np.mean(vals)) if vals else float("nan")

    late = china[(china["year"] >= 2024) & (china["year"] <= 2030)]
    out["deals_mean_2018_2023"] = mean_over("deals", 2018, 2023)
    out["deals_mean_2024_2030"] = mean_over("deals", 2024, 2030)
    out["upfront_usd_mean_2024_2030"] = mean_over("upfront_usd", 2024, 2030)
    if len(late):
        out["preclinical_share_2024_2030"] = float((late["stage"] == "preclinical").mean())
        out["early_share_2024_2030"] = float(late["stage"].isin(EARLY).mean())
        out["mnc_share_2024_2030"] = float((late["licensee_kind"] == "mnc").mean())
        out["incubator_share_2024_2030"] = float((late["licensee_kind"] == "incubator").mean())
    first, last = monthly.iloc[0], monthly.iloc[-1]
    out["active_biotechs_end"] = float(last["active_biotechs"])
    started = float(first["active_biotechs"]) + float(monthly["new_biotechs"].sum())
    out["biotech_survival"] = float(last["active_biotechs"]) / started if started else float("nan")
    out["newco_exits"] = float((~deals["china_origin"]).sum())
    out["terminations"] = float(deals["terminated"].notna().sum())
    out["median_diligence_months"] = float(china["diligence_months"].median()) if len(china) else float("nan")
    out["licensor_upfront_captured_usd"] = float(china["upfront_usd"].sum())
    out["newco_equity_usd"] = float(china["equity_usd"].sum())
    return out
