"""Issue 19: nothing a user has is ever lost, and no input, file or browser makes licsim misbehave.

Every case goes through the real command line (a subprocess, or ``cli.main`` in this process
where a fault is injected) or a real browser, and fails on the code before the fix. Runs use
tiny scenarios, or the toy run functions of :mod:`sim.experiments.toy` where only the batch
machinery matters, so the whole file takes seconds.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}

TINY = """\
name: tiny
extends: baseline
start: 2021-01
end: 2021-06
population: {biotechs: 30, top_mncs: 3, mid_size: 4, incubators: 2, regional: 2}
"""

TOY = """\
name: toy
base: baseline
overrides: {start: 2023-01, end: 2024-12}
design: {kind: grid}
parameters:
  drivers.funding.scale: {values: [0.6, 1.4]}
replications: 2
outcomes: [deals_2024, upfront_usd_2024]
"""


def cli(*args, cwd: Path | None = None, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """The real `licsim` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "sim.interfaces.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, env={**ENV, **(env or {})}, timeout=timeout)


def run_main(monkeypatch, capsys, *args) -> subprocess.CompletedProcess:
    """`licsim` through its entry point in this process (so a fault can be injected)."""
    from sim.interfaces import cli as cli_mod

    monkeypatch.setattr(sys, "argv", ["licsim", *map(str, args)])
    try:
        cli_mod.main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def one_line_error(res: subprocess.CompletedProcess, code: int = 2, *needles: str, alone: bool = True) -> str:
    """The promised failure: exit ``code``, one line on stderr starting 'error:', no traceback.

    ``alone``: nothing else on stderr (bad input is refused before any work); otherwise (a batch
    that ran, then stopped) the error line is the last and only one.
    """
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert res.returncode == code, (res.returncode, res.stdout[-2000:], res.stderr[-3000:])
    assert "Traceback" not in res.stderr and len(errors) == 1 and lines[-1] == errors[0], res.stderr[-3000:]
    assert not alone or len(lines) == 1, res.stderr[-3000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    path = tmp_path / "toy.yaml"
    path.write_text(TOY)
    return path


def tree(folder: Path) -> dict[str, str]:
    """sha256 of every file below ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ================================================================== 1-3: data loss


def test_1_run_into_a_folder_holding_a_users_file_is_refused_and_the_file_kept(tiny, tmp_path):
    out = tmp_path / "v"
    out.mkdir()
    (out / "thesis.docx").write_text("three years of work")
    res = cli("run", tiny, "--out", out, "--workers", 1)
    one_line_error(res, 2, "--out", "is not a run folder")
    assert [p.name for p in out.iterdir()] == ["thesis.docx"]
    assert (out / "thesis.docx").read_text() == "three years of work"


def test_overwrite_rule_force_replaces_licsim_files_and_keeps_the_users(tiny, tmp_path):
    """`make run` twice: the second run with --force replaces the run's files, keeps the user's report."""
    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--workers", 1).returncode == 0
    (out / "my_report.html").write_text("mine")
    (out / "charts" / "my_chart.png").write_bytes(b"mine")
    again = cli("run", tiny, "--out", out, "--workers", 1)
    one_line_error(again, 2, "earlier licsim run", "--force")
    before = json.loads((out / "manifest.json").read_text())["created"]
    time.sleep(1.1)
    forced = cli("run", tiny, "--out", out, "--workers", 1, "--force")
    assert forced.returncode == 0, forced.stderr
    assert (out / "my_report.html").read_text() == "mine" and (out / "charts" / "my_chart.png").read_bytes() == b"mine"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["created"] != before and "deals.parquet" in manifest["outputs"]
    assert "my_report.html" not in manifest["outputs"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary folder was left behind"
    # `make run` passes --force, so running it twice keeps working
    assert "licsim run scenarios/baseline.yaml --force" in (ROOT / "Makefile").read_text()


def test_run_refuses_another_commands_folder(tiny, tmp_path):
    out = tmp_path / "v"
    out.mkdir()
    (out / "manifest.json").write_text('{"command": "compare"}')
    one_line_error(cli("run", tiny, "--out", out, "--workers", 1, "--force"), 2, "comparison, not a run")


@pytest.mark.parametrize("name", [".", "..", "a/b", ".hidden", "x" * 81, "-rf"])
def test_2_a_scenario_name_must_be_a_safe_folder_name(tmp_path, name):
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "keep.txt").write_text("mine")
    sc = tmp_path / "s.yaml"
    sc.write_text(f"name: {json.dumps(name)}\nextends: baseline\n")
    res = cli("run", sc, "--workers", 1, cwd=tmp_path)
    one_line_error(res, 2, "s.yaml:1:1: name:", "letters, digits")
    assert [p.name for p in (tmp_path / "results").iterdir()] == ["keep.txt"]


def test_2_an_experiment_name_must_be_a_safe_folder_name(toy, tmp_path):
    toy.write_text(TOY.replace("name: toy", "name: .."))
    one_line_error(cli("batch", toy, "--workers", 1, cwd=tmp_path), 2, "name:", "letters, digits")
    assert not (tmp_path / "results").exists()


def test_3_a_run_cannot_take_the_folder_of_a_running_batch(toy, tiny, tmp_path):
    out = tmp_path / "b"
    batch = subprocess.Popen([sys.executable, "-m", "sim.interfaces.cli", "batch", str(toy), "--out", str(out),
                              "--workers", "1", "--no-progress", "--run-fn", "sim.experiments.toy:toy_run_slow",
                              "--flush-seconds", "0"], env={**ENV, "LICSIM_TOY_SLEEP": "1.0"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (out / "manifest.json").exists() or json.loads((out / "manifest.json").read_text())[
                "status"] != "running":
            assert batch.poll() is None and time.monotonic() < deadline, batch.stderr.read() if batch.poll() else ""
            time.sleep(0.05)
        hostile = cli("run", tiny, "--out", out, "--workers", 1, "--force")
        one_line_error(hostile, 2, "batch experiment, not a run")
        second = cli("batch", toy, "--out", out, "--workers", 1, "--run-fn", "sim.experiments.toy:toy_run_slow")
        one_line_error(second, 2, "another licsim command is writing to this folder")
        stdout, stderr = batch.communicate(timeout=60)
    finally:
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 0, stderr
    assert "4/4 runs done" in stdout
    assert len(pd.read_parquet(out / "runs")) == 4


def test_3_a_run_honours_the_lock_of_a_folder_another_command_writes(tiny, tmp_path):
    from sim.io import folder_lock

    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--workers", 1).returncode == 0
    with folder_lock(out):  # another licsim command is writing there
        res = cli("run", tiny, "--out", out, "--workers", 1, "--force")
    one_line_error(res, 2, "another licsim command is writing to this folder")


def test_3_a_batch_that_ends_with_runs_missing_exits_non_zero(toy, tmp_path):
    out = tmp_path / "m"
    res = cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--flush-seconds", 0,
              "--run-fn", "sim.experiments.toy:toy_run_deleting_runs", env={"LICSIM_TOY_OUT": str(out)})
    one_line_error(res, 1, "3 of 4 runs are missing", "run the same command again", alone=False)
    assert json.loads((out / "manifest.json").read_text())["status"] == "incomplete"
    again = cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--run-fn",
                "sim.experiments.toy:toy_run_deleting_runs")  # nothing deleted this time
    assert again.returncode == 0 and "4/4 runs done (3 now" in again.stdout, again.stderr


# ============================================================ 4-6: the dashboard is a server


def test_4_the_served_model_accepts_only_offered_scenarios_and_slider_values():
    from sim.errors import UserError
    from sim.interfaces.dashboard import data as D

    choices = D.scenario_choices(root=ROOT)
    with pytest.raises(UserError, match="not one the picker offers"):
        D.build_scenario("/etc/passwd", None, choices)

    class Served(D.ServedModel):
        pass

    Served.choices = choices
    m = Served(scenario="/etc/passwd", funding=float("nan"), trust=1e308, patent_cliff="x", seed=-5)
    assert m.scenario_label == "baseline" and m.levers == {k: 1.0 for k in m.levers} and m.seed == D.DEFAULT_SEED
    assert "'/etc/passwd' is not offered" in m.notice and "root:" not in m.notice and "\n" not in m.notice
    m.release()
    with pytest.raises(UserError):
        D.compare_seeds(10**9, 1)  # the comparison page's slider, as a browser could send it


def test_4_result_folders_only_below_the_results_directory(tmp_path, monkeypatch):
    from sim.errors import UserError
    from sim.interfaces.dashboard import data as D

    monkeypatch.delenv(D.RESULTS_ENV, raising=False)
    results, outside = tmp_path / "results", tmp_path / "elsewhere"
    for folder in (results / "mine", outside / "theirs"):
        folder.mkdir(parents=True)
        (folder / "deals.parquet").write_bytes(b"")
    (results / "link").symlink_to(outside)
    found = D.result_choices(root=results)
    assert [Path(p).name for p in found.values()] == ["mine"]  # the link out is not followed
    assert D.check_result_folder(results / "mine", root=results)
    for bad in (outside / "theirs", results / "link" / "theirs", "/etc"):
        with pytest.raises(UserError, match="not below the results directory"):
            D.check_result_folder(bad, root=results)
    monkeypatch.setenv(D.RESULTS_ENV, str(outside))  # what --results-dir sets
    assert D.check_result_folder(outside / "theirs", root=results)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_dashboard(tmp_path: Path, *args: str) -> tuple[subprocess.Popen, Path, int]:
    port = _free_port()
    log = tmp_path / "server.log"
    env = {**ENV, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "PYTHONUNBUFFERED": "1",
           "LICSIM_DASHBOARD_DRAW_WORKERS": "0"}
    env.pop("LICSIM_DASHBOARD_SCENARIO", None)
    proc = subprocess.Popen([sys.executable, "-m", "sim.interfaces.cli", "dashboard", "--port", str(port), *args],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return proc, log, port


def _wait_for(proc: subprocess.Popen, log: Path, port: int, timeout: float = 90) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text()[-3000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            pass
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _upgrade(port: int, origin: str | None, host: str | None = None) -> str:
    """The status line the server answers a websocket upgrade with."""
    host = host or f"127.0.0.1:{port}"
    lines = [f"GET /jupyter/api/kernels/k1/channels?session_id=s1 HTTP/1.1", f"Host: {host}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"]
    if origin:
        lines.append(f"Origin: {origin}")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return s.recv(4096).decode("latin-1").splitlines()[0]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dash")
    proc, log, port = _start_dashboard(tmp, "--host", "127.0.0.1")
    try:
        _wait_for(proc, log, port)
        yield {"port": port, "log": log, "url": f"http://127.0.0.1:{port}/"}
    finally:
        _stop(proc)


def test_5_websockets_from_another_origin_are_refused(dashboard):
    port = dashboard["port"]
    assert " 403 " in _upgrade(port, "http://evil.example")
    assert " 403 " in _upgrade(port, f"http://127.0.0.1:{port + 1}")
    assert " 403 " in _upgrade(port, "http://evil.example", host=f"evil.example:{port}")  # DNS rebinding
    assert " 403 " not in _upgrade(port, f"http://127.0.0.1:{port}")  # the page's own origin


def test_5_a_non_loopback_host_warns_that_there_is_no_authentication(tmp_path):
    proc, log, port = _start_dashboard(tmp_path, "--host", "0.0.0.0")
    try:
        deadline = time.monotonic() + 60
        while "licsim dashboard: http" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        _stop(proc)
    text = log.read_text()
    assert "warning: --host 0.0.0.0" in text and "no authentication" in text


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is missing: apt-get install -y chromium")
def test_4_a_browser_sending_a_path_as_scenario_gets_one_line_not_the_file(dashboard):
    """The picker offers labels; a hostile browser rewrites the one it sends into a system file's
    path and presses Reset. The server must not read it, and the page shows one line, no traceback."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is missing")
    secret = "/etc/passwd"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            rewritten = []

            def route(ws):
                server = ws.connect_to_server()

                def outgoing(message):
                    if isinstance(message, str) and '"trust_shock"' in message:
                        rewritten.append(message)
                        message = message.replace('"trust_shock"', json.dumps(secret))
                    server.send(message)

                ws.on_message(outgoing)
                server.on_message(lambda m: ws.send(m))

            page.route_web_socket("**/*", route)
            page.goto(dashboard["url"])
            page.get_by_role("button", name="Reset").wait_for()
            page.locator(".v-select", has_text="Scenario").first.click()
            page.get_by_role("option", name="trust_shock").click()
            time.sleep(1.0)
            page.get_by_role("button", name="Reset").click()
            page.locator(".licsim-notice").wait_for()
            text = page.inner_text("body")
        finally:
            browser.close()
    assert rewritten, "the page never sent the picked scenario"
    assert "is not offered" in text and "Traceback" not in text and "root:" not in text
    assert "scenario baseline" in text  # the default took its place
    assert "root:" not in dashboard["log"].read_text()  # the file was never read


