"""``tca-random`` codec: the paper's TCA baseline, random codes through the trained decoder.

Only the decoder is stored (``content.codes is None``): a reader draws code ``i`` as
``tascodec.rng.random_codes(seed, i, 1, d)``, one per segment (K = 1), so the archive's size is
the decoder plus the tables. Parameters: ``seed`` (of the code stream), ``recipe`` and
overrides of any recipe field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import SegmentTable
from ..errors import TascodecError
from ..rng import random_codes
from . import register_codec
from .learned import LearnedCodec

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["TcaRandomCodec"]


@register_codec
class TcaRandomCodec(LearnedCodec):
    """No stored codes; N(0, I) codes from the specified stream ``seed`` at decode time."""

    codec_id = "tca-random"
    own_params = ("seed",)
    encode_options = {"k": (1,), "recipe": None}  # one code per segment, none stored

    def __init__(self, seed: int = 0, *, recipe: str = "cpu", **overrides: Any) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not (
            0 <= seed < 2**32
        ):
            raise TascodecError(f"codec 'tca-random': seed must be an integer in [0, 2**32), "
                                f"got {seed!r}")
        super().__init__(seed=int(seed), recipe=recipe, **overrides)

    def k_instances(self) -> int | None:
        return 1

    def make_codes(self, model: Any, source: "EncodeSource", table: SegmentTable,
                   resolved: dict[str, Any]) -> tuple[None, np.ndarray, dict]:
        codes = random_codes(self.params["seed"], 0, table.num_codes, int(model.latent_dim))
        return None, codes, {}
