"""The TCA model: a conditional VAE over frame features, conditioned on action and coherence.

Shapes: B frames in a batch, D feature width, d latent width, H hidden width, A classes.

Architecture (the paper fixes only "two-layer MLPs" and d = 256; the rest is our choice):

* encoder ``Linear(D + A + 1 -> H) -> ReLU -> Linear(H -> 2d)`` on ``[x, onehot(a), c]``,
  giving ``(mu, logvar)``;
* decoder ``Linear(d + A + 1 -> H) -> ReLU -> Linear(H -> D)`` on ``u = [z, onehot(a), c]``,
  linear output.

Why this decoder: c enters the first layer linearly and the output layer is linear, so inside
one instance (z and a fixed) the decoded frame is piecewise linear in c, with breakpoints where
a hidden unit changes sign. Decoding a whole instance then costs one ``(d + A) x H`` product per
instance plus ``H`` per frame for the first layer, and the linear last layer lets inversion work
in the H-wide hidden space: ``||W2 h + b2 - x||^2`` needs only ``G = W2^T W2`` (H x H) and
``W2^T (x - b2)`` (H per frame). ``H = 512`` keeps the model expressive while making that Gram
form 4x cheaper than the direct one at D = 2048. ReLU (not a smooth activation) keeps the
piecewise-linear structure exact.

The model works on normalised features ``x_norm = (x - feature_offset) / feature_scale``; the
buffers are part of the decoder checkpoint, so a reader de-normalises without the training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..content import DecoderCheckpoint
from ..errors import TascodecError
from ..tca_mlp import check_checkpoint, make_arch

__all__ = ["SCALE_FLOOR", "TCA", "TCADecoder", "decoder_from_checkpoint"]

SCALE_FLOOR = 1e-6  # std floor of the feature normalisation (constant dimensions)


def _condition(a: torch.Tensor, c: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """``[onehot(a), c]`` as (B, A + 1) in ``like``'s dtype and device."""
    onehot = F.one_hot(a.long(), num_classes).to(like.dtype)
    return torch.cat([onehot, c.to(like.dtype).reshape(-1, 1)], dim=1)


class TCADecoder(nn.Module):
    """The TCA decoder: ``u = [z, onehot(a), c]`` (B, d + A + 1) -> (B, D), normalised space.

    ``features(z, a, c)`` returns de-normalised frames (original feature units).
    """

    def __init__(self, feature_dim: int, num_classes: int, latent_dim: int = 256,
                 hidden_dim: int = 512) -> None:
        super().__init__()
        for name, value in (("feature_dim", feature_dim), ("num_classes", num_classes),
                            ("latent_dim", latent_dim), ("hidden_dim", hidden_dim)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise TascodecError(f"TCA: {name} must be a positive integer, got {value!r}")
        self.feature_dim, self.num_classes = int(feature_dim), int(num_classes)
        self.latent_dim, self.hidden_dim = int(latent_dim), int(hidden_dim)
        self.fc1 = nn.Linear(self.latent_dim + self.num_classes + 1, self.hidden_dim)
        self.fc2 = nn.Linear(self.hidden_dim, self.feature_dim)
        self.register_buffer("feature_offset", torch.zeros(self.feature_dim))
        self.register_buffer("feature_scale", torch.ones(self.feature_dim))

    def forward(self, z: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """(B, d), (B,) int64, (B,) float -> (B, D) normalised frames."""
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise TascodecError(f"TCA decode: z must be (B, {self.latent_dim}), got {tuple(z.shape)}")
        u = torch.cat([z, _condition(a, c, self.num_classes, z)], dim=1)
        return self.fc2(torch.relu(self.fc1(u)))

    def features(self, z: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """Decoded frames in original feature units: (B, D)."""
        return self.denormalize(self.forward(z, a, c))

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) original units -> normalised."""
        return (x - self.feature_offset) / self.feature_scale

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) normalised -> original units."""
        return x * self.feature_scale + self.feature_offset

    def arch(self) -> dict[str, Any]:
        return make_arch(self.latent_dim, self.num_classes, self.hidden_dim, self.feature_dim)

    def checkpoint(self) -> DecoderCheckpoint:
        """The decoder as plain float32 arrays (see ``DecoderCheckpoint``)."""
        def arr(t: torch.Tensor) -> np.ndarray:
            return np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32))

        tensors = {"w1": arr(self.fc1.weight), "b1": arr(self.fc1.bias),
                   "w2": arr(self.fc2.weight), "b2": arr(self.fc2.bias),
                   "feature_offset": arr(self.feature_offset),
                   "feature_scale": arr(self.feature_scale)}
        return DecoderCheckpoint(arch=self.arch(), tensors=tensors)


