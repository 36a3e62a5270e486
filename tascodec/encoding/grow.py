"""Archives that grow: read an archive's decoder groups, join several, write the union.

Shapes: V videos, S segments, N codes, A classes, A_j classes of decoder j.

* ``read_groups(archive)``: an open, verified archive as a ``GroupedContent`` (codes and
  segment offsets dequantised to float32 with their int8 scales kept, decoders as float32 with their stored
  dtype kept, so writing it again stores the same bits).
* ``join(contents)``: one ``GroupedContent`` of several: class names unioned by name (the
  first input's ids stay, new names are appended; every other input's segment actions and
  decoder class lists are remapped), splits unioned (order kept, no duplicates), each input
  group a group of the output, decoders equal in every bit stored once. Video names stored
  twice are refused, naming them.
* ``merge(paths, out)``: ``tascodec merge``; also how the shards of a distributed encode
  become one archive, and the last step of ``tascodec.append``.

Every write goes through ``format.write_grouped``: a temporary file beside ``out`` renamed
into place, so a killed merge leaves ``out`` (and every input) as it was.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ..content import (KINDS, ArchiveContent, CodeGroup, GroupedContent, SegmentTable,
                       StoredDecoder)
from ..errors import OutputExistsError, TascodecError
from ..format import open_archive
from ..format.v2_write import write_grouped

__all__ = ["read_groups", "join", "merge", "open_verified", "group_table"]


def open_verified(path: str | os.PathLike[str]) -> Any:
    """Open ``path`` and check every entry (``Archive.verify``); ``TascodecError`` naming the
    problems otherwise: archives that fail verification are never rewritten or joined."""

    archive = open_archive(path)
    problems = archive.verify()
    if problems:
        archive.close()
        raise TascodecError(f"{path}: fails verification ({len(problems)} problems, first: "
                            f"{problems[0]}); refusing to rewrite it")
    return archive


def group_table(table: SegmentTable, first_video: int, num_videos: int) -> SegmentTable:
    """The rows of videos ``[first_video, first_video + num_videos)`` of ``table``."""
    fs = table.video_first_segment
    seg = slice(int(fs[first_video]), int(fs[first_video + num_videos]))
    vids = slice(first_video, first_video + num_videos)
    return SegmentTable(
        video_names=table.video_names[vids],
        video_num_frames=np.asarray(table.video_num_frames[vids], np.int64),
        video_num_segments=np.asarray(table.video_num_segments[vids], np.int64),
        seg_action=np.asarray(table.seg_action[seg], np.int64),
        seg_length=np.asarray(table.seg_length[seg], np.int64),
        seg_num_instances=np.asarray(table.seg_num_instances[seg], np.int64))


def read_groups(archive: Any) -> GroupedContent:
    """Every group of the open ``archive`` as a ``GroupedContent`` (see the module docstring)."""
    layout = archive._layout  # the reader's view: decoder dtypes and group code headers
    decoders: list[StoredDecoder] = []
    index: dict[int, int] = {}
    groups = []
    for info, gl in zip(archive.groups, layout.groups):
        dec = None
        if info.decoder is not None:
            if info.decoder not in index:
                index[info.decoder] = len(decoders)
                decoders.append(StoredDecoder(archive.decoder(group=info.index),
                                              list(info.classes),
                                              layout.decoders[info.decoder].dtype))
            dec = index[info.decoder]
        config = dict(info.codec_config)
        codes_h = gl.header["codes"]
        if codes_h["storage"] == "random":
            config["seed"] = codes_h["seed"]
        stats = gl.header.get("stats", archive.stats if len(layout.groups) == 1 else {})
        content = ArchiveContent(
            codec=info.codec, codec_config=config, decode_kind=info.decode_kind,  # type: ignore[arg-type]
            class_names=archive.class_names, splits={},
            table=group_table(archive.table, info.first_video, len(info.videos)),
            codes=archive.group_codes(info.index) if codes_h["storage"] == "array" else None,
            code_dim=info.code_dim, feature_dim=archive.feature_dim, stats=dict(stats or {}))
        spec = KINDS.get(info.decode_kind)  # None: a kind unknown to this library
        if "offsets" in gl.header and spec is not None and spec.stores_offsets:
            content.segment_offsets = archive.group_offsets(info.index)
            content.offset_dtype = gl.header["offsets"]["dtype"]
            content.offset_scale = archive.offset_scale(info.index)
        groups.append(CodeGroup(content, dec, info.code_dtype or "float32",
                                archive.code_scale(info.index)))
    return GroupedContent(archive.class_names, archive.splits, archive.feature_dim, decoders,
                          groups, dict(archive.stats))


def _decoder_key(dec: StoredDecoder) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((sorted(dec.checkpoint.arch.items()), dec.dtype, list(dec.classes))).encode())
    for name in sorted(dec.checkpoint.tensors):
        h.update(name.encode())
        h.update(np.ascontiguousarray(dec.checkpoint.tensors[name], np.float32).tobytes())
    return h.hexdigest()


def join(contents: list[GroupedContent], names: list[str] | None = None) -> GroupedContent:
    """One ``GroupedContent`` holding every group of ``contents`` (see the module docstring);
    ``names`` label the inputs in errors."""
    if not contents:
        raise TascodecError("merge: nothing to merge")
    names = names or [f"input {i}" for i in range(len(contents))]
    dims = {c.feature_dim for c in contents}
    if len(dims) != 1:
        raise TascodecError(f"merge: feature widths differ ({sorted(dims)}): "
                            f"{dict(zip(names, (c.feature_dim for c in contents)))}")
    owner: dict[str, str] = {}
    clashes: dict[str, list[str]] = {}
    for name, c in zip(names, contents):
        for g in c.groups:
            for v in g.content.table.video_names:
                if v in owner:
                    clashes.setdefault(v, [owner[v]]).append(name)
                owner.setdefault(v, name)
    if clashes:
        listed = ", ".join(f"{v!r} ({' and '.join(w)})" for v, w in list(clashes.items())[:20])
        raise TascodecError(f"merge: {len(clashes)} video name(s) stored in more than one "
                            f"input: {listed}")
    classes: list[str] = []
    ids: dict[str, int] = {}
    splits: dict[str, list[str]] = {}
    decoders: list[StoredDecoder] = []
    seen: dict[str, int] = {}
    groups: list[CodeGroup] = []
    for c in contents:
        for cname in c.class_names:
            if cname not in ids:
                ids[cname] = len(classes)
                classes.append(cname)
        lut = np.array([ids[n] for n in c.class_names], dtype=np.int64)
        for split, vids in c.splits.items():
            out = splits.setdefault(split, [])
            have = set(out)
            out.extend(v for v in vids if v not in have and not have.add(v))  # type: ignore[func-returns-value]
        where: dict[int, int] = {}
        for j, dec in enumerate(c.decoders):
            moved = StoredDecoder(dec.checkpoint, [int(lut[k]) for k in dec.classes], dec.dtype)
            key = _decoder_key(moved)
            if key not in seen:
                seen[key] = len(decoders)
                decoders.append(moved)
            where[j] = seen[key]
        for g in c.groups:
            table = replace(g.content.table, seg_action=lut[g.content.table.seg_action])
            content = replace(g.content, table=table, class_names=classes)
            groups.append(CodeGroup(content, None if g.decoder is None else where[g.decoder],
                                    g.code_dtype, g.code_scale))
    stats = {"source_bytes_float32": sum(int(c.stats.get("source_bytes_float32") or 0)
                                         for c in contents),
             "joined_from": len(contents)}
    return GroupedContent(classes, splits, dims.pop(), decoders, groups, stats)


def merge(paths: list[str | os.PathLike[str]], out: str | os.PathLike[str], *,
          overwrite: bool = False, progress: bool = False) -> Path:
    """Merge the archives ``paths`` into ``out`` (``tascodec merge A B ... -o OUT``).

    Every input is opened and verified first; classes are unioned by name (the first input's
    ids are kept), splits unioned, each input group becomes a group of ``out`` (decoders
    identical in every bit are stored once); a video name in two inputs is refused, naming
    it. ``out`` is written atomically and replaced only with ``overwrite=True`` (it may be one
    of the inputs then). Every video of ``out`` decodes exactly as in its input. Returns
    ``out``. ``progress``: a bar over the inputs read and verified, then the write.
    """

    if isinstance(paths, (str, os.PathLike)) or not paths:
        raise TascodecError(f"merge: give a list of archive paths, got {paths!r}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    contents = []
    with tqdm(total=len(paths) + 1, desc="merge", unit="step", disable=not progress) as bar:
        for p in paths:
            bar.set_postfix_str(f"verify {Path(p).name}")
            archive = open_verified(p)
            try:
                contents.append(read_groups(archive))
            finally:
                archive.close()
            bar.update()
        merged = join(contents, [str(p) for p in paths])
        bar.set_postfix_str(f"write {out.name}")
        written = write_grouped(merged, out, overwrite=overwrite)
        bar.update()
    return written
