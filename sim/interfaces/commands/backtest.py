"""`licsim backtest EXPERIMENT --cutoff YEAR`: fit on the targets up to YEAR, score the later ones out of sample."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.interfaces.options import EXECUTOR_WORKERS_HELP, cluster_annotation, scheduler_annotation, workers_annotation


def register(app: typer.Typer) -> None:
    @app.command("backtest")
    def backtest(
        experiment: Annotated[Path, typer.Argument(
            metavar="EXPERIMENT", help="calibration experiment YAML, e.g. experiments/calibration.yaml")],
        cutoff: Annotated[int, typer.Option("--cutoff", metavar="YEAR",
                                            help="last year whose targets the fit may see")],
        trials: Annotated[Optional[int], typer.Option(
            "--trials", metavar="N", help="fit trials (default: the file's backtest.trials, else its trials)")] = None,
        replications: Annotated[Optional[int], typer.Option(
            "--replications", "-n", metavar="N", help="forecast replications (default: the file's backtest.replications)")]
        = None,
        out: Annotated[Optional[Path], typer.Option(
            "--out", metavar="DIR", help="record folder (default: backtest.out, else results/backtest/<name>_<YEAR>)")] = None,
        fit_out: Annotated[Optional[Path], typer.Option(
            "--fit-out", metavar="DIR", help="the fit's study folder (default: the calibration's out + _backtest<YEAR>)")] = None,
        workers: Annotated[Optional[int], workers_annotation(EXECUTOR_WORKERS_HELP)] = None,
        scheduler: Annotated[Optional[str], scheduler_annotation()] = None,
        cluster: Annotated[Optional[str], cluster_annotation()] = None,
        fresh: Annotated[bool, typer.Option("--fresh", help="discard the fit's earlier trials")] = False,
        timeout: Annotated[Optional[float], typer.Option(
            "--timeout", min=0.1, metavar="MINUTES", help="stop starting new fit trials after this many minutes")] = None,
    ) -> None:
        """Fit EXPERIMENT on the targets up to --cutoff, forecast the later ones, and compare with naive forecasts.

        The fit is `licsim calibrate` on the in-sample targets (resumable: run the same command again). The fitted scenario then runs forward with the observed drivers; each later target is scored, and its error set against the last observed value and a linear trend (mean absolute percentage error). Writes summary.md, forecast_errors.csv, mape.csv, the scorecards and backtest_<YEAR>.yaml to the record folder.
        """  # noqa: E501
        from sim.analysis.backtest import run_backtest
        from sim.interfaces.commands.validate import console

        run_backtest(experiment, cutoff, trials=trials, replications=replications, out=out, fit_out=fit_out,
                     workers=workers, fresh=fresh, timeout_minutes=timeout, console=console(), scheduler=scheduler,
                     cluster=cluster)
