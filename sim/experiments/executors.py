"""How runs are executed: in this process, in local worker processes, or on Dask.

Every executor has the same small interface, so the batch and the model never change
when it does::

    with ProcessExecutor(workers=4) as ex:
        for record in ex.imap_unordered(run_fn, tasks):   # records in completion order
            ...

``run_fn`` is any picklable top-level function ``run_fn(task) -> dict`` (or
:class:`~sim.experiments.tasks.RunOutput`); it is called through
:func:`~sim.experiments.tasks.safe_call`, so an exception becomes a failed record. Tasks
are pulled lazily from the iterable and at most ``prefetch`` per worker are in flight,
so memory does not grow with the number of runs. Results do not depend on the executor:
each run's randomness comes only from its task's seed.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import os
import re
import signal
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterable, Iterator

from sim.errors import UserError
from sim.experiments.tasks import Record, Task, safe_call

RunFn = Callable[[Task], Any]

#: A run whose worker dies this many times while it runs alone is recorded as failed (a worker
#: killed from outside, or by the machine running short of memory, is not the run's fault).
MAX_SOLO_DEATHS = 2

#: Threaded math libraries run single-threaded in workers: results then do not depend on
#: how many threads a library picked, and N worker processes do not fight over cores.
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "VECLIB_MAXIMUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1"}


def single_threaded_env() -> None:
    """Set :data:`SINGLE_THREAD_ENV` (unless already set) for the worker processes started from here."""
    for k, v in SINGLE_THREAD_ENV.items():
        os.environ.setdefault(k, v)


def spawn_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool with the ``spawn`` start method (Mesa and threads in the parent make fork
    unsafe), single-threaded math libraries, and workers that leave Ctrl-C to the parent and end
    when the parent is gone."""
    single_threaded_env()
    return ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_worker_init,
                               initargs=(os.getpid(),))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _failed(task: Task, message: str) -> Record:
    return Record(task.point, task.replication, task.seed, "failed", message,
                  {k: math.nan for k in task.outcomes})


