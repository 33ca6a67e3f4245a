"""`licsim dashboard`: the workshop dashboard in the browser (Mesa SolaraViz, served offline)."""

from __future__ import annotations

from pathlib import Path

import typer

from sim.errors import UserError

APP = "sim.interfaces.dashboard.app"


def _check_port(host: str, port: int) -> None:
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UserError(f"--host {host}: cannot resolve it ({exc.strerror}); use an address such as 127.0.0.1")
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(addr)
        except OSError as exc:
            raise UserError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                            "pick another port with --port")


DRAW_WORKERS_ENV = "LICSIM_DASHBOARD_DRAW_WORKERS"


def _draw_workers() -> int | None:
    """Drawing worker processes for the live panels: the environment variable, else the default."""
    import os

    from sim.experiments.executors import available_cores

    raw = os.environ.get(DRAW_WORKERS_ENV, "").strip()
    if not raw:
        return None
    most = max(1, available_cores())
    if not (raw.isascii() and raw.isdigit()) or int(raw) > most:
        raise UserError(f"{DRAW_WORKERS_ENV}={raw!r}: allowed a whole number of worker processes from 0 (draw "
                        f"in the server itself) to {most} (the cores)")
    return int(raw)


NO_AUTH_WARNING = ("warning: --host {host} lets other computers reach this dashboard, and it has no "
                   "authentication: anyone who can reach {host}:{port} can run models on this computer. "
                   "Use --host 127.0.0.1 unless the network is trusted.")


def serve(scenario: Path | None, host: str, port: int, open_browser: bool = False,
          results_dirs: list[Path] | None = None) -> None:
    """Check the inputs, then run solara's server in this process until interrupted."""
    import os
    import sys

    from sim.interfaces.dashboard.data import RESULTS_ENV
    from sim.interfaces.dashboard.security import install, is_loopback

    if not 0 < port < 65536:
        raise UserError(f"--port {port}: allowed 1 to 65535")
    if results_dirs:
        for d in results_dirs:
            if not d.is_dir():
                raise UserError(f"--results-dir {d}: no such folder")
        # the /compare page loads result folders only from below these (and the project's results/)
        os.environ[RESULTS_ENV] = os.pathsep.join(str(d.resolve()) for d in results_dirs)
    draw_workers = _draw_workers()
    if scenario is not None:
        if not scenario.is_file():
            raise UserError(f"--scenario {scenario}: no such file")
        from sim.scenarios.loader import load_scenario

        load_scenario(scenario)  # a broken file fails here, with file:line:col, not in the browser
        os.environ["LICSIM_DASHBOARD_SCENARIO"] = str(scenario.resolve())
    # Offline: no telemetry, no version check, and never fall back to the public CDN.
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ.setdefault("SOLARA_ASSETS_PROXY", "True")
    os.environ.setdefault("SOLARA_ASSETS_CDN", "http://127.0.0.1:9/no-cdn-offline/")
    os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "False")
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("SOLARA_CHECK_HOOKS", "off")  # Mesa 3.3.1's ComponentsView trips the hook linter
    from sim.interfaces.dashboard.assets import AssetError, ensure_assets

    try:
        ensure_assets()
    except AssetError as exc:
        raise UserError(str(exc))
    _check_port(host, port)
    if not is_loopback(host):
        print(NO_AUTH_WARNING.format(host=host, port=port), file=sys.stderr, flush=True)
    install(host)  # websockets from other origins (and, on loopback, foreign Host names) are refused
    from sim.interfaces.dashboard import panels

    panels.start_workers(draw_workers)

    shown = f"[{host}]" if ":" in host else host
    print(f"licsim dashboard: http://{shown}:{port}/  (comparison page: /compare; Ctrl+C stops it)", flush=True)

    from solara.__main__ import cli as solara_cli

    args = ["run", APP, "--host", host, "--port", str(port), "--production", "--no-check-version",
            "--open" if open_browser else "--no-open", "--log-level-uvicorn", "warning"]
    import warnings

    # A local server speaks http: solara's advice about cookies for https sites is noise in a terminal.
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")
    try:
        solara_cli.main(args=args, prog_name="solara", standalone_mode=False)
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # Ctrl+C reaches solara's own command line as click's Abort
        if type(exc).__name__ != "Abort":
            raise
    print("licsim dashboard: stopped", flush=True)
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    @app.command("dashboard")
    def dashboard(
        scenario: Path = typer.Option(None, "--scenario", metavar="FILE",
                                      help="scenario YAML file to start with (also in the picker)"),
        host: str = typer.Option("127.0.0.1", "--host", metavar="ADDRESS",
                                 help="address to listen on (127.0.0.1: this computer only)"),
        port: int = typer.Option(8765, "--port", metavar="PORT", help="port to listen on"),
        open_browser: bool = typer.Option(False, "--open/--no-open", help="open a browser window"),
        results_dir: list[Path] = typer.Option(
            [], "--results-dir", help="a folder the comparison page may load result folders from, besides "
                                      "./results (repeat for more)"),
    ) -> None:
        """Start the workshop dashboard and print its address (works offline).

        It has no authentication: keep --host at 127.0.0.1 (this computer only) unless the
        network is trusted; any other address prints a warning.
        """
        serve(scenario, host, port, open_browser, results_dir)
