"""Backtest: fit on the targets dated up to a cutoff year, forecast the rest, and beat naive forecasts.

``licsim backtest EXPERIMENT --cutoff YEAR`` (``run_backtest``):

1. **Split.** A target is *in sample* when every month of data it needs ends by December of the
   cutoff year, else *out of sample*. A target's data end is the last month of its period (of the
   latest of its periods, for directions); a measure dated by the month talks began
   (``dated: talks_started``) is known only once its deals sign, so its data end is taken as
   ``SIGNING_LAG_MONTHS`` after its period. Out-of-sample targets never enter the loss: the fit
   is given a targets set without them (:func:`split_targets`).
2. **Fit.** :func:`sim.analysis.calibration.fit_experiment`, the calibration itself, on the
   in-sample targets, with candidates run to the cutoff's December (the model is causal). Its
   size comes from the experiment file's ``backtest:`` section (``trials``,
   ``confirm_replications``, ``select_top``; unset: the experiment's own) or ``--trials``. The
   study is kept in its own folder (default: the calibration's output folder with
   ``_backtest<YEAR>``), so running the same command again resumes the fit.
3. **Forecast.** The fitted scenario runs ``backtest.replications`` times (``--replications``)
   to its own end, on the root seed ``backtest.seed`` (default: the scenario's, the seeds
   ``licsim validate`` reports on; never the fit's). The drivers (funding, trust, patent cliff,
   externalisation) are inputs and keep their observed values after the cutoff: this is a
   forecast *conditional on the drivers*, which asks whether the mechanisms turn the drivers into
   the later facts. Every target is scored on these runs; the out-of-sample rows are the backtest.
4. **Naive forecasts** of the same out-of-sample targets (:func:`naive_forecasts`), from the
   observed values dated up to the cutoff (gated or info rows alike: they are what was known):
   a target's *series* is its measure without its period (same metric, columns and filters).
   Flows (counts and sums) are compared as rates per month and scaled to the target's months;
   shares, ratios and medians as they are.

   * *last value*: the series' latest in-sample observation;
   * *linear trend*: an ordinary least-squares line through the series' in-sample observations
     (rate against the middle of each period, in years), evaluated at the middle of the target's
     period, where the observations fall in at least two calendar years; clipped at 0 (and at 1
     for shares).

   Only targets with an observed point value (levels, ratios, shares; not months) have errors.
   A target whose period spans the cutoff (2018-2023 at a 2022 cutoff) is out of sample, since its
   figure was not known at the cutoff, and is marked ``spans_cutoff``.
   The absolute percentage error is ``|forecast - observed| / |observed|``; the mean (MAPE) is
   over gated targets. Each comparison with a naive forecast uses only the targets that forecast
   exists for, and says how many.

The record folder (``backtest.out`` or ``--out``; default ``results/backtest/<name>_<YEAR>``)
is written whole or not at all: ``summary.md``, ``forecast_errors.csv`` (per target: observed,
model mean and 90% interval, both naive forecasts, their errors), ``mape.csv``,
``scorecard_in_sample.csv`` and ``scorecard_out_of_sample.csv`` (on the forecast runs),
``backtest_<YEAR>.yaml`` (the fitted scenario, complete, so it does not move when the scenario
it came from is edited), ``best_params.yaml`` and ``loss_history.csv`` (copies from the fit),
``yearly.csv``, ``backtest.png`` and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.analysis.calibration import (
    LoadedExperiment,
    check_experiment,
    default_out,
    fit_experiment,
    load_experiment,
    selection_seed,
)
from sim.analysis.validation import (
    DEFAULT_RUNNER,
    Target,
    TargetSet,
    evaluate,
    format_value,
    load_targets,
    map_replications,
    parse_period,
    prepare_runs,
    print_scorecard,
    replication_seeds,
    validation_figure,
    yearly_series,
)
from sim.errors import UserError

__all__ = ["SIGNING_LAG_MONTHS", "BacktestResult", "Split", "data_end", "forecast_errors", "mape_table",
           "naive_forecasts", "run_backtest", "split_targets"]

#: Months after the end of its period by which a measure dated by talks_started is known: deals
#: sign a median 9 months after talks begin, longer in a cool market, rarely more than two years.
SIGNING_LAG_MONTHS = 24
FLOW_METRICS = frozenset({"deal_count", "deal_sum", "monthly_sum"})
POINT_KINDS = frozenset({"level", "ratio", "share"})
#: The fields that make two targets one series (everything of the measure but its period).
SERIES_FIELDS = {"metric", "column", "numerator", "denominator", "where", "among", "n", "against", "window",
                 "dated"}


# ----------------------------------------------------------------------------------- split


def data_end(target: Target) -> int:
    """The month index (``year * 12 + month - 1``) of the last month of data ``target`` needs."""
    ends = []
    for _, m in target.measures():
        end = parse_period(m.period).end
        ends.append(end + (SIGNING_LAG_MONTHS if m.dated == "talks_started" else 0))
    return max(ends)


@dataclass
class Split:
    """Targets dated up to the cutoff (the fit's) and the rest (the backtest's)."""

    cutoff: int
    in_sample: TargetSet
    out_of_sample: list[str]

    @property
    def in_sample_ids(self) -> list[str]:
        return [t.id for t in self.in_sample.targets]


def split_targets(targets: TargetSet, cutoff: int, what: str = "--cutoff") -> Split:
    """Split ``targets`` at December of ``cutoff``; a cutoff that leaves no gated target on one side
    is a :class:`UserError` naming the allowed years."""
    ends = {t.id: data_end(t) // 12 for t in targets.targets}
    gated = [ends[t.id] for t in targets.gated()]
    if not gated:
        raise UserError(f"{targets.path}: no gated target to fit or to score")
    first, last = min(gated), max(gated)
    if not first <= cutoff < last:
        raise UserError(f"{what} {cutoff}: allowed {first} to {last - 1} for {targets.path} (its gated targets' "
                        f"data end from {first} to {last}; a backtest needs gated targets on both sides)")
    keep = [t for t in targets.targets if ends[t.id] <= cutoff]
    digest = hashlib.sha256(f"{targets.digest} cutoff {cutoff}".encode()).hexdigest()[:16]
    ins = targets.model_copy(update={"targets": keep, "digest": digest})
    return Split(cutoff, ins, [t.id for t in targets.targets if ends[t.id] > cutoff])


# --------------------------------------------------------------------------------- naive


def _is_point(t: Target) -> bool:
    return t.kind in POINT_KINDS and t.observed is not None and t.unit_() != "month"


def _series(t: Target) -> str:
    return json.dumps(t.model_dump(include=SERIES_FIELDS, mode="json"), sort_keys=True)


def _rate(t: Target) -> float:
    """The observed value per month for flows, else the value."""
    assert t.observed is not None
    p = parse_period(t.period)
    return t.observed / p.months if t.metric in FLOW_METRICS else t.observed


def _mid_year(t: Target) -> float:
    p = parse_period(t.period)
    return (p.start + p.end + 1) / 2 / 12


def _scaled(t: Target, rate: float) -> float:
    value = rate * parse_period(t.period).months if t.metric in FLOW_METRICS else rate
    value = max(value, 0.0)
    return min(value, 1.0) if t.unit_() == "share" else value


def naive_forecasts(targets: TargetSet, cutoff: int) -> pd.DataFrame:
    """Last-value and linear-trend forecasts of each out-of-sample point target (NaN where none).

    Columns: ``id``, ``last``, ``last_from`` (the target it comes from), ``trend``, ``trend_from``
    (the targets the line runs through)."""
    known = [t for t in targets.targets if _is_point(t) and data_end(t) // 12 <= cutoff]
    rows = []
    for t in targets.targets:
        if data_end(t) // 12 <= cutoff or not _is_point(t):
            continue
        obs = [u for u in known if _series(u) == _series(t)]
        row: dict[str, Any] = {"id": t.id, "last": math.nan, "last_from": "", "trend": math.nan, "trend_from": ""}
        if obs:
            latest = max(obs, key=lambda u: (parse_period(u.period).end, parse_period(u.period).start))
            row["last"], row["last_from"] = _scaled(t, _rate(latest)), latest.id
            years = {math.floor(_mid_year(u)) for u in obs}
            if len(years) >= 2:
                slope, icpt = np.polyfit([_mid_year(u) for u in obs], [_rate(u) for u in obs], 1)
                row["trend"] = _scaled(t, float(icpt + slope * _mid_year(t)))
                row["trend_from"] = " ".join(u.id for u in obs)
        rows.append(row)
    return pd.DataFrame(rows, columns=["id", "last", "last_from", "trend", "trend_from"])


def _ape(forecast: Any, observed: Any) -> float:
    f, o = float(forecast), float(observed)
    if not (math.isfinite(f) and math.isfinite(o)) or o == 0:
        return math.nan
    return abs(f - o) / abs(o)


def forecast_errors(card: pd.DataFrame, targets: TargetSet, split: Split) -> pd.DataFrame:
    """Per out-of-sample target: observed, the model's mean and 90% interval, pass, both naive
    forecasts and the absolute percentage error of each (as fractions)."""
    naive = naive_forecasts(targets, split.cutoff).set_index("id")
    by_id = {t.id: t for t in targets.targets}
    rows = []
    for _, r in card[card["id"].isin(split.out_of_sample)].iterrows():
        t = by_id[r["id"]]
        point = _is_point(t)
        nv = naive.loc[t.id] if t.id in naive.index else None
        last = float(nv["last"]) if nv is not None else math.nan
        trend = float(nv["trend"]) if nv is not None else math.nan
        starts = [parse_period(m.period).start for _, m in t.measures()]
        rows.append({
            "id": t.id, "name": t.name, "period": r["period"], "unit": r["unit"], "gate": bool(r["gate"]),
            "spans_cutoff": min(starts) // 12 <= split.cutoff,
            "observed": t.observed if point else math.nan, "model": r["sim_mean"], "model_p05": r["sim_p05"],
            "model_p95": r["sim_p95"], "passed": bool(r["passed"]), "last": last, "trend": trend,
            "ape_model": _ape(r["sim_mean"], t.observed) if point else math.nan,
            "ape_last": _ape(last, t.observed) if point else math.nan,
            "ape_trend": _ape(trend, t.observed) if point else math.nan,
            "last_from": nv["last_from"] if nv is not None else "",
            "trend_from": nv["trend_from"] if nv is not None else "",
        })
    return pd.DataFrame(rows, columns=["id", "name", "period", "unit", "gate", "spans_cutoff", "observed", "model",
                                       "model_p05",
                                       "model_p95", "passed", "last", "trend", "ape_model", "ape_last", "ape_trend",
                                       "last_from", "trend_from"])


def mape_table(errors: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute percentage errors over the gated out-of-sample point targets: the model's on all
    of them, and the model's against each naive forecast's on the targets that forecast exists for."""
    g = errors[errors["gate"] & errors["ape_model"].notna()]
    rows = [{"comparison": "model", "targets": len(g), "model_mape": g["ape_model"].mean() if len(g) else math.nan,
             "naive_mape": math.nan, "model_better_on": math.nan}]
    for naive, label in (("last", "model vs last value"), ("trend", "model vs linear trend")):
        sub = g[g[f"ape_{naive}"].notna()]
        rows.append({"comparison": label, "targets": len(sub),
                     "model_mape": sub["ape_model"].mean() if len(sub) else math.nan,
                     "naive_mape": sub[f"ape_{naive}"].mean() if len(sub) else math.nan,
                     "model_better_on": int((sub["ape_model"] < sub[f"ape_{naive}"]).sum())})
    table = pd.DataFrame(rows)
    table["model_better_on"] = table["model_better_on"].astype("Int64")
    return table


