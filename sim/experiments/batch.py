"""A batch: every (design point, replication) of an experiment, run once, stored, resumable.

:func:`run_batch` ties the four parts together: the design (what varies), the run
function (what the model is), the executor (how it runs) and the store (where results
go). Interrupted batches resume by running only the runs missing from ``DIR/runs``; the
final dataset is the same bytes as that of an uninterrupted batch.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from sim.errors import UserError
from sim.experiments import design as design_mod
from sim.experiments.executors import Executor
from sim.experiments.loader import LoadedExperiment
from sim.experiments.seeds import run_index, run_seed
from sim.experiments.store import RunStore
from sim.experiments.tasks import Task, run_model
from sim.io import atomic_path, dir_mode, manifest_kind
from sim.provenance import git_info, package_versions, utc_now

MANIFEST_VERSION = 1
SEED_RULE = ("seed of run i = point * replications + replication: "
             "int(SeedSequence(root_seed).spawn(runs)[i].generate_state(1, uint64)[0] >> 1)")


@dataclass
class BatchResult:
    out: Path
    total: int
    ok: int
    failed: int
    ran: int  # runs executed by this call (the rest were already stored)
    seconds: float

    @property
    def complete(self) -> bool:
        return self.ok + self.failed == self.total

    @property
    def missing(self) -> int:
        """Runs of the design with no row in ``runs/`` (neither finished nor failed)."""
        return self.total - self.ok - self.failed


def iter_tasks(loaded: LoadedExperiment, points: pd.DataFrame, done: np.ndarray | None = None,
               posterior: Any = None) -> Iterator[Task]:
    """Tasks in the fixed run order, skipping those marked ``done`` (indexed by run number).

    With ``posterior`` (:class:`sim.analysis.posterior.Posterior`), each run first takes the
    parameter set its seed draws; the design point's own values win where both set a path."""
    scenario_json = loaded.scenario_json()
    key = loaded.fingerprint()
    cols = [(p.path, points[p.path].to_numpy()) for p in loaded.params]
    reps = loaded.replications
    keeps = loaded.experiment.keeps()
    for point in range(loaded.n_points):
        params = tuple((name, _py(values[point])) for name, values in cols)
        for rep in range(reps):
            i = run_index(point, rep, reps)
            if done is not None and done[i]:
                continue
            seed = run_seed(loaded.root_seed, i)
            run_params = params
            if posterior is not None:
                run_params = tuple({**posterior.overrides(posterior.draw(seed)), **dict(params)}.items())
            yield Task(point, rep, seed, run_params, loaded.outcomes, scenario_json, key,
                       "deals" in keeps, "monthly" in keeps)


