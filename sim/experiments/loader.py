"""Load and check an experiment file against its base scenario.

Errors follow the scenario rules: one line, ``file:line:col: field: what is wrong``,
raised as :class:`sim.errors.UserError` (exit code 2 on the command line).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from sim.errors import UserError
from sim.limits import MAX_BATCH_RUNS, MAX_DESIGN_PARAMETERS, MAX_DESIGN_POINTS
from sim.experiments.design import Param, n_points
from sim.experiments.schema import KEY_COLUMNS, Experiment
from sim.experiments.seeds import design_seed
from sim.scenarios.loader import load_yaml_model


@dataclass(frozen=True)
class _Doc:
    """The experiment file: its path, and errors for checks made after validation."""

    path: Path
    where: Callable[[Sequence[str | int]], str]

    def error(self, loc: Sequence[str | int], message: str) -> UserError:
        """``file:line:col: dotted.path: message`` for the deepest place along ``loc`` in the file."""
        label = ".".join(str(p) for p in loc)
        return UserError(f"{self.where(loc)}: {label + ': ' if label else ''}{message}")

@dataclass
class LoadedExperiment:
    """An experiment checked against its base scenario, ready to run."""

    experiment: Experiment
    path: Path
    base_path: Path
    scenario: Any  # sim.scenarios.schema.Scenario, the base with the experiment's overrides
    params: list[Param]
    outcomes: tuple[str, ...]
    root_seed: int
    n_points: int

    @property
    def name(self) -> str:
        return self.experiment.name

    @property
    def replications(self) -> int:
        return self.experiment.replications

    @property
    def n_runs(self) -> int:
        return self.n_points * self.experiment.replications

    @property
    def design_seed(self) -> int:
        return design_seed(self.root_seed)

    def scenario_json(self) -> str:
        return self.scenario.model_dump_json()

    def fingerprint(self) -> str:
        """Hash of everything that decides the results (not the description or file location)."""
        # ``keep`` joined the schema later: left out while empty, so older batches still resume
        spec = self.experiment.model_dump(mode="json", exclude={"description"} | ({"keep"} if not
                                                                                  self.experiment.keep else set()))
        # the ensemble's path depends on the working folder; the manifest checks its digest instead
        scenario = {k: v for k, v in json.loads(self.scenario_json()).items() if k != "parameters"}
        blob = json.dumps({"experiment": spec, "scenario": scenario,
                           "params": [p.__dict__ for p in self.params], "outcomes": list(self.outcomes),
                           "root_seed": self.root_seed}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Read, validate and resolve an experiment file."""
    exp, where = load_yaml_model(path, Experiment, what="experiment file")
    doc = _Doc(Path(path), where)
    base_path = _resolve_base(doc, exp.base)
    scenario = _load_scenario(base_path)
    if exp.overrides:
        scenario = _apply(doc, ["overrides"], scenario, exp.overrides)
    if len(exp.parameters) > MAX_DESIGN_PARAMETERS:
        raise doc.error(["parameters"], f"{len(exp.parameters)} parameters; allowed at most "
                                        f"{MAX_DESIGN_PARAMETERS}")
    params = [_param(doc, exp, scenario, path) for path in exp.parameters]
    grid_sizes = [len(p.values) for p in params] if exp.design.kind == "grid" else None
    _check_design(doc, exp, params)
    points = n_points(exp.design, len(params), grid_sizes)
    _check_size(doc, exp, points)
    outcomes = _outcomes(doc, exp)
    root = exp.seed if exp.seed is not None else int(getattr(scenario, "seed", 0))
    return LoadedExperiment(exp, doc.path, base_path, scenario, params, outcomes, root, points)


def _check_size(doc: _Doc, exp: Experiment, points: int) -> None:
    """A design is drawn whole in memory and every run is stored: refuse sizes beyond the limits."""
    loc = ["parameters"] if exp.design.kind == "grid" else ["design", "samples"]
    if points > MAX_DESIGN_POINTS:
        raise doc.error(loc, f"the {exp.design.kind} design has {points:,} points; allowed at most "
                             f"{MAX_DESIGN_POINTS:,}")
    runs = points * exp.replications
    if runs > MAX_BATCH_RUNS:
        raise doc.error(["replications"], f"{points:,} points x {exp.replications:,} replications = {runs:,} runs; "
                                          f"allowed at most {MAX_BATCH_RUNS:,} runs in one batch")


