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
from .layout import select_split
from .layout_write import LayoutWriter, check_class_names, check_file_name

__all__ = ["export_archive", "split_videos"]


def split_videos(archive: Any, split: str | None) -> tuple[list[str], dict[str, list[str]]]:
    """Videos of ``split`` (``None``: all) and the splits to write, from an open archive.

    Split names as ``layout.resolve_split`` reads them; an unknown name raises
    ``TascodecError`` listing the available.
    """
    splits = archive.splits
    if split is None:
        return list(archive.videos), splits
    key = select_split(splits, split, archive.path)
    return list(splits[key]), {key: list(splits[key])}


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
    Each file is written to a temporary name and renamed (``layout_write.LayoutWriter``), so
    none is ever left half written. Returns ``out_dir``.
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
            check_file_name(v, ar.path)
        check_class_names(ar.class_names, ar.path)
        for name in splits:
            check_file_name(name, f"{ar.path}: split")
        writer = LayoutWriter(out, ar.class_names)
        writer.write_mapping()
        for name, vs in splits.items():
            writer.write_split(name, vs)
        for v in tqdm(videos, desc="export", unit="video", disable=not progress):
            x = decode_video(ar, v, device=device)
            writer.write_video(v, np.ascontiguousarray(x.T), ar.labels(v))
    return out
