"""The `licsim` command line (typer + rich).

Bad input raises :class:`sim.errors.UserError`; it is printed as one line and the
process exits with code 2, with no traceback.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from sim.errors import UserError
from sim.interfaces import commands
from sim.interfaces.options import standard_help

app = typer.Typer(
    name="licsim",
    help="Agent-based simulation of cross-border drug licensing out of China.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from sim import __version__

        typer.echo(f"licsim {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                       help="print licsim's version and exit")) -> None:
    """Agent-based simulation of cross-border drug licensing out of China.

    Start with `licsim run baseline`; every command has -h.
    """

for _info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
    importlib.import_module(f"{commands.__name__}.{_info.name}").register(app)
standard_help(app)


def main() -> None:
    """Console entry point."""
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except SystemExit:
        raise
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(1)
    except OSError as exc:  # the disk or a folder failed under a command (full disk, folder removed)
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {where}{exc.strerror or exc}", file=sys.stderr)
        sys.exit(1)
    except Exception as exc:
        if isinstance(exc, _usage_error_types()):  # unknown command or option, bad value
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `licsim`: the help
                exc.show()
                sys.exit(exc.exit_code)
            ctx = getattr(exc, "ctx", None)
            hint = f" (see {ctx.command_path} --help)" if ctx is not None else ""
            print(f"error: {' '.join(exc.format_message().split())}{hint}", file=sys.stderr)
            sys.exit(exc.exit_code)
        raise


def _usage_error_types() -> tuple[type, ...]:
    """Click's usage-error base class. In standalone_mode=False it reaches ``main``; typer 0.29 and
    later raise that of typer's own copy of click, older typer that of click."""
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(importlib.import_module(module).ClickException)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


if __name__ == "__main__":
    main()
