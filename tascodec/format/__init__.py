"""The ``.tasz`` archive format: writer, safe reader and the ``Archive`` view.

``write_archive(content, path)`` stores an :class:`~tascodec.content.ArchiveContent`;
``open_archive(path)`` returns an :class:`Archive`, whose reader is picked by the archive's
format version (``readers``). The normative description is ``spec/tasz-v1.md``. Reading never imports zarr and never lets archive metadata choose code.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..content import DECODE_KINDS, ArchiveContent, CodeGroup, GroupedContent, StoredDecoder
from ..errors import TascodecError
from .archive import Archive, open_archive
from .v1 import CODE_DTYPES
from .v1_write import write_v1
from .v2_write import write_grouped
from .version import FORMAT_NAME, FORMAT_VERSION, KIND_SINCE, check_version, parse_version

__all__ = [
    "open_archive",
    "write_archive",
    "Archive",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "CODE_DTYPES",
    "DECODE_KINDS",
    "parse_version",
    "check_version",
]


def write_archive(
    content: ArchiveContent,
    path: str | Path,
    *,
    overwrite: bool = False,
    code_dtype: str = "float32",
    compression_level: int = 3,
    codes_chunk_bytes: int = 1 << 20,
    decoder_dtype: str = "float32",
    format_version: str = FORMAT_VERSION,
) -> Path:
    """Write ``content`` to ``path`` as a format-version-1 archive (1.1 unless
    ``format_version="1.0"``); returns the path.

    ``code_dtype``: ``"float32"`` (exact), ``"float16"`` or ``"int8"`` (per-channel symmetric
    scale). ``compression_level``: zstd level. ``codes_chunk_bytes``: target uncompressed
    bytes per chunk of codes (rows of whole codes). ``decoder_dtype``: ``"float32"`` or
    ``"float16"`` (1.1 only; rounded to nearest, read back as float32). The write is atomic; an existing file is
    replaced only with ``overwrite=True`` (``TascodecError`` naming it otherwise).
    """
    if not isinstance(codes_chunk_bytes, int) or codes_chunk_bytes < 1:
        raise TascodecError(f"codes_chunk_bytes must be a positive int, got {codes_chunk_bytes!r}")
    if content.decode_kind in KIND_SINCE:  # a kind of format 2.x: a one-group 2.x archive
        return _write_one_group(content, path, overwrite=overwrite, code_dtype=code_dtype,
                              compression_level=compression_level,
                              codes_chunk_bytes=codes_chunk_bytes, decoder_dtype=decoder_dtype)
    return write_v1(
        content,
        path,
        overwrite=overwrite,
        code_dtype=code_dtype,
        compression_level=compression_level,
        codes_chunk_bytes=codes_chunk_bytes,
        decoder_dtype=decoder_dtype,
        format_version=format_version,
    )


def _write_one_group(content: ArchiveContent, path: str | Path, *, code_dtype: str,
                     decoder_dtype: str, **options: Any) -> Path:
    """``content`` of a decode kind of format 2.x (``content.KINDS``: its ``since``) as one
    group of an archive of that version."""

    if content.decoder is None:
        raise TascodecError(f"{path}: decode_kind {content.decode_kind!r} needs a decoder")
    classes = list(range(len(content.class_names)))
    grouped = GroupedContent(
        class_names=list(content.class_names), splits=dict(content.splits),
        feature_dim=content.feature_dim,
        decoders=[StoredDecoder(content.decoder, classes, decoder_dtype)],
        groups=[CodeGroup(replace(content, stats={}), 0, code_dtype)],
        stats=dict(content.stats))
    return write_grouped(grouped, path, **options)
