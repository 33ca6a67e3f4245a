"""Compare: paired statistics on hand-made runs, where the runs diverge, and the CLI on two tiny scenarios."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.compare import compare_runs, divergence_month
from sim.analysis.validation import RunOutput, parse_period, prepare_runs
from test_validation import DEAL_COLUMNS, deal, monthly, run_cli

ROOT = Path(__file__).resolve().parents[1]
UNIVERSE = {"china_origin": True, "licensor_kind": "biotech", "territory": {"not": "china"}}


def runs(spec: dict[int, list[tuple[str, float, str]]], financing: dict[int, float]) -> list:
    """Replications from {rep: [(month, upfront, stage), ...]}; every deal is with an MNC."""
    outs = []
    for rep, rows in spec.items():
        deals = pd.DataFrame([deal(rep, m, up, up * 10, st, "mnc", "US", 9) for m, up, st in rows],
                             columns=DEAL_COLUMNS)
        outs.append(RunOutput(deals, monthly(rep, financing[rep], "2021-01", "2023-12"), 1, rep))
    return prepare_runs(outs, UNIVERSE)


def test_paired_differences_and_intervals():
    same = [("2021-03", 5.0, "phase2")]
    a = runs({0: same + [("2022-01", 10, "phase2")],
              1: same + [("2022-01", 10, "phase2"), ("2022-06", 20, "phase3")],
              2: same + [("2022-01", 10, "phase1")]}, {0: 1, 1: 1, 2: 1})
    b = runs({0: same + [("2022-01", 10, "preclinical"), ("2022-02", 30, "phase1")],
              1: same + [("2022-01", 10, "phase2"), ("2022-06", 20, "phase3"), ("2023-01", 40, "preclinical")],
              2: same + [("2022-01", 10, "phase1"), ("2022-03", 5, "preclinical")]}, {0: 2, 1: 2, 2: 2})
    win = parse_period("2022..2023")
    t = compare_runs(a, b, win).set_index(["metric", "period"])
    d = t.loc[("deals_per_year", "2022..2023")]
    # A: 1, 2, 1 deals over two years; B: 2, 3, 2 -> paired differences 0.5 each
    assert d["a_mean"] == pytest.approx(4 / 3 / 2) and d["b_mean"] == pytest.approx(7 / 3 / 2)
    assert d["diff_mean"] == pytest.approx(0.5) and d["diff_p05"] == pytest.approx(0.5)
    assert d["diff_p95"] == pytest.approx(0.5)
    up = t.loc[("upfront_per_year_usd", "2022..2023")]  # differences 15, 20, 2.5 per year
    diffs = np.array([15, 20, 2.5])
    assert up["diff_mean"] == pytest.approx(diffs.mean())
    assert up["diff_p05"] == pytest.approx(np.percentile(diffs, 5))
    assert up["diff_p95"] == pytest.approx(np.percentile(diffs, 95))
    se = diffs.std(ddof=1) / np.sqrt(3)
    from scipy.stats import t as student

    assert up["diff_ci_low"] == pytest.approx(diffs.mean() - student.ppf(0.95, 2) * se)
    assert bool(up["significant"]) == (up["diff_ci_low"] > 0)
    fin = t.loc[("financing_per_year_usd", "2022..2023")]
    assert fin["diff_mean"] == pytest.approx(12.0) and fin["significant"]  # 1 -> 2 a month, no noise
    early = t.loc[("share_early", "2022..2023")]
    assert early["a_mean"] == pytest.approx((0 + 0 + 1) / 3)
    assert early["b_mean"] == pytest.approx((1 + 1 / 3 + 1) / 3)
    per_year = t.loc[("deals", "2023")]
    assert per_year["a_mean"] == 0 and per_year["b_mean"] == pytest.approx(1 / 3)


def test_divergence_month_finds_the_first_difference():
    a = runs({0: [("2021-03", 5, "phase2"), ("2022-05", 6, "phase2")]}, {0: 1.0})
    b = runs({0: [("2021-03", 5, "phase2"), ("2022-05", 7, "phase2")]}, {0: 1.0})
    assert divergence_month(a, b) == 2022 * 12 + 4
    assert divergence_month(a, a) is None
    c = runs({0: [("2021-03", 5, "phase2"), ("2022-05", 6, "phase2")]}, {0: 1.0})
    c[0].monthly.loc[c[0].monthly["_mi"] >= 2021 * 12 + 9, "primary_financing_usd"] = 3.0
    assert divergence_month(a, c) == 2021 * 12 + 9


TINY_A = """\
name: cmp_a
extends: baseline
end: 2024-12
population: {biotechs: 50, top_mncs: 5, mid_size: 10, incubators: 2, regional: 4}
expectations: {funding_memory_months: 1, funding_trend_months: 0}  # prices follow this month's climate
"""
TINY_B = """\
name: cmp_b
extends: a.yaml
drivers:
  funding:
    shocks: [{at: 2023-01, change: 0.6, ramp_months: 3}]
