"""Decoder groups of an opened archive: what ``Archive.groups`` lists and what decodes a group.

Shapes: V videos, S_v segments of a video, A archive classes, A_j classes of decoder j.

Every archive is a list of groups (a 1.x archive is one): consecutive videos that share a
codes array, a codec and a decoder. ``GroupInfo`` describes one; ``GroupSource`` is what
``tascodec.decode`` decodes a group's videos through: the group's decode facts, resolved once,
its decoder, and a video's ``decode.view.VideoView`` (its codes, and its segments' actions
mapped from archive class ids to the decoder's class indices).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..decode.budget import Reading
from ..decode.plan import check_decodable
from ..decode.view import VideoView, decoder_size
from ..errors import IntegrityError
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
    """Group ``group`` of ``archive`` as ``tascodec.decode`` decodes it: what the group's videos
    share, resolved once per archive (``decode_kind``, ``version``, ``code_dim``,
    ``feature_dim``, ``arch`` the header's decoder description, ``reading`` what reading its
    codes holds for the decode budget: ``group_reading``), the class indices of its decoder
    (``local_actions``: archive class ids -> the decoder's), its decoder (``decoder()``,
    ``decoder_arch()``, ``prepared_decoder()``, folded once) and a video's
    ``decode.view.VideoView`` (``video_view``; ``decode_view`` for a video named by the
    caller). It reads through the archive's ``_layout``, ``_group_rows``, ``_offset_rows`` and
    ``_spans``."""

    def __init__(self, archive: Any, group: int) -> None:
        self.archive = archive
        self.group = group
        self.info = archive.groups[group]
        self.path = archive.path
        self.decode_kind = self.info.decode_kind
        self.version = archive._layout.version  # (major, minor), parsed by format.version
        self.code_dim = self.info.code_dim
        self.feature_dim = archive.feature_dim
        self.arch = archive.decoder_arch(group=group)  # the header's; None: no decoder
        dec = self.info.decoder
        self._lut = (class_lookup(archive._layout.decoders[dec].classes, len(archive.class_names))
                     if dec is not None else None)
        self.reading = group_reading(archive._layout, group)
        self._size: tuple[int, int] | None = None  # (H, decoder floats), once decodable
        self._prepared: PreparedDecoder | None = None

    @property
    def decode_limit(self) -> Any:
        return self.archive.decode_limit

    def video_index(self, video: str | int) -> int:
        index = self.archive.video_index(video)
        if self.archive.group_of(index) != self.group:
            raise IntegrityError(f"{self.path}: video {video!r} is not in group {self.group}")
        return index

    def decode_view(self, video: str | int) -> VideoView:
        """``video`` (of this group, else ``IntegrityError``) as ``tascodec.decode`` reads it."""
        segs, rows = self.archive._spans(self.video_index(video))
        return self.video_view(video, segs, rows)

    def video_view(self, video: str | int, segs: slice, rows: slice) -> VideoView:
        """The ``decode.view.VideoView`` of the group's video whose segments are the table's
        rows ``segs`` and whose codes are the archive's rows ``rows``; ``UnknownCodecError``
        (``decode.plan.check_decodable``) when the group's frames cannot be decoded here."""
        spec = check_decodable(self.path, self.decode_kind, self.version, self.arch or {})
        if self._size is None:
            self._size = decoder_size(self.arch if spec.uses_decoder else None)
        ar, g = self.archive, self.group
        t = ar._layout.table
        return VideoView(
            video, str(self.path), self.decode_kind, spec, self.local_actions(t.seg_action[segs]),
            t.seg_length[segs], t.seg_num_instances[segs], self.code_dim, self.feature_dim,
            *self._size, ar.decode_limit, self.reading,
            partial(ar._group_rows, g, rows.start, rows.stop),
            self.prepared_decoder if spec.uses_decoder else None,
            partial(ar._offset_rows, g, segs.start, segs.stop) if spec.stores_offsets else None)

    def decoder(self) -> Any:
        return self.archive.decoder(group=self.group)

    def decoder_arch(self) -> dict[str, Any] | None:
        return dict(self.arch) if self.arch is not None else None

    def prepared_decoder(self) -> "PreparedDecoder | None":
        if self._prepared is None:
            self._prepared = self.archive.prepared_decoder(group=self.group)
        return self._prepared

    def local_actions(self, action: np.ndarray) -> np.ndarray:
        """(S_v,) archive class ids -> the group decoder's class indices."""
        if self._lut is None:
            return action
        local = self._lut[action]
        if (local < 0).any():  # the reader checks this at open; kept for other callers
            raise IntegrityError(f"{self.path}: group {self.group} has a segment whose class "
                                 "its decoder does not know")
        return local
