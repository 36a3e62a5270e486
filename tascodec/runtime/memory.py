"""The host's memory as the operating system states it (no torch, no NumPy): what the decode
budget (``decode.budget``) and the devices' free memory (``runtime.devices``) read."""

from __future__ import annotations

import os

__all__ = ["physical_memory", "address_space_limit", "half_of_memory"]


def physical_memory() -> int | None:
    """Bytes of physical memory (``os.sysconf``), or ``None`` where unknown."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None
    return int(pages) * int(size) if pages > 0 and size > 0 else None


def address_space_limit() -> int | None:
    """The process's address-space limit (``RLIMIT_AS``, e.g. ``ulimit -v``), ``None`` when
    unlimited or unknown."""
    try:
        import resource  # POSIX only: not importable on Windows

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None
    return None if soft == resource.RLIM_INFINITY or soft <= 0 else int(soft)


def half_of_memory() -> int | None:
    """Half the smaller of the physical memory and the address-space limit, where known
    (``None`` when neither is): what one process may hold without running into either."""
    known = [c for c in (physical_memory(), address_space_limit()) if c is not None]
    return min(known) // 2 if known else None
