"""Scenario loading: extends chains, overrides, and one-line errors with file:line:col."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.scenarios.loader as loader
from sim.errors import UserError
from sim.scenarios import (
    Scenario,
    apply_overrides,
    load_scenario,
    scenario_to_dict,
    shipped_scenarios,
)

BAD = Path(__file__).parent / "data" / "bad"
REPO = Path(__file__).resolve().parents[1]


def write(folder: Path, name: str, text: str) -> Path:
    """Write a dedented YAML file and return its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def load_error(path: Path | str, overrides: dict[str, Any] | None = None) -> str:
    """The UserError message of loading ``path``; fails the test if it loads or spans lines."""
    with pytest.raises(UserError) as info:
        load_scenario(path, overrides)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


# ------------------------------------------------------------------------- bad inputs


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    assert load_error(path) == f"{path}: file not found"


def test_unparsable_yaml_reports_yamls_line() -> None:
    message = load_error(BAD / "unparsable.yaml")
    assert message.startswith(f"{BAD / 'unparsable.yaml'}:3:")
    assert "invalid YAML" in message


@pytest.mark.parametrize(
    ("fixture", "where", "expected"),
    [
        ("unknown_field.yaml", ":4:3:", "drivers.trsut: unknown field; did you mean trust?"),
        ("wrong_type.yaml", ":3:3:", "population.biotechs: expected an integer (got 'many')"),
        ("trust_out_of_range.yaml", ":6:7:", "drivers.trust: point 2024-06 = 1.5 is out of range"),
        ("end_before_start.yaml", ":3:1:", "end 2017-01 is before start 2018-01"),
        ("negative_population.yaml", ":4:3:", "population.biotechs: -3 is out of range; allowed 1 to 20000"),
        ("success_out_of_range.yaml", ":5:5:", "assets.success.phase1 = 1.5; allowed 0 to 1"),
    ],
)
def test_invalid_field_names_file_line_and_field(fixture: str, where: str, expected: str) -> None:
    path = BAD / fixture
    message = load_error(path)
    assert message.startswith(f"{path}{where} "), message
    assert expected in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    path = write(tmp_path, "list.yaml", "- 1\n- 2\n")
    assert load_error(path).startswith(f"{path}:1:1: the top level must be a mapping")
    empty = write(tmp_path, "empty.yaml", "")
    assert "the file is empty" in load_error(empty)


def test_missing_section_field_points_at_section(tmp_path: Path) -> None:
    path = write(tmp_path, "s.yaml", """
        name: s
        drivers:
          funding:
            scale: 1.2
    """)
    assert load_error(path) == f"{path}:3:3: drivers.funding: needs at least one dated point, or a constant"


def test_several_errors_are_counted_on_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "two.yaml", """
        name: two
        seed: 1.5
        mnc: {hurdle: x}
    """)
    message = load_error(path)
    assert message.startswith(f"{path}:2:1: seed: expected an integer")
    assert message.endswith("(and 1 more)")


# ---------------------------------------------------------------------------- extends


def test_circular_extends() -> None:
    a, b = BAD / "circular_a.yaml", BAD / "circular_b.yaml"
    assert load_error(a) == f"{b}:2:1: extends: circular extends chain {a} -> {b} -> {a}"


def test_circular_extends_with_relative_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD.parent)
    message = load_error("bad/circular_a.yaml")
    assert message == ("bad/circular_b.yaml:2:1: extends: circular extends chain "
                       "bad/circular_a.yaml -> bad/circular_b.yaml -> bad/circular_a.yaml")


def test_self_extends() -> None:
    path = BAD / "self_extends.yaml"
    message = load_error(path)
    assert message.startswith(f"{path}:3:1: extends: circular extends chain")
    assert message.count("self_extends.yaml") == 3  # the file, then the chain self -> self


def test_extends_missing_names_the_extends_line() -> None:
    path = BAD / "extends_missing.yaml"
    message = load_error(path)
    assert message.startswith(f"{path}:3:1: extends: scenario 'no_such_scenario_anywhere' not found")


