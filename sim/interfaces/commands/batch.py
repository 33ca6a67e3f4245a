"""`licsim batch EXPERIMENT`: every run of an experiment, in parallel, stored as Parquet, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from sim.errors import UserError
from sim.interfaces.options import (EXECUTOR_WORKERS_HELP, cluster_annotation, posterior_option, scheduler_annotation,
                                    workers_option)


def register(app: typer.Typer) -> None:
    @app.command("batch")
    def batch(
        experiment: Optional[Path] = typer.Argument(None, metavar="EXPERIMENT",
                                                    help="experiment file (experiments/*.yaml)"),
        workers: Optional[int] = workers_option(EXECUTOR_WORKERS_HELP),
        scheduler: Annotated[Optional[str], scheduler_annotation()] = None,
        cluster: Annotated[Optional[str], cluster_annotation()] = None,
        out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="DIR",
                                           help="output folder (default: results/experiments/<name>)"),
        retry_failed: bool = typer.Option(False, "--retry-failed", help="run the failed runs again"),
        verify: Optional[Path] = typer.Option(None, "--verify", metavar="DIR",
                                              help="check a batch folder's files (checksums) without running "
                                                   "anything; exit 1 if any is damaged"),
        max_tasks_per_child: int = typer.Option(200, "--max-tasks-per-child", min=1, metavar="N",
                                                help="replace local worker processes after about this many runs each"),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="show the progress bar"),
        run_fn: Optional[str] = typer.Option(None, "--run-fn", hidden=True,
                                             help="module:function to run instead of the model (testing)"),
        flush_seconds: float = typer.Option(1.0, "--flush-seconds", hidden=True, min=0.0,
                                            help="write finished runs to disk at least this often"),
        posterior: Optional[Path] = posterior_option("each run draws a parameter set (design values win)",
                                                     whose="base scenario's"),
    ) -> None:
        """Run an experiment's design points x replications; resume where a stopped batch left off.

        Each finished run becomes a row of OUT/runs/ (pandas.read_parquet(OUT / "runs")).
        Stop it at any time (Ctrl-C, or a killed process) and run the same command again:
        finished runs are skipped, and damaged files are found and their runs run again.
        Results do not depend on --workers or the executor. Exit code 1 if runs are missing.
        """
        if verify is not None:
            if experiment is not None:
                raise UserError("--verify DIR checks a folder and runs nothing; give it without an experiment file")
            raise typer.Exit(verify_folder(verify))
        if experiment is None:
            raise UserError("give an experiment file (experiments/*.yaml), or --verify DIR to check a batch folder")

        import signal

        from sim.experiments.executors import check_executor_options, single_threaded_env

        single_threaded_env()  # before numpy loads, where it has not yet

        from rich.console import Console

        from sim.experiments.batch import run_batch
        from sim.experiments.executors import make_executor
        from sim.experiments.loader import load_experiment
        from sim.experiments.tasks import resolve_run_fn
        from sim.io import check_output

        from sim.analysis.posterior import check_against, ensemble

        fn = resolve_run_fn(run_fn)
        check_executor_options(workers, scheduler, cluster)
        loaded = load_experiment(experiment)
        post = ensemble(loaded.scenario, posterior)
        if post is not None:
            check_against(post, loaded.scenario, skip=[p.path for p in loaded.params])
        out_dir = out if out is not None else Path("results") / "experiments" / loaded.name
        # before anything runs: a file, or a folder licsim did not write for a batch, is refused
        check_output(out_dir, "batch", resume=True, option="--out" if out is not None else "output folder")
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
        except OSError as exc:  # a full disk, a folder that went away: the manifest says "interrupted"
            raise BatchStopped(f"{out_dir}: {exc.strerror or exc}; the batch stopped (manifest.json: "
                               "interrupted); finished runs are saved; fix the cause and run the same command "
                               "again to resume") from None
        finally:
            signal.signal(signal.SIGTERM, previous)
        failed = f", {res.failed} failed (see {out_dir / 'errors.log'})" if res.failed else ""
        print(f"{res.ok + res.failed}/{res.total} runs done ({res.ran} now, {res.seconds:.1f} s){failed}: "
              f"{out_dir / 'runs'}")
        if res.missing:
            raise BatchStopped(f"{out_dir}: {res.missing} of {res.total} runs are missing (no row in "
                               f"{out_dir / 'runs'}); run the same command again to run them")


class BatchStopped(UserError):
    """A batch that did not finish: one line, exit code 1 (the input was fine)."""

    exit_code = 1


def verify_folder(folder: Path) -> int:
    """``licsim batch --verify DIR``: check every file of a batch folder; 0 if all are sound, else 1."""
    from sim.experiments.design import Param
    from sim.experiments.store import RunStore
    from sim.io import folder_lock, manifest_kind, read_manifest_file

    if not folder.is_dir():
        raise UserError(f"--verify {folder}: no such folder; give the output folder of licsim batch")
    manifest = read_manifest_file(folder)
    if manifest is None or manifest_kind(folder) != "batch":
        raise UserError(f"--verify {folder}: not a batch folder (no licsim batch manifest.json)")
    try:
        params = [Param(p["path"], p["kind"]) for p in manifest["parameters"]]
        outcomes = list(manifest["outcomes"])
        exp = manifest.get("experiment", {})
        keep = manifest.get("keep") or (["deals"] if exp.get("save_deals") else []) + list(exp.get("keep", []))
        total = int(manifest["design"]["runs"])
    except (KeyError, TypeError, ValueError) as exc:
        raise UserError(f"--verify {folder}: manifest.json lacks {exc}; not a batch folder licsim can check") from None
    store = RunStore(folder, params, outcomes, keep=keep)
    with folder_lock(folder):
        report = store.verify(repair=False)
        counts = store.counts() if report.ok else None
    for path, why in report.damaged:
        print(f"damaged: {path}: {why}")
    if not report.ok:
        lost = f"; {len(report.runs_lost)} run(s) lose their kept files" if report.runs_lost else ""
        print(f"{len(report.damaged)} of {report.files} files damaged{lost}; run licsim batch with the same "
              "experiment and --out to repair them (damaged files are moved to damaged/, their runs run again)")
        return 1
    stored = counts["ok"] + counts["failed"]
    missing = f"; {total - stored} of {total} runs not run yet" if stored < total else ""
    print(f"{report.files} files verified, none damaged ({stored} runs stored{missing}): {folder}")
    return 0
