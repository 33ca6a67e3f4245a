"""Results on disk: a Parquet dataset of finished runs that survives being killed.

Layout of an experiment's output folder ``DIR``::

    DIR/manifest.json        experiment, versions, git commit, root seed, progress
    DIR/base_scenario.json   the base scenario after the experiment's overrides
    DIR/design.parquet       one row per design point (and the sampler's raw floats)
    DIR/runs/*.parquet       one row per finished run: point, replication, seed, status,
                             error, each varied parameter, each outcome
    DIR/deals/point=P/replication-R.parquet   deal ledgers, when the experiment keeps them
    DIR/errors.log           tracebacks of failed runs

Rules that make resume safe:

* Every file is written to a hidden temporary file and renamed into place
  (:func:`sim.io.atomic_path`), so a killed process leaves no partial file, and readers
  (pandas, pyarrow, DuckDB) skip hidden files.
* A run counts as finished when its row is in ``runs/``; resume lists the keys
  (point, replication) already there and runs only the others, so no run is lost or
  written twice. A deal ledger is written before its run's row, under a name fixed by
  its key, so a rerun replaces it.
* Every file has the same Arrow schema, so the dataset concatenates cleanly: failed
  runs have NaN outcomes and an error string; finished runs have a null error.
* Rows arrive in chunks as runs finish; once all runs are in, :meth:`RunStore.compact`
  rewrites the dataset as ``part-00000.parquet`` ... sorted by (point, replication), so
  the files are the same bytes whichever executor or number of workers made them.
  Compaction builds the new folder beside ``runs/`` and swaps it in with two renames;
  :meth:`RunStore.recover` finishes or undoes a swap that was interrupted.
* An exclusive lock on ``DIR/.lock`` keeps two batches out of one folder (the kernel
  drops it when the process dies, even by SIGKILL).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.experiments.design import Param
from sim.experiments.tasks import Record
from sim.io import atomic_path

#: Rows per compacted file.
ROWS_PER_PART = 250_000

def uniform_table(table: pa.Table) -> pa.Table:
    """One type per kind of column, so files of different runs concatenate.

    A ledger with no deals has all-null text columns, and a column of times may come as
    seconds in one run and microseconds in another: text becomes ``string``, times
    ``timestamp[us]``; the pandas metadata (index layout) is dropped.
    """
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_null(t) or pa.types.is_large_string(t) or pa.types.is_string(t):
            t = pa.string()
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz=t.tz)
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields)).replace_schema_metadata(None)


_ARROW_KIND = {"int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "str": pa.string()}


def runs_schema(params: list[Param], outcomes: Iterable[str]) -> pa.Schema:
    """The one schema of every file in ``DIR/runs``."""
    fields = [pa.field("point", pa.int64(), nullable=False), pa.field("replication", pa.int64(), nullable=False),
              pa.field("seed", pa.int64(), nullable=False), pa.field("status", pa.string(), nullable=False),
              pa.field("error", pa.string())]
    fields += [pa.field(p.path, _ARROW_KIND[p.kind]) for p in params]
    fields += [pa.field(name, pa.float64()) for name in outcomes]
    return pa.schema(fields)


class RunStore:
    """Append-only, resumable store of run records under ``root``."""

    def __init__(self, root: str | os.PathLike, params: list[Param], outcomes: Iterable[str], *,
                 flush_rows: int = 256, flush_seconds: float = 1.0):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.deals_dir = self.root / "deals"
        self.params = list(params)
        self.outcomes = tuple(outcomes)
        self.schema = runs_schema(self.params, self.outcomes)
        self.flush_rows = flush_rows
        self.flush_seconds = flush_seconds
        self._rows: list[dict[str, Any]] = []
        self._last_flush = time.monotonic()
        self._design_cols: list[tuple[str, Any]] = []
        self._lock_fd: int | None = None

    # -------------------------------------------------------------------- lock and recovery

    def lock(self) -> "RunStore":
        """Take the folder's exclusive lock, or fail with a one-line error."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UserError(f"{self.root}: another batch is writing to this folder; wait for it or use "
                            "another --out") from None
        self._lock_fd = fd
        self.recover()
        return self

    def unlock(self) -> None:
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "RunStore":
        return self.lock()

    def __exit__(self, *exc: Any) -> None:
        self.unlock()

    def recover(self) -> None:
        """Finish or undo an interrupted compaction swap; drop stale temporary files."""
        old, new = self.root / ".runs.old", self.root / ".runs.new"
        if not self.runs_dir.exists() and old.exists():
            os.replace(old, self.runs_dir)  # killed between the two renames: keep the chunks
        for stale in (old, new):
            if stale.exists():
                shutil.rmtree(stale)
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        for folder in [self.runs_dir, *(self.deals_dir.glob("point=*") if self.deals_dir.exists() else [])]:
            for tmp in folder.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------- reading

    def files(self) -> list[Path]:
        return sorted(p for p in self.runs_dir.glob("*.parquet") if not p.name.startswith((".", "_")))

    def _dataset(self) -> pads.Dataset | None:
        files = self.files()
        if not files:
            return None
        return pads.dataset([str(f) for f in files], schema=self.schema, format="parquet")

    def check_schema(self) -> None:
        """Fail clearly if ``runs/`` was written for other parameters or outcomes."""
        for f in self.files()[:1]:
            found = pq.read_schema(f)
            if [(x.name, x.type) for x in found] != [(x.name, x.type) for x in self.schema]:
                raise UserError(f"{f}: written with other columns than this experiment's; use another --out")

    def done_arrays(self) -> tuple[Any, Any]:
        """Points and replications (two int64 numpy arrays) of every run already stored."""
        import numpy as np

        ds = self._dataset()
        if ds is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        t = ds.to_table(columns=["point", "replication"])
        return t.column("point").to_numpy(), t.column("replication").to_numpy()

    def counts(self) -> dict[str, int]:
        ds = self._dataset()
        if ds is None:
            return {"ok": 0, "failed": 0}
        status = ds.to_table(columns=["status"]).column("status").to_pylist()
        return {"ok": sum(s == "ok" for s in status), "failed": sum(s != "ok" for s in status)}

    # ---------------------------------------------------------------------------- writing

    def set_design(self, points: Any) -> None:
        """Remember each point's parameter values (a DataFrame from :func:`design.sample`)."""
        self._design_cols = [(p.path, points[p.path].to_numpy()) for p in self.params]

    def add(self, rec: Record) -> None:
        """Queue a finished run; its deal ledger, if any, is written at once."""
        if rec.deals is not None:
            self._write_deals(rec)
        row = {"point": rec.point, "replication": rec.replication, "seed": rec.seed,
               "status": rec.status, "error": rec.error}
        for name, column in self._design_cols:
            value = column[rec.point]
            row[name] = value.item() if hasattr(value, "item") else value
        row.update(rec.outcomes)
        self._rows.append(row)
        if rec.traceback:
            with open(self.root / "errors.log", "a", encoding="utf-8") as fh:
                fh.write(f"--- point {rec.point} replication {rec.replication} seed {rec.seed}\n{rec.traceback}\n")
        if len(self._rows) >= self.flush_rows or time.monotonic() - self._last_flush >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        """Write the queued rows as one new file (atomically)."""
        self._last_flush = time.monotonic()
        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        name = f"chunk-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        with atomic_path(self.runs_dir / name) as tmp:
            pq.write_table(table, tmp)
        self._rows = []

    def _write_deals(self, rec: Record) -> None:
        df = rec.deals
        if "point" in df.columns:  # the partition folder holds it
            df = df.drop(columns=["point"])
        table = uniform_table(pa.Table.from_pandas(df, preserve_index=False))
        path = self.deals_dir / f"point={rec.point}" / f"replication-{rec.replication:06d}.parquet"
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp)

    def drop_failed(self) -> int:
        """Remove failed runs (so that they run again); each file is rewritten atomically."""
        dropped = 0
        for f in self.files():
            t = pq.read_table(f, schema=self.schema)
            ok = pc.equal(t.column("status"), "ok")
            n_bad = t.num_rows - pc.sum(ok.cast(pa.int64())).as_py()
            if not n_bad:
                continue
            dropped += n_bad
            kept = t.filter(ok)
            if kept.num_rows:
                with atomic_path(f) as tmp:
                    pq.write_table(kept, tmp)
            else:
                f.unlink()
        if (self.root / "errors.log").exists() and dropped:
            os.replace(self.root / "errors.log", self.root / "errors.previous.log")
        return dropped

    def compact(self, n_points: int, replications: int) -> None:
        """Rewrite ``runs/`` as sorted ``part-NNNNN.parquet`` files (skipped if already so)."""
        files = self.files()
        if not files or all(f.name.startswith("part-") for f in files):
            return
        new, old = self.root / ".runs.new", self.root / ".runs.old"
        if new.exists():
            shutil.rmtree(new)
        new.mkdir()
        ds = self._dataset()
        points_per_part = max(1, ROWS_PER_PART // max(1, replications))
        for k, start in enumerate(range(0, max(n_points, 1), points_per_part)):
            flt = (pads.field("point") >= start) & (pads.field("point") < start + points_per_part)
            t = ds.to_table(filter=flt).sort_by([("point", "ascending"), ("replication", "ascending")])
            if t.num_rows:
                pq.write_table(t, new / f"part-{k:05d}.parquet")
        # beyond the design (should not happen): keep rather than lose
        t = ds.to_table(filter=pads.field("point") >= n_points)
        if t.num_rows:
            pq.write_table(t.sort_by([("point", "ascending"), ("replication", "ascending")]),
                           new / "part-99999.parquet")
        _fsync_dir(new)
        os.replace(self.runs_dir, old)
        os.replace(new, self.runs_dir)
        shutil.rmtree(old)


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
