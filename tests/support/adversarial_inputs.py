"""Two families of the standing adversarial run (issue 28): hostile file objects handed to
``tascodec.open`` and hostile datasets handed to an encode.

* ``fileobjs``: every format 1.1 golden through binary file objects that decompress it on
  the fly (gzip, lzma, bz2), whole or truncated at several points, or whose reads fail
  (``EOFError``, ``OSError``, ``ValueError``, a short read). Outcomes as ``adversarial.classify``:
  a truncated stream must be ``rejected`` or ``caught``, never ``foreign``.
* ``datasets``: the tiny synthetic dataset with one value planted in one video's frames
  (NaN, infinities, finite values far beyond any feature, values at the bound), read as an
  encode reads it (``StandardDataset`` with its first-access check, then ``ArraySource``).
  ``rejected``: a ``TascodecError`` naming the video, dimension and frame; ``ok``: read
  back as written; ``silent``: a value beyond ``source.MAX_FRAME_MAGNITUDE`` or a
  non-finite one read without an error, or an error that does not name where.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

from make_golden import GOLDEN_DIR_1_1, NAMES_1_1
from tascodec.errors import TascodecError

CUTS = (0.0, 0.1, 0.5, 0.9, 0.999)


class Failing(io.RawIOBase):
    """A seekable binary file object over ``data`` whose reads past ``at`` bytes fail."""

    def __init__(self, data: bytes, at: int, error: type[BaseException] | None) -> None:
        self._data, self._at, self._error, self._pos = data, at, error, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._pos = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: len(self._data)}[
            whence] + offset
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        n = len(self._data) - self._pos if n is None or n < 0 else n
        if self._pos + n > self._at:
            if self._error is None:  # a short read: what there is up to the cut
                n = max(0, self._at - self._pos)
            else:
                raise self._error("the file object failed")
        out = self._data[self._pos : self._pos + n]
        self._pos += len(out)
        return out


def _file_objects(data: bytes):
    """``(name, file object)`` of every hostile wrapping of ``data``."""
    for label, compress, opener in (
            ("gzip", gzip.compress, lambda b: gzip.GzipFile(fileobj=io.BytesIO(b))),
            ("lzma", lzma.compress, lambda b: lzma.LZMAFile(io.BytesIO(b))),
            ("bz2", bz2.compress, lambda b: bz2.BZ2File(io.BytesIO(b)))):
        packed = compress(data)
        yield f"{label} whole", opener(packed)
        for cut in CUTS:
            yield f"{label} cut {cut}", opener(packed[: int(len(packed) * cut)])
    for error in (EOFError, OSError, ValueError, None):
        for at in (0, len(data) // 2, len(data) - 1):
            yield f"{getattr(error, '__name__', 'short')} at {at}", Failing(data, at, error)


def run_fileobjs(*, detail: dict[str, str] | None = None) -> Counter:
    """Every golden through every hostile file object: a Counter of outcomes."""
    from adversarial import classify

    counts: Counter = Counter()
    for name in NAMES_1_1:
        data = (GOLDEN_DIR_1_1 / f"{name}.tasz").read_bytes()
        expected = np.load(GOLDEN_DIR_1_1 / f"{name}.npz")
        for label, fileobj in _file_objects(data):
            outcome = classify(fileobj, expected)  # "ok" only if it reads exactly as it
            counts[outcome] += 1
            if detail is not None:
                detail[f"{name}: {label}"] = outcome
    return counts


PLANTED = (np.nan, np.inf, -np.inf, 3e38, -3e38, 1e13, -1.5e12, 1e12, -1e12, 65504.0, 0.0)


def run_datasets(dataset: Path, workdir: Path, *, detail: dict[str, str] | None = None
                 ) -> Counter:
    """Each value of ``PLANTED`` in frame 3, dimension 1 of one video of a copy of
    ``dataset``, read as an encode reads it: a Counter of outcomes."""
    from tascodec.dataset.layout import StandardDataset
    from tascodec.dataset.source import MAX_FRAME_MAGNITUDE, ArraySource

    counts: Counter = Counter()
    for i, value in enumerate(PLANTED):
        root = Path(workdir) / f"ds{i}"
        shutil.copytree(dataset, root)
        video = StandardDataset(root).videos[-1]
        path = root / "features" / f"{video}.npy"
        x = np.load(path)
        x[1, 3] = value
        np.save(path, x)
        bad = not abs(value) <= MAX_FRAME_MAGNITUDE
        outcomes = []
        for read in ("layout", "array"):
            try:
                if read == "layout":
                    got = StandardDataset(root).features(video)
                else:
                    ArraySource({video: x.T}, {video: np.zeros(x.shape[1])}, ["a"])
                    got = x
                same = got[1, 3] == np.float32(value)
                outcomes.append("silent" if bad or not same else "ok")
            except TascodecError as exc:
                named = video in str(exc) and "dimension 1, frame 3" in str(exc)
                outcomes.append("rejected" if bad and named else "silent")
            except Exception:  # noqa: BLE001 - counted, never hidden
                traceback.print_exc()
                outcomes.append("foreign")
        for outcome in outcomes:
            counts[outcome] += 1
        if detail is not None:
            detail[repr(value)] = "/".join(outcomes)
        shutil.rmtree(root, ignore_errors=True)
    return counts
