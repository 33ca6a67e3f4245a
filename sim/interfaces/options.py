"""Options shared by several `licsim` commands, spelled and explained the same way everywhere."""

from __future__ import annotations

import os
from typing import Any, Optional

import typer


def cores() -> int:
    """CPU cores this process may use (what ``--workers`` defaults to)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


#: The help text of ``--workers/-w``: the default said as it is on this machine.
WORKERS_HELP = f"worker processes; 1 runs everything in this process (default: one per CPU core, {cores()} here)"


def workers_option(help_text: str = WORKERS_HELP) -> Optional[int]:
    """``--workers/-w N``: the one name for parallelism on every command that has it (as a
    parameter's default)."""
    return typer.Option(None, "--workers", "-w", min=1, metavar="N", help=help_text)


def workers_annotation(help_text: str = WORKERS_HELP) -> Any:
    """The same option, for ``Annotated[Optional[int], workers_annotation()] = None``."""
    return typer.Option("--workers", "-w", min=1, metavar="N", help=help_text)


def _posterior_help(draws: str, whose: str) -> str:
    return f"posterior.parquet of licsim calibrate: {draws}; overrides the {whose} parameters:"


def posterior_option(draws: str = "each replication draws a parameter set", whose: str = "scenario's") -> Any:
    """``--posterior FILE``: the ensemble a command draws one parameter set from per replication
    (as a parameter's default); ``draws`` says what draws, ``whose`` whose ``parameters:`` it overrides."""
    return typer.Option(None, "--posterior", metavar="FILE", help=_posterior_help(draws, whose))


def posterior_annotation(draws: str = "each replication draws a parameter set", whose: str = "scenario's") -> Any:
    """The same option, for ``Annotated[Optional[Path], posterior_annotation()] = None``."""
    return typer.Option("--posterior", metavar="FILE", help=_posterior_help(draws, whose))


#: ``--workers`` where it also sizes a Dask LocalCluster (``batch``, ``calibrate``, ``backtest``).
EXECUTOR_WORKERS_HELP = ("local worker processes, or LocalCluster workers; 1 runs everything in this process "
                         f"(default: one per CPU core, {cores()} here)")


def scheduler_annotation() -> Any:
    """``--scheduler ADDRESS``: run on a running Dask cluster (with ``--cluster``, how a command that
    runs many models chooses its executor: :func:`sim.experiments.executors.make_executor`)."""
    return typer.Option("--scheduler", metavar="ADDRESS", help="run on a running Dask cluster: tcp://host:port")


def cluster_annotation() -> Any:
    """``--cluster local``: start a Dask LocalCluster of ``--workers`` workers."""
    return typer.Option("--cluster", metavar="local", help="'local': start a Dask LocalCluster")


def _no_type(ctx: Any = None) -> None:
    return None


class _StandardHelp:
    """Help in the usual Unix form: ``Usage: licsim run [OPTIONS] SCENARIO``, arguments named by
    their metavar (not ``{scenario}`` and ``<path>``), flags without a ``<bool>`` type."""

    def get_params(self, ctx: Any) -> list[Any]:
        from typer.core import TyperArgument, TyperOption

        params = super().get_params(ctx)  # type: ignore[misc]
        for p in params:
            if isinstance(p, TyperOption) and p.is_flag and p.metavar is None:
                p.metavar = ""
            elif isinstance(p, TyperArgument):
                p.display_type_rich = _no_type  # its metavar says what it is
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        from typer.core import TyperArgument

        pieces = [self.options_metavar] if getattr(self, "options_metavar", None) else []  # type: ignore[attr-defined]
        for p in self.get_params(ctx):
            if isinstance(p, TyperArgument):
                name = p.display_name_raw
                pieces.append(name if p.required else f"[{name}]")
        if hasattr(self, "subcommand_metavar"):
            pieces.append(self.subcommand_metavar)  # type: ignore[attr-defined]
        return pieces


def standard_help(app: typer.Typer) -> None:
    """Give every command of ``app`` (and the app itself) the usual Unix help layout."""
    from typer.core import TyperCommand, TyperGroup

    class Command(_StandardHelp, TyperCommand):
        pass

    class Group(_StandardHelp, TyperGroup):
        pass

    for info in app.registered_commands:
        if info.cls is None or info.cls is TyperCommand:
            info.cls = Command
    app.info.cls = Group
