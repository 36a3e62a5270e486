"""Zarr v3 arrays of a ``.tasz`` archive read without zarr: metadata validation and chunk decoding.

An array's ``zarr.json`` is parsed with :mod:`json` and checked against the one layout a v1
archive may use (``spec/tasz-v1.md``): a regular chunk grid whose chunks span every dimension
but the first, the default chunk key encoding with ``/``, no storage transformers, and exactly
the codec pipeline ``bytes`` (little endian) -> ``zstd`` -> ``crc32c``. Nothing in the metadata
can name other code to run. A chunk is ``zstd(bytes) + crc32c`` (4 bytes, little endian); it
is checksummed, then decompressed into a buffer of exactly the expected size.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numcodecs import zstd  # numcodecs.zstd is plain zstd: no codec registry involved

from ..errors import FormatError, IntegrityError
from .container import ZipReader

__all__ = [
    "ArrayMeta",
    "parse_json",
    "read_json_entry",
    "parse_array_meta",
    "read_rows",
    "read_array",
    "prefetch_arrays",
    "chunk_keys",
    "chunk_key",
    "check_chunk",
    "frame_content_size",
    "MAX_CHUNK_BYTES",
    "MAX_JSON_BYTES",
    "DTYPES",
]

MAX_JSON_BYTES = 64 << 20  # one zarr.json
MAX_CHUNK_BYTES = 256 << 20  # one decompressed chunk
DTYPES = {"float32": "<f4", "float16": "<f2", "int8": "i1", "int64": "<i8", "uint8": "u1"}
_ZSTD_LEVELS = range(-131072, 23)
_KNOWN_KEYS = {
    "zarr_format",
    "node_type",
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "fill_value",
    "codecs",
    "attributes",
    "storage_transformers",
    "dimension_names",
}


@dataclass(frozen=True)
class ArrayMeta:
    """Validated metadata of one array: ``key`` is its path in the hierarchy (``codes``)."""

    key: str
    shape: tuple[int, ...]
    chunk_rows: int
    dtype: str  # spec name, e.g. "float32"

    @property
    def row_shape(self) -> tuple[int, ...]:
        return self.shape[1:]

    @property
    def num_chunks(self) -> int:
        return -(-self.shape[0] // self.chunk_rows)

    @property
    def chunk_nbytes(self) -> int:
        return self.chunk_rows * math.prod(self.row_shape) * self.itemsize

    @property
    def itemsize(self) -> int:
        return np.dtype(DTYPES[self.dtype]).itemsize


def parse_json(data: bytes, where: str) -> Any:
    """Parse JSON bytes (UTF-8) into Python objects; any failure is a ``FormatError``."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise FormatError(f"{where}: invalid JSON ({str(exc)[:120]})") from None
    return obj


def read_json_entry(zr: ZipReader, key: str) -> dict[str, Any]:
    """The JSON object stored in entry ``key`` (size-limited)."""
    where = f"{zr.path}: {key}"
    obj = parse_json(zr.read(key, max_size=MAX_JSON_BYTES), where)
    if not isinstance(obj, dict):
        raise FormatError(f"{where}: must hold a JSON object")
    return obj


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_codecs(codecs: Any, dtype: str, where: str) -> None:
    if not isinstance(codecs, list) or len(codecs) != 3:
        raise FormatError(f"{where}: codecs must be exactly [bytes, zstd, crc32c]")
    bytes_c, zstd_c, crc_c = codecs
    if not all(isinstance(c, dict) for c in codecs):
        raise FormatError(f"{where}: codecs must be JSON objects")
    if bytes_c.get("name") != "bytes" or set(bytes_c) - {"name", "configuration"}:
        raise FormatError(f"{where}: first codec must be 'bytes'")
    conf = bytes_c.get("configuration", {})
    endian = conf.get("endian") if isinstance(conf, dict) else "?"
    if not isinstance(conf, dict) or set(conf) - {"endian"}:
        raise FormatError(f"{where}: bytes codec configuration may only hold 'endian'")
    if endian != "little" and not (endian is None and DTYPES[dtype][-1] == "1"):
        raise FormatError(f"{where}: bytes codec must be little endian")
    if zstd_c.get("name") != "zstd" or set(zstd_c) - {"name", "configuration"}:
        raise FormatError(f"{where}: second codec must be 'zstd'")
    zconf = zstd_c.get("configuration", {})
    if not isinstance(zconf, dict) or set(zconf) - {"level", "checksum"}:
        raise FormatError(f"{where}: zstd configuration may only hold 'level' and 'checksum'")
    level, checksum = zconf.get("level", 0), zconf.get("checksum", False)
    if not _is_int(level) or level not in _ZSTD_LEVELS or not isinstance(checksum, bool):
        raise FormatError(f"{where}: bad zstd configuration {zconf!r}")
    if crc_c.get("name") != "crc32c" or set(crc_c) - {"name", "configuration"}:
        raise FormatError(f"{where}: third codec must be 'crc32c'")
    if crc_c.get("configuration", {}) not in ({}, None):
        raise FormatError(f"{where}: crc32c takes no configuration")


