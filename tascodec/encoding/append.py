"""``tascodec.append``: add videos of a dataset to an archive that already exists.

Shapes: S segments, N codes, d code width, A archive classes, A_j classes of decoder j.

Two ways to encode the new videos (``decoder=``):

* ``"reuse"`` (default): invert them against a frozen decoder of the archive, the one of
  ``group`` or else of the last group whose decoder knows every class the new videos use
  (``TascodecError`` listing the classes no decoder covers). They form a new group that
  references that decoder: the codes of stored videos are never touched. Instances per
  segment follow the group's rule per segment (``k`` of its codec, or for ``k="auto"``
  ``min(l, C)`` with the group's cap C), so a segment's instances never depend on which
  other videos are appended with it; each video's inversion starts from codes drawn from a
  seed derived from ``seed`` and the video's name (the archive keeps no encoder), with the
  group's inversion settings, so appending videos one by one or all at once gives the same
  codes up to float rounding. Codes are stored with the group's code dtype. A group of decode
  kind ``content.MLP_OFFSET`` (codec ``mean+inversion``) also stores the new videos' segment
  means, with the group's offset dtype (int8: a scale of their own, so one-by-one and
  all-at-once differ by that rounding), and inverts the residual frames.
* ``"new"``: ``tascodec.encode`` the new videos alone (``split=None``, ``videos=``,
  ``encode_kwargs`` passed on) and add the result as a new group with its own decoder. A
  byte budget (``max_bytes``, or ``target_ratio`` over the new videos' float32 bytes) bounds
  the bytes the append **adds** to the archive, not the size of the whole: the container's
  fixed part is paid once, so rate control spends it on the new group's codes. Without one,
  the group is what ``encode`` makes of those videos alone at its default ratio.

The dataset's class names are mapped to the archive's by name; names the archive lacks are
appended at the end (stored ids never change). The archive's own splits (or ``split=``) choose
the new videos, which join those splits only; names already stored are refused, naming them.
The archive is verified first and rewritten atomically (``tascodec.encoding.grow``): a killed append
leaves it byte-identical.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..codecs.inversion import invert_kwargs
from ..codecs.mean_inversion import less_offsets, segment_means, stored_offsets
from ..codecs.pca import project
from ..content import KINDS, ArchiveContent, CodeGroup, GroupedContent, SegmentTable
from ..dataset.layout import StandardDataset
from ..dataset.splits import select_split
from ..errors import TascodecError
from ..extras import require_torch
from ..format.v2_write import write_grouped
from ..rate.fit import SIZE_ATTEMPTS, Trial, fit_within
from ..rate.byte_model import FIXED_BYTES
from ..rng import random_codes
from ..runtime.devices import resolve_device
from ..runtime.tempfiles import clean_stale, mkdtemp_beside
from ..segments import num_instances_for_stride
from .encode import budgeted_codec, encode
from .grow import join, open_verified, read_groups

__all__ = ["append", "DECODER_CHOICES", "video_seed"]

DECODER_CHOICES = ("reuse", "new")

def video_seed(seed: int, video: str) -> int:
    """The seed of one video's starting codes: from ``seed`` and its name only (32 bits)."""
    digest = hashlib.blake2b(f"{int(seed)}\0{video}".encode(), digest_size=4).digest()
    return int.from_bytes(digest, "little")


class _LocalSource:
    """A dataset's frames with labels as decoder class indices (what ``invert`` checks);
    ``offsets``: video -> (S_v, D) segment offsets subtracted from its frames (groups of
    ``content.MLP_OFFSET``)."""

    def __init__(self, dataset: Any, videos: list[str], lut: np.ndarray, classes: list[str],
                 offsets: dict[str, np.ndarray] | None = None):
        self.dataset, self.training_videos, self._lut, self._classes = dataset, videos, lut, classes
        self._offsets = offsets or {}

    def features(self, video: str) -> np.ndarray:
        x = self.dataset.features(video).T
        if video not in self._offsets:
            return x

        return less_offsets(x, self.dataset.labels(video), self._offsets[video])

    def labels(self, video: str) -> np.ndarray:
        return self._lut[np.asarray(self.dataset.labels(video), np.int64)]

    @property
    def class_names(self) -> list[str]:
        return list(self._classes)

    @property
    def feature_dim(self) -> int:
        return int(self.dataset.feature_dim)