# --------------------------------------------------------------------------- base scenario


def _resolve_base(doc: _Doc, base: str) -> Path:
    """A path relative to the experiment file, an absolute path, or a shipped scenario's name."""
    from sim.scenarios.loader import shipped_scenarios

    p = Path(base).expanduser()
    shipped = shipped_scenarios()
    candidates = [p] if p.is_absolute() else [doc.path.parent / p]
    stem = base[: -len(".yaml")] if base.endswith(".yaml") else base
    if stem in shipped:
        candidates.append(shipped[stem])
    for c in candidates:
        if c.is_file():
            return c
    close = difflib.get_close_matches(stem, list(shipped), n=1)
    hint = f"; did you mean {close[0]}?" if close else (f"; shipped: {', '.join(shipped)}" if shipped else "")
    raise doc.error(["base"], f"no scenario {base!r} (a path relative to the experiment file, or a shipped "
                              f"scenario's name){hint}")


def _load_scenario(path: Path) -> Any:
    from sim.scenarios.loader import load_scenario

    return load_scenario(path)


def _apply(doc: _Doc, loc: list[Any], scenario: Any, overrides: dict[str, Any]) -> Any:
    """``apply_overrides`` with errors pointed at the experiment file."""
    from sim.scenarios.loader import apply_overrides

    try:
        return apply_overrides(scenario, overrides)
    except UserError as exc:
        raise doc.error(loc, str(exc)) from None
    except (ValueError, TypeError, KeyError) as exc:  # a loader that lets pydantic errors through
        raise doc.error(loc, " ".join(str(exc).split())) from None


# ------------------------------------------------------------------------------ parameters


