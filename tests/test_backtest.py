"""Backtest: the split at the cutoff, naive forecasts, and a tiny end-to-end run whose fit never sees later targets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.analysis.backtest import (
    SIGNING_LAG_MONTHS,
    data_end,
    forecast_errors,
    mape_table,
    naive_forecasts,
    run_backtest,
    split_targets,
)
from sim.analysis.validation import TargetSet, load_targets
from sim.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def targets(rows: list[dict]) -> TargetSet:
    base = {"group": "T", "name": "x", "source": "s"}
    return TargetSet.model_validate({"targets": [{**base, **r} for r in rows], "path": "t.yaml", "digest": "d"})


def test_split_keeps_only_targets_whose_data_end_by_the_cutoff():
    ts = load_targets()
    split = split_targets(ts, 2022)
    by_id = {t.id: t for t in ts.targets}
    assert split.in_sample_ids and split.out_of_sample
    assert set(split.in_sample_ids) | set(split.out_of_sample) == set(by_id)
    for i in split.in_sample_ids:
        assert data_end(by_id[i]) <= 2022 * 12 + 11, i
    for i in split.out_of_sample:
        assert data_end(by_id[i]) > 2022 * 12 + 11, i
    # the ones the issue names: 2022 levels in, 2023-24 out; a 2018-2023 tally is out
    assert {"C1.deals.2022", "C2.headline.2022H1", "C5.registration_share"} <= set(split.in_sample_ids)
    assert {"C1.deals.2023", "C1.deals.2024", "C1.deals.2018_2023", "C5.preclinical.2024"} <= set(split.out_of_sample)
    assert split.in_sample.digest != ts.digest  # a fit on part of the targets is another study


def test_a_measure_dated_by_talks_is_known_only_once_its_deals_sign():
    ts = targets([{"id": "a", "kind": "level", "metric": "deal_median", "column": "diligence_months",
                   "dated": "talks_started", "period": "2021", "observed": 9},
                  {"id": "b", "kind": "level", "metric": "deal_count", "period": "2021", "observed": 9}])
    assert data_end(ts.targets[0]) == 2021 * 12 + 11 + SIGNING_LAG_MONTHS
    assert data_end(ts.targets[1]) == 2021 * 12 + 11


@pytest.mark.parametrize("cutoff", [2017, 2018, 2025, 2040])
def test_a_cutoff_without_gated_targets_on_both_sides_is_refused(cutoff):
    with pytest.raises(UserError, match=rf"--cutoff {cutoff}: allowed 2019 to 2024"):
        split_targets(load_targets(), cutoff)


def test_naive_forecasts_last_value_and_linear_trend():
    ts = targets([
        {"id": "d20", "kind": "level", "metric": "deal_count", "period": "2020", "observed": 10},
        {"id": "d21h1", "kind": "level", "metric": "deal_count", "period": "2021-H1", "observed": 8},
        {"id": "d22", "kind": "level", "metric": "deal_count", "period": "2022", "observed": 30},
        {"id": "d23", "kind": "level", "metric": "deal_count", "period": "2023", "observed": 40},
        {"id": "s20", "kind": "share", "metric": "deal_share", "where": {"stage": "preclinical"}, "period": "2020",
         "observed": 0.2},
        {"id": "s23", "kind": "share", "metric": "deal_share", "where": {"stage": "preclinical"}, "period": "2023",
         "observed": 0.5},
        {"id": "other", "kind": "level", "metric": "deal_count", "where": {"licensee_kind": "mnc"}, "period": "2023",
         "observed": 5},
        {"id": "thr", "kind": "threshold", "metric": "deal_count", "period": "2023", "max": 3},
    ])
    nv = naive_forecasts(ts, 2021).set_index("id")
    assert set(nv.index) == {"d22", "d23", "s23", "other"}  # thresholds have no point to miss
    # last value: the latest observation, H1 2021 (8 in 6 months), as a rate scaled to a year
    assert nv.loc["d22", "last"] == pytest.approx(16) and nv.loc["d22", "last_from"] == "d21h1"
    # trend through (2020.5, 10/12) and (2021.25, 8/6) per month, at 2023.5, times 12 months
    slope = (8 / 6 - 10 / 12) / 0.75
    assert nv.loc["d23", "trend"] == pytest.approx(12 * (10 / 12 + slope * 3.0))
    assert nv.loc["s23", "last"] == pytest.approx(0.2) and pd.isna(nv.loc["s23", "trend"])  # one year only
    assert pd.isna(nv.loc["other", "last"])  # another series (the filter differs)


def test_forecast_errors_and_mape_compare_on_the_targets_each_forecast_has():
    ts = targets([
        {"id": "d21", "kind": "level", "metric": "deal_count", "period": "2021", "observed": 20},
        {"id": "d22", "kind": "level", "metric": "deal_count", "period": "2022", "observed": 40},
        {"id": "m22", "kind": "level", "metric": "deal_count", "where": {"licensee_kind": "mnc"}, "period": "2022",
         "observed": 10},
        {"id": "i22", "kind": "level", "metric": "deal_count", "where": {"licensee_kind": "x"}, "period": "2022",
         "observed": 10, "gate": False},
    ])
    split = split_targets(ts, 2021)
    card = pd.DataFrame([{"id": i, "period": "2022", "unit": "count", "gate": g, "sim_mean": m, "sim_p05": m,
                          "sim_p95": m, "passed": True}
                         for i, g, m in (("d21", True, 20), ("d22", True, 30), ("m22", True, 12), ("i22", False, 0))])
    e = forecast_errors(card, ts, split).set_index("id")
    assert list(e.index) == ["d22", "m22", "i22"]
    assert e.loc["d22", "ape_model"] == pytest.approx(0.25) and e.loc["d22", "ape_last"] == pytest.approx(0.5)
    m = mape_table(e.reset_index()).set_index("comparison")
    assert m.loc["model", "targets"] == 2 and m.loc["model", "model_mape"] == pytest.approx((0.25 + 0.2) / 2)
    assert m.loc["model vs last value", "targets"] == 1
    assert m.loc["model vs last value", "naive_mape"] == pytest.approx(0.5)
    assert m.loc["model vs last value", "model_better_on"] == 1
    assert m.loc["model vs linear trend", "targets"] == 0


TINY = """\
name: tinybt
extends: baseline
end: 2024-12
population: {biotechs: 40, top_mncs: 4, mid_size: 8, incubators: 2, regional: 3}
"""

EXPERIMENT = """\
name: bt
scenario: tiny.yaml
targets: {targets}
replications: 2
seed: 11
trials: 50
startup_trials: 2
backtest: {{trials: 2, replications: 2, confirm_replications: 0}}
parameters:
  mnc.hurdle: {{low: 0.05, high: 0.5}}
  biotech.offer_rate: {{low: 0.05, high: 0.8}}
