"""Writing the ZIP container of a ``.tasz`` archive atomically: the entries of a Zarr hierarchy
(written by ``zarr``) zipped STORED in one pass into a temporary file beside the destination,
fsynced and moved into place (``write_zip_atomic``). Reading it is ``container``'s."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import OutputExistsError, TascodecError
from ..runtime.tempfiles import clean_stale, mkstemp_beside

__all__ = ["write_zip_atomic"]


_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def _entry_order(name: str) -> tuple[int, int, list[object]]:
    # Metadata first (root, then groups/arrays by depth), then chunks in numeric order.
    parts = name.split("/")
    if parts[-1] == "zarr.json":
        return (0, len(parts), parts)
    return (1, 0, [int(p) if p.isdigit() else p for p in parts])


def write_zip_atomic(
    entries: Mapping[str, Callable[[], bytes]], dest: Path, *, overwrite: bool = False
) -> Path:
    """Write ``entries`` (name -> a function giving its bytes) as a STORED ZIP at ``dest``.

    One pass, each name once, metadata (``zarr.json``) first, chunks in numeric order.

    The ZIP is written to a temporary file in ``dest``'s directory
    (``.tascodec-tmp-<name>.<pid>.<random>``, ``tascodec.runtime.tempfiles``), fsynced and moved into
    place; on any failure nothing is left at ``dest`` and the temporary is removed (those of
    killed runs are removed by the next write to ``dest``). Without ``overwrite`` an existing
    ``dest`` is never replaced (``OutputExistsError`` naming it).
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise OutputExistsError(dest)
    if dest.is_dir():
        raise TascodecError(f"{dest}: is a directory")
    names = sorted(entries, key=_entry_order)
    clean_stale(dest.parent, dest.name)  # what killed runs to this path left behind
    fd, tmp = mkstemp_beside(dest)
    try:
        with os.fdopen(fd, "wb") as fh:
            with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
                for name in names:
                    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
                    info.compress_type = zipfile.ZIP_STORED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, entries[name]())
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, dest)
        else:
            try:  # link() refuses to replace an existing file: no clobber, even in a race
                os.link(tmp, dest)
            except FileExistsError:
                raise OutputExistsError(dest) from None
            except OSError:  # no hard links on this file system
                if dest.exists():
                    raise TascodecError(f"{dest}: file exists") from None
                os.replace(tmp, dest)
            tmp.unlink(missing_ok=True)
        _fsync_dir(dest.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
