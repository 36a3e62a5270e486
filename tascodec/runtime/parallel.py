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
* Splitting (``world``): ``shard_ranges`` cuts a sequence of weights (frames per video) into contiguous,
  balanced ranges; ``World.all_reduce_sum_`` sums arrays that each rank filled in its own rows
  (x + 0 = x: exact, so a gathered array equals one process's bit for bit).

In one process (``WORLD_SIZE`` unset or 1, no group) ``current()`` is ``SINGLE`` and every
collective is a no-op; torch.distributed is not set up.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import os
import signal
import threading
from typing import Any, Callable, Iterator

from ..errors import TascodecError
from .world import (DEFAULT_TIMEOUT_S, ENV_TIMEOUT, SINGLE, T, World, check_rank_device,
                    describe_failure, dist_if_imported, dist_module, env_int, lost_contact)

__all__ = ["current", "session", "entry_point", "launched", "is_main_process"]

_current: World = SINGLE
_lock = threading.Lock()


def current() -> World:
    """The ``World`` of the encode this process is running (``SINGLE`` outside ``session``)."""
    return _current


def launched() -> bool:
    """Whether this process is one of several ranks (torchrun's ``WORLD_SIZE`` > 1, or an
    initialised process group of several ranks)."""
    if env_int("WORLD_SIZE", 1) > 1:
        return True
    dist = dist_if_imported()
    return bool(dist is not None and dist.is_available() and dist.is_initialized()
                and dist.get_world_size() > 1)


def is_main_process() -> bool:
    """Rank 0, or not launched as several ranks (what prints a command's output)."""
    if _current.distributed:
        return _current.is_main
    dist = dist_if_imported()
    if dist is not None and dist.is_available() and dist.is_initialized():
        return dist.get_rank() == 0
    return env_int("RANK", 0) == 0


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

    dist = dist_module()
    timeout = _timeout_s()
    owned = not dist.is_initialized()
    if owned:
        check_rank_device(device)
        backend = _backend_for(device)
        local = env_int("LOCAL_RANK", 0)
        if backend == "nccl":
            import torch  # lazy: torch

            _check_cuda_rank(device, local)
            torch.cuda.set_device(local)
        try:
            dist.init_process_group(backend=backend,
                                    timeout=datetime.timedelta(seconds=timeout))
        except (RuntimeError, ValueError) as exc:
            raise TascodecError(f"distributed encode: could not join the process group "
                                f"({backend}): {exc}") from exc
    backend = str(dist.get_backend()).lower()
    local = env_int("LOCAL_RANK", 0)
    if backend == "nccl":
        import torch  # lazy: torch

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


def _stop_on_sigterm(world: World) -> Callable[[], None] | None:
    if threading.current_thread() is not threading.main_thread():
        return None

    def stop(signum: int, frame: Any) -> None:
        raise TascodecError(f"distributed encode: rank {world.rank} of {world.size} stopped "
                            f"by SIGTERM (the launcher stops every rank once one has failed); "
                            f"nothing was written")

    previous = signal.signal(signal.SIGTERM, stop)
    return lambda: signal.signal(signal.SIGTERM, previous)


def _check_cuda_rank(device: Any, local: int) -> None:
    """``TascodecError`` unless this rank's GPU ``cuda:local`` exists (checked before
    ``torch.cuda.set_device``, whose own error on a CPU-only torch is a traceback)."""
    import torch  # lazy: torch

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
    import torch  # lazy: torch

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


