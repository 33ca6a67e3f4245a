"""`licsim analyze DIR`: per-point means and 90% intervals, sensitivity indices, charts of a batch."""

from __future__ import annotations

from pathlib import Path

import typer

#: Most design points printed in the terminal table (all of them are in points.csv).
MAX_ROWS = 24
#: Most outcomes printed side by side.
MAX_OUTCOMES = 4


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze(
        folder: Path = typer.Argument(..., help="output folder of licsim batch"),
        charts: bool = typer.Option(True, "--charts/--no-charts", help="draw PNG charts"),
    ) -> None:
        """Summarise a batch: writes DIR/analysis/ (CSV tables, PNG charts) and prints the tables."""
        import math

        from rich.console import Console
        from rich.table import Table

        from sim.experiments.analysis import analyze as run_analysis

        res = run_analysis(folder, charts=charts)
        console = Console()
        pts = res.points
        params = [c for c in pts.columns if c not in ("point", "outcome", "runs", "failed", "mean", "sd", "p05",
                                                      "p95")]
        wide = pts.pivot(index="point", columns="outcome", values=["mean", "p05", "p95"])
        all_outcomes = list(dict.fromkeys(pts["outcome"]))
        outcomes = all_outcomes[:MAX_OUTCOMES]
        first = pts.drop_duplicates("point").set_index("point")
        table = Table(title=f"{folder}: mean [90% of runs] per design point", title_justify="left")
        table.add_column("point", justify="right")
        for p in params:
            table.add_column(p, justify="right")
        table.add_column("runs", justify="right")
        for o in outcomes:
            table.add_column(o, justify="right")
        for point in list(wide.index)[:MAX_ROWS]:
            row = [str(point)] + [_fmt(first.at[point, p]) for p in params]
            sub = pts[pts["point"] == point]
            row.append(f"{int(sub['runs'].max())}" + (f" ({int(sub['failed'].max())} failed)"
                                                     if sub["failed"].max() else ""))
            for o in outcomes:
                m, lo, hi = (wide.at[point, (s, o)] for s in ("mean", "p05", "p95"))
                row.append("-" if isinstance(m, float) and math.isnan(m) else f"{_fmt(m)} [{_fmt(lo)}, {_fmt(hi)}]")
            table.add_row(*row)
        shown = []
        if len(wide) > MAX_ROWS:
            shown.append(f"first {MAX_ROWS} of {len(wide)} points")
        if len(all_outcomes) > len(outcomes):
            shown.append(f"{len(outcomes)} of {len(all_outcomes)} outcomes")
        if shown:
            table.caption = f"{', '.join(shown)}; all are in {folder / 'analysis' / 'points.csv'}"
        console.print(table)
        if res.sensitivity is not None:
            sens = res.sensitivity
            t = Table(title="sensitivity indices (95% confidence)", title_justify="left")
            for c in sens.columns:
                t.add_column(c, justify="left" if c in ("outcome", "parameter") else "right")
            for _, r in sens.iterrows():
                t.add_row(*[_fmt(r[c]) for c in sens.columns])
            console.print(t)
        for note in res.notes:
            console.print(f"[yellow]note:[/] {note}")
        console.print(f"wrote {len(res.files)} files to {folder / 'analysis'}")


def _fmt(x: object) -> str:
    if isinstance(x, float):
        if x != x:
            return "-"
        a = abs(x)
        if a >= 1e9:
            return f"{x / 1e9:.3g}B"
        if a >= 1e6:
            return f"{x / 1e6:.3g}M"
        return f"{x:.3g}"
    return str(x)
