"""Training the TCA model on the frames of a dataset's training videos.

Shapes: T frames of a video, D feature width, d latent width, A classes, B batch.

Loss per batch (normalised feature space)::

    recon = mean_B ||x_hat - x||^2 / D            (per-dimension MSE)
    kl    = mean_B KL(q(z | x, a, c) || N(0, I))  (summed over d)
    loss  = recon + kl_weight * kl / D

``kl_weight = 1`` is the Gaussian ELBO with per-dimension decoder variance 1/2 (divided by D);
the codecs need an informative decoder (inversion refines codes, so a tight posterior matters
less than reconstruction), hence the small default in the recipes.

Memory: frames stay in the source's memory maps. When the normalised training frames fit in
``memory_budget`` bytes they are kept in one tensor; otherwise each epoch streams the videos in
shuffled blocks of at most ``memory_budget`` bytes. ``max_frames_per_epoch`` caps the frames
seen per epoch (sampled at random, proportionally per video in streaming mode).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..errors import TascodecError
from ..source import FrameSource
from .model import TCA
from .recipes import auto_model_dims
from ..segments import labels_to_segments, segment_coherence

__all__ = ["TrainReport", "feature_stats", "train_tca", "video_frames"]


@dataclass
class TrainReport:
    """What training did: epochs, final loss terms (last epoch's means), wall time, frames."""

    epochs: int
    loss: float
    recon: float
    kl: float
    wall_time_s: float
    frames: int  # training frames available
    frames_per_epoch: int
    in_memory: bool
    history: list[float] = field(default_factory=list)  # loss per epoch

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("epochs", "loss", "recon", "kl", "wall_time_s",
                                              "frames", "frames_per_epoch", "in_memory")}


