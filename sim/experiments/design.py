"""Designs: the table of parameter values, one row per design point.

The samplers come from SALib (``latin``, ``sobol`` with Saltelli's scheme, ``morris``);
the grid is ``itertools.product`` over each parameter's values, the first parameter
varying slowest. Point numbers are the row order of the sample, which SALib's analysis
functions rely on.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.experiments.schema import Design


@dataclass(frozen=True)
class Param:
    """One varied parameter, resolved against the base scenario.

    ``kind`` is the type of the scenario field (``float``, ``int``, ``str``, ``bool``):
    sampled floats are rounded for ``int`` fields, and it sets the column's dtype.
    """

    path: str
    kind: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = field(default=())

    def cast(self, x: Any) -> Any:
        if self.kind == "int":
            return int(round(float(x)))
        if self.kind == "float":
            return float(x)
        return x

    def grid_values(self) -> list[Any]:
        if self.values:
            return [self.cast(v) for v in self.values]
        raise ValueError(f"{self.path}: a grid parameter needs values or levels")


def problem(params: list[Param]) -> dict[str, Any]:
    """The SALib problem dictionary of sampled parameters."""
    return {"num_vars": len(params), "names": [p.path for p in params],
            "bounds": [[float(p.low), float(p.high)] for p in params]}


def n_points(design: Design, n_params: int, grid_sizes: list[int] | None = None) -> int:
    """Number of design points without drawing the sample."""
    if design.kind == "grid":
        return math.prod(grid_sizes or [])
    n = int(design.samples or 0)
    if design.kind == "lhs":
        return n
    if design.kind == "sobol":
        return n * (2 * n_params + 2 if design.second_order else n_params + 2)
    if design.kind == "morris":
        return n * (n_params + 1)
    raise ValueError(design.kind)


def sample(design: Design, params: list[Param], seed: int) -> tuple[pd.DataFrame, np.ndarray | None]:
    """Draw the design.

    Returns:
        ``(points, raw)``: ``points`` has a ``point`` column (0, 1, ...) and one column per
        parameter with the values the runs use (rounded for integer fields); ``raw`` is
        the sampler's float matrix (points x parameters), which SALib's analysis needs,
        or ``None`` for a grid.
    """
    raw: np.ndarray | None
    if design.kind == "grid":
        rows = list(itertools.product(*[p.grid_values() for p in params]))
        columns = {p.path: [r[i] for r in rows] for i, p in enumerate(params)}
        raw = None
    else:
        prob = problem(params)
        n = int(design.samples or 0)
        if design.kind == "lhs":
            from SALib.sample import latin

            raw = latin.sample(prob, n, seed=seed)
        elif design.kind == "sobol":
            from SALib.sample import sobol

            raw = sobol.sample(prob, n, calc_second_order=design.second_order, scramble=True, seed=seed)
        elif design.kind == "morris":
            from SALib.sample import morris

            raw = morris.sample(prob, n, num_levels=design.levels, seed=seed)
        else:  # pragma: no cover - the schema allows only the kinds above
            raise ValueError(design.kind)
        raw = np.asarray(raw, dtype=np.float64)
        columns = {p.path: [p.cast(x) for x in raw[:, i]] for i, p in enumerate(params)}
    points = pd.DataFrame({"point": np.arange(len(next(iter(columns.values()))), dtype=np.int64)})
    for p in params:
        points[p.path] = pd.Series(columns[p.path], dtype=_pandas_dtype(p.kind))
    return points, raw


def _pandas_dtype(kind: str) -> str:
    return {"int": "int64", "float": "float64", "bool": "bool"}.get(kind, "object")
