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

Data: one pass over the training videos (``tascodec.tca.frames``) gathers the statistics,
the held-out slice and the training frames, normalised, in one tensor on the device: every
frame when they fit in ``memory_budget`` bytes, else a uniform sample of as many as fit. An
epoch is a pass over that tensor, so training reads the dataset once and costs the same at
any dataset size beyond the budget. ``memory_budget=None`` (the ``paper`` recipe) is what fits
the device (``frames.fitting_budget``), with a ``RuntimeWarning`` when the frames still do
not fit and training samples them.

The reparameterisation noise comes from the training device's generator (seeded with
``seed``): on CUDA it is another stream than on the CPU, so a CUDA training and a CPU training
with one seed are two trainings, not one rounded twice (``tascodec.runtime.determinism``).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..dataset.source import FrameSource
from ..errors import TascodecError
from ..runtime.determinism import deterministic_algorithms
from ..runtime.devices import cuda_rng_devices, resolve_device
from ..runtime.parallel import current
from ..units import format_bytes
from .frames import (HOLDOUT_BLOCK, MAX_HELDOUT_FRAMES, RELATIVE_SCALE_FLOOR, TrainingFrames,
                     feature_stats, fitting_budget, gather_training_frames, heldout_mask,
                     robust_scale, video_frames)
from .model import TCA
from .recipes import auto_model_dims
from .sharded import sharded_step

__all__ = ["TrainReport", "feature_stats", "robust_scale", "train_tca", "training_frames",
           "video_frames",
           "heldout_mask", "HOLDOUT_BLOCK", "MAX_HELDOUT_FRAMES", "RELATIVE_SCALE_FLOOR"]


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
    in_memory: bool  # every available frame trained on (else a uniform sample)
    history: list[float] = field(default_factory=list)  # loss per epoch
    heldout: list[float] = field(default_factory=list)  # held-out reconstruction per epoch
    best_heldout: float | None = None  # the kept epoch's held-out reconstruction

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("epochs", "loss", "recon", "kl", "wall_time_s",
                                              "frames", "frames_per_epoch", "in_memory")}


def train_tca(source: FrameSource, *, latent_dim: int | None = None,
              hidden_dim: int | None = None,
              epochs: int = 40, batch_size: int = 256, lr: float = 1e-3,
              kl_weight: float = 0.1, device: str = "cpu", seed: int = 0,
              progress: bool = True, max_frames_per_epoch: int | None = None,
              memory_budget: int | None = 1 << 30, patience: int | None = None,
              holdout: float = 0.05, deterministic: bool = False,
              frames: TrainingFrames | None = None) -> tuple[TCA, TrainReport]:
    """Train a ``TCA`` on ``source.training_videos``; returns the model (eval mode) and a report.

    ``epochs``: passes over the training frames, at most; ``patience``: epochs without
    improvement of the held-out reconstruction before stopping (``None``: run every epoch,
    nothing held out); ``holdout``: the fraction of frames held out for that check;
    ``frames``: what ``training_frames`` gathered with these settings (read now when absent).

    Deterministic for a given ``seed`` on CPU (it runs under a forked torch RNG, so the global
    generator is left alone); on CUDA only with ``deterministic=True`` (the call runs inside
    ``tascodec.runtime.determinism.deterministic_algorithms``: deterministic kernels, TF32 off, the
    caller's settings restored after).
    """
    with deterministic_algorithms(deterministic):
        return _train_tca(source, latent_dim=latent_dim, hidden_dim=hidden_dim, epochs=epochs,
                          batch_size=batch_size, lr=lr, kl_weight=kl_weight, device=device,
                          seed=seed, progress=progress,
                          max_frames_per_epoch=max_frames_per_epoch,
                          memory_budget=memory_budget, patience=patience, holdout=holdout,
                          frames=frames)


