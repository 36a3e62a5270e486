"""The optional dependencies (pip extras) and the one message that says one is missing.

``pip install tascodec`` is the NumPy reader: ``tascodec.open``, the ``decode`` of NumPy
devices, ``tascodec export`` and the read-only commands (``info``, ``ls``, ``verify``,
``decode``, ``export``). The ``torch`` extra adds what needs PyTorch: ``encode``,
``TaszDataset``, ``eval`` (MS-TCN / ASFormer), ``demo`` and decoding on torch devices. Each of
those entry points calls :func:`require_torch` first.

tascodec is on no package index: it installs from a checkout, so a missing extra is named by
the command that installs it there (:func:`install_command`: ``pip install -e ".[torch]"``).
"""

from __future__ import annotations

from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["TORCH_EXTRA", "install_command", "is_torch_import_error", "missing_torch_message",
           "require_torch"]

#: the extra that installs PyTorch
TORCH_EXTRA = "torch"


def install_command(extra: str) -> str:
    """What installs ``extra``: from a checkout's root, as the README installs tascodec."""
    return f'pip install -e ".[{extra}]" in a checkout of tascodec'


def missing_torch_message(what: str, reason: str = "is not installed") -> str:
    """One line: ``what`` needs PyTorch, which ``reason``; the install command of the extra."""
    return (f"{what} needs PyTorch, which {reason}: {install_command(TORCH_EXTRA)} "
            f"(the NumPy reader alone needs none)")


def is_torch_import_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an import of torch (or one of its modules) that failed."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ImportError) and (name == "torch" or name.startswith("torch."))


def require_torch(what: str) -> ModuleType:
    """The ``torch`` module; ``MissingDependencyError`` naming ``what`` and the extra when it
    cannot be imported."""
    try:
        import torch  # lazy: torch
    except ImportError as exc:
        reason = "is not installed" if isinstance(exc, ModuleNotFoundError) and \
            is_torch_import_error(exc) else f"failed to import ({exc})"
        raise MissingDependencyError(missing_torch_message(what, reason)) from None
    return torch
