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

ROOT = Path(__file__).resolve().parents[1]


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
    # a column that is no parameter: one line naming it, nothing written
    bad = write(tmp_path / "bad.parquet", pd.DataFrame({"mnc.hurdel": [0.1], "weight": [1.0]}))
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "--posterior", bad, "--out", tmp_path / "r3")
    assert res.returncode == 2 and "bad.parquet: column mnc.hurdel is not a scenario parameter; did you mean " \
        "mnc.hurdle?" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "r3").exists()
    # a value the scenario does not allow: the row that holds it
    bad = write(tmp_path / "bad2.parquet", pd.DataFrame({"mnc.hurdle": [-5.0], "weight": [1.0]}))
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "--posterior", bad, "--out", tmp_path / "r3")
    assert res.returncode == 2 and "bad2.parquet: row 0:" in res.stderr and "mnc.hurdle" in res.stderr
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


# ------------------------------------------------------- a scenario that names its ensemble


@pytest.fixture
def ensemble_files(tiny_scenario_file: Path, tmp_path: Path) -> dict[str, Path]:
    """p.parquet beside tiny.yaml; sub/child.yaml names it relative to itself; deeper/grand.yaml
    inherits it; deeper/plain.yaml drops it."""
    p = write(tmp_path / "p.parquet", pd.DataFrame({"mnc.hurdle": [0.05, 0.5, 0.25],
                                                    "population.biotechs": [30, 90, 60], "weight": [1.0, 1.0, 1.0]}))
    (tmp_path / "sub").mkdir()
    child = tmp_path / "sub" / "child.yaml"
    child.write_text("name: child\nextends: ../tiny.yaml\nparameters: ../p.parquet\n")
    (tmp_path / "deeper").mkdir()
    grand = tmp_path / "deeper" / "grand.yaml"
    grand.write_text("name: grand\nextends: ../sub/child.yaml\n")
    plain = tmp_path / "deeper" / "plain.yaml"
    plain.write_text("name: plain\nextends: ../sub/child.yaml\nparameters: null\n")
    other = write(tmp_path / "other.parquet", pd.DataFrame({"mnc.hurdle": [0.6], "weight": [1.0]}))
    return {"parquet": p, "child": child, "grand": grand, "plain": plain, "other": other}


def test_parameters_resolve_against_the_file_that_sets_them_and_inherit(ensemble_files, monkeypatch):
    from sim.analysis.posterior import ensemble
    from sim.scenarios.loader import load_scenario

    monkeypatch.chdir(ensemble_files["plain"].parent)  # not the folder of any file that names the ensemble
    p = ensemble_files["parquet"].resolve()
    assert Path(load_scenario(ensemble_files["child"]).parameters).resolve() == p
    grand = load_scenario(ensemble_files["grand"])
    assert Path(grand.parameters).resolve() == p
    assert load_scenario(ensemble_files["plain"]).parameters is None
    # the scenario's ensemble, unless --posterior names another
    post = ensemble(grand)
    assert post.path.resolve() == p and post.source == "scenario parameters:" and len(post) == 3
    assert ensemble(grand, ensemble_files["other"]).digest == load_posterior(ensemble_files["other"]).digest
    assert ensemble(load_scenario(ensemble_files["plain"])) is None


def test_run_with_the_scenarios_ensemble_gives_the_bytes_of_the_flag(ensemble_files, tiny_scenario_file: Path,
                                                                     tmp_path: Path, monkeypatch, capsys):
    from test_validation import run_cli

    flag, field, over = tmp_path / "flag", tmp_path / "field", tmp_path / "over"
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "-n", 3, "-w", 1, "--posterior",
                  ensemble_files["parquet"], "--out", flag)
    assert res.returncode == 0, res.stderr
    res = run_cli(monkeypatch, capsys, "run", ensemble_files["grand"], "-n", 3, "-w", 1, "--out", field)
    assert res.returncode == 0, res.stderr
    for name in ("deals.parquet", "monthly.parquet", "yearly.csv"):
        assert (flag / name).read_bytes() == (field / name).read_bytes(), name
    a, b = (json.loads((d / "manifest.json").read_text()) for d in (flag, field))
    assert len(set(b["posterior_draws"])) > 1 and b["posterior_draws"] == a["posterior_draws"]
    assert b["posterior"]["digest"] == a["posterior"]["digest"] and b["posterior"]["source"] == "scenario parameters:"
    assert Path(b["scenario"]["parameters"]).resolve() == ensemble_files["parquet"].resolve()
    assert "parameters" not in a["scenario"]  # a scenario without one dumps as before
    # --posterior overrides the scenario's: one set, mnc.hurdle 0.6, in every replication
    res = run_cli(monkeypatch, capsys, "run", ensemble_files["grand"], "-n", 2, "-w", 1, "--posterior",
                  ensemble_files["other"], "--out", over)
    assert res.returncode == 0, res.stderr
    c = json.loads((over / "manifest.json").read_text())
    assert c["posterior"]["source"] == "--posterior" and c["posterior_draws"] == [0, 0]
    assert c["posterior"]["digest"] == load_posterior(ensemble_files["other"]).digest


