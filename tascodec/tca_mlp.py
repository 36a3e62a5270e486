"""The ``tca-mlp`` decoder architecture (NumPy only): its name, shapes, validation and folding.

The one owner of what a ``tca-mlp`` decoder is. The torch model (``tca.model``), the decoders
(``decode``), the format reader (``format.v1``) and writer (``format.v1_write``) all use it.

Shapes: d code (latent) width, A classes, H hidden width, D feature width.

``arch`` = ``{"name": "tca-mlp", "latent_dim": d, "num_classes": A, "hidden_dim": H,
"feature_dim": D, "activation": "relu"}``; tensors ``w1`` (H, d + A + 1), ``b1`` (H,),
``w2`` (D, H), ``b2`` (D,), ``feature_offset`` (D,), ``feature_scale`` (D,). A frame's input is
``u = [z, onehot(a), c]`` and its output ``x = (w2 @ relu(w1 @ u + b1) + b2) * feature_scale +
feature_offset``.

An architecture other than ``tca-mlp`` (or another activation) raises ``UnknownCodecError``;
malformed tensors raise ``TascodecError``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .content import DecoderCheckpoint
from .errors import TascodecError, UnknownCodecError

__all__ = [
    "ARCH_NAME",
    "ACTIVATION",
    "TENSORS",
    "DIMS",
    "TENSOR_DTYPES",
    "FLOAT32_TENSORS",
    "stored_dtype",
    "make_arch",
    "tensor_shapes",
    "check_arch_widths",
    "check_checkpoint",
    "PreparedDecoder",
    "prepare_decoder",
]

ARCH_NAME = "tca-mlp"
ACTIVATION = "relu"
TENSORS = ("w1", "b1", "w2", "b2", "feature_offset", "feature_scale")
DIMS = ("latent_dim", "num_classes", "hidden_dim", "feature_dim")
#: data types a stored ``tca-mlp`` decoder's tensors may have (format 1.1; 1.0: float32 only);
#: readers upcast to float32, which is exact
TENSOR_DTYPES = ("float32", "float16")
#: tensors always stored as float32, whatever the decoder's dtype: the (D,) normalisation is
#: tiny, and a float16 offset can miss by more than a raw channel's whole spread (an offset of
#: 1000 rounds to a multiple of 0.5)
FLOAT32_TENSORS = ("feature_offset", "feature_scale")


def stored_dtype(arch_name: Any, tensor: str, dtype: str) -> str:
    """The data type ``tensor`` of a decoder is stored as when the decoder's dtype is ``dtype``."""
    return "float32" if arch_name == ARCH_NAME and tensor in FLOAT32_TENSORS else dtype


def make_arch(latent_dim: int, num_classes: int, hidden_dim: int, feature_dim: int) -> dict:
    """The architecture description stored with a ``tca-mlp`` decoder."""
    return {"name": ARCH_NAME, "latent_dim": int(latent_dim), "num_classes": int(num_classes),
            "hidden_dim": int(hidden_dim), "feature_dim": int(feature_dim),
            "activation": ACTIVATION}


