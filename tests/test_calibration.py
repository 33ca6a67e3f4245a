"""Calibration: the loss, experiment files, and a smoke run on a tiny population that resumes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.analysis.calibration import LossSpec, load_experiment, loss_of, run_calibration
from sim.analysis.validation import Scorecard, evaluate, load_targets, map_replications, prepare_runs
from sim.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def card(rows: list[dict]) -> Scorecard:
    base = {"weight": 1.0, "gate": True, "centrality": 0.0}
    return Scorecard(pd.DataFrame([{**base, **r} for r in rows]), pd.DataFrame(), 2)


def test_loss_arithmetic():
    c = card([{"id": "a", "distance": 0.0, "passed": True, "centrality": 0.5},
              {"id": "b", "distance": 2.0, "passed": False},
              {"id": "c", "distance": 1.0, "passed": False, "weight": 3.0},
              {"id": "info", "distance": 5.0, "passed": False, "gate": False}])
    loss, terms = loss_of(c, LossSpec(fail_penalty=1.0, inside_weight=0.1))
    assert terms == pytest.approx({"a": 0.1 * 0.25, "b": 4 + 1, "c": 3 * (1 + 1)})
    assert loss == pytest.approx(0.025 + 5 + 6)
    loss2, terms2 = loss_of(c, LossSpec(info_weight=0.5))
    assert terms2["info"] == pytest.approx(0.5 * (25 + 1))


def test_loss_is_zero_only_when_every_target_sits_on_its_observed_value():
    c = card([{"id": "a", "distance": 0.0, "passed": True}, {"id": "b", "distance": 0.0, "passed": True}])
    assert loss_of(c, LossSpec())[0] == 0


@pytest.mark.parametrize("file", ["calibration.yaml"])
def test_shipped_experiment_names_real_parameters(file):
    from sim.scenarios.loader import apply_overrides, load_scenario

    exp = load_experiment(ROOT / "experiments" / file)
    assert exp.scenario_path.resolve() == (ROOT / "scenarios" / "baseline.yaml").resolve()
    assert exp.targets_path.resolve() == (ROOT / "experiments" / "targets.yaml").resolve()
    base = load_scenario(exp.scenario_path)
    for name, rng in exp.spec.parameters.items():
        for v in (rng.low, rng.high):
            sc = apply_overrides(base, {name: v})
            node = sc
            for seg in name.split("."):
                node = node[seg] if isinstance(node, dict) else getattr(node, seg)
            assert node == pytest.approx(v)
    assert not any(name.startswith("drivers.") for name in exp.spec.parameters)  # drivers are data


@pytest.mark.parametrize("text, message", [
    ("name: x\nscenario: s.yaml\nparameters: {mnc.hurdle: {low: 0.5, high: 0.1}}\n", "must be below high"),
    ("name: x\nscenario: s.yaml\nparameters: {mnc.hurdle: {low: 0.1, high: 0.5}}\nreplicas: 3\n",
     ":4:1: replicas: unknown field"),
    ("name: x\nscenario: s.yaml\nparameters: {}\n", "at least one free parameter"),
    ("name: x\nscenario: s.yaml\nparameters: {mnc.hurdle: {low: 0, high: 0.5, log: true}}\n", "low > 0"),
])
def test_bad_experiment_files(tmp_path: Path, text: str, message: str):
    path = tmp_path / "e.yaml"
    path.write_text(text)
    with pytest.raises(UserError) as exc:
        load_experiment(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


TINY = """\
name: tinycal
extends: baseline
end: 2024-12
population: {biotechs: 40, top_mncs: 4, mid_size: 8, incubators: 2, regional: 3}
"""

EXPERIMENT = """\
name: smoke
scenario: tiny.yaml
targets: {targets}
replications: 2
seed: 11
trials: 2
startup_trials: 2
simulate_until: 2024-06
parameters:
  mnc.hurdle: {{low: 0.05, high: 0.7}}
  biotech.round_size_usd: {{low: 6.0e+6, high: 30.0e+6, log: true}}
  population.top_mncs: {{low: 3, high: 6, type: int}}
