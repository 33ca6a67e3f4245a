"""`licsim run SCENARIO`: run a scenario and write its ledger, series, yearly table and charts."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from sim.errors import UserError
from sim.limits import MAX_SEED
from sim.interfaces.options import posterior_option, workers_option


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    scenario: str = typer.Argument(..., metavar="SCENARIO", help="scenario YAML file, or a shipped scenario's name"),
    seed: Optional[int] = typer.Option(None, "--seed", metavar="N", help="root seed (default: the scenario's seed)"),
    replications: int = typer.Option(1, "--replications", "-n", metavar="N", help="number of seeded replications"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR",
                                       help="output folder (default results/<scenario name>/)"),
    workers: Optional[int] = workers_option(),
    force: bool = typer.Option(False, "--force", help="replace an earlier run's files in the output folder "
                                                      "(files licsim did not write there are kept)"),
    posterior: Optional[Path] = posterior_option(),
) -> None:
    """Run SCENARIO; write deals.parquet, monthly.parquet, yearly.csv, manifest.json and charts/.

    A scenario with parameters: FILE (or --posterior FILE, which overrides it) runs each replication
    with one parameter set of that ensemble, drawn by the replication's seed.
    """
    from sim.analysis.posterior import ensemble, posterior_jobs
    from sim.scenarios.loader import load_scenario, scenario_to_dict

    sc = load_scenario(scenario)
    post = ensemble(sc, posterior)
    if replications < 1:
        raise UserError(f"--replications: {replications} is not allowed; use 1 or more")
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise UserError(f"--seed: {seed} is not allowed; use a whole number from 0 to {MAX_SEED} (2**63 - 1)")
    root = sc.seed if seed is None else seed
    outdir = out if out is not None else Path("results") / sc.name
    from sim.io import check_output

    # before simulating: a folder licsim did not write, or an earlier run without --force, is refused
    check_output(outdir, "run", force=force, option="--out" if out is not None else "output folder")
    if not workers:
        from sim.experiments.executors import available_cores

        workers = available_cores()

    import pandas as pd
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from sim.analysis.charts import write_run_charts
    from sim.analysis.metrics import yearly_table
    from sim.io import atomic_dir, write_csv, write_json, write_parquet
    from sim.analysis.validation import map_runs
    from sim.model.run import replication_seeds, simulate
    from sim.provenance import manifest

    console = Console(stderr=True)
    seeds = [root] if replications == 1 else replication_seeds(root, replications)
    jobs, draws = posterior_jobs(sc, seeds, post)  # replication r: the parameter set its seed draws
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=False) as progress:
        if replications == 1:
            from sim.scenarios.schema import month_index

            months = month_index(sc.end) - month_index(sc.start) + 1
            task = progress.add_task(f"{sc.name}: months", total=months)
            results = [simulate(jobs[0][0], seeds[0], 0, on_month=lambda m: progress.advance(task))]
        else:
            task = progress.add_task(f"{sc.name}: replications", total=replications)
            results = map_runs(jobs, min(workers, replications), on_done=lambda i, r: progress.advance(task))
    deals = pd.concat([r.deals for r in results], ignore_index=True)
    monthly = pd.concat([r.monthly for r in results], ignore_index=True)
    yearly = yearly_table(deals, monthly)
    with atomic_dir(outdir, kind="run") as tmp:
        write_parquet(deals, tmp / "deals.parquet")
        write_parquet(monthly, tmp / "monthly.parquet")
        write_csv(yearly, tmp / "yearly.csv")
        write_run_charts(yearly, tmp / "charts", title=sc.name)
        write_json(manifest(kind="run", scenario=scenario_to_dict(sc), scenario_file=str(scenario),
                            root_seed=root, seeds=seeds, replications=replications,
                            **({"posterior": post.describe(), "posterior_draws": draws} if post else {})),
                   tmp / "manifest.json")
    print_summary(yearly, sc.name)
    typer.echo(f"outputs: {outdir}/ (deals.parquet, monthly.parquet, yearly.csv, manifest.json)")
    typer.echo(f"charts:  {outdir / 'charts'}/")


def print_summary(yearly, name: str) -> None:
    """A short yearly table on the terminal (means across replications)."""
    from rich.table import Table

    mean = yearly.groupby("year").mean(numeric_only=True)
    from rich import box

    table = Table(title=f"{name}: China out-licensing by year (mean of {yearly['replication'].nunique()} run(s))",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    for col in ("year", "deals", "upfronts\n$B", "headline\n$B", "upfront/\nheadline", "pre-\nclinical",
                "top\nMNC", "financing\n$B"):
        table.add_column(col, justify="right", no_wrap=True)
    for year, row in mean.iterrows():
        table.add_row(str(year), f"{row['deals']:.0f}", f"{row['upfront_usd'] / 1e9:.2f}",
                      f"{row['total_value_usd'] / 1e9:.1f}",
                      "-" if row["upfront_to_value"] != row["upfront_to_value"] else f"{row['upfront_to_value']:.1%}",
                      f"{row.get('share_stage_preclinical', 0):.0%}", f"{row.get('share_kind_mnc', 0):.0%}",
                      f"{row['primary_financing_usd'] / 1e9:.2f}")
    from sim.interfaces.commands.validate import console

    console().print(table)
