"""`licsim validate`: run a scenario N times and score it against the calibration targets."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.limits import MAX_SEED
from sim.interfaces.options import posterior_annotation, workers_annotation


def console():
    """A rich console as wide as the terminal, or ``COLUMNS`` when set; 100 columns in a pipe or log
    with no ``COLUMNS``. Every table fits 80 columns (narrow terminals get narrow layouts)."""
    import os

    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS", "").strip().isdigit() else 100
    return Console(width=width, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("validate")
    def validate(
        scenario: Annotated[Path, typer.Argument(metavar="SCENARIO",
                                                 help="scenario YAML file or shipped scenario name")] = Path("baseline"),
        replications: Annotated[int, typer.Option("--replications", "-n", min=1, max=10000, metavar="N",
                                                  help="replications (seeds from the root seed)")] = 20,
        out: Annotated[Optional[Path], typer.Option(
            "--out", "-o", metavar="DIR", help="output folder (default: results/<scenario>/validation)")] = None,
        targets: Annotated[Optional[Path], typer.Option(
            "--targets", metavar="FILE", help="targets file (default: experiments/targets.yaml)")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=MAX_SEED, metavar="N",
                                                    help="root seed (default: the scenario's)")] = None,
        workers: Annotated[Optional[int], workers_annotation()] = None,
        force: Annotated[bool, typer.Option(
            "--force", help="replace the files of an earlier validation in the output folder (others are kept)")]
        = False,
        posterior: Annotated[Optional[Path], posterior_annotation()] = None,
    ) -> None:
        """Score SCENARIO against the calibration targets (C1-C10, docs/evidence.md).

        Prints the scorecard: target, period, observed, simulated mean with a 90% interval across replications, band, pass or fail. Writes validation.csv, replications.csv, yearly.csv, validation.png and manifest.json. Exit code 0 when every target passes, 1 otherwise. A scenario with parameters: FILE (or --posterior FILE, which overrides it) draws one parameter set per replication.
        """  # noqa: E501
        from contextlib import nullcontext

        from sim.analysis.posterior import ensemble
        from sim.analysis.validation import load_targets, run_validation
        from sim.io import check_output, folder_lock
        from sim.scenarios.loader import load_scenario

        sc = load_scenario(scenario)
        ts = load_targets(targets)
        post = ensemble(sc, posterior)
        out_dir = out if out is not None else Path("results") / sc.name / "validation"
        check_output(out_dir, "validate", force=force, option="--out" if out is not None else "output folder")
        # an existing folder stays locked while the validation writes into it, as every command's does
        with folder_lock(out_dir) if out_dir.is_dir() else nullcontext():
            res = run_validation(sc, ts, replications, seed=seed, workers=workers, out=out_dir, console=console(),
                                 manifest={"scenario_file": str(scenario)}, posterior=post)
        if not res.scorecard.passed:
            raise typer.Exit(1)