def test_extends_relative_path_deep_merges(tmp_path: Path) -> None:
    write(tmp_path, "parent.yaml", """
        name: parent
        description: the parent
        end: 2025-12
        population: {biotechs: 300, top_mncs: 15}
        drivers:
          trust:
            points: {2018-01: 0.2, 2024-06: 0.5}
            scale: 0.9
        market:
          royalty_rate: {preclinical: 0.05, phase1: 0.05, phase2: 0.1, phase3: 0.1, filed: 0.1, approved: 0.1}
    """)
    (tmp_path / "sub").mkdir()
    child = write(tmp_path / "sub", "child.yaml", """
        extends: ../parent.yaml
        name: child
        population: {biotechs: 100}
        drivers:
          trust:
            scale: 1.1
        market:
          royalty_rate: {phase2: 0.07}
    """)
    sc = load_scenario(child)
    assert sc.name == "child" and sc.extends == "../parent.yaml"
    assert sc.description == "the parent" and sc.end == "2025-12"
    assert (sc.population.biotechs, sc.population.top_mncs) == (100, 15)  # sibling kept
    assert sc.drivers.trust.scale == 1.1
    assert sc.drivers.trust.points == {"2018-01": 0.2, "2024-06": 0.5}  # sibling kept
    assert sc.market.royalty_rate["phase2"] == 0.07
    assert sc.market.royalty_rate["phase1"] == 0.05


def test_a_child_that_sets_points_lets_go_of_an_inherited_constant(tmp_path: Path) -> None:
    write(tmp_path, "flat.yaml", """
        name: flat
        drivers:
          funding: {points: {2018-01: 0.4}, constant: 0.7}
          trust: {points: {2018-01: 0.3}, constant: 0.6}
    """)
    child = write(tmp_path, "child.yaml", """
        extends: flat.yaml
        name: child
        drivers:
          funding: {points: {2020-01: 1.2}}
          trust: {scale: 0.9}
    """)
    sc = load_scenario(child)
    assert sc.drivers.funding.constant is None  # its own points rule, not the parent's constant
    assert sc.drivers.funding.points == {"2018-01": 0.4, "2020-01": 1.2}
    assert sc.drivers.trust.constant == 0.6 and sc.drivers.trust.scale == 0.9  # untouched: still flat
    again = write(tmp_path, "again.yaml", "extends: child.yaml\nname: again\ndrivers: {funding: {constant: 0.5}}\n")
    assert load_scenario(again).drivers.funding.constant == 0.5
    # The same for overrides (a batch varying a dated point of a scenario that holds the driver flat).
    flat = load_scenario(tmp_path / "flat.yaml")
    moved = apply_overrides(flat, {"drivers.trust.points.2030-01": 0.9})
    assert moved.drivers.trust.constant is None and moved.drivers.trust.points["2030-01"] == 0.9
    held = apply_overrides(flat, {"drivers.trust.points.2030-01": 0.9, "drivers.trust.constant": 0.5})
    assert held.drivers.trust.constant == 0.5
    assert apply_overrides(flat, {"drivers.trust.scale": 0.5}).drivers.trust.constant == 0.6


def test_child_inherits_name_and_errors_point_at_the_defining_file(tmp_path: Path) -> None:
    parent = write(tmp_path, "parent.yaml", """
        name: parent
        mnc:
          hurdle: 0.2
          scouting: 3
    """)
    child = write(tmp_path, "child.yaml", f"""
        extends: {parent}
        mnc: {{hurdle: 0.3}}
    """)
    message = load_error(child)
    assert message.startswith(f"{parent}:4:3: mnc.scouting: 3 is out of range; allowed 0 to 1"), message
    ok = write(tmp_path, "ok.yaml", f"extends: {parent}\nmnc: {{scouting: 0.4}}\n")
    sc = load_scenario(ok)
    assert sc.name == "parent" and sc.extends == str(parent) and sc.mnc.hurdle == 0.2


