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
from ..rng import random_codes
from . import register_codec
from .learned import (BUDGET_PARAMS, LEARNED_ENCODE_OPTIONS, LearnedCodec, checked_k,
                      sharded_codes)

if TYPE_CHECKING:  # pragma: no cover
    from ..dataset.source import EncodeSource

__all__ = ["InversionCodec", "INITS", "invert_kwargs", "merged_reports"]

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
        from ..tca.invert import invert  # lazy: torch (imported by that module)

        start = time.perf_counter()
        init, d = self.params["init"], int(model.latent_dim)

        def invert_rows(rows: SegmentTable, first_code: int) -> tuple[np.ndarray, dict]:
            """Codes of ``rows`` (a share of ``table`` from row ``first_code`` on)."""
            start_init: Any = init
            if init == "random" and first_code:  # the rows of the whole table's draw
                start_init = random_codes(source.seed, first_code, rows.num_codes, d
                                          ).astype(np.float32)
            codes, report = invert(model, source, rows, init=start_init, device=source.device,
                                   seed=source.seed, progress=source.progress,
                                   **invert_kwargs(resolved))
            return np.ascontiguousarray(codes, dtype=np.float32), report.as_dict()

        codes, reports = sharded_codes(table, d, invert_rows, "the inversion")
        report = reports[0] if len(reports) == 1 else merged_reports(reports)
        return codes, codes, {"code_seconds": time.perf_counter() - start,
                              "inversion": report}


def merged_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``InversionReport.as_dict`` from those of the ranks' shares (disjoint instances):
    MSEs weighted by frames, mean iterations by codes, the longest wall time and iterations,
    the rest summed."""
    frames = max(sum(r["num_frames"] for r in reports), 1)
    codes = max(sum(r["num_codes"] for r in reports), 1)
    out = {k: sum(r[k] for r in reports) for k in (
        "decoder_evals", "num_codes", "num_frames", "chunks", "stopped_by_tol", "encoder_evals")}
    out.update(
        mse=sum(r["mse"] * r["num_frames"] for r in reports) / frames,
        init_mse=sum(r["init_mse"] * r["num_frames"] for r in reports) / frames,
        iterations=max(r["iterations"] for r in reports),
        mean_iterations=sum(r["mean_iterations"] * r["num_codes"] for r in reports) / codes,
        wall_time_s=max(r["wall_time_s"] for r in reports), shares=len(reports))
    return out