def _py(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def run_batch(loaded: LoadedExperiment, out: str | Path, executor: Executor, *,
              run_fn: Callable[[Task], Any] = run_model, retry_failed: bool = False, progress: bool = True,
              console: Any = None, flush_seconds: float = 1.0, posterior: Any = None) -> BatchResult:
    """Run the runs of ``loaded`` missing from ``out`` on ``executor`` and store them.

    A new folder is prepared beside ``out`` (manifest, experiment, design) and moved into
    place; an existing one must hold this experiment (its manifest). On resume every stored
    file is verified and damaged ones are moved to ``out/damaged/``, their runs run again.
    If the batch stops on an error (a full disk) or an interrupt, the manifest says
    ``interrupted`` and why, and the same command resumes it. With ``posterior``, each run
    draws a parameter set by its seed (see :func:`iter_tasks`).
    """
    out = Path(out)
    t0 = time.monotonic()
    qualname = _qualname(run_fn)
    _create(out, loaded, qualname, posterior.describe() if posterior is not None else None)
    store = RunStore(out, loaded.params, loaded.outcomes, keep=loaded.experiment.keeps(),
                     flush_seconds=flush_seconds)
    with store:
        manifest = _open_manifest(out, loaded, qualname, console,
                                  posterior.describe() if posterior is not None else None)
        points = _design(out, loaded)
        store.check_schema()
        repaired = store.verify(repair=True)
        if not repaired.ok and console is not None:
            console.print(f"[yellow]repaired:[/] {len(repaired.damaged)} damaged file(s) moved to "
                          f"{repaired.moved_to}; their runs run again")
        if not repaired.ok:
            manifest.setdefault("notes", []).append(
                f"{utc_now()}: {len(repaired.damaged)} damaged file(s) moved to {repaired.moved_to}: "
                + "; ".join(f"{p.relative_to(out)} ({why})" for p, why in repaired.damaged[:20]))
        if manifest.get("status") == "running" and manifest.get("sessions"):
            # we hold the lock, so the batch that wrote "running" is gone: killed, or its machine stopped
            manifest["sessions"][-1].setdefault("interrupted", True)
            manifest["sessions"][-1].setdefault("reason", "the batch process ended without finishing (killed?)")
        if retry_failed:
            store.drop_failed()
        done = _done_mask(store, loaded)
        store.set_design(points)
        already = int(done.sum())
        session = {"started": utc_now(), **executor.describe(), "runs_before": already}
        manifest["sessions"].append(session)
        manifest["status"] = "running"
        manifest.pop("reason", None)
        _write_json(manifest, out / "manifest.json")
        ran = failed_now = 0
        tasks = iter_tasks(loaded, points, done, posterior)
        bar = _Progress(loaded.n_runs, already, store.counts()["failed"], progress, console)
        try:
            with bar:
                for rec in executor.imap_unordered(run_fn, tasks):
                    store.add(rec)
                    ran += 1
                    failed_now += rec.status != "ok"
                    bar.advance(rec.status != "ok")
            store.flush()
        except BaseException as exc:
            try:
                store.flush()
            except Exception:  # noqa: BLE001 - the disk may be full: the runs not flushed run again
                pass
            reason = ("interrupted (Ctrl-C or SIGTERM)" if isinstance(exc, KeyboardInterrupt)
                      else " ".join(f"{type(exc).__name__}: {exc}".split())[:500])
            session.update(finished=utc_now(), runs=ran, failed=failed_now, interrupted=True, reason=reason)
            manifest.update(status="interrupted", reason=reason)
            _write_manifest_anyhow(manifest, out / "manifest.json")
            raise
        counts = store.counts()
        complete = counts["ok"] + counts["failed"] == loaded.n_runs
        if complete:
            store.compact(loaded.n_points, loaded.replications)
        session.update(finished=utc_now(), runs=ran, failed=failed_now, seconds=round(time.monotonic() - t0, 3))
        manifest.update(status="complete" if complete else "incomplete", counts=counts)
        _write_json(manifest, out / "manifest.json")
    return BatchResult(out, loaded.n_runs, counts["ok"], counts["failed"], ran, time.monotonic() - t0)


def _done_mask(store: RunStore, loaded: LoadedExperiment) -> np.ndarray:
    done = np.zeros(loaded.n_runs, dtype=bool)
    points, reps = store.done_arrays()
    inside = (points >= 0) & (points < loaded.n_points) & (reps >= 0) & (reps < loaded.replications)
    done[run_index(points[inside], reps[inside], loaded.replications)] = True
    return done


def read_runs(out: str | Path) -> pd.DataFrame:
    """The runs table of a batch folder, sorted by (point, replication)."""
    runs = Path(out) / "runs"
    if not runs.is_dir() or not any(runs.glob("*.parquet")):
        raise UserError(f"{out}: no runs yet (expected Parquet files in {runs})")
    df = pd.read_parquet(runs)
    return df.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)


# -------------------------------------------------------------------------- manifest


