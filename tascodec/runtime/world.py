"""This process's place in a multi-process encode: ``World`` (rank, size, backend; the
collectives, no-ops alone), how work is split (``shard_ranges``: contiguous ranges balanced by
weight), which device a rank computes on (``World.device_for``, ``check_rank_device``) and what a
lost peer looks like (``lost_contact``). The process group itself, and which ``World`` is
current, is ``parallel``'s (``session``, ``current``)."""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from ..errors import TascodecError

__all__ = ["World", "SINGLE", "shard_ranges", "lost_contact", "check_rank_device", "ENV_TIMEOUT",
           "DEFAULT_TIMEOUT_S"]


ENV_TIMEOUT = "TASCODEC_DIST_TIMEOUT"
#: seconds a collective waits for a silent peer before the run fails
DEFAULT_TIMEOUT_S = 300.0
#: elements per all-reduce call (bounds the backend's buffers, and GPU copies with NCCL)
_REDUCE_ELEMENTS = 1 << 26

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place in the encode: ``rank`` of ``size``; ``backend`` ``"gloo"`` or
    ``"nccl"`` (None alone); ``local_rank`` on its host; ``timeout_s`` of a collective."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def shard(self, weights: Any) -> tuple[int, int]:
        """This rank's contiguous ``[start, stop)`` of items with these ``weights``."""
        return shard_ranges(weights, self.size)[self.rank]

    def device_for(self, device: str | None) -> str | None:
        """The torch device this rank computes on for the ``device`` argument: on several
        ranks with CUDA, ``"auto"`` and ``"cuda"`` mean ``cuda:LOCAL_RANK`` (one GPU per rank
        of a host); an explicit ``"cuda:N"`` is refused where several ranks share a host
        (``check_rank_device``); anything else as given."""
        if not self.distributed:
            return device
        check_rank_device(device)
        if device not in ("auto", "cuda", None):
            return device
        if self.backend != "nccl":
            import torch  # lazy: torch

            if device != "cuda" and not torch.cuda.is_available():
                return device
        return f"cuda:{self.local_rank}"

    # -- collectives (no-ops alone) ---------------------------------------------------------

    def run(self, what: str, fn: Callable[[], T]) -> T:
        """``fn()``: this rank's share of ``what``; raises on every rank if any rank failed."""
        if not self.distributed:
            return fn()
        try:
            result, error = fn(), None
        except Exception as exc:  # reported to every rank below, then raised here too
            result, error = None, exc
        self.agree(what, error)
        return result  # type: ignore[return-value]

    def run_all(self, what: str, fn: Callable[[], T]) -> list[T]:
        """Every rank's ``fn()`` (picklable), in rank order: ``run`` that shares the results."""
        if not self.distributed:
            return [fn()]
        try:
            result, error = fn(), None
        except Exception as exc:
            result, error = None, exc
        return self.agree(what, error, result)

    def agree(self, what: str, error: BaseException | None = None, result: Any = None
              ) -> list[Any]:
        """Exchange each rank's outcome of ``what`` (``error``, else ``result``): every rank's
        result in rank order, or ``TascodecError`` on every rank if one failed (the lowest
        such rank is named)."""
        if not self.distributed:
            if error is not None:
                raise error
            return [result]
        mine = (None, result) if error is None else (describe_failure(error), None)
        outcomes = self.all_gather(mine, what)
        for rank, (outcome, _) in enumerate(outcomes):
            if outcome is not None:
                message = (f"distributed encode: rank {rank} of {self.size} failed during "
                           f"{what}: {outcome}")
                if error is not None:
                    raise TascodecError(message) from error
                raise TascodecError(message)
        return [value for _, value in outcomes]

    def all_gather(self, obj: Any, what: str = "an exchange") -> list[Any]:
        """Every rank's ``obj`` (picklable), in rank order."""
        if not self.distributed:
            return [obj]
        dist = dist_module()
        out: list[Any] = [None] * self.size
        with self._collective(what):
            dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any, what: str = "an exchange", src: int = 0) -> Any:
        """Rank ``src``'s ``obj`` on every rank."""
        if not self.distributed:
            return obj
        box = [obj]
        with self._collective(what):
            dist_module().broadcast_object_list(box, src=src)
        return box[0]

    def all_reduce_sum_(self, array: np.ndarray, what: str = "an exchange") -> np.ndarray:
        """Sum ``array`` (C-contiguous, numeric) over the ranks, in place; returns it."""
        if not self.distributed or array.size == 0:
            return array
        import torch  # lazy: torch

        flat = array.reshape(-1)
        if not np.shares_memory(flat, array):  # pragma: no cover - contiguous arrays only
            raise TascodecError("all_reduce_sum_: array must be contiguous")
        host = torch.from_numpy(flat)
        with self._collective(what):
            for i in range(0, flat.size, _REDUCE_ELEMENTS):
                part = host[i:i + _REDUCE_ELEMENTS]
                if self.backend == "nccl":
                    on_gpu = part.to(f"cuda:{self.local_rank}")
                    dist_module().all_reduce(on_gpu)
                    part.copy_(on_gpu.cpu())
                else:
                    dist_module().all_reduce(part)
        return array

    @contextlib.contextmanager
    def _collective(self, what: str) -> Iterator[None]:
        try:
            yield
        except RuntimeError as exc:
            if not lost_contact(exc):
                raise
            raise TascodecError(self.lost_message(what, exc)) from exc

    def lost_message(self, what: str, exc: BaseException) -> str:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (f"distributed encode: rank {self.rank} of {self.size} lost contact with a peer "
                f"during {what} (a rank died, or was silent for more than {self.timeout_s:g} s, "
                f"{ENV_TIMEOUT}); nothing was written. {first[:300]}")


