"""Writing archives of several decoder groups (layout in ``v2.py`` and ``spec/tasz-v2.md``).

``write_grouped(content, path)`` writes the lowest format version that can express
``content``: one group whose decoder knows every archive class in order (or that has no
decoder) is a 1.1 archive (``v1_write``); a group of a decode kind that a later format added
raises the version to that one (``content.KINDS``, ``version.version_for_kinds``: 2.1 for
segment offsets, 2.2 for interpolated codes, 2.3 for codes interpolated over the video);
anything else is 2.0. Codes are stored with each
group's own dtype and int8 scale, decoders with their own dtype, so reading an archive and
writing its groups again stores the same codes and tensors bit for bit.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..content import (DECODE_KINDS, MLP_OFFSET, ArchiveContent, GroupedContent, SegmentTable,
                       decode_kind_spec)
from ..errors import OutputExistsError, TascodecError
from ..jsonvalues import json_values
from .zip_write import write_zip_atomic
from .v1 import CODE_DTYPES, DECODER_DTYPES, MAX_DIM, MAX_EXPANSION, RANDOM_GENERATOR
from .v1_write import _decoder_arrays, quantise, write_v1
from .v2 import MAX_GROUPS
from .version import FORMAT_NAME, KIND_SINCE, version_for_kinds
from .zarr_entries import CODES_CHUNK_BYTES, TABLE_CHUNK_BYTES, build_entries, put_tables
from .zarr_entries import with_manifest

__all__ = ["write_grouped", "concat_tables"]


def concat_tables(tables: list[SegmentTable]) -> SegmentTable:
    """The segment tables of consecutive groups as one table (videos in order)."""
    cat = lambda key: np.concatenate([np.asarray(getattr(t, key), np.int64)  # noqa: E731
                                      for t in tables])
    return SegmentTable(
        video_names=[v for t in tables for v in t.video_names],
        video_num_frames=cat("video_num_frames"), video_num_segments=cat("video_num_segments"),
        seg_action=cat("seg_action"), seg_length=cat("seg_length"),
        seg_num_instances=cat("seg_num_instances"))


def _one_group_content(content: GroupedContent) -> tuple[ArchiveContent, dict[str, Any]] | None:
    """``content`` as a 1.1 ``ArchiveContent`` and its writer options, when it can be one."""
    if len(content.groups) != 1 or content.groups[0].content.decode_kind in KIND_SINCE:
        return None
    group = content.groups[0]
    dec = content.decoders[group.decoder] if group.decoder is not None else None
    if dec is not None and list(dec.classes) != list(range(len(content.class_names))):
        return None
    c = group.content
    single = ArchiveContent(
        codec=c.codec, codec_config=dict(c.codec_config), decode_kind=c.decode_kind,
        class_names=list(content.class_names), splits=dict(content.splits), table=c.table,
        codes=c.codes, code_dim=c.code_dim, feature_dim=content.feature_dim,
        decoder=dec.checkpoint if dec is not None else None,
        stats={**c.stats, **content.stats})
    return single, {"code_dtype": group.code_dtype, "code_scale": group.code_scale,
                    "decoder_dtype": dec.dtype if dec is not None else "float32"}


def _validate(content: GroupedContent, where: str) -> SegmentTable:
    A, D = len(content.class_names), content.feature_dim
    if not A or not all(isinstance(c, str) for c in content.class_names):
        raise TascodecError(f"{where}: class_names must be a non-empty list of str")
    if len(set(content.class_names)) != A:
        raise TascodecError(f"{where}: class_names must be unique")
    if not isinstance(D, (int, np.integer)) or not 1 <= D <= MAX_DIM:
        raise TascodecError(f"{where}: feature_dim must be an int in [1, {MAX_DIM}]")
    if not 1 <= len(content.groups) <= MAX_GROUPS or len(content.decoders) > MAX_GROUPS:
        raise TascodecError(f"{where}: 1 to {MAX_GROUPS} groups and at most {MAX_GROUPS} "
                            f"decoders, got {len(content.groups)} and {len(content.decoders)}")
    for j, dec in enumerate(content.decoders):
        ids = [int(c) for c in dec.classes]
        if not ids or len(set(ids)) != len(ids) or min(ids) < 0 or max(ids) >= A:
            raise TascodecError(f"{where}: decoder {j}: classes must be distinct ids in [0, {A})")
        if dec.dtype not in DECODER_DTYPES:
            raise TascodecError(f"{where}: decoder {j}: dtype must be one of {DECODER_DTYPES}")
        arch = dec.checkpoint.arch
        if arch.get("num_classes") != len(ids) or arch.get("feature_dim") != D:
            raise TascodecError(f"{where}: decoder {j}: arch num_classes / feature_dim "
                                f"({arch.get('num_classes')}, {arch.get('feature_dim')}) != "
                                f"({len(ids)}, {D})")
    for g, group in enumerate(content.groups):
        c, gw = group.content, f"{where}: group {g}"
        t = c.table
        try:
            t.check()
        except TascodecError as exc:
            raise TascodecError(f"{gw}: {exc}") from None
        if not t.num_videos:
            raise TascodecError(f"{gw}: a group needs at least one video")
        if t.seg_action.size and not 0 <= int(t.seg_action.min()) <= int(t.seg_action.max()) < A:
            raise TascodecError(f"{gw}: segment actions outside [0, {A})")
        if group.code_dtype not in CODE_DTYPES:
            raise TascodecError(f"{gw}: code_dtype must be one of {CODE_DTYPES}")
        if c.codes is not None and (np.shape(c.codes) != (t.num_codes, c.code_dim)
                                    or not np.isfinite(c.codes).all()):
            raise TascodecError(f"{gw}: codes must be finite ({t.num_codes}, {c.code_dim})")
        if c.decode_kind not in DECODE_KINDS:
            raise TascodecError(f"{gw}: decode_kind must be one of {DECODE_KINDS}")
        spec = decode_kind_spec(c.decode_kind, where=gw)
        if spec.uses_decoder and group.decoder is None:
            raise TascodecError(f"{gw}: decode_kind {c.decode_kind!r} needs a decoder")
        _check_offsets(c, t, D, gw)
        if not spec.uses_decoder and c.code_dim != D:
            raise TascodecError(f"{gw}: decode_kind {c.decode_kind!r} needs code_dim == "
                                "feature_dim")
        if group.decoder is not None:
            if not 0 <= group.decoder < len(content.decoders):
                raise TascodecError(f"{gw}: decoder index {group.decoder} out of range")
            dec = content.decoders[group.decoder]
            if dec.checkpoint.arch.get("latent_dim") != c.code_dim:
                raise TascodecError(f"{gw}: code_dim {c.code_dim} != its decoder's latent_dim")
            unknown = sorted(set(np.unique(t.seg_action).tolist()) - set(dec.classes))
            if unknown:
                raise TascodecError(f"{gw}: classes {[content.class_names[a] for a in unknown]}"
                                    f" are not known to its decoder {group.decoder}")
    table = concat_tables([g.content.table for g in content.groups])
    dupes = sorted({v for v in table.video_names if table.video_names.count(v) > 1})
    if dupes:
        raise TascodecError(f"{where}: video names stored twice: {dupes[:10]}")
    return table


def _check_offsets(c: ArchiveContent, t: SegmentTable, D: int, where: str) -> None:
    """Segment offsets (S_g, D) finite for a kind that stores them (``content.MLP_OFFSET``),
    absent for any other kind."""
    if not _stores_offsets(c):
        if c.segment_offsets is not None:
            raise TascodecError(f"{where}: segment_offsets need decode_kind {MLP_OFFSET!r}, not "
                                f"{c.decode_kind!r}")
        return
    shape = (int(t.seg_action.shape[0]), int(D))
    if (c.segment_offsets is None or np.shape(c.segment_offsets) != shape
            or not np.isfinite(c.segment_offsets).all()):
        raise TascodecError(f"{where}: decode_kind {c.decode_kind!r} needs finite "
                            f"segment_offsets {shape} (one row per segment)")
    if c.offset_dtype not in CODE_DTYPES:
        raise TascodecError(f"{where}: offset_dtype must be one of {CODE_DTYPES}")


def _stores_offsets(c: ArchiveContent) -> bool:
    """Whether a group's content (its decode kind known) stores segment offsets."""
    return decode_kind_spec(c.decode_kind).stores_offsets