"""


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(TINY)
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT.format(targets=ROOT / "experiments" / "targets.yaml"))
    return path


def _quiet():
    from rich.console import Console

    return Console(file=open("/dev/null", "w"), width=200)


def test_backtest_fit_never_sees_a_target_after_the_cutoff(experiment: Path, tmp_path: Path):
    from sim.analysis.backtest import in_sample_ids_of_trials

    res = run_backtest(experiment, 2022, out=tmp_path / "rec", fit_out=tmp_path / "fit", workers=1, console=_quiet())
    split = res.split
    for ids in in_sample_ids_of_trials(tmp_path / "fit", "bt_backtest2022"):
        assert ids == set(split.in_sample_ids)
    hist = pd.read_csv(tmp_path / "fit" / "loss_history.csv")
    assert len(hist) == 2  # backtest.trials, not the experiment's 50

    # Move every later target's observed value: the fit's losses do not change at all.
    data = yaml.safe_load((ROOT / "experiments" / "targets.yaml").read_text())
    for t in data["targets"]:
        if t["id"] in split.out_of_sample and isinstance(t.get("observed"), (int, float)):
            t["observed"] = t["observed"] * 3
    (tmp_path / "moved.yaml").write_text(yaml.safe_dump(data))
    experiment.write_text(EXPERIMENT.format(targets=tmp_path / "moved.yaml"))
    res2 = run_backtest(experiment, 2022, out=tmp_path / "rec2", fit_out=tmp_path / "fit2", workers=1,
                        console=_quiet())
    hist2 = pd.read_csv(tmp_path / "fit2" / "loss_history.csv")
    pd.testing.assert_series_equal(hist["loss"], hist2["loss"])
    assert res2.best_params == res.best_params
    # ...while the out-of-sample errors are measured against the moved values
    e1, e2 = res.errors.set_index("id"), res2.errors.set_index("id")
    assert e2.loc["C1.deals.2024", "observed"] == 3 * e1.loc["C1.deals.2024", "observed"]

    # the record
    rec = tmp_path / "rec"
    for f in ("summary.md", "forecast_errors.csv", "mape.csv", "scorecard_in_sample.csv",
              "scorecard_out_of_sample.csv", "backtest_2022.yaml", "best_params.yaml", "loss_history.csv",
              "yearly.csv", "backtest.png", "manifest.json"):
        assert (rec / f).is_file(), f
    man = json.loads((rec / "manifest.json").read_text())
    assert man["kind"] == "backtest" and man["cutoff"] == 2022 and man["out_of_sample"] == split.out_of_sample
    assert man["root_seed"] != 11  # forecasts never run on the fit's seeds
    summary = (rec / "summary.md").read_text()
    assert "Out of sample:" in summary and "model vs last value" in summary
    out_card = pd.read_csv(rec / "scorecard_out_of_sample.csv")
    assert set(out_card["id"]) == set(split.out_of_sample)
    errs = pd.read_csv(rec / "forecast_errors.csv").set_index("id")
    assert errs.loc["C1.deals.2023", "last"] == pytest.approx(43)  # 2022's 43 deals, the last observed
    assert errs.loc["C1.deals.2018_2023", "spans_cutoff"] and not errs.loc["C1.deals.2023", "spans_cutoff"]
    from sim.scenarios.loader import load_scenario

    fitted = load_scenario(rec / "backtest_2022.yaml")
    assert fitted.name == "backtest_2022" and fitted.population.biotechs == 40
    assert fitted.mnc.hurdle == pytest.approx(res.best_params["mnc.hurdle"])

    # run again into the same record folder: it is replaced (it is licsim's), the fit resumes
    run_backtest(experiment, 2022, out=tmp_path / "rec2", fit_out=tmp_path / "fit2", workers=1, console=_quiet())
    assert len(pd.read_csv(tmp_path / "fit2" / "loss_history.csv")) == 2


def test_backtest_cli_bad_input_is_one_line_and_writes_nothing(experiment: Path, tmp_path: Path, monkeypatch,
                                                               capsys):
    from test_validation import run_cli

    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep")
    for args, message in ((("--cutoff", 2030), "--cutoff 2030: allowed 2019 to 2024"),
                          (("--cutoff", 2022, "--out", user), "holds files licsim backtest did not write"),
                          (("--cutoff", 2022, "--trials", 0), "--trials 0: allowed 1 to 100000"),
                          (("--cutoff", 2022, "--cluster", "remote"), "--cluster 'remote': only 'local'"),
                          (("--cutoff", 2022, "--scheduler", "nowhere"), "--scheduler 'nowhere': not a scheduler")):
        bad = run_cli(monkeypatch, capsys, "backtest", experiment, *args, "--fit-out", tmp_path / "fit")
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert not (tmp_path / "fit").exists() and not Path("results/backtest/bt_2030").exists()
    assert (user / "notes.txt").read_text() == "keep" and len(list(user.iterdir())) == 1
    bad = run_cli(monkeypatch, capsys, "backtest", tmp_path / "nope.yaml", "--cutoff", 2022)
    assert bad.returncode == 2 and "experiment file not found" in bad.stderr