"""


def test_compare_cli_on_two_tiny_scenarios(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    (tmp_path / "a.yaml").write_text(TINY_A)
    (tmp_path / "b.yaml").write_text(TINY_B)
    out = tmp_path / "cmp"
    res = run_cli(monkeypatch, capsys, "compare", tmp_path / "a.yaml", tmp_path / "b.yaml", "--replications", 3, "--workers", 1,
                 "--out", out)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "cmp_b (B) against cmp_a (A)" in res.stdout and "deals per year" in res.stdout
    # An 80-column terminal: nothing wider, nothing cut off.
    assert max(len(line) for line in res.stdout.splitlines()) <= 80, res.stdout
    assert "\u2026" not in res.stdout, res.stdout
    # The answer first (the headline outcomes), then the inputs that were changed, then the rest.
    text = res.stdout
    order = [text.index(s) for s in ("Headline", "deals per year", "upfront payments per year",
                                     "headline value per year", "share at preclinical or",
                                     "biotech survival", "What differs between the scenarios",
                                     "drivers.funding.shocks", "All outcomes")]
    assert order == sorted(order), text
    for f in ("comparison.csv", "compare.png", "manifest.json", "a_cmp_a/deals.parquet", "b_cmp_b/monthly.parquet"):
        assert (out / f).is_file(), f
    table = pd.read_csv(out / "comparison.csv")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["window"] == "2023..2024"  # the funding shock starts in 2023-01
    assert {"deals_per_year", "upfront_per_year_usd", "headline_per_year_usd", "share_preclinical",
            "share_mnc", "biotech_survival"} <= set(table["metric"])
    fin = table[(table["metric"] == "financing_per_year_usd")].iloc[0]
    assert fin["diff_mean"] > 0 and fin["significant"]  # more money when funding is higher
    # common random numbers: before the change the two sides are the same runs
    da = pd.read_parquet(out / "a_cmp_a" / "deals.parquet")
    db = pd.read_parquet(out / "b_cmp_b" / "deals.parquet")
    before = lambda d: d[d["signed"] < "2023-01-01"].reset_index(drop=True)  # noqa: E731
    pd.testing.assert_frame_equal(before(da)[["replication", "signed", "upfront_usd"]],
                                  before(db)[["replication", "signed", "upfront_usd"]])
    # The dashboard's side-by-side table, built from the same ledgers, picks the same window and
    # gives the same numbers as comparison.csv.
    from sim.analysis.report import paired_comparison

    ma = pd.read_parquet(out / "a_cmp_a" / "monthly.parquet")
    mb = pd.read_parquet(out / "b_cmp_b" / "monthly.parquet")
    paired = paired_comparison((da, ma), (db, mb))
    assert paired is not None
    assert set(paired.loc[paired["metric"] == "deals_per_year", "period"]) == {"2023..2024"}
    both = table.merge(paired, on=["metric", "period"], suffixes=("", "_dash"))
    assert len(both) == len(table)
    for col in ("a_mean", "b_mean", "diff_mean"):
        np.testing.assert_allclose(both[col].astype(float), both[f"{col}_dash"].astype(float), rtol=1e-9,
                                   equal_nan=True)


def test_compare_refuses_to_overwrite_a_foreign_folder(tmp_path: Path, monkeypatch, capsys):
    (tmp_path / "a.yaml").write_text(TINY_A)
    keep = tmp_path / "mine"
    keep.mkdir()
    (keep / "notes.txt").write_text("precious")
    res = run_cli(monkeypatch, capsys, "compare", tmp_path / "a.yaml", tmp_path / "a.yaml", "-n", 2, "-w", 1,
                  "--out", keep)
    assert res.returncode == 2 and "manifest.json" in res.stderr and res.stderr.count("\n") == 1
    assert (keep / "notes.txt").read_text() == "precious"


def _row(**kw):
    base = {"section": "value", "metric": "upfront_per_year_usd", "label": "upfront payments per year",
            "period": "2026..2030", "unit": "usd", "a_mean": 1.0e9, "a_p05": 0.5e9, "a_p95": 1.5e9,
            "b_mean": 0.75e9, "b_p05": 0.3e9, "b_p95": 1.2e9, "n": 20}
    return {**base, **kw}


def _printed(table: pd.DataFrame, width: int = 80) -> str:
    from rich.console import Console

    from sim.analysis.compare import print_comparison

    console = Console(width=width, record=True, file=open(os.devnull, "w"))
    print_comparison(table, ("base", "alt"), parse_period("2026..2030"), console)
    return console.export_text()


def test_the_star_is_judged_on_the_printed_interval():
    """The spread of the paired differences crosses zero while the mean's confidence interval
    does not: the printed interval must be the confidence interval, starred; a row whose
    confidence interval crosses zero has no star (the old table printed the spread with the star)."""
    rows = [_row(diff_mean=-252e6, diff_p05=-570e6, diff_p95=158e6, diff_ci_low=-330e6, diff_ci_high=-174e6,
                 significant=True),
            _row(metric="deals_per_year", label="deals per year", unit="count", section="deals", a_mean=60.0,
                 b_mean=59.0, diff_mean=-1.0, diff_p05=-9.0, diff_p95=7.0, diff_ci_low=-3.0, diff_ci_high=1.0,
                 significant=False)]
    text = _printed(pd.DataFrame(rows))
    up = next(line for line in text.splitlines() if line.strip().startswith("upfront payments per year"))
    assert "-$330M to -$174M" in up and up.rstrip().endswith("*"), up
    assert "$570M" not in text and "$158M" not in text, text
    deals = next(line for line in text.splitlines() if line.strip().startswith("deals per year"))
    assert "-3.0 to +1.0" in deals and not deals.rstrip().endswith("*"), deals
    assert "90% CI" in text and "confidence interval of the mean paired difference" in text


def test_every_star_in_the_csv_matches_its_interval(tmp_path: Path):
    a = runs({0: [("2022-01", 10, "phase2")], 1: [("2022-02", 20, "phase1")], 2: [("2022-01", 5, "phase2")]},
             {0: 1, 1: 1, 2: 1})
    b = runs({0: [("2022-01", 30, "phase2")], 1: [("2022-02", 20, "phase1")], 2: [("2022-01", 9, "phase2")]},
             {0: 2, 1: 2, 2: 3})
    t = compare_runs(a, b, parse_period("2022..2023"))
    crossing = (t["diff_ci_low"] <= 0) & (t["diff_ci_high"] >= 0)
    assert not (t["significant"] & crossing).any()
    assert t["significant"].any()


def test_no_two_outcome_rows_say_the_same_thing():
    """An incubator always buys as a NewCo, so "share with incubator licensees" and "share of NewCo
    deals" were the same number under two names; one row is kept."""
    a = runs({0: [("2022-01", 10, "phase2")]}, {0: 1})
    t = compare_runs(a, a, parse_period("2022..2023"))
    assert "share_newco" not in set(t["metric"])
    labels = t.loc[t["metric"] == "share_incubator", "label"].tolist()
    assert labels == ["share with incubator (NewCo) licensees"]
    from sim.analysis.report import METRICS

    assert "share_newco" not in {m.key for m in METRICS}