def _codes_header(group: Any, where: str) -> dict[str, Any]:
    c = group.content
    if c.codes is not None:
        return {"storage": "array", "dtype": group.code_dtype}
    seed = c.codec_config.get("seed")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TascodecError(f"{where}: codes is None but codec_config has no integer 'seed'")
    return {"storage": "random", "generator": RANDOM_GENERATOR, "seed": int(seed)}


def _header(content: GroupedContent, table: SegmentTable, where: str) -> dict[str, Any]:
    from .. import __version__

    decoders = [{"arch": d.checkpoint.arch, "tensors": list(d.checkpoint.tensors),
                 "dtype": d.dtype, "classes": [int(c) for c in d.classes]}
                for d in content.decoders]
    groups = [{"num_videos": g.content.table.num_videos, "codec": g.content.codec,
               "codec_config": g.content.codec_config, "decode_kind": g.content.decode_kind,
               "code_dim": int(g.content.code_dim), "codes": _codes_header(g, where),
               "decoder": g.decoder, "stats": g.content.stats}
              for g in content.groups]
    for group, g in zip(groups, content.groups):
        if _stores_offsets(g.content):
            group["offsets"] = {"storage": "array", "dtype": g.content.offset_dtype}
    version = version_for_kinds(g.content.decode_kind for g in content.groups)
    header = {
        "format": FORMAT_NAME, "format_version": version,
        "library_version": __version__,
        "class_names": list(content.class_names), "videos": list(table.video_names),
        "splits": {k: list(v) for k, v in content.splits.items()},
        "num_videos": table.num_videos, "num_segments": int(table.seg_action.shape[0]),
        "num_codes": table.num_codes, "num_frames": int(np.sum(table.video_num_frames)),
        "feature_dim": int(content.feature_dim), "stats": content.stats,
        "decoders": decoders, "groups": groups,
    }
    header = json_values(header, f"{where}: header")
    try:
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise TascodecError(f"{where}: the header holds text that is not valid Unicode") from None
    return header