def video_frames(source: FrameSource, video: str, num_classes: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(x (T, D) float32 view, a (T,) int64, c (T,) float32)`` of one video."""
    x = source.features(video)
    y = np.asarray(source.labels(video))
    dim = int(source.feature_dim)
    if x.ndim != 2 or x.shape[1] != dim:
        raise TascodecError(f"video {video!r}: features must be (T, {dim}), got {x.shape}")
    if y.shape != (x.shape[0],):
        raise TascodecError(f"video {video!r}: {y.shape[0] if y.ndim else 0} labels for "
                            f"{x.shape[0]} frames")
    if y.size == 0:
        raise TascodecError(f"video {video!r}: no frames")
    if y.min() < 0 or y.max() >= num_classes:
        raise TascodecError(f"video {video!r}: label out of range [0, {num_classes})")
    seg = labels_to_segments(y)
    return x, y.astype(np.int64), segment_coherence(seg.length)


def feature_stats(source: FrameSource, videos: list[str]) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-dimension mean and std (D,) float64 of all frames of ``videos`` (streamed), and T."""
    dim = int(source.feature_dim)
    count, mean, m2 = 0, np.zeros(dim), np.zeros(dim)
    for video in videos:
        x = np.asarray(source.features(video), dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != dim:
            raise TascodecError(f"video {video!r}: features must be (T, {dim}), got {x.shape}")
        if not np.isfinite(x).all():
            raise TascodecError(f"video {video!r}: features contain NaN or inf")
        n = x.shape[0]
        if n == 0:
            continue
        vm = x.mean(0)
        vm2 = ((x - vm) ** 2).sum(0)
        delta, total = vm - mean, count + n
        mean = mean + delta * (n / total)
        m2 = m2 + vm2 + delta**2 * (count * n / total)
        count = total
    if count == 0:
        raise TascodecError("training: the training videos hold no frames")
    return mean, np.sqrt(m2 / count), count


def _blocks(source: FrameSource, videos: list[str], norm: tuple[np.ndarray, np.ndarray],
            num_classes: int, budget: int, cap_fraction: float, rng: np.random.Generator
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Normalised ``(x (n, D), a (n,), c (n,))`` CPU blocks of at most ``budget`` bytes."""
    offset, scale = norm
    row = 4 * offset.size
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    size = 0

    def flush() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = (np.concatenate(xs) - offset) / scale
        out = (torch.from_numpy(x.astype(np.float32, copy=False)), torch.from_numpy(np.concatenate(ys)),
               torch.from_numpy(np.concatenate(cs)))
        xs.clear(), ys.clear(), cs.clear()
        return out

    for video in videos:
        x, y, c = video_frames(source, video, num_classes)
        idx = np.arange(x.shape[0])
        if cap_fraction < 1.0:
            keep = max(1, round(cap_fraction * idx.size))
            idx = np.sort(rng.choice(idx.size, size=keep, replace=False))
        if size and size + idx.size * row > budget:
            yield flush()
            size = 0
        xs.append(np.asarray(x[idx], dtype=np.float32))
        ys.append(y[idx])
        cs.append(c[idx])
        size += idx.size * row
    if xs:
        yield flush()


def train_tca(source: FrameSource, *, latent_dim: int | None = None,
              hidden_dim: int | None = None,
              epochs: int = 40, batch_size: int = 256, lr: float = 1e-3,
              kl_weight: float = 0.1, device: str = "cpu", seed: int = 0,
              progress: bool = True, max_frames_per_epoch: int | None = None,
              memory_budget: int = 1 << 30) -> tuple[TCA, TrainReport]:
    """Train a ``TCA`` on ``source.training_videos``; returns the model (eval mode) and a report.

    Deterministic for a given ``seed`` on CPU (it runs under a forked torch RNG, so the global
    generator is left alone).
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TascodecError(f"train_tca: {name} must be a positive integer, got {value!r}")
    if max_frames_per_epoch is not None and max_frames_per_epoch < 1:
        raise TascodecError(f"train_tca: max_frames_per_epoch must be >= 1, got {max_frames_per_epoch}")
    if not lr > 0 or not kl_weight >= 0:
        raise TascodecError(f"train_tca: lr must be > 0 and kl_weight >= 0, got {lr}, {kl_weight}")
    videos = list(source.training_videos)
    if not videos:
        raise TascodecError("train_tca: source.training_videos is empty")
    start = time.perf_counter()
    dev = torch.device(device)
    cuda = [dev.index if dev.index is not None else torch.cuda.current_device()] \
        if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        latent_dim, hidden_dim = auto_model_dims(int(source.feature_dim), latent_dim, hidden_dim)
        model = TCA(int(source.feature_dim), len(source.class_names), latent_dim, hidden_dim)
        mean, std, total = feature_stats(source, videos)
        model.set_normalization(mean, std)
        model.to(dev).train()
        norm = (model.feature_offset.cpu().numpy(), model.feature_scale.cpu().numpy())
        classes = model.num_classes
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)
        row = 4 * model.feature_dim
        in_memory = total * row <= memory_budget
        cached = None
        if in_memory:  # one tensor of every normalised frame, on the device
            block = next(_blocks(source, videos, norm, classes, 1 << 62, 1.0, rng))
            cached = tuple(t.to(dev) for t in block)
        per_epoch = total if max_frames_per_epoch is None else min(total, max_frames_per_epoch)
        history: list[float] = []
        terms = (float("nan"),) * 3
        bar = tqdm(range(epochs), desc="train TCA", unit="epoch", disable=not progress)
        for _ in bar:
            if cached is not None:
                order = torch.randperm(total, generator=gen)[:per_epoch].to(dev)
                blocks: Any = [tuple(t[order] for t in cached)]
            else:
                order_v = [videos[i] for i in rng.permutation(len(videos))]
                blocks = _blocks(source, order_v, norm, classes, memory_budget,
                                 per_epoch / total, rng)
            sums, n_seen = torch.zeros(3, dtype=torch.float64, device=dev), 0
            for xb, ab, cb in blocks:
                perm = torch.randperm(xb.shape[0], generator=gen).to(xb.device)
                for i in range(0, perm.numel(), batch_size):
                    j = perm[i:i + batch_size]
                    x, a, c = xb[j].to(dev), ab[j].to(dev), cb[j].to(dev)
                    x_hat, mu, logvar = model(x, a, c)
                    recon = (x_hat - x).pow(2).mean()
                    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
                    loss = recon + kl_weight * kl / model.feature_dim
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    b = j.numel()
                    sums += b * torch.stack([loss.detach(), recon.detach(), kl.detach()]).double()
                    n_seen += b
            terms = tuple((sums / max(n_seen, 1)).tolist())  # one sync per epoch
            history.append(float(terms[0]))
            bar.set_postfix(loss=f"{terms[0]:.4f}", recon=f"{terms[1]:.4f}", kl=f"{terms[2]:.1f}")
        bar.close()
    model.train(False)  # inference mode (dropout off)
    report = TrainReport(epochs=epochs, loss=float(terms[0]), recon=float(terms[1]),
                         kl=float(terms[2]), wall_time_s=time.perf_counter() - start,
                         frames=total, frames_per_epoch=int(per_epoch),
                         in_memory=bool(in_memory), history=history)
    return model, report
