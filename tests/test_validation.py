"""Validation: periods, the targets file, scorecard arithmetic on a hand-made ledger, the replication map, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.validation import (
    DEFAULT_TARGETS,
    Measure,
    RunOutput,
    compute,
    evaluate,
    format_value,
    load_targets,
    map_replications,
    parse_period,
    prepare_runs,
    print_scorecard,
    replication_seeds,
    yearly_series,
)
from sim.errors import UserError

ROOT = Path(__file__).resolve().parents[1]

DEAL_COLUMNS = [
    "replication", "seed", "deal_id", "signed", "year", "licensor_id", "licensor_kind", "licensee_id",
    "licensee_kind", "licensee_region", "asset_id", "modality", "area", "novelty", "stage", "territory",
    "deal_type", "upfront_usd", "milestones_usd", "royalty_rate", "equity_usd", "total_value_usd",
    "diligence_months", "terminated", "termination_reason", "returned", "milestones_paid_usd", "china_origin",
]


def deal(rep: int, signed: str, upfront: float, total: float, stage: str, kind: str, region: str,
         diligence: float, *, licensor_kind: str = "biotech", territory: str = "ex_china") -> dict:
    ts = pd.Timestamp(signed + "-01")
    return {"replication": rep, "seed": 100 + rep, "deal_id": 0, "signed": ts, "year": ts.year,
            "licensor_id": 1, "licensor_kind": licensor_kind, "licensee_id": 2, "licensee_kind": kind,
            "licensee_region": region, "asset_id": 3, "modality": "antibody", "area": "oncology",
            "novelty": "fast_follower", "stage": stage, "territory": territory, "deal_type": "license",
            "upfront_usd": upfront, "milestones_usd": total - upfront, "royalty_rate": 0.1, "equity_usd": 0.0,
            "total_value_usd": total, "diligence_months": diligence, "terminated": pd.NaT,
            "termination_reason": None, "returned": False, "milestones_paid_usd": 0.0, "china_origin": licensor_kind == "biotech"}


def monthly(rep: int, financing: float, start: str = "2022-01", end: str = "2023-12") -> pd.DataFrame:
    months = pd.date_range(start, end, freq="MS")
    return pd.DataFrame({"replication": rep, "month": months, "primary_financing_usd": financing,
                         "financing_rounds": 1.0, "active_biotechs": 100, "folded_biotechs": 0, "new_biotechs": 0})


def hand_made() -> list[RunOutput]:
    """Two replications with known answers (see the expected values in the tests)."""
    r0 = [deal(0, "2022-02", 10, 100, "preclinical", "mnc", "US", 8),
          deal(0, "2022-05", 20, 200, "phase1", "mid_size", "EU", 10),
          deal(0, "2022-09", 30, 300, "phase2", "mnc", "US", 12),
          deal(0, "2023-03", 40, 400, "preclinical", "incubator", "US", 6),
          # not China out-licensing deals: an incubator's sub-licence, and China-only rights
          deal(0, "2022-03", 1000, 9000, "phase1", "mnc", "US", 9, licensor_kind="incubator"),
          deal(0, "2022-04", 500, 5000, "phase1", "mnc", "US", 9, territory="china")]
    r1 = [deal(1, "2022-01", 50, 500, "preclinical", "mnc", "US", 9),
          deal(1, "2023-07", 60, 600, "phase1", "mnc", "JP", 11),
          deal(1, "2023-08", 70, 700, "filed", "regional", "JP", 13)]
    out = []
    for rep, rows, fin in ((0, r0, 5.0), (1, r1, 1.0)):
        out.append(RunOutput(pd.DataFrame(rows, columns=DEAL_COLUMNS), monthly(rep, fin), seed=100 + rep,
                             replication=rep))
    return out


TARGETS_YAML = """\
universe: {china_origin: true, licensor_kind: biotech, territory: {not: china}}
targets:
  - {id: count, group: T, name: deals 2022, kind: level, metric: deal_count, period: 2022, observed: 2, source: x}
  - {id: upfront_h1, group: T, name: upfront H1, kind: level, metric: deal_sum, column: upfront_usd,
     period: 2022-H1, observed: 100, source: x}
  - {id: ratio, group: T, name: ratio, kind: ratio, metric: deal_ratio, numerator: upfront_usd,
     denominator: total_value_usd, period: 2022..2023, observed: 0.1, source: x}
  - {id: mnc_share, group: T, name: mnc share, kind: share, metric: deal_share, where: {licensee_kind: mnc},
     period: 2022, observed: 0.75, source: x}
  - {id: us_early, group: T, name: US early, kind: share, metric: deal_share, among: {licensee_region: US},
     where: {stage: [preclinical, phase1]}, period: 2022..2023, observed: 0.8, source: x}
  - {id: median, group: T, name: diligence, kind: level, metric: deal_median, column: diligence_months,
     period: 2022..2023, observed: 9, band: [7, 11], source: x}
  - {id: top2, group: T, name: top 2, kind: threshold, metric: top_share, column: upfront_usd, n: 2,
     where: {licensee_kind: mnc}, period: 2022..2023, min: 0.5, source: x}
  - {id: financing, group: T, name: financing, kind: level, metric: monthly_sum, column: primary_financing_usd,
     period: 2022, observed: 36, source: x}
  - {id: rises, group: T, name: deals rise, kind: direction, relation: increasing, metric: deal_count,
     periods: [2022, 2023], source: x}
  - {id: greater, group: T, name: upfront beats financing, kind: direction, relation: greater, source: x,
     compare: [{metric: deal_sum, column: upfront_usd, period: 2023},
               {metric: monthly_sum, column: primary_financing_usd, period: 2023}]}
  - {id: largest, group: T, name: preclinical largest, kind: direction, relation: largest, source: x,
     compare: [{metric: deal_share, where: {stage: preclinical}, period: 2022..2023},
               {metric: deal_share, where: {stage: phase1}, period: 2022..2023},
               {metric: deal_share, where: {stage: phase2}, period: 2022..2023}]}
  - {id: mnc_min, group: T, name: mnc share at least 90%, kind: threshold, metric: deal_share,
     where: {licensee_kind: mnc}, period: 2022, min: 0.9, source: x}
  - {id: cross, group: T, name: crossover, kind: level, metric: crossover, column: upfront_usd,
     against: primary_financing_usd, window: 3, period: 2022-01..2023-12, observed: 2022-04,
     band: [2022.0, 2022.5], gate: false, source: x}
