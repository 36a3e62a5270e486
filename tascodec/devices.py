"""Choosing the torch device: ``"auto"`` means CUDA when torch sees a GPU, else the CPU."""

from __future__ import annotations

from typing import Any

import torch

from .errors import TascodecError

__all__ = ["resolve_device"]


def resolve_device(device: Any) -> torch.device:
    """``None`` / ``"auto"`` -> cuda when available, else cpu; ``"cpu-torch"`` -> cpu; anything
    else as ``torch.device`` reads it. Raises ``TascodecError`` for a name torch does not know
    and for a CUDA device when CUDA is not available."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu-torch":
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise TascodecError(f"device: not a torch device: {device!r} ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TascodecError(f"device: {device!r} requested but CUDA is not available")
    return dev
