"""What opening an archive reads, whatever its format version (the ``Archive``'s view of it).

Each version's reader (``v1``, later ``v2`` ...) builds a ``Layout``; ``readers`` picks the
reader by the parsed version. Shapes: V videos, N codes, d code width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..content import SegmentTable
from .arrays import ArrayMeta

__all__ = ["Layout"]


@dataclass
class Layout:
    """The header, the tables and the array metadata of an opened archive."""

    header: dict[str, Any]
    version: tuple[int, int]
    table: SegmentTable
    video_first_code: np.ndarray  # (V + 1,) int64
    codes: ArrayMeta | None  # None for generated (random) codes
    code_scale: ArrayMeta | None
    decoder: dict[str, ArrayMeta] | None
    #: entry name -> digest (format >= 1.1; ``None`` for 1.0), checked on every read
    manifest: dict[str, str] | None = None
    #: digest of the root document (header and manifest): the archive's identity
    identity: str = ""
