"""One stored video as a decoder reads it: ``VideoView``, resolved once per decode (NumPy only).

Shapes: S segments of the video, N its codes (instances), d code width, D feature width,
H decoder hidden width.

``decode_video`` and ``decode_video_tensor`` resolve the video once (``video_view``) and read
typed attributes from then on: the decode kind and its ``content.KINDS`` spec (the view exists
only once ``plan.check_decodable`` has accepted them), the rows in the decoder's class
indices, the widths the decode budget needs (``plan.video_plan``), and the readers of what the
budget must precede: codes, decoder, offsets (``VideoView.read``).

``format.Archive`` builds the view itself (``Archive.decode_view``: one ``video_index``, the
video's decoder group, ``format.groups.GroupSource.video_view``); so does a group
(``GroupSource.decode_view``). Any other *archive-like* object (anything with ``table`` (a
``SegmentTable``), ``decode_kind``, ``codes(video)`` and ``decoder()``; optionally ``path``,
``version``, ``decoder_arch()``, ``code_dim``, ``feature_dim``, ``decode_limit``, ``reading``,
``video_index(video)``, ``local_actions(action)``, ``segment_offsets(video)`` and
``prepared_decoder()``) is adapted by ``video_view``, the one place that probes for those.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np

from ..content import DecodeKindSpec
from ..errors import TascodecError
from ..tca_mlp import PreparedDecoder, prepare_decoder, tensor_shapes
from .budget import Reading
from .plan import check_decodable

__all__ = ["VideoView", "video_view", "video_rows", "decoder_size"]


@dataclass(frozen=True, eq=False)
class VideoView:
    """Everything a decoder needs of one video, resolved once (nothing read but the header and
    the tables).

    ``video`` as the caller named it, ``where`` the archive (for messages), ``kind`` and
    ``spec`` (decodable: ``plan.check_decodable``), ``action`` (S,) the segments' classes in
    the decoder's indices, ``length`` and ``k_eff`` (S,) int64; ``code_dim`` d, ``feature_dim``
    D, ``hidden_dim`` H and ``decoder_floats`` (0 without a decoder) for the budget, with
    ``decode_limit`` (the archive's, ``None``: the default) and ``reading`` (``budget.Reading``;
    ``None``: codes in memory). ``read_codes()`` (N, d) float32, ``read_decoder()`` the folded
    decoder (``None`` for a kind without one), ``read_offsets()`` (S, D) float32 (``None`` for
    a kind without offsets): called by ``read``, after the budget.
    """

    video: Any
    where: str
    kind: str
    spec: DecodeKindSpec
    action: np.ndarray
    length: np.ndarray
    k_eff: np.ndarray
    code_dim: int
    feature_dim: int
    hidden_dim: int
    decoder_floats: int
    decode_limit: Any
    reading: Reading | None
    read_codes: Callable[[], np.ndarray]
    read_decoder: Callable[[], PreparedDecoder | None] | None = None
    read_offsets: Callable[[], np.ndarray | None] | None = None

    def read(self) -> tuple[np.ndarray, PreparedDecoder | None, np.ndarray | None]:
        """``(codes (N, d) float32, folded decoder or None, offsets (S, D) or None)``, read in
        this order."""
        codes = self.read_codes()
        dec = self.read_decoder() if self.read_decoder is not None else None
        return codes, dec, self.read_offsets() if self.read_offsets is not None else None


def decoder_size(arch: dict[str, Any] | None) -> tuple[int, int]:
    """``(H, float32 values of its tensors)`` of a ``tca-mlp`` decoder from its architecture
    description; ``(0, 0)`` without one."""
    if not arch:
        return 0, 0
    floats = sum(int(np.prod(s, dtype=object)) for s in tensor_shapes(arch).values())
    return int(arch.get("hidden_dim", 0)), floats


def video_view(archive: Any, video: str | int) -> VideoView:
    """``video`` of ``archive`` resolved for decoding: the archive's own ``decode_view(video)``
    (``format.Archive``, a ``GroupSource``), else an archive-like object adapted (the module
    docstring). Raises what the decode would before reading codes: an unknown video,
    ``UnknownCodecError`` (``plan.check_decodable``, before the rows)."""
    own = getattr(archive, "decode_view", None)
    if callable(own):
        return own(video)
    where = getattr(archive, "path", "archive")
    kind = archive.decode_kind
    arch_of = getattr(archive, "decoder_arch", None)
    arch = arch_of() if callable(arch_of) else None
    spec = check_decodable(where, kind, getattr(archive, "version", None),
                           (arch or {}) if callable(arch_of) else None)
    action, length, k_eff = video_rows(archive, video)
    read_decoder = partial(_held_decoder, archive) if spec.uses_decoder else None
    if spec.uses_decoder and not arch:  # no header: the widths from the decoder itself
        prep = read_decoder()  # type: ignore[misc]
        arch = {"latent_dim": prep.latent_dim, "num_classes": prep.num_classes,
                "hidden_dim": int(prep.wz_t.shape[1]), "feature_dim": prep.feature_dim}
    d = getattr(archive, "code_dim", None)
    D = getattr(archive, "feature_dim", None)
    if d is None or D is None:  # no header: the widths from the codes
        d = int(np.shape(archive.codes(video))[1])
        D = int(arch["feature_dim"]) if spec.uses_decoder and arch else d
    hidden, floats = decoder_size(arch if spec.uses_decoder else None)
    return VideoView(
        video, str(where), kind, spec, action, length, k_eff, int(d), int(D), hidden, floats,
        getattr(archive, "decode_limit", None), getattr(archive, "reading", None),
        partial(archive.codes, video), read_decoder,
        partial(archive.segment_offsets, video) if spec.stores_offsets else None)


def video_rows(archive: Any, video: str | int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(seg_action, seg_length, seg_num_instances)`` of one video from ``archive.table``
    (through ``local_actions`` where the archive-like object maps classes)."""
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


def _held_decoder(archive: Any) -> PreparedDecoder | None:
    """An archive-like object's folded decoder: its ``prepared_decoder()``, else folded once and
    kept as its attribute ``_prepared_decoder``."""
    own = getattr(archive, "prepared_decoder", None)
    if callable(own):
        return own()
    held = vars(archive).get("_prepared_decoder")
    if held is None:
        ckpt = archive.decoder()
        held = prepare_decoder(ckpt) if ckpt is not None else None
        archive._prepared_decoder = held
    return held