SINGLE = World()


def shard_ranges(weights: Any, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous ``[start, stop)`` ranges over ``len(weights)`` items, cut where the
    running total of ``weights`` crosses each ``k / parts`` of the whole (some may be empty)."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if parts <= 1:
        return [(0, int(w.size))]
    ends = np.cumsum(w)
    total = float(ends[-1]) if w.size else 0.0
    # item i goes to the part holding the midpoint of its weight: balanced, and every item
    # of positive weight lands in exactly one part
    mid = ends - w / 2
    owner = np.minimum((mid * parts / max(total, 1e-300)).astype(np.int64), parts - 1)
    owner = np.maximum.accumulate(owner) if w.size else owner
    cuts = np.searchsorted(owner, np.arange(parts + 1), side="left")
    return [(int(cuts[k]), int(cuts[k + 1])) for k in range(parts)]


def lost_contact(exc: BaseException) -> bool:
    """Whether ``exc`` is a collective that lost a peer or timed out (gloo, NCCL, c10d)."""
    dist = dist_if_imported()
    dist_error = getattr(dist, "DistError", None) if dist is not None else None
    if dist_error is not None and isinstance(exc, dist_error):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(s in text for s in (
        "gloo", "Gloo", "NCCL", "Connection closed", "Connection reset", "Broken pipe",
        "Timed out", "timed out", "c10d"))


def describe_failure(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500]


def check_rank_device(device: Any) -> None:
    """``TascodecError`` for an explicit ``"cuda:N"`` when several ranks run on this host
    (torchrun's ``LOCAL_WORLD_SIZE`` > 1): every rank would compute on that one GPU. Every
    rank of a host sees the same argument, so all of them refuse alike."""
    text = str(device) if device is not None else ""
    local_size = env_int("LOCAL_WORLD_SIZE", 1)
    if text.startswith("cuda:") and local_size > 1:
        raise TascodecError(
            f"device={text!r}: {local_size} ranks run on this host and each would compute on "
            f"that one GPU; pass device 'cuda' (--device cuda), which puts rank r of a host on "
            f"cuda:LOCAL_RANK, or give each rank its own GPU with CUDA_VISIBLE_DEVICES")


def env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def dist_module() -> Any:
    import torch.distributed as dist  # lazy: torch

    if not dist.is_available():
        raise TascodecError("distributed encode: this torch build has no torch.distributed")
    return dist


def dist_if_imported() -> Any:
    return sys.modules.get("torch.distributed")
