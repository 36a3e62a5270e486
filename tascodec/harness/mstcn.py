"""MS-TCN (Abu Farha & Gall, CVPR 2019): the segmentation model of the fidelity harness.

Shapes: B batch, D feature width, T frames, A classes, S stages, F feature maps.

* ``MSTCN(...)(x, mask)``: x (B, D, T) float32, mask (B, T) or (B, C, T) (1 = real frame,
  0 = padding; the (B, C, T) form is what ``TaszDataset.collate`` and the reference MS-TCN
  code build, C = 1 or the class count, every channel the same) -> logits (S, B, A, T). Stage 1 maps D -> F with a 1x1 conv, runs ``num_layers`` dilated
  residual layers (dilation 2^i, kernel 3, ReLU, 1x1 conv, dropout, residual) and a 1x1 conv
  F -> A; every later stage reads the softmax of the previous stage's output.
* ``mstcn_loss``: per stage, cross-entropy (labels -100 ignored) plus ``0.15 x`` the truncated
  smoothing term ``mean_{t,a} min(|log p_t(a) - log p_{t-1}(a)|, tau)^2`` (tau = 4, frame t-1
  detached as in the reference code), summed over stages.
* ``train_mstcn(items, ...)``: Adam (lr 5e-4), batch size 1 by default; ``items`` yields
  (features (D, T), labels (T,)) pairs (extra tuple fields, e.g. a video name, are ignored):
  arrays, or tensors, which stay on their device (items already on the training device are
  trained on as they are: no host round trip; host items are padded in pinned memory and
  copied without blocking).
* ``predict(model, features (D, T)) -> labels (T,)``: argmax of the last stage.
* ``fit(build, items, ...)``: the training loop ``train_mstcn`` and ``asformer.train_asformer``
  share (``build(D) -> (model, optimiser, after_epoch)``), with ``input_mask`` and
  ``check_training_args`` the checks both models run.

Training is deterministic for a seed on CPU (on CUDA inside
``tascodec.runtime.determinism.deterministic_algorithms``) and leaves torch's global RNG untouched.
A step never waits for the device: the epoch's loss is summed there and read once per epoch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..runtime.devices import cuda_rng_devices, resolve_device
from ..errors import TascodecError
from .seg_batches import IGNORE_INDEX, as_pair, pad_batch

__all__ = [
    "MSTCN",
    "DilatedResidualLayer",
    "SingleStage",
    "IGNORE_INDEX",
    "smoothing_loss",
    "mstcn_loss",
    "train_mstcn",
    "fit",
    "check_training_args",
    "input_mask",
    "predict",
]

def input_mask(model: str, dim: int, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Check a model's input x (B, dim, T) and mask (B, T) | (B, C, T) | None; the mask as
    (B, 1, T) in x's dtype (all ones when None). A (B, C, T) mask (``collate``'s, the
    reference code's ``mask[:, 0:1, :]`` convention) must hold the same values in every
    channel: checked on the CPU; on another device channel 0 is used unchecked, since the
    check would wait for the device on every forward (a host sync per training step).
    Errors name ``model``."""
    if x.dim() != 3 or x.shape[1] != dim:
        raise TascodecError(f"{model}: input must be (B, {dim}, T), got {tuple(x.shape)}")
    if mask is None:
        return x.new_ones(x.shape[0], 1, x.shape[2])
    b, t = x.shape[0], x.shape[2]
    if mask.dim() == 3 and mask.shape[0] == b and mask.shape[2] == t and mask.shape[1] >= 1:
        m = mask.to(x.dtype)
        if (mask.shape[1] > 1 and mask.device.type == "cpu"
                and not torch.equal(m, m[:, :1].expand_as(m))):
            raise TascodecError(f"{model}: a (B, C, T) mask must be the same in every channel")
        return m[:, :1]
    if mask.shape != (b, t):
        raise TascodecError(
            f"{model}: mask must be (B, T) = {(b, t)} or (B, C, T) = ({b}, C, {t}), got "
            f"{tuple(mask.shape)}"
        )
    return mask.to(x.dtype).unsqueeze(1)


