"""Parameter uncertainty: an ensemble of parameter sets consistent with the targets, and drawing from it.

What this is
------------
An **ensemble of the calibration's best fits with a documented acceptance rule**, built on the
Optuna trials the calibration already ran (no extra simulations). It is not an ABC-SMC
posterior. pyabc (0.13) installs cleanly here, but an ABC-SMC of this model needs of the order
of 10^4 simulations, several hours on the 2-core machine, against a 2-hour budget for a whole
calibration. Its parallel samplers also return different populations for the same seed
depending on which worker finishes first, which breaks the project's rule that the same seed
gives the same outputs. The ensemble keeps the calibration's determinism and resumability: the
trials are in ``optuna.db``, and the ensemble is recomputed from them.

Acceptance rule (``posterior:`` in the experiment file, :class:`sim.analysis.calibration.PosteriorSpec`)
-----------------------------------------------------------------------------------------------------
Among the finished trials, each scored by the calibration loss on the same common-random-number
replications:

* ``rule: quantile`` (default, ABC-style rejection): accept the trials whose loss is at most
  the ``quantile`` (default 0.1) of all finished trials' losses;
* ``rule: within``: accept the trials whose loss is at most the best loss + ``tolerance``;

then keep at least ``min_sets`` and at most ``max_sets`` of them (the lowest losses). Every
accepted set has the same weight (``weight`` = 1 / count). TPE proposes more candidates where
the loss is low, so the ensemble describes the region of good fits the search explored, not a
posterior density. A parameter the targets do not constrain still spreads over its range,
because TPE finds equally good fits across it. So the identifiability ratio below is
informative: small means the targets pin the parameter, near 1 means they do not.

Files (written by ``licsim calibrate`` beside ``optuna.db``, rewritten at the end of every run)
-----------------------------------------------------------------------------------------------
``posterior.parquet``
    One row per accepted parameter set. The columns are the dotted parameter paths (as in
    ``best_params.yaml``), plus ``weight`` (sums to 1), ``trial`` and ``loss``. The Parquet key
    ``licsim`` holds, as JSON, the experiment, the rule, the threshold and the prior ranges.
``identifiability.csv``
    Per parameter: the prior range, the weighted 5/50/95% of the ensemble, and
    ``width_ratio`` = (ensemble 90% width) / (prior 90% width). The prior is uniform on the
    range, in log space for ``log: true`` ranges, where both widths are measured too.
``posterior.png``
    A histogram of each parameter's accepted values on its prior range, titled with the ratio.

Use
---
``licsim run | compare | batch | validate --posterior FILE``: replication r runs with parameter
set :meth:`Posterior.draw` (seed of replication r), applied as overrides of the scenario. The
draw is seeded by the replication's own seed through a separate random stream, so it is
deterministic, and it differs across replications. Intervals across replications then cover
seed noise and parameter uncertainty together. ``compare`` gives A and B the same draw for
each replication, so the pairing holds. A parameter that A and B set differently keeps each
scenario's own value: the comparison is about that change.

A scenario can name its ensemble instead: ``parameters: posterior.parquet`` (relative to the file
that sets it; inherited through ``extends``; ``parameters: null`` in a child drops it). The four
commands then draw from it exactly as with ``--posterior`` (:func:`ensemble`; the same draws,
the same outputs), and ``--posterior FILE`` overrides it. ``compare`` needs A and B to name the
same file (:func:`ensemble_of_pair`); ``calibrate`` and ``backtest`` refuse a scenario that names
one, since they fit one value per parameter. The draw happens where each replication's seed is
known, in the runners: one model alone (``LicensingMarket``, ``sim.model.run.simulate``, the
dashboard, which says so on the page) runs the scenario's own values.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import UserError

__all__ = ["RESERVED", "Posterior", "accept_trials", "ensemble", "ensemble_of_pair", "identifiability",
           "load_posterior", "posterior_figure", "posterior_jobs", "write_posterior"]

#: Columns of posterior.parquet that are not parameters.
RESERVED = ("weight", "trial", "loss")
#: Mixed into each replication's seed so the draw uses its own random stream, not the model's.
_STREAM = 0x706F7374  # "post"


# ------------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Posterior:
    """Accepted parameter sets and their weights, as read from ``posterior.parquet``."""

    path: Path
    sets: pd.DataFrame  # parameter columns only, one row per set
    weights: np.ndarray  # normalised to 1
    digest: str
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    source: str = field(default="--posterior", compare=False)  # or "scenario parameters:"

    @property
    def params(self) -> list[str]:
        return list(self.sets.columns)

    def __len__(self) -> int:
        return len(self.sets)

    def draw(self, seed: int) -> int:
        """The index of the set replication ``seed`` runs with (deterministic in ``seed``)."""
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFFFFFFFFFF, _STREAM])
        return int(rng.choice(len(self.weights), p=self.weights))

    def overrides(self, index: int, skip: Sequence[str] = ()) -> dict[str, Any]:
        """Set ``index`` as dotted overrides (plain Python numbers), without the paths in ``skip``."""
        row = self.sets.iloc[index]
        return {k: _py(row[k]) for k in self.sets.columns if k not in skip}

    def describe(self) -> dict[str, Any]:
        """For manifests: where it came from and how many sets it holds."""
        return {"file": str(self.path), "digest": self.digest, "sets": len(self), "parameters": self.params,
                "rule": self.meta.get("rule"), "source": self.source}


def _py(x: Any) -> Any:
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    return x


def load_posterior(path: str | Path, option: str = "--posterior", source: str = "--posterior") -> Posterior:
    """Read and check ``posterior.parquet``; every problem is one line naming the file and column.

    Args:
        path: The file.
        option: Where the path was given, to open every message (``--posterior``, or
            ``scenario.yaml:4:13: parameters:``).
        source: Where it came from, for manifests (:meth:`Posterior.describe`).
    """
    import pyarrow.parquet as pq

    path = Path(path)
    head = f"{option} {path}"
    made = "a posterior.parquet written by licsim calibrate"
    if not path.is_file():
        raise UserError(f"{head}: no such file; allowed: {made}")
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise UserError(f"{head}: not a Parquet file ({type(exc).__name__}); allowed: {made}") from None
    df = table.to_pandas()
    meta: dict[str, Any] = {}
    raw = (table.schema.metadata or {}).get(b"licsim")
    if raw:
        try:
            meta = json.loads(raw)
        except ValueError:
            meta = {}
    if "weight" not in df.columns:
        raise UserError(f"{head}: no weight column (a posterior has one row per parameter set, columns = dotted "
                        "parameter paths plus weight)")
    params = [c for c in df.columns if c not in RESERVED]
    if not params:
        raise UserError(f"{head}: no parameter columns besides {', '.join(c for c in RESERVED if c in df.columns)}")
    for c in params:
        _check_column(head, c)
    if not len(df):
        raise UserError(f"{head}: no parameter sets (0 rows)")
    for c in [*params, "weight"]:
        if not pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            raise UserError(f"{head}: column {c}: allowed numbers only (found {df[c].dtype})")
        bad = ~np.isfinite(df[c].to_numpy(dtype=float))
        if bad.any():
            raise UserError(f"{head}: column {c}: row {int(np.flatnonzero(bad)[0])} is not a finite number")
    w = df["weight"].to_numpy(dtype=float)
    if (w < 0).any() or w.sum() <= 0:
        raise UserError(f"{head}: column weight: allowed non-negative numbers with a positive sum")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Posterior(path, df[params].reset_index(drop=True), w / w.sum(), digest, meta, source)


def _check_column(head: str, column: str) -> None:
    """A column must be the dotted path of one number of the scenario schema (not the seed)."""
    import difflib

    from sim.scenarios.loader import parameter_path_type
    from sim.scenarios.schema import parameter_table

    if column != "seed" and parameter_path_type(column) in (int, float):
        return
    close = difflib.get_close_matches(column, [r["path"] for r in parameter_table()], n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UserError(f"{head}: column {column} is not a scenario parameter; {hint}allowed: the dotted path of a "
                    f"numeric parameter (licsim params), and {', '.join(RESERVED)}")


def ensemble(scenario: Any, posterior: str | Path | None = None) -> Posterior | None:
    """The ensemble a scenario's replications draw from: ``posterior`` (the ``--posterior`` option)
    when given, which overrides the scenario's own ``parameters:``; else that file; else None."""
    if posterior is not None:
        return load_posterior(posterior)
    path = getattr(scenario, "parameters", None)
    if path is None:
        return None
    return load_posterior(path, option=f"scenario {scenario.name}: parameters:", source="scenario parameters:")