class Executor:
    """Base class: a context manager with :meth:`imap_unordered`."""

    name = "executor"
    workers = 1

    def imap_unordered(self, run_fn: RunFn, tasks: Iterable[Task]) -> Iterator[Record]:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.workers}

    def close(self, abort: bool = False) -> None:
        """Release workers; ``abort`` stops runs in flight instead of waiting for them."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        self.close(abort=exc_type is not None)


class SerialExecutor(Executor):
    """Runs one after another in this process (debugging, profiling, one core)."""

    name = "serial"

    def imap_unordered(self, run_fn: RunFn, tasks: Iterable[Task]) -> Iterator[Record]:
        for task in tasks:
            yield safe_call(run_fn, task)


def _worker_init(parent: int) -> None:
    # Ctrl-C reaches the whole process group; only the parent acts on it (flushes, exits).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A parent stopped by a signal or killed never shuts its pool down, and a worker waiting for
    # work on a queue it holds both ends of would wait forever: end with the parent.
    threading.Thread(target=_exit_with_parent, args=(parent,), name="licsim-watch-parent", daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class ProcessExecutor(Executor):
    """Local worker processes (``spawn``), replaced after ``workers * max_tasks_per_child`` runs.

    Replacing workers bounds the memory of long batches whatever a run leaks (Mesa 3.3.1
    keeps every model that had agents alive through ``Agent._ids``). It is done by
    rotating pools, not with ``ProcessPoolExecutor(max_tasks_per_child=...)``, which can
    deadlock on Python 3.11 (CPython gh-115634): after ``workers * max_tasks_per_child``
    runs, new runs go to a fresh pool while the old one finishes its runs and exits (a
    process then runs ``max_tasks_per_child`` runs on average, at most ``workers`` times that).

    If a worker process dies (segfault, out of memory, killed from outside), its pool is
    replaced and the runs that were in flight there are retried one at a time on the new
    one. A run whose worker dies while it runs alone is tried again; one that dies alone
    :data:`MAX_SOLO_DEATHS` times is recorded as failed, and the others complete.
    """

    name = "processes"

    def __init__(self, workers: int | None = None, *, max_tasks_per_child: int | None = 200, prefetch: int = 2):
        self.workers = max(1, workers or available_cores())
        self.max_tasks_per_child = max_tasks_per_child
        self.prefetch = max(1, prefetch)
        self._pool: ProcessPoolExecutor | None = None
        self._retired: list[ProcessPoolExecutor] = []

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "max_tasks_per_child": self.max_tasks_per_child}

    def _new_pool(self) -> ProcessPoolExecutor:
        return spawn_pool(self.workers)

    def imap_unordered(self, run_fn: RunFn, tasks: Iterable[Task]) -> Iterator[Record]:
        if self._pool is None:
            self._pool = self._new_pool()
        source = iter(tasks)
        suspects: deque[Task] = deque()  # in flight when a worker died: retried one by one
        deaths: dict[tuple[int, int], int] = {}  # times a run died alone with its worker
        inflight: dict[Any, tuple[Task, ProcessPoolExecutor]] = {}
        per_pool = self.workers * self.max_tasks_per_child if self.max_tasks_per_child else 0
        submitted = 0  # to the current pool

        def replace(dead: ProcessPoolExecutor, lost: list[Task]) -> list[Record]:
            """Replace a pool whose worker died; its runs in flight are lost and run again alone."""
            nonlocal submitted
            others = [f for f, (_, p) in inflight.items() if p is dead]
            wait(others)  # a broken pool fails them all at once
            lost = lost + [inflight.pop(f)[0] for f in others]
            _stop_pool(dead, abort=True)
            if dead is self._pool:
                self._pool, submitted = self._new_pool(), 0
            elif dead in self._retired:
                self._retired.remove(dead)
            failed = []
            if len(lost) == 1:  # it ran alone: it, or something outside, killed its worker
                task = lost[0]
                deaths[task.key] = deaths.get(task.key, 0) + 1
                if deaths[task.key] >= MAX_SOLO_DEATHS:
                    failed.append(_failed(task, f"WorkerDied: the worker process died {MAX_SOLO_DEATHS} times "
                                                "while running this run alone (crash or out of memory)"))
                    return failed
            suspects.extend(sorted(lost, key=lambda t: t.key))
            return failed

        def refill() -> list[Record]:
            nonlocal submitted
            failed: list[Record] = []
            limit = 1 if suspects else self.workers * self.prefetch
            while len(inflight) < limit:
                task = suspects.popleft() if suspects else next(source, None)
                if task is None:
                    return failed
                if per_pool and submitted >= per_pool:
                    self._retired.append(self._pool)
                    self._pool, submitted = self._new_pool(), 0
                pool = self._pool
                try:
                    fut = pool.submit(safe_call, run_fn, task)
                except BrokenProcessPool:  # a worker died since the last look: the task never started
                    suspects.appendleft(task)
                    failed += replace(pool, [])
                    limit = 1
                    continue
                inflight[fut] = (task, pool)
                submitted += 1
            return failed

        yield from refill()
        while inflight or suspects:
            if not inflight:
                yield from refill()
                continue
            done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
            broken: list[tuple[Task, ProcessPoolExecutor]] = []
            for fut in done:
                task, pool = inflight.pop(fut)
                try:
                    yield fut.result()
                except BrokenProcessPool:
                    broken.append((task, pool))
                except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot be unpickled
                    yield _failed(task, f"{type(exc).__name__}: {exc}")
            for dead in {id(p): p for _, p in broken}.values():
                yield from replace(dead, [t for t, p in broken if p is dead])
            busy = {id(p) for _, p in inflight.values()}
            for old in [p for p in self._retired if id(p) not in busy]:
                self._retired.remove(old)
                _stop_pool(old, abort=False)
            yield from refill()

    def close(self, abort: bool = False) -> None:
        pools = [p for p in [self._pool, *self._retired] if p is not None]
        self._pool, self._retired = None, []
        for pool in pools:
            _stop_pool(pool, abort)


def _stop_pool(pool: ProcessPoolExecutor, abort: bool) -> None:
    """Shut a pool down; ``abort`` also terminates runs in flight."""
    if abort:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                proc.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass
    pool.shutdown(wait=not abort, cancel_futures=True)


class DaskExecutor(Executor):
    """Runs on a Dask distributed cluster: a running scheduler's address, or a LocalCluster.

    Scheduler and workers must be able to import ``sim`` (``pip install -e .`` or
    ``PYTHONPATH``). Workers should have one thread each (``dask worker --nthreads 1``):
    the model is pure Python, so more threads do not run faster.
    """

    name = "dask"

    def __init__(self, address: str | None = None, *, workers: int | None = None, prefetch: int = 3,
                 timeout: float = 30.0):
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - a dependency
            raise UserError("Dask runs need the distributed package: pip install 'dask[distributed]'") from None
        self.prefetch = max(1, prefetch)
        self.address = address
        self._cluster = None
        if address:
            check_scheduler(address)
            try:
                self.client = Client(address, timeout=timeout)
            except Exception as exc:  # noqa: BLE001 - OSError, TimeoutError, ValueError ...: one line for each
                raise UserError(f"--scheduler {address}: cannot reach a Dask scheduler there "
                                f"({' '.join(str(exc).split()) or type(exc).__name__})") from None
        else:
            single_threaded_env()
            self._cluster = LocalCluster(n_workers=max(1, workers or available_cores()), threads_per_worker=1,
                                         processes=True, dashboard_address=None, silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
            self.address = self._cluster.scheduler_address
        self.workers = self._nthreads() or (workers or 1)

    def _nthreads(self) -> int:
        return sum(self.client.nthreads().values())

    def describe(self) -> dict[str, Any]:
        kind = "LocalCluster" if self._cluster is not None else "scheduler"
        return {**super().describe(), "cluster": kind, "address": self.address}

    def imap_unordered(self, run_fn: RunFn, tasks: Iterable[Task]) -> Iterator[Record]:
        import uuid

        from distributed import as_completed

        source = iter(tasks)
        inflight: dict[str, Task] = {}
        suspects: deque[Task] = deque()  # lost with a dying worker: rerun alone to find the culprit
        alone: set[str] = set()
        batch = uuid.uuid4().hex[:8]
        ac = as_completed(with_results=True, raise_errors=False)
        threads, checked = self._nthreads() or 1, time.monotonic()

        def submit(task: Task, isolated: bool = False) -> None:
            key = f"licsim-run-{batch}-{task.point}-{task.replication}" + ("-alone" if isolated else "")
            ac.add(self.client.submit(safe_call, run_fn, task, key=key, pure=False))
            inflight[key] = task
            if isolated:
                alone.add(key)

        def refill() -> None:
            if suspects:
                if not inflight:
                    submit(suspects.popleft(), isolated=True)
                return
            for _ in range(max(0, threads * self.prefetch - len(inflight))):
                task = next(source, None)
                if task is None:
                    return
                submit(task)

        refill()
        for fut, result in ac:
            key = fut.key
            task = inflight.pop(key)
            fut.release()
            if isinstance(result, Record):
                yield result
            elif key not in alone:
                # KilledWorker: Dask blames every run on a worker that died, not only the one that killed it
                suspects.append(task)
            else:
                exc = result[1] if isinstance(result, tuple) and len(result) == 3 else result
                yield _failed(task, f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException)
                              else f"{fut.status}: {exc!r}")
            if time.monotonic() - checked > 5.0:  # workers may join or leave midway
                threads, checked = self._nthreads() or 1, time.monotonic()
            refill()

    def close(self, abort: bool = False) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()


_SCHEDULER = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s/:]+(:\d{1,5})?/?|[^\s/:]+:\d{1,5}")


def check_scheduler(address: str) -> None:
    """Refuse, before any work, an address that is not a Dask scheduler's (``tcp://host:port``)."""
    if not _SCHEDULER.fullmatch(address.strip()):
        raise UserError(f"--scheduler {address!r}: not a scheduler address; write tcp://host:port "
                        "(e.g. tcp://127.0.0.1:8786)")


