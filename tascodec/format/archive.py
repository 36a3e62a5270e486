"""``Archive``: a read-only, lazily decoded view of one ``.tasz`` file (NumPy only).

Opening reads the header and the segment table; codes are read per video, touching only the
chunks that hold that video's rows. The bytes come from a local file, a URL (fsspec) or a
binary file object (``byte_source``). The archive reopens its file or URL in a new process
(forked DataLoader workers never share a handle) and pickles as its path or URL; one opened
from a file object stays in its process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..content import ArchiveContent, DecoderCheckpoint, SegmentTable
from ..dataset.orientation import check_frame_args, frame_slice, subsample
from ..decode import decode_video
from ..decode.budget import resolve_limit
from ..errors import IntegrityError, TascodecError
from ..segments import Segments
from .archive_codes import CodesAndDecoders, codes_dtype
from .archive_layout import Layout
from .byte_source import ByteSource, archive_target, is_file_object, open_source
from .container import ZipReader
from .groups import GroupInfo, GroupSource
from .readers import read_layout, reader_for
from .verify import verify_archive
from .version import GROUPS_SINCE

__all__ = ["Archive", "open_archive"]


class Archive(CodesAndDecoders):
    """A ``.tasz`` archive opened for reading. Shapes: T frames, n codes of a video, d code_dim.

    Use as a context manager or call :meth:`close`. Videos are named by their name (``str``)
    or their index in :attr:`videos` (``int``).
    """

    def __init__(self, path: Any, *, decode_limit: Any = None,
                 storage_options: dict[str, Any] | None = None) -> None:
        self._target = archive_target(path, "open_archive")
        #: the local ``Path``; for a URL the URL (``str``), for a file object its description
        self.path: Path | str = self._target if isinstance(self._target, (Path, str)) else ""
        #: options for fsspec (credentials, endpoints) when ``path`` is a URL
        self.storage_options = dict(storage_options or {})
        if decode_limit is not None:
            resolve_limit(decode_limit)  # a bad value fails now, not at the first decode
        #: bytes (or e.g. ``"4GiB"``) a decode may use (``decode.budget``); ``None``: default
        self.decode_limit = decode_limit
        self._zr: ZipReader | None = None
        self._pid = -1
        self._open()
        assert self._zr is not None
        if not self.path:
            self.path = self._zr.path
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

    # -- byte source, per process -----------------------------------------------------------
    def _open(self) -> None:
        before = self._zr
        if before is None:
            source = open_source(self._target, self.storage_options)
        else:  # a new process: the same path or URL again (a file object refuses)
            source = before.source.reopen()
        self._zr = ZipReader(source)
        self._pid = os.getpid()
        if before is not None and self._zr.identity != before.identity:
            raise IntegrityError(f"{self.path}: the file changed on disk since it was opened")
        layout = getattr(self, "_layout", None)
        if layout is not None:  # reopened (forked): the manifest read at open still applies
            self._zr.manifest = layout.manifest

    @property
    def url(self) -> str | None:
        """The URL the archive was opened from, or ``None`` (a local file, a file object)."""
        return self._target if isinstance(self._target, str) else None

    @property
    def source(self) -> ByteSource:
        """This process's byte source (``stats``: the reads and bytes it fetched)."""
        return self._reader().source

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
        if is_file_object(self._target):
            raise TascodecError(f"{self.path}: an archive opened from a file object cannot be "
                                "pickled to another process: open it from a path or a URL")
        return {"path": str(getattr(self._target, "location", self._target)), "decode_limit": self.decode_limit,
                "storage_options": self.storage_options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], decode_limit=state.get("decode_limit"),  # type: ignore[misc]
                      storage_options=state.get("storage_options"))

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
        (the manifest covers every entry), ``(identity, size, mtime_ns)`` for 1.0 (a URL:
        ``(identity, size, ETag or modification time)``)."""
        if self._layout.manifest is not None:
            return (self.identity,)
        assert self._zr is not None
        return (self.identity, *self._zr.source.version)

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
        """The decode kind (one of ``content.DECODE_KINDS``, or a kind unknown to this reader;
        ``"mixed"`` when the groups differ)."""
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
        kinds = {codes_dtype(g.header["codes"]) for g in self._layout.groups}
        return kinds.pop() if len(kinds) == 1 else "mixed"

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

    def decode(self, video: str | int, device: Any = None, *, limit: Any = None) -> np.ndarray:
        """Decoded features of ``video``: (T, D) float32, frame-major (``decode.decode_video``;
        :meth:`features` gives the standard layout's (D, T)).

        ``limit``: the decode budget in bytes (default: the archive's ``decode_limit``, else
        ``$TASCODEC_DECODE_LIMIT``, else ``min(8 GiB, half the RAM)``); a decode needing more
        raises ``DecodeBudgetError`` before allocating.
        """

        return decode_video(self, video, device=device, limit=limit)

    def features(self, video: str | int, layout: str = "DT", sample_rate: int = 1,
                 offset: int = 0, *, device: Any = None, limit: Any = None) -> np.ndarray:
        """Decoded features as the standard layout holds them, C-contiguous float32: for
        ``"DT"`` (D, T') what ``np.load(features/<video>.npy)[:, offset::sample_rate]`` gives
        for the decoded video, for ``"TD"`` its transpose (T', D). The orientation rule is
        ``tascodec.dataset.orientation``'s; ``decode`` is the frame-major (T, D) call."""

        check_frame_args(layout, sample_rate, offset, where=f"{self.path}: features")
        return subsample(self.decode(video, device, limit=limit), layout, sample_rate, offset)

    def to_content(self) -> ArchiveContent:
        """Everything in the archive as an ``ArchiveContent`` (codes dequantised, float32).

        One-group archives only (``TascodecError`` otherwise: see ``tascodec.encoding.grow``)."""
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
        """Read every chunk of every array and check every checksum; returns the problems
        (``verify.verify_archive``; every group's int8 code scale too)."""
        return verify_archive(self._reader(), self._format, self._layout,
                              check_scale=self._check_scales, progress=progress)

    def _check_scales(self) -> None:
        for g in range(len(self._layout.groups)):
            self.code_scale(g)
            self.offset_scale(g)


def open_archive(path: Any, *, decode_limit: Any = None,
                 storage_options: dict[str, Any] | None = None) -> Archive:
    """Open a ``.tasz`` archive for reading (header and tables are read and checked now).

    ``path``: a local path; a URL that fsspec opens (``https://`` from a server that honours
    range requests, ``s3://``, ``gs://``, ``hf://datasets/...``, ``memory://``; needs
    ``pip install 'tascodec[remote]'``); or a binary, seekable file object (``io.BytesIO``,
    ``open(p, "rb")``), which stays the caller's and stays in this process. Opening a URL costs
    a few range requests; a video's decode fetches only its chunks. ``storage_options`` go
    to fsspec. ``decode_limit``: the decode budget of this archive's decodes (``Archive.decode``).
    """
    return Archive(path, decode_limit=decode_limit, storage_options=storage_options)
