"""Writing the standard dataset layout (the reader is ``layout.StandardDataset``).

``LayoutWriter(root)`` writes ``features/<video>.npy`` (D, T) float32, ``groundTruth/<video>.txt``
(one class name per frame), ``mapping.txt`` (``<id> <name>`` lines) and
``splits/<name>.bundle`` (one ``<video>.txt`` per line). Every file is written to a temporary
name (``.tascodec-tmp-...``, ``tempfiles``) and renamed, so none is ever left half written;
temporaries of killed runs are removed when a writer opens the directory again. Used by ``export`` (decoded archives) and
``synth`` (synthetic datasets). Shapes: D feature width, T frames.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import TascodecError
from .tempfiles import clean_stale, mkstemp_beside

__all__ = ["LayoutWriter", "check_file_name", "check_class_names", "MARKER"]

#: the export marker at a layout's root: ``{"complete": false, ...}`` while an export runs,
#: ``true`` once everything (bundles and ``mapping.txt`` last) is written
MARKER = ".tascodec-export.json"


#: bytes of a name: with ``.npy`` and a temporary's prefix and suffix it stays under the
#: 255 bytes most file systems allow
MAX_NAME_BYTES = 200


def _reads_back(name: str) -> bool:
    """One line of a bundle, read back as itself: no line breaks of ``str.splitlines`` (\r,
    \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029), no control characters, no white space at
    either end."""
    return (
        len(name.splitlines()) == 1
        and name.splitlines()[0] == name
        and name == name.strip()
        and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in name)
    )


def check_file_name(name: str, where: Any) -> None:
    """A video or split name must be usable as a file name and as a line of a bundle.

    No separators, not ``.``/``..``, at most ``MAX_NAME_BYTES`` UTF-8 bytes, nothing that
    would not read back from a bundle (line breaks, control characters, white space at the
    ends).
    """
    bad = (not name or name in (".", "..") or "/" in name or "\\" in name
           or not _reads_back(name)
           or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES)
    if bad:
        raise TascodecError(f"{where}: video name {name[:80]!r} cannot be used as a file name "
                            f"(separators, line breaks, control characters, white space at "
                            f"the ends, or over {MAX_NAME_BYTES} bytes)")


def check_class_names(names: Sequence[str], where: Any) -> None:
    """Class names must be non-empty, unique and free of white space to fit ``mapping.txt``."""
    bad = [n for n in names if not n or any(ch.isspace() for ch in n) or not _reads_back(n)]
    if bad:
        raise TascodecError(f"{where}: class names {bad[:5]} cannot be written to "
                            f"mapping.txt (empty or containing white space)")
    dup = sorted(n for n, count in Counter(names).items() if count > 1)
    if dup:
        raise TascodecError(f"{where}: duplicate class names {dup[:5]}: mapping.txt would not "
                            f"read back")


def _replace(path: Path, write: Any) -> None:
    fd, tmp = mkstemp_beside(path)  # .tascodec-tmp-<name>.<pid>.<random>
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _place(src: Path, dest: Path) -> str:
    """``dest`` as a hard link to ``src`` (same file system, permitted), else a copy; via a
    temporary beside ``dest``, renamed. Returns ``"link"`` or ``"copy"``."""
    fd, tmp = mkstemp_beside(dest)
    os.close(fd)
    try:
        tmp.unlink()  # os.link needs a free name; the random one stays this process's
        try:
            os.link(src, tmp)
            how = "link"
        except OSError:  # another file system, or links to others' files not permitted
            shutil.copyfile(src, tmp)
            how = "copy"
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return how


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
        for sub in (".", "features", "groundTruth", "splits"):  # left by killed runs
            clean_stale(self.root / sub)

    def write_mapping(self) -> None:
        """``mapping.txt``: the directory opens as a dataset once it exists (write it last)."""
        _write_text(self.root / "mapping.txt",
                    "".join(f"{i} {n}\n" for i, n in enumerate(self.class_names)))

    def write_marker(self, state: dict[str, Any]) -> None:
        """The export marker ``.tascodec-export.json`` (``MARKER``), replaced atomically."""
        _write_text(self.root / MARKER, json.dumps(state, sort_keys=True) + "\n")

    @staticmethod
    def read_marker_at(root: Path) -> dict[str, Any] | None:
        """The export marker's content, ``None`` without one, ``{}`` when unreadable."""
        path = Path(root) / MARKER
        if not path.exists():
            return None
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def has_video(self, video: str) -> bool:
        """Both files of ``video`` exist (each was renamed into place whole)."""
        return ((self.root / "features" / f"{video}.npy").is_file()
                and (self.root / "groundTruth" / f"{video}.txt").is_file())

    def write_split(self, name: str, videos: Sequence[str]) -> None:
        """``splits/<name>.bundle``: the split's videos, in order."""
        _write_text(self.root / "splits" / f"{name}.bundle", "".join(f"{v}.txt\n" for v in videos))

    def place_video(self, video: str, source_root: str | os.PathLike[str]) -> str:
        """Put ``video``'s two files of the dataset at ``source_root`` here unchanged: hard
        links when the file system allows (no space used; the files are shared, so edit
        neither in place), else copies. Returns ``"link"`` or ``"copy"`` (of the features)."""
        src = Path(source_root)
        how = _place(src / "features" / f"{video}.npy", self.root / "features" / f"{video}.npy")
        _place(src / "groundTruth" / f"{video}.txt", self.root / "groundTruth" / f"{video}.txt")
        return how

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
