"""`licsim batch EXPERIMENT`: every run of an experiment, in parallel, stored as Parquet, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        experiment: Path = typer.Argument(..., help="experiment file (experiments/*.yaml)"),
        workers: Optional[int] = typer.Option(None, "--workers", "-w",
                                              help="local worker processes, or LocalCluster workers "
                                                   "(default: the number of cores; 1 runs in this process)"),
        scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                                help="run on a running Dask cluster: tcp://host:port"),
        cluster: Optional[str] = typer.Option(None, "--cluster", help="'local': start a Dask LocalCluster"),
        out: Optional[Path] = typer.Option(None, "--out", "-o",
                                           help="output folder (default: results/experiments/<name>)"),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="run the failed runs again"),
        max_tasks_per_child: int = typer.Option(200, "--max-tasks-per-child", min=1,
                                                help="replace local worker processes after about this many runs each"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show the progress bar"),
        run_fn: Optional[str] = typer.Option(None, "--run-fn", hidden=True,
                                             help="module:function to run instead of the model (testing)"),
        flush_seconds: float = typer.Option(1.0, "--flush-seconds", hidden=True, min=0.0,
                                            help="write finished runs to disk at least this often"),
        posterior: Optional[Path] = typer.Option(None, "--posterior",
                                                 help="posterior.parquet of licsim calibrate: each run draws a "
                                                      "parameter set (design values win)"),
    ) -> None:
        """Run an experiment's design points x replications; resume where a stopped batch left off.

        Each finished run becomes a row of OUT/runs/ (pandas.read_parquet(OUT / "runs")).
        Stop it at any time (Ctrl-C, or a killed process) and run the same command again:
        finished runs are skipped. Results do not depend on --workers or the executor.
        """
        import signal

        from sim.experiments.executors import single_threaded_env

        single_threaded_env()  # before numpy loads, where it has not yet

        from rich.console import Console

        from sim.experiments.batch import run_batch
        from sim.experiments.executors import make_executor
        from sim.experiments.loader import load_experiment

        from sim.experiments.tasks import resolve_run_fn

        from sim.analysis.posterior import check_against, load_posterior

        fn = resolve_run_fn(run_fn)
        loaded = load_experiment(experiment)
        post = load_posterior(posterior) if posterior is not None else None
        if post is not None:
            check_against(post, loaded.scenario, skip=[p.path for p in loaded.params])
        out_dir = out if out is not None else Path("results") / "experiments" / loaded.name
        err = Console(stderr=True)

        def _term(signum, frame):  # a cluster job's SIGTERM: stop as cleanly as Ctrl-C
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, _term)
        err.print(f"{loaded.name}: {loaded.n_points} points x {loaded.replications} replications = "
                  f"{loaded.n_runs} runs ({loaded.experiment.design.kind}) -> {out_dir}")
        try:
            with make_executor(workers, scheduler, cluster, max_tasks_per_child) as executor:
                res = run_batch(loaded, out_dir, executor, run_fn=fn, retry_failed=retry_failed,
                                progress=progress, console=err, flush_seconds=flush_seconds, posterior=post)
        except KeyboardInterrupt:
            err.print(f"interrupted; finished runs are saved in {out_dir / 'runs'}; run the same command "
                      "again to resume")
            raise
        finally:
            signal.signal(signal.SIGTERM, previous)
        failed = f", {res.failed} failed (see {out_dir / 'errors.log'})" if res.failed else ""
        print(f"{res.ok + res.failed}/{res.total} runs done ({res.ran} now, {res.seconds:.1f} s){failed}: "
              f"{out_dir / 'runs'}")
