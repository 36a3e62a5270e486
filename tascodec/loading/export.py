"""Export a ``.tasz`` archive's decoded features to the standard dataset layout.

Writes ``features/<video>.npy`` (D, T) float32 (C order), ``groundTruth/<video>.txt`` (one class
name per frame), ``mapping.txt`` (``<id> <name>`` lines) and ``splits/<name>.bundle`` (one
``<video>.txt`` per line, split names kept, e.g. ``train.split1.bundle``), so repositories that
read that layout (MS-TCN, ASFormer, DiffAct, ...) train on the decoded data unchanged.

``with_test=DATASET`` (``tascodec export --with-test``) adds the original dataset's test split
of every exported training split (``train.split1`` -> ``test.split1``, ``splits.split_names``):
its videos' files, hard-linked or copied unchanged, and its bundle; the same code then trains
on the decoded training split and predicts on the original test split.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import errors
from ..dataset.layout import StandardDataset
from ..dataset.orientation import in_layout
from ..dataset.layout_write import (LayoutWriter, check_class_names, check_file_name, first_content,
                           read_marker_at)
from ..dataset.splits import select_split, split_names
from ..decode import decode_video
from ..errors import OutputExistsError, TascodecError
from ..format import open_archive

__all__ = ["export_archive", "split_videos", "original_test_splits"]


def split_videos(archive: Any, split: str | None) -> tuple[list[str], dict[str, list[str]]]:
    """Videos of ``split`` (``None``: all) and the splits to write, from an open archive.

    Split names as ``splits.resolve_split`` reads them; an unknown name raises
    ``TascodecError`` listing the available.
    """
    splits = archive.splits
    if split is None:
        return list(archive.videos), splits
    key = select_split(splits, split, archive.path)
    return list(splits[key]), {key: list(splits[key])}


def original_test_splits(archive: Any, splits: dict[str, list[str]], exported: list[str],
                         dataset_dir: str | os.PathLike[str]
                         ) -> tuple[StandardDataset, dict[str, list[str]]]:
    """The dataset at ``dataset_dir`` and its test split of each ``train.<fold>`` of ``splits``
    (the export's), checked to fit the archive: same class list, same feature width, the
    split present, no test video among the ``exported`` (decoded) ones. ``TascodecError``
    naming the file or video otherwise."""
    ds = StandardDataset(dataset_dir)
    where = f"--with-test {ds.root}"
    if ds.class_names != archive.class_names:
        raise TascodecError(f"{where}: mapping.txt's classes {ds.class_names[:6]} (A="
                            f"{ds.num_classes}) differ from the archive's "
                            f"{archive.class_names[:6]} (A={len(archive.class_names)})")
    if ds.feature_dim != archive.feature_dim:
        raise TascodecError(f"{where}: features are D={ds.feature_dim} wide, the archive's "
                            f"D={archive.feature_dim}")
    trains = [k for k in splits if k.startswith("train.")]
    if not trains:
        raise TascodecError(f"{where}: the export holds no training split (train.<fold>) to "
                            f"pair a test split with; it holds {sorted(splits)}")
    tests: dict[str, list[str]] = {}
    for key in trains:
        test = split_names(key)[1]
        if test not in ds.splits():
            raise TascodecError(f"{where}: no splits/{test}.bundle for the exported {key}; "
                                f"the dataset has {sorted(ds.splits())}")
        tests[test] = ds.split(test)
        for v in tests[test]:
            check_file_name(v, ds.root / "splits" / f"{test}.bundle")
    clash = sorted({v for vs in tests.values() for v in vs} & set(exported))
    if clash:
        raise TascodecError(f"{where}: test videos {clash[:5]} would replace videos decoded "
                            f"from the archive; export its training split alone "
                            f"(--split {trains[0]})")
    return ds, tests


def export_archive(
    archive_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    split: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
    device: Any = None,
    decode_limit: Any = None,
    with_test: str | os.PathLike[str] | None = None,
    workers: int = 1,
) -> Path:
    """Decode every video of ``split`` (``None``: all) into ``out_dir`` in the standard layout.

    Order: the marker ``.tascodec-export.json`` (``{"complete": false}``), the videos, the
    bundles, ``mapping.txt`` (without it the directory does not open as a dataset), the marker
    again (``{"complete": true}``). Each file is written to a temporary name and renamed
    (``layout_write.LayoutWriter``), so none is ever left half written; temporaries of killed
    runs are removed.

    A non-empty ``out_dir`` is refused unless ``overwrite`` (every file rewritten; other files
    left alone) or it holds a partial export of the same archive (same identity) and split,
    which is continued without ``overwrite``: every file is written again, since nothing a
    partial export left (the marker included) can be told from a planted file. The output
    directory is untrusted: links in place of ``features/``, ``groundTruth/`` or ``splits/``
    are refused, links in place of files replaced, never followed; the marker is read only
    as a small regular file (``layout_write``). ``device``: as in
    ``tascodec.decode.decode_video``. ``decode_limit``: the decode budget per video
    (``tascodec.decode.budget``). Videos a split names but the archive does not store are
    left out of the export and its bundles. ``with_test``: a dataset directory whose test
    split of each exported ``train.<fold>`` is added unchanged (``original_test_splits``;
    ``LayoutWriter.place_video``: hard links, else copies), after the decoded videos and
    before the bundles. ``workers``: processes that decode and write videos in parallel (each
    holds one video at a time, so memory stays bounded at any archive size). Returns
    ``out_dir``.
    """

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise TascodecError(f"export: workers must be a positive integer, got {workers!r}")
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
        tests: dict[str, list[str]] = {}
        if with_test is not None:
            ds, tests = original_test_splits(ar, splits, videos, with_test)
            state["with_test"] = str(ds.root.resolve())
        if _check_target(out, state, overwrite) and progress:
            tqdm.write(f"{out}: continuing the partial export of this archive found there "
                       f"(every file is written again)", file=sys.stderr)
        with LayoutWriter(out, ar.class_names) as writer:  # refuses linked folders
            writer.remove_mapping()  # back only when complete
            writer.write_marker(state)
            # every file is written, a resumed export's too: what a partial export left is not
            # trusted (anyone may have planted or replaced it, the marker included)
            bar = tqdm(total=len(videos), desc="export", unit="video", disable=not progress)
            if workers == 1 or len(videos) < 2:
                for v in videos:
                    _write_decoded(ar, writer, v, device)
                    bar.update()
            else:
                for _ in _export_in_parallel(archive_path, decode_limit, out, ar.class_names,
                                             device, videos, workers):
                    bar.update()
            bar.close()
            originals = list(dict.fromkeys(v for vs in tests.values() for v in vs))
            for v in tqdm(originals, desc="test split", unit="video",
                          disable=not progress or not originals):
                writer.place_video(v, ds.root)
            for name, vs in {**splits, **tests}.items():
                writer.write_split(name, vs)
            writer.write_mapping()
            writer.write_marker({**state, "complete": True})
    return out


def _write_decoded(ar: Any, writer: LayoutWriter, video: str, device: Any) -> None:
    x = decode_video(ar, video, device=device)
    try:
        writer.write_video(video, in_layout(x, "DT"), ar.labels(video))
    except OSError as exc:  # no space, no permission (what is in the way: the writer's)
        raise TascodecError(f"export: cannot write video {video!r}: {exc}") from None


_WORKER: dict[str, Any] = {}  # per worker process: its open archive, writer and device


def _worker_start(archive: Any, decode_limit: Any, out: Path, class_names: list[str],
                  device: Any) -> None:
    _WORKER.update(archive=open_archive(archive, decode_limit=decode_limit),
                   writer=LayoutWriter(out, class_names), device=device)


def _worker_export(video: str) -> tuple[str, str | None, str]:
    """``(video, None, "")``, or ``(video, error class name, message)``: exceptions travel
    back as text (the error classes' constructors differ, so pickling them is not safe)."""
    try:
        _write_decoded(_WORKER["archive"], _WORKER["writer"], video, _WORKER["device"])
    except TascodecError as exc:
        return video, type(exc).__name__, str(exc)
    return video, None, ""


def _export_in_parallel(archive: Any, decode_limit: Any, out: Path, class_names: list[str],
                        device: Any, videos: list[str], workers: int) -> Any:
    """Decode and write ``videos`` in ``workers`` spawned processes; yields each video once
    written. The first failure stops the pool and is raised (videos written stay written, so
    a rerun resumes)."""

    ctx = multiprocessing.get_context("spawn")  # no forked CUDA or file state
    with ProcessPoolExecutor(max_workers=min(workers, len(videos)), mp_context=ctx,
                             initializer=_worker_start,
                             initargs=(archive, decode_limit, out, class_names, device)) as pool:
        for video, failed, message in pool.map(_worker_export, videos):
            if failed is not None:
                pool.shutdown(cancel_futures=True)
                cls = getattr(errors, failed, TascodecError)
                if not (isinstance(cls, type) and issubclass(cls, TascodecError)) or \
                        cls is errors.OutputExistsError:
                    cls = TascodecError
                raise cls(message)
            yield video


def _check_target(out: Path, state: dict[str, Any], overwrite: bool) -> bool:
    """Whether ``out`` holds a partial export of the same archive and split (continued: every
    file written again); ``OutputExistsError`` when it holds anything else and not
    ``overwrite``. Links count as content and are never followed (``first_content``); the
    marker is read only as a small regular file (``read_marker_at``)."""
    first = None if overwrite or not out.is_dir() else first_content(out)
    if first is None:
        return False  # nothing but directories and temporaries: empty
    try:
        old = read_marker_at(out)
    except TascodecError as exc:
        raise OutputExistsError(out, f"directory is not empty, and its export marker is "
                                     f"refused: {exc}") from None
    same = old is not None and all(old.get(k) == state.get(k)
                                   for k in ("identity", "split", "with_test"))
    if old and old.get("complete") is False and same:
        return True
    if old and old.get("complete") is False:
        what = f"a partial export of {old.get('archive')!r} (split {old.get('split')!r})"
    elif old and old.get("complete") is True:
        what = f"a complete export of {old.get('archive')!r}"
    else:
        link = " (a symbolic link)" if first.is_symlink() else ""
        what = f"files of something else, e.g. {str(first.relative_to(out))!r}{link}"
    raise OutputExistsError(out, f"directory is not empty: it holds {what}")
