"""`licsim schema`: the scenario JSON Schema editors use, and the shipped scenarios that name it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from sim.interfaces.commands.schema import MODELINE, schema_text
from test_validation import run_cli

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))


def test_schema_command_prints_and_writes_the_schema(tmp_path, monkeypatch, capsys):
    res = run_cli(monkeypatch, capsys, "schema")
    assert res.returncode == 0
    printed = json.loads(res.stdout)
    assert printed["$schema"].startswith("https://json-schema.org/")
    assert "drivers" in printed["properties"] and printed["additionalProperties"] is False
    out = tmp_path / "s.json"
    res = run_cli(monkeypatch, capsys, "schema", "--out", out)
    assert res.returncode == 0 and json.loads(out.read_text()) == printed


def test_the_shipped_schema_is_current():
    """scenarios/scenario.schema.json is what `licsim schema` writes today (regenerate it with
    `licsim schema -o scenarios/scenario.schema.json` after changing sim/scenarios/schema.py)."""
    assert (ROOT / "scenarios" / "scenario.schema.json").read_text() == schema_text()


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_name_the_schema_and_pass_it(path):
    jsonschema = pytest.importorskip("jsonschema")
    assert path.read_text().splitlines()[0] == MODELINE
    schema = json.loads((ROOT / "scenarios" / "scenario.schema.json").read_text())
    jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_the_schema_catches_what_the_loader_refuses():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_text())
    for bad in ({"name": "x", "drivers": {"trsut": {"points": {"2020-01": 0.5}}}},  # unknown field
                {"name": "x", "population": {"biotechs": "many"}}):                  # wrong type
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
    jsonschema.validate({"extends": "baseline", "drivers": {"funding": {"scale": 1.2}}}, schema)  # a partial child
