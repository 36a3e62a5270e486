"""Training the TCA model on the frames of a dataset's training videos.

Shapes: T frames of a video, D feature width, d latent width, A classes, B batch.

Loss per batch (normalised feature space)::

    recon = mean_B ||x_hat - x||^2 / D            (per-dimension MSE)
    kl    = mean_B KL(q(z | x, a, c) || N(0, I))  (summed over d)
    loss  = recon + kl_weight * kl / D

``kl_weight = 1`` is the Gaussian ELBO with per-dimension decoder variance 1/2 (divided by D);
the codecs need an informative decoder (inversion refines codes, so a tight posterior matters
less than reconstruction), hence the small default in the recipes.

Budget: ``epochs`` counts passes over the training frames (``max_frames_per_epoch`` caps an
epoch to a random sample of that many frames). With ``patience`` set, a held-out slice of the
training frames (``holdout``, in blocks of 16 consecutive frames, so neighbouring frames
cannot leak between the two sides; at most ``MAX_HELDOUT_FRAMES``) is scored after every epoch
(reconstruction from the encoder's mean) and training stops once ``patience`` epochs in a row
failed to improve it by 0.1%; the best epoch's weights are kept. Training is then only as long
as it pays for, whatever the size of the dataset.

Memory: frames stay in the source's memory maps. When the normalised training frames fit in
``memory_budget`` bytes they are kept in one tensor on the device; otherwise each epoch streams
the videos in shuffled host blocks of at most ``memory_budget`` bytes (sampled proportionally
per video when ``max_frames_per_epoch`` caps the epoch), whose batches reach the device through
``tascodec.prefetch``: on CUDA gathered into page-locked memory and copied without blocking on
a side stream one batch ahead, so copies overlap the compute.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..determinism import deterministic_algorithms
from ..devices import cuda_rng_devices, resolve_device
from ..errors import TascodecError
from ..prefetch import gather_rows, prefetch_to_device
from ..source import FrameSource
from .model import TCA
from .recipes import auto_model_dims
from ..segments import labels_to_segments, segment_coherence

__all__ = ["TrainReport", "feature_stats", "robust_scale", "train_tca", "video_frames"]

HOLDOUT_BLOCK = 16  # frames per held-out block
MAX_HELDOUT_FRAMES = 65536
#: a channel's scale is at least this fraction of its root-mean-square magnitude
RELATIVE_SCALE_FLOOR = 1e-3


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
    heldout: list[float] = field(default_factory=list)  # held-out reconstruction per epoch
    best_heldout: float | None = None  # the kept epoch's held-out reconstruction

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


def robust_scale(mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Per-channel normalisation scale (D,): the std, floored relative to the channel's size.

    Raw channels (kinematics, sensor readings) can differ in scale by orders of magnitude, which
    per-channel standardisation absorbs; what it cannot absorb is a (nearly) constant channel,
    whose std is rounding noise: dividing by it would blow that noise up to unit variance.
    The floor ``RELATIVE_SCALE_FLOOR * sqrt(mean^2 + std^2)`` keeps such a channel near zero
    after normalisation, whatever its units.
    """
    rms = np.sqrt(np.square(mean) + np.square(std))
    return np.maximum(std, RELATIVE_SCALE_FLOOR * rms)


