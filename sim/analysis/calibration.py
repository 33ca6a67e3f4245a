"""Calibration: fit a scenario's free parameters to the targets with Optuna (TPE), resumably.

Method
------
* The experiment file (``experiments/calibration.yaml``) names the scenario, the targets file,
  and the free parameters as dotted scenario paths with ranges (``mnc.hurdle: {low: 0.05,
  high: 0.5}``; ``log: true`` for scale parameters; ``type: int`` for counts). Everything else
  in the scenario stays as written - in particular the driver series, which are data.
* Each candidate is run ``replications`` times with the **same seeds** for every candidate
  (common random numbers: seeds from ``SeedSequence(seed).spawn(replications)``), so two
  candidates are compared on the same futures and the loss surface is smooth in the
  parameters rather than re-drawn at every trial.
* Loss of a candidate = sum over gating targets of ``weight * (d**2 + fail_penalty * failed +
  inside_weight * c**2)`` where ``d`` is the distance of the replication mean outside the band
  in units of the target's scale (half the band width; 10 points for shares without a band;
  25% of the reference for other thresholds and directions), ``failed`` is 1 when the target
  fails, and ``c`` (at most 1 in size) is the distance from the observed value inside the band,
  which pulls fits towards the centre of the bands. Informational targets count with
  ``info_weight`` (0 by default).
* Sampler: Optuna's TPE (multivariate, constant liar so that a batch of candidates evaluated in
  parallel is spread out), seeded from the experiment seed (and the number of finished trials,
  so a resumed run does not replay its first proposals). The scenario as written is enqueued
  as the first candidate (``include_start``), so a fit is never worse than the starting point.
* Storage: ``<out>/optuna.db`` (SQLite). Running the same command again resumes: finished
  trials are kept, trials left running by an interrupted run are re-queued, and the run goes
  on until ``trials`` trials have finished. A changed experiment (parameters, ranges, targets,
  replications, seed, or the fixed part of the scenario) is refused unless ``--fresh``.
* ``simulate_until`` (optional) ends the candidates' runs early: the model is causal, so the
  months up to the last target are the same whatever the scenario's end; the confirmation
  rerun uses the scenario's own end, as ``licsim validate`` does.
* Candidate values are rounded to ``significant_digits`` before they are run, so the values in
  ``best_params.yaml`` reproduce the recorded loss exactly.
* Outputs (rewritten after every batch, atomically): ``loss_history.csv`` (every trial:
  loss, targets passed, parameters, best so far), ``best_params.yaml`` (dotted overrides and a
  nested patch to paste into the scenario), ``scorecard.csv`` (the best candidate's scorecard),
  and with ``confirm_replications`` also ``scorecard_confirm.csv``: the best candidate rerun
  with more replications, since the best of many noisy candidates flatters itself. With
  ``select_top`` K > 1 the K lowest-loss trials are all rerun on those held-out replications (root
  seed: the experiment's + 1, disjoint from the scenario's seed that ``licsim validate`` reports on) and
  the one passing most targets is kept (``selection.csv``; ties: lower held-out loss).
* The finished trials also give an ensemble of parameter sets consistent with the targets
  (``posterior.parquet``, ``identifiability.csv``, ``posterior.png``), accepted by the rule in the
  experiment's ``posterior:`` section; :mod:`sim.analysis.posterior` documents it. Running the
  command again with ``--trials`` at or below the finished count rewrites every output, the
  ensemble included, without running a trial.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.analysis.validation import (
    DEFAULT_RUNNER,
    RunFailed,
    Scorecard,
    TargetSet,
    evaluate,
    load_targets,
    map_runs,
    prepare_runs,
    print_scorecard,
    replication_seeds,
)
from sim.errors import UserError
from sim.scenarios.loader import load_yaml_model

__all__ = ["CalibrationResult", "Experiment", "check_experiment", "fit_experiment", "load_experiment", "loss_of",
           "run_calibration"]


# ------------------------------------------------------------------------------ experiment


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ParamRange(_Strict):
    low: float
    high: float
    log: bool = False
    type: Literal["float", "int"] = "float"
    note: str = ""

    @model_validator(mode="after")
    def _ok(self) -> "ParamRange":
        if not self.low < self.high:
            raise ValueError(f"low ({self.low:g}) must be below high ({self.high:g})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        if self.type == "int" and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError("an int range needs whole-number low and high")
        return self


class LossSpec(_Strict):
    fail_penalty: float = Field(1.0, ge=0)
    inside_weight: float = Field(0.1, ge=0)
    info_weight: float = Field(0.0, ge=0)


class BacktestSpec(_Strict):
    """``backtest:`` in an experiment file: the size of ``licsim backtest``'s fit and forecast.

    Unset fit fields take the experiment's own values; ``--trials`` and ``--replications`` on the
    command line replace ``trials`` and ``replications`` here."""

    trials: int | None = Field(None, ge=1, le=100000)
    confirm_replications: int | None = Field(None, ge=0, le=10000)
    select_top: int | None = Field(None, ge=1, le=100)
    replications: int = Field(20, ge=1, le=10000)  # forecast replications of the fitted model
    seed: int | None = Field(None, ge=0)  # forecast root seed (default: the scenario's, as validate's)
    out: str | None = None  # the record folder (default: results/backtest/<name>_<cutoff>)


class PosteriorSpec(_Strict):
    """``posterior:`` in an experiment file: which trials form the parameter ensemble
    (:mod:`sim.analysis.posterior` documents the rule)."""

    rule: Literal["quantile", "within"] = "quantile"
    quantile: float = Field(0.1, gt=0, le=1)  # rule quantile: accept losses up to this quantile
    tolerance: float | None = Field(None, ge=0)  # rule within: accept losses up to best + tolerance
    min_sets: int = Field(10, ge=1, le=100000)  # at least this many (the lowest losses), when there are
    max_sets: int = Field(200, ge=1, le=100000)  # at most this many (the lowest losses)

    @model_validator(mode="after")
    def _ok(self) -> "PosteriorSpec":
        if self.rule == "within" and self.tolerance is None:
            raise ValueError("rule within needs tolerance: the loss above the best that is still accepted")
        if self.min_sets > self.max_sets:
            raise ValueError(f"min_sets ({self.min_sets}) must not exceed max_sets ({self.max_sets})")
        return self


class Experiment(_Strict):
    """A calibration experiment file."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str = ""
    scenario: str
    targets: str = "targets.yaml"
    method: Literal["optuna-tpe", "optuna-cmaes"] = "optuna-tpe"
    sigma0: float = Field(0.1, gt=0, le=1)  # optuna-cmaes: first step size, as a share of each range
    replications: int = Field(4, ge=1, le=1000)
    seed: int = Field(20240101, ge=0)
    trials: int = Field(200, ge=1, le=100000)
    startup_trials: int = Field(20, ge=1)
    # Candidates asked of the sampler at a time (batch x replications runs in flight). Part of the
    # experiment, not of the machine, so the trials do not depend on --workers or the executor.
    batch: int = Field(1, ge=1, le=256)
    include_start: bool = True
    confirm_replications: int = Field(0, ge=0, le=10000)
    select_top: int = Field(1, ge=1, le=100)
    significant_digits: int = Field(4, ge=2, le=15)
    simulate_until: str | None = Field(None, pattern=r"^\d{4}-\d{2}$")
    out: str | None = None
    loss: LossSpec = LossSpec()
    backtest: BacktestSpec = BacktestSpec()
    posterior: PosteriorSpec = PosteriorSpec()
    parameters: dict[str, ParamRange]

    @model_validator(mode="after")
    def _some(self) -> "Experiment":
        if not self.parameters:
            raise ValueError("parameters: name at least one free parameter (dotted path: {low, high})")
        return self


