"""Scenarios: the pydantic schema (every parameter's home) and the YAML loader.

Importing this package pulls in pydantic and PyYAML only (no Mesa), so the CLI and the
dashboard can validate scenarios cheaply.
"""

from sim.scenarios.loader import (
    SHIPPED_DIR,
    apply_overrides,
    load_scenario,
    load_yaml_model,
    scenario_to_dict,
    shipped_scenarios,
)
from sim.scenarios.schema import Scenario

__all__ = [
    "SHIPPED_DIR",
    "Scenario",
    "apply_overrides",
    "load_scenario",
    "load_yaml_model",
    "scenario_to_dict",
    "shipped_scenarios",
]