class DilatedResidualLayer(nn.Module):
    """(B, F, T) -> (B, F, T): dilated conv (k = 3), ReLU, 1x1 conv, dropout, residual, mask."""

    def __init__(self, dilation: int, channels: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv_dilated = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.conv_1x1 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        out = self.dropout(self.conv_1x1(F.relu(self.conv_dilated(x))))
        return (x + out) * mask


class SingleStage(nn.Module):
    """One stage: (B, D_in, T) -> logits (B, A, T)."""

    def __init__(
        self, num_layers: int, num_f_maps: int, dim: int, num_classes: int, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.conv_in = nn.Conv1d(dim, num_f_maps, 1)
        self.layers = nn.ModuleList(
            DilatedResidualLayer(2**i, num_f_maps, dropout) for i in range(num_layers)
        )
        self.conv_out = nn.Conv1d(num_f_maps, num_classes, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Masking the input projection too makes padded frames exact zeros, so a padded video's
        # real frames score as they would alone (the reference masks only later layers).
        out = self.conv_in(x) * mask
        for layer in self.layers:
            out = layer(out, mask)
        return self.conv_out(out) * mask


class MSTCN(nn.Module):
    """Multi-stage TCN: x (B, D, T), mask (B, T), (B, C, T) (``collate``'s) or None -> logits
    (S, B, A, T)."""

    def __init__(
        self,
        num_stages: int = 4,
        num_layers: int = 10,
        num_f_maps: int = 64,
        dim: int = 2048,
        num_classes: int = 48,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        for name, value in (
            ("num_stages", num_stages),
            ("num_layers", num_layers),
            ("num_f_maps", num_f_maps),
            ("dim", dim),
            ("num_classes", num_classes),
        ):
            if int(value) < 1:
                raise TascodecError(f"MSTCN: {name} must be >= 1, got {value}")
        self.num_classes = int(num_classes)
        self.dim = int(dim)
        self.stages = nn.ModuleList(
            [SingleStage(num_layers, num_f_maps, dim, num_classes, dropout)]
            + [
                SingleStage(num_layers, num_f_maps, num_classes, num_classes, dropout)
                for _ in range(num_stages - 1)
            ]
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        m = input_mask("MSTCN", self.dim, x, mask)
        out = self.stages[0](x, m)
        outputs = [out]
        for stage in self.stages[1:]:
            out = stage(F.softmax(out, dim=1) * m, m)
            outputs.append(out)
        return torch.stack(outputs, dim=0)


def smoothing_loss(
    logits: torch.Tensor, mask: torch.Tensor | None = None, tau: float = 4.0
) -> torch.Tensor:
    """Truncated MSE on log-probability differences over time (scalar).

    logits (B, A, T); mask (B, T). Averages ``min(|log p_t - sg(log p_{t-1})|, tau)^2`` over
    classes and over the frame pairs whose two frames are both real; 0 when there is none.
    """
    logp = F.log_softmax(logits, dim=1)
    diff = logp[:, :, 1:] - logp.detach()[:, :, :-1]
    sq = torch.clamp(diff * diff, max=tau * tau)
    if mask is None:
        return sq.mean() if sq.numel() else logits.sum() * 0.0
    m = mask.to(logits.dtype)
    pair = (m[:, 1:] * m[:, :-1]).unsqueeze(1)  # (B, 1, T-1)
    denom = pair.sum() * logits.shape[1]
    # No host sync: with no real frame pair the numerator is 0 too, and 0 / 1 = 0.
    return (sq * pair).sum() / denom.clamp_min(1.0)


def mstcn_loss(
    outputs: torch.Tensor,
    labels: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    smooth_weight: float = 0.15,
    tau: float = 4.0,
) -> torch.Tensor:
    """Sum over stages of CE + smooth_weight x smoothing; outputs (S, B, A, T), labels (B, T)."""
    total = outputs.new_zeros(())
    num_classes = outputs.shape[2]
    for stage_logits in outputs:
        ce = F.cross_entropy(
            stage_logits.transpose(1, 2).reshape(-1, num_classes),
            labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
        )
        total = total + ce + smooth_weight * smoothing_loss(stage_logits, mask, tau)
    return total


def train_mstcn(
    train_items: Iterable[Any],
    *,
    num_classes: int,
    epochs: int = 50,
    lr: float = 5e-4,
    seed: int = 0,
    device: str | torch.device | None = "cpu",
    progress: bool = True,
    batch_size: int = 1,
    num_stages: int = 4,
    num_layers: int = 10,
    num_f_maps: int = 64,
    history: list[float] | None = None,
) -> MSTCN:
    """Train an MS-TCN on (features (D, T), labels (T,)) items; returns it in eval mode.

    ``train_items`` may be a sequence (indexed afresh each epoch, so a lazily decoding dataset
    decodes per access) or any iterable (read once into memory). Videos are shuffled each
    epoch with a generator seeded by ``seed``. Mean loss per epoch is appended to ``history``.
    """
    check_training_args(epochs=epochs, batch_size=batch_size, lr=lr, num_classes=num_classes)
    dev = resolve_device(device)

    def build(dim: int) -> tuple[nn.Module, torch.optim.Optimizer, None]:
        model = MSTCN(num_stages, num_layers, num_f_maps, dim, num_classes).to(dev)
        return model, torch.optim.Adam(model.parameters(), lr=lr), None

    return fit(build, train_items, num_classes=num_classes, epochs=epochs, seed=seed,
               device=dev, progress=progress, batch_size=batch_size, history=history,
               desc="MS-TCN")


def check_training_args(*, epochs: int, batch_size: int, lr: float, num_classes: int) -> None:
    """The arguments every harness model's training takes: epochs, batch_size and num_classes
    >= 1, lr > 0; an error naming the first that is not."""
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value < 1:
            raise TascodecError(f"{name} must be >= 1, got {value}")
    if lr <= 0:
        raise TascodecError(f"lr must be > 0, got {lr}")
    if num_classes < 1:
        raise TascodecError(f"num_classes must be >= 1, got {num_classes}")


def fit(
    build: Callable[[int], tuple[Any, torch.optim.Optimizer, Callable[[float], Any] | None]],
    train_items: Iterable[Any],
    *,
    num_classes: int,
    epochs: int,
    seed: int,
    device: torch.device,
    progress: bool,
    batch_size: int,
    history: list[float] | None,
    desc: str,
) -> Any:
    """The training loop of the harness's models (``train_mstcn``, ``asformer.train_asformer``).

    ``build(D) -> (model, optimiser, after_epoch)`` runs once torch is seeded with ``seed``
    (inside a forked RNG, so torch's global state is left as it was); ``after_epoch(summed
    loss)``, when given, runs after every epoch (a learning-rate schedule). ``train_items`` may
    be a sequence (indexed afresh each epoch, so a lazily decoding dataset decodes per access)
    or any iterable (read once into memory); videos are shuffled each epoch with a generator
    seeded by ``seed`` and batched padded to the longest (``mstcn_loss`` on the mask). Mean
    loss per epoch is appended to ``history``. Returns the model in inference mode.
    """
    if isinstance(train_items, Sequence) or (
        hasattr(train_items, "__len__") and hasattr(train_items, "__getitem__")
    ):
        items: Any = train_items
    else:
        items = list(train_items)
    n = len(items)
    if n == 0:
        raise TascodecError("train_items: no training videos")
    dim = as_pair(items[0], 0, num_classes)[0].shape[0]
    checked: set[int] = {0}  # items whose label values were checked (once: a sync on CUDA)

    with torch.random.fork_rng(devices=cuda_rng_devices()):
        torch.manual_seed(seed)
        model, opt, after_epoch = build(dim)
        order_rng = np.random.default_rng(seed)
        model.train()
        bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, leave=False)
        for _ in bar:
            order = order_rng.permutation(n)
            # The epoch's summed loss stays on the device (float64, as Python floats would
            # add): one host sync per epoch, none per step.
            total_t, count = torch.zeros((), dtype=torch.float64, device=device), 0
            for start in range(0, n, batch_size):
                pairs = []
                for i in order[start : start + batch_size]:
                    pair = as_pair(items[int(i)], int(i), num_classes, int(i) not in checked)
                    checked.add(int(i))
                    if pair[0].shape[0] != dim:
                        raise TascodecError(
                            f"train item {int(i)}: feature width {pair[0].shape[0]} differs "
                            f"from the first item's {dim}"
                        )
                    pairs.append(pair)
                x, y, m = pad_batch(pairs, device)
                loss = mstcn_loss(model(x, m), y, m)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total_t += loss.detach().double()
                count += 1
            total = float(total_t)
            if after_epoch is not None:
                after_epoch(total)
            mean = total / count
            if history is not None:
                history.append(mean)
            bar.set_postfix(loss=f"{mean:.3f}")
    model.train(False)  # inference mode (dropout off)
    return model


@torch.no_grad()
def predict(model: MSTCN, features: np.ndarray | torch.Tensor) -> np.ndarray:
    """Frame labels (T,) int64: argmax over classes of the last stage for features (D, T)."""
    if isinstance(features, torch.Tensor):
        x = features
    else:
        arr = np.ascontiguousarray(features, dtype=np.float32)
        x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
    if x.dim() != 2:
        raise TascodecError(f"predict: features must be (D, T), got shape {tuple(x.shape)}")
    was_training = model.training
    model.train(False)  # inference mode (dropout off)
    dev = next(model.parameters()).device
    out = model(x.to(device=dev, dtype=torch.float32).unsqueeze(0))
    if was_training:
        model.train()
    return out[-1, 0].argmax(dim=0).cpu().numpy().astype(np.int64)