# ------------------------------------------------------------------------------ the command


@dataclass
class BacktestResult:
    out: Path
    fit_out: Path
    split: Split
    errors: pd.DataFrame
    mape: pd.DataFrame
    best_params: dict[str, Any]


def _check_record_folder(out: Path) -> None:
    """A record folder may replace only an earlier backtest record (one with its manifest)."""
    if not out.exists():
        return
    if not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    if any(out.iterdir()):
        try:
            kind = json.loads((out / "manifest.json").read_text()).get("kind")
        except (OSError, ValueError, AttributeError):
            kind = None
        if kind != "backtest":
            raise UserError(f"--out {out}: holds files licsim backtest did not write (no backtest manifest.json); "
                            "give another --out")


def _fit_spec(exp: LoadedExperiment, cutoff: int, trials: int | None, scenario_end: str) -> LoadedExperiment:
    """The experiment as the backtest fits it: candidates run to the cutoff's December (every
    in-sample target's data ends by then; the file's own simulate_until is for all the targets)."""
    spec, bt = exp.spec, exp.spec.backtest
    until = min(f"{cutoff}-12", scenario_end)
    changes: dict[str, Any] = {"simulate_until": until, "name": f"{spec.name}_backtest{cutoff}"}
    if trials is not None or bt.trials is not None:
        changes["trials"] = trials if trials is not None else bt.trials
    if bt.confirm_replications is not None:
        changes["confirm_replications"] = bt.confirm_replications
    if bt.select_top is not None:
        changes["select_top"] = bt.select_top
    return replace(exp, spec=spec.model_copy(update=changes))


