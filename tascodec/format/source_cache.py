"""``CachedSource``: a remote byte source whose fetched bytes are kept in a local folder that
every process reading the same archive shares (a URL-backed ``TaszDataset``: its epochs and
its DataLoader workers), so a training run fetches each byte about once.

The folder holds, per archive (named by a digest of the source's ``identity``: URL, size,
ETag), a sparse file of the archive's size (``<key>.data``) and one byte per
:data:`BLOCK`-byte block saying whether that block is there (``<key>.blocks``). A read serves
the blocks present from the file and fetches each run of missing blocks with one request,
writes it, then marks it. A read that misses holds a POSIX record lock on its blocks' bytes of
the map while it fetches, so two workers wanting the same chunk fetch it once: the second waits
for the first, then finds it there (reads of other blocks go on in parallel). The bytes are checked on every read as any read
is (ZIP CRC-32, manifest digests, chunk CRC-32C), so a damaged cache file reads as
corruption, never as other data; a file replaced on the server has another identity, hence
another key.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no record locks, a block may be fetched twice
    fcntl = None  # type: ignore[assignment]

from ..errors import FormatError, TascodecError
from .byte_source import ByteSource, is_url, open_source

__all__ = ["CachedSource", "BLOCK", "cache_folder", "cached"]

#: bytes per cache block: a read fetches whole blocks (at most 2 blocks more than asked)
BLOCK = 4096


class CachedSource(ByteSource):
    """``inner`` (a remote :class:`ByteSource`) read through the cache folder ``folder``.

    ``stats`` are ``inner``'s: what this process fetched over the network.
    """

    coalesce = True

    def __init__(self, inner: ByteSource, folder: str | os.PathLike[str]) -> None:
        super().__init__()
        self.inner, self.folder = inner, Path(folder)
        self.location, self.size = inner.location, inner.size
        self.identity, self.version = inner.identity, inner.version
        self.stats = inner.stats
        self._lock = threading.Lock()  # record locks are per process: threads take this
        key = hashlib.blake2b(repr(inner.identity).encode(), digest_size=12).hexdigest()
        blocks = -(-self.size // BLOCK)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._data = os.open(self.folder / f"{key}.data", os.O_RDWR | os.O_CREAT, 0o600)
            self._map = os.open(self.folder / f"{key}.blocks", os.O_RDWR | os.O_CREAT, 0o600)
            for fd, n in ((self._data, self.size), (self._map, blocks)):
                if os.fstat(fd).st_size != n:  # new (or of another size: never trusted)
                    os.ftruncate(fd, 0)
                    os.ftruncate(fd, n)
        except OSError as exc:
            inner.close()
            raise TascodecError(f"{self.folder}: cannot use as the cache folder of "
                                f"{self.location}: {exc}") from None

    def _count(self, nbytes: int, requests: int = 1) -> None:
        pass  # what this source returns is not what it fetched: ``inner`` counts that

    def _read(self, offset: int, n: int) -> bytes:
        b0, b1 = offset // BLOCK, (offset + n - 1) // BLOCK + 1
        if os.pread(self._map, b1 - b0, b0) != b"\x01" * (b1 - b0):
            with self._lock:
                if fcntl is not None:
                    fcntl.lockf(self._map, fcntl.LOCK_EX, b1 - b0, b0, os.SEEK_SET)
                try:
                    self._fetch(b0, b1)
                finally:
                    if fcntl is not None:
                        fcntl.lockf(self._map, fcntl.LOCK_UN, b1 - b0, b0, os.SEEK_SET)
        return os.pread(self._data, n, offset)

    def _fetch(self, b0: int, b1: int) -> None:
        """Fetch the runs of blocks ``[b0, b1)`` not present (under the lock)."""
        present = os.pread(self._map, b1 - b0, b0)
        k = 0
        while k < b1 - b0:
            if present[k:k + 1] == b"\x01":
                k += 1
                continue
            run = k
            while k < b1 - b0 and present[k:k + 1] != b"\x01":
                k += 1
            lo, hi = (b0 + run) * BLOCK, min((b0 + k) * BLOCK, self.size)
            data = self.inner.read_at(lo, hi - lo)
            if len(data) != hi - lo:
                raise FormatError(f"{self.location}: truncated: {len(data)} of {hi - lo} "
                                  f"bytes at offset {lo}")
            os.pwrite(self._data, data, lo)
            os.pwrite(self._map, b"\x01" * (k - run), b0 + run)  # marked after the data

    def reopen(self) -> CachedSource:
        return CachedSource(self.inner.reopen(), self.folder)

    def close(self) -> None:
        if not self._closed:
            super().close()
            os.close(self._data)
            os.close(self._map)
            self.inner.close()


def cache_folder(value: Any, owner: object) -> str | None:
    """The cache folder a reader asked for (``TaszDataset(remote_cache=)``): ``True`` a new
    temporary folder, removed when ``owner`` goes away (in the process that made it only: a
    forked worker's copy going away leaves it to the others); a path: that folder, kept;
    ``False`` / ``None``: no cache."""
    if value is False or value is None:
        return None
    if value is True:
        folder = tempfile.mkdtemp(prefix="tascodec-remote-")
        weakref.finalize(owner, _remove_folder, folder, os.getpid())
        return folder
    if not isinstance(value, (str, os.PathLike)):
        raise TascodecError(f"remote_cache: expected True, False or a folder, got "
                            f"{type(value).__name__}")
    return os.fspath(value)


def _remove_folder(folder: str, owner_pid: int) -> None:
    if os.getpid() == owner_pid:
        shutil.rmtree(folder, ignore_errors=True)


def cached(target: Any, storage_options: dict[str, Any] | None, folder: str | None) -> Any:
    """``target`` as opened through the cache ``folder`` when it is a URL and a folder is
    given (a :class:`CachedSource`), else ``target`` itself."""
    if not folder or not is_url(target):
        return target
    return CachedSource(open_source(target, storage_options), folder)