def test_validate_and_batch_draw_from_the_scenarios_ensemble(ensemble_files, tiny_scenario_file: Path,
                                                             tmp_path: Path, monkeypatch, capsys):
    from test_validation import run_cli

    runs = {}
    for tag, args in (("flag", (tiny_scenario_file, "--posterior", ensemble_files["parquet"])),
                      ("field", (ensemble_files["child"],))):
        res = run_cli(monkeypatch, capsys, "validate", *args, "-n", 3, "-w", 1, "--out", tmp_path / f"v_{tag}")
        assert res.returncode in (0, 1), res.stderr
        assert "cover seed noise and parameter uncertainty" in res.stdout
        runs[tag] = json.loads((tmp_path / f"v_{tag}" / "manifest.json").read_text())
        assert (tmp_path / f"v_{tag}" / "replications.csv").is_file()
    assert runs["field"]["posterior_draws"] == runs["flag"]["posterior_draws"]
    assert (tmp_path / "v_flag" / "replications.csv").read_bytes() == \
        (tmp_path / "v_field" / "replications.csv").read_bytes()

    exp = tmp_path / "sub" / "exp.yaml"  # a batch whose base scenario names the ensemble
    exp.write_text("name: ens\nbase: child.yaml\ndesign: {kind: grid}\nparameters:\n"
                   "  drivers.funding.scale: {values: [0.8, 1.2]}\nreplications: 3\noutcomes: [deals_2022]\n")
    res = run_cli(monkeypatch, capsys, "batch", exp, "-w", 1, "--no-progress", "--run-fn",
                  "sim.experiments.toy:toy_run", "--out", tmp_path / "b")
    assert res.returncode == 0, res.stderr
    man = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert man["posterior"]["digest"] == load_posterior(ensemble_files["parquet"]).digest
    assert man["posterior"]["source"] == "scenario parameters:"
    # resumed with --posterior naming another ensemble: refused, the runs do not mix
    res = run_cli(monkeypatch, capsys, "batch", exp, "-w", 1, "--no-progress", "--run-fn",
                  "sim.experiments.toy:toy_run", "--out", tmp_path / "b", "--posterior", ensemble_files["other"])
    assert res.returncode == 2 and "holds runs made with posterior" in res.stderr


def test_compare_needs_one_ensemble_for_both_sides(ensemble_files, tiny_scenario_file: Path):
    from sim.analysis.posterior import ensemble_of_pair
    from sim.scenarios.loader import load_scenario

    tiny, child, grand, plain = (load_scenario(f) for f in (tiny_scenario_file, ensemble_files["child"],
                                                            ensemble_files["grand"], ensemble_files["plain"]))
    assert ensemble_of_pair(tiny, plain) is None
    assert ensemble_of_pair(child, grand).digest == load_posterior(ensemble_files["parquet"]).digest
    for a, b in ((tiny, child), (child, plain)):
        with pytest.raises(UserError, match="refer to different parameter ensembles") as exc:
            ensemble_of_pair(a, b)
        assert "--posterior FILE" in str(exc.value)
        assert ensemble_of_pair(a, b, ensemble_files["other"]).source == "--posterior"  # the flag settles it


def test_one_model_runs_the_scenarios_own_values_and_the_dashboard_says_so(ensemble_files):
    from sim.interfaces.dashboard.data import DashboardModel
    from sim.model.run import simulate
    from sim.scenarios.loader import load_scenario

    short = {"end": "2021-09"}
    one = simulate(load_scenario(ensemble_files["child"]).model_copy(update=short), seed=5).deals
    own = simulate(load_scenario(ensemble_files["plain"]).model_copy(update=short), seed=5).deals
    assert len(one) > 0
    pd.testing.assert_frame_equal(one, own)
    m = DashboardModel(scenario=str(ensemble_files["child"]))
    assert "refers to a parameter ensemble (p.parquet)" in m.notice and "own values" in m.notice
    assert DashboardModel(scenario=str(ensemble_files["plain"])).notice == ""


def test_calibrate_refuses_a_scenario_that_names_an_ensemble(ensemble_files, tmp_path: Path):
    from sim.analysis.calibration import run_calibration

    exp = tmp_path / "sub" / "cal.yaml"
    exp.write_text(f"name: c\nscenario: child.yaml\ntargets: {ROOT / 'experiments' / 'targets.yaml'}\n"
                   "parameters: {mnc.hurdle: {low: 0.1, high: 0.5}}\n")
    with pytest.raises(UserError, match=r"cal.yaml:2:\d+: scenario: .*refers to a parameter ensemble"):
        run_calibration(exp, out=tmp_path / "cal", workers=1)
    assert not (tmp_path / "cal").exists()


def test_the_shipped_ensemble_scenario_is_the_baseline_drawing_from_the_calibrations_ensemble():
    from sim.scenarios.loader import load_scenario

    base, ens = load_scenario("baseline"), load_scenario("baseline_ensemble")
    record = ROOT / "experiments" / "calibration_record" / "model2" / "stageD" / "posterior.parquet"
    assert Path(ens.parameters).resolve() == record.resolve() and base.parameters is None
    assert ens.model_dump(exclude={"name", "description", "extends", "parameters"}) == \
        base.model_dump(exclude={"name", "description", "extends"})
    post = load_posterior(ens.parameters)  # every column a parameter the calibration frees
    from sim.analysis.calibration import load_experiment

    assert set(post.params) <= set(load_experiment(ROOT / "experiments" / "calibration.yaml").spec.parameters)