def _scenario_yaml(fitted: Any, overrides: dict[str, Any], source: Path, cutoff: int) -> str:
    from sim.scenarios.loader import scenario_to_dict
    from sim.scenarios.schema import MODELINE

    data = scenario_to_dict(fitted)
    data["extends"] = None
    data = {k: v for k, v in data.items() if v is not None}
    patch = yaml.safe_dump(overrides, sort_keys=False, default_flow_style=False, width=100)
    head = (f"{MODELINE}\n# The backtest fit of {source} on the targets dated up to {cutoff} (licsim backtest).\n"
            "# Complete (it extends nothing), so it stays the backtested model when the scenario it\n"
            "# came from is edited. The fitted values, as dotted overrides of that scenario:\n"
            + "".join(f"#   {line}\n" for line in patch.splitlines()))
    return head + yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def _pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x * 100:.0f}%"


def summary_markdown(res: BacktestResult, *, experiment: Path, n_trials: int, fit_reps: int, fit_seed: int,
                     reps: int, root: int, in_card: pd.DataFrame, out_card: pd.DataFrame) -> str:
    """The record's summary.md: the split, the fit, the out-of-sample scorecard and the MAPEs."""
    e, m = res.errors, res.mape
    g_in, g_out = in_card[in_card["gate"]], out_card[out_card["gate"]]
    lines = [f"# Backtest at {res.split.cutoff}: fit on targets dated up to {res.split.cutoff}, forecast the rest",
             "",
             f"Experiment `{experiment}`; written by `licsim backtest` on {time.strftime('%Y-%m-%d %H:%M')}.",
             "",
             f"* Fit: {n_trials} trials of {fit_reps} replications each (root seed {fit_seed}) on the "
             f"{len(g_in)} gated in-sample targets; candidates ran to {res.split.cutoff}-12. Out-of-sample "
             "targets were not in the loss.",
             f"* Forecast: the fitted scenario (`backtest_{res.split.cutoff}.yaml`), {reps} replications "
             f"(root seed {root}), with the drivers at their observed values after the cutoff (a forecast "
             "conditional on the drivers).",
             f"* In sample, on the forecast runs: {int(g_in['passed'].sum())}/{len(g_in)} gated targets pass.",
             f"* **Out of sample: {int(g_out['passed'].sum())}/{len(g_out)} gated targets pass.**",
             "",
             "## Mean absolute percentage error, gated out-of-sample targets", "",
             "| comparison | targets | model MAPE | naive MAPE | model better on |", "|---|---|---|---|---|"]
    for _, r in m.iterrows():
        better = "-" if pd.isna(r["model_better_on"]) else f"{int(r['model_better_on'])} of {r['targets']}"
        lines.append(f"| {r['comparison']} | {r['targets']} | {_pct(r['model_mape'])} | {_pct(r['naive_mape'])} "
                     f"| {better} |")
    lines += ["", "Naive forecasts: the last value observed by the cutoff, and a linear trend through the "
              "in-sample observations of the same series (only where they span two calendar years). Flows are "
              "compared per month, scaled to the target's period.", "",
              "## Every out-of-sample target", "",
              "| target | period | observed | model (90% interval) | result | last value | trend "
              "| error model / last / trend |", "|---|---|---|---|---|---|---|---|"]
    for _, r in e.iterrows():
        unit = r["unit"]
        shown = format_value(r["observed"], unit) if math.isfinite(r["observed"]) else \
            str(out_card.set_index("id").loc[r["id"], "observed_display"])
        model = (f"{format_value(r['model'], unit)} ({format_value(r['model_p05'], unit)} to "
                 f"{format_value(r['model_p95'], unit)})") if math.isfinite(r["observed"]) else \
            str(out_card.set_index("id").loc[r["id"], "simulated_display"])
        result = ("pass" if r["passed"] else "FAIL") if r["gate"] else ("info ok" if r["passed"] else "info off")
        naive = [format_value(r[k], unit) if math.isfinite(r[k]) else "-" for k in ("last", "trend")]
        errs = " / ".join(_pct(r[k]) for k in ("ape_model", "ape_last", "ape_trend"))
        mark = " (spans the cutoff)" if r["spans_cutoff"] else ""
        lines.append(f"| {r['id']}{mark} | {r['period']} | {shown} | {model} | {result} | {naive[0]} | {naive[1]} "
                     f"| {errs} |")
    lines += ["", "A target that spans the cutoff (its period starts by it and ends after it) is out of sample "
              "because its figure was not known at the cutoff, but part of it lies in the fitted years.", "",
              f"In-sample targets (fitted): {', '.join(res.split.in_sample_ids) or 'none'}.", ""]
    return "\n".join(lines)


