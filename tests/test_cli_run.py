"""`licsim run` end to end, as a user runs it: outputs, determinism, and bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import ROOT, licsim

DEAL_COLUMNS = {
    "replication", "seed", "deal_id", "signed", "year", "licensor_id", "licensor_kind", "licensee_id",
    "licensee_kind", "licensee_region", "asset_id", "modality", "area", "novelty", "stage", "territory",
    "deal_type", "upfront_usd", "milestones_usd", "royalty_rate", "equity_usd", "total_value_usd",
    "diligence_months", "terminated", "termination_reason",
}
MONTHLY_COLUMNS = {
    "replication", "month", "funding_index", "trust_index", "patent_cliff_index", "us_venture_index",
    "active_biotechs", "primary_financing_usd", "offers", "in_diligence", "deals", "upfront_usd",
}
CHARTS = {"deals_by_stage.png", "upfront_vs_financing.png", "stage_share.png", "counterparty_mix.png"}


def test_run_writes_every_output(tiny_scenario_file, tmp_path):
    out = tmp_path / "out"
    res = licsim("run", tiny_scenario_file, "--seed", "3", "--replications", "2", "--workers", "1", "--out", out)
    assert res.returncode == 0, res.stderr
    deals = pd.read_parquet(out / "deals.parquet")
    monthly = pd.read_parquet(out / "monthly.parquet")
    yearly = pd.read_csv(out / "yearly.csv")
    assert DEAL_COLUMNS <= set(deals.columns)
    assert MONTHLY_COLUMNS <= set(monthly.columns)
    assert set(deals["replication"]) == {0, 1} and deals.groupby("replication")["seed"].nunique().eq(1).all()
    assert len(monthly) == 2 * 36
    assert {"deals", "total_value_usd", "upfront_usd", "mean_upfront_usd", "median_upfront_usd",
            "terminations", "primary_financing_usd", "share_stage_preclinical", "share_kind_mnc",
            "share_region_US", "share_territory_ex_china"} <= set(yearly.columns)
    # yearly deals are the ledger's China-origin deals
    counted = deals[deals["china_origin"]].groupby(["replication", "year"]).size()
    merged = yearly.set_index(["replication", "year"])["deals"]
    assert (merged.reindex(counted.index) == counted).all()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["name"] == "tiny" and len(manifest["seeds"]) == 2
    assert manifest["versions"]["mesa"].startswith("3.3")
    assert CHARTS <= {p.name for p in (out / "charts").iterdir()}
    assert "outputs:" in res.stdout and "charts:" in res.stdout
    # written atomically through private temporary files, yet as readable as any file the user makes
    from sim.io import dir_mode, file_mode

    for name in ("deals.parquet", "monthly.parquet", "yearly.csv", "manifest.json"):
        assert (out / name).stat().st_mode & 0o777 == file_mode(), name
    assert out.stat().st_mode & 0o777 == dir_mode()  # the folder too (it is built in a private temporary one)


def test_same_seed_gives_identical_files(tiny_scenario_file, tmp_path):
    for name in ("a", "b"):
        res = licsim("run", tiny_scenario_file, "--seed", "5", "--out", tmp_path / name)
        assert res.returncode == 0, res.stderr
    for f in ("deals.parquet", "monthly.parquet", "yearly.csv"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_financing_recovers_runs(tmp_path):
    res = licsim("run", ROOT / "scenarios" / "financing_recovers.yaml", "--out", tmp_path / "fr")
    assert res.returncode == 0, res.stderr
    m = pd.read_parquet(tmp_path / "fr" / "monthly.parquet")
    by_year = m.groupby(m["month"].dt.year)["funding_index"].mean()
    assert by_year[2029] > 2 * by_year[2024]  # the recovery is in the drivers


BAD = {
    "missing.yaml": ("missing.yaml", "not found"),
    "unparsable.yaml": ("unparsable.yaml:", "YAML"),
    "unknown_field.yaml": ("unknown_field.yaml:4:3", "did you mean trust"),
    "wrong_type.yaml": ("population.biotechs", "integer"),
    "trust_out_of_range.yaml": ("drivers.trust", "allowed 0 to 1"),
    "end_before_start.yaml": ("end_before_start.yaml:", "before start"),
    "negative_population.yaml": ("population.biotechs", "allowed"),
    "circular_a.yaml": ("circular", "circular extends"),
    "self_extends.yaml": ("self_extends.yaml", "circular extends"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_scenario_one_line_exit_2_nothing_written(name, tmp_path):
    src = ROOT / "tests" / "data" / "bad" / name
    out = tmp_path / "out"
    res = licsim("run", src, "--out", out)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    assert "Traceback" not in res.stderr
    where, what = BAD[name]
    assert where in lines[0] and what in lines[0], lines[0]
    assert not out.exists()


def test_bad_options_exit_2(tiny_scenario_file, tmp_path):
    res = licsim("run", tiny_scenario_file, "--replications", "0", "--out", tmp_path / "o")
    assert res.returncode == 2 and "--replications" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, message", [
    (("nosuchcommand",), "No such command 'nosuchcommand'"),
    (("run", "baseline", "--nosuchoption"), "No such option: --nosuchoption"),
])
def test_usage_errors_exit_2_without_traceback(args, message):
    res = licsim(*args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert message in res.stderr and "Traceback" not in res.stderr
