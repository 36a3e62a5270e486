"""The items a segmentation model of the harness trains on, and the memory they may take.

``OriginalItems`` (a dataset's training videos) and ``DecodedItems`` (an archive's, decoded with
NumPy or on a torch device, cached up to a byte budget) are sequences of (features (D, T),
labels (T,)). ``cache_limit`` is that budget per process; ``worker_pool`` starts the worker
processes of ``evaluate_archive(jobs=N)`` and tells each its share of it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from ..errors import TascodecError
from ..loading.items import decoded_item
from ..runtime.devices import resolve_device

__all__ = ["DECODE_MODES", "DecodedItems", "OriginalItems", "cache_limit", "decode_device",
           "worker_pool"]

# Decoded training videos kept in memory up to this many bytes; past it they decode per access.
_CACHE_LIMIT = 4 << 30
#: where decoded videos are kept on a CUDA device: up to this fraction of its free memory
_DEVICE_CACHE_FRACTION = 0.5
#: processes sharing the cache budgets (``worker_pool``'s jobs set it in each worker)
_cache_shares = 1
DECODE_MODES = ("auto", "numpy", "torch")


class OriginalItems(Sequence):
    """Original training videos as (features (D, T), labels (T,)), read on access."""

    def __init__(self, dataset: Any, videos: list[str]) -> None:
        self.dataset, self.videos = dataset, videos

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[override]
        video = self.videos[i]
        return np.asarray(self.dataset.features(video)), self.dataset.labels(video)


class DecodedItems(Sequence):
    """Decoded archive videos as (features (D, T), labels (T,)); cached up to a byte budget.

    ``device=None``: decoded with NumPy, items are host arrays, the cache holds up to
    ``_CACHE_LIMIT`` bytes. A ``torch.device``: decoded with the torch decoder there
    (``tascodec.decode.torch``), items are tensors on it (no host round trip), the cache holds
    up to ``_DEVICE_CACHE_FRACTION`` of the device's free memory (CUDA) or ``_CACHE_LIMIT``
    (CPU); past it a video decodes again per access, on the device. Both budgets are divided
    between the workers of ``worker_pool`` (``cache_limit``).
    """

    def __init__(self, archive: Any, videos: list[str], dim: int, name: str,
                 device: Any = None) -> None:
        self.archive, self.videos, self.dim, self.name = archive, videos, dim, name
        self.device = device
        self._cache: dict[int, tuple[Any, Any]] = {}
        self._cached_bytes = 0
        self._limit = cache_limit(device)

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, i: int) -> tuple[Any, Any]:  # type: ignore[override]
        if i in self._cache:
            return self._cache[i]
        video = self.videos[i]
        # "cpu-torch": the torch decoder on the CPU (the NumPy one is what "cpu" means).
        where = (None if self.device is None
                 else "cpu-torch" if self.device.type == "cpu" else self.device)
        item = decoded_item(self.archive, video, device=where)
        features, labels = item
        if features.ndim != 2 or features.shape[0] != self.dim:
            raise TascodecError(
                f"{self.name}: video {video!r} decodes to shape {tuple(features.shape)[::-1]} "
                f"(T, D), expected (T, {self.dim}) to match the dataset's feature width"
            )
        if features.shape[1] != labels.shape[0]:
            raise TascodecError(
                f"{self.name}: video {video!r} decodes to {features.shape[1]} frames but has "
                f"{labels.shape[0]} labels"
            )
        nbytes = int(features.shape[1]) * self.dim * 4
        if self._cached_bytes + nbytes <= self._limit:
            self._cache[i] = item
            self._cached_bytes += nbytes
        return item

    def frames(self) -> int:
        return int(sum(self.archive.num_frames(v) for v in self.videos))


def cache_limit(device: Any = None) -> int:
    """Bytes of decoded videos one process keeps: ``_CACHE_LIMIT`` on the host (``None`` or a
    CPU device), ``_DEVICE_CACHE_FRACTION`` of a CUDA device's free memory, each divided by
    the processes sharing the machine (``_cache_shares``: ``evaluate_archive(jobs=N)``'s N
    workers, else 1), so N workers on one GPU keep half its free memory together, not each."""
    limit = _CACHE_LIMIT
    if device is not None and device.type == "cuda":
        import torch  # lazy: torch

        limit = int(torch.cuda.mem_get_info(device)[0] * _DEVICE_CACHE_FRACTION)
    return limit // max(1, _cache_shares)


def decode_device(decode: str, device: Any) -> Any:
    """Where ``DecodedItems`` decodes: ``None`` (NumPy, host arrays) or a ``torch.device``.

    ``decode``: ``"auto"`` (torch on ``device`` when it is CUDA, else NumPy: on a CPU the
    NumPy decoder is the faster one and today's results stay bit-identical), ``"numpy"`` or
    ``"torch"`` (the torch decoder on ``device``, a CPU too).
    """
    if decode not in DECODE_MODES:
        raise TascodecError(f"decode: expected one of {list(DECODE_MODES)}, got {decode!r}")

    dev = resolve_device(device)
    if decode == "numpy" or (decode == "auto" and dev.type != "cuda"):
        return None
    return dev


def _worker_init(threads: int, shares: int = 1) -> None:
    global _cache_shares
    import torch  # lazy: torch

    torch.set_num_threads(threads)
    _cache_shares = shares


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` spawned processes sharing this process's torch CPU threads equally,
    and the decoded-video cache budgets (``cache_limit``: a ``jobs``-th each, on the host and
    on a CUDA device they share).

    Spawned, not forked: forking a process whose OpenMP or CUDA runtime has started can hang.
    """
    import torch  # lazy: torch

    threads = max(1, torch.get_num_threads() // jobs)
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init, initargs=(threads, jobs),
    )