def parse_array_meta(
    zr: ZipReader, key: str, *, dtypes: tuple[str, ...], ndim: int | None = None
) -> ArrayMeta:
    """Read and validate ``<key>/zarr.json``; ``dtypes`` are the data types allowed there."""
    entry = f"{key}/zarr.json"
    where = f"{zr.path}: array {key!r} ({entry})"
    meta = read_json_entry(zr, entry)
    for k, v in meta.items():
        if k not in _KNOWN_KEYS and not (isinstance(v, dict) and v.get("must_understand") is False):
            raise FormatError(f"{where}: unknown metadata field {k!r}")
    if meta.get("zarr_format") != 3 or meta.get("node_type") != "array":
        raise FormatError(f"{where}: not a Zarr v3 array")
    dtype = meta.get("data_type")
    if dtype not in dtypes:
        raise FormatError(f"{where}: data_type {dtype!r} not allowed here (allowed: {dtypes})")
    shape = meta.get("shape")
    if (
        not isinstance(shape, list)
        or not shape
        or len(shape) > 8
        or not all(_is_int(s) and 0 <= s < 2**53 for s in shape)
    ):
        raise FormatError(f"{where}: bad shape {str(shape)[:80]}")
    if ndim is not None and len(shape) != ndim:
        raise FormatError(f"{where}: must have {ndim} dimensions, has {len(shape)}")
    grid = meta.get("chunk_grid")
    chunks = grid.get("configuration", {}).get("chunk_shape") if isinstance(grid, dict) else None
    if (
        not isinstance(grid, dict)
        or grid.get("name") != "regular"
        or not isinstance(chunks, list)
        or len(chunks) != len(shape)
        or not all(_is_int(c) and c >= 1 for c in chunks)
    ):
        raise FormatError(f"{where}: chunk_grid must be regular with positive chunk_shape")
    if chunks[1:] != shape[1:]:
        raise FormatError(f"{where}: chunks must span every dimension but the first")
    enc = meta.get("chunk_key_encoding")
    if enc != {"name": "default", "configuration": {"separator": "/"}}:
        raise FormatError(f"{where}: chunk_key_encoding must be default with '/'")
    if meta.get("storage_transformers", []) != []:
        raise FormatError(f"{where}: storage_transformers are not allowed")
    fill = meta.get("fill_value")
    if not isinstance(fill, (int, float)) or isinstance(fill, bool):
        raise FormatError(f"{where}: fill_value must be a number")
    _check_codecs(meta.get("codecs"), dtype, where)
    out = ArrayMeta(key, tuple(shape), int(chunks[0]), dtype)
    if out.chunk_nbytes > MAX_CHUNK_BYTES:
        raise FormatError(
            f"{where}: chunks of {out.chunk_nbytes} bytes (at most {MAX_CHUNK_BYTES})"
        )
    if out.num_chunks > len(zr.names):
        raise FormatError(f"{where}: needs {out.num_chunks} chunks, archive has fewer entries")
    return out


def chunk_keys(meta: ArrayMeta) -> list[str]:
    """Entry names of every chunk of ``meta`` in row order."""
    return [chunk_key(meta, i) for i in range(meta.num_chunks)]


def chunk_key(meta: ArrayMeta, i: int) -> str:
    """Entry name of chunk ``i`` (in row order) of ``meta``."""
    return f"{meta.key}/c/{i}" + "/0" * (len(meta.shape) - 1)


def _max_chunk_entry(meta: ArrayMeta) -> int:
    """The most bytes a stored chunk of ``meta`` may take (zstd's worst case, and the CRC)."""
    return meta.chunk_nbytes + (meta.chunk_nbytes >> 3) + 1024


def prefetch_arrays(zr: ZipReader, metas: Iterable[ArrayMeta]) -> None:
    """Fetch every chunk of ``metas`` in as few reads as possible (remote; ``ZipReader.prefetch``)."""
    metas = list(metas)
    zr.prefetch([k for m in metas for k in chunk_keys(m)],
                max_size=max((_max_chunk_entry(m) for m in metas), default=0))


def _decode_chunk(zr: ZipReader, meta: ArrayMeta, i: int) -> np.ndarray:
    key = chunk_key(meta, i)
    where = f"{zr.path}: array {meta.key!r} chunk {key!r}"
    if key not in zr:
        raise IntegrityError(f"{where}: missing")
    raw = zr.read(
        key,
        max_size=_max_chunk_entry(meta),
        check_crc=False,
        check_digest=False,
    )
    if len(raw) < 5:
        raise IntegrityError(f"{where}: too short ({len(raw)} bytes)")
    body, stored = raw[:-4], int.from_bytes(raw[-4:], "little")
    if _crc32c(body) != stored:
        raise IntegrityError(f"{where}: crc32c checksum mismatch")
    zr.check_digest(key, raw)  # format 1.1: this chunk belongs to this array and position
    # numcodecs' decompress(body, out) returns ``out`` itself, whatever it wrote: the length
    # is checked on the frame's declared content size, which zstd enforces while decoding.
    declared = frame_content_size(body)
    if declared != meta.chunk_nbytes:
        raise IntegrityError(
            f"{where}: zstd frame declares {declared} decompressed bytes, "
            f"expected exactly {meta.chunk_nbytes}"
        )
    out = bytearray(meta.chunk_nbytes)
    try:
        zstd.decompress(body, out)
    except Exception as exc:  # noqa: BLE001 - any decoder failure on untrusted bytes
        raise IntegrityError(f"{where}: zstd data do not decode ({exc})") from None
    arr = np.frombuffer(out, dtype=DTYPES[meta.dtype])
    return arr.reshape((meta.chunk_rows, *meta.row_shape))


