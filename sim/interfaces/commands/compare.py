"""`licsim compare`: two scenarios on the same seeds, and what differs between them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        scenario_a: Annotated[Path, typer.Argument(help="scenario A (the reference), YAML file or shipped name")],
        scenario_b: Annotated[Path, typer.Argument(help="scenario B (the alternative)")],
        replications: Annotated[int, typer.Option("--replications", "-n", min=2, max=10000,
                                                  help="replications of each (same seeds for A and B)")] = 20,
        out: Annotated[Optional[Path], typer.Option(
            "--out", help="output folder (default: results/compare_<a>_vs_<b>)")] = None,
        window: Annotated[Optional[str], typer.Option(
            "--window", help="years to compare, e.g. 2025..2030 (default: from the first year the runs differ)")]
        = None,
        seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="root seed (default: A's)")] = None,
        workers: Annotated[Optional[int], typer.Option("--workers", "-j", min=1,
                                                       help="processes (default: all cores)")] = None,
        posterior: Annotated[Optional[Path], typer.Option(
            "--posterior", help="posterior.parquet of licsim calibrate: each replication draws a parameter set "
                                "(the same for A and B); intervals then cover parameter uncertainty too")] = None,
    ) -> None:
        """Run SCENARIO_A and SCENARIO_B with the same seeds and print what differs.

        Deals per year, upfront and headline value, stage mix, counterparty mix and biotech survival, as A, B, the mean paired difference B - A and its 90% interval across replications. Writes comparison.csv, compare.png, manifest.json and both sides' runs (a_<A>/, b_<B>/).
        """  # noqa: E501
        from sim.analysis.compare import run_comparison
        from sim.analysis.posterior import load_posterior
        from sim.interfaces.commands.validate import console
        from sim.scenarios.loader import load_scenario

        sc_a = load_scenario(scenario_a)
        sc_b = load_scenario(scenario_b)
        post = load_posterior(posterior) if posterior is not None else None
        safe = lambda s: re.sub(r"[^A-Za-z0-9_.\-]", "_", s)  # noqa: E731
        out_dir = out if out is not None else Path("results") / f"compare_{safe(sc_a.name)}_vs_{safe(sc_b.name)}"
        run_comparison(sc_a, sc_b, replications, seed=seed, workers=workers, out=out_dir, window=window,
                       console=console(), manifest={"a_file": str(scenario_a), "b_file": str(scenario_b)},
                       posterior=post)
