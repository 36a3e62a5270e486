"""What opening an archive reads, whatever its format version (the ``Archive``'s view of it).

Each version's reader (``v1``, ``v2`` ...) builds a ``Layout``; ``readers`` picks the reader by
the parsed version. Shapes: V videos, N codes, d code width, A_j classes of decoder j.

Every archive is seen as decoder groups (``GroupLayout``): consecutive videos sharing one
codes array, one codec and one decoder (``DecoderLayout``). A 1.x archive is one group and one
decoder (or none); a 2.0 archive lists them in its header.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..content import SegmentTable
from .arrays import ArrayMeta

__all__ = ["Layout", "GroupLayout", "DecoderLayout"]


@dataclass
class DecoderLayout:
    """One stored decoder: its header object, tensor metadata and class subset."""

    header: dict[str, Any]  # {"arch", "tensors", "dtype"?, "classes"? (2.0)}
    tensors: dict[str, ArrayMeta]
    dtype: str  # stored data type of w1, b1, w2, b2
    #: (A_j,) int64: decoder class index -> archive class id; ``None``: every class, in order
    classes: np.ndarray | None = None


@dataclass
class GroupLayout:
    """Videos ``[first_video, first_video + num_videos)`` and their code rows
    ``[first_code, first_code + num_codes)`` (global rows; the group's ``codes`` array holds
    them from its row 0), decoded by ``decoder`` (an index into ``Layout.decoders``)."""

    header: dict[str, Any]  # codec, codec_config, decode_kind, code_dim, codes, (stats)
    first_video: int
    num_videos: int
    first_code: int
    num_codes: int
    codes: ArrayMeta | None  # None for generated (random) codes
    code_scale: ArrayMeta | None
    decoder: int | None
    first_segment: int = 0  # the group's first segment row (its ``offsets`` row 0)
    offsets: ArrayMeta | None = None  # (S_g, D), decode kind content.MLP_OFFSET (2.1)
    offset_scale: ArrayMeta | None = None  # (D,) float32 for int8 offsets


@dataclass
class Layout:
    """The header, the tables and the array metadata of an opened archive."""

    header: dict[str, Any]
    version: tuple[int, int]
    table: SegmentTable
    video_first_code: np.ndarray  # (V + 1,) int64
    codes: ArrayMeta | None  # 1.x: the codes array (None for generated codes); 2.0: None
    code_scale: ArrayMeta | None
    decoder: dict[str, ArrayMeta] | None  # 1.x: the decoder's tensors; 2.0: None
    #: entry name -> digest (format >= 1.1; ``None`` for 1.0), checked on every read
    manifest: dict[str, str] | None = None
    #: digest of the root document (header and manifest): the archive's identity
    identity: str = ""
    groups: list[GroupLayout] = field(default_factory=list)
    decoders: list[DecoderLayout] = field(default_factory=list)
