"""``Archive``: a read-only, lazily decoded view of one ``.tasz`` file (NumPy only).

Opening reads the header and the segment table; codes are read per video, touching only the
chunks that hold that video's rows. The archive reopens its file in a new process (forked
DataLoader workers never share a handle) and pickles as its path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..content import ArchiveContent, DecoderCheckpoint, SegmentTable
from ..errors import IntegrityError, TascodecError
from ..rng import random_codes
from ..segments import Segments
from ..tca_mlp import PreparedDecoder, prepare_decoder
from .arrays import chunk_keys, check_chunk, read_array, read_rows
from .container import ZipReader
from .archive_layout import Layout
from .groups import GroupInfo, GroupSource
from .readers import read_layout, reader_for
from .version import GROUPS_SINCE

__all__ = ["Archive", "open_archive"]


def _dtype_of(codes: dict[str, Any]) -> str | None:
    return codes["dtype"] if codes["storage"] == "array" else None


class Archive:
    """A ``.tasz`` archive opened for reading. Shapes: T frames, n codes of a video, d code_dim.

    Use as a context manager or call :meth:`close`. Videos are named by their name (``str``)
    or their index in :attr:`videos` (``int``).
    """

    def __init__(self, path: str | os.PathLike[str], *, decode_limit: Any = None) -> None:
        self.path = Path(path)
        if decode_limit is not None:
            from ..decode.budget import resolve_limit

            resolve_limit(decode_limit)  # a bad value fails now, not at the first decode
        #: bytes (or e.g. ``"4GiB"``) a decode may use (``decode.budget``); ``None``: default
        self.decode_limit = decode_limit
        self._zr: ZipReader | None = None
        self._pid = -1
        self._open()
        assert self._zr is not None
        try:
            self._layout: Layout = read_layout(self._zr)
        except BaseException:
            self.close()
            raise
        self._format = reader_for(self._layout)
        self._index = {name: i for i, name in enumerate(self._layout.table.video_names)}
        self._decoders: dict[int, DecoderCheckpoint] = {}
        self._scales: dict[int, np.ndarray] = {}
        self._groups: list[GroupInfo] | None = None
        self._sources: dict[int, GroupSource] = {}
        self._chunk_cache: dict[tuple[str, int], np.ndarray] = {}  # the last codes chunk

    # -- file handle, per process -----------------------------------------------------------
    def _open(self) -> None:
        before = self._zr.identity if self._zr is not None else None
        self._zr = ZipReader(self.path)
        self._pid = os.getpid()
        if before is not None and self._zr.identity != before:
            raise IntegrityError(f"{self.path}: the file changed on disk since it was opened")
        layout = getattr(self, "_layout", None)
        if layout is not None:  # reopened (forked): the manifest read at open still applies
            self._zr.manifest = layout.manifest

    def _reader(self) -> ZipReader:
        if self._pid != os.getpid():  # forked: never share the parent's file handle
            self._open()
        elif self._zr is None or self._zr.closed:
            raise TascodecError(f"{self.path}: archive is closed")
        assert self._zr is not None
        return self._zr

    def close(self) -> None:
        """Close the file; later reads raise ``TascodecError``."""
        if self._zr is not None and self._pid == os.getpid():
            self._zr.close()

    @property
    def closed(self) -> bool:
        return self._zr is None or (self._zr.closed and self._pid == os.getpid())

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path), "decode_limit": self.decode_limit}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], decode_limit=state.get("decode_limit"))  # type: ignore[misc]

    def __repr__(self) -> str:
        return (
            f"Archive({str(self.path)!r}, codec={self.codec!r}, videos={len(self.videos)}, "
            f"format_version={self.format_version!r})"
        )

    # -- header ---------------------------------------------------------------------------
    @property
    def header(self) -> dict[str, Any]:
        """The header as stored (JSON values); unknown fields of newer minors included."""
        return self._layout.header

    @property
    def format_version(self) -> str:
        return str(self.header["format_version"])

    @property
    def identity(self) -> str:
        """The digest of the root document (header and, since 1.1, the entry manifest, so it
        changes with any entry): what readers pin to notice a replaced file."""
        return self._layout.identity

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """What pins this archive for readers that reopen its path: ``(identity,)`` for 1.1
        (the manifest covers every entry), ``(identity, size, mtime_ns)`` for 1.0."""
        if self._layout.manifest is not None:
            return (self.identity,)
        assert self._zr is not None
        return (self.identity, self._zr.identity[2], self._zr.identity[3])

    @property
    def library_version(self) -> str:
        return str(self.header["library_version"])

    def _common(self, key: str, mixed: Any) -> Any:
        """A group field (``codec`` ...) when every group agrees on it, else ``mixed``."""
        values = [g.header[key] for g in self._layout.groups]
        return values[0] if all(v == values[0] for v in values) else mixed

    @property
    def codec(self) -> str:
        """The codec id (``"mixed"`` when the archive's groups differ: see :attr:`groups`)."""
        return str(self._common("codec", "mixed"))

    @property
    def codec_config(self) -> dict[str, Any]:
        """The codec configuration (``{}`` when the groups differ)."""
        return dict(self._common("codec_config", {}))

    @property
    def decode_kind(self) -> str:
        """``"mlp"`` or ``"repeat"`` (``"mixed"`` when the groups differ)."""
        return str(self._common("decode_kind", "mixed"))

    @property
    def class_names(self) -> list[str]:
        return list(self.header["class_names"])

    @property
    def videos(self) -> list[str]:
        return list(self._layout.table.video_names)

    @property
    def splits(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.header["splits"].items()}

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.header["stats"])

    @property
    def code_dim(self) -> int:
        """d; the widest group's when the groups differ."""
        return max(int(g.header["code_dim"]) for g in self._layout.groups)

    @property
    def feature_dim(self) -> int:
        return int(self.header["feature_dim"])

    @property
    def num_codes(self) -> int:
        return int(self.header["num_codes"])

    @property
    def code_dtype(self) -> str | None:
        """``"float32"``, ``"float16"`` or ``"int8"``; ``None`` when codes are generated
        (``"mixed"`` when the groups differ)."""
        kinds = {_dtype_of(g.header["codes"]) for g in self._layout.groups}
        return kinds.pop() if len(kinds) == 1 else "mixed"

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
                    int(h["code_dim"]), _dtype_of(h["codes"]), g.num_codes, g.decoder,
                    tuple(int(c) for c in classes)))
            self._groups = out
        return self._groups

    @property
    def num_decoders(self) -> int:
        return len(self._layout.decoders)

    def group_of(self, video: str | int) -> int:
        """The index of the group (:attr:`groups`) that stores ``video``."""
        i = self.video_index(video)
        firsts = [g.first_video for g in self._layout.groups]
        return int(np.searchsorted(firsts, i, side="right")) - 1

    def group_source(self, group: int) -> GroupSource:
        """Group ``group`` as the one-decoder view ``tascodec.decode`` decodes through."""
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

    @property
    def table(self) -> SegmentTable:
        """The segment table of every stored video (read at open)."""
        return self._layout.table

    # -- per video, no decoding -----------------------------------------------------------
    def video_index(self, video: str | int) -> int:
        """Index of ``video`` in :attr:`videos`; ``TascodecError`` naming it if absent."""
        if isinstance(video, (int, np.integer)) and not isinstance(video, bool):
            if 0 <= int(video) < len(self._index):
                return int(video)
            raise TascodecError(
                f"{self.path}: video index {video} out of range [0, {len(self._index)})"
            )
        try:
            return self._index[video]  # type: ignore[index]
        except (KeyError, TypeError):
            raise TascodecError(f"{self.path}: no video {video!r} in this archive") from None

    def segments(self, video: str | int) -> Segments:
        """The video's segments: ``action``, ``start``, ``length``, each (S_v,) int64."""
        t = self.table
        rows = t.video_slice(self.video_index(video))
        length = t.seg_length[rows].astype(np.int64)
        start = np.concatenate(([0], np.cumsum(length)[:-1])).astype(np.int64)
        return Segments(t.seg_action[rows].astype(np.int64), start, length)

    def num_instances(self, video: str | int) -> np.ndarray:
        """Instances (codes) per segment of the video: (S_v,) int64."""
        return self.table.seg_num_instances[self.table.video_slice(self.video_index(video))].copy()

    def transcript(self, video: str | int) -> np.ndarray:
        """The ordered actions of the video's segments: (S_v,) int64."""
        return self.segments(video).action

    def labels(self, video: str | int, sample_rate: int = 1, offset: int = 0) -> np.ndarray:
        """Frame labels: (T,) int64; ``labels[offset::sample_rate]`` with those given (the
        frames :meth:`features` keeps, as standard-layout code subsamples groundTruth)."""
        from ..orientation import check_frame_args, frame_slice

        check_frame_args("DT", sample_rate, offset, where=f"{self.path}: labels")
        s = self.segments(video)
        labels = np.repeat(s.action, s.length)
        return np.ascontiguousarray(labels[frame_slice(sample_rate, offset)])

    def num_frames(self, video: str | int) -> int:
        return int(self.table.video_num_frames[self.video_index(video)])

    def code_rows(self, video: str | int) -> slice:
        """The rows of the video's codes in the archive's code matrix."""
        i = self.video_index(video)
        fc = self._layout.video_first_code
        return slice(int(fc[i]), int(fc[i + 1]))

    # -- codes and decoder ----------------------------------------------------------------
    def codes(self, video: str | int) -> np.ndarray:
        """The video's codes, dequantised: (n, d) float32 (generated for ``tca-random``)."""
        rows = self.code_rows(video)
        g = self.group_of(video)
        return self._group_rows(g, rows.start, rows.stop)

    def _group_rows(self, g: int, start: int, stop: int) -> np.ndarray:
        """Global code rows ``[start, stop)`` of group ``g``: (stop - start, d_g) float32."""
        gl = self._layout.groups[g]
        h = gl.header["codes"]
        local = start - gl.first_code  # a group's codes array (and stream) starts at its row 0
        if h["storage"] == "random":
            return random_codes(h["seed"], local, stop - start, int(gl.header["code_dim"]))
        zr, meta = self._reader(), gl.codes
        assert meta is not None
        q = read_rows(zr, meta, local, local + stop - start, cache=self._chunk_cache)
        return self._finite(self._dequantise(q, g), meta.key)

    def _finite(self, codes: np.ndarray, key: str = "codes") -> np.ndarray:
        if not np.isfinite(codes).all():  # writers refuse them; float16 may hold inf or NaN
            raise IntegrityError(f"{self.path}: array {key!r} holds NaN or infinite values")
        return codes

    def _dequantise(self, q: np.ndarray, g: int = 0) -> np.ndarray:
        if q.dtype != np.int8:
            return q.astype(np.float32)
        if g not in self._scales:
            self._scales[g] = self.code_scale(g)
        return q.astype(np.float32) * self._scales[g]

    def code_scale(self, group: int = 0) -> np.ndarray | None:
        """Group ``group``'s int8 per-channel scale (d,) float32, checked finite and
        non-negative; ``None`` when its codes are not int8."""
        meta = self._layout.groups[self._group_index(group)].code_scale
        if meta is None:
            return None
        scale = read_array(self._reader(), meta).astype(np.float32)
        if not np.isfinite(scale).all() or (scale < 0).any():
            raise IntegrityError(
                f"{self.path}: array {meta.key!r} holds negative or non-finite values"
            )
        return scale

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

    def decode(self, video: str | int, device: Any = None, *, limit: Any = None) -> np.ndarray:
        """Decoded features of ``video``: (T, D) float32, frame-major (``decode.decode_video``;
        :meth:`features` gives the standard layout's (D, T)).

        ``limit``: the decode budget in bytes (default: the archive's ``decode_limit``, else
        ``$TASCODEC_DECODE_LIMIT``, else ``min(8 GiB, half the RAM)``); a decode needing more
        raises ``DecodeBudgetError`` before allocating.
        """
        from ..decode import decode_video

        return decode_video(self, video, device=device, limit=limit)

    def features(self, video: str | int, layout: str = "DT", sample_rate: int = 1,
                 offset: int = 0, *, device: Any = None, limit: Any = None) -> np.ndarray:
        """Decoded features as the standard layout holds them, C-contiguous float32: for
        ``"DT"`` (D, T') what ``np.load(features/<video>.npy)[:, offset::sample_rate]`` gives
        for the decoded video, for ``"TD"`` its transpose (T', D). The orientation rule is
        ``tascodec.orientation``'s; ``decode`` is the frame-major (T, D) call."""
        from ..orientation import check_frame_args, subsample

        check_frame_args(layout, sample_rate, offset, where=f"{self.path}: features")
        return subsample(self.decode(video, device, limit=limit), layout, sample_rate, offset)

    def to_content(self) -> ArchiveContent:
        """Everything in the archive as an ``ArchiveContent`` (codes dequantised, float32).

        One-group archives only (``TascodecError`` otherwise: see ``tascodec.grow``)."""
        h = self.header
        if len(self._layout.groups) != 1 or self._layout.version >= GROUPS_SINCE:
            raise TascodecError(f"{self.path}: a {self.format_version} archive of "
                                f"{len(self._layout.groups)} groups is not one ArchiveContent")
        return ArchiveContent(
            codec=self.codec,
            codec_config=self.codec_config,
            decode_kind=self.decode_kind,  # type: ignore[arg-type]
            class_names=self.class_names,
            splits=self.splits,
            table=self.table,
            codes=self.all_codes(),
            code_dim=self.code_dim,
            feature_dim=self.feature_dim,
            decoder=self.decoder(),
            stats=dict(h["stats"]),
        )

    content = to_content

    # -- sizes and integrity --------------------------------------------------------------
    def sizes(self) -> dict[str, int]:
        """Bytes by part: ``codes`` (+ scale), ``tables``, ``decoder``, ``overhead``, ``total``."""
        zr = self._reader()
        out = {"codes": 0, "tables": 0, "decoder": 0}
        for name in zr.names:
            if name.endswith("zarr.json") or "/c/" not in name:
                continue
            top = name.split("/", 1)[0]
            part = self._format.PARTS.get(top)
            if part is not None:
                out[part] += zr.entry_size(name)
        total = zr.file_size
        out["overhead"] = total - sum(out.values())
        out["total"] = total
        return out

    def verify(self, *, progress: bool = False) -> list[str]:
        """Read every chunk of every array and check every checksum; returns the problems."""
        from tqdm.auto import tqdm

        problems: list[str] = []
        zr = self._reader()
        for name in zr.names:  # ZIP CRC-32 of every entry, metadata included
            try:
                zr.read(name)
            except TascodecError as exc:
                problems.append(str(exc))
        try:
            metas = self._format.array_metas(zr, self._layout)
        except TascodecError as exc:
            return problems + [str(exc)]
        jobs = [(m, i) for m in metas for i in range(m.num_chunks)]
        for meta, i in tqdm(jobs, desc="verify", unit="chunk", disable=not progress):
            try:
                check_chunk(zr, meta, i)
            except TascodecError as exc:
                problems.append(str(exc))
        expected = {k for m in metas for k in chunk_keys(m)}
        for name in zr.names:
            top = name.split("/", 1)[0]
            if (
                "/c/" in name
                and top in self._format.PARTS
                and name not in expected
            ):
                problems.append(f"{self.path}: unexpected chunk entry {name!r}")
        for g in range(len(self._layout.groups)):
            try:
                self.code_scale(g)
            except TascodecError as exc:
                problems.append(str(exc))
        return problems


def open_archive(path: str | os.PathLike[str], *, decode_limit: Any = None) -> Archive:
    """Open a ``.tasz`` archive for reading (header and tables are read and checked now).

    ``decode_limit``: the decode budget of this archive's decodes (``Archive.decode``).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TascodecError(f"open_archive: path must be a str or path, got {type(path).__name__}")
    return Archive(path, decode_limit=decode_limit)
