"""`licsim calibrate`: fit an experiment's free parameters to the calibration targets (resumable)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.interfaces.options import EXECUTOR_WORKERS_HELP, cluster_annotation, scheduler_annotation, workers_annotation


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate(
        experiment: Annotated[Path, typer.Argument(metavar="EXPERIMENT",
                                                   help="experiment YAML, e.g. experiments/calibration.yaml")],
        trials: Annotated[Optional[int], typer.Option(
            "--trials", min=1, metavar="N",
            help="finished trials to reach, counting earlier runs (default: the file's)")] = None,
        out: Annotated[Optional[Path], typer.Option(
            "--out", "-o", metavar="DIR",
            help="output folder (default: the file's out, else results/calibration/<name>)")] = None,
        workers: Annotated[Optional[int], workers_annotation(EXECUTOR_WORKERS_HELP)] = None,
        scheduler: Annotated[Optional[str], scheduler_annotation()] = None,
        cluster: Annotated[Optional[str], cluster_annotation()] = None,
        fresh: Annotated[bool, typer.Option("--fresh", help="discard earlier trials in the output folder")] = False,
        confirm: Annotated[Optional[int], typer.Option(
            "--confirm", min=0, metavar="N",
            help="rerun the best fit with this many replications (default: the file's)")] = None,
        timeout: Annotated[Optional[float], typer.Option(
            "--timeout", min=0.1, metavar="MINUTES", help="stop starting new trials after this many minutes")] = None,
        method: Annotated[Optional[str], typer.Option(
            "--method", metavar="METHOD", help="optuna-tpe or optuna-cmaes (default: the file's)")] = None,
        sigma0: Annotated[Optional[float], typer.Option(
            "--sigma0", metavar="X",
            help="optuna-cmaes: first step, as a share of each range (default: the file's)")] = None,
        replications: Annotated[Optional[int], typer.Option(
            "--replications", "-n", metavar="N", help="replications per candidate (default: the file's)")] = None,
    ) -> None:
        """Fit the free parameters EXPERIMENT names to the targets (Optuna TPE or CMA-ES, common random numbers).

        Prints one line per trial; writes best_params.yaml, loss_history.csv and scorecard.csv (the best fit's scorecard) to the output folder, beside optuna.db. Running the same command again resumes where it stopped. --method, --sigma0 and --replications replace the file's values for this run (give them again to resume it). Candidates run on local processes, a Dask LocalCluster (--cluster local) or a running Dask cluster (--scheduler), as in licsim batch; the trials do not depend on which, nor on --workers.
        """  # noqa: E501
        from sim.analysis.calibration import run_calibration
        from sim.interfaces.commands.validate import console

        run_calibration(experiment, trials=trials, out=out, workers=workers, fresh=fresh, confirm=confirm,
                        timeout_minutes=timeout, console=console(), scheduler=scheduler, cluster=cluster,
                        settings={"method": method, "sigma0": sigma0, "replications": replications})