@dataclass
class LoadedExperiment:
    spec: Experiment
    path: Path
    scenario_path: Path
    targets_path: Path
    #: ``file:line:col`` of a field path in the experiment file (for checks made after loading).
    where: Callable[[Sequence[str | int]], str] | None = field(default=None, repr=False, compare=False)


def _resolve_file(value: str, base: Path) -> Path:
    p = Path(value).expanduser()
    if p.is_absolute():
        return p
    for cand in (base / p, Path.cwd() / p):
        if cand.exists():
            return _short(cand)
    return _short(base / p)


def _short(path: Path) -> Path:
    """The path resolved, and relative to the working folder when it lies under it."""
    path = path.resolve()
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def load_experiment(path: str | Path) -> LoadedExperiment:
    """Read an experiment file; paths inside it are relative to the file (or the working folder)."""
    path = Path(path)
    spec, where = load_yaml_model(path, Experiment, what="experiment file")
    base = path.resolve().parent
    scenario_path = _resolve_file(spec.scenario, base)
    if not scenario_path.exists() and len(Path(spec.scenario).parts) == 1:
        scenario_path = Path(spec.scenario)  # a shipped scenario's name; load_scenario resolves it
    return LoadedExperiment(spec, path, scenario_path, _resolve_file(spec.targets, base), where)


