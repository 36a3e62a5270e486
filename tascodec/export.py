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
from .errors import OutputExistsError, TascodecError
from .layout import select_split
from .layout_write import LayoutWriter, check_class_names, check_file_name
from .tempfiles import PREFIX

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
    decode_limit: Any = None,
) -> Path:
    """Decode every video of ``split`` (``None``: all) into ``out_dir`` in the standard layout.

    Order: the marker ``.tascodec-export.json`` (``{"complete": false}``), the videos, the
    bundles, ``mapping.txt`` (without it the directory does not open as a dataset), the marker
    again (``{"complete": true}``). Each file is written to a temporary name and renamed
    (``layout_write.LayoutWriter``), so none is ever left half written; temporaries of killed
    runs are removed.

    A non-empty ``out_dir`` is refused unless ``overwrite`` (every file rewritten; other files
    left alone) or it holds a partial export of the same archive (same identity) and split,
    which is resumed: videos already written are kept. ``device``: as in
    ``tascodec.decode.decode_video``. ``decode_limit``: the decode budget per video
    (``tascodec.decode.budget``). Videos a split names but the archive does not store are
    left out of the export and its bundles. Returns ``out_dir``.
    """
    from .format import open_archive

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TascodecError(f"{out}: exists and is not a directory")
    with open_archive(archive_path, decode_limit=decode_limit) as ar:
        stored = set(ar.videos)
        videos, splits = split_videos(ar, split)
        videos = [v for v in videos if v in stored]
        splits = {k: [v for v in vs if v in stored] for k, vs in splits.items()}
        for v in videos:
            check_file_name(v, ar.path)
        check_class_names(ar.class_names, ar.path)
        for name in splits:
            check_file_name(name, f"{ar.path}: split")
        state = {"format": "tascodec-export", "archive": str(ar.path), "identity": ar.identity,
                 "split": split, "videos": len(videos), "complete": False}
        resume = _check_target(out, state, overwrite)
        writer = LayoutWriter(out, ar.class_names)
        if not resume:
            (out / "mapping.txt").unlink(missing_ok=True)  # back only when complete
        writer.write_marker(state)
        for v in tqdm(videos, desc="export", unit="video", disable=not progress):
            if resume and writer.has_video(v):
                continue
            x = decode_video(ar, v, device=device)
            writer.write_video(v, np.ascontiguousarray(x.T), ar.labels(v))
        for name, vs in splits.items():
            writer.write_split(name, vs)
        writer.write_mapping()
        writer.write_marker({**state, "complete": True})
    return out


def _check_target(out: Path, state: dict[str, Any], overwrite: bool) -> bool:
    """Whether to resume a partial export in ``out``; ``TascodecError`` when refused."""
    if not out.is_dir() or not any(p.is_file() and not p.name.startswith(PREFIX)
                                   for p in out.rglob("*")):
        return False  # nothing but directories and temporaries: empty
    old = LayoutWriter.read_marker_at(out)
    if overwrite:
        return False
    same = old is not None and all(old.get(k) == state[k] for k in ("identity", "split"))
    if old and old.get("complete") is False and same:
        return True
    if old and old.get("complete") is False:
        what = f"a partial export of {old.get('archive')!r} (split {old.get('split')!r})"
    elif old and old.get("complete") is True:
        what = f"a complete export of {old.get('archive')!r}"
    else:
        what = "files of something else"
    raise OutputExistsError(out, f"directory is not empty: it holds {what}")
