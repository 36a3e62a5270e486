"""The codes, decoders and decoder groups of an open archive, and a video as ``tascodec.decode``
reads it (``decode_view``): a mixin of ``Archive``.

Kept apart from ``archive.py`` (file handle, header, per-video tables) so that each stays
short. It reads through what ``Archive`` sets up: ``_layout`` (``archive_layout.Layout``),
``_format`` (the version's reader module), ``_reader()``, ``path`` and the per-archive caches
``_chunk_cache``, ``_scales``, ``_decoders``, ``_sources`` and ``_groups``.
Shapes: n codes of a video, d code width, N_g codes of group g.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..content import DecoderCheckpoint
from ..decode.view import VideoView
from ..errors import IntegrityError, TascodecError
from ..rng import random_codes
from ..tca_mlp import PreparedDecoder, prepare_decoder
from .arrays import read_array, read_rows
from .groups import GroupInfo, GroupSource

__all__ = ["CodesAndDecoders", "codes_dtype"]


def codes_dtype(codes: dict[str, Any]) -> str | None:
    """The stored dtype of a ``codes`` header entry (``None``: generated codes)."""
    return codes["dtype"] if codes["storage"] == "array" else None


class CodesAndDecoders:
    """Codes (dequantised, checked finite), decoder checkpoints and groups of ``Archive``."""

    _layout: Any
    _format: Any
    path: Any

    # -- decoder groups -------------------------------------------------------------------
    @property
    def groups(self) -> list[GroupInfo]:
        """The decoder groups (one for a 1.x archive), in storage order."""
        if self._groups is None:
            names, out = self.videos, []
            for i, g in enumerate(self._layout.groups):
                dl = self._layout.decoders[g.decoder] if g.decoder is not None else None
                classes = (range(len(self.class_names)) if dl is None or dl.classes is None
                           else dl.classes.tolist())
                h = g.header
                out.append(GroupInfo(
                    i, tuple(names[g.first_video:g.first_video + g.num_videos]), g.first_video,
                    str(h["codec"]), dict(h["codec_config"]), str(h["decode_kind"]),
                    int(h["code_dim"]), codes_dtype(h["codes"]), g.num_codes, g.decoder,
                    tuple(int(c) for c in classes)))
            self._groups = out
        return self._groups

    @property
    def num_decoders(self) -> int:
        return len(self._layout.decoders)

    def group_of(self, video: str | int) -> int:
        """The index of the group (:attr:`groups`) that stores ``video``."""
        return self._group_at(self.video_index(video))

    def _group_at(self, i: int) -> int:
        """The group of video index ``i``."""
        firsts = self.__dict__.get("_group_firsts")
        if firsts is None:  # once per archive: O(log G) per call, not O(G)
            firsts = np.array([g.first_video for g in self._layout.groups], dtype=np.int64)
            self._group_firsts = firsts
        return int(np.searchsorted(firsts, i, side="right")) - 1

    def _spans(self, i: int) -> tuple[slice, slice]:
        """Video index ``i``'s rows: its segments' in the table, its codes' in the archive."""
        first = self.__dict__.get("_first_segment")
        if first is None:  # once per archive, not a cumulative sum per video
            first = self._first_segment = self._layout.table.video_first_segment
        code = self._layout.video_first_code
        return slice(int(first[i]), int(first[i + 1])), slice(int(code[i]), int(code[i + 1]))

    def decode_view(self, video: str | int) -> VideoView:
        """``video`` resolved once for ``tascodec.decode`` (``decode.view.VideoView``: one
        :meth:`video_index`, then its group's ``GroupSource.video_view``)."""
        i = self.video_index(video)
        segs, rows = self._spans(i)
        return self.group_source(self._group_at(i)).video_view(video, segs, rows)

    def group_source(self, group: int) -> GroupSource:
        """Group ``group`` as ``tascodec.decode`` decodes it (``groups.GroupSource``: what its
        videos share, resolved once per archive)."""
        self._group_index(group)
        if group not in self._sources:
            self._sources[group] = GroupSource(self, group)
        return self._sources[group]

    def _group_index(self, group: Any) -> int:
        n = len(self._layout.groups)
        if isinstance(group, bool) or not isinstance(group, (int, np.integer)) or not (
                0 <= group < n):
            raise TascodecError(f"{self.path}: group must be an index in [0, {n}), got {group!r}")
        return int(group)


    # -- codes and decoder ----------------------------------------------------------------
    def codes(self, video: str | int) -> np.ndarray:
        """The video's codes, dequantised: (n, d) float32 (generated for ``tca-random``)."""
        i = self.video_index(video)
        rows = self._spans(i)[1]
        return self._group_rows(self._group_at(i), rows.start, rows.stop)

    def _group_rows(self, g: int, start: int, stop: int) -> np.ndarray:
        """Global code rows ``[start, stop)`` of group ``g``: (stop - start, d_g) float32."""
        gl = self._layout.groups[g]
        h = gl.header["codes"]
        local = start - gl.first_code  # a group's codes array (and stream) starts at its row 0
        if h["storage"] == "random":
            return random_codes(h["seed"], local, stop - start, int(gl.header["code_dim"]))
        zr, meta = self._reader(), gl.codes
        assert meta is not None
        also = [gl.code_scale] if gl.code_scale is not None and g not in self._scales else []
        q = read_rows(zr, meta, local, local + stop - start, cache=self._chunk_cache,
                      also=also)  # remote: the scale in the same request
        return self._finite(self._dequantise(q, g), meta.key)

    def _finite(self, codes: np.ndarray, key: str = "codes") -> np.ndarray:
        if not np.isfinite(codes).all():  # writers refuse them; float16 may hold inf or NaN
            raise IntegrityError(f"{self.path}: array {key!r} holds NaN or infinite values")
        return codes

    def _dequantise(self, q: np.ndarray, g: int = 0) -> np.ndarray:
        if q.dtype != np.int8:
            return q.astype(np.float32, copy=False)  # float32 rows are not copied again
        if g not in self._scales:
            self._scales[g] = self.code_scale(g)
        out = q.astype(np.float32)
        out *= self._scales[g]  # in place: one float32 copy of the codes, not two
        return out

    def code_scale(self, group: int = 0) -> np.ndarray | None:
        """Group ``group``'s int8 per-channel scale (d,) float32, checked finite and
        non-negative; ``None`` when its codes are not int8."""
        meta = self._layout.groups[self._group_index(group)].code_scale
        return None if meta is None else self._read_scale(meta)

    def _read_scale(self, meta: Any) -> np.ndarray:
        """An int8 scale array, checked finite and non-negative."""
        scale = read_array(self._reader(), meta).astype(np.float32)
        if not np.isfinite(scale).all() or (scale < 0).any():
            raise IntegrityError(
                f"{self.path}: array {meta.key!r} holds negative or non-finite values"
            )
        return scale

    def segment_offsets(self, video: str | int) -> np.ndarray | None:
        """The video's segment offsets, dequantised: (S_v, D) float32 for a group whose decode
        kind stores them (``content.MLP_OFFSET``: added to each segment's frames), else
        ``None``."""
        i = self.video_index(video)
        segs = self._spans(i)[0]
        return self._offset_rows(self._group_at(i), segs.start, segs.stop)

    def _offset_rows(self, g: int, start: int, stop: int) -> np.ndarray | None:
        """Segment offsets of table rows ``[start, stop)`` of group ``g``: (stop - start, D)
        float32, or ``None`` when the group stores none."""
        gl = self._layout.groups[g]
        if gl.offsets is None:
            return None
        local = start - gl.first_segment
        key = -1 - g  # offset scales share the scale cache, under negative keys
        also = ([gl.offset_scale] if gl.offset_scale is not None and key not in self._scales
                else [])
        q = read_rows(self._reader(), gl.offsets, local, local + stop - start,
                      cache=self._chunk_cache, also=also)
        if q.dtype == np.int8:
            if key not in self._scales:
                self._scales[key] = self.offset_scale(g)
            return self._finite(q.astype(np.float32) * self._scales[key], gl.offsets.key)
        return self._finite(q.astype(np.float32), gl.offsets.key)

    def offset_scale(self, group: int = 0) -> np.ndarray | None:
        """Group ``group``'s int8 offset scale (D,) float32, checked finite and non-negative;
        ``None`` when it stores no int8 offsets."""
        meta = self._layout.groups[self._group_index(group)].offset_scale
        return None if meta is None else self._read_scale(meta)

    def group_offsets(self, group: int) -> np.ndarray | None:
        """Every segment offset of group ``group``, dequantised: (S_g, D) float32, or
        ``None`` when the group has none."""
        gl = self._layout.groups[self._group_index(group)]
        if gl.offsets is None:
            return None
        q = read_array(self._reader(), gl.offsets)
        if q.dtype == np.int8:
            return self._finite(q.astype(np.float32) * self.offset_scale(group), gl.offsets.key)
        return self._finite(q.astype(np.float32), gl.offsets.key)

    def group_codes(self, group: int) -> np.ndarray:
        """Every code of group ``group``, dequantised: (N_g, d_g) float32."""
        gl = self._layout.groups[self._group_index(group)]
        return self._group_rows(group, gl.first_code, gl.first_code + gl.num_codes)

    def all_codes(self) -> np.ndarray | None:
        """Every stored code (N, d) float32, or ``None`` when codes are generated (groups of
        one width only: ``TascodecError`` otherwise, see :meth:`group_codes`)."""
        if all(g.codes is None for g in self._layout.groups):
            return None
        if len({g.header["code_dim"] for g in self._layout.groups}) > 1:
            raise TascodecError(f"{self.path}: groups of different code widths; read them "
                                "with group_codes(group)")
        return np.concatenate([self.group_codes(i) for i in range(len(self._layout.groups))])

    def _decoder_index(self, group: int | None) -> int | None:
        if group is not None:
            return self._layout.groups[self._group_index(group)].decoder
        if len(self._layout.decoders) > 1:
            raise TascodecError(f"{self.path}: the archive holds {len(self._layout.decoders)} "
                                "decoders; pass group= (see Archive.groups)")
        return 0 if self._layout.decoders else None

    def _checkpoint(self, group: int | None = None) -> DecoderCheckpoint | None:
        j = self._decoder_index(group)
        if j is None:
            return None
        if j not in self._decoders:
            self._decoders[j] = self._format.read_decoder(self._reader(), self._layout, j)
        return self._decoders[j]

    def decoder(self, group: int | None = None) -> DecoderCheckpoint | None:
        """A copy of the decoder checkpoint of group ``group`` (default: the archive's only
        decoder; ``TascodecError`` when it holds several), read once, or ``None``."""
        ckpt = self._checkpoint(group)
        if ckpt is None:
            return None
        return DecoderCheckpoint(dict(ckpt.arch), dict(ckpt.tensors))

    def decoder_arch(self, group: int | None = None) -> dict[str, Any] | None:
        """The decoder's architecture description from the header (no tensor read)."""
        j = self._decoder_index(group)
        return dict(self._layout.decoders[j].header["arch"]) if j is not None else None

    def prepared_decoder(self, group: int | None = None) -> PreparedDecoder | None:
        """The ``tca-mlp`` decoder folded for decoding, once per decoder (``None`` if none)."""
        ckpt = self._checkpoint(group)
        return prepare_decoder(ckpt) if ckpt is not None else None