"""


@pytest.fixture
def card(tmp_path: Path):
    path = tmp_path / "targets.yaml"
    path.write_text(TARGETS_YAML)
    return evaluate(load_targets(path), hand_made())


def row(card, tid: str) -> pd.Series:
    return card.table.set_index("id").loc[tid]


# ------------------------------------------------------------------------------------ periods


@pytest.mark.parametrize("spec, start, end", [
    (2022, (2022, 1), (2022, 12)), ("2022-H1", (2022, 1), (2022, 6)), ("2022-H2", (2022, 7), (2022, 12)),
    ("2023-Q3", (2023, 7), (2023, 9)), ("2024-10", (2024, 10), (2024, 10)), ("2018..2023", (2018, 1), (2023, 12)),
    ("2020-01..2021-06", (2020, 1), (2021, 6)),
])
def test_periods(spec, start, end):
    p = parse_period(spec)
    assert (p.start // 12, p.start % 12 + 1) == start
    assert (p.end // 12, p.end % 12 + 1) == end


@pytest.mark.parametrize("bad", ["22", "2022-13", "2023..2022", "2022-H3", "soon"])
def test_bad_periods(bad):
    with pytest.raises(ValueError):
        parse_period(bad)


# ---------------------------------------------------------------------------- scorecard arithmetic


def test_universe_keeps_only_china_out_licensing():
    runs = prepare_runs(hand_made(), {"china_origin": True, "licensor_kind": "biotech", "territory": {"not": "china"}})
    assert [len(r.deals) for r in runs] == [4, 3]
    assert runs[0].deals["upfront_usd"].max() == 40


def test_level_count_mean_interval_and_pass(card):
    r = row(card, "count")  # replication 0: 3 deals in 2022, replication 1: 1
    assert r["sim_mean"] == pytest.approx(2.0)
    assert r["sim_p05"] == pytest.approx(1.1) and r["sim_p95"] == pytest.approx(2.9)
    assert (r["band_low"], r["band_high"]) == (1.5, 2.5)  # +/-25%
    assert r["passed"] and r["distance"] == 0


def test_level_sum_failing_with_distance(card):
    r = row(card, "upfront_h1")  # 10 + 20 and 50 -> mean 40; band 75..125
    assert r["sim_mean"] == pytest.approx(40)
    assert not r["passed"]
    assert r["distance"] == pytest.approx((75 - 40) / 25)


def test_ratio_share_median_top_monthly(card):
    assert row(card, "ratio")["sim_mean"] == pytest.approx(0.1)
    assert row(card, "mnc_share")["sim_mean"] == pytest.approx((2 / 3 + 1) / 2)
    assert row(card, "mnc_share")["passed"]  # 0.833 within 0.75 +/- 0.10
    assert (row(card, "mnc_share")["band_low"], row(card, "mnc_share")["band_high"]) == (0.65, 0.85)
    assert row(card, "us_early")["sim_mean"] == pytest.approx((2 / 3 + 1) / 2)
    assert row(card, "median")["sim_mean"] == pytest.approx((9 + 11) / 2)
    assert row(card, "top2")["sim_mean"] == pytest.approx(0.5) and row(card, "top2")["passed"]
    assert row(card, "financing")["sim_mean"] == pytest.approx((12 * 5 + 12 * 1) / 2)


def test_directions_judged_on_replication_means(card):
    r = row(card, "rises")  # rep 0: 3 -> 1, rep 1: 1 -> 2; means 2 -> 1.5
    assert r["sim_mean"] == pytest.approx(-0.5) and not r["passed"]
    assert r["holds_share"] == pytest.approx(0.5)
    g = row(card, "greater")  # upfront 2023 (40, 130) vs financing 2023 (60, 12): 85 > 36
    assert g["sim_mean"] == pytest.approx(49) and g["passed"]
    assert g["holds_share"] == pytest.approx(0.5)
    lg = row(card, "largest")  # preclinical (2/4, 1/3) vs phase1 (1/4, 1/3) vs phase2 (1/4, 0)
    assert lg["sim_mean"] == pytest.approx((0.5 + 1 / 3) / 2 - (0.25 + 1 / 3) / 2) and lg["passed"]


def test_crossover_month(card):
    r = row(card, "cross")  # rep 1 crosses in 2022-03, rep 0 in 2022-05 (trailing 3 months)
    assert r["sim_mean"] == pytest.approx(2022 + 3 / 12)
    assert format_value(r["sim_mean"], "month") == "2022-04"
    assert not r["gate"] and r["passed"]


def test_a_failing_target_is_reported_as_failing(card, capsys):
    assert not card.passed
    assert set(card.failing) == {"upfront_h1", "rises", "mnc_min"}
    assert "cross" not in card.failing  # informational targets never fail a run
    from rich.console import Console

    print_scorecard(card, Console(width=200, force_terminal=False))
    out = capsys.readouterr().out
    assert "FAIL" in out and "PASS" in out
    assert "failing: upfront_h1, rises, mnc_min" in out


def test_all_pass_when_every_gating_target_holds(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - {id: a, group: T, name: a, kind: level, metric: deal_count, period: 2022,"
                    " observed: 2, source: x}\n")
    card = evaluate(load_targets(path), hand_made())
    assert card.passed and card.failing == []


def test_no_data_fails_with_a_reason(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - {id: a, group: T, name: a, kind: share, metric: deal_share,"
                    " where: {stage: phase3}, period: 2019, observed: 0.2, source: x}\n")
    card = evaluate(load_targets(path), hand_made())
    assert not card.passed and "no data" in card.table["detail"].iloc[0]


def test_yearly_series(card):
    runs = prepare_runs(hand_made(), {"china_origin": True, "licensor_kind": "biotech", "territory": {"not": "china"}})
    y = yearly_series(runs).set_index(["replication", "year"])
    assert y.loc[(0, 2022), "deals"] == 3 and y.loc[(0, 2022), "upfront_usd"] == 60
    assert y.loc[(1, 2023), "preclinical_share"] == 0 and y.loc[(0, 2022), "primary_financing_usd"] == 60


# ------------------------------------------------------------------------------- targets file


def test_shipped_targets_cover_c1_to_c10():
    ts = load_targets(DEFAULT_TARGETS)
    assert {t.group for t in ts.targets} == {f"C{i}" for i in range(1, 11)}
    # C4 (upfront / headline) is the ratio of the gated C3 and C2 levels, so it is an info row
    assert {t.group for t in ts.targets if t.gate} == {f"C{i}" for i in range(1, 11)} - {"C4"}
    assert ts.universe["licensor_kind"] == "biotech"
    kinds = {t.kind for t in ts.targets}
    assert kinds == {"level", "ratio", "share", "threshold", "direction"}
    for t in ts.targets:  # the band rules
        lo, hi = t.bounds()
        if t.kind == "share" and t.band is None:
            assert hi - lo == pytest.approx(0.2)
        if t.kind == "level" and t.band is None:
            assert (lo, hi) == (pytest.approx(0.75 * t.observed), pytest.approx(1.25 * t.observed))


def test_shipped_gated_targets_are_independent_facts_with_a_mechanism():
    """Issue 17: only independent facts gate, and each names the mechanism that should produce it."""
    ts = load_targets(DEFAULT_TARGETS)
    gated = {t.id: t for t in ts.gated()}
    assert len(gated) == 24 and len(ts.targets) == 38
    for t in gated.values():
        assert t.mechanism and len(t.mechanism) > 20, t.id
    # RT23's 149 deals and 10 returned, and CP24's ceiling, gate
    assert {"C1.deals.2018_2023", "C1.returned.2018_2023", "C1.deals.2018_2019"} <= set(gated)
    # financing levels read back the funding driver's input
    assert not [i for i, t in gated.items() if t.metric == "monthly_sum" and t.column == "primary_financing_usd"]
    # no half-year inside a gated full year of the same measure
    full_years = {(t.metric, t.column, str(t.where), t.period) for t in gated.values() if t.period
                  and t.period.isdigit()}
    halves = [i for i, t in gated.items() if t.period and "-H" in t.period
              and (t.metric, t.column, str(t.where), t.period.split("-")[0]) in full_years]
    assert halves == []
    # no ratio or share that divides two gated levels
    for info in ("C4.upfront_ratio", "C6.mnc_share.2024", "C1.deals.rise", "C2.headline.2023H1",
                 "C3.upfront.2023H1", "C9.financing.2021", "C9.financing.2024"):
        assert info not in gated


def test_shipped_targets_compute_on_a_ledger_with_the_documented_columns():
    outs = hand_made()
    for o in outs:  # stretch the monthly series over the target years
        o.monthly = monthly(o.replication, 1.0, "2018-01", "2026-12")
    card = evaluate(load_targets(DEFAULT_TARGETS), outs)
    assert len(card.table) == len(load_targets(DEFAULT_TARGETS).targets)


@pytest.mark.parametrize("text, message", [
    ("targets:\n  - {id: a, group: T, name: a, kind: level, metric: deal_count, period: 2022, observed: 2,"
     " source: x, colour: red}\n", ":2:103: target a.colour: unknown field"),
    ("targets:\n  - {id: a, group: T, name: a, kind: level, metric: deal_count, period: 2022-13, observed: 2,"
     " source: x}\n", "2022-13"),
    ("targets:\n  - {id: a, group: T, name: a, kind: threshold, metric: deal_count, period: 2022, source: x}\n",
     "needs min and/or max"),
    ("targets:\n  - {id: a, group: T, name: a, kind: level, metric: deal_sum, period: 2022, observed: 1,"
     " source: x}\n", "needs column"),
    ("targets: [\n", "invalid YAML"),
])
def test_bad_targets_files_are_one_line_user_errors(tmp_path: Path, text: str, message: str):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        load_targets(path)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    assert str(path) in str(exc.value)


def test_unknown_column_names_the_target(tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text("targets:\n  - {id: a, group: T, name: a, kind: share, metric: deal_share,"
                    " where: {colour: red}, period: 2022, observed: 0.2, source: x}\n")
    with pytest.raises(UserError, match="target a: column 'colour' is not in the deal ledger"):
        evaluate(load_targets(path), hand_made())


# ------------------------------------------------------------------------------ replications


def fake_simulate(scenario, seed, replication=0):
    """A stand-in model: deals per year drawn from the seed (importable by spawned workers)."""
    rng = np.random.default_rng(seed)
    rows = [deal(replication, f"{y}-{m:02d}", float(rng.uniform(1, 10)), 100.0, "preclinical", "mnc", "US", 9)
            for y in (2022, 2023) for m in range(1, 13) if rng.random() < 0.5]
    deals = pd.DataFrame(rows, columns=DEAL_COLUMNS)
    deals["seed"] = seed
    return RunOutput(deals, monthly(replication, 1.0), seed, replication)


def test_seeds_are_spawned_children():
    seeds = replication_seeds(42, 3)
    kids = np.random.SeedSequence(42).spawn(3)
    assert seeds == [int(k.generate_state(1, np.uint64)[0] >> np.uint64(1)) for k in kids]
    assert replication_seeds(42, 5)[:3] == seeds  # more replications keep the first ones


def failing_simulate(scenario, seed, replication=0):
    if replication == 1:
        raise ValueError("boom")
    return fake_simulate(scenario, seed, replication)


def test_map_runs_parallel_matches_serial_and_reports_failures():
    from sim.analysis.validation import make_executor, map_runs

    seeds = replication_seeds(7, 4)
    serial = map_replications("scenario", seeds, workers=1, runner="test_validation:fake_simulate")
    pool = make_executor(2)
    try:
        parallel = map_replications("scenario", seeds, runner="test_validation:fake_simulate", executor=pool)
        assert [o.replication for o in parallel] == [0, 1, 2, 3]
        for a, b in zip(serial, parallel):
            pd.testing.assert_frame_equal(a.deals, b.deals)
            assert a.seed == b.seed
        jobs = [("scenario", s, r) for r, s in enumerate(seeds[:3])]
        kept = map_runs(jobs, runner="test_validation:failing_simulate", executor=pool, errors="return")
        assert isinstance(kept[1], ValueError) and isinstance(kept[2], RunOutput)
        with pytest.raises(RuntimeError, match=f"replication 1 \\(seed {seeds[1]}\\) failed: ValueError: boom"):
            map_runs(jobs, runner="test_validation:failing_simulate", executor=pool)
    finally:
        pool.shutdown()


def test_map_runs_on_a_batch_executor_keeps_job_order_and_reports_failures(tiny_scenario):
    """calibrate and backtest run jobs on batch's executors (local processes, Dask), which give
    results in the order runs finish: each result still lands in its job's slot."""
    from sim.analysis.validation import RunFailed, map_runs
    from sim.experiments.executors import SerialExecutor
    from sim.scenarios.loader import apply_overrides

    class LastFirst(SerialExecutor):  # as a busy cluster may: the last job's result first
        def imap_unordered(self, run_fn, tasks):
            yield from reversed(list(super().imap_unordered(run_fn, tasks)))

    short = apply_overrides(tiny_scenario, {"end": "2021-06"})
    other = apply_overrides(short, {"population.biotechs": 20})
    jobs = [(short, 5, 0), (other, 6, 1), (short, 7, 2)]
    direct = map_runs(jobs, workers=1)
    on_executor = map_runs(jobs, executor=LastFirst())
    for a, b in zip(direct, on_executor):
        assert (a.seed, a.replication) == (b.seed, b.replication)
        pd.testing.assert_frame_equal(a.monthly, b.monthly)
        pd.testing.assert_frame_equal(a.deals, b.deals)
    assert direct[0].monthly["active_biotechs"].iloc[0] != direct[1].monthly["active_biotechs"].iloc[0]
    broken = short.model_copy(update={"end": "1800-01"})  # refused where it runs
    jobs = [(short, 5, 0), (broken, 6, 1)]
    kept = map_runs(jobs, executor=LastFirst(), errors="return")
    assert isinstance(kept[0], RunOutput) and isinstance(kept[1], RunFailed) and "ValidationError" in str(kept[1])
    with pytest.raises(RuntimeError, match=r"replication 1 \(seed 6\) failed: ValidationError"):
        map_runs(jobs, executor=LastFirst())


