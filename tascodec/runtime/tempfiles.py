"""Temporary files beside their destination, recognisable and cleaned up (no torch, no numpy).

Every temporary file or directory tascodec writes before renaming into place (archives,
exported layout files, the writer's scratch directory) is named
``.tascodec-tmp-<destination name>.<pid>.<random>`` in the destination's directory. Handled
failures remove it at once; a run killed by a signal leaves it, and the next run writing to
the same directory removes those whose process no longer exists (``clean_stale``).

**Permissions.** A temporary file is created private (``mkstemp``'s 0600) and, before anything
is written to it, given the mode a plain ``open()`` would have given the destination:
``0o666`` less the process's umask (``file_mode``: 0644 under umask 0022). Every file tascodec
renames into place (archives, exported features, ``mapping.txt``, markers, decoded videos,
plots) is therefore as readable as any other file the user writes; none is chmod-ed to a fixed
mode.

**Missing folders.** ``ensure_parent`` creates the folders above an output that do not exist
yet (as ``synth`` and ``export`` do for their folders), or says in one line why it cannot;
``write_beside`` and every command that writes call it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import OutputExistsError, TascodecError

__all__ = ["PREFIX", "prefix_for", "file_mode", "mkstemp_beside", "mkdtemp_beside",
           "clean_stale", "ensure_parent", "write_beside"]

PREFIX = ".tascodec-tmp-"


def prefix_for(dest: Path) -> str:
    """``.tascodec-tmp-<name>.<pid>.``: the prefix of this process's temporaries for ``dest``."""
    return f"{PREFIX}{dest.name}.{os.getpid()}."


def _umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc``); else
    set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    return 0o666 & ~_umask()


def mkstemp_beside(dest: Path) -> tuple[int, Path]:
    """A new temporary file in ``dest``'s directory: ``(fd, path)``, its mode already
    ``file_mode()`` (what the renamed file keeps)."""
    fd, name = tempfile.mkstemp(prefix=prefix_for(dest), dir=dest.parent)
    try:
        if hasattr(os, "fchmod"):  # POSIX (Windows has no umask to honour)
            os.fchmod(fd, file_mode())
    except BaseException:
        os.close(fd)
        Path(name).unlink(missing_ok=True)
        raise
    return fd, Path(name)


def mkdtemp_beside(dest: Path) -> Path:
    """A new temporary directory in ``dest``'s directory."""
    return Path(tempfile.mkdtemp(prefix=prefix_for(dest), dir=dest.parent))


def ensure_parent(dest: str | os.PathLike[str]) -> Path:
    """Create the missing folders above ``dest`` (modes by the umask); returns ``dest`` as a
    ``Path``. ``TascodecError`` in one line, naming ``dest``, when a folder cannot be made
    (a file in the way, no permission)."""
    dest = Path(dest)
    parent = dest.parent
    if parent.is_dir():
        return dest
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise TascodecError(f"{dest}: cannot create the folder {parent}: a file is in the "
                            f"way") from None
    except OSError as exc:
        raise TascodecError(f"{dest}: cannot create the folder {parent}: "
                            f"{exc.strerror or exc}") from None
    return dest


def write_beside(dest: Path, write: Callable[[BinaryIO], None], *, overwrite: bool) -> Path:
    """Write the file ``dest`` with ``write(handle)`` into a temporary beside it, renamed into
    place at the end: an existing ``dest`` is replaced only with ``overwrite``
    (``OutputExistsError`` otherwise, checked before and after writing) and is never left half
    written. Missing folders above ``dest`` are created (``ensure_parent``)."""
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise OutputExistsError(dest)
    ensure_parent(dest)
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
