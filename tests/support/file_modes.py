"""The permission bits of a file, for the tests that check outputs honour the umask."""

from __future__ import annotations

import stat
from pathlib import Path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
