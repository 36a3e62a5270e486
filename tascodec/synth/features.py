"""Synthetic frame features with the structure of pooled CNN activations.

A low-rank latent ``z`` (T, L) is built per video and projected to D dimensions:

* per-class appearance ``A[a]`` (some classes come in confusable pairs with close appearance;
  background is a weak, generic appearance), drifting within a segment with the coherence
  ``c`` (a linear and a curved term per class), plus a per-segment offset;
* a style offset shared by the videos of one subject (person), another per video, and a
  per-video gain (so leave-one-subject-out splits see a domain shift, as in real data);
* transitions blurred with a Gaussian kernel over frames (clip features mix neighbours);
* AR(1) noise in the latent: a slow drift (rho close to 1) and a fast jitter;
* ``x = relu(gain * W z + b + e)``: W (D, L) a fixed sparse non-negative mixing, b (D,) a
  bias, e small i.i.d. noise per dimension. Output (D, T) float32, non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..segments import segment_coherence

__all__ = ["FeatureParams", "FeatureModel"]


@dataclass(frozen=True)
class FeatureParams:
    """Knobs of the feature model; times are in frames of the preset's frame rate."""

    latent: int = 48
    confusable_fraction: float = 0.4  # share of action classes in confusable pairs
    confusable_distance: float = 0.35  # pair distance relative to unrelated classes
    progress_scale: float = 0.8  # size of the within-segment drift
    segment_sd: float = 0.8  # per-segment appearance offset
    style_sd: float = 1.0  # style offset per video (subject part and video part together)
    subject_share: float = 0.5  # share of the style variance common to a subject's videos
    gain_sd: float = 0.1  # per-video log gain
    blur_frames: float = 4.0  # Gaussian sigma of the transition blur
    ar_rho: float = 0.98  # AR(1) coefficient of the latent noise per frame
    noise_sd: float = 1.2  # stationary sd of the slow latent noise (AR(1), ar_rho)
    fast_rho: float = 0.9  # AR(1) coefficient of a faster latent jitter
    fast_sd: float = 0.7  # its stationary sd
    iid_sd: float = 0.02  # i.i.d. noise per output dimension (before the output scale)
    density: float = 0.3  # non-zero share of the mixing matrix
    bias_mean: float = 2.0  # ~1 sd of W z: about 15% of the outputs are exact zeros
    out_scale: float = 0.25  # keeps values in the range of pooled I3D activations


