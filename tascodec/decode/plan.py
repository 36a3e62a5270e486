"""What every decoder shares (NumPy only): table checks, instances, coherence, archive access.

Shapes: S segments, N codes (instances), d code width, T frames.

Decoding rules (normative, see ``spec/``): segment ``s`` has action ``a``, length ``l`` and
``K_eff`` instances; instance ``k`` covers segment frames ``[floor(k l / K_eff),
floor((k + 1) l / K_eff))``; frame ``i`` of a segment has coherence ``c_i = i / (l - 1)`` (0
when ``l == 1``), computed in float64 and cast to float32.

An *archive* here is anything with ``table`` (a ``SegmentTable``), ``decode_kind``,
``codes(video)`` and ``decoder()``; ``format.Archive`` also owns its video index
(``video_index``) and its folded decoder (``prepared_decoder``), which are used when present,
and its decoder groups (``group_of``, ``group_source``): a video is decoded through its
group's view (``decode_source``), whose ``local_actions`` maps archive class ids to its
decoder's class indices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..content import DECODE_KINDS, KINDS, MLP, decode_kind_spec
from ..errors import TascodecError, UnknownCodecError
from ..segments import instance_lengths, segment_coherence
from ..tca_mlp import ARCH_NAME, PreparedDecoder, prepare_decoder, tensor_shapes
from .budget import DecodePlan, plan_decode

__all__ = [
    "NUMPY_DEVICES",
    "check_table",
    "check_codes",
    "check_offsets",
    "add_offsets",
    "video_offsets",
    "instances",
    "video_rows",
    "archive_decoder",
    "check_decodable",
    "video_plan",
    "decode_source",
]

#: ``device`` values that select the NumPy decoder; any other value (``"cuda"``, ``"cuda:1"``,
#: ``"cpu-torch"`` = torch on the CPU, a ``torch.device``) selects the torch decoder.
NUMPY_DEVICES = (None, "cpu", "numpy")


def check_table(
    kind: str, codes: Any, seg_action: Any, seg_length: Any, seg_num_instances: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(codes (N, d) float32, action, length, k_eff (S,) int64)``, checked against each other."""
    if kind not in DECODE_KINDS:
        raise TascodecError(f"decode_kind: expected one of {DECODE_KINDS}, got {kind!r}")
    action = np.asarray(seg_action, dtype=np.int64).reshape(-1)
    length = np.asarray(seg_length, dtype=np.int64).reshape(-1)
    k_eff = np.asarray(seg_num_instances, dtype=np.int64).reshape(-1)
    if not action.shape == length.shape == k_eff.shape:
        raise TascodecError(
            f"seg_action {action.shape}, seg_length {length.shape} and seg_num_instances "
            f"{k_eff.shape} must have the same shape (S,)"
        )
    if (length < 1).any():
        raise TascodecError("seg_length: every segment needs at least one frame")
    if (k_eff < 1).any() or (k_eff > length).any():
        raise TascodecError("seg_num_instances: must be in [1, seg_length] for every segment")
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[0] != int(k_eff.sum()):
        raise TascodecError(
            f"codes: expected shape ({int(k_eff.sum())}, code_dim) (one row per instance), "
            f"got {codes.shape}"
        )
    return np.ascontiguousarray(codes, dtype=np.float32), action, length, k_eff


def check_codes(decoder: Any, codes: np.ndarray, action: np.ndarray) -> PreparedDecoder:
    """The folded ``mlp`` decoder, checked against the codes' width and the actions."""
    if decoder is None:
        raise TascodecError(f"decoder: decode_kind {MLP!r} needs a decoder checkpoint, got None")
    prep = prepare_decoder(decoder)
    if codes.shape[1] != prep.latent_dim:
        raise TascodecError(
            f"codes: code_dim {codes.shape[1]} does not match the decoder's latent_dim "
            f"{prep.latent_dim}"
        )
    if action.size and (action.min() < 0 or action.max() >= prep.num_classes):
        raise TascodecError(
            f"seg_action: values must be in [0, {prep.num_classes}), got "
            f"[{action.min()}, {action.max()}]"
        )
    return prep


def check_offsets(kind: str, offsets: Any, num_segments: int, feature_dim: int
                  ) -> np.ndarray | None:
    """``offsets`` (S, D) float32 for a kind that stores offsets (``content.MLP_OFFSET``),
    checked; ``None`` for other kinds."""
    spec = KINDS.get(kind)
    if spec is None or not spec.stores_offsets:
        return None
    if offsets is None:
        raise TascodecError(f"segment_offsets: decode_kind {kind!r} needs one offset per "
                            "segment, got None")
    offsets = np.asarray(offsets)
    if offsets.shape != (num_segments, feature_dim):
        raise TascodecError(f"segment_offsets: expected shape ({num_segments}, {feature_dim}) "
                            f"(one row per segment), got {offsets.shape}")
    return np.ascontiguousarray(offsets, dtype=np.float32)


def add_offsets(out: np.ndarray, offsets: np.ndarray | None, length: np.ndarray) -> np.ndarray:
    """``out`` (T, D) with each segment's offset row added to its frames (in place)."""
    if offsets is not None:
        out += np.repeat(offsets, length, axis=0)
    return out


