"""Atomic writes (a reader never sees a half-written file) and the rules for output folders.

Every output goes to a temporary file in the destination folder and is then moved
into place with ``os.replace``, which is atomic on POSIX file systems. Whole output
folders are built beside their target and moved into place by :func:`atomic_dir`,
after :func:`check_output` has said that the target may receive them.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

from sim.errors import UserError


def _umask() -> int:
    """The process's umask: read from /proc where there is one (reading it with ``os.umask``
    means setting it for a moment, for every thread)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """What a file created the ordinary way gets (0644 under the usual umask 022). Temporary
    files and folders (``mkstemp``, ``mkdtemp``) are private, so outputs are given these modes
    before they are moved into place."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    return 0o777 & ~_umask()


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, file_mode())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def check_own_file(path: str | os.PathLike, marker: str, option: str, what: str) -> None:
    """Refuse to replace a file licsim did not write: one whose first 64 KiB lack ``marker``.

    Raises:
        UserError: ``path`` is a folder, or a file without the marker (someone else's).
    """
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {path}: is a folder; give a file name")
    if not p.exists() and not p.is_symlink():
        return
    try:
        with open(p, "rb") as fh:
            head = fh.read(65536).decode("utf-8", "replace")
    except OSError:
        head = ""
    if p.is_symlink() or not p.is_file() or marker not in head:
        raise UserError(f"{option} {path}: the file exists and is not {what} licsim wrote; choose another file "
                        "name (licsim replaces only its own)")


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return Path(path)


def write_csv(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
    return Path(path)


def write_json(obj: Any, path: str | os.PathLike) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=str, sort_keys=False) + "\n")
    return Path(path)


def write_figure(fig: Any, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


# ------------------------------------------------------------------------ output folders
#
# The overwrite rule, for every command that writes a folder (README, "Bad input"):
#
# * outputs are built in a new temporary folder beside the target, then moved into place;
# * a target that exists and was not written by licsim for the same command is refused;
#   licsim's folders are recognised by their ``manifest.json``;
# * licsim's own output of the same kind is replaced only with ``--force``, and then only the
#   files licsim wrote there are replaced or removed: anything else in the folder stays;
# * commands that write a folder hold its lock (``flock`` on the folder itself) while they
#   write, so a run cannot replace the folder of a batch that is still running.

MANIFEST = "manifest.json"
#: What each command's manifest says it is (``command`` or, for ``licsim run``, ``kind``).
KINDS = ("run", "compare", "validate", "batch", "analyze", "calibrate", "backtest")
_KIND_NAMES = {"backtest": "backtest record", "run": "run", "compare": "comparison", "validate": "validation", "batch": "batch experiment",
               "analyze": "batch analysis", "calibrate": "calibration"}
#: Largest manifest read to tell what a folder holds (a batch's grows with its sessions).
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


def read_manifest_file(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The folder's ``manifest.json`` as a dict, or None (missing, a link, unreadable, not JSON)."""
    path = Path(folder) / MANIFEST
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def manifest_kind(folder: str | os.PathLike) -> str | None:
    """Which licsim command wrote ``folder`` (one of :data:`KINDS`), from its manifest; None if none did."""
    m = read_manifest_file(folder)
    if m is None:
        return None
    for key in ("command", "kind"):  # a run's manifest keeps the command line under "command"
        kind = m.get(key)
        if isinstance(kind, str) and kind in KINDS:
            return kind
    if "fingerprint" in m and "experiment" in m:  # batch manifests before they named their command
        return "batch"
    return None


def _kind_name(kind: str | None) -> str:
    return _KIND_NAMES.get(kind or "", kind or "?")


def _visible(folder: Path) -> list[Path]:
    """Entries of a folder, leaving out licsim's hidden temporary files and the old batch lock file."""
    return [p for p in folder.iterdir() if not (p.name == ".lock" or (p.name.startswith(".") and
                                                                       p.name.endswith((".tmp", ".old"))))]


def _only_licsim_subfolders(folder: Path) -> bool:
    """True when every entry is a real folder that licsim wrote (``results/<name>/validation/`` made
    before the run itself): such a folder is licsim's, though it has no manifest of its own yet."""
    entries = _visible(folder)
    return bool(entries) and all(p.is_dir() and not p.is_symlink() and manifest_kind(p) for p in entries)


def _probe_writable(path: Path, named: str) -> None:
    """Fail now, before any work, if nothing can be created where ``path`` will be written."""
    probe_in = path if path.is_dir() else path.parent
    while not probe_in.exists():
        probe_in = probe_in.parent
    if not probe_in.is_dir():
        raise UserError(f"{named}: {probe_in} is a file, not a folder; choose another folder")
    try:
        Path(tempfile.mkdtemp(prefix=".licsim-probe.", suffix=".tmp", dir=probe_in)).rmdir()
    except OSError as exc:
        raise UserError(f"{named}: cannot write in {probe_in} ({exc.strerror or exc}); choose a folder "
                        "you can write to") from None


def check_output(path: str | os.PathLike, kind: str, *, force: bool = False, option: str = "--out",
                 resume: bool = False) -> Path:
    """Check, before any work is done, that ``path`` may receive ``kind`` outputs; return it.

    Args:
        path: The folder the command will write.
        kind: The command (one of :data:`KINDS`).
        force: Whether licsim's own earlier output of the same kind may be replaced.
        option: How the folder was given, for messages (``--out``, or the default folder).
        resume: The command adds to its own earlier output (``batch``): no ``--force`` needed.

    Raises:
        UserError: One line: the path is a file, a folder licsim did not write (or wrote for another
            command), the same command's output without ``--force``, locked by another command,
            or not writable.
    """
    shown = Path(path)
    path = Path(os.path.abspath(path))
    if path.is_symlink() and not path.exists():
        raise UserError(f"{option} {shown}: a link to nothing; choose a folder")
    if path.exists():
        if not path.is_dir():
            raise UserError(f"{option} {shown}: exists and is not a folder; choose a folder")
        if path.resolve() == Path(path.resolve().anchor):
            raise UserError(f"{option} {shown}: the root folder cannot be an output folder")
        if _visible(path):
            found = manifest_kind(path)
            if found is None and not _only_licsim_subfolders(path):
                raise UserError(f"{option} {shown}: the folder exists and is not a {_kind_name(kind)} folder "
                                "(licsim's have a manifest.json); choose a new or empty folder")
            if found is not None and found != kind:
                raise UserError(f"{option} {shown}: the folder holds a licsim {_kind_name(found)}, not a "
                                f"{_kind_name(kind)}; choose another folder")
            if found == kind and not (force or resume):
                raise UserError(f"{option} {shown}: the folder holds an earlier licsim {_kind_name(kind)}; add "
                                "--force to replace the files licsim wrote there (other files are kept), or "
                                "choose another folder")
        with folder_lock(path):  # free now (taken again while writing)
            pass
    _probe_writable(path, f"{option} {shown}")
    return path


def lock_folder(path: str | os.PathLike) -> int:
    """Take the exclusive lock of an existing folder (``flock`` on the folder itself); return its fd.

    Every command that writes a folder takes it, so none writes into a folder another is
    writing. The kernel drops it when the process ends, even by SIGKILL.

    Raises:
        UserError: Another licsim command holds it.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise UserError(f"{path}: another licsim command is writing to this folder (a batch, run or comparison); "
                        "wait for it to finish or choose another folder") from None
    return fd


def unlock_folder(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextmanager
def folder_lock(path: str | os.PathLike) -> Iterator[None]:
    """Hold :func:`lock_folder`'s lock for the block."""
    fd = lock_folder(path)
    try:
        yield
    finally:
        unlock_folder(fd)


def _files_under(folder: Path) -> list[str]:
    """Relative paths of every file below ``folder`` (which licsim wrote, so has no links)."""
    out = []
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            out.append(Path(dirpath, name).relative_to(folder).as_posix())
    return sorted(out)


def _inside(target: Path, rel: str) -> Path:
    """``target/rel`` where no part below ``target`` is a link or a file in the way (else UserError)."""
    here = target
    parts = Path(rel).parts
    for i, part in enumerate(parts):
        here = here / part
        last = i == len(parts) - 1
        if here.is_symlink() and not last:
            raise UserError(f"{target}: {here.relative_to(target)} is a link; licsim writes nothing through links "
                            "in its output folders; remove it or choose another folder")
        if here.exists() and not here.is_symlink() and (here.is_dir() if last else not here.is_dir()):
            raise UserError(f"{target}: {here.relative_to(target)} is in the way of licsim's output {rel}; move it "
                            "or choose another folder")
    return here


def _publish(tmp: Path, target: Path, kind: str | None, prune: bool, adopt: bool = False) -> None:
    """Move the finished folder ``tmp`` into place as ``target`` (see the overwrite rule above)."""
    new_files = _files_under(tmp)
    manifest_data = read_manifest_file(tmp)
    if manifest_data is not None:  # what this command wrote, so a later --force knows what is licsim's
        manifest_data["outputs"] = new_files
        (tmp / MANIFEST).write_text(json.dumps(manifest_data, indent=2, default=str) + "\n")
        os.chmod(tmp / MANIFEST, file_mode())
        kind = kind or manifest_kind(tmp)
    if not target.exists() and not target.is_symlink():
        try:
            os.rename(tmp, target)
            return
        except OSError:
            if not target.exists():
                raise
        # another command made the folder meanwhile: the rules for an existing folder apply
    with folder_lock(target):
        found = manifest_kind(target)
        if _visible(target) and (found != kind if found is not None
                                 else not (adopt or _only_licsim_subfolders(target))):
            raise UserError(f"{target}: the folder changed while licsim worked (it now holds "
                            f"{'a licsim ' + _kind_name(found) if found else 'files licsim did not write'}); "
                            "nothing was written; choose another folder")
        old = read_manifest_file(target) or {}
        dests = {rel: _inside(target, rel) for rel in new_files}  # check every place before moving anything
        for rel, dest in dests.items():
            if rel == MANIFEST:
                continue
            if not dest.parent.exists():
                dest.parent.mkdir(parents=True, mode=dir_mode())
            os.replace(tmp / rel, dest)
        if prune:  # licsim's own files of the earlier output that this one did not write again
            stale = [r for r in old.get("outputs", []) if isinstance(r, str) and r not in dests]
            for rel in stale:
                if ".." in Path(rel).parts or Path(rel).is_absolute():
                    continue
                p = target / rel
                try:
                    if p.is_symlink() or p.is_file():
                        if p.parent.resolve().is_relative_to(target.resolve()):
                            p.unlink()
                            _drop_empty_parents(p.parent, target)
                except OSError:
                    continue
        if MANIFEST in dests:
            os.replace(tmp / MANIFEST, dests[MANIFEST])  # last: the folder is whole again


def _drop_empty_parents(folder: Path, top: Path) -> None:
    while folder != top and folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextmanager
def atomic_dir(path: str | os.PathLike, *, kind: str | None = None, prune: bool = True,
               adopt: bool = False) -> Iterator[Path]:
    """Build an output folder in a new temporary folder beside ``path``, then move it into place.

    A new folder appears whole or not at all. Into a folder that holds licsim's output of
    the same kind (its ``manifest.json``), the new files are moved one by one under the
    folder's lock, the manifest last; files licsim did not write there are kept, and with
    ``prune`` the earlier output's own files that were not written again are removed. Callers
    check the target first with :func:`check_output` (refusing other folders, asking for
    ``--force``); this refuses any folder that changed since.

    Args:
        path: The output folder.
        kind: What the folder holds (default: read from the new ``manifest.json``).
        prune: Remove the earlier output's files that this one does not have.
        adopt: Treat an existing folder without a manifest as this command's (one that licsim
            wrote before its folders had manifests); its files are replaced, none removed.
    """
    path = Path(os.path.abspath(path))
    if path.is_symlink() and path.exists():
        path = path.resolve()  # the folder the user named through a link: build beside it
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, dir_mode())
        _publish(tmp, path, kind, prune, adopt)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
