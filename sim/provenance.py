"""What produced a result: package versions and the git commit, for manifest.json files."""

from __future__ import annotations

import datetime as _dt
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("licsim", "mesa", "numpy", "pandas", "pyarrow", "pydantic", "PyYAML", "SALib", "dask", "distributed")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit() -> str | None:
    """The commit of the licsim checkout (with '-dirty' when it has uncommitted changes), or None."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def manifest(**fields: Any) -> dict[str, Any]:
    """A manifest: the given fields plus versions, git commit, command line and time."""
    return {**fields, "versions": package_versions(), "git_commit": git_commit(),
            "command": sys.argv, "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