def test_extends_chain_of_three(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "name: a\nseed: 1\npopulation: {biotechs: 10}\n")
    write(tmp_path, "b.yaml", "extends: a.yaml\nname: b\nseed: 2\n")
    c = write(tmp_path, "c.yaml", "extends: b.yaml\nname: c\npopulation: {regional: 3}\n")
    sc = load_scenario(c)
    assert (sc.name, sc.seed, sc.population.biotechs, sc.population.regional) == ("c", 2, 10, 3)
    assert sc.extends == "b.yaml"


def test_extends_shipped_name_in_a_shipped_like_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    write(shipped, "base.yaml", "name: base\nseed: 7\n")
    monkeypatch.setattr(loader, "SHIPPED_DIR", shipped)
    assert shipped_scenarios() == {"base": shipped / "base.yaml"}
    for value in ("base", "base.yaml"):
        child = write(tmp_path, f"child_{value}.yaml", f"extends: {value}\nname: child\n")
        sc = load_scenario(child)
        assert (sc.name, sc.seed, sc.extends) == ("child", 7, value)
    assert load_scenario("base").name == "base"  # a bare shipped name loads the shipped file


@pytest.mark.skipif(not (REPO / "scenarios" / "baseline.yaml").is_file(),
                    reason="scenarios/baseline.yaml is not shipped yet")
def test_extends_real_shipped_baseline(tmp_path: Path) -> None:
    assert "baseline" in shipped_scenarios()
    child = write(tmp_path, "child.yaml", "extends: baseline\nname: child\nmnc: {hurdle: 0.3}\n")
    base = load_scenario(REPO / "scenarios" / "baseline.yaml")
    sc = load_scenario(child)
    assert sc.mnc.hurdle == 0.3
    assert sc.drivers == base.drivers and sc.population == base.population


def test_shipped_scenarios_all_load() -> None:
    for name, path in shipped_scenarios().items():
        assert path.suffix == ".yaml"
        assert load_scenario(path).name  # every shipped scenario is valid


# -------------------------------------------------------------------------- overrides


@pytest.fixture
def base_file(tmp_path: Path) -> Path:
    return write(tmp_path, "base.yaml", """
        name: base
        mnc: {hurdle: 0.3}
    """)


def test_apply_overrides_good_paths(base_file: Path) -> None:
    sc = load_scenario(base_file)
    out = apply_overrides(sc, {
        "drivers.funding.scale": 1.2,
        "mnc.trust_sensitivity": 0.4,
        "population.biotechs": 99,
        "assets.success.phase2": 0.35,
        "drivers.trust.points.2026-01": 0.7,
    })
    assert out.drivers.funding.scale == 1.2
    assert out.drivers.funding.points == sc.drivers.funding.points
    assert out.mnc.trust_sensitivity == 0.4 and out.mnc.hurdle == 0.3
    assert out.population.biotechs == 99 and out.population.top_mncs == sc.population.top_mncs
    assert out.assets.success == {**sc.assets.success, "phase2": 0.35}
    assert out.drivers.trust.points["2026-01"] == 0.7
    assert sc.drivers.funding.scale == 1.0  # the input is not changed
    assert apply_overrides(scenario_to_dict(sc), {"seed": 5}).seed == 5


