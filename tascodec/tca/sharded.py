"""A TCA training step split over several ranks (``tascodec.runtime.parallel``), equal to one process's.

Shapes: B batch (rows drawn by every rank alike), b_r = the rows of rank r (``j[r::size]``),
D feature width, d latent width.

Every rank holds the same training frames and draws the same permutation, so a batch ``j`` is
known to all; rank r takes rows ``j[r::size]`` and the same rows of the batch's noise (drawn
whole, (B, d), from the generator every rank seeded alike, as the one-process forward draws
it). Its loss is its rows' share of the batch mean, times ``size``::

    loss_r = size * (sum_{rows of r} ||x_hat - x||^2 / (B D) + kl_weight sum_{rows of r} KL / (B D))

so DistributedDataParallel's gradient average, ``(1 / size) sum_r grad loss_r``, is the
gradient of the one-process batch mean (equal in exact arithmetic; in floating point the sums
are grouped differently, hence "within float tolerance").
"""

from __future__ import annotations

import inspect
from typing import Any

import torch

from ..runtime.parallel import current
from ..runtime.world import World
from .model import TCA

__all__ = ["ShardedStep", "sharded_step"]


class _Forward(torch.nn.Module):
    """``TCA.forward`` with the noise given: what DistributedDataParallel wraps."""

    def __init__(self, model: TCA) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, a: torch.Tensor, c: torch.Tensor, eps: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.model.encode(x, a, c)
        z = mu + eps * torch.exp(0.5 * logvar)
        return self.model.decode(z, a, c), mu, logvar


class ShardedStep:
    """One Adam step on this rank's rows of a batch; ``epoch_sums`` adds up the ranks' terms."""

    def __init__(self, model: TCA, opt: torch.optim.Optimizer, kl_weight: float,
                 world: World, dev: torch.device) -> None:
        from torch.nn.parallel import DistributedDataParallel  # lazy: torch

        self.model, self.opt, self.kl_weight, self.world = model, opt, kl_weight, world
        # the buffers (normalisation) are equal on every rank: not re-sent before each step
        takes = inspect.signature(DistributedDataParallel).parameters
        no_sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in takes
                   else {"broadcast_buffers": False})
        # one GPU per rank (world.World.device_for: cuda:LOCAL_RANK); an index-less
        # "cuda" is the rank's current device
        gpu = None if dev.type != "cuda" else [
            dev.index if dev.index is not None else torch.cuda.current_device()]
        self.net = DistributedDataParallel(_Forward(model), device_ids=gpu, **no_sync)

    def __call__(self, xb: torch.Tensor, ab: torch.Tensor, cb: torch.Tensor, j: torch.Tensor
                 ) -> torch.Tensor:
        """Train on batch ``j`` (rows of the cached ``xb`` (n, D), ``ab``, ``cb``); returns this
        rank's share of ``B * [loss, recon, kl]`` (3,) float64."""
        world, model = self.world, self.model
        batch, dim = j.numel(), model.feature_dim
        eps = torch.randn((batch, model.latent_dim), device=xb.device, dtype=xb.dtype)
        rows = j[world.rank::world.size]
        x, a, c = xb[rows], ab[rows], cb[rows]
        x_hat, mu, logvar = self.net(x, a, c, eps[world.rank::world.size])
        recon = (x_hat - x).pow(2).sum() / (batch * dim)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum() / batch
        loss = recon + self.kl_weight * kl / dim
        self.opt.zero_grad(set_to_none=True)
        (loss * world.size).backward()
        self.opt.step()
        return batch * torch.stack([loss.detach(), recon.detach(), kl.detach()]).double()

    def epoch_sums(self, sums: torch.Tensor) -> torch.Tensor:
        """The ranks' ``sums`` (3,) added up: the one-process epoch sums."""
        host = sums.cpu().numpy().copy()
        self.world.all_reduce_sum_(host, "TCA training")
        return torch.from_numpy(host).to(sums.device)


def sharded_step(model: TCA, opt: torch.optim.Optimizer, kl_weight: float,
                 dev: torch.device) -> Any:
    """A ``ShardedStep`` when this encode runs on several ranks, else None."""
    world = current()
    return ShardedStep(model, opt, kl_weight, world, dev) if world.distributed else None
