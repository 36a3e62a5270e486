"""The codec base class and what every codec shares.

``Codec``: numcodecs-style configuration, CompressAI-style encode. A codec turns the frames of a
dataset's videos into an ``ArchiveContent`` (``encode``); decoding is generic
(``tascodec.decode``) and driven by the content's ``decode_kind``, so a reader needs no codec
class to decode, only the archive.

Shared helpers: ``build_table`` (the segment table of the stored videos), ``alloc_codes`` (the
code matrix, memory-mapped when large), ``make_content`` (the ``ArchiveContent``),
``check_frames`` and ``progress_bar``. Shapes: N codes, D feature width, T frames.
"""

from __future__ import annotations

import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from tqdm.auto import tqdm

from ..content import ArchiveContent, DecodeKind, SegmentTable
from ..errors import TascodecError

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["Codec", "build_table", "alloc_codes", "make_content", "check_frames", "progress_bar"]


class Codec(ABC):
    """Base class of every codec.

    Subclasses set ``codec_id`` (a stable name, stored in archives), ``decode_kind`` and
    ``encode_options``, take their parameters as keyword arguments, and implement ``encode``.
    """

    codec_id: ClassVar[str]
    decode_kind: ClassVar[DecodeKind]
    #: the codec-specific options of ``tascodec.encode`` this codec takes (names of
    #: ``tascodec.codecs.options.CODEC_OPTIONS``), each with the values it takes (``None``:
    #: any the option takes); ``encode`` refuses the others
    encode_options: ClassVar[Mapping[str, tuple[Any, ...] | None]] = {}

    def __init__(self, **params: Any) -> None:
        self.params = dict(params)

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable configuration, ``{"id": codec_id, **params}``."""
        return {"id": self.codec_id, **self.params}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Codec":
        """Rebuild a codec from ``get_config()``'s output."""
        config = dict(config)
        codec_id = config.pop("id", cls.codec_id)
        if codec_id != cls.codec_id:
            raise TascodecError(f"config id {codec_id!r} does not match codec {cls.codec_id!r}")
        return cls(**config)

    @abstractmethod
    def encode(self, source: "EncodeSource") -> "ArchiveContent":
        """Condense ``source``'s videos into archive content."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


# Code arrays larger than this live in an unlinked temporary file (memory-mapped), so a raw
# archive of a large dataset never needs its frames in RAM at once.
_MEMMAP_BYTES = 512 * 2**20


def build_table(source: "EncodeSource", k: int | None) -> SegmentTable:
    """The segment table of ``source.videos`` with ``K = k`` instances per segment."""
    table = SegmentTable.from_labels(
        source.videos, [np.asarray(source.labels(v)) for v in source.videos], k
    )
    table.check()
    return table


def alloc_codes(num_codes: int, dim: int) -> np.ndarray:
    """A writable (N, dim) float32 array; memory-mapped onto a temporary file when large."""
    if num_codes * dim * 4 <= _MEMMAP_BYTES:
        return np.empty((num_codes, dim), dtype=np.float32)
    with tempfile.TemporaryFile(prefix="tascodec-codes-") as handle:
        # The mapping outlives the (unlinked) file: it is freed with the array.
        return np.memmap(handle, dtype=np.float32, mode="w+", shape=(num_codes, dim))


def make_content(
    codec: Codec,
    source: "EncodeSource",
    table: SegmentTable,
    codes: np.ndarray | None,
    *,
    code_dim: int,
    decoder: Any = None,
    config: dict[str, Any] | None = None,
    stats: dict[str, Any] | None = None,
    decode_kind: DecodeKind | None = None,
) -> ArchiveContent:
    """Assemble an ``ArchiveContent`` for ``source`` (class names, splits, table, codes);
    ``decode_kind``: the codec's own unless given (a codec whose option picks the kind)."""
    return ArchiveContent(
        codec=codec.codec_id,
        codec_config=dict(config if config is not None else codec.get_config()),
        decode_kind=decode_kind or codec.decode_kind,
        class_names=source.class_names,
        splits={name: list(v) for name, v in source.splits.items()},
        table=table,
        codes=codes,
        code_dim=int(code_dim),
        feature_dim=source.feature_dim,
        decoder=decoder,
        stats=dict(stats or {}),
    )


def progress_bar(source: "EncodeSource", desc: str, items: Any = None):
    """``items`` (default: the source's videos) with a progress bar when the source shows one."""

    return tqdm(source.videos if items is None else items, desc=desc, unit="video",
                disable=not source.progress, leave=False)


def check_frames(x: np.ndarray, video: str, num_frames: int, dim: int) -> None:
    if x.shape != (num_frames, dim):
        raise TascodecError(
            f"video {video!r}: features have shape {x.shape} (T, D), labels need "
            f"({num_frames}, {dim})"
        )
