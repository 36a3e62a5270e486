"""Random-access byte sources: where the bytes of a ``.tasz`` archive come from.

A :class:`ByteSource` knows its ``size``, reads ``n`` bytes at an offset (:meth:`read_at`),
says which bytes it holds (``identity``, ``version``), opens itself again in a new process
(:meth:`reopen`) and counts what it fetched (``stats``: reads and bytes). Three kinds:

- :class:`LocalSource`: a file on disk, read with ``os.pread`` (no fsspec import);
- :class:`FsspecSource`: any URL (``http(s)://`` and ``hf://`` with bounded range requests,
  ``s3://``, ``gs://``, ``memory://``, chained URLs: ``remote.py``), fsspec imported only
  there and only for a URL;
- :class:`FileObjectSource`: a binary, seekable file object (``io.BytesIO``,
  ``open(path, "rb")``) that cannot be reopened in another process.

``coalesce`` says whether a read costs a round trip (remote and file objects): then the
container merges adjacent reads (``ZipReader.prefetch``).
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Union

from ..errors import FormatError, TascodecError
from .remote import connect

__all__ = [
    "ByteSource",
    "LocalSource",
    "FsspecSource",
    "FileObjectSource",
    "FetchStats",
    "Target",
    "archive_target",
    "open_source",
    "is_url",
    "is_file_object",
    "REMOTE_EXTRA",
]

#: What ``pip install`` needs for URLs (named in the error when fsspec is missing).
REMOTE_EXTRA = "tascodec[remote]"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://|::")  # "proto://..." or fsspec chaining "a::b"
#: An archive as given to ``tascodec.open``: a local ``Path``, a URL ``str``, a file object
#: or an opened ``ByteSource``.
Target = Union[Path, str, BinaryIO, "ByteSource"]


def is_url(value: object) -> bool:
    """Whether ``value`` is a URL string (``proto://...`` or a chained fsspec URL)."""
    return isinstance(value, str) and bool(_URL.search(value)) and not value.startswith("file://")


def is_file_object(value: object) -> bool:
    """Whether ``value`` is a file-like object (has ``read`` and ``seek``), not a path."""
    return not isinstance(value, (str, os.PathLike)) and all(
        callable(getattr(value, m, None)) for m in ("read", "seek")
    )


def archive_target(value: Any, where: str = "archive") -> Target:
    """``value`` as a target: a URL stays a ``str``, ``file://`` URLs and paths become a
    ``Path``, a file object or a :class:`ByteSource` (e.g. a ``CachedSource``) stays itself;
    anything else is a ``TascodecError``."""
    if is_url(value):
        return str(value)
    if isinstance(value, str) and value.startswith("file://"):
        return Path(value[len("file://"):])
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    if is_file_object(value) or isinstance(value, ByteSource):
        return value
    raise TascodecError(
        f"{where}: expected a path, a URL or a binary file object, got {type(value).__name__}"
    )


@dataclass
class FetchStats:
    """What a source fetched: ``requests`` (reads, plus the size query of a URL) and
    ``bytes`` (bytes returned)."""

    requests: int = 0
    bytes: int = 0


class ByteSource:
    """A read-only, thread-safe, random-access sequence of ``size`` bytes.

    ``location`` names it in messages (a path, a URL, ``<file object ...>``); ``identity``
    pins its content (two sources with equal identities hold the same bytes, as far as the
    storage can tell); ``version`` is ``(size, stamp)``, the part of it that says when.
    """

    location: str
    size: int
    identity: tuple[Any, ...]
    version: tuple[Any, ...]
    coalesce: bool = False

    def __init__(self) -> None:
        self.stats = FetchStats()
        self._stats_lock = threading.Lock()
        self._closed = False

    def _count(self, nbytes: int, requests: int = 1) -> None:
        with self._stats_lock:
            self.stats.requests += requests
            self.stats.bytes += nbytes

    def read_at(self, offset: int, n: int) -> bytes:
        """``n`` bytes from ``offset`` (fewer only past the end, like ``pread``)."""
        if self._closed:
            raise TascodecError(f"{self.location}: archive is closed")
        n = max(0, min(n, self.size - offset))
        data = self._read(offset, n) if n else b""
        self._count(len(data))
        return data

    def _read(self, offset: int, n: int) -> bytes:
        raise NotImplementedError

    def reopen(self) -> ByteSource:
        """A new handle on the same bytes, for a new process (a forked DataLoader worker)."""
        raise NotImplementedError

    def close(self) -> None:
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


class LocalSource(ByteSource):
    """A file on disk; ``identity`` is ``(st_dev, st_ino, st_size, st_mtime_ns)``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self.location = str(self.path)
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise FormatError(f"{self.path}: no such archive") from None
        except IsADirectoryError:
            raise FormatError(f"{self.path}: is a directory, not a .tasz archive") from None
        except OSError as exc:
            raise FormatError(f"{self.path}: cannot open archive: {exc}") from None
        st = os.fstat(self._file.fileno())
        self.size = st.st_size
        self.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        self.version = (st.st_size, st.st_mtime_ns)
        self._lock = threading.Lock()

    def _read(self, offset: int, n: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._file.fileno(), n, offset)
        with self._lock:  # pragma: no cover - Windows
            self._file.seek(offset)
            return self._file.read(n)

    def reopen(self) -> LocalSource:
        return LocalSource(self.path)

    def close(self) -> None:
        super().close()
        self._file.close()


class FileObjectSource(ByteSource):
    """A binary, seekable file object, read under a lock (seek + read). It stays the
    caller's: :meth:`close` leaves it open, and it cannot be reopened in another process."""

    coalesce = True

    def __init__(self, fileobj: BinaryIO) -> None:
        super().__init__()
        name = getattr(fileobj, "name", None)
        self.location = f"<file object {name}>" if isinstance(name, str) else (
            f"<file object {type(fileobj).__name__}>")
        self._obj = fileobj
        self._lock = threading.Lock()
        seekable = getattr(fileobj, "seekable", None)
        if callable(seekable) and not seekable():
            raise TascodecError(f"{self.location}: not seekable (an archive is read at "
                                "random offsets: give a path, a URL or a seekable file)")
        try:
            with self._lock:
                probe = fileobj.read(0)
                self.size = int(fileobj.seek(0, os.SEEK_END))
        except (OSError, ValueError, EOFError) as exc:  # EOFError: a truncated gzip/lzma/bz2
            raise FormatError(f"{self.location}: cannot read: {exc}") from None
        if not isinstance(probe, (bytes, bytearray)):
            raise TascodecError(f"{self.location}: opened in text mode; open it with 'rb'")
        self.identity = ("file-object", id(fileobj), self.size)
        self.version = (self.size, None)

    def _read(self, offset: int, n: int) -> bytes:
        parts, got = [], 0
        with self._lock:
            try:
                self._obj.seek(offset)
                while got < n:
                    part = self._obj.read(n - got)
                    if not part:
                        break
                    parts.append(bytes(part))
                    got += len(part)
            except (OSError, ValueError, EOFError) as exc:  # EOFError: a truncated gzip/lzma/bz2
                raise FormatError(f"{self.location}: cannot read: {exc}") from None
        return b"".join(parts)

    def reopen(self) -> ByteSource:
        raise TascodecError(
            f"{self.location}: an archive opened from a file object cannot be read in another "
            "process (a DataLoader worker, multiprocessing): open it from a path or a URL"
        )


class FsspecSource(ByteSource):
    """Any URL, read through :func:`tascodec.format.remote.connect` (one range request per
    read; ``http(s)://`` and ``hf://`` with bounded responses and a timeout).

    ``identity`` is ``(url, size, stamp)``, the stamp being the ETag or modification time the
    storage reports (``None`` if it reports neither). A short read or a server that ignores
    range requests is a ``FormatError``.
    """

    coalesce = True

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None) -> None:
        super().__init__()

        self.location = url
        self.storage_options = dict(storage_options or {})
        self._remote = connect(url, self.storage_options)
        self._count(0, self._remote.requests)
        self.size = int(self._remote.size)
        self.version = (self.size, self._remote.stamp)
        self.identity = (url, *self.version)

    def _read(self, offset: int, n: int) -> bytes:
        data = self._remote.read(offset, n)
        if len(data) < n:
            raise FormatError(
                f"{self.location}: truncated: {len(data)} of {n} bytes at offset {offset} "
                f"(the file is {self.size} bytes by its metadata)")
        return data

    def reopen(self) -> FsspecSource:
        return FsspecSource(self.location, self.storage_options)


def open_source(target: Any, storage_options: dict[str, Any] | None = None) -> ByteSource:
    """The byte source of ``target`` (a path, a URL or a binary file object; see
    :func:`archive_target`). ``storage_options`` go to fsspec for a URL."""
    target = archive_target(target)
    if isinstance(target, ByteSource):
        return target
    if isinstance(target, Path):
        return LocalSource(target)
    if isinstance(target, str):
        return FsspecSource(target, storage_options)
    return FileObjectSource(target)