def write_grouped(content: GroupedContent, path: str | Path, *, overwrite: bool = False,
                  compression_level: int = 3, codes_chunk_bytes: int = CODES_CHUNK_BYTES) -> Path:
    """Write ``content`` at ``path`` (atomic; an existing file is replaced only with
    ``overwrite=True``): 1.1 when one group can say it all, else the lowest 2.x that holds its
    decode kinds (2.1 with segment offsets, 2.2 with interpolated codes, 2.3 with codes
    interpolated over the video). Returns the path."""
    path = Path(path)
    where = str(path)
    one = _one_group_content(content)
    if one is not None:
        single, options = one
        return write_v1(single, path, overwrite=overwrite, compression_level=compression_level,
                        codes_chunk_bytes=codes_chunk_bytes, **options)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if not path.parent.is_dir():
        raise TascodecError(f"{path}: directory {path.parent} does not exist")
    table = _validate(content, where)
    header = _header(content, table, where)
    stored_codes = [quantise(np.asarray(g.content.codes, np.float32), g.code_dtype, where,
                              g.code_scale) if g.content.codes is not None else None
                    for g in content.groups]
    stored_offsets = [quantise(np.asarray(g.content.segment_offsets, np.float32),
                                g.content.offset_dtype, where, g.content.offset_scale)
                      if _stores_offsets(g.content) else None
                      for g in content.groups]
    tensors = [_decoder_arrays(d.checkpoint, d.dtype, where) for d in content.decoders]
    payload = sum(q.nbytes for q, _ in filter(None, stored_codes + stored_offsets)) + sum(
        t.nbytes for ts in tensors for t in ts.values()) + 24 * table.seg_action.size

    def fill(root: Any, put: Any) -> None:
        put_tables(root, put, table)
        groups = root.create_group("groups")
        for g, (stored, offsets) in enumerate(zip(stored_codes, stored_offsets)):
            if stored is None and offsets is None:
                continue
            node = groups.create_group(str(g))
            for name, part in (("code", stored), ("offset", offsets)):
                if part is None:
                    continue
                q, scale = part
                put(node, f"{name}s", np.ascontiguousarray(q, dtype=q.dtype.newbyteorder("<")),
                    codes_chunk_bytes)
                if scale is not None:
                    put(node, f"{name}_scale", scale.astype("<f4"), TABLE_CHUNK_BYTES)
        if tensors:
            decs = root.create_group("decoders")
            for j, arrays in enumerate(tensors):
                node = decs.create_group(str(j))
                for name, tensor in arrays.items():
                    put(node, name, tensor, TABLE_CHUNK_BYTES)

    def check(stored: int) -> None:
        budget = max(MAX_EXPANSION * stored, 1 << 30)
        declared = 8 * (3 * header["num_segments"] + 3 * header["num_videos"] + 2
                        + header["num_frames"]) + sum(
            4 * g.content.table.num_codes * g.content.code_dim for g in content.groups) + sum(
            4 * g.content.table.seg_action.shape[0] * content.feature_dim
            for g in content.groups if _stores_offsets(g.content))
        if declared > budget:
            raise TascodecError(f"{where}: the content declares {declared} bytes but stores "
                                f"{stored}: readers would refuse it (spec section 8)")

    with build_entries(path, header, payload, compression_level, fill, check) as entries:
        return write_zip_atomic(with_manifest(entries), path, overwrite=overwrite)