def ensemble_of_pair(a: Any, b: Any, posterior: str | Path | None = None) -> Posterior | None:
    """The one ensemble ``compare`` draws from for both A and B: ``posterior`` when given, else the
    file both scenarios name in ``parameters:`` (the same file, or none for either)."""
    if posterior is not None:
        return load_posterior(posterior)
    pa_, pb = ensemble(a), ensemble(b)
    if pa_ is None and pb is None:
        return None
    if pa_ is None or pb is None or pa_.digest != pb.digest:
        raise UserError(f"scenarios {a.name} and {b.name} refer to different parameter ensembles (parameters: "
                        f"{a.parameters or 'none'} and {b.parameters or 'none'}); compare draws the same set for A "
                        "and B in each replication, so both must name the same file, or give --posterior FILE "
                        "(it overrides both)")
    return pa_


def check_against(posterior: Posterior, scenario: Any, skip: Sequence[str] = ()) -> None:
    """Every set applies to ``scenario`` (paths exist, values allowed), else a one-line error."""
    from sim.scenarios.loader import apply_overrides

    for i in range(len(posterior)):
        try:
            apply_overrides(scenario, posterior.overrides(i, skip))
        except UserError as exc:
            raise UserError(f"{posterior.path}: row {i}: {exc}") from None


