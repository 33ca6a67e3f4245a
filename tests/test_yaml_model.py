"""`sim.scenarios.loader.load_yaml_model`: any pydantic model from a YAML file, with the scenario
loader's one-line `file:line:col: dotted.path: message` errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from sim.errors import UserError
from sim.scenarios.loader import load_scenario, load_yaml_model
from sim.scenarios.schema import Scenario

BAD = Path(__file__).parent / "data" / "bad"


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid")
    low: float
    high: float = Field(1.0, le=10)


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    replications: int = Field(1, ge=1, le=1000)
    ranges: dict[str, Range] = {}
    tags: list[str] = []


def _write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _error(path: Path, model: type[BaseModel] = Spec, **kw) -> str:
    with pytest.raises(UserError) as info:
        load_yaml_model(path, model, **kw)
    message = str(info.value)
    assert "\n" not in message and info.value.exit_code == 2
    return message


def test_valid_file_gives_the_model_and_a_locator(tmp_path):
    path = _write(tmp_path, "name: x\n# a comment\nranges:\n  a: {low: 1, high: 2}\ntags:\n  - one\n  - two\n")
    spec, where = load_yaml_model(path, Spec)
    assert isinstance(spec, Spec) and spec.ranges["a"].high == 2 and spec.tags == ["one", "two"]
    assert where(["name"]) == f"{path}:1:1"
    assert where(["ranges", "a"]) == f"{path}:4:3"
    assert where(["ranges", "a", "high"]) == f"{path}:4:15"
    assert where(["tags", 1]) == f"{path}:7:5"
    assert where(["ranges", "zzz"]) == f"{path}:3:1"  # the deepest place that exists
    assert where([]).startswith(f"{path}:")


@pytest.mark.parametrize("text, expected", [
    ("name: x\nreplicatons: 3\n", ":2:1: replicatons: unknown field; did you mean replications?"),
    ("name: x\nranges: {a: {low: 1, hihg: 2}}\n", ":2:22: ranges.a.hihg: unknown field; did you mean high?"),
    ("name: x\nreplications: 0\n", ":2:1: replications: 0 is out of range; allowed 1 to 1000"),
    ("name: x\nreplications: many\n", ":2:1: replications: expected an integer (got 'many')"),
    ("name: x\nranges: {a: {low: 1, high: 20}}\n", ":2:22: ranges.a.high: 20 is out of range; allowed at most 10"),
    ("replications: 2\n", ":1:1: name: required field is missing"),
    ("name: x\nreplications: 0\ntags: 3\n", "(and 1 more)"),
    ("name: x\nname: y\n", ":2:1: name: duplicate key; each field may appear once"),
    ("name: x\nranges:\n  a: {low: 1}\n  a: {low: 2}\n", ":4:3: ranges.a: duplicate key"),
    ("name: [x\n", ": invalid YAML: "),
    ("- a\n- b\n", ":1:1: the top level must be a mapping of field: value lines (got a list)"),
    ("", "the top level must be a mapping of field: value lines (the file is empty)"),
])
def test_errors_name_file_line_column_and_field(tmp_path, text, expected):
    path = _write(tmp_path, text)
    message = _error(path)
    assert message.startswith(f"{path}:" if expected.startswith(":") else str(path)), message
    assert expected in message, message


def test_invalid_yaml_names_yamls_line():
    message = _error(BAD / "unparsable.yaml", Scenario)
    assert message.startswith(f"{BAD / 'unparsable.yaml'}:3:") and "invalid YAML" in message


def test_missing_file_and_folder_say_what_was_expected(tmp_path):
    assert _error(tmp_path / "nope.yaml") == f"{tmp_path / 'nope.yaml'}: file not found"
    assert _error(tmp_path / "nope.yaml", what="experiment file") == \
        f"{tmp_path / 'nope.yaml'}: experiment file not found"
    assert _error(tmp_path, what="experiment file") == f"{tmp_path}: is a directory, not an experiment file"


@pytest.mark.parametrize("fixture", ["unknown_field.yaml", "wrong_type.yaml", "trust_out_of_range.yaml",
                                     "end_before_start.yaml", "negative_population.yaml",
                                     "success_out_of_range.yaml", "unparsable.yaml"])
def test_same_rules_as_load_scenario(fixture):
    """A scenario file without ``extends`` gives the very same message through either loader."""
    path = BAD / fixture
    with pytest.raises(UserError) as info:
        load_scenario(path)
    assert _error(path, Scenario) == str(info.value)


def test_name_path_renames_a_location(tmp_path):
    path = _write(tmp_path, "name: x\nranges: {a: {low: 1, colour: red}}\n")

    def name(loc, data):
        return f"range {loc[1]}" + "".join(f".{x}" for x in loc[2:]) if loc[:1] == ("ranges",) else None

    assert _error(path, name_path=name) == f"{path}:2:22: range a.colour: unknown field; allowed low, high"