def print_errors(errors: pd.DataFrame, mape: pd.DataFrame, console: Any) -> None:
    """The out-of-sample errors as an 80-column table, then the MAPE lines."""
    from rich.table import Table

    tab = Table(title="out of sample: model vs naive forecasts (absolute % error)", box=None, padding=(0, 1),
                header_style="bold")
    for col, just in (("target", "left"), ("observed", "right"), ("model", "right"), ("err", "right"),
                      ("last", "right"), ("trend", "right"), ("result", "left")):
        tab.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for _, r in errors[errors["ape_model"].notna()].iterrows():
        result = ("pass" if r["passed"] else "FAIL") if r["gate"] else "info"
        tab.add_row(str(r["id"])[:26], format_value(r["observed"], r["unit"]), format_value(r["model"], r["unit"]),
                    _pct(r["ape_model"]), _pct(r["ape_last"]), _pct(r["ape_trend"]), result)
    console.print(tab)
    for _, r in mape.iterrows():
        if r["comparison"] == "model":
            console.print(f"MAPE, gated out-of-sample targets: model {_pct(r['model_mape'])} on {r['targets']}")
        elif r["targets"]:
            console.print(f"{r['comparison']}: {_pct(r['model_mape'])} vs {_pct(r['naive_mape'])} on {r['targets']} "
                          f"(model better on {int(r['model_better_on'])})")
        else:
            console.print(f"{r['comparison']}: no target has that forecast")


