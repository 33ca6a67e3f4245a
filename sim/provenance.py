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
    """Python's and the key packages' versions (licsim's from the package itself if not installed)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    if out["licsim"] is None:
        import sim

        out["licsim"] = getattr(sim, "__version__", None)
    return out


def git_info() -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": uncommitted changes to tracked files, or None}`` of the checkout."""
    root = Path(__file__).resolve().parents[1]
    info: dict[str, Any] = {"commit": None, "dirty": None}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10)
        if commit.returncode == 0:
            info["commit"] = commit.stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10)
        if status.returncode == 0:
            info["dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def git_commit() -> str | None:
    """The commit of the licsim checkout (with '-dirty' when it has uncommitted changes), or None."""
    info = git_info()
    return None if info["commit"] is None else info["commit"] + ("-dirty" if info["dirty"] else "")


def utc_now() -> str:
    """The time now, UTC, ISO 8601 to the second."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def manifest(**fields: Any) -> dict[str, Any]:
    """A manifest: the given fields plus versions, git commit, command line and time."""
    return {**fields, "versions": package_versions(), "git_commit": git_commit(),
            "command": sys.argv, "created": utc_now()}
