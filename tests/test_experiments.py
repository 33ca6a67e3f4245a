"""Experiment files, designs, seeds and analysis (issue 4), without running the model.

The batch machinery is exercised here with the stand-in run functions of
``sim.experiments.toy``; tests/test_batch.py runs the real model.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments import design as design_mod
from sim.experiments.analysis import analyze
from sim.experiments.batch import iter_tasks, read_runs, run_batch
from sim.experiments.executors import SerialExecutor
from sim.experiments.loader import known_outcomes, load_experiment
from sim.experiments.seeds import design_seed, run_seed
from sim.experiments.toy import toy_run

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ["smoke", "funding_trust_grid", "sobol_drivers"]

TINY_SCENARIO = """\
name: tiny
start: 2024-01
end: 2025-12
population: {biotechs: 20, top_mncs: 4, mid_size: 4, incubators: 1, regional: 2}
"""


def _outcomes(n: int = 2) -> list[str]:
    known = known_outcomes()
    return (known or ["deals_2024", "upfront_usd_2024"])[:n]


def write_experiment(folder: Path, body: str, name: str = "exp.yaml") -> Path:
    (folder / "tiny.yaml").write_text(TINY_SCENARIO)
    path = folder / name
    text = textwrap.dedent(body).replace("OUTCOMES", "[" + ", ".join(_outcomes()) + "]")
    path.write_text(text)
    return path


GRID = """\
name: grid
base: tiny.yaml
design: {kind: grid}
parameters:
  drivers.funding.scale: {values: [0.5, 1.0, 1.5]}
  population.biotechs: {low: 10, high: 30, levels: 2}
