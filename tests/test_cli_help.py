"""The command line as a new user meets it: --version, -h, usage lines, one name for parallelism."""

from __future__ import annotations

import re

import pytest

from sim.interfaces.options import cores
from test_validation import run_cli

COMMANDS = ["analyze", "batch", "calibrate", "compare", "dashboard", "params", "report", "run", "schema",
            "validate"]
PARALLEL = ["batch", "calibrate", "compare", "run", "validate"]


def test_version(monkeypatch, capsys):
    from sim import __version__

    res = run_cli(monkeypatch, capsys, "--version")
    assert res.returncode == 0 and res.stdout.strip() == f"licsim {__version__}"


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_dash_h_is_help_in_the_usual_form(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    args = [command] if command else []
    short = run_cli(monkeypatch, capsys, *args, "-h")
    long = run_cli(monkeypatch, capsys, *args, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout and "Usage:" in short.stdout
    usage = next(line for line in short.stdout.splitlines() if "Usage:" in line)
    # Standard metavars: `licsim run [OPTIONS] SCENARIO`, not {scenario}, <path> or <int range>.
    assert not re.search(r"[{}<>]", usage), usage
    assert not re.search(r"<(bool|path|str|int|int range|float)>", short.stdout), short.stdout
    assert max(len(line) for line in short.stdout.splitlines()) <= 80


@pytest.mark.parametrize("command", PARALLEL)
def test_one_flag_for_parallelism_with_a_truthful_default(command, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")  # the help on one line, to read it whole
    text = run_cli(monkeypatch, capsys, command, "--help").stdout
    assert re.search(r"--workers\s+-w\s+N", text), text
    assert f"one per CPU core, {cores()} here" in text, text
    assert " -j " not in text


def test_params_shows_the_scenarios_value_its_default_and_whether_it_is_fitted(monkeypatch, capsys, tmp_path):
    """`licsim params` showed schema defaults where a user wants the values in effect."""
    from sim.scenarios.loader import load_scenario
    from sim.scenarios.schema import Scenario

    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: s\nextends: baseline\nmnc: {hurdle: 0.4321}\n")
    monkeypatch.setenv("COLUMNS", "80")
    res = run_cli(monkeypatch, capsys, "params", str(scenario), "--grep", "mnc.hurdle")
    assert res.returncode == 0, res.stderr
    value = load_scenario(scenario).mnc.hurdle
    default = Scenario.model_fields["mnc"].get_default(call_default_factory=True).hurdle
    assert value != default  # the baseline's fitted value is not the schema default
    row = next(line for line in res.stdout.splitlines() if line.strip().startswith("mnc.hurdle"))
    assert row.split()[1:] == [f"{value:g}", f"{default:g}", "fitted"], row
    assert max(len(line) for line in res.stdout.splitlines()) <= 80, res.stdout
    # another scenario's own values: trust_shock adds a shock to the trust driver
    res = run_cli(monkeypatch, capsys, "params", "trust_shock", "-g", "drivers.trust")
    assert "shock" in res.stdout and "values of trust_shock" in res.stdout, res.stdout
    # a parameter nobody fits is not marked
    res = run_cli(monkeypatch, capsys, "params", "-g", "population.biotechs")
    row = next(line for line in res.stdout.splitlines() if line.strip().startswith("population.biotechs"))
    assert "fitted" not in row


def test_run_prints_its_yearly_table_in_80_columns(tiny_scenario_file, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "80")
    res = run_cli(monkeypatch, capsys, "run", tiny_scenario_file, "--out", tmp_path / "out", "-w", "1")
    assert res.returncode == 0, res.stderr
    table = res.stdout.split("outputs:")[0]  # then the paths written, as long as they are
    assert max(len(line) for line in table.splitlines()) <= 80, res.stdout
    assert "\u2026" not in table and "2021" in table and "financing" in table