def _instances(group: CodeGroup, lengths: np.ndarray) -> np.ndarray:
    """K per segment of new videos (S,), by the group's per-segment rule."""
    if "stride" in group.content.codec_config:  # pca: one code per stride frames

        return num_instances_for_stride(lengths, int(group.content.codec_config["stride"]))
    k = group.content.codec_config.get("k", 8)
    if k is None:
        return lengths.copy()
    if k == "auto":
        t = group.content.table
        short = t.seg_num_instances < t.seg_length  # capped segments hold C or C + 1 codes
        cap = int(t.seg_num_instances[short].min()) if short.any() else int(
            t.seg_num_instances.max())
        return np.minimum(lengths, cap)
    return np.minimum(lengths, int(k))


def _pick_group(base: GroupedContent, used: set[int], group: int | None) -> int:
    def covers(g: CodeGroup) -> bool:
        # interpolated codes are fitted by projection, so only a pca decoder reuses them
        spec = KINDS.get(g.content.decode_kind)
        kind_ok = spec is not None and spec.uses_decoder and (
            not spec.interpolates or g.content.codec == "pca")
        return (g.decoder is not None and kind_ok
                and used <= set(base.decoders[g.decoder].classes))

    if group is not None:
        if not 0 <= group < len(base.groups):
            raise TascodecError(f"append: group {group} out of range [0, {len(base.groups)})")
        if not covers(base.groups[group]):
            raise TascodecError(f"append: the decoder of group {group} does not cover the new "
                                "videos' classes")
        return group
    for g in reversed(range(len(base.groups))):
        if covers(base.groups[g]):
            return g
    known = {c for d in base.decoders for c in d.classes}
    missing = sorted(base.class_names[c] for c in used - known) or "(only across decoders)"
    raise TascodecError(f"append: no decoder of the archive covers every class of the new "
                        f"videos (uncovered: {missing}); use decoder='new'")


def _reuse_group(base: GroupedContent, dataset: Any, videos: list[str], ids: np.ndarray,
                 group: int | None, seed: int, device: str, progress: bool) -> CodeGroup:
    """A new group of ``videos`` inverted against an existing group's decoder."""
    from ..tca.invert import invert  # lazy: torch (imported by that module)
    from ..tca.model import decoder_from_checkpoint  # lazy: torch (imported by that module)

    labels = {v: ids[np.asarray(dataset.labels(v), np.int64)] for v in videos}
    used = {int(c) for y in labels.values() for c in np.unique(y)}
    g = _pick_group(base, used, group)
    ref = base.groups[g]
    dec = base.decoders[ref.decoder]
    to_local = np.full(len(base.class_names), -1, np.int64)
    to_local[dec.classes] = np.arange(len(dec.classes))
    table = SegmentTable.from_labels(videos, [labels[v] for v in videos], None)
    table = replace(table, seg_num_instances=_instances(ref, table.seg_length))
    table.check()
    local = replace(table, seg_action=to_local[table.seg_action])
    d = ref.content.code_dim
    per_video = np.diff(table.video_first_code)
    init = np.concatenate([random_codes(video_seed(seed, v), 0, int(n), d)
                           for v, n in zip(videos, per_video)]).astype(np.float32)
    offsets, offset_scale = _new_offsets(ref, dataset, videos, table)
    first = table.video_first_segment
    source = _LocalSource(dataset, videos, to_local[ids], [base.class_names[c]
                                                            for c in dec.classes],
                          None if offsets is None else {
                              v: offsets[int(first[i]):int(first[i + 1])]
                              for i, v in enumerate(videos)})
    if ref.content.codec == "pca":  # a linear decoder: projection is the exact inverse
        codes, stats = _projected(dec.checkpoint, source, table,
                                  ref.content.codec_config.get("interpolation", "hold"))
        how: dict[str, Any] = {"decoder": "reuse", "group": g, "codes": "projected"}
    else:
        settings = invert_kwargs(ref.content.codec_config)
        codes, report = invert(decoder_from_checkpoint(dec.checkpoint), source, local,
                               init=init, device=device, seed=seed, progress=progress,
                               **settings)
        stats = {"inversion": report.as_dict()}
        how = {"decoder": "reuse", "group": g, "init": "random per video", "seed": int(seed)}
    config = {**ref.content.codec_config, "append": how}
    content = ArchiveContent(
        codec=ref.content.codec, codec_config=config, decode_kind=ref.content.decode_kind,
        class_names=base.class_names, splits={}, table=table,
        codes=np.ascontiguousarray(codes, np.float32), code_dim=d,
        feature_dim=base.feature_dim,
        stats={**stats, "source_bytes_float32":
               int(table.video_num_frames.sum()) * base.feature_dim * 4},
        segment_offsets=offsets, offset_dtype=ref.content.offset_dtype,
        offset_scale=offset_scale)
    dtype = ref.code_dtype if ref.content.codes is not None else "float32"
    return CodeGroup(content, ref.decoder, dtype, None)