replications: 2
outcomes: OUTCOMES
"""


# ------------------------------------------------------------------------------- seeds


def test_run_seeds_are_the_spawned_children_of_the_root():
    root, n = 12345, 50
    children = np.random.SeedSequence(root).spawn(n)
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1)) for c in children]
    got = [run_seed(root, i) for i in range(n)]
    assert got == expected
    assert len(set(got)) == n and all(0 <= s < 2**63 for s in got)
    assert design_seed(root) < 2**32 and design_seed(root) not in got


def test_tasks_follow_the_fixed_order_and_skip_done(tmp_path):
    loaded = load_experiment(write_experiment(tmp_path, GRID))
    assert loaded.n_points == 6 and loaded.n_runs == 12
    points, _ = design_mod.sample(loaded.experiment.design, loaded.params, loaded.design_seed)
    tasks = list(iter_tasks(loaded, points))
    assert [t.key for t in tasks] == [(p, r) for p in range(6) for r in range(2)]
    assert [t.seed for t in tasks] == [run_seed(loaded.root_seed, i) for i in range(12)]
    done = np.zeros(12, bool)
    done[[0, 5]] = True
    assert [t.key for t in iter_tasks(loaded, points, done)] == [t.key for i, t in enumerate(tasks) if i not in (0, 5)]
    # the first parameter varies slowest; integer fields get integers
    assert tasks[0].overrides == {"drivers.funding.scale": 0.5, "population.biotechs": 10}
    assert tasks[2].overrides == {"drivers.funding.scale": 0.5, "population.biotechs": 30}
    assert tasks[4].overrides == {"drivers.funding.scale": 1.0, "population.biotechs": 10}


# ----------------------------------------------------------------------------- designs


@pytest.mark.parametrize("kind,extra,n_points", [
    ("lhs", "samples: 20", 20),
    ("sobol", "samples: 8", 8 * (3 + 2)),
    ("sobol", "samples: 8, second_order: true", 8 * (2 * 3 + 2)),
    ("morris", "samples: 5, levels: 4", 5 * (3 + 1)),
])
def test_sampled_designs(tmp_path, kind, extra, n_points):
    path = write_experiment(tmp_path, f"""\
        name: s
        base: tiny.yaml
        seed: 7
        design: {{kind: {kind}, {extra}}}
        parameters:
          drivers.funding.scale: {{low: 0.5, high: 1.5}}
          mnc.trust_sensitivity: {{low: 0.2, high: 0.9}}
          population.biotechs: {{low: 10, high: 40}}
        outcomes: OUTCOMES
        """)
    loaded = load_experiment(path)
    assert loaded.n_points == n_points
    points, raw = design_mod.sample(loaded.experiment.design, loaded.params, loaded.design_seed)
    assert len(points) == n_points and raw.shape == (n_points, 3)
    assert points["point"].tolist() == list(range(n_points))
    assert points["drivers.funding.scale"].between(0.5, 1.5).all()
    assert points["population.biotechs"].dtype == np.int64 and points["population.biotechs"].between(10, 40).all()
    again, raw2 = design_mod.sample(loaded.experiment.design, loaded.params, loaded.design_seed)
    pd.testing.assert_frame_equal(points, again)
    np.testing.assert_array_equal(raw, raw2)


def test_word_valued_grid(tmp_path):
    path = write_experiment(tmp_path, """\
        name: words
        base: tiny.yaml
        design: {kind: grid}
        parameters:
          incubator.max_stage: {values: [preclinical, phase1]}
          biotech.financing_rate: {values: [0.05, 0.1]}
        outcomes: OUTCOMES
        """)
    loaded = load_experiment(path)
    assert loaded.n_points == 4
    assert [p.kind for p in loaded.params] == ["str", "float"]


# ------------------------------------------------------------------- shipped experiments


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_experiments_validate(name):
    loaded = load_experiment(ROOT / "experiments" / f"{name}.yaml")
    assert loaded.n_runs >= 1
    assert set(loaded.outcomes) <= set(known_outcomes() or loaded.outcomes)


def test_smoke_is_small():
    loaded = load_experiment(ROOT / "experiments" / "smoke.yaml")
    assert loaded.experiment.design.kind == "grid" and loaded.n_points == 4 and loaded.replications == 3
    assert loaded.scenario.population.biotechs <= 40


# ------------------------------------------------------------------------------ errors

BAD = [
    # (what is wrong, file body, expected message pattern)
    ("unknown field", GRID.replace("replications: 2", "replicatons: 2"),
     r"exp\.yaml:7:1: replicatons: unknown field; did you mean replications\?"),
    ("unknown design", GRID.replace("kind: grid", "kind: factorial"), r"exp\.yaml:3:\d+: design\.kind: .*grid"),
    ("unknown parameter", GRID.replace("drivers.funding.scale:", "drivers.fundng.scale:"),
     r"exp\.yaml:5:3: parameters\.drivers\.fundng\.scale: not a scenario parameter; did you mean "
     r"drivers\.funding\.scale\?"),
    ("a group, not a value", GRID.replace("drivers.funding.scale:", "drivers.funding:"),
     r"exp\.yaml:5:3: parameters\.drivers\.funding: is a group"),
    ("value out of range", GRID.replace("[0.5, 1.0, 1.5]", "[0.5, 1.0, 500]"),
     r"exp\.yaml:5:\d+: parameters\.drivers\.funding\.scale\.values\.2: .*500"),
    ("low above high", GRID.replace("low: 10, high: 30", "low: 30, high: 10"),
     r"exp\.yaml:6:3: parameters\.population\.biotechs: low \(30\) must be below high \(10\)"),
    ("levels without range", GRID.replace("{low: 10, high: 30, levels: 2}", "{levels: 2}"),
     r"population\.biotechs: needs values, or low, high and levels"),
    ("sobol not a power of two", GRID.replace("design: {kind: grid}", "design: {kind: sobol, samples: 12}")
     .replace("{values: [0.5, 1.0, 1.5]}", "{low: 0.5, high: 1.5}").replace(", levels: 2", ""),
     r"exp\.yaml:3:\d+: design\.samples: 12 is not a power of two.*8 or 16"),
    ("values in a sampled design", GRID.replace("design: {kind: grid}", "design: {kind: lhs, samples: 10}"),
     r"parameters\.drivers\.funding\.scale\.values: a lhs design samples between low and high"),
    ("sampled design without samples", GRID.replace("design: {kind: grid}", "design: {kind: lhs}")
     .replace("{values: [0.5, 1.0, 1.5]}", "{low: 0.5, high: 1.5}").replace(", levels: 2", ""),
     r"design: a lhs design needs samples"),
    ("no such base", GRID.replace("base: tiny.yaml", "base: nowhere.yaml"), r"exp\.yaml:2:1: base: no scenario"),
    ("bad override", GRID.replace("replications: 2", "replications: 2\noverrides: {mnc.trust_sensitivty: 0.5}"),
     r"exp\.yaml:8:1: overrides: .*trust_sensitivty.*did you mean trust_sensitivity"),
    ("duplicate key", GRID + "replications: 3\n", r"exp\.yaml:9:1: replications: duplicate key"),
    ("negative replications", GRID.replace("replications: 2", "replications: -1"),
     r"exp\.yaml:7:\d+: replications: -1 is out of range; allowed 1 to "),
    ("invalid YAML", GRID.replace("design: {kind: grid}", "design: {kind: grid"), r"exp\.yaml:\d+:\d+: invalid YAML"),
    ("not a mapping", "- a\n- b\n", r"exp\.yaml:1:1: the top level must be a mapping"),
    ("seed is not a parameter", GRID.replace("drivers.funding.scale:", "seed:"),
     r"parameters\.seed: 'seed' cannot be varied"),
    ("outcome listed twice", GRID.replace("outcomes: OUTCOMES", "outcomes: [deals_2024, deals_2024]"),
     r"outcomes\.1: deals_2024 is listed twice"),
]


@pytest.mark.parametrize("what,body,pattern", BAD, ids=[b[0] for b in BAD])
def test_bad_experiment_files_give_one_line_errors(tmp_path, what, body, pattern):
    path = write_experiment(tmp_path, body)
    with pytest.raises(UserError) as info:
        load_experiment(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert re.search(pattern, msg), msg


def test_unknown_outcome_is_named(tmp_path):
    if known_outcomes() is None:
        pytest.skip("sim.analysis.metrics.OUTCOMES does not exist yet")
    path = write_experiment(tmp_path, GRID.replace("outcomes: OUTCOMES", f"outcomes: [{_outcomes(1)[0]}x]"))
    with pytest.raises(UserError, match=r"exp\.yaml:8:\d+: outcomes\.0: unknown outcome .*did you mean"):
        load_experiment(path)


def test_missing_file():
    with pytest.raises(UserError, match=r"nowhere\.yaml: experiment file not found"):
        load_experiment("nowhere.yaml")


def test_cli_bad_experiment_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    from sim.interfaces import cli

    path = write_experiment(tmp_path, GRID.replace("replications: 2", "replicatons: 2"))
    monkeypatch.setattr(sys, "argv", ["licsim", "batch", str(path), "--out", str(tmp_path / "out")])
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "replicatons: unknown field" in err[0]
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- analysis


def _toy_batch(tmp_path: Path, body: str) -> Path:
    loaded = load_experiment(write_experiment(tmp_path, body))
    out = tmp_path / "out"
    res = run_batch(loaded, out, SerialExecutor(), run_fn=toy_run, progress=False)
    assert res.complete
    return out


def test_analyze_grid_writes_tables_and_charts(tmp_path):
    out = _toy_batch(tmp_path, GRID)
    res = analyze(out)
    names = {p.name for p in res.files}
    outcomes = _outcomes()
    assert {"points.csv", *(f"{o}.png" for o in outcomes)} <= names
    pts = pd.read_csv(out / "analysis" / "points.csv")
    assert len(pts) == 6 * len(outcomes)
    runs = read_runs(out)
    o = outcomes[0]
    row = pts[(pts.point == 2) & (pts.outcome == o)].iloc[0]
    vals = runs.loc[runs.point == 2, o]
    assert row["runs"] == 2 and row["mean"] == pytest.approx(vals.mean())
    assert row["p05"] == pytest.approx(vals.quantile(0.05)) and row["p95"] == pytest.approx(vals.quantile(0.95))


@pytest.mark.parametrize("kind,extra,columns", [
    ("sobol", "samples: 64", ["S1", "S1_conf", "ST", "ST_conf"]),
    ("morris", "samples: 10, levels: 4", ["mu", "mu_star", "mu_star_conf", "sigma"]),
])
def test_analyze_sensitivity(tmp_path, kind, extra, columns):
    out = _toy_batch(tmp_path, f"""\
        name: sens
        base: tiny.yaml
        design: {{kind: {kind}, {extra}}}
        parameters:
          drivers.funding.scale: {{low: 0.5, high: 1.5}}
          mnc.trust_sensitivity: {{low: 0.0, high: 0.2}}
        outcomes: OUTCOMES
        """)
    res = analyze(out)
    table = pd.read_csv(out / "analysis" / f"{kind}.csv")
    assert list(table.columns) == ["outcome", "parameter", *columns]
    assert len(table) == 2 * len(_outcomes())
    # the toy outcome is linear in the parameters: the wider range matters more
    first = table[table.outcome == _outcomes()[0]].set_index("parameter")
    key = "ST" if kind == "sobol" else "mu_star"
    assert first.loc["drivers.funding.scale", key] > first.loc["mnc.trust_sensitivity", key]
    assert (out / "analysis" / f"sensitivity_{_outcomes()[0]}.png").exists()
    assert res.sensitivity is not None


def test_analyze_refuses_a_non_batch_folder(tmp_path):
    with pytest.raises(UserError, match="not a batch folder"):
        analyze(tmp_path)