def _qualname(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', repr(fn))}"


def _new_manifest(loaded: LoadedExperiment, run_fn: str, posterior: dict[str, Any] | None = None) -> dict[str, Any]:
    exp = loaded.experiment
    return {
        "command": "batch",
        "manifest_version": MANIFEST_VERSION,
        "experiment": exp.model_dump(mode="json"),
        "experiment_file": str(loaded.path),
        "base_scenario_file": str(loaded.base_path),
        "fingerprint": loaded.fingerprint(),
        "run_fn": run_fn,
        "root_seed": loaded.root_seed,
        "design_seed": loaded.design_seed,
        "seed_rule": SEED_RULE,
        "design": {"kind": exp.design.kind, "points": loaded.n_points, "replications": exp.replications,
                   "runs": loaded.n_runs, "samples": exp.design.samples, "second_order": exp.design.second_order,
                   "levels": exp.design.levels},
        "parameters": [{"path": p.path, "kind": p.kind, "low": p.low, "high": p.high, "values": list(p.values)}
                       for p in loaded.params],
        "outcomes": list(loaded.outcomes),
        "keep": list(exp.keeps()),
        "posterior": posterior,  # each run's parameter set: posterior row Posterior.draw(run seed)
        "versions": package_versions(),
        "git": git_info(),
        "created": utc_now(),
        "status": "new",
        "sessions": [],
    }


def _write_start_files(folder: Path, loaded: LoadedExperiment, run_fn: str,
                       posterior: dict[str, Any] | None = None) -> None:
    """The files a new batch folder starts with: experiment, base scenario, design, manifest (last)."""
    with atomic_path(folder / "experiment.yaml") as tmp:
        tmp.write_bytes(Path(loaded.path).read_bytes())
    with atomic_path(folder / "base_scenario.json") as tmp:
        tmp.write_text(json.dumps(json.loads(loaded.scenario_json()), indent=2) + "\n")
    _design(folder, loaded)
    _write_json(_new_manifest(loaded, run_fn, posterior), folder / "manifest.json")


def _create(out: Path, loaded: LoadedExperiment, run_fn: str, posterior: dict[str, Any] | None = None) -> None:
    """A new batch folder: prepared in a temporary folder beside ``out``, then moved into place."""
    if out.exists() or out.is_symlink():
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _write_start_files(tmp, loaded, run_fn, posterior)
        os.chmod(tmp, dir_mode())
        try:
            os.rename(tmp, out)
        except OSError:
            if not out.exists():
                raise
            # made by another command meanwhile: it is checked like any existing folder
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _open_manifest(out: Path, loaded: LoadedExperiment, run_fn: str, console: Any = None,
                   posterior: dict[str, Any] | None = None) -> dict[str, Any]:
    path = out / "manifest.json"
    fingerprint = loaded.fingerprint()
    if path.exists():
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: unreadable manifest ({exc}); use another --out") from None
        if not isinstance(manifest, dict) or manifest_kind(out) != "batch":
            raise UserError(f"{out}: the folder holds no licsim batch (its manifest.json is another command's); "
                            "use another --out")
        if manifest.get("fingerprint") != fingerprint:
            raise UserError(f"{out} holds results of a different (or edited) experiment "
                            f"({manifest.get('experiment', {}).get('name', '?')}); use another --out or delete it")
        had = (manifest.get("posterior") or {}).get("digest")
        if had != (posterior or {}).get("digest"):  # runs drawn from another ensemble (or none) do not mix
            was = f"posterior {manifest['posterior']['file']}" if had else "no parameter ensemble"
            raise UserError(f"{out} holds runs made with {was}; resume with the same ensemble (--posterior, or the "
                            "scenario's parameters:), or use another --out")
        if manifest.get("run_fn", run_fn) != run_fn:
            raise UserError(f"{out} holds results of run function {manifest.get('run_fn')}, not {run_fn}; "
                            "use another --out")
        # the model's code is not in the fingerprint: say so when it may have changed
        before = {**manifest.get("versions", {}), "git": manifest.get("git", {}).get("commit")}
        now = {**package_versions(), "git": git_info()["commit"]}
        changed = [f"{k} {before.get(k)} -> {now[k]}" for k in ("licsim", "mesa", "numpy", "git")
                   if before.get(k) != now[k]]
        if changed:
            note = f"{utc_now()}: resumed with {', '.join(changed)}; earlier and later runs may differ"
            manifest.setdefault("notes", []).append(note)
            if console is not None:
                console.print(f"[yellow]warning:[/] {note}")
        return manifest
    visible = [p for p in out.iterdir() if p.name != ".lock" and not p.name.endswith(".tmp")]
    if visible:
        raise UserError(f"{out}: the folder exists and holds no licsim batch (no manifest.json); use a new or "
                        "empty folder for --out")
    _write_start_files(out, loaded, run_fn, posterior)
    return json.loads(path.read_text())


def _design(out: Path, loaded: LoadedExperiment) -> pd.DataFrame:
    """Draw the design; write ``design.parquet`` (with the sampler's raw floats) once."""
    points, raw = design_mod.sample(loaded.experiment.design, loaded.params, loaded.design_seed)
    path = out / "design.parquet"
    if not path.exists():
        table = points.copy()
        if raw is not None:
            for i, p in enumerate(loaded.params):
                table[f"raw:{p.path}"] = raw[:, i]
        with atomic_path(path) as tmp:
            table.to_parquet(tmp, index=False)
    return points


def _write_json(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n")


def _write_manifest_anyhow(obj: Any, path: Path) -> None:
    """Write the manifest after a failure: atomically if the disk allows, else in place.

    On a full disk the atomic write needs room for a second copy; rewriting the file in place
    frees its old blocks first, so the status and its reason still reach the disk.
    """
    try:
        _write_json(obj, path)
        return
    except OSError:
        pass
    try:
        with open(path, "r+", encoding="utf-8") as fh:
            fh.truncate(0)
            fh.write(json.dumps(obj, indent=2, default=str) + "\n")
    except OSError:
        pass  # nothing more can be done; a resume still works from runs/


# -------------------------------------------------------------------------- progress


class _Progress:
    """Runs done of total, failed, runs per second and time left (rich, on stderr)."""

    def __init__(self, total: int, done: int, failed: int, enabled: bool, console: Any = None):
        self.total, self.done, self.failed = total, done, failed
        self.start_done = done
        self.enabled = enabled and total > done
        self.console = console
        self._progress: Any = None
        self._task: Any = None
        self._t0 = time.monotonic()

    def __enter__(self) -> "_Progress":
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]runs"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                TextColumn("[red]{task.fields[failed]} failed"), TextColumn("{task.fields[rate]} runs/s"),
                TimeElapsedColumn(), TextColumn("left {task.fields[left]}"),
                console=self.console or Console(stderr=True), transient=False,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("runs", total=self.total, completed=self.done,
                                                 failed=self.failed, rate="-", left="-")
        return self

    def advance(self, failed: bool) -> None:
        self.done += 1
        self.failed += int(failed)
        if self._progress is None:
            return
        elapsed = time.monotonic() - self._t0
        new = self.done - self.start_done
        rate = new / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        self._progress.update(self._task, completed=self.done, failed=self.failed, rate=f"{rate:.1f}",
                              left=_fmt_seconds(left))

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)


def _fmt_seconds(s: float) -> str:
    if not np.isfinite(s):
        return "-"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


# make `python -m sim.experiments.batch` a clear error rather than a silent no-op
if __name__ == "__main__":  # pragma: no cover
    sys.exit("use: licsim batch EXPERIMENT")
