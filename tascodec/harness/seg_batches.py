"""Training items of the harness's segmentation models -> checked tensors -> padded batches.

Shapes: B batch, D feature width, T frames (the longest in a batch).

* ``as_pair(item, index, num_classes)``: one item (features (D, T), labels (T,), extra fields
  ignored; arrays or tensors) checked, as (float32 (D, T), int64 (T,)) tensors on the item's
  own device: tensors are never moved, so a dataset that decodes on the GPU stays there.
* ``pad_batch(pairs, device)``: x (B, D, T) zero-padded, labels (B, T) padded with
  ``IGNORE_INDEX``, mask (B, T), on ``device``; items already there are padded there, host
  items in pinned memory and copied once without blocking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..runtime.devices import same_device
from ..errors import TascodecError

__all__ = ["IGNORE_INDEX", "as_pair", "pad_batch"]

IGNORE_INDEX = -100


def _item_tensor(value: Any) -> torch.Tensor:
    """A tensor item field as it is (on its device), an array as a CPU tensor (shared memory
    when the array is writable: torch refuses read-only buffers such as memory maps)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    arr = np.asarray(value)
    return torch.from_numpy(arr if arr.flags.writeable else arr.copy())


def as_pair(item: Any, index: int, num_classes: int, check_labels: bool = True
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate one training item -> (features (D, T) float32, labels (T,) int64) tensors on
    the item's device (arrays: the CPU). Tensors stay where they are: no device round trip.

    ``check_labels``: check the label values (one device sync for a CUDA item, so ``fit``
    does it the first time it sees an item only); shapes and dtypes are checked always.
    """
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise TascodecError(
            f"train item {index}: expected (features (D, T), labels (T,)), got {type(item).__name__}"
        )
    x, y = _item_tensor(item[0]), _item_tensor(item[1])
    if x.dim() != 2:
        raise TascodecError(f"train item {index}: features must be (D, T), got shape {tuple(x.shape)}")
    if y.dim() != 1 or y.shape[0] != x.shape[1]:
        raise TascodecError(
            f"train item {index}: labels must be (T,) = ({x.shape[1]},), got shape {tuple(y.shape)}"
        )
    if y.shape[0] == 0:
        raise TascodecError(f"train item {index}: empty video (T = 0)")
    if y.dtype.is_floating_point or y.dtype.is_complex or y.dtype == torch.bool:
        raise TascodecError(f"train item {index}: labels must be integers, got {y.dtype}")
    if check_labels:
        bad = (y != IGNORE_INDEX) & ((y < 0) | (y >= num_classes))
        if bool(bad.any()):
            t = int(torch.nonzero(bad)[0, 0])
            raise TascodecError(
                f"train item {index}: label {int(y[t])} at frame {t} not in [0, {num_classes})"
            )
    return x.to(torch.float32), y.to(torch.int64)


def pad_batch(
    pairs: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad to the longest: x (B, D, T), labels (B, T) (-100 padded), mask (B, T), on ``device``.

    Items already on ``device`` are padded there (a single item is used as it is); host items
    are padded on the host (in page-locked memory when ``device`` is CUDA) and copied once,
    without blocking.
    """
    t_max = max(int(y.shape[0]) for _, y in pairs)
    dim = int(pairs[0][0].shape[0])
    on_device = all(same_device(x.device, device) and same_device(y.device, device)
                    for x, y in pairs)
    if on_device and len(pairs) == 1:
        x0, y0 = pairs[0]
        return (x0.contiguous().unsqueeze(0), y0.unsqueeze(0),
                torch.ones(1, t_max, device=x0.device))
    where = device if on_device else torch.device("cpu")
    pin = not on_device and device.type == "cuda"
    x = torch.zeros(len(pairs), dim, t_max, device=where, pin_memory=pin)
    y = torch.full((len(pairs), t_max), IGNORE_INDEX, dtype=torch.int64, device=where,
                   pin_memory=pin)
    m = torch.zeros(len(pairs), t_max, device=where, pin_memory=pin)
    for b, (xf, yl) in enumerate(pairs):
        t = int(yl.shape[0])
        x[b, :, :t] = xf
        y[b, :t] = yl
        m[b, :t] = 1.0
    if on_device:
        return x, y, m
    return (x.to(device, non_blocking=pin), y.to(device, non_blocking=pin),
            m.to(device, non_blocking=pin))
