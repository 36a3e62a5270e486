"""The ZIP container of a ``.tasz`` archive: a hostile-input-safe reader.

Reading parses the central directory with :mod:`zipfile` and then reads every entry itself,
from a :class:`~tascodec.format.byte_source.ByteSource` (a local file, a URL, a file object):
only STORED entries, unique names, sizes and offsets inside the file, entries that do not
overlap, and the ZIP CRC-32 of every entry checked on read. Entry data never pass through a
decompressor here, so a ZIP bomb is impossible at this level.

Writing (one pass, atomic) is ``zip_write.write_zip_atomic``.
"""

from __future__ import annotations

import os
import struct
import threading
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from collections.abc import Iterable, Iterator

from ..errors import FormatError, IntegrityError
from .byte_source import ByteSource, LocalSource
from .coalesce import group_spans
from .manifest import entry_digest

__all__ = ["ZipReader", "EntryInfo", "MAX_ENTRIES", "MAX_ENTRY_NAME"]

MAX_ENTRIES = 4_000_000  # entries in one archive
MAX_ENTRY_NAME = 512  # bytes in one entry name
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # 30 bytes
_LOCAL_SIG = b"PK\x03\x04"
TAIL_BYTES = 8 << 10  # read first from the end of a remote archive: end records, directory


@dataclass(frozen=True)
class EntryInfo:
    """One ZIP entry as the central directory describes it, with the end its data may reach."""

    name: str
    header_offset: int
    size: int
    crc: int
    limit: int  # the local header and data must end at or before this offset
    name_len: int  # bytes of the name in the central directory