def test_compare_chart_panels_have_legends_units_and_human_names():
    from matplotlib.text import Text

    from sim.analysis.compare import comparison_chart

    same = [("2021-03", 5.0, "phase2")]
    a = runs({0: same + [("2022-01", 10, "phase2")], 1: same + [("2022-06", 20, "phase3")]}, {0: 1, 1: 1})
    b = runs({0: same + [("2022-01", 30, "preclinical")], 1: same + [("2022-06", 40, "phase1")]}, {0: 1, 1: 1})
    for r in b:  # B's funding driver differs from 2022
        r.monthly["funding_index"] = np.where(r.monthly["_mi"] >= 2022 * 12, 1.5, 1.0)
    for r in a:
        r.monthly["funding_index"] = 1.0
    fig = comparison_chart(a, b, ("base_case", "more_funding"), parse_period("2022..2023"))
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 9
    first = axes[0]
    assert "funding" in first.get_title(loc="left").lower()  # the first panel shows the driver that differs
    assert any("headline" in ax.get_title(loc="left").lower() for ax in axes)
    for ax in axes:
        assert ax.get_legend() is not None, ax.get_title(loc="left")
        assert ax.get_ylabel(), ax.get_title(loc="left")
        for tick in ax.get_xticklabels() + ax.get_yticklabels():
            assert tick.get_fontsize() >= 10, (ax.get_title(), tick.get_text())
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert not [t for t in texts if "_" in t], [t for t in texts if "_" in t]
