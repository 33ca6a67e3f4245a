"""The experiment file schema: what varies, how it is sampled, how often, what is kept.

An experiment file (``experiments/*.yaml``)::

    name: funding_trust_grid
    base: baseline                  # a shipped scenario's name, or a path relative to this file
    overrides:                      # optional: dotted-path values applied to the base first
      end: 2030-12
    seed: 20240101                  # root seed of the whole experiment (default: the base's seed)
    design:
      kind: grid                    # grid | lhs | sobol | morris
    parameters:                     # scenario paths (sim/scenarios/schema.py) and their ranges
      drivers.funding.scale: {values: [0.6, 1.0, 1.4]}
      drivers.trust.scale: {low: 0.8, high: 1.2, levels: 3}
    replications: 10
    outcomes: [deals_mean_2024_2030, upfront_usd_mean_2024_2030]   # keys of run_summary
    keep: [deals, monthly]          # also keep every run's deal ledger (DIR/deals/) and
                                    # monthly series (DIR/monthly/); save_deals: true = keep: deals

Designs:

* ``grid``: full factorial over each parameter's ``values`` (numbers or words) or
  ``levels`` evenly spaced points from ``low`` to ``high``.
* ``lhs``: ``samples`` Latin-hypercube points, uniform on ``[low, high]``.
* ``sobol``: Saltelli's scheme, ``samples`` = N (a power of two) base points;
  N * (D + 2) points, or N * (2D + 2) with ``second_order: true``.
* ``morris``: ``samples`` trajectories over a ``levels``-level grid; N * (D + 1) points.

Samplers draw floats; a parameter whose scenario field is an integer is rounded.
Cross-field rules (paths exist, values are allowed, outcome names are known) are checked
by :func:`sim.experiments.loader.load_experiment`, which knows the base scenario.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator

from sim.limits import MAX_SEED

DesignKind = Literal["grid", "lhs", "sobol", "morris"]

#: Columns every row of ``DIR/runs`` has before the parameters and outcomes.
KEY_COLUMNS = ("point", "replication", "seed", "status", "error")


class Strict(BaseModel):
    # NaN and infinities are refused in every number of an experiment file
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ParameterSpec(Strict):
    """The range of one varied scenario parameter."""

    low: float | None = Field(None, description="lower bound (samplers; grid with levels)")
    high: float | None = Field(None, description="upper bound (samplers; grid with levels)")
    levels: int | None = Field(None, ge=2, le=1000, description="grid: evenly spaced values from low to high")
    values: list[StrictBool | StrictInt | StrictFloat | StrictStr] | None = Field(
        None, min_length=1, description="grid: the values to try, in order"
    )


class Design(Strict):
    kind: DesignKind = Field(..., description="grid, lhs, sobol or morris")
    samples: int | None = Field(
        None, ge=1, le=10_000_000,
        description="lhs: points; sobol: base sample N (a power of two); morris: trajectories",
    )
    second_order: bool = Field(False, description="sobol: also estimate second-order indices (S2)")
    levels: int = Field(4, ge=2, le=100, description="morris: levels of the grid the trajectories walk on")


class Experiment(Strict):
    name: str = Field(..., description="short name; results go to results/experiments/<name>/")
    description: str = Field("", description="the question the experiment answers")
    base: str = Field(..., min_length=1, description="base scenario: a path relative to this file or a shipped name")
    overrides: dict[str, Any] = Field({}, description="dotted-path values applied to the base scenario")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, description="root seed (default: the base scenario's seed)")
    design: Design
    parameters: dict[str, ParameterSpec] = Field(..., min_length=1,
                                                 description="scenario path -> range or values")
    replications: int = Field(1, ge=1, le=100_000, description="seeded runs per design point")
    outcomes: list[str] | None = Field(None, min_length=1,
                                       description="run_summary keys to keep (default: all of OUTCOMES)")
    save_deals: bool = Field(False, description="also store each run's deal ledger under DIR/deals/")
    keep: list[Literal["deals", "monthly"]] = Field(
        [], description="per-run frames to store beside runs/: deals (DIR/deals/), monthly (DIR/monthly/)")

    @field_validator("keep", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def keeps(self) -> tuple[str, ...]:
        """The frames each run keeps, in a fixed order."""
        wanted = set(self.keep) | ({"deals"} if self.save_deals else set())
        return tuple(k for k in ("deals", "monthly") if k in wanted)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        from sim.scenarios.schema import check_folder_name

        return check_folder_name(value)