class ZipReader:
    """Read-only, validated access to the STORED entries of a ZIP file (thread-safe reads).

    ``source``: a :class:`ByteSource` or a local path. On a remote source the end of the file
    is read at once, and :meth:`prefetch` merges the reads of neighbouring entries.

    ``names`` are the entry names; :meth:`read` returns an entry's bytes after checking its
    local header, CRC-32 and, once ``manifest`` is set (format 1.1), its digest. Errors are :class:`FormatError` / :class:`IntegrityError` that
    name the archive and the entry.
    """

    def __init__(self, source: ByteSource | str | os.PathLike[str]) -> None:
        self.source = source if isinstance(source, ByteSource) else LocalSource(source)
        self.path = self.source.location
        self._lock = threading.Lock()
        try:
            self.file_size = self.source.size
            self.identity = self.source.identity
            # Remote: a short read of the tail holds the end records, often the central
            # directory; a longer directory is read once, then served from the tail too.
            self._tail = (self.file_size, b"")
            if self.source.coalesce:
                start = max(0, self.file_size - TAIL_BYTES)
                self._tail = (start, self.source.read_at(start, self.file_size - start))
            self._entries = self._read_directory()
        except BaseException:
            self.source.close()
            raise
        self._data_offset: dict[str, int] = {}
        self._prefetched: dict[str, bytes] = {}  # entry -> bytes from its local header on
        self._hold = False  # ``holding``: prefetched entries stay after a read
        #: entry name -> digest (format 1.1, ``manifest``): set once the root is read, then
        #: every read of a listed entry checks its digest.
        self.manifest: dict[str, str] | None = None

    # -- central directory ---------------------------------------------------------------
    def _read_directory(self) -> dict[str, EntryInfo]:
        where = str(self.path)
        try:
            with zipfile.ZipFile(_SourceFile(self), "r") as zf:
                infos = zf.infolist()
                start_dir = int(getattr(zf, "start_dir", self.file_size))
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            raise FormatError(f"{where}: not a ZIP container ({exc})") from None
        except (
            ValueError,
            OSError,
            EOFError,
            struct.error,
            NotImplementedError,
            OverflowError,
            IndexError,
            KeyError,
            RecursionError,
        ) as exc:
            raise FormatError(f"{where}: unreadable ZIP central directory ({exc!r})") from None
        if len(infos) > MAX_ENTRIES:
            raise FormatError(f"{where}: {len(infos)} ZIP entries (at most {MAX_ENTRIES})")
        if not 0 <= start_dir <= self.file_size:
            raise FormatError(f"{where}: ZIP central directory offset outside the file")
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            if name in seen:
                raise FormatError(f"{where}: duplicate ZIP entry {name!r}")
            seen.add(name)
            if len(name.encode("utf-8", "surrogateescape")) > MAX_ENTRY_NAME or not name:
                raise FormatError(f"{where}: ZIP entry name too long or empty: {name[:80]!r}")
            if info.compress_type != zipfile.ZIP_STORED:
                raise FormatError(
                    f"{where}: ZIP entry {name!r} is compressed (method {info.compress_type});"
                    " .tasz entries must be STORED"
                )
            if info.flag_bits & 0x1:
                raise FormatError(f"{where}: ZIP entry {name!r} is encrypted")
            if info.file_size != info.compress_size:
                raise FormatError(f"{where}: ZIP entry {name!r}: stored size mismatch")
            if info.header_offset < 0 or info.file_size < 0:
                raise FormatError(f"{where}: ZIP entry {name!r}: negative offset or size")
        ordered = sorted(infos, key=lambda i: i.header_offset)
        entries: dict[str, EntryInfo] = {}
        for k, info in enumerate(ordered):
            limit = ordered[k + 1].header_offset if k + 1 < len(ordered) else start_dir
            name_len = len(
                info.orig_filename.encode("utf-8" if info.flag_bits & 0x800 else "cp437", "replace")
            )
            if info.header_offset + _LOCAL_HEADER.size + name_len + info.file_size > limit:
                raise FormatError(
                    f"{where}: ZIP entry {info.filename!r} overlaps the next entry or runs past"
                    " the central directory"
                )
            entries[info.filename] = EntryInfo(
                info.filename, info.header_offset, info.file_size, info.CRC, limit, name_len
            )
        return entries

    # -- entries ---------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def info(self, name: str) -> EntryInfo:
        try:
            return self._entries[name]
        except KeyError:
            raise FormatError(f"{self.path}: missing entry {name!r}") from None

    def entry_size(self, name: str) -> int:
        return self.info(name).size

    def _pread(self, offset: int, size: int) -> bytes:
        lo, tail = self._tail
        if lo <= offset and offset + size <= lo + len(tail):
            return tail[offset - lo : offset - lo + size]
        return self.source.read_at(offset, size)

    def _pread_tail(self, offset: int, size: int) -> bytes:
        """``_pread`` for the directory: a read reaching into the tail grows the tail (only
        the bytes before it are fetched), so the central directory is fetched once."""
        lo, tail = self._tail
        if offset < lo <= offset + size and lo + len(tail) == self.file_size:
            with self._lock:
                self._tail = (offset, self.source.read_at(offset, lo - offset) + tail)
        return self._pread(offset, size)

    def prefetch(self, names: Iterable[str], *, max_size: int) -> None:
        """Fetch entries ``names`` (those of at most ``max_size`` bytes) in as few reads as
        their places in the file allow, for :meth:`read` to take; a no-op on local files.

        Which entries share a read is ``coalesce.group_spans``'s (neighbours, the bytes
        between them bounded): opening costs a few requests, a video's chunks about one.
        """
        if not self.source.coalesce:
            return
        lo_tail = self._tail[0]
        spans = []
        for name in set(names):
            e = self._entries.get(name)
            if e is None or e.size > max_size or name in self._prefetched:
                continue
            end = min(e.limit, e.header_offset + _LOCAL_HEADER.size + e.name_len + e.size)
            if e.header_offset < lo_tail:  # what the tail holds needs no read
                spans.append((e.header_offset, end, name))
        for g in group_spans(spans):
            lo, hi = g[0][0], max(end for _, end, _ in g)
            blob = self.source.read_at(lo, hi - lo)
            with self._lock:
                for start, end, name in g:
                    self._prefetched[name] = blob[start - lo : end - lo]

    def discard_prefetched(self) -> None:
        """Forget prefetched entries not read (yet)."""
        with self._lock:
            self._prefetched.clear()

    @contextmanager
    def holding(self) -> Iterator[None]:
        """Within it, a prefetched entry stays after it is read (``verify`` reads each entry
        twice: its ZIP CRC, then its chunk checks, from one fetch); dropped at the end."""
        self._hold = True
        try:
            yield
        finally:
            self._hold = False
            self.discard_prefetched()

    def _parse_local(self, entry: EntryInfo, head: bytes) -> int:
        """Check the local header at the start of ``head``; returns where the data start."""
        where = f"{self.path}: ZIP entry {entry.name!r}"
        if len(head) < _LOCAL_HEADER.size:
            raise FormatError(f"{where}: truncated local header")
        sig, _ver, flags, method, _t, _d, _crc, _cs, _us, nlen, elen = _LOCAL_HEADER.unpack_from(
            head
        )
        if sig != _LOCAL_SIG:
            raise FormatError(f"{where}: bad local header signature")
        if method != zipfile.ZIP_STORED or flags & 0x1:
            raise FormatError(f"{where}: local header says compressed or encrypted")
        name = head[_LOCAL_HEADER.size : _LOCAL_HEADER.size + nlen]
        if (
            len(name) == nlen
            and name.decode("utf-8", "replace") != entry.name
            and name.decode("cp437") != entry.name
        ):
            raise FormatError(f"{where}: local header names a different entry")
        start = entry.header_offset + _LOCAL_HEADER.size + nlen + elen
        if start + entry.size > entry.limit:
            raise FormatError(f"{where}: data overlap the next entry")
        return start

    def read(
        self,
        name: str,
        *,
        max_size: int | None = None,
        check_crc: bool = True,
        check_digest: bool = True,
    ) -> bytes:
        """The bytes of entry ``name``; ``max_size`` bounds what is read.

        ``check_crc`` checks the ZIP CRC-32 (chunks skip it on the hot path: they carry their
        own, much faster, CRC-32C; ``verify`` checks both). ``check_digest`` checks the
        manifest digest (chunks check it with :meth:`check_digest` after their CRC-32C, so a
        flipped bit reads as corruption and a moved entry as a swap).
        """
        entry = self.info(name)
        with self._lock:
            fetched = (self._prefetched.get(name) if self._hold
                       else self._prefetched.pop(name, None))
        if max_size is not None and entry.size > max_size:
            raise FormatError(
                f"{self.path}: ZIP entry {name!r} is {entry.size} bytes (at most {max_size})"
            )
        start = self._data_offset.get(name)
        if start is None:
            # One read for header, name and data when the local header has no extra field
            # (what tascodec writes); a second one otherwise.
            guess = _LOCAL_HEADER.size + entry.name_len
            raw = fetched if fetched is not None else self._pread(
                entry.header_offset, min(guess + entry.size, entry.limit - entry.header_offset)
            )
            start = self._parse_local(entry, raw)
            self._data_offset[name] = start
            data = raw[guess : guess + entry.size] if start == entry.header_offset + guess else None
        elif fetched is not None:
            data = fetched[start - entry.header_offset : start - entry.header_offset + entry.size]
        else:
            data = None
        if data is None or len(data) != entry.size:
            data = self._pread(start, entry.size)
        if len(data) != entry.size:
            raise FormatError(f"{self.path}: ZIP entry {name!r} is truncated")
        if check_crc and zlib.crc32(data) != entry.crc:
            raise IntegrityError(f"{self.path}: ZIP entry {name!r}: CRC-32 mismatch")
        if check_digest:
            self.check_digest(name, data)
        return data

    def check_digest(self, name: str, data: bytes) -> None:
        """``IntegrityError`` unless ``data`` match entry ``name``'s manifest digest (1.1)."""
        if self.manifest is not None and name in self.manifest:
            if entry_digest(data) != self.manifest[name]:
                raise IntegrityError(
                    f"{self.path}: ZIP entry {name!r} does not match its manifest digest "
                    "(an entry swapped, moved or replaced)"
                )

    def close(self) -> None:
        self.source.close()
        self.discard_prefetched()

    @property
    def closed(self) -> bool:
        return self.source.closed


class _SourceFile:
    """The read-only file object :mod:`zipfile` parses the central directory from: ``seek``,
    ``tell`` and ``read`` over the reader's source (through its tail)."""

    def __init__(self, reader: ZipReader) -> None:
        self._reader, self._pos = reader, 0

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._pos, self._reader.file_size)[whence]
        if base + offset < 0:
            raise OSError(22, "Invalid argument")  # as a real file: zipfile relies on it
        self._pos = base + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        size = self._reader.file_size
        n = size - self._pos if n is None or n < 0 else min(n, max(0, size - self._pos))
        data = self._reader._pread_tail(self._pos, n) if n > 0 else b""
        self._pos += len(data)
        return data


