"""What one run is: a picklable task in, a small record out.

The model seen from here is a function of (scenario, overrides, seed) to a summary dict
(:func:`run_model`). Executors call any picklable top-level ``run_fn(task)`` through
:func:`safe_call`, which turns an exception into a ``failed`` record, so a run that raises
never stops a batch, whatever the executor.

Workers return records (a few numbers, and the deal ledger only when asked for), never
models. :func:`safe_call` also drops the Mesa 3.3.1 per-model id counter
(``mesa.Agent._ids``) of any model a run left behind (``simulate`` frees its own; a run
that raises midway may not), where it can tell that no other run shares the process.
"""

from __future__ import annotations

import math
import threading
import traceback
from dataclasses import dataclass
from typing import Any, Callable

#: Longest error message kept in the ``error`` column.
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class Task:
    """One (design point, replication) of an experiment."""

    point: int
    replication: int
    seed: int
    params: tuple[tuple[str, Any], ...]
    outcomes: tuple[str, ...]
    scenario_json: str = ""
    scenario_key: str = ""
    save_deals: bool = False
    save_monthly: bool = False

    @property
    def key(self) -> tuple[int, int]:
        return (self.point, self.replication)

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass
class RunOutput:
    """What a run function may return instead of a plain summary dict."""

    summary: dict[str, float]
    deals: Any = None  # pandas.DataFrame of the run's deal ledger, when the task asks for it
    monthly: Any = None  # pandas.DataFrame of the run's monthly series, when the task asks for it


@dataclass
class Record:
    """The result of one run as it travels back from a worker."""

    point: int
    replication: int
    seed: int
    status: str  # "ok" or "failed"
    error: str | None
    outcomes: dict[str, float]
    deals: Any = None
    traceback: str | None = None
    monthly: Any = None


def safe_call(run_fn: Callable[[Task], Any], task: Task) -> Record:
    """Run ``run_fn(task)``; an exception becomes a failed record with its message."""
    before = _mesa_models()
    try:
        out = run_fn(task)
        if isinstance(out, RunOutput):
            summary, deals, monthly = out.summary, out.deals, out.monthly
        else:
            summary, deals, monthly = out, None, None
        missing = [k for k in task.outcomes if k not in summary]
        if missing:
            raise KeyError(f"the run's summary has no outcome {', '.join(missing)}")
        values = {k: _float(summary[k], k) for k in task.outcomes}
        return Record(task.point, task.replication, task.seed, "ok", None, values,
                      deals if task.save_deals else None, monthly=monthly if task.save_monthly else None)
    except Exception as exc:  # noqa: BLE001 - any failure of a run is data, not a crash
        message = " ".join(f"{type(exc).__name__}: {exc}".split())[:MAX_ERROR_CHARS]
        return Record(task.point, task.replication, task.seed, "failed", message,
                      {k: math.nan for k in task.outcomes}, None, traceback.format_exc())
    finally:
        _free_mesa_models(before)


def _float(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"outcome {name} is {value!r}, not a number") from None


# ------------------------------------------------------------------------ Mesa leak guard


def _mesa_models() -> set[int] | None:
    import sys

    mesa_agent = sys.modules.get("mesa.agent")
    if mesa_agent is None:
        return set()
    return {id(m) for m in list(mesa_agent.Agent._ids)}


def _free_mesa_models(before: set[int] | None) -> None:
    """Drop id counters of models created during this run (the 3.3.1 leak's anchor)."""
    import sys

    mesa_agent = sys.modules.get("mesa.agent")
    if mesa_agent is None or before is None or not _sole_run_in_process():
        return
    ids = mesa_agent.Agent._ids
    for model in [m for m in list(ids) if id(m) not in before]:
        try:
            model.remove_all_agents()
        except Exception:  # noqa: BLE001 - cleanup must never fail a run
            pass
        ids.pop(model, None)


def _sole_run_in_process() -> bool:
    """True unless this is a multi-threaded Dask worker (other runs may be mid-way)."""
    if threading.current_thread() is threading.main_thread():
        return True
    try:
        from distributed import get_worker

        return get_worker().state.nthreads == 1
    except Exception:  # noqa: BLE001 - not in a Dask worker: a thread of ours, alone
        return True


# ------------------------------------------------------------------------------ the model

_BASE_CACHE: dict[str, Any] = {}


def task_scenario(task: Task) -> Any:
    """The base scenario of a task, parsed once per worker process (while its tasks come in a row)."""
    sc = _BASE_CACHE.get(task.scenario_key)
    if sc is None:
        from sim.scenarios.schema import Scenario

        sc = Scenario.model_validate_json(task.scenario_json)
        _BASE_CACHE.clear()
        _BASE_CACHE[task.scenario_key] = sc
    return sc


def run_model(task: Task) -> RunOutput:
    """The licsim model as an experiment sees it: (scenario, overrides, seed) -> summary."""
    from sim.analysis.metrics import run_summary
    from sim.model.run import simulate
    from sim.scenarios.loader import apply_overrides

    scenario = task_scenario(task)
    if task.params:
        scenario = apply_overrides(scenario, task.overrides)
    result = simulate(scenario, seed=task.seed, replication=task.replication)
    summary = run_summary(result)
    return RunOutput({k: summary[k] for k in task.outcomes if k in summary},
                     result.deals if task.save_deals else None, result.monthly if task.save_monthly else None)


def resolve_run_fn(spec: str | None) -> Callable[[Task], Any]:
    """``module:function`` -> that function (it must be top-level, so workers can import it)."""
    if not spec:
        return run_model
    import importlib

    from sim.errors import UserError

    module, _, name = spec.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise UserError(f"--run-fn {spec}: cannot import it ({exc}); write module:function") from None
    if not callable(fn):
        raise UserError(f"--run-fn {spec}: not a function")
    return fn