def test_6_report_does_not_follow_links_out_of_the_folder(tiny, tmp_path):
    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--workers", 1).returncode == 0
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n")
    (out / "extra.csv").symlink_to(secret)
    res = cli("report", out)
    one_line_error(res, 2, "a link out of")
    assert not (out / "report.html").exists()
    (out / "extra.csv").unlink()
    (out / "inside.csv").symlink_to(out / "yearly.csv")  # a link within the folder is fine
    assert cli("report", out).returncode == 0


# ======================================================= 7-11: bad input, refused up front


NON_FINITE = [
    ("assets: {peak_sales_usd: {oncology: .inf}}", "assets.peak_sales_usd.oncology"),
    ("assets: {duration_months: {phase1: .nan}}", "assets.duration_months.phase1"),
    ("drivers: {funding: {points: {2021-01: .inf}}}", "drivers.funding.points.2021-01"),
    ("drivers: {trust: {shocks: [{at: 2021-02, change: .nan}]}}", "drivers.trust.shocks.0.change"),
    ("drivers: {funding: {constant: .inf}}", "drivers.funding.constant"),
    ("assets: {area_mix: {oncology: .nan}}", "assets.area_mix.oncology"),
    ("assets: {novelty_value: {first_in_class: .inf}}", "assets.novelty_value.first_in_class"),
    ("assets: {peak_sales_usd: {immunology: 1.0e999}}", "assets.peak_sales_usd.immunology"),
]