def leaf_paths(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Every single-valued setting of a scenario as ``{dotted.path: value}``."""
    out: dict[str, Any] = {}
    items: Any
    if isinstance(obj, BaseModel):
        items = ((k, getattr(obj, k)) for k in type(obj).model_fields)
    elif isinstance(obj, dict):
        items = obj.items()
    else:
        return {prefix[:-1]: obj}
    for k, v in items:
        out.update(leaf_paths(v, f"{prefix}{k}."))
    return out


def _lookup(scenario: Any, path: str) -> Any:
    obj = scenario
    for part in path.split("."):
        if isinstance(obj, BaseModel) and part in type(obj).model_fields:
            obj = getattr(obj, part)
        elif isinstance(obj, dict) and part in obj:
            obj = obj[part]
        else:
            raise KeyError(path)
    return obj


def _param(doc: _Doc, exp: Experiment, scenario: Any, path: str) -> Param:
    loc = ["parameters", path]
    spec = exp.parameters[path]
    if path in KEY_COLUMNS or path in ("name", "extends", "parameters"):
        raise doc.error(loc, f"{path!r} cannot be varied (the experiment sets it for every run)")
    try:
        current = _lookup(scenario, path)
    except KeyError:
        close = difflib.get_close_matches(path, list(leaf_paths(scenario)), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise doc.error(loc, f"not a scenario parameter{hint}") from None
    if isinstance(current, (BaseModel, dict, list)):
        leaves = [k for k in leaf_paths(current, path + ".")][:3]
        raise doc.error(loc, f"is a group of settings, not one value; vary one of its fields, "
                             f"e.g. {', '.join(leaves)}")
    kind = ("bool" if isinstance(current, bool) else "int" if isinstance(current, int)
            else "float" if isinstance(current, float) else "str")
    design = exp.design.kind
    if spec.values is not None:
        if design != "grid":
            raise doc.error(loc + ["values"], f"a {design} design samples between low and high; values are "
                                              "for grid designs")
        if spec.low is not None or spec.high is not None or spec.levels is not None:
            raise doc.error(loc, "give either values or low/high (with levels for a grid), not both")
        values = list(spec.values)
        for i, v in enumerate(values):
            if kind in ("int", "float") and (isinstance(v, bool) or not isinstance(v, (int, float))):
                raise doc.error(loc + ["values", i], f"{v!r} is not a number; {path} is a number")
            if kind == "int" and float(v) != int(v):
                raise doc.error(loc + ["values", i], f"{v!r} is not a whole number; {path} is an integer")
            if kind in ("str", "bool") and type(v) is not type(current):
                raise doc.error(loc + ["values", i], f"{v!r} is not a {kind}; {path} is a {kind} "
                                                     f"(e.g. {current!r})")
        cast = [Param(path, kind).cast(v) for v in values]
        if len(set(map(repr, cast))) != len(cast):
            raise doc.error(loc + ["values"], "values repeat; each grid value must be different")
        for i, v in enumerate(cast):
            _apply(doc, loc + ["values", i], scenario, {path: v})
        return Param(path, kind, values=tuple(cast))
    if spec.low is None or spec.high is None:
        need = "values, or low, high and levels" if design == "grid" else "low and high"
        raise doc.error(loc, f"needs {need}")
    if kind not in ("int", "float"):
        raise doc.error(loc, f"{path} is a {kind} ({current!r}); only numbers can be sampled between low and high"
                             + ("; list the values in a grid design" if kind == "str" else ""))
    if not (math.isfinite(spec.low) and math.isfinite(spec.high)) or spec.low >= spec.high:
        raise doc.error(loc, f"low ({spec.low:g}) must be below high ({spec.high:g})")
    if design == "grid":
        if spec.levels is None:
            raise doc.error(loc, "a grid parameter with low and high needs levels (how many values)")
        import numpy as np

        values = [Param(path, kind).cast(x) for x in np.linspace(spec.low, spec.high, spec.levels)]
        if len(set(values)) != len(values):
            raise doc.error(loc + ["levels"], f"{spec.levels} levels between {spec.low:g} and {spec.high:g} repeat "
                                              "after rounding to whole numbers; use fewer levels")
        for v in (values[0], values[-1]):
            _apply(doc, loc, scenario, {path: v})
        return Param(path, kind, low=spec.low, high=spec.high, values=tuple(values))
    if spec.levels is not None:
        raise doc.error(loc + ["levels"], f"levels is for grid designs; a {design} design samples between "
                                          "low and high")
    for bound in ("low", "high"):
        _apply(doc, loc + [bound], scenario, {path: Param(path, kind).cast(getattr(spec, bound))})
    return Param(path, kind, low=float(spec.low), high=float(spec.high))


def _check_design(doc: _Doc, exp: Experiment, params: list[Param]) -> None:
    d = exp.design
    if d.kind == "grid":
        if d.samples is not None:
            raise doc.error(["design", "samples"], "a grid design has no samples; its size is the product of "
                                                   "the parameters' values")
        return
    if d.samples is None:
        what = {"lhs": "number of points", "sobol": "base sample N, a power of two",
                "morris": "number of trajectories"}[d.kind]
        raise doc.error(["design"], f"a {d.kind} design needs samples ({what})")
    if d.kind == "sobol":
        if d.samples & (d.samples - 1):
            lower = 1 << (d.samples.bit_length() - 1)
            raise doc.error(["design", "samples"], f"{d.samples} is not a power of two (Sobol' sequences need "
                                                   f"one); try {lower} or {lower * 2}")
        if len(params) < 2:
            raise doc.error(["parameters"], "a sobol design needs at least two parameters")
    if d.kind == "morris" and d.samples < 2:
        raise doc.error(["design", "samples"], "a morris design needs at least 2 trajectories")


# -------------------------------------------------------------------------------- outcomes


def known_outcomes() -> list[str] | None:
    """The outcome names ``run_summary`` produces, or None where metrics does not list them yet."""
    try:
        from sim.analysis.metrics import OUTCOMES
    except ImportError:
        return None
    return list(OUTCOMES)


def _outcomes(doc: _Doc, exp: Experiment) -> tuple[str, ...]:
    known = known_outcomes()
    if exp.outcomes is None:
        if not known:
            raise doc.error(["outcomes"], "list the run_summary outcomes to keep")
        return tuple(known)
    seen: set[str] = set()
    for i, name in enumerate(exp.outcomes):
        if name in seen:
            raise doc.error(["outcomes", i], f"{name} is listed twice")
        seen.add(name)
        if name in KEY_COLUMNS or name in exp.parameters:
            raise doc.error(["outcomes", i], f"{name} is already a column (a key or a parameter)")
        if known is not None and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]}?" if close else f"known: {_patterns(known)}"
            raise doc.error(["outcomes", i], f"unknown outcome {name!r}; {hint}")
    return tuple(exp.outcomes)


def _patterns(names: list[str]) -> str:
    """Outcome names with years folded (``deals_YYYY``), so the list fits on a line."""
    import re

    folded = list(dict.fromkeys(re.sub(r"(?<=_)(19|20)\d\d(?=_|$)", "YYYY", n) for n in names))
    return ", ".join(folded)
