"""Writing the standard dataset layout (the reader is ``layout.StandardDataset``).

``LayoutWriter(root)`` writes ``features/<video>.npy`` (D, T) float32, ``groundTruth/<video>.txt``
(one class name per frame), ``mapping.txt`` (``<id> <name>`` lines) and
``splits/<name>.bundle`` (one ``<video>.txt`` per line). Every file is written to a temporary
name and renamed, so none is ever left half written. Used by ``export`` (decoded archives) and
``synth`` (synthetic datasets). Shapes: D feature width, T frames.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TascodecError

__all__ = ["LayoutWriter", "check_file_name", "check_class_names"]


def check_file_name(name: str, where: Any) -> None:
    """A video or split name must be usable as a file name (no separators, not ``.``/``..``)."""
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name
           or "\n" in name or "\0" in name)
    if bad:
        raise TascodecError(f"{where}: video name {name!r} cannot be used as a file name")


def check_class_names(names: Sequence[str], where: Any) -> None:
    """Class names must be non-empty and free of white space to fit ``mapping.txt``."""
    bad = [n for n in names if not n or any(ch.isspace() for ch in n)]
    if bad:
        raise TascodecError(f"{where}: class names {bad[:5]} cannot be written to "
                            f"mapping.txt (empty or containing white space)")


def _replace(path: Path, write: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _write_text(path: Path, text: str) -> None:
    _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


class LayoutWriter:
    """Writes one dataset directory in the standard layout (creates its subdirectories)."""

    def __init__(self, root: str | os.PathLike[str], class_names: Sequence[str]) -> None:
        self.root = Path(root)
        self.class_names = list(class_names)
        self._label_names = np.array(self.class_names, dtype=object)
        for sub in ("features", "groundTruth", "splits"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def write_mapping(self) -> None:
        """``mapping.txt``: the directory opens as a dataset once it exists (write it last)."""
        _write_text(self.root / "mapping.txt",
                    "".join(f"{i} {n}\n" for i, n in enumerate(self.class_names)))

    def write_split(self, name: str, videos: Sequence[str]) -> None:
        """``splits/<name>.bundle``: the split's videos, in order."""
        _write_text(self.root / "splits" / f"{name}.bundle", "".join(f"{v}.txt\n" for v in videos))

    def write_video(self, video: str, features: np.ndarray, labels: np.ndarray) -> None:
        """``features/<video>.npy`` from (D, T) float32 features (saved as given);
        ``groundTruth/<video>.txt`` from (T,) class ids."""
        feat = self.root / "features" / f"{video}.npy"

        def save(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, features)

        _replace(feat, save)
        _write_text(self.root / "groundTruth" / f"{video}.txt",
                    "".join(f"{n}\n" for n in self._label_names[np.asarray(labels)]))