def _projected(decoder: Any, source: Any, table: SegmentTable, interpolation: str
               ) -> tuple[np.ndarray, dict]:
    """Codes (N, p) of the table's videos for a ``pca`` group's decoder, fitted by the
    group's ``interpolation``, and their stats (values brought within the decoder's bound: a
    new video far outside the stored ones)."""
    first_seg, parts, clipped = table.video_first_segment, [], 0
    for i, video in enumerate(table.video_names):
        segs = slice(int(first_seg[i]), int(first_seg[i + 1]))
        codes, n = project(decoder, source.features(video), table.seg_length[segs],
                           table.seg_num_instances[segs], interpolation)
        parts.append(codes)
        clipped += n
    return np.concatenate(parts), {"projection": {"values_clipped": clipped}}


def _new_offsets(ref: CodeGroup, dataset: Any, videos: list[str], table: SegmentTable
                 ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """For a group that stores offsets (``content.MLP_OFFSET``): the new videos' segment means
    (S, D), quantised as the group stores offsets (with their own int8 scale), and that scale;
    else ``(None, None)``."""
    spec = KINDS.get(ref.content.decode_kind)
    if spec is None or not spec.stores_offsets:
        return None, None

    first = table.video_first_segment
    means = np.concatenate([segment_means(dataset.features(v).T,
                                          table.seg_length[int(first[i]):int(first[i + 1])])
                            for i, v in enumerate(videos)])
    return stored_offsets(means, ref.content.offset_dtype)


def append(archive: str | os.PathLike[str], dataset_dir: str | os.PathLike[str],
           videos: list[str] | None = None, *, split: str | None = None,
           decoder: str = "reuse", group: int | None = None, device: str = "auto",
           seed: int = 0, progress: bool = False, **encode_kwargs: Any) -> Path:
    """Add ``videos`` of the dataset at ``dataset_dir`` to ``archive`` (see the module
    docstring); returns the archive's path.

    ``videos``: names (bundle spellings ``"v.txt"`` too); default: those of ``split`` the
    archive lacks, ``split`` defaulting to the archive's own splits (a ``train.split1``
    archive takes no test video; without splits: every video), listed in the chosen splits
    only. Nothing new to add: ``TascodecError`` saying so.

    ``decoder``: ``"reuse"`` (invert against the frozen decoder of ``group``, default the
    last one that covers the new classes) or ``"new"`` (a new decoder, trained by
    ``tascodec.encode`` with ``encode_kwargs``, e.g. ``recipe``, ``target_ratio``, ``k``).
    """

    require_torch("tascodec.append")
    if decoder not in DECODER_CHOICES:
        raise TascodecError(f"append: decoder must be one of {DECODER_CHOICES}, got {decoder!r}")
    if decoder == "reuse" and encode_kwargs:
        raise TascodecError(f"append: decoder='reuse' takes no encode options, got "
                            f"{sorted(encode_kwargs)}")
    path = Path(archive)
    ar = open_verified(path)
    try:
        base = read_groups(ar)
        stored = set(ar.videos)
    finally:
        ar.close()
    dataset = StandardDataset(dataset_dir)
    videos, splits = _new_videos(path, base.splits, stored, dataset, videos, split)
    dev = str(resolve_device(device))
    if decoder == "reuse":
        names = list(base.class_names)
        names += [c for c in dataset.class_names if c not in set(names)]
        ids = np.array([names.index(c) for c in dataset.class_names], np.int64)
        base = replace(base, class_names=names)
        new_group = _reuse_group(base, dataset, videos, ids, group, seed, dev, progress)
        added = GroupedContent(names, splits, base.feature_dim,
                               [base.decoders[new_group.decoder]],
                               [replace(new_group, decoder=0)],
                               {"source_bytes_float32":
                                new_group.content.stats["source_bytes_float32"]})
        # join stores the decoder once: it equals the reused one in every bit
        merged = join([base, added], [str(path), "appended videos"])
    else:
        return _append_new(path, base, dataset, videos, splits, dev, seed, progress, encode_kwargs)
    return write_grouped(merged, path, overwrite=True)


def _new_videos(path: Path, archive_splits: dict[str, list[str]], stored: set[str], dataset: Any,
                videos: list[str] | None, split: str | None) -> tuple[list[str], dict]:
    """(the videos to add, the splits that list them): see ``append``."""
    available = dataset.splits()
    chosen = ([select_split(available, split, dataset.root)] if split is not None
              else [k for k in archive_splits if k in available])
    if videos is None:
        wanted = {v for k in chosen for v in available[k]}
        pool = [v for v in dataset.videos if not chosen or v in wanted]
        videos = [v for v in pool if v not in stored]
        if not videos:
            where = f"{', '.join(chosen)} of " if chosen else ""
            raise TascodecError(f"append: nothing to add: every video of {where}{dataset.root} "
                                f"({len(pool)}) is already in {path.name}")
    known = set(dataset.videos)
    videos = [next((c for c in (v, v.removesuffix(".txt"), v.removesuffix(".npy"))
                    if c in known), v) for v in videos]  # bundle spellings: "v.txt"
    unknown = sorted(set(videos) - known)
    clash = sorted(set(videos) & stored)
    if unknown or clash or not videos or len(set(videos)) != len(videos):
        raise TascodecError(f"append: need new, distinct videos of {dataset.root}: already in "
                            f"{path.name}: {clash[:20]}; not in the dataset: {unknown[:20]}")
    keep = set(videos)

    def listing(keys: Any) -> dict[str, list[str]]:
        return {k: vs for k in keys if (vs := [v for v in available[k] if v in keep])}

    # videos named outside the chosen splits are listed in their own
    return videos, listing(chosen or available) or listing(available)


def _append_new(path: Path, base: GroupedContent, dataset: Any, videos: list[str], splits: dict,
                dev: str, seed: int, progress: bool, encode_kwargs: dict[str, Any]) -> Path:
    """``decoder="new"``: encode ``videos`` alone, join them to ``base`` as a new group and
    write the archive at ``path``.

    An explicit byte budget (``max_bytes``, ``target_ratio``) bounds what the append
    **adds**: the growth of the archive, since the container's fixed part is paid already.
    The part is encoded as a standalone archive (which pays that part again) under the growth
    budget plus ``rate.FIXED_BYTES``; when the joined archive grows by more than
    ``max_bytes``, the part is encoded again under a budget smaller than the part by the
    excess plus 1%, the trained TCA reused: ``rate.fit.fit_within``, at most
    ``rate.fit.SIZE_ATTEMPTS`` trials. Nothing is written until it fits. A budget below what
    the smallest group rate control allows adds is refused with that measured growth plus
    ``rate.fit.HEADER_SLACK`` as ``BudgetTooSmallError.minimum_bytes``.
    """

    kwargs = dict(encode_kwargs)
    growth = None  # the most bytes the append may add, when the caller set a limit
    if budgeted_codec(kwargs.get("codec", "inversion"), kwargs.get("k", "auto")):
        if kwargs.get("max_bytes") is not None and kwargs.get("target_ratio") is not None:
            raise TascodecError("append: give target_ratio or max_bytes, not both")
        new_bytes = sum(dataset.num_frames(v) for v in videos) * dataset.feature_dim * 4
        if kwargs.get("max_bytes") is not None:
            growth = int(kwargs.pop("max_bytes"))
        elif kwargs.get("target_ratio") is not None:
            growth = int(new_bytes / float(kwargs.pop("target_ratio")))
    before = path.stat().st_size
    clean_stale(path.parent, path.name)  # scratch directories of killed appends to this path
    scratch = Path(mkdtemp_beside(path))
    cache: dict[str, Any] = {}

    def trial(budget: int | None) -> Trial[Path]:
        """Encode the part under ``budget``, join it: the joined file, measured by what it
        adds to the archive, produced: the part's bytes."""
        part = scratch / "appended.tasz"
        limit = {} if budget is None else {"max_bytes": budget}
        encode(dataset.root, part, split=None, videos=videos, device=dev, seed=seed,
               progress=progress, overwrite=True, cache=cache, **kwargs, **limit)
        new_ar = open_verified(part)
        try:
            new = replace(read_groups(new_ar), splits=splits)  # the chosen splits only
        finally:
            new_ar.close()
        joined = write_grouped(join([base, new], [str(path), "appended videos"]),
                               scratch / path.name, overwrite=True)
        return Trial(joined, joined.stat().st_size - before, part.stat().st_size)

    try:
        if growth is None:
            joined = trial(None).result
        else:
            joined = fit_within(
                trial, growth, growth + FIXED_BYTES, attempts=SIZE_ATTEMPTS,
                too_small=lambda _added, least: (
                    f"append: max_bytes={growth} (the bytes the append may add to {path.name}) "
                    f"cannot hold the new group: at least {least} bytes"),
                not_met=lambda added: (
                    f"append: max_bytes={growth} (the bytes the append may add to {path.name}) "
                    f"not met after {SIZE_ATTEMPTS} attempts (the last added {added}); "
                    f"{path.name} is unchanged: raise max_bytes")).result
        os.replace(joined, path)
        return path
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

