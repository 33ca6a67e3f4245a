"""`licsim report RESULTS_DIR`: a self-contained HTML page summarising a run, compare or batch result."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        results_dir: Path = typer.Argument(..., metavar="DIR", help="output folder of licsim run, compare or batch"),
        out: Path = typer.Option(None, "--out", "-o", metavar="FILE",
                                 help="write the page here instead of DIR/report.html"),
    ) -> None:
        """Write DIR/report.html (charts embedded; opens offline) and print its path."""
        import matplotlib

        matplotlib.use("Agg")
        from sim.analysis.report import write_report
        from sim.io import check_own_file

        target = out if out is not None else results_dir / "report.html"
        # a page licsim wrote before is replaced; any other file of that name is someone's own
        check_own_file(target, "licsim report", "--out" if out is not None else "report", "a report")
        path = write_report(results_dir, out)
        print(path)
