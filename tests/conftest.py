"""Shared fixtures: tiny scenarios keep the suite fast."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TINY_YAML = """\
name: tiny
extends: baseline
start: 2021-01
end: 2023-12
population: {biotechs: 60, top_mncs: 6, mid_size: 12, incubators: 3, regional: 6}
# A small market offers few assets; BD teams screen a share of them, so screen more here.
mnc: {attention: 0.15, hurdle: 0.2}
"""


@pytest.fixture
def tiny_scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_YAML)
    return path


@pytest.fixture
def tiny_scenario(tiny_scenario_file: Path):
    from sim.scenarios.loader import load_scenario

    return load_scenario(tiny_scenario_file)


def licsim(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess (as a user would)."""
    return subprocess.run([sys.executable, "-m", "sim.interfaces.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=timeout)
