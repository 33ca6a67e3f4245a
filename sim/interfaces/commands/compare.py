"""`licsim compare`: two scenarios on the same seeds, and what differs between them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.limits import MAX_SEED
from sim.interfaces.options import posterior_annotation, workers_annotation


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        scenario_a: Annotated[Path, typer.Argument(metavar="SCENARIO_A",
                                                   help="scenario A (the reference), YAML file or shipped name")],
        scenario_b: Annotated[Path, typer.Argument(metavar="SCENARIO_B", help="scenario B (the alternative)")],
        replications: Annotated[int, typer.Option("--replications", "-n", min=2, max=10000, metavar="N",
                                                  help="replications of each (same seeds for A and B)")] = 20,
        out: Annotated[Optional[Path], typer.Option(
            "--out", "-o", metavar="DIR", help="output folder (default: results/compare_<a>_vs_<b>)")] = None,
        window: Annotated[Optional[str], typer.Option(
            "--window", metavar="YEARS",
            help="years to compare, e.g. 2025..2030 (default: from the first year the runs differ)")] = None,
        seed: Annotated[Optional[int], typer.Option("--seed", min=0, max=MAX_SEED, metavar="N",
                                                    help="root seed (default: A's)")] = None,
        workers: Annotated[Optional[int], workers_annotation()] = None,
        force: Annotated[bool, typer.Option(
            "--force", help="replace the files of an earlier comparison in the output folder (others are kept)")]
        = False,
        posterior: Annotated[Optional[Path], posterior_annotation(
            "each replication draws a parameter set (the same for A and B); intervals then cover parameter "
            "uncertainty too", whose="scenarios'")] = None,
    ) -> None:
        """Run SCENARIO_A and SCENARIO_B with the same seeds and print what differs.

        First the headline (deals, upfronts, headline value, stage mix, biotech survival), then the inputs that differ, then every outcome and the headline by year: A, B, the mean paired difference B - A and the 90% confidence interval of that mean (* where it excludes zero). Writes comparison.csv, compare.png, manifest.json and both sides' runs (a_<A>/, b_<B>/). Scenarios that name the same ensemble in parameters: draw from it as with --posterior; naming different ones is an error.
        """  # noqa: E501
        from sim.analysis.compare import run_comparison
        from sim.analysis.posterior import ensemble_of_pair
        from sim.interfaces.commands.validate import console
        from sim.scenarios.loader import load_scenario

        sc_a = load_scenario(scenario_a)
        sc_b = load_scenario(scenario_b)
        post = ensemble_of_pair(sc_a, sc_b, posterior)
        safe = lambda s: re.sub(r"[^A-Za-z0-9_.\-]", "_", s)  # noqa: E731
        out_dir = out if out is not None else Path("results") / f"compare_{safe(sc_a.name)}_vs_{safe(sc_b.name)}"
        from sim.io import check_output

        # before simulating: a folder licsim did not write, or an earlier comparison without --force, is refused
        check_output(out_dir, "compare", force=force, option="--out" if out is not None else "output folder")
        run_comparison(sc_a, sc_b, replications, seed=seed, workers=workers, out=out_dir, window=window,
                       console=console(), manifest={"a_file": str(scenario_a), "b_file": str(scenario_b)},
                       posterior=post)