def posterior_jobs(scenario: Any, seeds: Sequence[int], posterior: Posterior | None,
                   skip: Sequence[str] = ()) -> tuple[list[tuple[Any, int, int]], list[int | None]]:
    """``(scenario, seed, replication)`` jobs, replication r with the set drawn by seed r, and the draws."""
    from sim.scenarios.loader import apply_overrides

    if posterior is None:
        return [(scenario, int(s), r) for r, s in enumerate(seeds)], [None] * len(seeds)
    jobs, draws = [], []
    cache: dict[int, Any] = {}
    for r, s in enumerate(seeds):
        k = posterior.draw(int(s))
        if k not in cache:
            try:
                cache[k] = apply_overrides(scenario, posterior.overrides(k, skip))
            except UserError as exc:
                raise UserError(f"{posterior.path}: row {k}: {exc}") from None
        jobs.append((cache[k], int(s), r))
        draws.append(k)
    return jobs, draws


def differing(a: Any, b: Any, paths: Sequence[str]) -> list[str]:
    """The paths whose values differ between scenarios ``a`` and ``b``."""
    from sim.analysis.calibration import _get_path

    out = []
    for p in paths:
        try:
            if _get_path(a, p) != _get_path(b, p):
                out.append(p)
        except (KeyError, AttributeError, IndexError, ValueError):
            continue
    return out


# ------------------------------------------------------------------------------- writing


def accept_trials(losses: pd.Series, spec: Any) -> tuple[pd.Index, float]:
    """The accepted trials' index (lowest loss first) and the loss threshold of ``spec``'s rule."""
    s = losses.dropna().sort_values(kind="stable")
    if not len(s):
        return s.index, math.nan
    if spec.rule == "within":
        threshold = float(s.iloc[0] + spec.tolerance)
    else:
        threshold = float(np.quantile(s.to_numpy(), spec.quantile))
    n = int((s <= threshold).sum())
    n = max(min(n, spec.max_sets), min(spec.min_sets, len(s)))
    return s.index[:n], threshold


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cum = np.cumsum(w) - 0.5 * w
    cum /= w.sum()
    return [float(np.interp(q, cum, x)) for q in qs]


def identifiability(sets: pd.DataFrame, weights: np.ndarray, ranges: Mapping[str, Any]) -> pd.DataFrame:
    """Per parameter: prior range, ensemble 5/50/95%, and the ensemble's 90% width over the prior's."""
    rows = []
    for name, rng in ranges.items():
        if name not in sets.columns:
            continue
        log = bool(rng.log)
        x = sets[name].to_numpy(dtype=float)
        tx = np.log(x) if log else x
        p05, p50, p95 = _weighted_quantiles(tx, weights, (0.05, 0.5, 0.95))
        lo, hi = (math.log(rng.low), math.log(rng.high)) if log else (rng.low, rng.high)
        back = (lambda v: math.exp(v)) if log else (lambda v: v)
        rows.append({"parameter": name, "prior_low": rng.low, "prior_high": rng.high, "log": log,
                     "p05": back(p05), "p50": back(p50), "p95": back(p95),
                     "width_ratio": (p95 - p05) / (0.9 * (hi - lo))})
    return pd.DataFrame(rows, columns=["parameter", "prior_low", "prior_high", "log", "p05", "p50", "p95",
                                       "width_ratio"])