def run_backtest(experiment: str | Path, cutoff: int, *, trials: int | None = None, replications: int | None = None,
                 out: str | Path | None = None, fit_out: str | Path | None = None, workers: int | None = None,
                 fresh: bool = False, timeout_minutes: float | None = None, runner: str = DEFAULT_RUNNER,
                 console: Any = None, scheduler: str | None = None, cluster: str | None = None) -> BacktestResult:
    """Fit on the targets dated up to ``cutoff``, forecast the later ones, score model and naive forecasts.

    Args:
        experiment: A calibration experiment file (its ``backtest:`` section sizes the run).
        cutoff: The last year whose targets the fit may see.
        trials: Fit trials (default: ``backtest.trials``, else the experiment's).
        replications: Forecast replications (default: ``backtest.replications``).
        out: The record folder (default: ``backtest.out``, else ``results/backtest/<name>_<cutoff>``).
        fit_out: The fit's study folder (default: the calibration's folder + ``_backtest<cutoff>``).
        workers, fresh, timeout_minutes, runner, console, scheduler, cluster: As for the calibration
            (the fit and the forecast run on the same executor).

    Raises:
        UserError: Bad input, before anything is written.
    """
    from rich.console import Console

    from sim.experiments.executors import make_executor
    from sim.io import atomic_dir, write_csv, write_json
    from sim.provenance import manifest
    from sim.scenarios.loader import apply_overrides

    console = console or Console()
    t0 = time.perf_counter()
    exp = load_experiment(experiment)
    targets = load_targets(exp.targets_path)
    split = split_targets(targets, cutoff)
    for option, value, most in (("--trials", trials, 100000), ("--replications", replications, 10000)):
        if value is not None and not 1 <= value <= most:
            raise UserError(f"{option} {value}: allowed 1 to {most}")
    bt = exp.spec.backtest
    reps = replications if replications is not None else bt.replications
    full, _ = check_experiment(exp)
    fit_exp = _fit_spec(exp, cutoff, trials, full.end)
    out = Path(out) if out is not None else Path(bt.out) if bt.out else \
        Path("results") / "backtest" / f"{exp.spec.name}_{cutoff}"
    _check_record_folder(out)
    fit_dir = Path(fit_out) if fit_out is not None else default_out(exp.spec).with_name(
        f"{default_out(exp.spec).name}_backtest{cutoff}")
    if fit_dir.resolve() == out.resolve():
        raise UserError(f"--fit-out {fit_dir}: must differ from the record folder --out")

    console.print(f"[bold]backtest {exp.spec.name} at {cutoff}[/bold]: fit on {len(split.in_sample.gated())} gated "
                  f"targets dated up to {cutoff}; {len(split.out_of_sample)} later targets held out")
    root = bt.seed if bt.seed is not None else int(full.seed)
    if root == fit_exp.spec.seed:  # never forecast on the fit's own seeds
        root = selection_seed(fit_exp.spec.seed, int(full.seed))
    seeds = replication_seeds(root, reps)
    with make_executor(workers, scheduler, cluster) as executor:  # checks its options before anything is written
        fit = fit_experiment(fit_exp, split.in_sample, out=fit_dir, fresh=fresh, timeout_minutes=timeout_minutes,
                             runner=runner, console=console, executor=executor)
        fitted = apply_overrides(full, fit.best_params).model_copy(update={
            "name": f"backtest_{cutoff}",
            "description": f"{full.name} fitted on the targets dated up to {cutoff} (licsim backtest {exp.path})"})
        outs = map_replications(fitted, seeds, runner=runner, executor=executor)
    runs = prepare_runs(outs, targets.universe)
    card = evaluate(targets, runs)
    table = card.table
    in_card = table[table["id"].isin(split.in_sample_ids)]
    out_card = table[table["id"].isin(split.out_of_sample)]
    errors = forecast_errors(table, targets, split)
    mape = mape_table(errors)
    res = BacktestResult(out, fit_dir, split, errors, mape, dict(fit.best_params))

    print_scorecard(type(card)(out_card.reset_index(drop=True), card.values, card.replications), console,
                    title=f"out of sample: targets after {cutoff} ({reps} replications, root seed {root})")
    print_errors(errors, mape, console)

    n_trials = int(fit.history["state"].eq("COMPLETE").sum()) if len(fit.history) else 0
    with atomic_dir(out) as tmp:
        write_csv(errors, tmp / "forecast_errors.csv")
        write_csv(mape, tmp / "mape.csv")
        write_csv(in_card, tmp / "scorecard_in_sample.csv")
        write_csv(out_card, tmp / "scorecard_out_of_sample.csv")
        yearly = yearly_series(runs)
        write_csv(yearly, tmp / "yearly.csv")
        validation_figure(yearly, targets, tmp / "backtest.png",
                          title=f"backtest at {cutoff}: fitted on targets up to {cutoff}, forecast after")
        (tmp / f"backtest_{cutoff}.yaml").write_text(
            _scenario_yaml(fitted, fit.best_params, exp.scenario_path, cutoff))
        for name in ("best_params.yaml", "loss_history.csv"):
            shutil.copyfile(fit_dir / name, tmp / name)
        (tmp / "summary.md").write_text(summary_markdown(
            res, experiment=exp.path, n_trials=n_trials, fit_reps=fit_exp.spec.replications,
            fit_seed=fit_exp.spec.seed, reps=reps, root=root, in_card=in_card, out_card=out_card))
        write_json(manifest(kind="backtest", experiment=str(exp.path), targets=str(exp.targets_path),
                            targets_digest=targets.digest, cutoff=cutoff, fit_folder=str(fit_dir),
                            fit_trials=n_trials, fit_replications=fit_exp.spec.replications,
                            fit_root_seed=fit_exp.spec.seed, in_sample=split.in_sample_ids,
                            out_of_sample=split.out_of_sample, replications=reps, root_seed=root, seeds=seeds,
                            best_params=fit.best_params, elapsed_s=round(time.perf_counter() - t0, 1),
                            files=sorted(p.name for p in tmp.iterdir()) + ["manifest.json"]),
                   tmp / "manifest.json")
    console.print(f"wrote {out}/summary.md, forecast_errors.csv, backtest_{cutoff}.yaml "
                  f"({time.perf_counter() - t0:.0f} s)")
    return res


def in_sample_ids_of_trials(fit_dir: str | Path, name: str) -> list[set[str]]:
    """The target ids each finished trial of a fit was scored on (for checks and tests)."""
    import optuna
    from optuna.trial import TrialState

    study = optuna.load_study(study_name=name, storage=f"sqlite:///{Path(fit_dir) / 'optuna.db'}")
    return [{r["id"] for r in t.user_attrs.get("scorecard", [])}
            for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
