"""The segmentation models of the fidelity harness, by name: ``"mstcn"`` and ``"asformer"``.

``trainer(backbone, mstcn_options, asformer_options) -> (train_fn, options)``: the training
function (``mstcn.train_mstcn`` or ``asformer.train_asformer``; both take items of
(features (D, T), labels (T,)) and return a model whose forward maps x (B, D, T), mask (B, T)
to logits (S, B, A, T), so ``mstcn.predict`` serves both) and the validated keyword options
of that backbone. Options given for the other backbone are an error naming the argument.
torch is imported only when a trainer is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import TascodecError

__all__ = ["BACKBONES", "MODEL_NAMES", "OPTIONS", "trainer"]

BACKBONES = ("mstcn", "asformer")
# Display names, as in tables and reports.
MODEL_NAMES = {"mstcn": "MS-TCN", "asformer": "ASFormer"}
OPTIONS: dict[str, frozenset[str]] = {
    "mstcn": frozenset({"num_stages", "num_layers", "num_f_maps", "lr", "batch_size"}),
    "asformer": frozenset({"size", "num_decoders", "num_layers", "num_f_maps", "lr",
                           "weight_decay", "batch_size", "channel_masking_rate"}),
}


def trainer(
    backbone: str,
    mstcn_options: Mapping[str, Any] | None = None,
    asformer_options: Mapping[str, Any] | None = None,
) -> tuple[Callable[..., Any], dict[str, Any]]:
    """The training function of ``backbone`` and its validated options."""
    if backbone not in BACKBONES:
        raise TascodecError(f"backbone: expected one of {list(BACKBONES)}, got {backbone!r}")
    given = {"mstcn": mstcn_options, "asformer": asformer_options}
    other = "asformer" if backbone == "mstcn" else "mstcn"
    if given[other]:
        raise TascodecError(
            f"{other}_options: given with backbone={backbone!r}; use {backbone}_options"
        )
    options = dict(given[backbone] or {})
    unknown = sorted(set(options) - OPTIONS[backbone])
    if unknown:
        raise TascodecError(
            f"{backbone}_options: unknown key(s) {unknown}; allowed: {sorted(OPTIONS[backbone])}"
        )
    if backbone == "mstcn":
        from .mstcn import train_mstcn  # lazy: torch (imported by that module)

        return train_mstcn, options
    from .asformer import train_asformer  # lazy: torch (imported by that module)

    return train_asformer, options