@pytest.mark.parametrize("line, field", NON_FINITE)
def test_7_non_finite_numbers_in_a_scenario_are_refused(tiny, tmp_path, line, field):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\nextends: tiny.yaml\n{line}\n")
    one_line_error(cli("run", bad, "--out", tmp_path / "o", "--workers", 1), 2, "bad.yaml:3:", field, "finite")
    assert not (tmp_path / "o").exists()


def test_a_constant_driver_out_of_its_range_is_refused(tiny, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: tiny.yaml\ndrivers: {trust: {constant: 1.5}}\n")
    one_line_error(cli("run", bad, "--out", tmp_path / "o", "--workers", 1), 2, "bad.yaml", "drivers.trust",
                   "constant = 1.5 is out of range; allowed 0 to 1")
    assert not (tmp_path / "o").exists()


def test_7_non_finite_overrides_are_refused():
    from sim.errors import UserError
    from sim.scenarios.loader import apply_overrides, load_scenario

    with pytest.raises(UserError, match="finite"):
        apply_overrides(load_scenario("baseline"), {"assets.peak_sales_usd.oncology": float("inf")})


def test_7_and_11_non_finite_experiment_values_are_refused(toy, tmp_path):
    toy.write_text(TOY.replace("{values: [0.6, 1.4]}", "{values: [0.6, .nan]}"))
    one_line_error(cli("batch", toy, "--out", tmp_path / "o"), 2, "values.1", "finite")
    toy.write_text(TOY.replace("drivers.funding.scale: {values: [0.6, 1.4]}",
                               "population.biotechs: {values: [10, .nan]}"))  # an integer field
    one_line_error(cli("batch", toy, "--out", tmp_path / "o"), 2, "values.1", "finite")
    toy.write_text(TOY.replace("overrides: {start: 2023-01, end: 2024-12}", "overrides: {mnc.hurdle: .inf}"))
    one_line_error(cli("batch", toy, "--out", tmp_path / "o"), 2, "overrides", "finite")
    assert not (tmp_path / "o").exists()


BAD_ENSEMBLES = [  # parameters: value, what the one line must say besides the file, line and field
    ("nope.parquet", ["no file ", "nope.parquet; allowed: the path of a posterior.parquet written by licsim calibrate"]),
    ("notes.parquet", ["notes.parquet: not a Parquet file", "allowed: a posterior.parquet written by licsim calibrate"]),
    ("cols.parquet", ["cols.parquet: column mnc.hurdel is not a scenario parameter; did you mean mnc.hurdle?",
                      "allowed: the dotted path of a numeric parameter"]),
    ("3", ["expected a file path (got 3)", "allowed: the path of a posterior.parquet"]),
    ("{file: p.parquet}", ["expected a file path (got a mapping)", "allowed: the path of a posterior.parquet"]),
]


@pytest.mark.parametrize("value, needles", BAD_ENSEMBLES, ids=["missing", "not_parquet", "columns", "number", "mapping"])
def test_7_a_bad_parameter_ensemble_in_a_scenario_is_one_line_for_every_command(tiny, tmp_path, monkeypatch, capsys,
                                                                               value, needles):
    (tmp_path / "notes.parquet").write_text("weight,mnc.hurdle\n1,0.2\n")
    pd.DataFrame({"mnc.hurdel": [0.1], "weight": [1.0]}).to_parquet(tmp_path / "cols.parquet")
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"name: bad\nextends: tiny.yaml\nparameters: {value}\n")
    exp = tmp_path / "exp.yaml"
    exp.write_text(TOY.replace("base: baseline", "base: bad.yaml"))
    for command in (("run", bad, "-w", 1), ("validate", bad, "-n", 1), ("compare", tiny, bad, "-n", 2),
                    ("batch", exp, "-w", 1)):
        one_line_error(run_main(monkeypatch, capsys, *command, "--out", tmp_path / "o"), 2,
                       "bad.yaml:3:1: parameters: ", *needles)
        assert not (tmp_path / "o").exists() and not (tmp_path / "results").exists()
    if value == "nope.parquet":  # and through the real command line
        one_line_error(cli("run", bad, "--out", tmp_path / "o"), 2, "bad.yaml:3:1: parameters: no file")