def _start_point(exp: LoadedExperiment, base: Any) -> dict[str, Any]:
    """The scenario's own values of the free parameters, inside their ranges."""
    start: dict[str, Any] = {}
    for name, rng in exp.spec.parameters.items():
        value = _get_path(base, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UserError(f"{exp.path}: parameters.{name}: the scenario's value {value!r} is not a number, so it "
                            "cannot start the search; set it in the scenario or use include_start: false with "
                            "method optuna-tpe")
        v = float(value)
        start[name] = int(min(max(round(v), rng.low), rng.high)) if rng.type == "int" else \
            min(max(v, rng.low), rng.high)
    return start


#: command-line option of each experiment field a run may replace
SETTING_OPTIONS = {"method": "--method", "sigma0": "--sigma0", "replications": "--replications"}


def _with_settings(exp: LoadedExperiment, settings: Mapping[str, Any]) -> Experiment:
    """The experiment with some top-level fields replaced; a bad value names its option."""
    from pydantic import ValidationError

    given = {k: v for k, v in settings.items() if v is not None}
    unknown = sorted(set(given) - set(SETTING_OPTIONS))
    if unknown:
        raise UserError(f"{exp.path}: {', '.join(unknown)} cannot be set for a run; allowed: {', '.join(SETTING_OPTIONS)}")
    try:
        spec = Experiment.model_validate({**exp.spec.model_dump(), **given})
    except ValidationError as exc:
        err = next(e for e in exc.errors() if e["loc"] and e["loc"][0] in given)  # the file itself was valid
        key = err["loc"][0]
        raise UserError(f"{SETTING_OPTIONS[key]} {given[key]}: {err['msg']}") from None
    if settings.get("sigma0") is not None and spec.method != "optuna-cmaes":
        raise UserError(f"--sigma0 {settings['sigma0']}: applies to method optuna-cmaes only (this run: {spec.method})")
    return spec


def _get_path(data: Any, dotted: str) -> Any:
    node = data
    for seg in dotted.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, seg)
        elif isinstance(node, Mapping):
            node = node[seg]
        elif isinstance(node, list):
            node = node[int(seg)]
        else:
            raise KeyError(dotted)
    return node


def _nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        node = out
        segs = key.split(".")
        for s in segs[:-1]:
            node = node.setdefault(s, {})
        node[segs[-1]] = value
    return out


def _round(value: float, digits: int, kind: str) -> float | int:
    if kind == "int":
        return int(round(value))
    if value == 0 or not math.isfinite(value):
        return float(value)
    return float(f"{value:.{digits}g}")


# ------------------------------------------------------------------------------------ loss


def loss_of(card: Scorecard, spec: LossSpec) -> tuple[float, dict[str, float]]:
    """The calibration loss of a scorecard, and each target's term."""
    terms: dict[str, float] = {}
    for _, r in card.table.iterrows():
        w = float(r["weight"]) * (1.0 if r["gate"] else spec.info_weight)
        if w == 0:
            continue
        d = float(r["distance"])
        c = float(r["centrality"])
        term = d * d + (0.0 if r["passed"] else spec.fail_penalty) + spec.inside_weight * c * c
        terms[str(r["id"])] = w * term
    return float(sum(terms.values())), terms


# ------------------------------------------------------------------------------ the study