def test_apply_overrides_fills_missing_sections_from_defaults() -> None:
    out = apply_overrides({"name": "x"}, {"drivers.funding.scale": 2.0, "assets.success.phase1": 0.1})
    default = Scenario(name="x")
    assert out.drivers.funding.points == default.drivers.funding.points
    assert out.assets.success == {**default.assets.success, "phase1": 0.1}


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"mnc.trust_sensitivty": 0.3}, "override mnc.trust_sensitivty: unknown field mnc.trust_sensitivty; "
                                        "did you mean trust_sensitivity?"),
        ({"drivers.fundng.scale": 1.0}, "override drivers.fundng.scale: unknown field drivers.fundng; "
                                        "did you mean funding?"),
        ({"mnc.hurdle.x": 1}, "override mnc.hurdle.x: mnc.hurdle is 0.3, not a mapping"),
        ({"drivers.funding.scale": 500}, "override drivers.funding.scale=500: 500 is out of range; "
                                         "allowed 0 to 100"),
        ({"population.biotechs": "x"}, "override population.biotechs='x': expected an integer"),
        ({"assets.success.phase2": 1.4}, "override assets.success.phase2=1.4: assets.success.phase2 = 1.4; "
                                         "allowed 0 to 1"),
        ({"mnc.novelty_data_weight.me_too": 1.2},
         "override mnc.novelty_data_weight.me_too=1.2: mnc.novelty_data_weight.me_too = 1.2; allowed 0 to 1"),
        ({"market.diligence_novelty_factor.me_too": -0.5},
         "override market.diligence_novelty_factor.me_too=-0.5: market.diligence_novelty_factor.me_too = -0.5; "
         "allowed 0 or more"),
        ({"start": "2031-01"}, "override start='2031-01': end 2030-12 is before start 2031-01"),
        ({"": 1}, "override : empty path segment"),
    ],
)
def test_apply_overrides_bad(base_file: Path, overrides: dict[str, Any], expected: str) -> None:
    sc = load_scenario(base_file)
    with pytest.raises(UserError) as info:
        apply_overrides(sc, overrides)
    assert str(info.value).startswith(expected), str(info.value)
    assert "\n" not in str(info.value)
    # The same override given to load_scenario names the file first.
    assert load_error(base_file, overrides).startswith(f"{base_file}: {expected}")


def test_load_overrides_apply_before_validation(base_file: Path) -> None:
    sc = load_scenario(base_file, {"mnc.hurdle": 0.7, "drivers.trust.scale": 0.5})
    assert sc.mnc.hurdle == 0.7 and sc.drivers.trust.scale == 0.5


# ------------------------------------------------------------------------- properties


@pytest.fixture(scope="module")
def property_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prop")
    write(folder, "parent.yaml", "name: parent\npopulation: {biotechs: 50}\n")
    return write(folder, "child.yaml", "extends: parent.yaml\nname: child\nmnc: {hurdle: 0.2}\n")


finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    funding_scale=st.floats(0.0, 100.0, **finite),
    trust_sensitivity=st.floats(0.0, 1.0, **finite),
    biotechs=st.integers(1, 20000),
    phase2=st.floats(0.0, 1.0, **finite),
    seed=st.integers(0, 2**63 - 1),
)
def test_valid_overrides_validate_and_round_trip(
    property_base: Path, funding_scale: float, trust_sensitivity: float, biotechs: int, phase2: float, seed: int
) -> None:
    overrides = {
        "drivers.funding.scale": funding_scale,
        "mnc.trust_sensitivity": trust_sensitivity,
        "population.biotechs": biotechs,
        "assets.success.phase2": phase2,
        "seed": seed,
    }
    sc = load_scenario(property_base, overrides)
    assert sc.drivers.funding.scale == funding_scale
    assert sc.mnc.trust_sensitivity == trust_sensitivity and sc.mnc.hurdle == 0.2
    assert sc.population.biotechs == biotechs and sc.assets.success["phase2"] == phase2
    data = scenario_to_dict(sc)
    assert Scenario.model_validate(data) == sc
    assert apply_overrides(sc, overrides) == sc


# ------------------------------------------------------------------------------ misc


def test_scenario_to_dict_is_json_able() -> None:
    import json

    sc = Scenario(name="x")
    assert Scenario.model_validate(json.loads(json.dumps(scenario_to_dict(sc)))) == sc


def test_importing_scenarios_does_not_import_mesa() -> None:
    code = "import sys, sim.scenarios; assert 'mesa' not in sys.modules, 'mesa imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
