"""Make Solara's offline front-end asset cache complete.

Solara's server serves its front-end files (Vue, vuetify, requirejs, font-awesome, vega, ...)
from ``<prefix>/share/solara/cdn/<package>@<version>/`` and only falls back to a public CDN
when a file is missing there. The ``solara-assets`` package fills that folder for the exact
versions solara pins, except that altair figures ask for ``vega@5``, ``vega-lite@5`` and
``vega-embed@6`` by major version; here those names are linked to the versions shipped.

Run ``python -m sim.interfaces.dashboard.assets`` after installing (the Makefile's setup does).
It is idempotent, prints one line and exits 0; it exits 2 with a message when solara-assets
is missing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: name the front end asks for -> version folder solara-assets ships
ALIASES = {
    "vega@5": "vega@5.21.0",
    "vega-lite@5": "vega-lite@5.2.0",
    "vega-embed@6": "vega-embed@6.20.2",
}

#: folders that must be in the cache for the dashboard page to load offline
REQUIRED = [
    "@widgetti/solara-vuetify-app@10.1.1",
    "@widgetti/vue-grid-layout@2.3.13-alpha.2",
    "requirejs@2.3.6",
    "font-awesome@4.5.0",
]


class AssetError(RuntimeError):
    """The offline asset cache cannot be made complete."""


def cache_dir() -> Path:
    """The folder solara's server reads cached CDN files from (its own setting, else sys.prefix)."""
    try:
        from solara.server import settings  # type: ignore

        return Path(settings.assets.proxy_cache_dir)
    except Exception:  # solara not importable: fall back to its default location
        return Path(sys.prefix) / "share" / "solara" / "cdn"


def _assets_installed() -> bool:
    try:
        from importlib.metadata import PackageNotFoundError, version

        version("solara-assets")
        return True
    except PackageNotFoundError:
        return False


def ensure_assets(cdn: Path | None = None) -> tuple[Path, list[str]]:
    """Check the cache and create the major-version links. Returns (folder, links made now)."""
    cdn = Path(cdn) if cdn is not None else cache_dir()
    hint = (
        "install it with: pip install 'solara-assets==<solara's version>' "
        "(the project's setup does: make setup)"
    )
    if not _assets_installed():
        raise AssetError(f"solara-assets is not installed, so the dashboard cannot work offline; {hint}")
    missing = [name for name in REQUIRED if not (cdn / name).is_dir()]
    if missing:
        raise AssetError(f"offline asset cache {cdn} lacks {', '.join(missing)}; {hint}")
    made: list[str] = []
    for alias, target in ALIASES.items():
        link = cdn / alias
        if not (cdn / target).is_dir():
            raise AssetError(f"offline asset cache {cdn} lacks {target}; {hint}")
        if link.is_symlink():
            if os.readlink(link) == target:
                continue
            link.unlink()
        elif link.is_dir():
            continue  # a real folder (e.g. filled with npm pack) is fine as it is
        elif link.exists():
            link.unlink()
        os.symlink(target, link)  # relative: the cache stays valid if the venv moves
        made.append(alias)
    return cdn, made


def main() -> int:
    try:
        cdn, made = ensure_assets()
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    note = f"linked {', '.join(made)}" if made else "already complete"
    print(f"dashboard assets: offline cache {cdn} ready ({note})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
