"""Temporary files beside their destination, recognisable and cleaned up (no torch, no numpy).

Every temporary file or directory tascodec writes before renaming into place (archives,
exported layout files, the writer's scratch directory) is named
``.tascodec-tmp-<destination name>.<pid>.<random>`` in the destination's directory. Handled
failures remove it at once; a run killed by a signal leaves it, and the next run writing to
the same directory removes those whose process no longer exists (``clean_stale``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from .errors import OutputExistsError

__all__ = ["PREFIX", "prefix_for", "mkstemp_beside", "mkdtemp_beside", "clean_stale",
           "write_beside"]

PREFIX = ".tascodec-tmp-"


def prefix_for(dest: Path) -> str:
    """``.tascodec-tmp-<name>.<pid>.``: the prefix of this process's temporaries for ``dest``."""
    return f"{PREFIX}{dest.name}.{os.getpid()}."


def mkstemp_beside(dest: Path) -> tuple[int, Path]:
    """A new temporary file in ``dest``'s directory: ``(fd, path)``."""
    fd, name = tempfile.mkstemp(prefix=prefix_for(dest), dir=dest.parent)
    return fd, Path(name)


def mkdtemp_beside(dest: Path) -> Path:
    """A new temporary directory in ``dest``'s directory."""
    return Path(tempfile.mkdtemp(prefix=prefix_for(dest), dir=dest.parent))


def write_beside(dest: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> Path:
    """Write the file ``dest`` with ``write(handle)`` into a temporary beside it, renamed into
    place at the end: an existing ``dest`` is replaced only with ``overwrite``
    (``OutputExistsError`` otherwise, checked before and after writing) and is never left half
    written."""
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise OutputExistsError(dest)
    fd, tmp = mkstemp_beside(dest)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        if dest.exists() and not overwrite:
            raise OutputExistsError(dest)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # another user's process, or no way to tell
        return True
    return True


def _owner(name: str) -> int | None:
    """The pid in ``.tascodec-tmp-<dest>.<pid>.<random>``, or ``None``."""
    if not name.startswith(PREFIX):
        return None
    parts = name[len(PREFIX):].rsplit(".", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return int(parts[1])


def clean_stale(directory: Path, dest_name: str | None = None) -> list[Path]:
    """Remove temporaries in ``directory`` left by processes that no longer exist.

    ``dest_name``: only those for that destination. Returns what was removed; a file that
    cannot be removed is left (never an error: cleaning is a courtesy).
    """
    removed: list[Path] = []
    try:
        entries = list(Path(directory).iterdir())
    except OSError:
        return removed
    for path in entries:
        pid = _owner(path.name)
        if pid is None or _alive(pid):
            continue
        if dest_name is not None and not path.name.startswith(f"{PREFIX}{dest_name}.{pid}."):
            continue
        try:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
