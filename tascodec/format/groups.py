"""Decoder groups of an opened archive: what ``Archive.groups`` lists and what decodes a group.

Shapes: V videos, S_v segments of a video, A archive classes, A_j classes of decoder j.

Every archive is a list of groups (a 1.x archive is one): consecutive videos that share a
codes array, a codec and a decoder. ``GroupInfo`` describes one; ``GroupSource`` is the
archive-like object ``tascodec.decode`` decodes a group's videos through: its decoder, its
codes, and its segments' actions mapped from archive class ids to the decoder's class indices.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..decode.budget import Reading
from ..errors import IntegrityError

if TYPE_CHECKING:  # pragma: no cover
    from ..tca_mlp import PreparedDecoder

__all__ = ["GroupInfo", "GroupSource", "class_lookup", "group_reading"]


@dataclass(frozen=True)
class GroupInfo:
    """One decoder group: ``videos`` (names, in storage order) decoded by decoder
    ``decoder`` (an index into the archive's decoders, ``None`` without one), whose class
    index i is archive class ``classes[i]`` (``classes`` lists every archive class, in order,
    for a 1.x archive)."""

    index: int
    videos: tuple[str, ...]
    first_video: int
    codec: str
    codec_config: dict[str, Any]
    decode_kind: str
    code_dim: int
    code_dtype: str | None  # None: generated codes
    num_codes: int
    decoder: int | None
    classes: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (``tascodec info``): counts instead of the video list."""
        return {"group": self.index, "videos": len(self.videos), "codec": self.codec,
                "decode_kind": self.decode_kind, "code_dim": self.code_dim,
                "code_dtype": self.code_dtype or "generated", "codes": self.num_codes,
                "decoder": self.decoder, "classes": len(self.classes)}


def class_lookup(classes: np.ndarray | None, num_classes: int) -> np.ndarray:
    """(A,) int64: archive class id -> decoder class index, -1 where the decoder lacks it."""
    lut = np.full(num_classes, -1, dtype=np.int64)
    if classes is None:
        lut[:] = np.arange(num_classes)
    else:
        lut[classes] = np.arange(len(classes))
    return lut


def _extra(meta: Any) -> int:
    """Bytes per value a read holds besides its float32 value: the stored value before it is
    converted (none for float32) and the finiteness mask."""
    return (0 if meta.dtype == "float32" else meta.itemsize) + 1


def group_reading(layout: Any, group: int) -> Reading:
    """How decoding a video of group ``group`` reads (``decode.budget.Reading``): from the
    array metadata alone (nothing is read)."""
    gl = layout.groups[group]
    metas = [gl.codes, gl.code_scale, gl.offsets, gl.offset_scale]
    if gl.decoder is not None:
        metas += list(layout.decoders[gl.decoder].tensors.values())
    return Reading(extra=_extra(gl.codes) if gl.codes is not None else 0,
                   generated=gl.codes is None,
                   offset_extra=_extra(gl.offsets) if gl.offsets is not None else 0,
                   chunk=max((m.chunk_nbytes for m in metas if m is not None), default=0))


class GroupSource:
    """Group ``group`` of ``archive`` seen as a one-decoder archive by ``tascodec.decode``:
    ``decode_kind``, ``code_dim``, ``feature_dim``, ``codes(video)``, ``segment_offsets(video)``,
    ``decoder()``,
    ``decoder_arch()``, ``prepared_decoder()``, ``local_actions`` (archive class ids ->
    the decoder's class indices, applied by ``decode.plan.video_rows``) and ``reading`` (what
    reading its codes holds, for the decode budget: ``group_reading``)."""

    def __init__(self, archive: Any, group: int) -> None:
        self.archive = archive
        self.group = group
        self.info = archive.groups[group]
        self.path = archive.path
        self.decode_limit = archive.decode_limit
        self.decode_kind = self.info.decode_kind
        self.version = archive._layout.version  # (major, minor), parsed by format.version
        self.code_dim = self.info.code_dim
        self.feature_dim = archive.feature_dim
        dec = self.info.decoder
        self._lut = (class_lookup(archive._layout.decoders[dec].classes, len(archive.class_names))
                     if dec is not None else None)
        self.reading = group_reading(archive._layout, group)

    @property
    def table(self) -> Any:
        return self.archive.table

    def video_index(self, video: str | int) -> int:
        index = self.archive.video_index(video)
        if self.archive.group_of(index) != self.group:
            raise IntegrityError(f"{self.path}: video {video!r} is not in group {self.group}")
        return index

    def codes(self, video: str | int) -> np.ndarray:
        return self.archive.codes(video)

    def segment_offsets(self, video: str | int) -> np.ndarray | None:
        return self.archive.segment_offsets(video)

    def decoder(self) -> Any:
        return self.archive.decoder(group=self.group)

    def decoder_arch(self) -> dict[str, Any] | None:
        return self.archive.decoder_arch(group=self.group)

    def prepared_decoder(self) -> "PreparedDecoder | None":
        return self.archive.prepared_decoder(group=self.group)

    def local_actions(self, action: np.ndarray) -> np.ndarray:
        """(S_v,) archive class ids -> the group decoder's class indices."""
        if self._lut is None:
            return action
        local = self._lut[action]
        if (local < 0).any():  # the reader checks this at open; kept for other callers
            raise IntegrityError(f"{self.path}: group {self.group} has a segment whose class "
                                 "its decoder does not know")
        return local
