"""`licsim validate`: run a scenario N times and score it against the calibration targets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer


def console():
    """A rich console; when output is not a terminal, wide enough that scorecard rows stay on one line."""
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else 150, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(
        scenario: Annotated[Path, typer.Argument(help="scenario YAML file or shipped scenario name")] = Path(
            "baseline"),
        replications: Annotated[int, typer.Option("--replications", "-n", min=1, max=10000,
                                                  help="replications (seeds from the root seed)")] = 20,
        out: Annotated[Optional[Path], typer.Option(
            "--out", help="output folder (default: results/<scenario>/validation)")] = None,
        targets: Annotated[Optional[Path], typer.Option(
            "--targets", help="targets file (default: experiments/targets.yaml)")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="root seed (default: the scenario's)")] = None,
        workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1,
                                                       help="processes (default: all cores)")] = None,
        posterior: Annotated[Optional[Path], typer.Option(
            "--posterior", help="posterior.parquet of licsim calibrate: each replication draws a parameter set")]
        = None,
    ) -> None:
        """Score SCENARIO against the calibration targets (DOMAIN.md C1-C10).

        Prints the scorecard: target, period, observed, simulated mean with a 90% interval across replications, band, pass or fail. Writes validation.csv, replications.csv, yearly.csv, validation.png and manifest.json. Exit code 0 when every target passes, 1 otherwise.
        """  # noqa: E501
        from sim.analysis.validation import load_targets, run_validation
        from sim.scenarios.loader import load_scenario

        from sim.analysis.posterior import load_posterior

        sc = load_scenario(scenario)
        ts = load_targets(targets)
        post = load_posterior(posterior) if posterior is not None else None
        out_dir = out if out is not None else Path("results") / sc.name / "validation"
        res = run_validation(sc, ts, replications, seed=seed, workers=workers, out=out_dir, console=console(),
                             manifest={"scenario_file": str(scenario)}, posterior=post)
        if not res.scorecard.passed:
            raise typer.Exit(1)