def _train_tca(source: FrameSource, *, latent_dim: int | None, hidden_dim: int | None,
               epochs: int, batch_size: int, lr: float, kl_weight: float, device: str,
               seed: int, progress: bool, max_frames_per_epoch: int | None,
               memory_budget: int | None, patience: int | None, holdout: float,
               frames: TrainingFrames | None) -> tuple[TCA, TrainReport]:
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
        if frames is None:
            frames = training_frames(source, holdout=holdout, patience=patience, seed=seed,
                                     memory_budget=memory_budget, device=str(dev))
        model.set_normalization(frames.mean, frames.scale)
        model.to(dev).train()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        gen = torch.Generator().manual_seed(seed)
        held = None if frames.held is None else tuple(torch.from_numpy(t).to(dev)
                                                      for t in frames.held)
        cached = tuple(torch.from_numpy(t).to(dev) for t in (frames.x, frames.a, frames.c))
        total, available, sampled = int(frames.x.shape[0]), frames.available, frames.sampled
        del frames  # on the CPU the tensors share the arrays' memory: no second copy
        best, best_state, stale = float("inf"), None, 0
        sharded = sharded_step(model, opt, kl_weight, dev)  # None in one process
        per_epoch = total if max_frames_per_epoch is None else min(total, max_frames_per_epoch)
        history: list[float] = []
        heldout_history: list[float] = []
        terms = (float("nan"),) * 3
        bar = tqdm(range(epochs), desc="train TCA", unit="epoch", disable=not progress)
        for _ in bar:
            order = torch.randperm(total, generator=gen)[:per_epoch].to(dev)
            sums, n_seen = torch.zeros(3, dtype=torch.float64, device=dev), 0
            xb, ab, cb = cached
            perm = order[torch.randperm(order.numel(), generator=gen).to(dev)]
            for i in range(0, perm.numel(), batch_size):
                j = perm[i:i + batch_size]
                if sharded is not None:  # this rank's rows (tca/sharded.py)
                    sums += sharded(xb, ab, cb, j)
                    n_seen += j.numel()
                    continue
                x, a, c = xb[j], ab[j], cb[j]
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
            if sharded is not None:
                sums = sharded.epoch_sums(sums)
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
                         frames=available, frames_per_epoch=int(per_epoch),
                         in_memory=not sampled, history=history,
                         heldout=heldout_history,
                         best_heldout=None if best_state is None else float(best))
    return model, report


def training_frames(source: FrameSource, *, holdout: float = 0.05,
                    patience: int | None = None, seed: int = 0,
                    memory_budget: int | None = 1 << 30, width_frames: int | None = None,
                    device: str | None = None, **_: Any) -> TrainingFrames:
    """The one pass over ``source.training_videos`` that ``train_tca`` with the same settings
    trains on (takes ``train_tca``'s keywords; held-out frames only with ``patience``).

    ``memory_budget=None``: ``fitting_budget`` of ``device`` (default ``source.device``, else
    the CPU), and a ``RuntimeWarning`` (rank 0) when the frames are sampled even so."""

    budget = memory_budget
    if budget is None:
        device = device or getattr(source, "device", None) or "cpu"
        budget = fitting_budget(device)
    frames = gather_training_frames(source, list(source.training_videos),
                                    len(source.class_names),
                                    holdout=holdout if patience else 0.0, seed=seed,
                                    memory_budget=budget, width_frames=width_frames)
    if memory_budget is None and frames.sampled and current().is_main:
        where = ("the host's available memory" if not str(device).startswith("cuda") else
                 f"the free memory of {device} and of the host")
        warnings.warn(
            f"training: the {frames.available:,} training frames "
            f"({format_bytes(4 * frames.available * frames.x.shape[1])} as float32) do not "
            f"fit in {format_bytes(budget)} (half {where}): training on a uniform sample of "
            f"{frames.x.shape[0]:,} ({frames.x.shape[0] / frames.available:.1%})",
            RuntimeWarning, stacklevel=2)
    return frames


@torch.no_grad()
def _heldout_recon(model: TCA, held: tuple[torch.Tensor, ...]) -> float:
    """Per-dimension MSE (normalised) of the held-out frames decoded from the encoder's mean.

    On several ranks each scores every ``size``-th block of 8192 frames and the sum is shared,
    so every rank takes the same early-stopping decision."""

    world = current()
    x, a, c = held
    model.train(False)
    err = 0.0
    for i in range(8192 * world.rank, x.shape[0], 8192 * world.size):
        mu, _ = model.encode(x[i:i + 8192], a[i:i + 8192], c[i:i + 8192])
        err += float((model.decode(mu, a[i:i + 8192], c[i:i + 8192]) - x[i:i + 8192]).pow(2).sum())
    model.train()
    if world.distributed:
        err = float(world.all_reduce_sum_(np.array([err]), "the held-out check")[0])
    return err / (x.shape[0] * x.shape[1])