def instances(length: np.ndarray, k_eff: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per instance (N,): segment, length, first frame; per frame (T,): coherence c float32."""
    inst_len = instance_lengths(length, k_eff)
    start = np.concatenate(([0], np.cumsum(inst_len)[:-1])).astype(np.int64)
    return np.repeat(np.arange(length.size), k_eff), inst_len, start, segment_coherence(length)


def video_rows(archive: Any, video: str | int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(seg_action, seg_length, seg_num_instances)`` of one video from ``archive.table``."""
    table = archive.table
    index_of = getattr(archive, "video_index", None)
    if callable(index_of):
        index = index_of(video)
    elif video in table.video_names:
        index = table.video_names.index(video)
    else:
        where = getattr(archive, "path", "archive")
        raise TascodecError(f"{where}: no video named {video!r} ({len(table.video_names)} stored)")
    sl = table.video_slice(index)
    action = table.seg_action[sl]
    local = getattr(archive, "local_actions", None)  # a decoder group: its own class indices
    if callable(local):
        action = local(action)
    return action, table.seg_length[sl], table.seg_num_instances[sl]


def video_offsets(archive: Any, video: str | int) -> np.ndarray | None:
    """The video's segment offsets (S_v, D) float32 for a kind that stores offsets
    (``content.MLP_OFFSET``), else ``None``."""
    spec = KINDS.get(archive.decode_kind)
    if spec is None or not spec.stores_offsets:
        return None
    return archive.segment_offsets(video)


def decode_source(archive: Any, video: str | int) -> Any:
    """What decodes ``video``: its decoder group (``format.Archive.group_source``: the
    group's codes, decoder and class indices) when the archive has groups, else the archive."""
    group_of = getattr(archive, "group_of", None)
    if callable(group_of):
        return archive.group_source(group_of(video))
    return archive


def archive_decoder(archive: Any) -> PreparedDecoder | None:
    """The archive's folded decoder (``None`` for ``repeat``), held by the archive.

    ``format.Archive.prepared_decoder()`` folds once per archive; another archive-like object
    keeps the folded decoder as its attribute ``_prepared_decoder``.
    """
    spec = KINDS.get(archive.decode_kind)
    if spec is None or not spec.uses_decoder:
        return None
    own = getattr(archive, "prepared_decoder", None)
    if callable(own):
        return own()
    held = vars(archive).get("_prepared_decoder")
    if held is None:
        ckpt = archive.decoder()
        held = prepare_decoder(ckpt) if ckpt is not None else None
        archive._prepared_decoder = held
    return held


def check_decodable(archive: Any) -> None:
    """Raise ``UnknownCodecError`` when this reader cannot decode the archive's frames.

    Every reader (``Archive.decode``, ``TaszDataset``, ``export``, ``tascodec decode``) runs
    this through ``decode_video``: the decode kind must be known and an ``mlp`` decoder must be
    a ``tca-mlp``. Tables and codes stay readable either way.
    """
    where = getattr(archive, "path", "archive")
    kind = archive.decode_kind
    if kind not in DECODE_KINDS:
        raise UnknownCodecError(
            f"{where}: decode_kind {kind!r} is unknown to this reader "
            f"(known: {', '.join(DECODE_KINDS)}); tables and codes are still readable"
        )
    spec, version = decode_kind_spec(kind), getattr(archive, "version", None)
    since = spec.since  # the format version that added the kind
    if since is not None and version is not None and version[0] < since[0]:
        raise UnknownCodecError(
            f"{where}: decode_kind {kind!r} came with format {since[0]}.{since[1]}; a "
            f"{version[0]}.{version[1]} archive cannot hold it, so it is unknown here; tables "
            "and codes are still readable"
        )
    arch_of = getattr(archive, "decoder_arch", None)
    if spec.uses_decoder and callable(arch_of):
        arch = arch_of() or {}
        if arch.get("name") != ARCH_NAME:
            raise UnknownCodecError(
                f"{where}: decoder architecture {arch.get('name')!r} is unknown to this reader"
            )


def video_plan(archive: Any, video: str | int, length: np.ndarray, k_eff: np.ndarray,
               limit: Any = None, device: Any = None) -> DecodePlan:
    """The decode budget of one video (``budget.plan_decode``), from the header and tables.

    Widths come from the archive's header (``code_dim``, ``feature_dim``, ``decoder_arch()``)
    so that nothing is read before the check; an archive-like object without them gives them
    through its decoder and codes. ``limit``: else the archive's ``decode_limit``, else the
    default (``budget.resolve_limit``). ``device``: NumPy devices or torch (temporaries differ).
    """
    kind = archive.decode_kind
    spec = KINDS.get(kind)
    uses_decoder = spec is not None and spec.uses_decoder
    arch_of = getattr(archive, "decoder_arch", None)
    arch = arch_of() if callable(arch_of) else None
    if uses_decoder and not arch:
        prep = archive_decoder(archive)
        arch = {"latent_dim": prep.latent_dim, "num_classes": prep.num_classes,
                "hidden_dim": int(prep.wz_t.shape[1]), "feature_dim": prep.feature_dim}
    d = getattr(archive, "code_dim", None)
    D = getattr(archive, "feature_dim", None)
    if d is None or D is None:
        d = int(np.shape(archive.codes(video))[1])
        D = int(arch["feature_dim"]) if uses_decoder and arch else d
    H = floats = 0
    if uses_decoder and arch:
        H = int(arch.get("hidden_dim", 0))
        floats = sum(int(np.prod(s, dtype=object)) for s in tensor_shapes(arch).values())
    if limit is None:
        limit = getattr(archive, "decode_limit", None)
    return plan_decode(kind, length, k_eff, code_dim=d, feature_dim=D, hidden_dim=H,
                       decoder_floats=floats, limit=limit,
                       where=str(getattr(archive, "path", "archive")), video=video,
                       backend="numpy" if device in NUMPY_DEVICES else "torch",
                       reading=getattr(archive, "reading", None))
