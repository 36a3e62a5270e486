"""In-memory content of an archive: what a codec produces, the writer stores and the reader returns.

These are plain containers of NumPy arrays (no torch), shared by ``codecs/``, ``format/`` and
``decode``. Shapes: V videos, S segments, N codes (instances), d code width, D feature width,
H decoder hidden width, A classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from .errors import TascodecError, UnknownCodecError
from .segments import labels_to_segments, num_instances

__all__ = ["DecoderCheckpoint", "SegmentTable", "ArchiveContent", "MLP", "REPEAT", "MLP_OFFSET",
           "MLP_LERP", "MLP_LERP_VIDEO", "DecodeKind", "DecodeKindSpec", "KINDS", "decode_kind_spec",
           "DECODE_KINDS", "MLP_KINDS", "KIND_SINCE", "StoredDecoder", "CodeGroup",
           "GroupedContent"]

#: How codes become frames (see ``tascodec.decode``); ``KINDS`` below is the one place a kind
#: is declared, other kinds are unknown to this reader.
MLP = "mlp"  #: through the ``tca-mlp`` decoder, each instance's code held over its frames
REPEAT = "repeat"  #: each code repeated over its instance's frames (code_dim == D)
MLP_OFFSET = "mlp+offset"  #: ``"mlp"`` plus a stored offset per segment (format 2.1)
#: ``"mlp"`` with each frame's code interpolated linearly between the codes of the instances
#: around it (``segments.lerp_weights``; format 2.2)
MLP_LERP = "mlp+lerp"
#: ``MLP_LERP`` over the video's whole timeline: between the centres of consecutive instances
#: whatever segment each belongs to, so no step marks where a segment ends (format 2.3)
MLP_LERP_VIDEO = "mlp+lerp-video"
DecodeKind = Literal["mlp", "repeat", "mlp+offset", "mlp+lerp", "mlp+lerp-video"]


@dataclass(frozen=True)
class DecodeKindSpec:
    """What a decode kind is: ``since`` the format version that added it (``None``: 1.0; a
    writer writes at least that version, ``format.version.version_for_kinds``, and in an
    archive of an older major the kind is unknown: opened, tables and codes read, frames
    refused), ``uses_decoder`` decoded through a ``tca-mlp`` decoder (else each code is
    repeated over its instance's frames, code_dim == D), ``stores_offsets`` a stored offset row
    per segment added to its frames (``ArchiveContent.segment_offsets``), ``interpolates``
    each frame's code interpolated between the instances around it, ``across_segments`` those
    of the whole video rather than of its segment (``segments.lerp_weights``)."""

    name: str
    since: tuple[int, int] | None
    uses_decoder: bool
    stores_offsets: bool
    interpolates: bool
    across_segments: bool = False


#: every decode kind this library knows, by name: a new kind is one entry
KINDS: dict[str, DecodeKindSpec] = {spec.name: spec for spec in (
    DecodeKindSpec(MLP, since=None, uses_decoder=True, stores_offsets=False,
                   interpolates=False),
    DecodeKindSpec(REPEAT, since=None, uses_decoder=False, stores_offsets=False,
                   interpolates=False),
    DecodeKindSpec(MLP_OFFSET, since=(2, 1), uses_decoder=True, stores_offsets=True,
                   interpolates=False),
    DecodeKindSpec(MLP_LERP, since=(2, 2), uses_decoder=True, stores_offsets=False,
                   interpolates=True),
    DecodeKindSpec(MLP_LERP_VIDEO, since=(2, 3), uses_decoder=True, stores_offsets=False,
                   interpolates=True, across_segments=True),
)}
#: the names of the known decode kinds, in table order
DECODE_KINDS = tuple(KINDS)
#: the kinds decoded through a ``tca-mlp`` decoder
MLP_KINDS = tuple(name for name, spec in KINDS.items() if spec.uses_decoder)
#: decode kinds that only a grouped archive holds, and the format version that added each
KIND_SINCE = {name: since for name, spec in KINDS.items() if (since := spec.since) is not None}


def decode_kind_spec(name: Any, *, where: str = "decode_kind") -> DecodeKindSpec:
    """The ``KINDS`` entry of ``name``; ``UnknownCodecError`` naming ``where`` and the known
    kinds for any other name (a caller that reads archives of unknown kinds uses
    ``KINDS.get``)."""
    spec = KINDS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise UnknownCodecError(f"{where}: decode kind {str(name)[:40]!r} is unknown "
                                f"(known: {', '.join(DECODE_KINDS)})")
    return spec


@dataclass
class DecoderCheckpoint:
    """A decoder as plain arrays plus an architecture description (no pickle).

    ``arch`` for the TCA decoder (``name == "tca-mlp"``)::

        {"name": "tca-mlp", "latent_dim": d, "num_classes": A, "hidden_dim": H,
         "feature_dim": D, "activation": "relu"}

    ``tensors``: ``w1`` (H, d + A + 1), ``b1`` (H,), ``w2`` (D, H), ``b2`` (D,),
    ``feature_offset`` (D,), ``feature_scale`` (D,), all float32. The decoder input of a frame
    is ``u = [z, onehot(a), c]``; output ``x = (w2 @ relu(w1 @ u + b1) + b2) * feature_scale
    + feature_offset``. ``tascodec.tca_mlp`` owns this architecture (validation, folding).

    ``prepared``: the folded form, held by the checkpoint once ``tca_mlp.prepare_decoder`` has
    built it (not part of the checkpoint's value).
    """

    arch: dict[str, Any]
    tensors: dict[str, np.ndarray]
    prepared: Any = field(default=None, init=False, repr=False, compare=False)


@dataclass
class SegmentTable:
    """Segments of every stored video, concatenated in video order.

    ``video_num_frames`` (V,), ``video_num_segments`` (V,), ``seg_action`` (S,),
    ``seg_length`` (S,), ``seg_num_instances`` (S,): all int64.
    """

    video_names: list[str]
    video_num_frames: np.ndarray
    video_num_segments: np.ndarray
    seg_action: np.ndarray
    seg_length: np.ndarray
    seg_num_instances: np.ndarray

    @classmethod
    def from_labels(
        cls, names: list[str], labels: list[np.ndarray], k: int | None
    ) -> "SegmentTable":
        """Build the table from per-video frame labels; ``k=None`` gives one instance per frame."""
        segs = [labels_to_segments(y) for y in labels]
        length = np.concatenate([s.length for s in segs]) if segs else np.zeros(0, np.int64)
        return cls(
            video_names=list(names),
            video_num_frames=np.array([len(y) for y in labels], dtype=np.int64),
            video_num_segments=np.array([len(s) for s in segs], dtype=np.int64),
            seg_action=(np.concatenate([s.action for s in segs]) if segs else length.copy()),
            seg_length=length,
            seg_num_instances=num_instances(length, k),
        )

    @property
    def num_videos(self) -> int:
        return len(self.video_names)

    @property
    def video_first_segment(self) -> np.ndarray:
        """(V + 1,) offsets into the segment arrays."""
        return np.concatenate(([0], np.cumsum(self.video_num_segments))).astype(np.int64)

    @property
    def seg_first_code(self) -> np.ndarray:
        """(S + 1,) offsets into the code rows."""
        return np.concatenate(([0], np.cumsum(self.seg_num_instances))).astype(np.int64)

    @property
    def video_first_code(self) -> np.ndarray:
        """(V + 1,) offsets into the code rows."""
        return self.seg_first_code[self.video_first_segment]

    @property
    def num_codes(self) -> int:
        return int(self.seg_num_instances.sum())

    def video_slice(self, i: int) -> slice:
        """The segment rows of video ``i``."""
        first = self.video_first_segment
        return slice(int(first[i]), int(first[i + 1]))

    def check(self) -> None:
        """Raise ``TascodecError`` if the table contradicts itself."""
        v, s = len(self.video_names), self.seg_action.shape[0]
        if len(set(self.video_names)) != v:
            raise TascodecError("segment table: duplicate video names")
        for name in ("video_num_frames", "video_num_segments"):
            if getattr(self, name).shape != (v,):
                raise TascodecError(f"segment table: {name} must have shape ({v},)")
        for name in ("seg_length", "seg_num_instances"):
            if getattr(self, name).shape != (s,):
                raise TascodecError(f"segment table: {name} must have shape ({s},)")
        if int(self.video_num_segments.sum()) != s or (self.video_num_segments < 1).any():
            raise TascodecError("segment table: video_num_segments must be >= 1 and sum to S")
        if (self.seg_length < 1).any():
            raise TascodecError("segment table: seg_length must be >= 1")
        if (self.seg_num_instances < 1).any() or (self.seg_num_instances > self.seg_length).any():
            raise TascodecError("segment table: seg_num_instances must be in [1, seg_length]")
        sums = np.add.reduceat(self.seg_length, self.video_first_segment[:-1]) if s else []
        if v and not np.array_equal(sums, self.video_num_frames):
            raise TascodecError("segment table: segment lengths do not sum to video_num_frames")


@dataclass
class ArchiveContent:
    """Everything an archive holds, in memory.

    ``codes``: (N, code_dim) float32, one row per instance in segment order; ``None`` when the
    codec stores none (``tca-random`` draws them with ``tascodec.rng.random_codes`` from
    ``codec_config["seed"]``). ``decode_kind`` says how codes become frames: ``"mlp"`` through
    ``decoder``, ``"repeat"`` by repeating each code over its instance's frames (code_dim == D),
    ``"mlp+offset"`` as ``"mlp"`` plus ``segment_offsets`` (S, D) float32, segment s's row added
    to each of its frames (``None`` for the other kinds), ``"mlp+lerp"`` as ``"mlp"`` with each
    frame's code interpolated between the instances around it.
    ``stats``: JSON-serialisable facts about the source and the encode (sizes, MSE, timings).
    """

    codec: str
    codec_config: dict[str, Any]
    decode_kind: DecodeKind
    class_names: list[str]
    splits: dict[str, list[str]]
    table: SegmentTable
    codes: np.ndarray | None
    code_dim: int
    feature_dim: int
    decoder: DecoderCheckpoint | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    segment_offsets: np.ndarray | None = None
    #: how ``segment_offsets`` are stored, and the int8 scale (D,) to store them with (``None``:
    #: their own); an encoder that quantised them itself passes its scale, so the stored
    #: integers are the ones it decoded with
    offset_dtype: str = "int8"
    offset_scale: np.ndarray | None = None


@dataclass
class StoredDecoder:
    """One decoder of a grouped archive: ``classes[i]`` is the archive class id of the
    decoder's class index i (A_j entries, ``checkpoint.arch["num_classes"] == A_j``);
    ``dtype``: how its ``w1, b1, w2, b2`` are stored (``"float32"`` or ``"float16"``)."""

    checkpoint: DecoderCheckpoint
    classes: list[int]
    dtype: str = "float32"


@dataclass
class CodeGroup:
    """One decoder group: ``content`` holds its codec, codec_config, decode_kind, table (its
    videos; ``seg_action`` in archive class ids), codes (N_g, d_g) float32 (``None``: drawn
    from ``codec_config["seed"]``), code_dim and stats (its class_names, splits, decoder and
    feature_dim are not used). ``decoder``: an index into ``GroupedContent.decoders``.
    ``code_dtype``: how the codes are stored; ``code_scale``: the int8 scale to store them
    with (d_g,) (``None``: the codes' own), which keeps rewritten int8 codes bit-identical."""

    content: ArchiveContent
    decoder: int | None
    code_dtype: str = "float32"
    code_scale: np.ndarray | None = None


@dataclass
class GroupedContent:
    """An archive of several decoder groups (format 2.0): the archive's class names, splits,
    feature width D and stats, its decoders, and its groups in storage order."""

    class_names: list[str]
    splits: dict[str, list[str]]
    feature_dim: int
    decoders: list[StoredDecoder]
    groups: list[CodeGroup]
    stats: dict[str, Any] = field(default_factory=dict)
