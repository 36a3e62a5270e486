"""Several processes on one encode: the process group, in one place (torch.distributed).

``torchrun --nproc_per_node=N -m tascodec encode ...`` (or a script under torchrun that calls
``tascodec.encode``) runs one process per rank; ``encode`` enters ``session`` and every phase
that splits work asks ``current()`` for the ``World``: its rank, its size and the collectives.

* The group: gloo for CPU devices, NCCL for CUDA (each rank on ``cuda:LOCAL_RANK``), set up from
  torchrun's environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``PORT``: one host or
  several), or an already initialised group adopted as it is (and left initialised).
* Failures: ``World.run`` runs a rank's share of a phase and lets every rank know whether any
  rank failed, so all of them raise the same ``TascodecError`` ("rank K failed: ...");
  a collective that loses a peer (a rank killed, or one silent for ``TASCODEC_DIST_TIMEOUT``
  seconds, default ``DEFAULT_TIMEOUT_S``) raises ``TascodecError`` too, never hangs (with
  NCCL a timed-out collective may instead be ended by NCCL's watchdog, which stops the
  process: the run fails either way, and rank 0 has written nothing).
* Splitting: ``shard_ranges`` cuts a sequence of weights (frames per video) into contiguous,
  balanced ranges; ``World.all_reduce_sum_`` sums arrays that each rank filled in its own rows
  (x + 0 = x: exact, so a gathered array equals one process's bit for bit).

In one process (``WORLD_SIZE`` unset or 1, no group) ``current()`` is ``SINGLE`` and every
collective is a no-op; torch.distributed is not set up.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, TypeVar

import numpy as np

from ..errors import TascodecError

__all__ = ["World", "SINGLE", "current", "session", "entry_point", "launched",
           "is_main_process", "shard_ranges", "check_rank_device", "ENV_TIMEOUT",
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
            import torch

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
        mine = (None, result) if error is None else (_describe(error), None)
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
        dist = _dist()
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
            _dist().broadcast_object_list(box, src=src)
        return box[0]

    def all_reduce_sum_(self, array: np.ndarray, what: str = "an exchange") -> np.ndarray:
        """Sum ``array`` (C-contiguous, numeric) over the ranks, in place; returns it."""
        if not self.distributed or array.size == 0:
            return array
        import torch

        flat = array.reshape(-1)
        if not np.shares_memory(flat, array):  # pragma: no cover - contiguous arrays only
            raise TascodecError("all_reduce_sum_: array must be contiguous")
        host = torch.from_numpy(flat)
        with self._collective(what):
            for i in range(0, flat.size, _REDUCE_ELEMENTS):
                part = host[i:i + _REDUCE_ELEMENTS]
                if self.backend == "nccl":
                    on_gpu = part.to(f"cuda:{self.local_rank}")
                    _dist().all_reduce(on_gpu)
                    part.copy_(on_gpu.cpu())
                else:
                    _dist().all_reduce(part)
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
_current: World = SINGLE
_lock = threading.Lock()


def current() -> World:
    """The ``World`` of the encode this process is running (``SINGLE`` outside ``session``)."""
    return _current


def launched() -> bool:
    """Whether this process is one of several ranks (torchrun's ``WORLD_SIZE`` > 1, or an
    initialised process group of several ranks)."""
    if _env_int("WORLD_SIZE", 1) > 1:
        return True
    dist = _dist_if_imported()
    return bool(dist is not None and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1)


def is_main_process() -> bool:
    """Rank 0, or not launched as several ranks (what prints a command's output)."""
    if _current.distributed:
        return _current.is_main
    dist = _dist_if_imported()
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return _env_int("RANK", 0) == 0


@contextlib.contextmanager
def session(device: str | None = "auto") -> Iterator[World]:
    """The ``World`` of one encode: ``SINGLE`` alone; else the process group, initialised from
    torchrun's environment (gloo, or NCCL for a CUDA ``device``) and destroyed at the end, or
    adopted when the caller initialised it. A lost peer escaping the body (a DDP backward,
    say) becomes a ``TascodecError``; under torchrun SIGTERM (the launcher stopping the ranks
    when one failed) raises one too, so temporaries are removed on the way out."""
    global _current
    if _current.distributed or not launched():  # alone, or nested in a running encode
        yield _current
        return
    import datetime

    dist = _dist()
    timeout = _timeout_s()
    owned = not dist.is_initialized()
    if owned:
        check_rank_device(device)
        backend = _backend_for(device)
        local = _env_int("LOCAL_RANK", 0)
        if backend == "nccl":
            import torch

            _check_cuda_rank(device, local)
            torch.cuda.set_device(local)
        try:
            dist.init_process_group(backend=backend,
                                    timeout=datetime.timedelta(seconds=timeout))
        except (RuntimeError, ValueError) as exc:
            raise TascodecError(f"distributed encode: could not join the process group "
                                f"({backend}): {exc}") from exc
    backend = str(dist.get_backend()).lower()
    local = _env_int("LOCAL_RANK", 0)
    if backend == "nccl":
        import torch

        local = torch.cuda.current_device()
    world = World(rank=dist.get_rank(), size=dist.get_world_size(), local_rank=local,
                  backend=backend, timeout_s=timeout)
    restore = _stop_on_sigterm(world) if owned else None
    with _lock:
        _current = world
    try:
        yield world
    except RuntimeError as exc:
        if not lost_contact(exc):
            raise
        raise TascodecError(world.lost_message("the encode", exc)) from exc
    finally:
        with _lock:
            _current = SINGLE
        if restore is not None:
            restore()
        if owned:
            with contextlib.suppress(Exception):
                dist.destroy_process_group()


def entry_point(fn: Callable[..., T]) -> Callable[..., T]:
    """Run ``fn`` (which takes a ``device`` keyword) inside ``session(device)``."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with session(kwargs.get("device", "auto")):
            return fn(*args, **kwargs)
    return wrapper


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
    dist = _dist_if_imported()
    dist_error = getattr(dist, "DistError", None) if dist is not None else None
    if dist_error is not None and isinstance(exc, dist_error):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(s in text for s in (
        "gloo", "Gloo", "NCCL", "Connection closed", "Connection reset", "Broken pipe",
        "Timed out", "timed out", "c10d"))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:500]


def _stop_on_sigterm(world: World) -> Callable[[], None] | None:
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: Any) -> None:
        raise TascodecError(f"distributed encode: rank {world.rank} of {world.size} stopped "
                            f"by SIGTERM (the launcher stops every rank once one has failed); "
                            f"nothing was written")

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


def check_rank_device(device: Any) -> None:
    """``TascodecError`` for an explicit ``"cuda:N"`` when several ranks run on this host
    (torchrun's ``LOCAL_WORLD_SIZE`` > 1): every rank would compute on that one GPU. Every
    rank of a host sees the same argument, so all of them refuse alike."""
    text = str(device) if device is not None else ""
    local_size = _env_int("LOCAL_WORLD_SIZE", 1)
    if text.startswith("cuda:") and local_size > 1:
        raise TascodecError(
            f"device={text!r}: {local_size} ranks run on this host and each would compute on "
            f"that one GPU; pass device 'cuda' (--device cuda), which puts rank r of a host on "
            f"cuda:LOCAL_RANK, or give each rank its own GPU with CUDA_VISIBLE_DEVICES")


def _check_cuda_rank(device: Any, local: int) -> None:
    """``TascodecError`` unless this rank's GPU ``cuda:local`` exists (checked before
    ``torch.cuda.set_device``, whose own error on a CPU-only torch is a traceback)."""
    import torch

    if not torch.cuda.is_available():
        raise TascodecError(f"distributed encode: device {device!r} asks for CUDA (NCCL, "
                            f"each rank on cuda:LOCAL_RANK) but CUDA is not available here "
                            f"(torch {torch.__version__}); use --device cpu (gloo)")
    count = torch.cuda.device_count()
    if local >= count:
        raise TascodecError(f"distributed encode: local rank {local} would compute on "
                            f"cuda:{local} but this host has {count} CUDA device(s): start at "
                            f"most {count} ranks per host (--nproc_per_node)")


def _backend_for(device: str | None) -> str:
    import torch

    if device is None or device == "auto":
        return "nccl" if torch.cuda.is_available() else "gloo"
    return "nccl" if str(device).startswith("cuda") else "gloo"


def _timeout_s() -> float:
    text = os.environ.get(ENV_TIMEOUT)
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise TascodecError(f"{ENV_TIMEOUT}={text!r}: expected a positive number of seconds")
    return value


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _dist() -> Any:
    import torch.distributed as dist

    if not dist.is_available():
        raise TascodecError("distributed encode: this torch build has no torch.distributed")
    return dist


def _dist_if_imported() -> Any:
    import sys

    return sys.modules.get("torch.distributed")
