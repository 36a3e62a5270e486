"""``inversion`` codec, the method: codes by network inversion of the frozen TCA decoder.

Every instance's code is optimised so the decoded frames match the real ones (L2, original
units), warm-started from the ``encoded`` codes (``init="encoded"``) or from N(0, I)
(``init="random"``). Parameters: ``k`` (``None``: one instance per frame), ``init``,
``recipe`` and overrides of any recipe field (training and inversion settings).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..content import SegmentTable
from ..errors import TascodecError
from . import register_codec
from .learned import BUDGET_PARAMS, LEARNED_ENCODE_OPTIONS, LearnedCodec, checked_k

if TYPE_CHECKING:  # pragma: no cover
    from ..source import EncodeSource

__all__ = ["InversionCodec", "INITS", "invert_kwargs"]

INITS = ("encoded", "random")
_PREFIX = "invert_"


def invert_kwargs(resolved: dict[str, Any]) -> dict[str, Any]:
    """The recipe's inversion settings (fields ``invert_<name>``) as ``invert`` keywords."""
    kwargs = {k[len(_PREFIX):]: v for k, v in resolved.items() if k.startswith(_PREFIX)}
    if isinstance(kwargs.get("betas"), list):
        kwargs["betas"] = tuple(kwargs["betas"])
    return kwargs


@register_codec
class InversionCodec(LearnedCodec):
    """Codes (N, d) minimising the decoded frames' squared error, one per instance."""

    codec_id = "inversion"
    encode_options = LEARNED_ENCODE_OPTIONS
    own_params = ("k", "init", *BUDGET_PARAMS)

    def __init__(self, k: int | str | None = 8, *, init: str = "encoded", recipe: str = "cpu",
                 **overrides: Any) -> None:
        k = checked_k(self.codec_id, k, overrides)
        if init not in INITS:
            raise TascodecError(f"codec 'inversion': init must be one of {INITS}, got {init!r}")
        super().__init__(k=k, init=init, recipe=recipe, **overrides)

    def make_codes(self, model: Any, source: "EncodeSource", table: SegmentTable,
                   resolved: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, dict]:
        from ..tca.invert import invert

        start = time.perf_counter()
        codes, report = invert(model, source, table, init=self.params["init"],
                               device=source.device, seed=source.seed,
                               progress=source.progress, **invert_kwargs(resolved))
        codes = np.ascontiguousarray(codes, dtype=np.float32)
        return codes, codes, {"code_seconds": time.perf_counter() - start,
                              "inversion": report.as_dict()}