def posterior_figure(sets: pd.DataFrame, ident: pd.DataFrame, path: str | Path, title: str) -> Path:
    """Histograms of the accepted values on each parameter's prior range, titled with the width ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.io import write_figure
    from sim.scenarios.schema import parameter_table

    import textwrap

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    table = {r["path"]: r for r in parameter_table()}
    n = len(ident)
    cols = min(3, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, (_, r) in zip(axes.ravel(), ident.iterrows()):
        x = sets[r["parameter"]].to_numpy(dtype=float)
        lo, hi = float(r["prior_low"]), float(r["prior_high"])
        bins = np.geomspace(lo, hi, 21) if r["log"] else np.linspace(lo, hi, 21)
        ax.axvspan(lo, hi, color="grey", alpha=0.12, linewidth=0, label="prior range")
        ax.hist(x, bins=bins, color="C0", alpha=0.85, label="accepted sets")
        ax.axvline(r["p50"], color="C3", lw=1, label="median")
        if r["log"]:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels of a short log axis overlap
        ax.set_xlim(lo, hi)
        row = table.get(r["parameter"], {})
        meaning = textwrap.shorten(row.get("meaning", ""), 48, placeholder="...")
        ax.set_title(f"{r['parameter']}: width ratio {r['width_ratio']:.2f}\n{meaning}", fontsize=8)
        ax.set_xlabel(row.get("unit") or "value", fontsize=8)
        ax.set_ylabel("sets", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    if n:
        axes[0, 0].legend(fontsize=7, loc="upper right")
    fig.suptitle(title + "\nwidth ratio: ensemble 90% width / prior 90% width (log scale for log ranges); "
                 "near 1 = not identified by the targets", fontsize=10)
    fig.tight_layout()
    return write_figure(fig, path, dpi=100)


def write_posterior(history: pd.DataFrame, exp: Any, out: Path) -> tuple[int, float] | None:
    """Write posterior.parquet, identifiability.csv and posterior.png from a calibration's history.

    Args:
        history: ``loss_history.csv``'s frame (trial, state, loss, one column per parameter).
        exp: The loaded experiment (its ``posterior`` rule and parameter ranges).
        out: The calibration's folder.

    Returns:
        (accepted sets, loss threshold), or None when no trial has finished.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sim.io import atomic_path, write_csv

    spec = exp.spec
    names = list(spec.parameters)
    done = history[history["state"] == "COMPLETE"].set_index("trial")
    if not len(done):
        return None
    idx, threshold = accept_trials(done["loss"], spec.posterior)
    sets = done.loc[idx, names].copy()
    for name, rng in spec.parameters.items():
        sets[name] = sets[name].astype("int64" if rng.type == "int" else "float64")
    weights = np.full(len(sets), 1.0 / len(sets))
    frame = sets.reset_index(drop=True)
    frame["weight"] = weights
    frame["trial"] = np.asarray(idx, dtype="int64")
    frame["loss"] = done.loc[idx, "loss"].to_numpy(dtype=float)
    meta = {"experiment": spec.name, "experiment_file": str(exp.path), "scenario": str(exp.scenario_path),
            "rule": spec.posterior.model_dump(), "threshold": threshold, "finished_trials": int(len(done)),
            "ranges": {k: v.model_dump() for k, v in spec.parameters.items()}}
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"licsim": json.dumps(meta).encode()})
    with atomic_path(out / "posterior.parquet") as tmp:
        pq.write_table(table, tmp)
    ident = identifiability(sets, weights, spec.parameters)
    write_csv(ident, out / "identifiability.csv")
    rule = (f"loss within the lowest {spec.posterior.quantile:g} quantile" if spec.posterior.rule == "quantile"
            else f"loss within {spec.posterior.tolerance:g} of the best")
    posterior_figure(sets, ident, out / "posterior.png",
                     f"{spec.name}: {len(sets)} accepted of {len(done)} trials ({rule}, threshold {threshold:.4g})")
    return len(sets), threshold