class TCA(nn.Module):
    """Conditional VAE ``TCA(feature_dim D, num_classes A, latent_dim d, hidden_dim H)``.

    ``encode(x, a, c)`` -> ``(mu, logvar)`` (B, d) each; ``decode(z, a, c)`` -> (B, D);
    ``forward(x, a, c)`` -> ``(x_hat, mu, logvar)`` with a reparameterised sample (training).
    ``x`` is normalised (see ``normalize``); ``a`` (B,) int64; ``c`` (B,) float in [0, 1].
    """

    def __init__(self, feature_dim: int, num_classes: int, latent_dim: int = 256,
                 hidden_dim: int = 512) -> None:
        super().__init__()
        self.decoder = TCADecoder(feature_dim, num_classes, latent_dim, hidden_dim)
        self.feature_dim, self.num_classes = self.decoder.feature_dim, self.decoder.num_classes
        self.latent_dim, self.hidden_dim = self.decoder.latent_dim, self.decoder.hidden_dim
        self.enc1 = nn.Linear(self.feature_dim + self.num_classes + 1, self.hidden_dim)
        self.enc2 = nn.Linear(self.hidden_dim, 2 * self.latent_dim)

    @property
    def feature_offset(self) -> torch.Tensor:
        return self.decoder.feature_offset

    @property
    def feature_scale(self) -> torch.Tensor:
        return self.decoder.feature_scale

    def set_normalization(self, offset: np.ndarray | torch.Tensor,
                          scale: np.ndarray | torch.Tensor) -> None:
        """Set the (D,) normalisation buffers; ``scale`` is floored at ``SCALE_FLOOR``."""
        offset_t = torch.as_tensor(np.asarray(offset, dtype=np.float32))
        scale_t = torch.as_tensor(np.asarray(scale, dtype=np.float32)).clamp_min(SCALE_FLOOR)
        for name, t in (("offset", offset_t), ("scale", scale_t)):
            if t.shape != (self.feature_dim,) or not torch.isfinite(t).all():
                raise TascodecError(f"TCA normalisation {name} must be finite ({self.feature_dim},),"
                                    f" got shape {tuple(t.shape)}")
        self.decoder.feature_offset.copy_(offset_t)
        self.decoder.feature_scale.copy_(scale_t)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder.normalize(x)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder.denormalize(x)

    def encode(self, x: torch.Tensor, a: torch.Tensor, c: torch.Tensor
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, D) normalised, (B,), (B,) -> ``(mu, logvar)``, each (B, d)."""
        if x.ndim != 2 or x.shape[1] != self.feature_dim:
            raise TascodecError(f"TCA encode: x must be (B, {self.feature_dim}), got {tuple(x.shape)}")
        h = torch.relu(self.enc1(torch.cat([x, _condition(a, c, self.num_classes, x)], dim=1)))
        mu, logvar = self.enc2(h).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor, a: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """(B, d), (B,), (B,) -> (B, D) normalised frames."""
        return self.decoder(z, a, c)

    def forward(self, x: torch.Tensor, a: torch.Tensor, c: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x, a, c)
        # the device's generator: on CUDA another stream than the CPU's for one seed
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decode(z, a, c), mu, logvar

    def decoder_checkpoint(self) -> DecoderCheckpoint:
        """The decoder (with its de-normalisation) as a ``DecoderCheckpoint``."""
        return self.decoder.checkpoint()


def decoder_from_checkpoint(ckpt: DecoderCheckpoint) -> TCADecoder:
    """Rebuild a ``TCADecoder`` from plain arrays, validated by ``tca_mlp.check_checkpoint``
    (names, shapes, finite values, ``feature_scale > 0``)."""
    tensors = check_checkpoint(ckpt, strict=True)
    arch = ckpt.arch
    dec = TCADecoder(arch["feature_dim"], arch["num_classes"], arch["latent_dim"],
                     arch["hidden_dim"])
    values = {k: torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in tensors.items()}
    with torch.no_grad():
        dec.fc1.weight.copy_(values["w1"])
        dec.fc1.bias.copy_(values["b1"])
        dec.fc2.weight.copy_(values["w2"])
        dec.fc2.bias.copy_(values["b2"])
        dec.feature_offset.copy_(values["feature_offset"])
        dec.feature_scale.copy_(values["feature_scale"])
    return dec.train(False)