_ZSTD_MAGIC = 0xFD2FB528
_FCS_BYTES = (0, 2, 4, 8)  # by Frame_Content_Size_flag (flag 0: 1 byte if single segment)


def frame_content_size(body: bytes) -> int | None:
    """The decompressed size a zstd frame declares in its header (RFC 8878 section 3.1.1.1).

    ``None`` when ``body`` is not a zstd frame or the frame does not declare its size (a
    ``.tasz`` chunk always does). zstd checks while decoding that the frame produces exactly
    this many bytes, so a frame declaring the chunk's size cannot decode short.
    """
    if len(body) < 6 or int.from_bytes(body[:4], "little") != _ZSTD_MAGIC:
        return None
    desc = body[4]
    fcs_flag, single, dict_flag = desc >> 6, (desc >> 5) & 1, desc & 3
    size = _FCS_BYTES[fcs_flag] or (1 if single else 0)
    if size == 0:
        return None
    pos = 5 + (0 if single else 1) + (0, 1, 2, 4)[dict_flag]
    if len(body) < pos + size:
        return None
    value = int.from_bytes(body[pos : pos + size], "little")
    return value + 256 if size == 2 else value


def check_chunk(zr: ZipReader, meta: ArrayMeta, i: int) -> None:
    """Read and check chunk ``i`` of ``meta`` (raises ``IntegrityError``)."""
    _decode_chunk(zr, meta, i)


def _crc32c(data: bytes) -> int:
    try:
        import google_crc32c  # optional: faster where installed (not a dependency)

        return int(google_crc32c.value(data))
    except ImportError:  # pragma: no cover - numcodecs ships a crc32c too
        from numcodecs.checksum32 import CRC32C  # the fallback: only where google_crc32c is not

        return int.from_bytes(CRC32C().encode(np.frombuffer(data, "u1"))[:4], "little")


def read_rows(
    zr: ZipReader,
    meta: ArrayMeta,
    lo: int,
    hi: int,
    *,
    cache: dict[tuple[str, int], np.ndarray] | None = None,
    also: Sequence[ArrayMeta] = (),
) -> np.ndarray:
    """Rows ``[lo, hi)`` of the array, native byte order: (hi - lo, *row_shape).

    Only the chunks overlapping the rows are read. ``cache`` (optional) keeps the last chunk
    read, so that reading consecutive videos decodes a shared boundary chunk once. ``also``:
    arrays read next, whose chunks a remote source fetches with the rows' (``prefetch``).
    """
    if not 0 <= lo <= hi <= meta.shape[0]:
        raise FormatError(f"{zr.path}: array {meta.key!r}: rows [{lo}, {hi}) out of range")
    dtype = np.dtype(DTYPES[meta.dtype]).newbyteorder("=")
    if lo == hi:
        return np.zeros((0, *meta.row_shape), dtype=dtype)
    r = meta.chunk_rows
    last = (hi - 1) // r
    wanted = [i for i in range(lo // r, last + 1) if cache is None or (meta.key, i) not in cache]
    if zr.source.coalesce and len(wanted) + len(also) > 1:  # remote: the chunks in one read
        keys = [chunk_key(meta, i) for i in wanted] + [k for m in also for k in chunk_keys(m)]
        zr.prefetch(keys, max_size=max(_max_chunk_entry(m) for m in (meta, *also)))
    # each chunk is copied into the result as it is decoded: the rows, one chunk being
    # decoded (and its stored bytes) and the cached chunk are all a read holds at once
    out = np.empty((hi - lo, *meta.row_shape), dtype=dtype)
    for i in range(lo // r, last + 1):
        chunk = cache.get((meta.key, i)) if cache is not None else None
        if chunk is None:
            chunk = _decode_chunk(zr, meta, i)
        if cache is not None and i == last:
            cache.clear()
            cache[(meta.key, i)] = chunk
        a, b = max(lo - i * r, 0), min(hi - i * r, r)
        out[i * r + a - lo : i * r + b - lo] = chunk[a:b]
        del chunk
    return out


def read_array(zr: ZipReader, meta: ArrayMeta) -> np.ndarray:
    """The whole array (see :func:`read_rows`)."""
    return read_rows(zr, meta, 0, meta.shape[0])
