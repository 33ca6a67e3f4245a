"""Results on disk: a Parquet dataset of finished runs that survives being killed.

Layout of an experiment's output folder ``DIR``::

    DIR/manifest.json        experiment, versions, git commit, root seed, progress
    DIR/base_scenario.json   the base scenario after the experiment's overrides
    DIR/design.parquet       one row per design point (and the sampler's raw floats)
    DIR/runs/*.parquet       one row per finished run: point, replication, seed, status,
                             error, each varied parameter, each outcome
    DIR/deals/point=P/replication-R.parquet     deal ledgers, when the experiment keeps them
    DIR/monthly/point=P/replication-R.parquet   monthly series, when the experiment keeps them
                             (``keep: [deals, monthly]``); each run's row holds the sha256 of
                             each file it kept (``deals_sha256``, ``monthly_sha256``)
    DIR/damaged/             damaged files found on resume, moved aside (their runs run again)
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
* An exclusive lock on the folder itself (:func:`sim.io.lock_folder`, which every command
  that writes a folder takes) keeps two commands out of one folder (the kernel drops it when
  the process dies, even by SIGKILL).
* Every file is checked on resume (:meth:`RunStore.verify`): each runs file is read whole
  (Parquet page checksums), each kept file is hashed against its run's checksum. A damaged
  runs file or kept file is moved to ``DIR/damaged/`` and its runs run again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from sim.errors import UserError
from sim.experiments.design import Param
from sim.experiments.tasks import Record
from sim.io import atomic_path, lock_folder, unlock_folder

#: Rows per compacted file.
ROWS_PER_PART = 250_000
#: Per-run frames an experiment can keep, each in ``DIR/<kind>/point=P/replication-R.parquet``.
FRAME_KINDS = ("deals", "monthly")
#: Parquet write options: page checksums let a resume tell a damaged file from a good one.
WRITE_OPTIONS = {"write_page_checksum": True}

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


def checksum_column(kind: str) -> str:
    return f"{kind}_sha256"


def runs_schema(params: list[Param], outcomes: Iterable[str], keep: Iterable[str] = ()) -> pa.Schema:
    """The one schema of every file in ``DIR/runs``."""
    fields = [pa.field("point", pa.int64(), nullable=False), pa.field("replication", pa.int64(), nullable=False),
              pa.field("seed", pa.int64(), nullable=False), pa.field("status", pa.string(), nullable=False),
              pa.field("error", pa.string())]
    fields += [pa.field(p.path, _ARROW_KIND[p.kind]) for p in params]
    fields += [pa.field(name, pa.float64()) for name in outcomes]
    fields += [pa.field(checksum_column(k), pa.string()) for k in FRAME_KINDS if k in tuple(keep)]
    return pa.schema(fields)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class Verification:
    """What :meth:`RunStore.verify` found: damaged files, with why, and the runs they cost."""

    files: int = 0  # files checked
    damaged: list[tuple[Path, str]] = field(default_factory=list)
    runs_lost: list[tuple[int, int]] = field(default_factory=list)  # (point, replication) to run again
    moved_to: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.damaged


class RunStore:
    """Append-only, resumable store of run records under ``root``."""

    def __init__(self, root: str | os.PathLike, params: list[Param], outcomes: Iterable[str], *,
                 keep: Iterable[str] = (), flush_rows: int = 256, flush_seconds: float = 1.0):
        self.root = Path(root)
        self.runs_dir = self.root / "runs"
        self.deals_dir = self.root / "deals"
        self.params = list(params)
        self.outcomes = tuple(outcomes)
        self.keep = tuple(k for k in FRAME_KINDS if k in tuple(keep))
        self.schema = runs_schema(self.params, self.outcomes, self.keep)
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
        self._lock_fd = lock_folder(self.root)
        self.recover()
        return self

    def unlock(self) -> None:
        if self._lock_fd is not None:
            unlock_folder(self._lock_fd)
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
        frame_dirs = [d for kind in FRAME_KINDS if (self.root / kind).is_dir()
                      for d in (self.root / kind).glob("point=*")]
        for folder in [self.runs_dir, *frame_dirs]:
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

    def _fits(self, found: pa.Schema) -> bool:
        """Whether a runs file's columns are this experiment's (or those before checksums were kept)."""
        want = [(x.name, x.type) for x in self.schema]
        older = [c for c in want if c[0] not in {checksum_column(k) for k in FRAME_KINDS}]
        return [(x.name, x.type) for x in found] in (want, older)

    def check_schema(self) -> None:
        """Fail clearly if ``runs/`` was written for other parameters or outcomes."""
        for f in self.files():
            try:
                found = pq.read_schema(f)
            except (OSError, pa.ArrowException):
                continue  # damaged: verify() moves it aside
            if not self._fits(found):
                raise UserError(f"{f}: written with other columns than this experiment's; use another --out")
            return

    # ---------------------------------------------------------------------------- checking

    def frame_path(self, kind: str, point: int, replication: int) -> Path:
        return self.root / kind / f"point={point}" / f"replication-{replication:06d}.parquet"

    def verify(self, repair: bool = False) -> Verification:
        """Check every file: runs files read whole, kept frames against their run's sha256.

        With ``repair``, damaged files are moved to ``DIR/damaged/`` and the rows of runs whose
        kept files are damaged are dropped, so that those runs run again.
        """
        report = Verification()
        good: list[tuple[Path, pa.Table]] = []
        for f in self.files():
            report.files += 1
            try:
                t = pq.read_table(f, page_checksum_verification=True)
                if not self._fits(t.schema):
                    raise ValueError("other columns than this experiment's")
                t = pq.read_table(f, schema=self.schema)
            except (OSError, ValueError, pa.ArrowException) as exc:
                report.damaged.append((f, _reason(exc)))
                continue
            good.append((f, t))
        lost: dict[Path, set[tuple[int, int]]] = {}
        for f, t in good:
            rows = t.select(["point", "replication", "status", *[checksum_column(k) for k in self.keep]]).to_pylist()
            for row in rows:
                if row["status"] != "ok":
                    continue
                key = (row["point"], row["replication"])
                for kind in self.keep:
                    path = self.frame_path(kind, *key)
                    want = row[checksum_column(kind)]
                    if want is None:  # kept nothing (a run function without frames), or before checksums
                        if path.is_file():
                            report.files += 1
                            reason = _readable(path)
                            if reason:
                                report.damaged.append((path, reason))
                                lost.setdefault(f, set()).add(key)
                        continue
                    report.files += 1
                    if not path.is_file():
                        report.damaged.append((path, "missing"))
                        lost.setdefault(f, set()).add(key)
                    elif _sha256(path) != want:
                        report.damaged.append((path, "its sha256 differs from the one its run recorded"))
                        lost.setdefault(f, set()).add(key)
        report.runs_lost = sorted(k for keys in lost.values() for k in keys)
        if repair and report.damaged:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            report.moved_to = self.root / "damaged" / stamp
            for path, _ in report.damaged:
                if path.exists():
                    dest = report.moved_to / path.relative_to(self.root)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, dest)
            for f, keys in lost.items():  # the runs whose files were damaged run again
                t = pq.read_table(f, schema=self.schema)
                drop = pa.array([(p, r) in keys for p, r in zip(t.column("point").to_pylist(),
                                                                t.column("replication").to_pylist())])
                kept = t.filter(pc.invert(drop))
                if kept.num_rows:
                    with atomic_path(f) as tmp:
                        pq.write_table(kept, tmp, **WRITE_OPTIONS)
                else:
                    f.unlink()
        return report

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
        """Queue a finished run; the frames it keeps (deal ledger, monthly series) are written at once."""
        row = {"point": rec.point, "replication": rec.replication, "seed": rec.seed,
               "status": rec.status, "error": rec.error}
        for kind in self.keep:
            frame = getattr(rec, kind, None)
            row[checksum_column(kind)] = self._write_frame(rec, kind, frame) if frame is not None else None
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
            pq.write_table(table, tmp, **WRITE_OPTIONS)
        self._rows = []

    def _write_frame(self, rec: Record, kind: str, df: Any) -> str:
        """Write one run's deal ledger or monthly series; return the file's sha256."""
        if "point" in df.columns:  # the partition folder holds it
            df = df.drop(columns=["point"])
        table = uniform_table(pa.Table.from_pandas(df, preserve_index=False))
        with atomic_path(self.frame_path(kind, rec.point, rec.replication)) as tmp:
            pq.write_table(table, tmp, **WRITE_OPTIONS)
            digest = _sha256(tmp)
        return digest

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
                    pq.write_table(kept, tmp, **WRITE_OPTIONS)
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
                pq.write_table(t, new / f"part-{k:05d}.parquet", **WRITE_OPTIONS)
        # beyond the design (should not happen): keep rather than lose
        t = ds.to_table(filter=pads.field("point") >= n_points)
        if t.num_rows:
            pq.write_table(t.sort_by([("point", "ascending"), ("replication", "ascending")]),
                           new / "part-99999.parquet", **WRITE_OPTIONS)
        _fsync_dir(new)
        os.replace(self.runs_dir, old)
        os.replace(new, self.runs_dir)
        shutil.rmtree(old)


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def _readable(path: Path) -> str | None:
    """None if ``path`` reads whole as Parquet, else why not."""
    try:
        pq.read_table(path, page_checksum_verification=True)
    except (OSError, ValueError, pa.ArrowException) as exc:
        return _reason(exc)
    return None


def _fsync_dir(path: Path) -> None:
    for f in path.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
