"""Parameter uncertainty: the ensemble's acceptance rule and file, drawing per replication in run,
validate, compare and batch, on tiny populations."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sim.analysis.calibration import Experiment, LoadedExperiment, PosteriorSpec
from sim.analysis.posterior import accept_trials, identifiability, load_posterior, write_posterior
from sim.errors import UserError


def write(path: Path, frame: pd.DataFrame) -> Path:
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


# ------------------------------------------------------------------------- acceptance


@pytest.mark.parametrize("spec, expected", [
    (PosteriorSpec(rule="quantile", quantile=0.3, min_sets=1), [4, 0, 7]),  # 30% quantile of 10 losses: 3
    (PosteriorSpec(rule="within", tolerance=1.5, min_sets=1), [4, 0]),  # best 1.0, up to 2.5
    (PosteriorSpec(rule="within", tolerance=0.0, min_sets=3), [4, 0, 7]),  # at least 3
    (PosteriorSpec(rule="quantile", quantile=1.0, max_sets=2, min_sets=1), [4, 0]),  # at most 2
])
def test_acceptance_rule(spec, expected):
    losses = pd.Series([2.0, 9.0, 8.0, 7.0, 1.0, 6.0, 5.0, 3.0, 4.5, np.nan], index=range(10))
    idx, _ = accept_trials(losses, spec)
    assert list(idx) == expected


def test_a_within_rule_needs_a_tolerance():
    with pytest.raises(ValueError, match="tolerance"):
        PosteriorSpec(rule="within")


def test_write_posterior_file_and_identifiability(tmp_path: Path):
    spec = Experiment.model_validate({
        "name": "e", "scenario": "s.yaml", "posterior": {"quantile": 0.5, "min_sets": 2},
        "parameters": {"mnc.hurdle": {"low": 0.0, "high": 1.0},
                       "mnc.attention": {"low": 0.001, "high": 0.1, "log": True},
                       "population.top_mncs": {"low": 2, "high": 10, "type": "int"}}})
    exp = LoadedExperiment(spec, Path("e.yaml"), Path("s.yaml"), Path("t.yaml"))
    n = 40
    rng = np.random.default_rng(1)
    hist = pd.DataFrame({
        "trial": range(n), "state": ["COMPLETE"] * (n - 1) + ["FAIL"], "loss": np.linspace(1, 40, n),
        "mnc.hurdle": rng.uniform(0, 1, n),  # unconstrained: spreads over its range
        "mnc.attention": 0.01 * np.exp(rng.normal(0, 0.01, n)),  # pinned
        "population.top_mncs": rng.integers(2, 11, n)})
    accepted, threshold = write_posterior(hist, exp, tmp_path)
    assert accepted == 20 and threshold == pytest.approx(np.quantile(np.linspace(1, 39, 39), 0.5))
    post = load_posterior(tmp_path / "posterior.parquet")
    assert post.params == ["mnc.hurdle", "mnc.attention", "population.top_mncs"] and len(post) == 20
    assert post.weights.sum() == pytest.approx(1) and np.allclose(post.weights, 1 / 20)
    raw = pd.read_parquet(tmp_path / "posterior.parquet")
    assert list(raw["trial"]) == list(range(20)) and raw["population.top_mncs"].dtype == "int64"
    assert post.meta["rule"]["quantile"] == 0.5 and post.meta["ranges"]["mnc.attention"]["log"] is True
    ident = pd.read_csv(tmp_path / "identifiability.csv").set_index("parameter")
    assert ident.loc["mnc.hurdle", "width_ratio"] > 0.6
    assert ident.loc["mnc.attention", "width_ratio"] < 0.05  # measured in log space
    assert (tmp_path / "posterior.png").stat().st_size > 10_000


def test_identifiability_of_a_uniform_spread_is_one():
    from sim.analysis.calibration import ParamRange

    x = np.linspace(0, 1, 1001)
    ident = identifiability(pd.DataFrame({"a": x}), np.full(len(x), 1 / len(x)), {"a": ParamRange(low=0, high=1)})
    assert ident.loc[0, "width_ratio"] == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("frame, message", [
    (pd.DataFrame({"mnc.hurdle": [0.1]}), "no weight column"),
    (pd.DataFrame({"weight": [1.0], "trial": [0]}), "no parameter columns"),
    (pd.DataFrame({"mnc.hurdle": [0.1, np.nan], "weight": [1.0, 1.0]}), "column mnc.hurdle: row 1 is not a finite"),
    (pd.DataFrame({"mnc.hurdle": [0.1], "weight": [-1.0]}), "column weight: allowed non-negative"),
    (pd.DataFrame({"mnc.hurdle": ["x"], "weight": [1.0]}), "column mnc.hurdle: allowed numbers only"),
])
def test_bad_posterior_files(tmp_path: Path, frame, message):
    path = write(tmp_path / "p.parquet", frame)
    with pytest.raises(UserError, match=message) as exc:
        load_posterior(path)
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_not_a_parquet_file(tmp_path: Path):
    (tmp_path / "p.parquet").write_text("weight\n1\n")
    with pytest.raises(UserError, match="not a Parquet file"):
        load_posterior(tmp_path / "p.parquet")
    with pytest.raises(UserError, match="no such file"):
        load_posterior(tmp_path / "nope.parquet")


def test_draws_are_deterministic_in_the_seed_and_differ_across_replications(tmp_path: Path):
    from sim.model.run import replication_seeds

    post = load_posterior(write(tmp_path / "p.parquet", pd.DataFrame(
        {"mnc.hurdle": [0.1, 0.2, 0.3, 0.4], "weight": [1, 1, 1, 1]})))
    seeds = replication_seeds(7, 40)
    draws = [post.draw(s) for s in seeds]
    assert draws == [post.draw(s) for s in seeds]
    assert len(set(draws)) == 4
    # the weights are honoured
    heavy = load_posterior(write(tmp_path / "h.parquet", pd.DataFrame({"mnc.hurdle": [0.1, 0.2],
                                                                       "weight": [0.0, 1.0]})))
    assert {heavy.draw(s) for s in seeds} == {1}


# ------------------------------------------------------------------------------- run


def test_run_draws_one_set_per_replication(tiny_scenario_file: Path, tmp_path: Path, monkeypatch, capsys):
    from test_validation import run_cli

    from sim.model.run import replication_seeds, simulate
    from sim.scenarios.loader import apply_overrides, load_scenario

    path = write(tmp_path / "p.parquet", pd.DataFrame({"mnc.hurdle": [0.05, 0.5, 0.25],
                                                       "population.biotechs": [30, 90, 60],
                                                       "weight": [1.0, 1.0, 1.0]}))
    out = tmp_path / "run"
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "-n", 4, "--posterior", path, "--out", out,
                  "--workers", 1)
    assert res.returncode == 0, res.stderr
    man = json.loads((out / "manifest.json").read_text())
    post = load_posterior(path)
    seeds = replication_seeds(man["root_seed"], 4)
    assert man["posterior_draws"] == [post.draw(s) for s in seeds]
    assert len(set(man["posterior_draws"])) > 1 and man["posterior"]["sets"] == 3
    deals = pd.read_parquet(out / "deals.parquet")
    sc = load_scenario(tiny_scenario_file)
    for r in (0, 1, 3):  # replication r is the scenario with its drawn set, run on seed r
        k = man["posterior_draws"][r]
        alone = simulate(apply_overrides(sc, post.overrides(k)), seeds[r], r).deals
        mine = deals[deals["replication"] == r].reset_index(drop=True)
        assert len(mine) == len(alone)
        assert np.allclose(mine["upfront_usd"].to_numpy(), alone["upfront_usd"].to_numpy())
    # same command, same bytes of deals
    run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "-n", 4, "--posterior", path, "--out", tmp_path / "r2",
            "--workers", 1)
    pd.testing.assert_frame_equal(deals, pd.read_parquet(tmp_path / "r2" / "deals.parquet"))
    # a set that does not fit the scenario: one line, nothing written
    bad = write(tmp_path / "bad.parquet", pd.DataFrame({"mnc.hurdel": [0.1], "weight": [1.0]}))
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "--posterior", bad, "--out", tmp_path / "r3")
    assert res.returncode == 2 and "bad.parquet: row 0:" in res.stderr and "hurdel" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "r3").exists()


# --------------------------------------------------------------------------- compare


def test_compare_intervals_cover_parameter_uncertainty(tiny_scenario_file: Path, tmp_path: Path):
    from rich.console import Console

    from sim.analysis.compare import run_comparison
    from sim.analysis.posterior import load_posterior
    from sim.scenarios.loader import apply_overrides, load_scenario

    a = load_scenario(tiny_scenario_file)
    b = apply_overrides(a, {"drivers.funding.scale": 1.5, "mnc.hurdle": 0.35}).model_copy(update={"name": "b"})
    reps = 8

    def compare(post, tag):
        buf = Console(file=open(tmp_path / f"{tag}.txt", "w"), width=200)
        res = run_comparison(a, b, reps, workers=1, out=tmp_path / tag, console=buf, posterior=post)
        return res, (tmp_path / f"{tag}.txt").read_text(), json.loads((tmp_path / tag / "manifest.json").read_text())

    plain, text, man = compare(None, "plain")
    assert "intervals cover seed noise only" in text and man["intervals_cover"].startswith("seed noise only")

    # one set equal to the scenario's own values: exactly the plain comparison
    same = load_posterior(write(tmp_path / "same.parquet", pd.DataFrame(
        {"population.biotechs": [a.population.biotechs], "weight": [1.0]})))
    res, text, _ = compare(same, "same")
    pd.testing.assert_frame_equal(res.table, plain.table)
    assert "seed noise and parameter uncertainty" in text

    # two very different markets: A's and B's intervals widen; the table keeps its shape
    wide = load_posterior(write(tmp_path / "wide.parquet", pd.DataFrame(
        {"population.biotechs": [20, 200], "mnc.attention": [0.005, 0.15], "mnc.hurdle": [0.1, 0.2],
         "weight": [1.0, 1.0]})))
    res, text, man = compare(wide, "wide")
    assert "intervals cover seed noise and parameter uncertainty" in text and "the same for A and B" in text
    assert "mnc.hurdle kept as each scenario sets it" in text and man["posterior_kept"] == ["mnc.hurdle"]
    assert set(man["posterior_draws"]) == {0, 1}
    key = ["section", "metric", "period"]
    assert res.table[key].equals(plain.table[key]) and list(res.table.columns) == list(plain.table.columns)
    w = res.table[res.table["metric"] == "deals_per_year"].iloc[0]
    q = plain.table[plain.table["metric"] == "deals_per_year"].iloc[0]
    for col in ("a", "b"):
        assert w[f"{col}_p95"] - w[f"{col}_p05"] > 1.3 * (q[f"{col}_p95"] - q[f"{col}_p05"])
        assert w[f"{col}_p05"] <= w[f"{col}_mean"] <= w[f"{col}_p95"]
    # the pairing: replication r of A and of B ran the same market (the same drawn biotechs)
    for side in ("a_tiny", "b_b"):
        mo = pd.read_parquet(tmp_path / "wide" / side / "monthly.parquet")
        first = mo.groupby("replication")["active_biotechs"].first()
        small = [r for r, k in enumerate(man["posterior_draws"]) if k == 0]
        big = [r for r, k in enumerate(man["posterior_draws"]) if k == 1]
        assert first.loc[small].max() < first.loc[big].min()


# ----------------------------------------------------------------------------- batch


def test_batch_tasks_draw_by_their_seed_and_the_design_wins(tmp_path: Path):
    from sim.experiments.batch import iter_tasks, run_batch
    from sim.experiments import design
    from sim.experiments.executors import SerialExecutor
    from sim.experiments.loader import load_experiment
    from sim.experiments.toy import toy_run

    root = Path(__file__).resolve().parents[1]
    loaded = load_experiment(root / "experiments" / "smoke.yaml")
    post = load_posterior(write(tmp_path / "p.parquet", pd.DataFrame(
        {"mnc.trust_sensitivity": [0.1, 0.2], "mnc.attention": [0.01, 0.02], "weight": [1.0, 1.0]})))
    points, _ = design.sample(loaded.experiment.design, loaded.params, loaded.design_seed)
    tasks = list(iter_tasks(loaded, points, posterior=post))
    plain = list(iter_tasks(loaded, points))
    assert [t.seed for t in tasks] == [t.seed for t in plain]
    for t, q in zip(tasks, plain):
        k = post.draw(t.seed)
        assert t.overrides["mnc.attention"] == post.overrides(k)["mnc.attention"]
        assert t.overrides["mnc.trust_sensitivity"] == q.overrides["mnc.trust_sensitivity"]  # the design's
    assert len({t.overrides["mnc.attention"] for t in tasks}) == 2
    out = tmp_path / "b"
    run_batch(loaded, out, SerialExecutor(), run_fn=toy_run, progress=False, posterior=post)
    assert json.loads((out / "manifest.json").read_text())["posterior"]["digest"] == post.digest
    with pytest.raises(UserError, match="runs made with posterior"):
        run_batch(loaded, out, SerialExecutor(), run_fn=toy_run, progress=False)


def test_validate_with_a_posterior_says_what_its_intervals_cover(tiny_scenario_file: Path, tmp_path: Path,
                                                                   monkeypatch, capsys):
    from test_validation import run_cli

    from sim.model.run import replication_seeds

    path = write(tmp_path / "p.parquet", pd.DataFrame({"mnc.hurdle": [0.1, 0.3], "weight": [1.0, 1.0]}))
    out = tmp_path / "val"
    res = run_cli(monkeypatch, capsys, "validate", tiny_scenario_file, "-n", 3, "-w", 1, "--posterior", path,
                  "--out", out)
    assert res.returncode in (0, 1), res.stderr
    assert "cover seed noise and parameter uncertainty" in res.stdout
    man = json.loads((out / "manifest.json").read_text())
    post = load_posterior(path)
    assert man["posterior_draws"] == [post.draw(s) for s in replication_seeds(man["root_seed"], 3)]
