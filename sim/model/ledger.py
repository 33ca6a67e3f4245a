"""The deal ledger: one record per signed deal, and the live contract state behind it.

Design notes: descriptive fields (kinds, labels, dates) go into a list of records that
becomes the ``deals`` table; the fields the monthly contract events need (asset,
parties, territory, milestones left, active flag) are growable numpy columns so that
terminations and payments are computed for all live deals at once.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.scenarios.schema import REGIONS

DEAL_COLUMNS = [
    "deal_id", "signed", "year", "licensor_id", "licensor_kind", "licensee_id", "licensee_kind",
    "licensee_region", "asset_id", "modality", "area", "novelty", "stage", "territory", "deal_type",
    "upfront_usd", "milestones_usd", "royalty_rate", "equity_usd", "total_value_usd", "diligence_months",
    "terminated", "termination_reason", "returned", "milestones_paid_usd", "china_origin", "core", "distressed",
]

#: Termination reasons under which the rights go back to the licensor (RT23's "returned").
RETURN_REASONS = ("strategy", "regulatory")


class Ledger:
    """Signed deals (records) and their contract state (columns)."""

    def __init__(self, capacity: int = 512):
        self.records: list[dict[str, Any]] = []
        self.n = 0
        self.asset = np.zeros(capacity, dtype=np.int64)
        self.licensor = np.zeros(capacity, dtype=np.int64)
        self.licensee = np.zeros(capacity, dtype=np.int64)
        self.regions = np.zeros((capacity, len(REGIONS)), dtype=bool)
        self.region0 = np.zeros(capacity, dtype=np.int64)  # first market of the territory
        self.active = np.zeros(capacity, dtype=bool)
        self.stage_at_signing = np.zeros(capacity, dtype=np.int64)
        self.dev_milestone = np.zeros(capacity)  # paid at each stage advance
        self.sales_milestone = np.zeros(capacity)  # paid once, two years after approval
        self.royalty = np.zeros(capacity)
        self.equity_share = np.zeros(capacity)  # licensor's NewCo stake (newco deals)
        self.owed = np.zeros(capacity)  # milestones due but not yet paid (USD)

    def _grow(self) -> None:
        if self.n < self.asset.size:
            return
        for name in ("asset", "licensor", "licensee", "region0", "active", "stage_at_signing", "dev_milestone",
                     "sales_milestone", "royalty", "equity_share", "owed"):
            old = getattr(self, name)
            new = np.zeros(old.size * 2, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)
        regions = np.zeros((self.regions.shape[0] * 2, self.regions.shape[1]), dtype=bool)
        regions[: self.regions.shape[0]] = self.regions
        self.regions = regions

    def add(self, record: dict[str, Any], *, regions: np.ndarray, dev_milestone: float,
            sales_milestone: float, equity_share: float) -> int:
        self._grow()
        i = self.n
        record["deal_id"] = i
        self.records.append(record)
        self.asset[i] = record["asset_id"]
        self.licensor[i] = record["licensor_id"]
        self.licensee[i] = record["licensee_id"]
        self.regions[i] = regions
        if not regions.any():
            raise ValueError(f"deal {i} licenses no market")
        self.region0[i] = int(regions.argmax())  # its first market
        self.active[i] = True
        self.stage_at_signing[i] = record["_stage_code"]
        self.dev_milestone[i] = dev_milestone
        self.sales_milestone[i] = sales_milestone
        self.royalty[i] = record["royalty_rate"]
        self.equity_share[i] = equity_share
        self.owed[i] = 0.0
        self.n += 1
        return i

    def live(self) -> np.ndarray:
        return self.active[: self.n].nonzero()[0]

    def terminate(self, deal: int, date: pd.Timestamp, reason: str) -> None:
        self.active[deal] = False
        self.records[deal]["terminated"] = date
        self.records[deal]["termination_reason"] = reason
        self.records[deal]["returned"] = reason in RETURN_REASONS

    def pay_milestone(self, deal: int, amount: float) -> None:
        self.records[deal]["milestones_paid_usd"] += amount

    def frame(self) -> pd.DataFrame:
        """The deal table (deals signed during the warm-up are contracts in force, not outputs)."""
        records = [r for r in self.records if not r.get("_warmup")]
        if not records:
            df = pd.DataFrame({c: pd.Series(dtype="float64") for c in DEAL_COLUMNS})
        else:
            df = pd.DataFrame.from_records(records)
        df = df.reindex(columns=DEAL_COLUMNS)
        return _typed(df)


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    ints = ["deal_id", "year", "licensor_id", "licensee_id", "asset_id"]
    floats = ["upfront_usd", "milestones_usd", "royalty_rate", "equity_usd", "total_value_usd",
              "diligence_months", "milestones_paid_usd"]
    strs = ["licensor_kind", "licensee_kind", "licensee_region", "modality", "area", "novelty", "stage",
            "territory", "deal_type"]
    for c in ints:
        df[c] = df[c].astype("int64")
    for c in floats:
        df[c] = df[c].astype("float64")
    for c in strs:
        df[c] = df[c].astype("object").astype(str) if len(df) else df[c].astype("object")
    df["signed"] = pd.to_datetime(df["signed"])
    df["terminated"] = pd.to_datetime(df["terminated"])
    df["termination_reason"] = df["termination_reason"].astype("object")
    for c in ("china_origin", "core", "distressed", "returned"):
        df[c] = df[c].astype(bool)
    return df