def _fingerprint(exp: LoadedExperiment, base: Any, targets: TargetSet) -> dict[str, str]:
    spec = exp.spec
    data = base.model_dump(mode="json")
    for key in spec.parameters:  # the fixed part of the scenario only
        segs = key.split(".")
        node = data
        for s in segs[:-1]:
            node = node.get(s, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(segs[-1], None)
    for k in ("name", "description", "extends", "seed"):
        data.pop(k, None)
    parts = {
        "parameters": json.dumps({k: v.model_dump(exclude={"note"}) for k, v in spec.parameters.items()},
                                 sort_keys=True),
        "targets": targets.digest or "",
        "runs": json.dumps([spec.replications, spec.seed, spec.simulate_until]),
        "loss": spec.loss.model_dump_json(),
        "scenario": json.dumps(data, sort_keys=True),
    }
    if spec.method != "optuna-tpe":  # (TPE studies recorded before there was a choice keep their fingerprint)
        parts["method"] = json.dumps([spec.method, spec.sigma0])
    return {k: hashlib.sha256(v.encode()).hexdigest()[:16] for k, v in parts.items()}


@dataclass
class CalibrationResult:
    best_params: dict[str, Any]
    best_loss: float
    best_trial: int
    scorecard: pd.DataFrame
    history: pd.DataFrame
    out: Path
    confirm: Scorecard | None = None


def _open_study(out: Path, name: str, fresh: bool):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    db = out / "optuna.db"
    if fresh and db.exists():
        db.unlink()
    storage = optuna.storages.RDBStorage(f"sqlite:///{db.resolve()}",
                                         engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.create_study(study_name=name, storage=storage, direction="minimize", load_if_exists=True)


def _sampler(spec: Experiment, n_done: int, start: dict[str, Any]):
    """TPE (global, model-based) or CMA-ES (a local search from the scenario's own values, ``start``,
    with first steps of ``sigma0`` times each parameter's range, in log space for log ranges)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if spec.method == "optuna-cmaes":
            # x0/sigma0 are deprecated in Optuna 4.9 (moving to OptunaHub) but kept until 6.0;
            # constraints.txt pins 4.x. The optimiser's state is stored with the trials, so a
            # resumed run goes on from the same generation.
            warnings.simplefilter("ignore", FutureWarning)
            return optuna.samplers.CmaEsSampler(x0=start, sigma0=spec.sigma0, seed=spec.seed % (2**32),
                                                n_startup_trials=1, with_margin=any(
                                                    r.type == "int" for r in spec.parameters.values()),
                                                warn_independent_sampling=False)
        return optuna.samplers.TPESampler(seed=(spec.seed + 7919 * n_done) % (2**32),
                                          n_startup_trials=spec.startup_trials, multivariate=True,
                                          constant_liar=True)


def _history(study: Any, names: list[str]) -> pd.DataFrame:
    from optuna.trial import TrialState

    rows = []
    best = math.inf
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        if t.state == TrialState.RUNNING:
            continue
        loss = t.value if t.state == TrialState.COMPLETE else math.nan
        if t.state == TrialState.COMPLETE and loss is not None and loss < best:
            best = loss
        vals = t.user_attrs.get("values", t.params)
        dur = (t.datetime_complete - t.datetime_start).total_seconds() \
            if t.datetime_complete and t.datetime_start else math.nan
        rows.append({"trial": t.number, "state": t.state.name, "loss": loss,
                     "best_so_far": best if math.isfinite(best) else math.nan,
                     "passed": t.user_attrs.get("passed"), "gated": t.user_attrs.get("gated"),
                     "failing": " ".join(t.user_attrs.get("failing", [])),
                     **{n: vals.get(n) for n in names}, "duration_s": dur,
                     "finished": t.datetime_complete, "error": t.user_attrs.get("error", "")})
    return pd.DataFrame(rows)


def _trial_overrides(trial: Any, names: list[str]) -> dict[str, Any]:
    """A trial's candidate as dotted overrides: the rounded values it ran with."""
    values = trial.user_attrs.get("values", trial.params)
    return {k: values[k] for k in names if k in values}


def selection_seed(experiment_seed: int, scenario_seed: int) -> int:
    """Root seed of the selection replications: disjoint from the fit's and from validate's."""
    seed = experiment_seed + 1
    return seed + 1 if seed == scenario_seed else seed


def _write_outputs(study: Any, exp: LoadedExperiment, out: Path, seeds: list[int],
                   chosen: int | None = None, selection_note: str = "") -> CalibrationResult | None:
    from optuna.trial import TrialState

    from sim.io import atomic_path, write_csv

    names = list(exp.spec.parameters)
    hist = _history(study, names)
    write_csv(hist, out / "loss_history.csv")
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        return None
    if chosen is None:
        best = min(done, key=lambda t: (t.value, t.number))
    else:
        best = next(t for t in done if t.number == chosen)
    overrides = _trial_overrides(best, names)
    card = pd.DataFrame(best.user_attrs.get("scorecard", []))
    for col in ("band_low", "band_high"):
        if col in card.columns:
            card[col] = card[col].astype(float).replace({1e308: np.inf, -1e308: -np.inf})
    write_csv(card, out / "scorecard.csv")
    header = (f"# Best fit of {exp.path} (trial {best.number}; {len(done)} trials finished),\n"
              f"# written by `licsim calibrate` on {time.strftime('%Y-%m-%d %H:%M')}.\n"
              f"# loss {best.value:.4g}; {best.user_attrs.get('passed')}/{best.user_attrs.get('gated')} targets pass "
              f"on {exp.spec.replications} replications (root seed {exp.spec.seed}).\n"
              f"{selection_note}"
              f"# Apply: paste scenario_patch into {exp.scenario_path}, or\n"
              f"#   load_scenario(path, overrides=overrides) / apply_overrides(scenario, overrides).\n")
    doc = {
        "experiment": exp.spec.name, "experiment_file": str(exp.path), "scenario": str(exp.scenario_path),
        "targets": str(exp.targets_path), "method": exp.spec.method,
        **({"sigma0": exp.spec.sigma0} if exp.spec.method == "optuna-cmaes" else {}), "trial": best.number,
        "loss": float(best.value), "targets_passed": best.user_attrs.get("passed"),
        "targets_gated": best.user_attrs.get("gated"), "failing": best.user_attrs.get("failing", []),
        "replications": exp.spec.replications, "root_seed": exp.spec.seed, "seeds": seeds,
        "overrides": overrides,
        "scenario_patch": _nest(overrides),
    }
    with atomic_path(out / "best_params.yaml") as tmp:
        tmp.write_text(header + yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=100))
    return CalibrationResult(dict(doc["overrides"]), float(best.value), best.number, card, hist, out)


def run_calibration(experiment: str | Path, *, trials: int | None = None, out: str | Path | None = None,
                    workers: int | None = None, fresh: bool = False, confirm: int | None = None,
                    timeout_minutes: float | None = None, runner: str = DEFAULT_RUNNER,
                    console: Any = None, settings: Mapping[str, Any] | None = None,
                    scheduler: str | None = None, cluster: str | None = None) -> CalibrationResult:
    """Fit the experiment's free parameters; resumable from ``<out>/optuna.db``.

    ``settings`` replaces top-level fields of the experiment file for this run (the command line's
    ``--method``, ``--sigma0``, ``--replications``): the same free parameters refined another way.
    ``workers``, ``scheduler`` and ``cluster`` choose where candidates run, as for ``licsim batch``
    (:func:`sim.experiments.executors.make_executor`); the results do not depend on them."""
    exp = load_experiment(experiment)
    if settings:
        exp = replace(exp, spec=_with_settings(exp, settings))
    return fit_experiment(exp, load_targets(exp.targets_path), trials=trials, out=out, workers=workers,
                          fresh=fresh, confirm=confirm, timeout_minutes=timeout_minutes, runner=runner,
                          console=console, scheduler=scheduler, cluster=cluster)


def check_experiment(exp: LoadedExperiment) -> tuple[Any, Any]:
    """The experiment's scenario as written and as its candidates run (ended at ``simulate_until``),
    after checking that every free parameter's path exists and both ends of its range are allowed.
    Writes nothing, so callers can check all their input before they create a folder."""
    from sim.scenarios.loader import apply_overrides, load_scenario

    spec = exp.spec
    full = base = load_scenario(exp.scenario_path)
    if full.parameters is not None:  # its runs would ignore the ensemble: say so instead
        at = exp.where(["scenario"]) if exp.where else exp.path
        raise UserError(f"{at}: scenario: {exp.scenario_path} refers to a parameter ensemble (parameters: "
                        f"{full.parameters}); a calibration fits one value per parameter: allowed a scenario "
                        "without one (the one it extends, or one that sets parameters: null)")
    if spec.simulate_until:  # the model is causal: months up to the targets do not depend on the end
        base = apply_overrides(base, {"end": spec.simulate_until})
    for name, rng in spec.parameters.items():  # every path exists and both ends are allowed
        for v in (rng.low, rng.high):
            try:
                apply_overrides(base, {name: int(v) if rng.type == "int" else v})
            except UserError as exc:
                at = exp.where(["parameters", name]) if exp.where else exp.path
                raise UserError(f"{at}: parameters.{name}: {exc}") from None
    return full, base


def default_out(spec: Experiment) -> Path:
    """Where a calibration writes when neither ``--out`` nor the file says."""
    return Path(spec.out) if spec.out else Path("results") / "calibration" / spec.name


def fit_experiment(exp: LoadedExperiment, targets: TargetSet, *, trials: int | None = None,
                   out: str | Path | None = None, workers: int | None = None, fresh: bool = False,
                   confirm: int | None = None, timeout_minutes: float | None = None,
                   runner: str = DEFAULT_RUNNER, console: Any = None, scheduler: str | None = None,
                   cluster: str | None = None, executor: Any = None) -> CalibrationResult:
    """Fit ``exp``'s free parameters to ``targets`` (the calibration proper; ``licsim calibrate`` and
    ``licsim backtest`` both run it). Only the targets given enter the loss and the selection; the
    study's fingerprint includes their digest, so a study fitted to other targets is not resumed.

    Candidates run on ``executor`` (an :class:`sim.experiments.executors.Executor`, left open), else
    on one made from ``workers``, ``scheduler`` and ``cluster`` as ``licsim batch`` makes it. Each
    run's randomness comes from its seed only, so the trials are the same on any executor."""
    from sim.experiments.executors import make_executor

    scenarios = check_experiment(exp)
    args = dict(trials=trials, out=out, fresh=fresh, confirm=confirm, timeout_minutes=timeout_minutes,
                runner=runner, console=console)
    if executor is not None:
        return _fit(exp, targets, executor, scenarios, **args)
    with make_executor(workers, scheduler, cluster) as executor:  # checks its options before anything is written
        return _fit(exp, targets, executor, scenarios, **args)


def where_runs(executor: Any) -> str:
    """``on 2 local processes``, ``on a Dask LocalCluster (2 workers)``: for the first line of a run."""
    d = executor.describe()
    if d["executor"] == "dask":
        at = "a Dask LocalCluster" if d.get("cluster") == "LocalCluster" else f"the Dask scheduler {d.get('address')}"
        return f"on {at} ({d['workers']} worker(s))"
    if d["executor"] == "serial":
        return "in this process"
    return f"on {d['workers']} local processes"


def _fit(exp: LoadedExperiment, targets: TargetSet, executor: Any, scenarios: tuple[Any, Any], *,
         trials: int | None, out: str | Path | None, fresh: bool, confirm: int | None,
         timeout_minutes: float | None, runner: str, console: Any) -> CalibrationResult:
    from optuna.trial import TrialState
    from rich.console import Console

    from sim.scenarios.loader import apply_overrides

    console = console or Console()
    spec = exp.spec
    names = list(spec.parameters)
    full, base = scenarios
    out = Path(out) if out is not None else default_out(spec)
    out.mkdir(parents=True, exist_ok=True)
    total = trials if trials is not None else spec.trials
    batch = spec.batch
    seeds = replication_seeds(spec.seed, spec.replications)

    study = _open_study(out, spec.name, fresh)
    fp = _fingerprint(exp, full, targets)
    old = study.user_attrs.get("fingerprint")
    if old and old != fp:
        changed = ", ".join(k if k != "scenario" else "the fixed part of the scenario, schema defaults included"
                            for k in dict.fromkeys([*fp, *old]) if old.get(k) != fp.get(k))
        raise UserError(f"{out}/optuna.db holds a calibration of a different experiment (changed: {changed}); "
                        "run with --fresh to start over, or give another --out")
    study.set_user_attr("fingerprint", fp)
    study.set_user_attr("experiment", spec.model_dump(mode="json"))
    # Trials an interrupted run left running: re-queue their candidates, close them as failed.
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.enqueue_trial(t.params, skip_if_exists=False)
        study.tell(t.number, state=TrialState.FAIL)
    n_done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    start = _start_point(exp, base) if spec.include_start or spec.method == "optuna-cmaes" else {}
    if spec.include_start and not study.trials:
        study.enqueue_trial(start)
    study.sampler = _sampler(spec, n_done, start)

    method = spec.method + (f" (sigma0 {spec.sigma0:g})" if spec.method == "optuna-cmaes" else "")
    console.print(f"[bold]calibrate {spec.name}[/bold] ({method}): {len(names)} parameters, "
                  f"{spec.replications} replications per candidate (common seeds), {batch} candidate(s) at a time "
                  f"{where_runs(executor)}; "
                  f"{n_done}/{total} trials done; storage {out / 'optuna.db'}")
    deadline = time.monotonic() + timeout_minutes * 60 if timeout_minutes else math.inf
    best_loss = min((t.value for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))),
                    default=math.inf)
    consecutive_failures = 0
    try:
        while n_done < total and time.monotonic() < deadline:
            k = min(batch, total - n_done)
            asked = [study.ask() for _ in range(k)]
            cands: list[tuple[Any, dict[str, Any], Any]] = []
            for trial in asked:
                values: dict[str, Any] = {}
                for name, rng in spec.parameters.items():
                    if rng.type == "int":
                        v = trial.suggest_int(name, int(rng.low), int(rng.high), log=rng.log)
                    else:
                        v = trial.suggest_float(name, rng.low, rng.high, log=rng.log)
                    v = _round(v, spec.significant_digits, rng.type)
                    values[name] = type(v)(min(max(v, rng.low), rng.high))
                trial.set_user_attr("values", values)
                try:
                    sc = apply_overrides(base, values)
                except UserError as exc:
                    trial.set_user_attr("error", str(exc))
                    study.tell(trial, state=TrialState.FAIL)
                    console.print(f"[yellow]trial {trial.number}: {exc}[/yellow]")
                    continue
                cands.append((trial, values, sc))
            jobs = [(sc, s, r) for _, _, sc in cands for r, s in enumerate(seeds)]
            t0 = time.perf_counter()
            outs = map_runs(jobs, runner=runner, executor=executor, errors="return") if jobs else []
            dt = time.perf_counter() - t0
            for j, (trial, values, _) in enumerate(cands):
                part = outs[j * len(seeds):(j + 1) * len(seeds)]
                bad = [o for o in part if isinstance(o, BaseException)]
                if bad:
                    why = str(bad[0]) if isinstance(bad[0], RunFailed) else f"{type(bad[0]).__name__}: {bad[0]}"
                    trial.set_user_attr("error", why)
                    study.tell(trial, state=TrialState.FAIL)
                    console.print(f"[yellow]trial {trial.number}: a replication failed: {why}[/yellow]")
                    consecutive_failures += 1
                    continue
                card = evaluate(targets, prepare_runs(part, targets.universe))
                loss, _ = loss_of(card, spec.loss)
                g = card.gated
                trial.set_user_attr("passed", int(g["passed"].sum()))
                trial.set_user_attr("gated", int(len(g)))
                trial.set_user_attr("failing", card.failing)
                trial.set_user_attr("scorecard", _jsonable(card.table))
                study.tell(trial, loss)
                consecutive_failures = 0
                n_done += 1
                mark = ""
                if loss < best_loss:
                    best_loss, mark = loss, " [bold green]new best[/bold green]"
                console.print(f"trial {trial.number:4d}  loss {loss:9.3f}  pass {int(g['passed'].sum()):2d}/{len(g)}  "
                              f"best {best_loss:9.3f}  [{n_done}/{total}, {dt / max(len(cands), 1):.1f} s/candidate]"
                              f"{mark}")
            if consecutive_failures >= max(3, 2 * batch):
                raise UserError(f"calibration stopped: {consecutive_failures} candidates in a row failed to run "
                                f"(see the error column of {out / 'loss_history.csv'})")
            _write_outputs(study, exp, out, seeds)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted; run the same command again to resume[/yellow]")
        raise
    res = _write_outputs(study, exp, out, seeds)
    if res is None:
        raise UserError(f"calibration of {spec.name}: no trial finished")
    console.print(f"[bold]best[/bold]: trial {res.best_trial}, loss {res.best_loss:.4g}")
    for k, v in res.best_params.items():
        console.print(f"  {k} = {v}")
    best_card = Scorecard(res.scorecard, pd.DataFrame(), spec.replications) if len(res.scorecard) else None
    if best_card is not None:
        print_scorecard(best_card, console, title=f"best fit (trial {res.best_trial}, {spec.replications} replications)")
    n_confirm = spec.confirm_replications if confirm is None else confirm
    if n_confirm:
        from sim.analysis.validation import map_replications
        from sim.io import write_csv

        # The fit sees only `replications` seeds, so the lowest loss can be luck. Rerun the best
        # `select_top` candidates on held-out selection replications (root: the experiment seed
        # + 1, never the scenario's seed that `licsim validate` reports on, so the reported
        # scorecard is not selected on) and keep the one that passes most targets there. Ties go to the lower loss over all
        # the replications a candidate was scored on (fit and held out, weighted by their number):
        # with a dozen candidates, the lowest held-out loss alone is itself partly luck.
        done = sorted(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)),
                      key=lambda t: (t.value, t.number))[: max(1, spec.select_top)]
        conf_seeds = replication_seeds(selection_seed(spec.seed, full.seed), n_confirm)
        scored = []
        for t in done:
            sc = apply_overrides(full, _trial_overrides(t, names))
            outs = map_replications(sc, conf_seeds, runner=runner, executor=executor)
            card = evaluate(targets, prepare_runs(outs, targets.universe))
            held_loss, _ = loss_of(card, spec.loss)
            pooled = (t.value * spec.replications + held_loss * n_confirm) / (spec.replications + n_confirm)
            scored.append((int(card.gated["passed"].sum()), -pooled, -t.number, t, card, held_loss))
            if len(done) > 1:
                console.print(f"held-out check: trial {t.number:4d}  fit loss {t.value:9.3f}  "
                              f"pass {scored[-1][0]}/{len(card.gated)} on {n_confirm} replications")
        passed, _, _, pick, card, _ = max(scored, key=lambda x: x[:3])
        if len(done) > 1:
            write_csv(pd.DataFrame([{"trial": x[3].number, "fit_loss": x[3].value, "held_out_passed": x[0],
                                     "held_out_loss": x[5], "pooled_loss": -x[1]} for x in scored]),
                      out / "selection.csv")
            note = (f"# Chosen among the {len(done)} lowest-loss trials by held-out validation: {passed} targets "
                    f"pass on {n_confirm} replications (selection.csv).\n")
            res = _write_outputs(study, exp, out, seeds, chosen=pick.number, selection_note=note) or res
        write_csv(card.table, out / "scorecard_confirm.csv")
        print_scorecard(card, console, title=f"trial {pick.number} on {n_confirm} selection replications (root seed "
                                             f"{selection_seed(spec.seed, full.seed)}, not validate's {full.seed})")
        res.confirm = card
    from sim.analysis.posterior import write_posterior

    accepted = write_posterior(res.history, exp, out)
    files = "best_params.yaml, loss_history.csv, scorecard.csv"
    if accepted is not None:
        files += ", posterior.parquet, identifiability.csv, posterior.png"
        console.print(f"parameter ensemble: {accepted[0]} of {len(res.history)} trials accepted (loss <= "
                      f"{accepted[1]:.4g}; rule: posterior in {exp.path})")
    console.print(f"wrote {out}/{files}")
    return res


def _jsonable(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rec in table.to_dict(orient="records"):
        clean = {}
        for k, v in rec.items():
            if isinstance(v, (np.floating, float)):
                v = float(v)
                v = v if math.isfinite(v) else (None if math.isnan(v) else (1e308 if v > 0 else -1e308))
            elif isinstance(v, np.integer):
                v = int(v)
            elif isinstance(v, np.bool_):
                v = bool(v)
            clean[k] = v
        rows.append(clean)
    return rows