def check_executor_options(workers: int | None = None, scheduler: str | None = None,
                           cluster: str | None = None) -> None:
    """Refuse, before any work, options :func:`make_executor` cannot honour (one line each)."""
    if scheduler and cluster:
        raise UserError("give --scheduler or --cluster, not both")
    if workers is not None and workers < 1:
        raise UserError(f"--workers must be at least 1 (got {workers})")
    if scheduler:
        check_scheduler(scheduler)
    if cluster is not None and cluster != "local":
        raise UserError(f"--cluster {cluster!r}: only 'local' (a Dask LocalCluster) is known; for a running "
                        "cluster give --scheduler tcp://host:port")


def make_executor(workers: int | None = None, scheduler: str | None = None, cluster: str | None = None,
                  max_tasks_per_child: int | None = 200) -> Executor:
    """The executor the command line asks for (``licsim batch``, ``calibrate``, ``backtest``).

    ``scheduler`` (a ``tcp://host:port`` address) runs on that Dask cluster;
    ``cluster="local"`` starts a Dask LocalCluster with ``workers`` workers; otherwise one
    worker runs in this process and more run as local worker processes.
    """
    check_executor_options(workers, scheduler, cluster)
    if scheduler:
        return DaskExecutor(scheduler)
    if cluster is not None:
        return DaskExecutor(None, workers=workers)
    n = workers or available_cores()
    if n == 1:
        return SerialExecutor()
    return ProcessExecutor(n, max_tasks_per_child=max_tasks_per_child)