"""


@pytest.fixture
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "tiny.yaml").write_text(TINY)
    path = tmp_path / "exp.yaml"
    path.write_text(EXPERIMENT.format(targets=ROOT / "experiments" / "targets.yaml"))
    return path


def test_calibration_smoke_run_writes_outputs_reproduces_and_resumes(experiment: Path, tmp_path: Path):
    from rich.console import Console

    out = tmp_path / "cal"
    quiet = Console(file=open("/dev/null", "w"), width=200)
    res = run_calibration(experiment, out=out, workers=1, console=quiet)
    for f in ("optuna.db", "loss_history.csv", "best_params.yaml", "scorecard.csv", "posterior.parquet",
              "identifiability.csv", "posterior.png"):
        assert (out / f).is_file(), f
    post = pd.read_parquet(out / "posterior.parquet")  # min_sets (10) > 2 trials: both are kept
    assert set(post.columns) == {"mnc.hurdle", "biotech.round_size_usd", "population.top_mncs", "weight", "trial",
                                 "loss"} and sorted(post["trial"]) == [0, 1]
    hist = pd.read_csv(out / "loss_history.csv")
    assert list(hist["trial"]) == [0, 1] and (hist["state"] == "COMPLETE").all()
    assert hist["best_so_far"].is_monotonic_decreasing
    from sim.scenarios.loader import load_scenario

    written = load_scenario(tmp_path / "tiny.yaml")
    assert hist.loc[0, "mnc.hurdle"] == pytest.approx(written.mnc.hurdle)  # the scenario as written is trial 0
    best = yaml.safe_load((out / "best_params.yaml").read_text())
    assert best["loss"] == pytest.approx(hist["loss"].min())
    assert set(best["overrides"]) == {"mnc.hurdle", "biotech.round_size_usd", "population.top_mncs"}
    assert best["scenario_patch"]["population"]["top_mncs"] == best["overrides"]["population.top_mncs"]
    card = pd.read_csv(out / "scorecard.csv")
    assert {"id", "sim_mean", "passed"} <= set(card.columns) and len(card) == len(load_targets().targets)

    # the written parameters reproduce the recorded loss exactly (common random numbers)
    from sim.analysis.calibration import LossSpec
    from sim.scenarios.loader import apply_overrides, load_scenario

    sc = apply_overrides(load_scenario(tmp_path / "tiny.yaml"), {**best["overrides"], "end": "2024-06"})
    outs = map_replications(sc, best["seeds"], workers=1)
    again = evaluate(load_targets(), prepare_runs(outs, load_targets().universe))
    assert loss_of(again, LossSpec())[0] == pytest.approx(best["loss"])

    # resume: one more trial; the first two are kept as they were
    res2 = run_calibration(experiment, out=out, workers=1, trials=3, console=quiet)
    hist2 = pd.read_csv(out / "loss_history.csv")
    assert list(hist2["trial"]) == [0, 1, 2]
    pd.testing.assert_series_equal(hist2["loss"].iloc[:2], hist["loss"])
    assert res2.best_loss <= res.best_loss

    # a changed experiment is refused rather than mixed into the same study
    experiment.write_text(experiment.read_text().replace("high: 0.7", "high: 0.75"))
    with pytest.raises(UserError, match="different experiment .*parameters"):
        run_calibration(experiment, out=out, workers=1, console=quiet)


def test_cmaes_searches_around_the_scenario_and_resumes_where_it_stopped(experiment: Path, tmp_path: Path):
    """method: optuna-cmaes is a local search from the scenario's own values: the first generation
    lies within a few sigma0 of them (a share of each range, in log space for a log range)."""
    from rich.console import Console

    text = experiment.read_text().replace("trials: 2", "trials: 7") + "method: optuna-cmaes\nsigma0: 0.05\n"
    experiment.write_text(text)
    quiet = Console(file=open("/dev/null", "w"), width=200)
    out = tmp_path / "cma"
    run_calibration(experiment, out=out, workers=1, console=quiet)
    hist = pd.read_csv(out / "loss_history.csv")
    assert list(hist["trial"]) == list(range(7)) and (hist["state"] == "COMPLETE").all()
    start = hist.iloc[0]
    from sim.scenarios.loader import load_scenario

    assert start["mnc.hurdle"] == pytest.approx(load_scenario(tmp_path / "tiny.yaml").mnc.hurdle)
    later = hist.iloc[1:]
    assert (later["mnc.hurdle"] - start["mnc.hurdle"]).abs().max() <= 5 * 0.05 * (0.7 - 0.05)
    log_step = np.log(later["biotech.round_size_usd"] / start["biotech.round_size_usd"]).abs().max()
    assert log_step <= 5 * 0.05 * np.log(30.0 / 6.0)
    assert later["mnc.hurdle"].nunique() > 1  # it does move
    # resumed, it goes on with new candidates and keeps the trials done
    run_calibration(experiment, out=out, workers=1, trials=9, console=quiet)
    hist2 = pd.read_csv(out / "loss_history.csv")
    assert list(hist2["trial"]) == list(range(9))
    pd.testing.assert_series_equal(hist2["loss"].iloc[:7], hist["loss"])
    import optuna

    study = optuna.load_study(study_name=None, storage=f"sqlite:///{out / 'optuna.db'}")
    generations = [max((v for k, v in t.system_attrs.items() if k.endswith("generation")), default=None)
                   for t in study.get_trials(deepcopy=False)]
    assert generations[-1] is not None and generations[-1] >= max(g for g in generations[:7] if g is not None)
    assert generations[-1] > 0  # the resumed run went on with the optimiser it had, not from x0 again
    # the same study cannot be continued with the other method
    experiment.write_text(text.replace("method: optuna-cmaes", "method: optuna-tpe"))
    with pytest.raises(UserError, match="different experiment .*method"):
        run_calibration(experiment, out=out, workers=1, console=quiet)


def test_calibrate_cli(experiment: Path, tmp_path: Path, monkeypatch, capsys):
    from test_validation import run_cli

    out = tmp_path / "cli"
    res = run_cli(monkeypatch, capsys, "calibrate", experiment, "--out", out, "--trials", 2, "--workers", 1,
                  "--confirm", 1)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "trial    1" in res.stdout and "best" in res.stdout
    assert (out / "scorecard_confirm.csv").is_file()
    bad = run_cli(monkeypatch, capsys, "calibrate", tmp_path / "nope.yaml")
    assert bad.returncode == 2 and "experiment file not found" in bad.stderr


def test_calibrate_cli_replaces_method_and_replications_for_a_run(experiment: Path, tmp_path: Path, monkeypatch,
                                                                 capsys):
    from test_validation import run_cli

    out = tmp_path / "cli"
    res = run_cli(monkeypatch, capsys, "calibrate", experiment, "--out", out, "--trials", 2, "--workers", 1,
                  "--method", "optuna-cmaes", "--sigma0", 0.05, "--replications", 1, "--confirm", 0)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "optuna-cmaes (sigma0 0.05)" in res.stdout
    best = yaml.safe_load((out / "best_params.yaml").read_text())
    assert (best["method"], best["sigma0"], best["replications"], len(best["seeds"])) == ("optuna-cmaes", 0.05, 1, 1)
    for args, message in ((("--method", "grid"), "--method grid: "), (("--sigma0", 2), "--sigma0 2.0: "),
                          (("--replications", 0), "--replications 0: "),
                          (("--sigma0", 0.1), "--sigma0 0.1: applies to method optuna-cmaes only")):
        bad = run_cli(monkeypatch, capsys, "calibrate", experiment, "--out", tmp_path / "bad", *args)
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
        assert not (tmp_path / "bad").exists()


def test_select_top_keeps_the_candidate_that_passes_most_on_held_out_replications(experiment: Path, tmp_path: Path):
    from rich.console import Console

    experiment.write_text(experiment.read_text().replace("\ntrials: 2\n", "\ntrials: 3\nselect_top: 3\nconfirm_replications: 2\n"))
    out = tmp_path / "sel"
    quiet = Console(file=open("/dev/null", "w"), width=200)
    res = run_calibration(experiment, out=out, workers=1, console=quiet)
    sel = pd.read_csv(out / "selection.csv")
    assert len(sel) == 3 and set(sel["trial"]) == {0, 1, 2}
    best_passed = sel["held_out_passed"].max()
    winners = sel[sel["held_out_passed"] == best_passed]
    # Ties on held-out passes go to the lowest loss over fit and held-out replications together.
    reps = yaml.safe_load(experiment.read_text())["replications"]
    pooled = (sel["fit_loss"] * reps + sel["held_out_loss"] * 2) / (reps + 2)
    assert np.allclose(sel["pooled_loss"], pooled)
    chosen = winners.sort_values(["pooled_loss", "trial"]).iloc[0]
    written = yaml.safe_load((out / "best_params.yaml").read_text())
    assert written["trial"] == int(chosen["trial"]) == res.best_trial
    assert "held-out validation" in (out / "best_params.yaml").read_text()
    confirm = pd.read_csv(out / "scorecard_confirm.csv")
    assert int(confirm.loc[confirm["gate"], "passed"].sum()) == best_passed


def test_selection_seeds_are_disjoint_from_validates_and_the_fits():
    from sim.analysis.calibration import selection_seed
    from sim.model.run import replication_seeds

    fit, scenario = 20240601, 20180101
    sel = selection_seed(fit, scenario)
    assert sel not in (fit, scenario)
    assert selection_seed(scenario - 1, scenario) != scenario  # never validate's root
    chosen = set(replication_seeds(sel, 20))
    assert chosen.isdisjoint(replication_seeds(scenario, 60)) and chosen.isdisjoint(replication_seeds(fit, 20))


def test_the_fitted_parameters_are_the_calibrations_free_ones_and_licsim_params_marks_them():
    """Issue 17: at most 15 free parameters, each with a one-line justified range; `licsim params`
    shows which are fitted (its source column reads "fitted" for exactly those)."""
    from sim.scenarios.schema import parameter_table

    exp = load_experiment(ROOT / "experiments" / "calibration.yaml")
    fitted = {r["path"] for r in parameter_table() if r["source"] == "fitted"}
    assert fitted == set(exp.spec.parameters) and len(fitted) <= 15
    assert all(len(rng.note) > 20 for rng in exp.spec.parameters.values())


def test_candidates_give_the_same_trials_in_this_process_and_on_dask(experiment: Path, tmp_path: Path):
    """Issue 17: calibrate runs candidates on batch's executors (--cluster local, --scheduler) and the
    result does not depend on the executor or the number of workers: every trial, loss, held-out
    selection and the ensemble are the same, here with two candidates asked at a time."""
    from rich.console import Console

    experiment.write_text(experiment.read_text() + "batch: 2\nselect_top: 2\nconfirm_replications: 1\n")
    quiet = Console(file=open("/dev/null", "w"), width=200)
    here = run_calibration(experiment, out=tmp_path / "here", workers=1, console=quiet)
    dask = run_calibration(experiment, out=tmp_path / "dask", workers=2, cluster="local", console=quiet)
    timing = ["duration_s", "finished"]
    a, b = (pd.read_csv(tmp_path / d / "loss_history.csv").drop(columns=timing) for d in ("here", "dask"))
    assert list(a["trial"]) == [0, 1] and a["loss"].nunique() == 2
    pd.testing.assert_frame_equal(a, b)
    for name in ("selection.csv", "scorecard.csv", "scorecard_confirm.csv", "identifiability.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "here" / "posterior.parquet"),
                                  pd.read_parquet(tmp_path / "dask" / "posterior.parquet"))
    assert (here.best_trial, here.best_params) == (dask.best_trial, dask.best_params)


def test_calibrate_executor_options_are_batchs_and_bad_ones_write_nothing(experiment: Path, tmp_path: Path,
                                                                          monkeypatch, capsys):
    from test_validation import run_cli

    for args, message in ((("--cluster", "remote"), "--cluster 'remote': only 'local'"),
                          (("--cluster", "local", "--scheduler", "tcp://127.0.0.1:1"), "give --scheduler or --cluster"),
                          (("--scheduler", "not an address"), "--scheduler 'not an address': not a scheduler")):
        for command in ("calibrate", "batch"):
            target = experiment if command == "calibrate" else ROOT / "experiments" / "smoke.yaml"
            bad = run_cli(monkeypatch, capsys, command, target, "--out", tmp_path / "bad", *args)
            assert bad.returncode == 2 and message in bad.stderr, (command, bad.stderr)
            assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()
