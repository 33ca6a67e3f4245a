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
        folder: Path = typer.Argument(..., metavar="DIR", help="output folder of licsim batch"),
        charts: bool = typer.Option(True, "--charts/--no-charts",
                                    help="draw PNG charts (--no-charts keeps those drawn before)"),
    ) -> None:
        """Summarise a batch: writes DIR/analysis/ (CSV tables, PNG charts) and prints the tables."""
        import math

        from rich.table import Table

        from sim.experiments.analysis import analyze as run_analysis
        from sim.interfaces.commands.validate import console as make_console

        kept = {} if charts else _charts_drawn(folder)
        res = run_analysis(folder, charts=charts)
        _put_back(folder, kept)
        console = make_console()
        pts = res.points
        params = [c for c in pts.columns if c not in ("point", "outcome", "runs", "failed", "mean", "sd", "p05",
                                                      "p95")]
        wide = pts.pivot(index="point", columns="outcome", values=["mean", "p05", "p95"])
        all_outcomes = list(dict.fromkeys(pts["outcome"]))
        outcomes = all_outcomes[:MAX_OUTCOMES]
        first = pts.drop_duplicates("point").set_index("point")
        points = list(wide.index)[:MAX_ROWS]

        def cells(point, outcome):
            m, lo, hi = (wide.at[point, (s, outcome)] for s in ("mean", "p05", "p95"))
            if isinstance(m, float) and math.isnan(m):
                return "-", "-"
            return _fmt(m, outcome), f"{_fmt(lo, outcome)} to {_fmt(hi, outcome)}"

        def runs_cell(point):
            sub = pts[pts["point"] == point]
            return f"{int(sub['runs'].max())}" + (f" ({int(sub['failed'].max())} failed)" if sub["failed"].max() else "")

        def new_table(title, narrow=False):
            t = Table(title=title, title_justify="left", header_style="bold", box=None, padding=(0, 1))
            t.add_column("point", justify="right")
            for p in params:  # a dotted path breaks at its dots in a narrow table
                t.add_column(p.replace(".", ".\n") if narrow else p, justify="right", overflow="fold")
            t.add_column("runs", justify="right")
            return t

        console.print(f"{folder}: outcomes per design point, mean and 90% of runs")
        if console.width >= 60 + 28 * len(outcomes):  # all outcomes side by side
            table = new_table("mean [90% of runs] per design point")
            for o in outcomes:
                table.add_column(o, justify="right", overflow="fold")
            for point in points:
                row = [str(point)] + [_fmt(first.at[point, p]) for p in params] + [runs_cell(point)]
                for o in outcomes:
                    m, iv = cells(point, o)
                    row.append(m if m == "-" else f"{m} [{iv.replace(' to ', ', ')}]")
                table.add_row(*row)
            tables = [table]
        else:  # a narrow terminal: one table per outcome
            tables = []
            for o in outcomes:
                table = new_table(o, narrow=True)
                table.add_column("mean", justify="right")
                table.add_column("90% of runs", justify="right")
                for point in points:
                    table.add_row(str(point), *[_fmt(first.at[point, p]) for p in params], runs_cell(point),
                                  *cells(point, o))
                tables.append(table)
        shown = []
        if len(wide) > MAX_ROWS:
            shown.append(f"first {MAX_ROWS} of {len(wide)} points")
        if len(all_outcomes) > len(outcomes):
            shown.append(f"{len(outcomes)} of {len(all_outcomes)} outcomes")
        if shown:
            tables[-1].caption = f"{', '.join(shown)}; all are in {folder / 'analysis' / 'points.csv'}"
        for table in tables:
            console.print(table)
        if res.sensitivity is not None:
            sens = res.sensitivity
            t = Table(title="sensitivity indices (95% confidence)", title_justify="left", header_style="bold",
                      box=None, padding=(0, 1))
            for c in sens.columns:
                t.add_column(c, justify="left" if c in ("outcome", "parameter") else "right", overflow="fold")
            for _, r in sens.iterrows():
                t.add_row(*[_fmt(r[c]) for c in sens.columns])
            console.print(t)
        for note in res.notes:
            console.print(f"[yellow]note:[/] {note}")
        console.print(f"wrote {len(res.files)} files to {folder / 'analysis'}")


def _charts_drawn(folder: Path) -> dict[str, bytes]:
    """The charts of an earlier analysis, which --no-charts must leave alone."""
    analysis = folder / "analysis"
    return {p.name: p.read_bytes() for p in analysis.glob("*.png")} if analysis.is_dir() else {}


def _put_back(folder: Path, charts: dict[str, bytes]) -> None:
    """Write back (atomically) the earlier charts that a new analysis folder lacks."""
    from sim.io import atomic_path

    for name, data in charts.items():
        target = folder / "analysis" / name
        if not target.exists():
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)


def _fmt(x: object, name: str = "") -> str:
    """A value for the terminal: shares as %, dollars as $M/$B, else 3 significant figures."""
    if name and isinstance(x, float) and x == x:
        from sim.analysis.report import number_for_people

        return number_for_people(x, name)
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