def tensor_shapes(arch: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of a ``tca-mlp`` decoder from its architecture description."""
    d, a, h, dim = (int(arch[k]) for k in DIMS)
    return {"w1": (h, d + a + 1), "b1": (h,), "w2": (dim, h), "b2": (dim,),
            "feature_offset": (dim,), "feature_scale": (dim,)}


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_name(arch: Any, where: str) -> dict[str, Any]:
    name = arch.get("name") if isinstance(arch, dict) else arch
    if not isinstance(arch, dict) or name != ARCH_NAME:
        raise UnknownCodecError(
            f"{where}: arch name must be {ARCH_NAME!r}, got {name!r} (a decoder architecture "
            f"unknown to this reader)"
        )
    if arch.get("activation", ACTIVATION) != ACTIVATION:
        raise UnknownCodecError(
            f"{where}: unsupported activation {arch.get('activation')!r} (want {ACTIVATION!r})"
        )
    return arch


def check_arch_widths(arch: dict, latent_dim: int, num_classes: int, feature_dim: int, *,
                      max_hidden: int, where: str, err: type = TascodecError
                      ) -> dict[str, tuple[int, ...]]:
    """Check a ``tca-mlp`` arch against an archive's widths; returns its tensor shapes.

    Raises ``err`` (the format's error class) when a width is missing or disagrees.
    """
    if not all(_is_int(arch.get(k)) for k in DIMS):
        raise err(f"{where}: tca-mlp arch needs integer {', '.join(DIMS)}")
    if (
        (int(arch["latent_dim"]), int(arch["num_classes"]), int(arch["feature_dim"]))
        != (latent_dim, num_classes, feature_dim)
        or not 1 <= int(arch["hidden_dim"]) <= max_hidden
        or arch.get("activation", ACTIVATION) != ACTIVATION
    ):
        raise err(
            f"{where}: tca-mlp arch {arch} does not match code_dim={latent_dim}, "
            f"classes={num_classes}, feature_dim={feature_dim} (hidden_dim in "
            f"[1, {max_hidden}], activation {ACTIVATION})"
        )
    return tensor_shapes(arch)


def check_checkpoint(ckpt: DecoderCheckpoint, *, where: str = "decoder checkpoint",
                     strict: bool = False) -> dict[str, np.ndarray]:
    """Validate a ``tca-mlp`` checkpoint; returns its tensors (as stored, float arrays).

    Checks the name, activation, integer widths, that every tensor is present with the shape
    the widths give, and floating point. ``strict`` (rebuilding a torch model) also requires
    finite values and ``feature_scale > 0``.
    """
    arch = _check_name(ckpt.arch, where)
    for key in DIMS:
        if not _is_int(arch.get(key)) or arch[key] < 1:
            raise TascodecError(
                f"{where}: arch[{key!r}] must be a positive integer, got {arch.get(key)!r}"
            )
    missing = sorted(set(TENSORS) - set(ckpt.tensors))
    if missing:
        raise TascodecError(f"{where}: missing tensors {missing}")
    out = {}
    for key, shape in tensor_shapes(arch).items():
        arr = np.asarray(ckpt.tensors[key])
        if arr.shape != shape:
            extra = (
                f" (hidden_dim rows, latent_dim + num_classes + 1 input columns, arch {arch})"
                if key == "w1" else ""
            )
            raise TascodecError(
                f"{where}: tensor {key!r} has shape {arr.shape}, expected {shape}{extra}"
            )
        if not np.issubdtype(arr.dtype, np.floating) or (strict and not np.isfinite(arr).all()):
            raise TascodecError(
                f"{where}: tensor {key!r} must hold finite floating-point values, got {arr.dtype}"
            )
        out[key] = arr
    if strict and (out["feature_scale"] <= 0).any():
        raise TascodecError(f"{where}: feature_scale must be > 0")
    return out


@dataclass(frozen=True)
class PreparedDecoder:
    """A ``tca-mlp`` decoder laid out for decoding, de-normalisation folded into the last layer.

    ``wz_t`` (d, H), ``wa_t`` (A, H) = ``w1[:, d:d+A].T + b1`` (one action per frame, so the bias
    rides on the action row), ``w_c`` (H,), ``w2_t`` (H, D) = ``(feature_scale[:, None] * w2).T``,
    ``b2`` (D,) = ``feature_scale * b2 + feature_offset``; all float32, C-contiguous, read-only.
    ``on_device``: copies of these on torch devices (device name -> tensors), filled by
    ``decode.torch`` and held here, so they live as long as the decoder. ``latent_dim`` d,
    ``num_classes`` A and ``feature_dim`` D: the widths, read off the tensors once.
    """

    wz_t: np.ndarray
    wa_t: np.ndarray
    w_c: np.ndarray
    w2_t: np.ndarray
    b2: np.ndarray
    on_device: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    latent_dim: int = field(init=False, repr=False, compare=False)
    num_classes: int = field(init=False, repr=False, compare=False)
    feature_dim: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "latent_dim", int(self.wz_t.shape[0]))
        object.__setattr__(self, "num_classes", int(self.wa_t.shape[0]))
        object.__setattr__(self, "feature_dim", int(self.w2_t.shape[1]))


def prepare_decoder(decoder: DecoderCheckpoint | PreparedDecoder) -> PreparedDecoder:
    """Validate a ``tca-mlp`` checkpoint and fold it for decoding.

    The folded form is held by the checkpoint object (``decoder.prepared``), so folding one
    checkpoint twice returns the same ``PreparedDecoder``.
    """
    if isinstance(decoder, PreparedDecoder):
        return decoder
    if not isinstance(decoder, DecoderCheckpoint):
        raise TascodecError(
            f"decoder: expected a DecoderCheckpoint, got {type(decoder).__name__}"
        )
    if decoder.prepared is None:
        decoder.prepared = _fold(decoder)
    return decoder.prepared


def _fold(decoder: DecoderCheckpoint) -> PreparedDecoder:
    t = check_checkpoint(decoder, where="decoder")
    d, a = int(decoder.arch["latent_dim"]), int(decoder.arch["num_classes"])
    f64 = {k: v.astype(np.float64) for k, v in t.items()}
    scale = f64["feature_scale"]
    w2_t = (scale[:, None] * f64["w2"]).T
    b2 = scale * f64["b2"] + f64["feature_offset"]
    wa_t = f64["w1"][:, d : d + a].T + f64["b1"][None, :]

    def c32(x: np.ndarray) -> np.ndarray:
        out = np.ascontiguousarray(x, dtype=np.float32)
        out.setflags(write=False)
        return out

    return PreparedDecoder(
        wz_t=c32(t["w1"][:, :d].T), wa_t=c32(wa_t), w_c=c32(t["w1"][:, d + a]),
        w2_t=c32(w2_t), b2=c32(b2),
    )
