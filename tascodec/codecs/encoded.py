"""``encoded`` codec: per-instance mean of the TCA encoder's mu (the paper's "Encoded").

Parameters: ``k`` (instances per segment, ``None`` for one per frame), ``recipe`` (training
recipe name, see ``tascodec.tca.recipes``) and overrides of any recipe field (``latent_dim``,
``hidden_dim``, ``epochs``, ...). Stores codes (N, d) and the decoder (decode kind
``content.MLP``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import SegmentTable
from . import register_codec
from .learned import (BUDGET_PARAMS, LEARNED_ENCODE_OPTIONS, LearnedCodec, checked_k,
                      sharded_codes)

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["EncodedCodec"]


@register_codec
class EncodedCodec(LearnedCodec):
    """Codes = mean of the encoder's mu over each instance's frames: (N, d)."""

    codec_id = "encoded"
    encode_options = LEARNED_ENCODE_OPTIONS
    own_params = ("k", *BUDGET_PARAMS)

    def __init__(self, k: int | str | None = 8, *, recipe: str = "cpu", **overrides: Any) -> None:
        super().__init__(k=checked_k(self.codec_id, k, overrides), recipe=recipe, **overrides)

    def make_codes(self, model: Any, source: "EncodeSource", table: SegmentTable,
                   resolved: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict]:
        from ..tca.encoder import encoded_codes  # lazy: torch (imported by that module)

        start = time.perf_counter()
        codes, _ = sharded_codes(table, int(model.latent_dim), lambda rows, _first: (
            np.ascontiguousarray(encoded_codes(model, source, rows, device=source.device),
                                 dtype=np.float32), None), "the encoder's codes")
        return codes, codes, {"code_seconds": time.perf_counter() - start}