class FeatureModel:
    """The dataset-level parts (appearances, mixing) drawn once from ``rng``.

    ``num_classes`` A, ``dim`` D, ``background`` the ids of background classes.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        num_classes: int,
        dim: int,
        background: tuple[int, ...] = (),
        params: FeatureParams = FeatureParams(),
    ) -> None:
        p = self.params = params
        L = p.latent
        self.dim = dim
        A = rng.standard_normal((num_classes, L))
        actions = np.array([a for a in range(num_classes) if a not in background], dtype=np.int64)
        order = rng.permutation(actions)
        n_pairs = int(len(actions) * p.confusable_fraction) // 2
        self.confusable: list[tuple[int, int]] = []
        progress = p.progress_scale * rng.standard_normal((num_classes, L))
        curve = 0.5 * p.progress_scale * rng.standard_normal((num_classes, L))
        for k in range(n_pairs):  # b looks like a, and evolves like a, up to a small change
            a, b = int(order[2 * k]), int(order[2 * k + 1])
            d = p.confusable_distance
            A[b] = A[a] + d * rng.standard_normal(L)
            progress[b] = progress[a] + d * p.progress_scale * rng.standard_normal(L)
            curve[b] = curve[a] + 0.5 * d * p.progress_scale * rng.standard_normal(L)
            self.confusable.append((a, b))
        for a in background:
            A[a] *= 0.3
        self.appearance, self.progress, self.curve = A, progress, curve
        mask = rng.random((dim, L)) < p.density
        self.mixing = (np.abs(rng.standard_normal((dim, L))) * mask / np.sqrt(p.density * L))
        self.mixing = self.mixing.astype(np.float32)
        self.bias = (p.out_scale * (p.bias_mean + 0.3 * rng.standard_normal(dim))).astype(np.float32)

    def subject_style(self, rng: np.random.Generator) -> np.ndarray:
        """The style offset (L,) common to one subject's videos."""
        p = self.params
        return p.style_sd * np.sqrt(p.subject_share) * rng.standard_normal(p.latent)

    def latent(
        self,
        rng: np.random.Generator,
        actions: np.ndarray,
        lengths: np.ndarray,
        subject_style: np.ndarray | None = None,
    ) -> np.ndarray:
        """Latent sequence (T, L) float64 of one video with segments ``actions``, ``lengths`` (S,)."""
        p = self.params
        L = p.latent
        seg = np.repeat(np.arange(actions.size), lengths)
        a = actions[seg]
        c = segment_coherence(lengths).astype(np.float64)[:, None]
        seg_offset = p.segment_sd * rng.standard_normal((actions.size, L))
        style = p.style_sd * np.sqrt(1.0 - p.subject_share) * rng.standard_normal(L)
        if subject_style is not None:
            style = style + subject_style
        z = (
            self.appearance[a]
            + (c - 0.5) * self.progress[a]
            + (4.0 * c * (1.0 - c) - 2.0 / 3.0) * self.curve[a]
            + seg_offset[seg]
            + style
        )
        z = _blur(z, p.blur_frames)
        z += self._ar_noise(rng, z.shape[0], p.ar_rho, p.noise_sd)
        if p.fast_sd > 0:
            z += self._ar_noise(rng, z.shape[0], p.fast_rho, p.fast_sd)
        return z

    def _ar_noise(self, rng: np.random.Generator, T: int, rho: float, sd: float) -> np.ndarray:
        """Stationary AR(1) noise (T, L): innovations filtered by ``rho**k`` (FFT, truncated
        where the kernel falls below 1e-4), warm-started so frame 0 is already stationary."""
        L = self.params.latent
        K = 1 if rho <= 0 else max(1, int(np.ceil(np.log(1e-4) / np.log(rho))))
        h = rho ** np.arange(K, dtype=np.float64)
        innov = rng.standard_normal((T + K - 1, L)) * (sd / np.sqrt((h**2).sum()))
        n = 1 << int(np.ceil(np.log2(T + K - 1)))
        out = np.fft.irfft(np.fft.rfft(innov, n, axis=0) * np.fft.rfft(h, n)[:, None], n, axis=0)
        return out[K - 1 : K - 1 + T]

    def features(
        self,
        rng: np.random.Generator,
        actions: np.ndarray,
        lengths: np.ndarray,
        subject_style: np.ndarray | None = None,
    ) -> np.ndarray:
        """Features (D, T) float32, non-negative, of a video with segments (S,)."""
        z = self.latent(rng, actions, lengths, subject_style).astype(np.float32)
        gain = np.float32(np.exp(self.params.gain_sd * rng.standard_normal()))
        x = self.mixing @ z.T  # (D, T), C-contiguous
        x *= gain * np.float32(self.params.out_scale)
        x += self.bias[:, None]
        if self.params.iid_sd > 0:
            x += (self.params.iid_sd * self.params.out_scale) * rng.standard_normal(
                x.shape, dtype=np.float32
            )
        np.maximum(x, 0.0, out=x)
        return x


def _blur(z: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of (T, L) along T with edge padding; sigma in frames."""
    if sigma <= 0:
        return z
    r = max(1, int(round(3 * sigma)))
    w = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    w /= w.sum()
    padded = np.pad(z, ((r, r), (0, 0)), mode="edge")
    out = np.zeros_like(z)
    T = z.shape[0]
    for k, wk in enumerate(w):
        out += wk * padded[k : k + T]
    return out