# ---------------------------------------------------------------------------------- the CLI

TINY = """\
name: tinyval
extends: baseline
end: 2024-12
population: {biotechs: 50, top_mncs: 5, mid_size: 10, incubators: 2, regional: 4}
"""


def licsim(*args, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """The real CLI in a subprocess, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "sim.interfaces.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=600)


def run_cli(monkeypatch, capsys, *args) -> subprocess.CompletedProcess:
    """The CLI's entry point in this process (no interpreter start-up): exit code, stdout, stderr."""
    from sim.interfaces import cli

    monkeypatch.setattr(sys, "argv", ["licsim", *map(str, args)])
    try:
        cli.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def test_validate_cli_reports_failures_with_exit_1(tmp_path: Path, monkeypatch, capsys):
    sc = tmp_path / "tiny.yaml"
    sc.write_text(TINY)
    out = tmp_path / "val"
    monkeypatch.setenv("COLUMNS", "80")
    res = run_cli(monkeypatch, capsys, "validate", sc, "--replications", 2, "--workers", 1, "--out", out)
    assert res.returncode == 1, res.stderr
    assert "FAIL" in res.stdout and "C1.deals.2024" in res.stdout
    # an 80-column terminal: every line fits and nothing is cut to "..."
    assert max(len(line) for line in res.stdout.splitlines()) <= 80, res.stdout
    assert "\u2026" not in res.stdout, res.stdout
    row = res.stdout.split("C1.deals.2024 (2024)")[1].splitlines()[1]
    assert row.strip().startswith("observed 94; simulated"), row
    for f in ("validation.csv", "replications.csv", "yearly.csv", "validation.png", "manifest.json"):
        assert (out / f).is_file(), f
    table = pd.read_csv(out / "validation.csv")
    assert {"id", "period", "observed", "sim_mean", "sim_p05", "sim_p95", "band_low", "band_high",
            "passed"} <= set(table.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == replication_seeds(20180101, 2) and manifest["passed"] is False


def test_validate_cli_exit_0_when_targets_pass(tmp_path: Path, monkeypatch, capsys):
    sc = tmp_path / "tiny.yaml"
    sc.write_text(TINY)
    targets = tmp_path / "t.yaml"
    targets.write_text("targets:\n  - {id: any, group: T, name: deals, kind: threshold, metric: deal_count,"
                       " period: 2018..2024, min: 0, source: x}\n")
    res = run_cli(monkeypatch, capsys, "validate", sc, "-n", 2, "-w", 1, "--targets", targets, "--out", tmp_path / "v")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1/1 targets pass" in res.stdout


def test_validate_cli_bad_input_is_exit_2(tmp_path: Path):
    res = licsim("validate", tmp_path / "missing.yaml", "-n", 1)
    assert res.returncode == 2 and res.stderr.startswith("error: ") and "not found" in res.stderr


def test_dated_talks_started_counts_deals_by_the_month_talks_began():
    """A deal signed in 2022-03 after 6 months of talks began in 2021-09: 'dated: talks_started'."""
    deals = pd.DataFrame([
        deal(0, "2022-03", 1.0, 10.0, "phase1", "mnc", "US", 6.0),    # talks from 2021-09
        deal(0, "2022-12", 1.0, 10.0, "phase1", "mnc", "US", 14.0),   # talks from 2021-10
        deal(0, "2023-06", 1.0, 10.0, "phase1", "mnc", "US", 12.0),   # talks from 2022-06
    ], columns=DEAL_COLUMNS)
    runs = prepare_runs([RunOutput(deals, monthly(0, 1.0), seed=100, replication=0)], {"china_origin": True})
    by_signing = Measure(metric="deal_median", column="diligence_months", period="2022")
    by_talks = Measure(metric="deal_median", column="diligence_months", period="2022", dated="talks_started")
    talks_2021 = Measure(metric="deal_count", period="2021", dated="talks_started")
    assert compute(by_signing, runs[0]) == pytest.approx(10.0)  # 6 and 14
    assert compute(by_talks, runs[0]) == pytest.approx(12.0)  # only the deal whose talks began in 2022
    assert compute(talks_2021, runs[0]) == 2.0
    with pytest.raises(ValueError, match="applies to deal measures"):
        Measure(metric="monthly_sum", column="primary_financing_usd", period="2022", dated="talks_started")


@pytest.mark.parametrize("value, unit, shown", [
    (2345.6, "number", "2,346"), (1.37, "number", "1.37"), (0.052, "number", "0.052"), (1234.0, "count", "1234"),
    (117.1, "count", "117.1"), (7.2e9, "usd", "$7.20B"), (0.28, "share", "28.0%"), (12.0, "months", "12.0 mo"),
])
def test_format_value_reads_like_a_report_never_in_exponent_notation(value, unit, shown):
    """Large plain numbers (active biotechs at the end, say) print as 2,346, not 2.35e+03."""
    assert format_value(value, unit) == shown