def heldout_mask(num_frames: int, video_index: int, fraction: float, seed: int) -> np.ndarray:
    """(T,) bool: the frames of one video held out for early stopping (whole 16-frame blocks)."""
    if fraction <= 0:
        return np.zeros(num_frames, dtype=bool)
    blocks = -(-num_frames // HOLDOUT_BLOCK)
    pick = np.random.default_rng([seed, video_index, 0x7ca]).random(blocks) < fraction
    return np.repeat(pick, HOLDOUT_BLOCK)[:num_frames]


def _blocks(source: FrameSource, videos: list[str], norm: tuple[np.ndarray, np.ndarray],
            num_classes: int, budget: int, cap_fraction: float, rng: np.random.Generator,
            keep: dict[str, np.ndarray] | None = None
            ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Normalised ``(x (n, D), a (n,), c (n,))`` CPU blocks of at most ``budget`` bytes.

    ``keep[video]`` (T,) bool selects the frames of a video (all when absent).
    """
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
        if keep is not None and video in keep:
            idx = idx[keep[video]]
        if cap_fraction < 1.0:
            n_keep = max(1, round(cap_fraction * idx.size))
            idx = np.sort(rng.choice(idx, size=n_keep, replace=False))
        if size and size + idx.size * row > budget:
            yield flush()
            size = 0
        xs.append(np.asarray(x[idx], dtype=np.float32))
        ys.append(y[idx])
        cs.append(c[idx])
        size += idx.size * row
    if xs:
        yield flush()


def _cached_batches(cached: tuple[torch.Tensor, ...], order: torch.Tensor, batch_size: int,
                    gen: torch.Generator) -> Iterator[tuple[torch.Tensor, ...]]:
    """One epoch's ``(x (B, D), a (B,), c (B,))`` batches of the device cache: rows ``order``
    (on the cache's device) shuffled by ``gen`` (a CPU generator)."""
    perm = order[torch.randperm(order.numel(), generator=gen).to(order.device)]
    for i in range(0, perm.numel(), batch_size):
        j = perm[i:i + batch_size]
        yield tuple(t[j] for t in cached)


def _host_batches(blocks: Iterator[tuple[torch.Tensor, ...]], batch_size: int,
                  gen: torch.Generator, dev: torch.device
                  ) -> Iterator[tuple[torch.Tensor, ...]]:
    """Shuffled ``(x (B, D), a (B,), c (B,))`` host batches of each host block in turn,
    gathered into page-locked memory when ``dev`` is CUDA (``prefetch.gather_rows``)."""
    for block in blocks:
        perm = torch.randperm(block[0].shape[0], generator=gen)
        for i in range(0, perm.numel(), batch_size):
            j = perm[i:i + batch_size]
            yield tuple(gather_rows(t, j, dev) for t in block)


def train_tca(source: FrameSource, *, latent_dim: int | None = None,
              hidden_dim: int | None = None,
              epochs: int = 40, batch_size: int = 256, lr: float = 1e-3,
              kl_weight: float = 0.1, device: str = "cpu", seed: int = 0,
              progress: bool = True, max_frames_per_epoch: int | None = None,
              memory_budget: int = 1 << 30, patience: int | None = None,
              holdout: float = 0.05, deterministic: bool = False) -> tuple[TCA, TrainReport]:
    """Train a ``TCA`` on ``source.training_videos``; returns the model (eval mode) and a report.

    ``epochs``: passes over the training frames, at most; ``patience``: epochs without
    improvement of the held-out reconstruction before stopping (``None``: run every epoch,
    nothing held out); ``holdout``: the fraction of frames held out for that check.

    Deterministic for a given ``seed`` on CPU (it runs under a forked torch RNG, so the global
    generator is left alone); on CUDA only with ``deterministic=True`` (the call runs inside
    ``tascodec.determinism.deterministic_algorithms``: deterministic kernels, TF32 off, the
    caller's settings restored after).
    """
    with deterministic_algorithms(deterministic):
        return _train_tca(source, latent_dim=latent_dim, hidden_dim=hidden_dim, epochs=epochs,
                          batch_size=batch_size, lr=lr, kl_weight=kl_weight, device=device,
                          seed=seed, progress=progress,
                          max_frames_per_epoch=max_frames_per_epoch,
                          memory_budget=memory_budget, patience=patience, holdout=holdout)


def _train_tca(source: FrameSource, *, latent_dim: int | None, hidden_dim: int | None,
               epochs: int, batch_size: int, lr: float, kl_weight: float, device: str,
               seed: int, progress: bool, max_frames_per_epoch: int | None,
               memory_budget: int, patience: int | None, holdout: float
               ) -> tuple[TCA, TrainReport]:
    """``train_tca`` under the caller's determinism settings."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise TascodecError(f"train_tca: {name} must be a positive integer, got {value!r}")
    if max_frames_per_epoch is not None and max_frames_per_epoch < 1:
        raise TascodecError(f"train_tca: max_frames_per_epoch must be >= 1, got {max_frames_per_epoch}")
    if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int)
                                 or patience < 1):
        raise TascodecError(f"train_tca: patience must be a positive integer or None, got {patience!r}")
    if patience is not None and not 0 < holdout < 0.5:
        raise TascodecError(f"train_tca: holdout must be in (0, 0.5), got {holdout!r}")
    if not lr > 0 or not kl_weight >= 0:
        raise TascodecError(f"train_tca: lr must be > 0 and kl_weight >= 0, got {lr}, {kl_weight}")
    videos = list(source.training_videos)
    if not videos:
        raise TascodecError("train_tca: source.training_videos is empty")
    start = time.perf_counter()
    dev = resolve_device(device)
    with torch.random.fork_rng(devices=cuda_rng_devices()):
        torch.manual_seed(seed)
        latent_dim, hidden_dim = auto_model_dims(int(source.feature_dim), latent_dim, hidden_dim)
        model = TCA(int(source.feature_dim), len(source.class_names), latent_dim, hidden_dim)
        mean, std, total = feature_stats(source, videos)
        model.set_normalization(mean, robust_scale(mean, std))
        model.to(dev).train()
        norm = (model.feature_offset.cpu().numpy(), model.feature_scale.cpu().numpy())
        classes = model.num_classes
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)
        row = 4 * model.feature_dim
        keep, held = _split_heldout(source, videos, norm, classes, holdout if patience else 0.0,
                                    seed)
        if held is not None:
            held = tuple(t.to(dev) for t in held)
            total -= sum(int((~k).sum()) for k in keep.values())
        in_memory = total * row <= memory_budget
        cached = None
        if in_memory:  # one tensor of every normalised frame, on the device
            block = next(_blocks(source, videos, norm, classes, 1 << 62, 1.0, rng, keep))
            cached = tuple(t.to(dev) for t in block)
        best, best_state, stale = float("inf"), None, 0
        per_epoch = total if max_frames_per_epoch is None else min(total, max_frames_per_epoch)
        history: list[float] = []
        heldout_history: list[float] = []
        terms = (float("nan"),) * 3
        bar = tqdm(range(epochs), desc="train TCA", unit="epoch", disable=not progress)
        for _ in bar:
            if cached is not None:  # batches index the cache: no permuted copy of it
                order = torch.randperm(total, generator=gen)[:per_epoch].to(dev)
                batches: Any = _cached_batches(cached, order, batch_size, gen)
            else:  # host blocks, batches copied to the device one batch ahead
                order_v = [videos[i] for i in rng.permutation(len(videos))]
                blocks = _blocks(source, order_v, norm, classes, memory_budget,
                                 per_epoch / total, rng, keep)
                batches = prefetch_to_device(_host_batches(blocks, batch_size, gen, dev), dev)
            sums, n_seen = torch.zeros(3, dtype=torch.float64, device=dev), 0
            for x, a, c in batches:
                x_hat, mu, logvar = model(x, a, c)
                recon = (x_hat - x).pow(2).mean()
                kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
                loss = recon + kl_weight * kl / model.feature_dim
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                b = x.shape[0]
                sums += b * torch.stack([loss.detach(), recon.detach(), kl.detach()]).double()
                n_seen += b
            terms = tuple((sums / max(n_seen, 1)).tolist())  # one sync per epoch
            history.append(float(terms[0]))
            bar.set_postfix(loss=f"{terms[0]:.4f}", recon=f"{terms[1]:.4f}", kl=f"{terms[2]:.1f}")
            if held is not None:
                score = _heldout_recon(model, held)
                heldout_history.append(score)
                if score < best * (1 - 1e-3):
                    best, stale = score, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    stale += 1
                    if stale >= patience:
                        break
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
    model.train(False)  # inference mode (dropout off)
    report = TrainReport(epochs=len(history), loss=float(terms[0]), recon=float(terms[1]),
                         kl=float(terms[2]), wall_time_s=time.perf_counter() - start,
                         frames=total, frames_per_epoch=int(per_epoch),
                         in_memory=bool(in_memory), history=history,
                         heldout=heldout_history,
                         best_heldout=None if best_state is None else float(best))
    return model, report


def _split_heldout(source: FrameSource, videos: list[str], norm: tuple[np.ndarray, np.ndarray],
                   num_classes: int, fraction: float, seed: int
                   ) -> tuple[dict[str, np.ndarray] | None, tuple[torch.Tensor, ...] | None]:
    """(frames kept for training per video, held-out ``(x, a, c)``) or (None, None)."""
    if fraction <= 0:
        return None, None
    keep, parts = {}, []
    for v, video in enumerate(videos):
        mask = heldout_mask(int(np.shape(source.features(video))[0]), v, fraction, seed)
        if mask.all():  # a video shorter than one block stays in training
            mask[:] = False
        keep[video] = ~mask
        if mask.any():
            x, y, c = video_frames(source, video, num_classes)
            parts.append((np.asarray(x[mask], dtype=np.float32), y[mask], c[mask]))
    if not parts:
        return None, None
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    if x.shape[0] > MAX_HELDOUT_FRAMES:  # evenly thinned: the check stays cheap at any size
        pick = np.linspace(0, x.shape[0] - 1, MAX_HELDOUT_FRAMES).astype(np.int64)
        x, y, c = x[pick], y[pick], c[pick]
    offset, scale = norm
    xn = ((x - offset) / scale).astype(np.float32)
    return keep, (torch.from_numpy(xn), torch.from_numpy(y), torch.from_numpy(c))


@torch.no_grad()
def _heldout_recon(model: TCA, held: tuple[torch.Tensor, ...]) -> float:
    """Per-dimension MSE (normalised) of the held-out frames decoded from the encoder's mean."""
    x, a, c = held
    model.train(False)
    err = 0.0
    for i in range(0, x.shape[0], 8192):
        mu, _ = model.encode(x[i:i + 8192], a[i:i + 8192], c[i:i + 8192])
        err += float((model.decode(mu, a[i:i + 8192], c[i:i + 8192]) - x[i:i + 8192]).pow(2).sum())
    model.train()
    return err / (x.shape[0] * x.shape[1])
