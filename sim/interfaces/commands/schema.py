"""`licsim schema`: the scenario JSON Schema, so editors check and complete scenario files as they are typed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from sim.scenarios.schema import MODELINE  # noqa: F401  (one home: licsim backtest writes it too)

#: Where the shipped scenarios find it (their first line names it).
SHIPPED = Path("scenarios") / "scenario.schema.json"


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, from the pydantic model.

    Nothing is required: a file that ``extends:`` another may leave out anything, and licsim
    checks the merged scenario. Each field's unit and source are added to its description, which
    editors show on hover.
    """
    from sim.scenarios.schema import Scenario

    schema = Scenario.model_json_schema()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("required", None)
            unit, source = node.pop("unit", None), node.pop("source", None)
            if "description" in node and (unit or source):
                extra = "; ".join(x for x in (f"unit: {unit}" if unit else "", f"source: {source}" if source else "")
                                  if x)
                node["description"] = f"{node['description']} ({extra})"
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "licsim scenario", **{
        k: v for k, v in schema.items() if k != "title"}}


def schema_text() -> str:
    return json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False) + "\n"


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema(
        out: Optional[Path] = typer.Option(None, "--out", "-o", metavar="FILE",
                                           help=f"write it to FILE (the shipped copy: {SHIPPED}); default: print it"),
    ) -> None:
        """Write the scenario JSON Schema (from the pydantic model), for editors.

        Shipped scenarios name it in their first line, `# yaml-language-server: $schema=scenario.schema.json`,
        so an editor with YAML support (VS Code's YAML extension, any yaml-language-server client)
        checks and completes a scenario file as it is typed.
        """
        text = schema_text()
        if out is None:
            typer.echo(text, nl=False)
            return
        from sim.io import atomic_path

        with atomic_path(out) as tmp:
            tmp.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")
