"""Training batches from ``TaszDataset`` items (torch).

Shapes: B batch, D feature width, T frames (Tmax the longest in a batch), C classes.

``collate`` builds what MS-TCN / ASFormer training loops consume: ``Batch(input (B, D, Tmax)
zero-padded, target (B, Tmax) padded with -100, mask (B, C, Tmax) float, names)``. C comes from
``num_classes``: use the bound ``dataset.collate`` (C = the archive's class count) or
``functools.partial(collate, num_classes=C)``; without it the mask has C = 1, which broadcasts
against (B, C, Tmax) scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ..extras import require_torch

require_torch("tascodec.collate")  # one line naming the extra, not an ImportError
import torch  # noqa: E402

from ..errors import TascodecError  # noqa: E402

__all__ = ["Batch", "Item", "collate", "collate_fn", "IGNORE_INDEX"]

#: Target value of padded frames (``torch.nn.CrossEntropyLoss``'s default ``ignore_index``).
IGNORE_INDEX = -100

#: One ``TaszDataset`` item: features (D, T) (or (T, D)), labels (T,), the video's name.
Item = tuple[torch.Tensor, torch.Tensor, str]


class Batch(NamedTuple):
    """One padded batch: ``input`` (B, D, Tmax) float32, ``target`` (B, Tmax) int64 padded with
    ``IGNORE_INDEX``, ``mask`` (B, C, Tmax) float32 (1 on valid frames), ``names`` (B,)."""

    input: torch.Tensor
    target: torch.Tensor
    mask: torch.Tensor
    names: list[str]


def collate(batch: Sequence[Item], num_classes: int | None = None, *,
            layout: str = "DT") -> Batch:
    """Pad ``(features, labels, name)`` items into a ``Batch`` (see the module docstring).

    ``layout`` says how the items' features are laid out (``"DT"``: (D, T), ``"TD"``: (T, D));
    the batch input is (B, D, Tmax) either way. ``num_classes=None`` gives a mask with C = 1.
    """
    if len(batch) == 0:
        raise TascodecError("collate: empty batch")
    if layout not in ("DT", "TD"):
        raise TascodecError(f"collate layout: expected 'DT' or 'TD', got {layout!r}")
    if num_classes is not None and (isinstance(num_classes, bool) or num_classes < 1):
        raise TascodecError(f"collate num_classes: expected an integer >= 1, got {num_classes!r}")
    feats = [f if layout == "DT" else f.T for f, _, _ in batch]
    labels = [y for _, y, _ in batch]
    dims = {int(f.shape[0]) for f in feats}
    if len(dims) != 1 or any(f.ndim != 2 for f in feats):
        raise TascodecError(f"collate: features must be 2-D with one feature width, got "
                            f"{[tuple(f.shape) for f in feats]} (layout {layout!r})")
    for (f, y, name) in zip(feats, labels, (n for _, _, n in batch)):
        if y.ndim != 1 or y.shape[0] != f.shape[1]:
            raise TascodecError(f"collate: item {name!r} has {f.shape[1]} frames of features "
                                f"but labels of shape {tuple(y.shape)}")
    b, d = len(batch), dims.pop()
    t_max = max(int(f.shape[1]) for f in feats)
    dev = feats[0].device
    x = torch.zeros((b, d, t_max), dtype=torch.float32, device=dev)
    y = torch.full((b, t_max), IGNORE_INDEX, dtype=torch.int64, device=dev)
    mask = torch.zeros((b, num_classes or 1, t_max), dtype=torch.float32, device=dev)
    for i, (f, lab) in enumerate(zip(feats, labels)):
        n = int(f.shape[1])
        x[i, :, :n] = f
        y[i, :n] = lab
        mask[i, :, :n] = 1.0
    return Batch(x, y, mask, [str(n) for _, _, n in batch])


collate_fn = collate
