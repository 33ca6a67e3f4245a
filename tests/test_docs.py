"""The docs a new user reads: the README as a how-to that works, the evidence inside the repository."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from test_validation import run_cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
EVIDENCE = (ROOT / "docs" / "evidence.md").read_text()


def test_readme_points_only_inside_the_repository():
    assert "../" not in README, "the README points outside the repository"
    paths = set(re.findall(r"`((?:sim|docs|scenarios|experiments|tests|benchmarks)/[\w./-]+)`", README))
    assert {"docs/evidence.md", "experiments/calibration_record/README.md"} <= paths
    missing = [p for p in paths if "<" not in p and not (ROOT / p).exists()]
    assert not missing, missing


def _examples() -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    lines = [line.split("#")[0].strip() for b in blocks for line in b.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("licsim ")]


def test_the_readme_has_one_example_of_every_command():
    from sim.interfaces.cli import app

    commands = {c.name for c in app.registered_commands}
    shown = {args[0] for args in _examples()}
    assert commands <= shown, commands - shown


@pytest.mark.parametrize("args", _examples(), ids=lambda a: " ".join(a))
def test_every_option_in_a_readme_example_exists(args, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "200")
    help_text = run_cli(monkeypatch, capsys, args[0], "--help").stdout
    for opt in [a for a in args if a.startswith("-")]:
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", help_text), (opt, args)


def test_the_evidence_cites_every_source_tag_the_project_uses():
    from sim.scenarios.schema import parameter_table

    used = set()
    texts = [r["source"] for r in parameter_table()]
    texts += [(ROOT / "experiments" / "targets.yaml").read_text(), (ROOT / "sim" / "data" / "mncs.yaml").read_text()]
    texts += [p.read_text() for p in (ROOT / "scenarios").glob("*.yaml")]
    for text in texts:
        used |= set(re.findall(r"\b(RT23|QM24|CB24|ARC25|AI25|BIO21|EV|CP24|FDA22)\b", text))
    cited = set(re.findall(r"^- \[(\w+)\]", EVIDENCE, re.M))
    assert used and used <= cited, used - cited
    body, sources = EVIDENCE.split("## Sources")
    for tag in cited:  # each source is used in the text, or says that it is not
        line = next(line for line in sources.splitlines() if line.startswith(f"- [{tag}]"))
        assert re.search(rf"\b{tag}\b", body) or "no figure here comes from it" in sources.split(line)[1][:300], tag
