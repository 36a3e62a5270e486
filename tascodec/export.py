"""Export a ``.tasz`` archive's decoded features to the standard dataset layout.

Writes ``features/<video>.npy`` (D, T) float32 (C order), ``groundTruth/<video>.txt`` (one class
name per frame), ``mapping.txt`` (``<id> <name>`` lines) and ``splits/<name>.bundle`` (one
``<video>.txt`` per line, split names kept, e.g. ``train.split1.bundle``), so repositories that
read that layout (MS-TCN, ASFormer, DiffAct, ...) train on the decoded data unchanged.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .decode import decode_video
from .errors import TascodecError

__all__ = ["export_archive", "split_videos"]


def split_videos(archive: Any, split: str | None) -> tuple[list[str], dict[str, list[str]]]:
    """Videos of ``split`` (``None``: all) and the splits to write, from an open archive.

    ``"train"`` / ``"test"`` mean ``train.split1`` / ``test.split1`` when the archive has no
    split of that exact name; an unknown name raises ``TascodecError`` listing the available.
    """
    splits = archive.splits
    if split is None:
        return list(archive.videos), splits
    key = split if split in splits or split not in ("train", "test") else f"{split}.split1"
    if key not in splits:
        raise TascodecError(f"{archive.path}: split {split!r} not found; available: "
                            f"{sorted(splits)}")
    return list(splits[key]), {key: list(splits[key])}


def _check_name(video: str, where: Any) -> None:
    bad = (not video or video in (".", "..") or "/" in video or "\\" in video
           or "\n" in video or "\0" in video)
    if bad:
        raise TascodecError(f"{where}: video name {video!r} cannot be used as a file name")


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def export_archive(
    archive_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    split: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    device: Any = None,
) -> Path:
    """Decode every video of ``split`` (``None``: all) into ``out_dir`` in the standard layout.

    Refuses a non-empty ``out_dir`` unless ``overwrite`` (files of the same names are then
    replaced; other files are left alone). ``device``: as in ``tascodec.decode.decode_video``.
    Each file is written to a temporary name and renamed, so none is ever left half written.
    Returns ``out_dir``.
    """
    from .format import open_archive

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TascodecError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise TascodecError(f"{out}: directory is not empty (pass overwrite=True / --overwrite)")
    with open_archive(archive_path) as ar:
        videos, splits = split_videos(ar, split)
        for v in {v for vs in splits.values() for v in vs} | set(videos):
            _check_name(v, ar.path)
        names = list(ar.class_names)
        bad = [n for n in names if not n or any(ch.isspace() for ch in n)]
        if bad:
            raise TascodecError(f"{ar.path}: class names {bad[:5]} cannot be written to "
                                f"mapping.txt (empty or containing white space)")
        for sub in ("features", "groundTruth", "splits"):
            (out / sub).mkdir(parents=True, exist_ok=True)
        _write_text(out / "mapping.txt", "".join(f"{i} {n}\n" for i, n in enumerate(names)))
        for name, vs in splits.items():
            _check_name(name, f"{ar.path}: split")
            _write_text(out / "splits" / f"{name}.bundle", "".join(f"{v}.txt\n" for v in vs))
        label_names = np.array(names, dtype=object)
        for v in tqdm(videos, desc="export", unit="video", disable=not progress):
            x = decode_video(ar, v, device=device)
            feat = out / "features" / f"{v}.npy"
            tmp = feat.with_name(feat.name + ".tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, np.ascontiguousarray(x.T))
            os.replace(tmp, feat)
            _write_text(out / "groundTruth" / f"{v}.txt",
                        "".join(f"{n}\n" for n in label_names[ar.labels(v)]))
    return out
