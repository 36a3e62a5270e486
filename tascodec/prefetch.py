"""Host batches onto a device with the copy of the next batch overlapping the work on this one.

``prefetch_to_device(batches, device)`` takes an iterable of tuples of CPU tensors and yields
the same tuples on ``device``, in the same order. On CUDA each host tensor is page-locked
(``gather_rows`` writes batches straight into page-locked memory, so that costs nothing more)
and copied with ``non_blocking=True`` on a side stream, one batch ahead: while the GPU computes
on batch i, batch i + 1 is gathered on the host and copied, and the compute stream waits for
that copy only when it reaches the batch. On any other device it is a plain ``.to(device)``
per tensor (a no-op on the CPU), with the same batches in the same order.

``gather_rows(tensor, rows, device)``: ``tensor[rows]`` of a CPU tensor, written into
page-locked memory when ``device`` is CUDA (one gather, no second host copy for pinning).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch

__all__ = ["gather_rows", "prefetch_to_device"]

Batch = tuple[torch.Tensor, ...]


def gather_rows(tensor: torch.Tensor, rows: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``tensor[rows]`` (rows along dim 0) of a CPU tensor; page-locked when ``device`` is CUDA."""
    if device.type != "cuda":
        return tensor[rows]
    out = torch.empty((rows.numel(), *tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
    return torch.index_select(tensor, 0, rows, out=out)


def prefetch_to_device(batches: Iterable[Batch], device: torch.device) -> Iterator[Batch]:
    """``batches`` on ``device``, in order; on CUDA each copy is issued one batch ahead on a
    side stream (pinned, non-blocking) so it overlaps the compute on the batch before."""
    if device.type != "cuda":
        for batch in batches:
            yield tuple(t.to(device) for t in batch)
        return
    copy_stream = torch.cuda.Stream(device=device)
    compute = torch.cuda.current_stream(device)

    def stage(batch: Batch) -> Batch:
        # Conservative ordering: the copy starts after the compute queued so far (batch i - 2
        # at this point), so it still overlaps the compute on batch i - 1, queued next.
        copy_stream.wait_stream(compute)
        with torch.cuda.stream(copy_stream):
            return tuple((t if t.is_pinned() else t.pin_memory()).to(device, non_blocking=True)
                         for t in batch)

    staged: Any = None
    for batch in batches:
        nxt = stage(batch)
        if staged is not None:
            yield _ready(staged, compute, copy_stream)
        staged = nxt
    if staged is not None:
        yield _ready(staged, compute, copy_stream)


def _ready(batch: Batch, compute: Any, copy_stream: Any) -> Batch:
    """``batch`` (copied on ``copy_stream``) made safe to use on ``compute``: the compute
    stream waits for the copy, and the caching allocator learns the tensors are used there
    (so their memory is not handed out again while the compute stream may still read it)."""
    compute.wait_stream(copy_stream)
    for t in batch:
        t.record_stream(compute)
    return batch
