"""`licsim batch` end to end with the real model (experiments/smoke.yaml, issue 4).

Same results with 1 and 2 workers and through a real Dask scheduler and workers; a batch
killed with SIGKILL resumes to the same results; a run that raises is recorded as failed
and the others complete. Results are compared as tables sorted by (point, replication)
and as the bytes of the compacted Parquet files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.errors import UserError
from sim.experiments.batch import read_runs, run_batch
from sim.experiments.executors import ProcessExecutor, SerialExecutor
from sim.experiments.loader import load_experiment
from sim.experiments.store import RunStore
from sim.experiments.toy import model_failing, toy_run, toy_run_crash
from sim.experiments.seeds import run_seed

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "experiments" / "smoke.yaml"
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
CLI = [sys.executable, "-m", "sim.interfaces.cli"]


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every Parquet file under ``folder``, by relative path."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.parquet"))}


def assert_same_results(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(read_runs(a), read_runs(b))
    assert digest(a / "runs") == digest(b / "runs")
    if (a / "deals").exists() or (b / "deals").exists():
        assert digest(a / "deals") == digest(b / "deals")


@pytest.fixture(scope="module")
def smoke():
    return load_experiment(SMOKE)


@pytest.fixture(scope="module")
def serial_dir(tmp_path_factory, smoke):
    """The reference: the smoke experiment run in this process, one run after another."""
    out = tmp_path_factory.mktemp("serial") / "smoke"
    res = run_batch(smoke, out, SerialExecutor(), progress=False)
    assert res.complete and res.failed == 0 and res.ran == smoke.n_runs
    return out


def test_results_table_layout(serial_dir, smoke):
    runs = read_runs(serial_dir)
    params = [p.path for p in smoke.params]
    assert list(runs.columns) == ["point", "replication", "seed", "status", "error", *params, *smoke.outcomes,
                                  "deals_sha256"]  # the kept deal file's checksum, verified on resume
    assert len(runs) == smoke.n_runs == 12
    assert runs[["point", "replication"]].drop_duplicates().shape[0] == 12
    assert (runs["status"] == "ok").all() and runs["error"].isna().all()
    assert runs["seed"].tolist() == [run_seed(smoke.root_seed, i) for i in range(12)]
    assert runs[["deals_2024", "upfront_usd_2024", "biotech_survival"]].notna().all().all()  # shares: NaN w/o deals
    assert (runs["deals_2024"] > 0).any()
    # the run files are one sorted file, readable by pandas straight from the folder
    assert [p.name for p in (serial_dir / "runs").iterdir()] == ["part-00000.parquet"]
    raw = pd.read_parquet(serial_dir / "runs")
    assert raw[["point", "replication"]].values.tolist() == [[p, r] for p in range(4) for r in range(3)]
    # deal ledgers, partitioned by point
    deals = pd.read_parquet(serial_dir / "deals")
    per_run = deals.groupby([deals["point"].astype(int), "replication"]).size()
    china = deals[deals["china_origin"] & (deals["year"] == 2024)].groupby(
        [deals["point"].astype(int), "replication"]).size()
    ok = runs.set_index(["point", "replication"])["deals_2024"]
    assert (china.reindex(ok.index, fill_value=0) == ok).all()
    assert per_run.sum() == len(deals)
    manifest = json.loads((serial_dir / "manifest.json").read_text())
    assert manifest["root_seed"] == smoke.root_seed and manifest["status"] == "complete"
    assert manifest["versions"]["mesa"].startswith("3.3") and "commit" in manifest["git"]
    assert manifest["counts"] == {"ok": 12, "failed": 0}


def test_two_workers_give_the_same_results(serial_dir, smoke, tmp_path):
    with ProcessExecutor(2, max_tasks_per_child=4) as ex:  # recycles workers midway too
        res = run_batch(smoke, tmp_path / "two", ex, progress=False)
    assert res.complete
    assert_same_results(serial_dir, tmp_path / "two")


def test_a_run_that_raises_is_recorded_and_the_others_complete(serial_dir, smoke, tmp_path):
    res = run_batch(smoke, tmp_path / "f", SerialExecutor(), run_fn=model_failing, progress=False)
    assert res.complete and (res.ok, res.failed) == (11, 1)
    runs = read_runs(tmp_path / "f")
    bad = runs[runs["status"] == "failed"]
    assert bad[["point", "replication"]].values.tolist() == [[1, 0]]
    assert bad["error"].iloc[0].startswith("ValueError: deliberate failure at point 1")
    assert bad[list(smoke.outcomes)].isna().all().all()
    ref = read_runs(serial_dir)
    good = runs["status"] == "ok"
    pd.testing.assert_frame_equal(runs[good].reset_index(drop=True), ref[good].reset_index(drop=True))
    assert "deliberate failure" in (tmp_path / "f" / "errors.log").read_text()


def test_batch_killed_midway_resumes_to_the_same_results(serial_dir, tmp_path):
    out = tmp_path / "killed"
    cmd = [*CLI, "batch", str(SMOKE), "--workers", "2", "--out", str(out), "--no-progress", "--flush-seconds", "0"]
    proc = subprocess.Popen(cmd, env=ENV, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not list((out / "runs").glob("chunk-*.parquet")):
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its workers, without warning
        proc.wait()
    done = len(pd.read_parquet(out / "runs"))
    assert 0 < done < 12
    rerun = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"({12 - done} now" in rerun.stdout
    assert_same_results(serial_dir, out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and len(manifest["sessions"]) == 2


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, env=ENV, cwd=log.parent, start_new_session=True, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)


def test_dask_scheduler_and_workers_give_the_same_results(serial_dir, tmp_path, capsys, monkeypatch):
    from distributed import Client

    from sim.interfaces import cli

    dask = Path(sys.executable).parent / "dask"
    base = [str(dask)] if dask.exists() else [sys.executable, "-m", "dask"]
    sched_file = tmp_path / "scheduler.json"
    procs = [_start([*base, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                     "--scheduler-file", str(sched_file)], tmp_path / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists():
            assert procs[0].poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(_start([*base, "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard",
                             "--host", "127.0.0.1"], tmp_path / "worker.log"))
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        out = tmp_path / "dask"
        monkeypatch.setattr(sys, "argv", ["licsim", "batch", str(SMOKE), "--scheduler", address, "--out", str(out),
                                          "--no-progress"])
        cli.main()
        assert "12/12 runs done" in capsys.readouterr().out
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["sessions"][0]["executor"] == "dask" and manifest["sessions"][0]["address"] == address
        assert_same_results(serial_dir, out)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_analyze_command_on_the_smoke_batch(serial_dir, capsys, monkeypatch):
    from sim.interfaces import cli

    monkeypatch.setattr(sys, "argv", ["licsim", "analyze", str(serial_dir)])
    monkeypatch.setenv("COLUMNS", "200")
    cli.main()
    printed = capsys.readouterr().out
    assert "mean [90% of runs] per design point" in printed
    files = {p.name for p in (serial_dir / "analysis").iterdir()}
    assert {"points.csv", "deals_2024.png", "biotech_survival.png"} <= files
    pts = pd.read_csv(serial_dir / "analysis" / "points.csv")
    assert len(pts) == 4 * 4 and set(pts.loc[pts.outcome == "deals_2024", "runs"]) == {3}
    charts = {p.name: p.read_bytes() for p in (serial_dir / "analysis").glob("*.png")}
    # an 80-column terminal, and --no-charts: the charts drawn before stay (it used to delete them)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setattr(sys, "argv", ["licsim", "analyze", str(serial_dir), "--no-charts"])
    cli.main()
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= 80, printed
    assert "\u2026" not in printed and "90% of runs" in printed
    assert {p.name: p.read_bytes() for p in (serial_dir / "analysis").glob("*.png")} == charts


# ------------------------------------------------------- machinery, with a stand-in model


@pytest.fixture()
def toy(tmp_path):
    (tmp_path / "tiny.yaml").write_text("name: tiny\nstart: 2024-01\nend: 2024-12\n")
    path = tmp_path / "toy.yaml"
    path.write_text("name: toy\nbase: tiny.yaml\ndesign: {kind: grid}\nparameters:\n"
                    "  drivers.funding.scale: {values: [0.5, 1.0, 1.5, 2.0]}\n"
                    "replications: 5\noutcomes: [deals_2024, upfront_usd_2024]\n")
    return load_experiment(path)


class _StopAfter:
    """:func:`toy_run`, but a KeyboardInterrupt (a Ctrl-C) arrives at call n + 1."""

    def __init__(self, n: int):
        self.n = n
        functools.update_wrapper(self, toy_run)  # the same run function, as far as the manifest knows

    def __call__(self, task):
        self.n -= 1
        if self.n < 0:
            raise KeyboardInterrupt
        return toy_run(task)


def test_interrupted_batch_resumes_without_loss_or_duplicates(toy, tmp_path):
    full = tmp_path / "full"
    run_batch(toy, full, SerialExecutor(), run_fn=toy_run, progress=False)
    out = tmp_path / "part"
    stop = _StopAfter(7)
    with pytest.raises(KeyboardInterrupt):
        run_batch(toy, out, SerialExecutor(), run_fn=stop, progress=False)
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"
    assert len(pd.read_parquet(out / "runs")) == 7  # flushed on the way out
    res = run_batch(toy, out, SerialExecutor(), run_fn=toy_run, progress=False)
    assert res.ran == 13 and res.complete
    assert_same_results(full, out)
    again = run_batch(toy, out, SerialExecutor(), run_fn=toy_run, progress=False)
    assert again.ran == 0
    assert_same_results(full, out)


def test_a_worker_that_dies_fails_only_its_run(toy, tmp_path):
    with ProcessExecutor(2) as ex:
        res = run_batch(toy, tmp_path / "c", ex, run_fn=toy_run_crash, progress=False)
    assert res.complete and res.failed == 1
    runs = read_runs(tmp_path / "c")
    bad = runs[runs.status != "ok"]
    assert bad[["point", "replication"]].values.tolist() == [[2, 1]]
    assert bad["error"].iloc[0].startswith("WorkerDied")


def test_retry_failed_runs_them_again(toy, tmp_path):
    from sim.experiments.toy import toy_run_failing

    out = tmp_path / "r"
    run_batch(toy, out, SerialExecutor(), run_fn=toy_run_failing, progress=False)
    assert read_runs(out)["status"].tolist().count("failed") == 1
    # a plain rerun skips the failed run; --retry-failed runs it again
    assert run_batch(toy, out, SerialExecutor(), run_fn=toy_run_failing, progress=False).ran == 0
    res = run_batch(toy, out, SerialExecutor(), run_fn=toy_run_failing, retry_failed=True, progress=False)
    assert res.ran == 1 and res.failed == 1 and len(read_runs(out)) == 20


def test_a_folder_of_another_experiment_is_refused(toy, tmp_path, smoke):
    out = tmp_path / "x"
    run_batch(toy, out, SerialExecutor(), run_fn=toy_run, progress=False)
    with pytest.raises(UserError, match="different .*experiment"):
        run_batch(smoke, out, SerialExecutor(), run_fn=toy_run, progress=False)


def test_two_batches_cannot_share_a_folder(toy, tmp_path):
    with RunStore(tmp_path / "y", toy.params, toy.outcomes):
        with pytest.raises(UserError, match="another licsim command is writing"):
            run_batch(toy, tmp_path / "y", SerialExecutor(), run_fn=toy_run, progress=False)


def test_interrupted_compaction_is_recovered(toy, tmp_path):
    out = tmp_path / "z"
    run_batch(toy, out, SerialExecutor(), run_fn=toy_run, progress=False)
    ref = read_runs(out)
    os.replace(out / "runs", out / ".runs.old")  # killed between the two renames of the swap
    (out / ".runs.new").mkdir()
    res = run_batch(toy, out, SerialExecutor(), run_fn=toy_run, progress=False)
    assert res.ran == 0
    pd.testing.assert_frame_equal(read_runs(out), ref)
    assert not (out / ".runs.old").exists() and not (out / ".runs.new").exists()


def test_outcome_columns_are_float_even_for_failed_runs(toy, tmp_path):
    from sim.experiments.toy import toy_run_failing

    run_batch(toy, tmp_path / "d", SerialExecutor(), run_fn=toy_run_failing, progress=False)
    runs = pd.read_parquet(tmp_path / "d" / "runs")
    assert runs["deals_2024"].dtype == np.float64 and runs["seed"].dtype == np.int64
