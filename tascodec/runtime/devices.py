"""Choosing the torch device, in one place: ``"auto"`` means CUDA when torch sees a GPU, else CPU.

``device_name(device) -> str`` reads a device argument into its canonical name (``"cpu"``,
``"cuda"``, ``"cuda:1"``) without requiring that device to exist (what ``encode`` records);
``resolve_device(device) -> torch.device`` is that name as a ``torch.device``, checked to be
usable here; ``same_device(a, b)`` says whether two devices are one (``"cuda"`` is the current
CUDA device, so it equals ``"cuda:0"`` there, which ``torch.device`` equality denies);
``free_memory(device)`` the bytes free on it now (a CUDA device's, else the host's available
memory). torch is imported on first use, not with this module.
"""

from __future__ import annotations

from typing import Any

from ..errors import TascodecError
from .memory import physical_memory

__all__ = ["cuda_rng_devices", "device_name", "free_memory", "resolve_device", "same_device"]


def device_name(device: Any) -> str:
    """``None`` / ``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; ``"cpu-torch"`` ->
    ``"cpu"``; anything else as ``torch.device`` reads it, as a str. Raises ``TascodecError``
    for a name torch does not know."""
    import torch  # lazy: torch

    if device is None or device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cpu-torch":
        return "cpu"
    try:
        return str(torch.device(device))
    except (RuntimeError, TypeError) as exc:
        raise TascodecError(f"device: not a torch device: {device!r} ({exc})") from None


def resolve_device(device: Any) -> Any:
    """The ``torch.device`` of ``device_name(device)``; ``TascodecError`` for a CUDA device
    when CUDA is not available or its index is beyond the visible devices."""
    import torch  # lazy: torch

    dev = torch.device(device_name(device))
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TascodecError(f"device: {device!r} requested but CUDA is not available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise TascodecError(f"device: {device!r} requested but only "
                            f"{torch.cuda.device_count()} CUDA device(s) are visible")
    return dev


def cuda_rng_devices() -> list[int]:
    """Every visible CUDA device's index, for ``torch.random.fork_rng(devices=...)``: seeding
    inside the fork touches every device's generator, so all of them are saved and restored
    (empty without CUDA)."""
    import torch  # lazy: torch

    return list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []


def same_device(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` (names or ``torch.device``) name the same device: an index-less
    CUDA device is the current one, so ``same_device("cuda", "cuda:0")`` is True on a process
    whose current device is 0 (``torch.device("cuda") == torch.device("cuda:0")`` is False)."""
    import torch  # lazy: torch

    a, b = torch.device(a), torch.device(b)
    if a.type != b.type:
        return False
    if a.index == b.index or a.type == "cpu":
        return True
    if a.type != "cuda":
        return False
    current = torch.cuda.current_device()
    return (current if a.index is None else a.index) == (current if b.index is None else b.index)


def free_memory(device: Any) -> int:
    """Bytes free now on ``device`` (``resolve_device``'s reading): a CUDA device's free memory
    (``torch.cuda.mem_get_info``); for the CPU the host's available memory (``MemAvailable`` of
    ``/proc/meminfo``: free plus reclaimable caches), else half the physical memory, else 0."""
    import torch  # lazy: torch

    dev = resolve_device(device)
    if dev.type == "cuda":
        return int(torch.cuda.mem_get_info(dev)[0])
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    return (physical_memory() or 0) // 2  # pragma: no cover - not Linux
