"""What every decoder shares (NumPy only): table checks, instances, coherence, decodability,
the budget of a video.

Shapes: S segments, N codes (instances), d code width, T frames.

Decoding rules (normative, see ``spec/``): segment ``s`` has action ``a``, length ``l`` and
``K_eff`` instances; instance ``k`` covers segment frames ``[floor(k l / K_eff),
floor((k + 1) l / K_eff))``; frame ``i`` of a segment has coherence ``c_i = i / (l - 1)`` (0
when ``l == 1``), computed in float64 and cast to float32.

The archive side (which video, its rows, its codes and decoder) is ``decode.view``: a decode
resolves its video once into a ``view.VideoView``, whose decodability ``check_decodable``
decides and whose budget ``video_plan`` computes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..content import DECODE_KINDS, KINDS, MLP, DecodeKindSpec
from ..errors import TascodecError, UnknownCodecError
from ..segments import instance_lengths, segment_coherence
from ..tca_mlp import ARCH_NAME, PreparedDecoder, prepare_decoder
from .budget import DecodePlan, plan_decode

__all__ = [
    "NUMPY_DEVICES",
    "check_table",
    "check_codes",
    "check_offsets",
    "add_offsets",
    "instances",
    "check_decodable",
    "video_plan",
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
    prep = decoder if isinstance(decoder, PreparedDecoder) else prepare_decoder(decoder)
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


def check_decodable(where: Any, kind: str, version: tuple[int, int] | None = None,
                    arch: dict[str, Any] | None = None) -> DecodeKindSpec:
    """The ``content.KINDS`` spec of ``kind``; ``UnknownCodecError`` when this reader cannot
    decode it.

    Every reader (``Archive.decode``, ``TaszDataset``, ``export``, ``tascodec decode``) runs
    this through ``decode_video`` (as ``view.video_view`` resolves the video): the decode kind
    must be known, must not be newer than the archive's format ``version`` (``None``: not
    known), and an ``mlp`` decoder must be a ``tca-mlp`` (``arch``: the header's description,
    ``{}`` when the header names no decoder, ``None`` when there is no header to check).
    ``where`` names the archive in the message. Tables and codes stay readable either way.
    """
    if kind not in DECODE_KINDS:
        raise UnknownCodecError(
            f"{where}: decode_kind {kind!r} is unknown to this reader "
            f"(known: {', '.join(DECODE_KINDS)}); tables and codes are still readable"
        )
    spec = KINDS[kind]
    since = spec.since  # the format version that added the kind
    if since is not None and version is not None and version[0] < since[0]:
        raise UnknownCodecError(
            f"{where}: decode_kind {kind!r} came with format {since[0]}.{since[1]}; a "
            f"{version[0]}.{version[1]} archive cannot hold it, so it is unknown here; tables "
            "and codes are still readable"
        )
    if spec.uses_decoder and arch is not None and arch.get("name") != ARCH_NAME:
        raise UnknownCodecError(
            f"{where}: decoder architecture {arch.get('name')!r} is unknown to this reader"
        )
    return spec


def video_plan(view: Any, limit: Any = None, device: Any = None) -> DecodePlan:
    """The decode budget of one video (``budget.plan_decode``) from its ``view.VideoView``
    (rows and widths, so that nothing is read before the check). ``limit``: else the view's
    ``decode_limit`` (the archive's), else the default (``budget.resolve_limit``). ``device``:
    NumPy devices or torch (temporaries differ)."""
    return plan_decode(view.kind, view.length, view.k_eff, code_dim=view.code_dim,
                       feature_dim=view.feature_dim, hidden_dim=view.hidden_dim,
                       decoder_floats=view.decoder_floats,
                       limit=view.decode_limit if limit is None else limit, where=view.where,
                       video=view.video,
                       backend="numpy" if device in NUMPY_DEVICES else "torch",
                       reading=view.reading)