def test_8_duplicate_keys_in_a_scenario_are_an_error(tiny, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nextends: tiny.yaml\nmnc: {hurdle: 0.2}\nmnc: {hurdle: 0.9}\n")
    one_line_error(cli("run", bad, "--out", tmp_path / "o", "--workers", 1), 2, "bad.yaml:4:1: mnc: duplicate key")
    bad.write_text("name: bad\nextends: tiny.yaml\ndrivers:\n  trust:\n    points: {2021-01: 0.5, 2021-01: 0.9}\n")
    one_line_error(cli("run", bad, "--out", tmp_path / "o", "--workers", 1), 2, "duplicate key")


@pytest.mark.parametrize("where", ["cli", "file"])
def test_9_a_seed_beyond_64_bits_is_refused_before_simulating(tiny, tmp_path, where):
    huge = str(10**26)
    if where == "cli":
        res = cli("run", tiny, "--seed", huge, "--out", tmp_path / "o", "--workers", 1)
        one_line_error(res, 2, "--seed", "9223372036854775807")
    else:
        tiny.write_text(TINY + f"seed: {huge}\n")
        one_line_error(cli("run", tiny, "--out", tmp_path / "o", "--workers", 1), 2, "seed:", "out of range")
    assert not (tmp_path / "o").exists()
    for command in (("validate", tiny, "-n", 1), ("compare", tiny, tiny, "-n", 2)):
        res = cli(*command, "--seed", huge, "--out", tmp_path / "o2")
        one_line_error(res, 2, "--seed")


def test_9_a_market_with_no_buyers_runs_or_is_refused_in_one_line(tiny, tmp_path):
    bad = tmp_path / "nobuyers.yaml"
    bad.write_text("name: nobuyers\nextends: tiny.yaml\n"
                   "population: {top_mncs: 0, mid_size: 0, incubators: 0, regional: 0}\n")
    res = cli("run", bad, "--out", tmp_path / "o", "--workers", 1)
    assert "Traceback" not in res.stderr, res.stderr[-2000:]
    assert res.returncode in (0, 2)


def test_10_a_scenario_span_has_limits(tiny, tmp_path):
    tiny.write_text(TINY.replace("start: 2021-01\nend: 2021-06", "start: 0001-01\nend: 9999-12"))
    one_line_error(cli("run", tiny, "--out", tmp_path / "o"), 2, "start 0001-01 is out of range", "1990-01 to 2100-12")
    tiny.write_text(TINY.replace("start: 2021-01\nend: 2021-06", "start: 2000-01\nend: 2099-12"))
    one_line_error(cli("run", tiny, "--out", tmp_path / "o"), 2, "at most 600 months")


def test_10_an_extends_file_has_a_size_limit(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("name: big\ndescription: " + "x" * (2 * 1024 * 1024) + "\n")
    child = tmp_path / "child.yaml"
    child.write_text("name: child\nextends: big.yaml\n")
    t0 = time.monotonic()
    one_line_error(cli("run", child, "--out", tmp_path / "o"), 2, "big.yaml", "larger than 1024 KiB")
    assert time.monotonic() - t0 < 30


def test_10_yaml_alias_expansion_has_a_limit(toy, tmp_path):
    bomb = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
    toy.write_text("l0: &l0 [1, 2, 3, 4, 5, 6, 7, 8, 9]\n" + bomb + TOY)
    t0 = time.monotonic()
    one_line_error(cli("batch", toy, "--out", tmp_path / "o", timeout=60), 2, "aliases", "at most 100,000")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("design, params, needle", [
    ("{kind: lhs, samples: 10000000}", "drivers.funding.scale: {low: 0.5, high: 1.5}", "10,000,000 points"),
    ("{kind: grid}", "".join(f"  {p}: {{low: 0.1, high: 0.5, levels: 1000}}\n" for p in
                             ("drivers.funding.scale", "drivers.trust.scale", "mnc.hurdle")).strip(),
     "1,000,000,000 points"),
])
def test_10_a_designs_size_has_a_limit(toy, tmp_path, design, params, needle):
    text = TOY.replace("design: {kind: grid}", f"design: {design}")
    text = text.replace("  drivers.funding.scale: {values: [0.6, 1.4]}", f"  {params}")
    toy.write_text(text)
    t0 = time.monotonic()
    one_line_error(cli("batch", toy, "--out", tmp_path / "o", timeout=60), 2, needle, "allowed at most")
    assert time.monotonic() - t0 < 30 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_10_an_endless_device_file_is_not_read_as_a_scenario(device, tmp_path):
    t0 = time.monotonic()
    one_line_error(cli("run", device, "--out", tmp_path / "o", timeout=60), 2, "not a regular file")
    assert time.monotonic() - t0 < 30


def test_11_output_paths_that_cannot_be_used_are_one_line(tiny, toy, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("mine")
    one_line_error(cli("batch", toy, "--out", afile), 2, "exists and is not a folder")
    assert afile.read_text() == "mine"
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "notes.txt").write_text("mine")
    one_line_error(cli("run", tiny, "--out", ".", cwd=tmp_path / "cwd"), 2, "--out .", "is not a run folder")
    t0 = time.monotonic()
    res = cli("run", tiny, "--out", "/proc/licsim-cannot-write/out", "--workers", 1)
    one_line_error(res, 2, "cannot write")
    assert "months" not in res.stdout + res.stderr  # refused before simulating


def test_11_a_scheduler_that_is_not_an_address_is_one_line(toy, tmp_path):
    one_line_error(cli("batch", toy, "--scheduler", "not a url", "--out", tmp_path / "o"), 2, "tcp://host:port")
    assert not (tmp_path / "o").exists()


def test_11_params_markdown_into_a_folder_is_one_line(tmp_path):
    one_line_error(cli("params", "--markdown", tmp_path), 2, "is a folder")


@pytest.mark.parametrize("args, needle", [
    (("run", "baseline", "--seed", "abc"), "--seed"),
    (("run", "baseline", "--nosuchoption"), "No such option"),
    (("run",), "Missing argument"),
    (("nosuchcommand",), "No such command"),
])
def test_11_usage_errors_are_one_line(args, needle):
    one_line_error(cli(*args), 2, needle)


def test_11_a_misspelt_top_level_key_in_an_experiment_names_the_typo(toy, tmp_path):
    toy.write_text(TOY.replace("design:", "desing:"))
    one_line_error(cli("batch", toy, "--out", tmp_path / "o"), 2, "desing: unknown field; did you mean design?")


# ======================================================= 12-14: faults during a batch


def test_12_a_killed_workers_run_is_retried_and_the_batch_goes_on(toy, tmp_path):
    toy.write_text(TOY.replace("replications: 2", "replications: 1").replace("[0.6, 1.4]", "[0.6]"))
    marker = tmp_path / "killed-once"
    res = cli("batch", toy, "--out", tmp_path / "k", "--workers", 2, "--no-progress", "--run-fn",
              "sim.experiments.toy:toy_run_killed_once", env={"LICSIM_TOY_MARKER": str(marker)})
    assert marker.exists(), "the worker was not killed"
    assert res.returncode == 0 and "1/1 runs done" in res.stdout and "failed" not in res.stdout, res.stdout + res.stderr
    assert pd.read_parquet(tmp_path / "k" / "runs")["status"].tolist() == ["ok"]


def test_12_a_pool_broken_between_two_submissions_does_not_abort_the_batch():
    """The race behind the 1-in-10 abort: a worker dies while the batch hands out the next run,
    so ``submit`` itself raises BrokenProcessPool."""
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from sim.experiments.executors import ProcessExecutor
    from sim.experiments.tasks import Task, safe_call
    from sim.experiments.toy import toy_run

    class FlakyPool:
        broken_once = False

        def submit(self, fn, *args):
            if not FlakyPool.broken_once:
                FlakyPool.broken_once = True
                raise BrokenProcessPool("A child process terminated abruptly")
            fut: Future = Future()
            fut.set_result(fn(*args))
            return fut

        def shutdown(self, wait=True, cancel_futures=False):
            pass

    class Ex(ProcessExecutor):
        def _new_pool(self):
            return FlakyPool()

    tasks = [Task(p, 0, 100 + p, (("x", 1.0),), ("y",)) for p in range(5)]
    with Ex(2) as ex:
        records = list(ex.imap_unordered(toy_run, tasks))
    assert sorted(r.point for r in records) == list(range(5)) and all(r.status == "ok" for r in records)
    assert records[0].outcomes == safe_call(toy_run, tasks[records[0].point]).outcomes


def _frames_batch(toy: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--run-fn",
               "sim.experiments.toy:toy_run_frames", *extra)


@pytest.fixture
def kept(toy, tmp_path):
    """A finished toy batch keeping deal ledgers and monthly series, and its files' digests."""
    toy.write_text(TOY + "keep: [deals, monthly]\n")
    out = tmp_path / "kept"
    res = _frames_batch(toy, out)
    assert res.returncode == 0, res.stderr
    return toy, out, tree(out / "runs"), tree(out / "deals"), tree(out / "monthly")


def test_13_a_truncated_runs_file_is_found_and_repaired_on_resume(kept):
    toy, out, runs, deals, monthly = kept
    part = out / "runs" / "part-00000.parquet"
    part.write_bytes(part.read_bytes()[:-40])
    check = cli("batch", "--verify", out)
    assert check.returncode == 1 and "damaged: " in check.stdout and "part-00000" in check.stdout, check.stdout
    res = _frames_batch(toy, out)
    assert res.returncode == 0 and "4/4 runs done (4 now" in res.stdout, res.stdout + res.stderr
    assert "damaged" in res.stderr
    assert tree(out / "runs") == runs and tree(out / "deals") == deals  # as before the damage
    assert list((out / "damaged").rglob("part-00000.parquet"))  # kept aside, not deleted
    assert cli("batch", "--verify", out).returncode == 0


def test_13_a_truncated_chunk_is_found_and_repaired_on_resume(toy, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "c"
    res = cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--run-fn", "sim.experiments.toy:toy_run")
    assert res.returncode == 0, res.stderr
    ref = pd.read_parquet(out / "runs")
    # as an interrupted batch leaves it: one chunk per run, the first cut short by a crash
    part = out / "runs" / "part-00000.parquet"
    table = pq.read_table(part)
    part.unlink()
    for i in range(table.num_rows):
        pq.write_table(table.slice(i, 1), out / "runs" / f"chunk-{i:020d}-test.parquet")
    chunk = out / "runs" / f"chunk-{0:020d}-test.parquet"
    chunk.write_bytes(chunk.read_bytes()[:100])
    res = cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--run-fn", "sim.experiments.toy:toy_run")
    assert res.returncode == 0 and "4/4 runs done (1 now" in res.stdout, res.stdout + res.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs"), ref)


def test_13_a_truncated_deal_file_is_found_and_its_run_repeated(kept):
    toy, out, runs, deals, monthly = kept
    victim = out / "deals" / "point=1" / "replication-000000.parquet"
    victim.write_bytes(victim.read_bytes()[:-30])
    check = cli("batch", "--verify", out)
    assert check.returncode == 1 and "replication-000000.parquet" in check.stdout, check.stdout
    res = _frames_batch(toy, out)
    assert res.returncode == 0 and "4/4 runs done (1 now" in res.stdout, res.stdout + res.stderr
    assert tree(out / "deals") == deals and tree(out / "runs") == runs
    assert len(pd.read_parquet(out / "deals")) > 0  # the whole ledger reads again
    assert cli("batch", "--verify", out).returncode == 0


def test_14_a_full_disk_marks_the_batch_interrupted_and_resume_completes(toy, tmp_path, monkeypatch, capsys):
    import pyarrow.parquet as pq

    import sim.experiments.store as store

    out = tmp_path / "full"
    real = pq.write_table
    calls = {"n": 0}

    def write_table(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] >= 2:  # the disk fills after the first runs file
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(*args, **kwargs)

    monkeypatch.setattr(store.pq, "write_table", write_table)
    res = run_main(monkeypatch, capsys, "batch", toy, "--out", out, "--workers", 1, "--no-progress",
                   "--flush-seconds", 0, "--run-fn", "sim.experiments.toy:toy_run")
    one_line_error(res, 1, "No space left on device", "interrupted", "run the same command again", alone=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and "No space left on device" in manifest["reason"]
    monkeypatch.setattr(store.pq, "write_table", real)  # space freed
    again = run_main(monkeypatch, capsys, "batch", toy, "--out", out, "--workers", 1, "--no-progress",
                     "--run-fn", "sim.experiments.toy:toy_run")
    assert again.returncode == 0 and "4/4 runs done" in again.stdout, again.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and "reason" not in manifest


# ============================================== issue 18: batch runs keep their monthly series


def test_batch_keeps_each_runs_monthly_series_beside_runs_and_deals(kept):
    _toy, out, _runs, _deals, _monthly = kept
    runs = pd.read_parquet(out / "runs")
    monthly = pd.read_parquet(out / "monthly")
    assert (out / "monthly" / "point=0" / "replication-000000.parquet").is_file()
    assert len(monthly) == 6 * len(runs)
    per_run = monthly.groupby([monthly["point"].astype(int), "replication"]).size()
    assert per_run.to_dict() == {(p, r): 6 for p in range(2) for r in range(2)}
    assert runs["monthly_sha256"].notna().all() and runs["deals_sha256"].notna().all()


def test_keep_monthly_with_the_real_model(tmp_path):
    """`keep: monthly` with the model itself: each run's monthly series, the columns of monthly.parquet."""
    exp = tmp_path / "m.yaml"
    exp.write_text("name: m\nbase: baseline\noverrides: {start: 2023-01, end: 2023-03, population.biotechs: 20, "
                   "population.top_mncs: 3, population.mid_size: 3, population.incubators: 1, "
                   "population.regional: 1}\ndesign: {kind: grid}\nparameters:\n"
                   "  drivers.funding.scale: {values: [1.0]}\nreplications: 1\noutcomes: [deals_2024]\n"
                   "keep: monthly\n")
    res = cli("batch", exp, "--out", tmp_path / "o", "--workers", 1, "--no-progress")
    assert res.returncode == 0, res.stderr
    monthly = pd.read_parquet(tmp_path / "o" / "monthly")
    assert len(monthly) == 3 and {"month", "funding_index", "deals", "upfront_usd"} <= set(monthly.columns)
    assert not (tmp_path / "o" / "deals").exists()


def test_report_and_params_never_replace_a_users_own_file(tiny, tmp_path):
    out = tmp_path / "r"
    assert cli("run", tiny, "--out", out, "--workers", 1).returncode == 0
    (out / "report.html").write_text("<html>my own notes</html>")
    one_line_error(cli("report", out), 2, "not a report licsim wrote")
    assert (out / "report.html").read_text() == "<html>my own notes</html>"
    (out / "report.html").unlink()
    assert cli("report", out).returncode == 0 and cli("report", out).returncode == 0  # its own page: replaced
    mine = tmp_path / "params.md"
    mine.write_text("# my table\n")
    one_line_error(cli("params", "--markdown", mine), 2, "not a parameter table licsim wrote")
    assert mine.read_text() == "# my table\n"
    fresh = tmp_path / "fresh.md"
    assert cli("params", "--markdown", fresh).returncode == 0 and cli("params", "--markdown", fresh).returncode == 0


@pytest.mark.filterwarnings("ignore::UserWarning")  # Mesa 3.3.1 trips solara's hook linter
def test_4_an_error_in_a_page_shows_one_line_without_what_it_read():
    """Whatever a page's code raises (in rendering or on a click) reaches the page as one line
    naming only the kind of error; the traceback and the message go to the server's log."""
    pytest.importorskip("networkx")  # mesa.visualization needs it
    import ipyvuetify
    import solara

    from sim.interfaces.dashboard import app

    @solara.component
    def Page():
        def boom():
            raise RuntimeError("root:x:0:0:root:/root:/bin/bash")

        solara.Button("go", on_click=boom)

    _box, rc = solara.render(app._guarded(Page)(), handle_error=False)
    rc.find(ipyvuetify.Btn, children=["go"]).widget.click()
    shown = [w.children for w in rc.find(ipyvuetify.Alert).widgets]
    assert shown == [["something went wrong (RuntimeError); the server's log has the details"]]
    rc.close()


def test_analyze_no_charts_keeps_the_charts_an_earlier_analysis_drew(toy, tmp_path):
    """Issue 18, through the same folder rules: analyze replaces its tables, keeps charts it did not draw."""
    out = tmp_path / "a"
    res = cli("batch", toy, "--out", out, "--workers", 1, "--no-progress", "--run-fn", "sim.experiments.toy:toy_run")
    assert res.returncode == 0, res.stderr
    assert cli("analyze", out).returncode == 0
    charts = sorted(p.name for p in (out / "analysis").glob("*.png"))
    assert charts
    (out / "analysis" / "my_notes.txt").write_text("mine")
    res = cli("analyze", out, "--no-charts")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in (out / "analysis").glob("*.png")) == charts
    assert (out / "analysis" / "my_notes.txt").read_text() == "mine"
