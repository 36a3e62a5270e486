"""The options every command spells the same way: outputs, byte counts, devices, ``--quiet``.

* **Outputs**: ``-o/--output`` (older spellings, such as ``--out``, kept as hidden aliases).
  ``output_file(path, name)``: a path that is an existing folder (or ends with ``/``) means
  ``path/name``; the folders above the output are created when missing (``tempfiles.
  ensure_parent``: the same rule as ``synth`` and ``export``), or one line says why not.
* **Byte counts**: ``byte_count`` reads ``30000``, ``30KiB``, ``1.5MiB``, ``2GB``
  (``units.parse_bytes``) for every byte argument.
* **Devices**: one vocabulary, ``auto``, ``cpu``, ``cuda``, ``cuda:N`` and (where torch
  decodes on the CPU) ``cpu-torch``; anything else is refused by argparse in one line before
  any work, and a CUDA device on a machine without one is refused before any work too
  (``check_device``).
"""

from __future__ import annotations

import argparse
import os
import re
from importlib.util import find_spec
from pathlib import Path

from ..errors import TascodecError
from ..extras import require_torch
from ..runtime.devices import resolve_device
from ..runtime.tempfiles import ensure_parent
from ..units import parse_bytes

__all__ = ["add_output", "output_file", "byte_count", "add_device", "check_device",
           "decode_device", "add_quiet", "DEVICE_WORDS"]

#: what ``--device`` takes, on every command
DEVICE_WORDS = "auto, cpu, cuda, cuda:N or cpu-torch"
_DEVICE = re.compile(r"auto|cpu|cpu-torch|cuda(:[0-9]+)?")


def add_output(p: argparse.ArgumentParser, *, help: str, aliases: tuple[str, ...] = (),
               required: bool = True, metavar: str = "OUT") -> None:
    """``-o/--output`` (dest ``output``, a ``str``: pass it to ``output_file``), with
    ``aliases`` (old spellings) accepted but not listed in ``--help``."""
    # one of the spellings is required: a group, since argparse checks each flag alone
    group = p.add_mutually_exclusive_group(required=required)
    group.add_argument("-o", "--output", default=None, metavar=metavar,
                       help=help)  # a str: a trailing "/" (a folder) survives
    for alias in aliases:
        group.add_argument(alias, dest="output", help=argparse.SUPPRESS)


def output_file(path: str | os.PathLike[str], name: str) -> Path:
    """The file to write for ``-o path``: ``path/name`` when ``path`` is an existing folder or
    ends with a separator, else ``path``; the folders above it created (one line if they
    cannot be)."""

    text = os.fspath(path)
    out = Path(text)
    if out.is_dir() or text.endswith(("/", os.sep)):
        out = out / name
    return ensure_parent(out)


def byte_count(text: str) -> int:
    """argparse ``type`` of a byte argument: ``30000``, ``30KiB``, ``1.5MiB``, ``2GB``."""

    n = parse_bytes(text)
    if n is None or n < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive byte count such as 30000, 30KiB or 2MiB, got {text!r}")
    return n


def _device(text: str) -> str:
    value = text.strip().lower()
    if not _DEVICE.fullmatch(value):
        raise argparse.ArgumentTypeError(f"expected {DEVICE_WORDS}, got {text!r}")
    return value


def add_device(p: argparse.ArgumentParser, *, default: str, what: str) -> None:
    """``--device`` in the one vocabulary; ``what`` says what runs there and what the default
    means (e.g. "decode device; cpu decodes with NumPy")."""
    p.add_argument("--device", type=_device, default=default, metavar="DEVICE",
                   help=f"{what}: {DEVICE_WORDS} (default: {default})")


def check_device(device: str) -> None:
    """Refuse, before any work, a CUDA device this machine does not have (``TascodecError``
    naming ``--device``). Imports torch only for a CUDA device."""
    if not device.startswith("cuda"):
        return

    require_torch(f"--device {device}")
    try:
        resolve_device(device)
    except TascodecError as exc:
        raise TascodecError(f"--device {device}: {str(exc).split(': ', 1)[-1]}") from None


def decode_device(device: str) -> str | None:
    """A decode command's ``--device`` as ``decode_video`` takes it: ``cpu`` -> ``None``
    (NumPy, no torch), ``auto`` -> ``"cuda"`` when torch sees a GPU else ``None``; CUDA
    checked first (``check_device``)."""
    if device == "cpu":
        return None
    if device == "auto":
        if find_spec("torch") is None:
            return None
        import torch  # lazy: torch

        return "cuda" if torch.cuda.is_available() else None
    check_device(device)
    return device


def add_quiet(p: argparse.ArgumentParser, help: str = "no progress bars") -> None:
    """``--quiet`` (old spelling ``--no-progress``), dest ``quiet``."""
    p.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true", help=help)

