"""Format version 2 of ``.tasz``: several decoder groups in one archive (reader, no zarr).

``readers`` picks this module for archives of major version 2; the writer is ``v2_write``.
Everything of 1.1 holds (container, arrays, entry manifest, tables) except that codecs,
codes and decoders belong to groups (normative text: ``spec/tasz-v2.md``)::

    zarr.json                     root; attributes["tascodec"] = header, ["tascodec_manifest"]
    segments/{action,length,num_instances}     (S,) int64   (action: archive class ids)
    videos/num_frames             (V,) int64
    videos/{first_segment,first_code}          (V + 1,) int64 (code rows over all groups)
    groups/<g>/codes              (N_g, d_g) float32 | float16 | int8     [if stored]
    groups/<g>/code_scale         (d_g,) float32                          [if int8]
    groups/<g>/offsets            (S_g, D) float32 | float16 | int8       [2.1, "mlp+offset"]
    groups/<g>/offset_scale       (D,) float32                            [if int8]
    decoders/<j>/<tensor>         float32 | float16, one per tensor

Header: the 1.1 root fields without ``codec``, ``codec_config``, ``decode_kind``,
``code_dim``, ``codes`` and ``decoder``, plus ``decoders`` (each a 1.1 decoder description
with ``classes``: decoder class index -> archive class id) and ``groups`` (each
``num_videos``, ``codec``, ``codec_config``, ``decode_kind``, ``code_dim``, ``codes``,
``decoder``: an index into ``decoders`` or null). Group g owns the ``num_videos`` videos after
those of groups ``0 .. g - 1``; a video is decoded by its group's decoder, its segments'
actions mapped to the decoder's class indices through ``classes``. Version 2.1 adds the decode
kind ``"mlp+offset"``: a group of that kind also has ``offsets`` (a codes description with
storage ``"array"``) and one stored offset row per segment, added to the segment's frames.
Version 2.2 adds the decode kind ``"mlp+lerp"``: nothing new is stored; each frame's code is
interpolated between the codes of the instances around it (``segments.lerp_weights``).
Version 2.3 adds ``"mlp+lerp-video"``: the same between consecutive instances of the whole
video, across segment boundaries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import FormatError, IntegrityError
from .archive_layout import DecoderLayout, GroupLayout, Layout
from .arrays import parse_array_meta, read_array, read_json_entry
from .container import ZipReader
from .v1 import (
    _field,
    MAX_DIM,
    MAX_EXPANSION,
    TABLE_ARRAYS,
    array_metas,
    CODE_DTYPES,
    check_codes_header,
    check_decoder_header,
    check_tables,
    codes_metas,
    decoder_dtype,
    decoder_metas,
    read_decoder,
)
from ..content import KINDS, SegmentTable

__all__ = ["read_layout", "check_header", "array_metas", "read_decoder", "PARTS",
           "MAX_GROUPS", "ROOT_FIELDS", "GROUP_FIELDS"]

#: Top-level entry of the archive -> the part ``Archive.sizes`` counts it in.
PARTS = {"groups": "codes", "segments": "tables", "videos": "tables", "decoders": "decoder"}
MAX_GROUPS = 1 << 16  # groups, and decoders, per archive
#: root header fields of 2.0 (besides format, format_version)
ROOT_FIELDS = ("library_version", "class_names", "videos", "splits", "num_videos",
               "num_segments", "num_codes", "num_frames", "feature_dim", "stats", "decoders",
               "groups")
#: fields of one group object
GROUP_FIELDS = ("num_videos", "codec", "codec_config", "decode_kind", "code_dim", "codes",
                "decoder")


def _int(obj: dict, key: str, where: str, low: int, high: int) -> int:
    value = _field(obj, key, int, where)
    if not low <= value <= high:
        raise FormatError(f"{where}: header field {key!r} = {value} out of [{low}, {high}]")
    return value


def _stores_offsets(grp: dict[str, Any]) -> bool:
    """Whether a group of the header (its ``decode_kind`` a str) stores segment ``offsets``."""
    spec = KINDS.get(grp["decode_kind"])
    return spec is not None and spec.stores_offsets


def check_header(h: dict[str, Any], where: str) -> None:
    """Validate a 2.0 header: the shared root fields, ``decoders`` and ``groups``."""
    from .v1 import check_dataset_fields  # the 1.x field rules, shared

    _field(h, "library_version", str, where)
    classes, videos = check_dataset_fields(h, where)
    _int(h, "feature_dim", where, 1, MAX_DIM)
    _field(h, "stats", dict, where)
    decoders = _field(h, "decoders", list, where)
    groups = _field(h, "groups", list, where)
    if len(decoders) > MAX_GROUPS or not 1 <= len(groups) <= MAX_GROUPS:
        raise FormatError(f"{where}: header needs 1 to {MAX_GROUPS} groups and at most "
                          f"{MAX_GROUPS} decoders, got {len(groups)} and {len(decoders)}")
    for j, dec in enumerate(decoders):
        name = f"decoders[{j}]"
        check_decoder_header(dec, where, name)
        ids = dec.get("classes")
        if (not isinstance(ids, list) or not ids or len(set(ids)) != len(ids) or not all(
                isinstance(c, int) and not isinstance(c, bool) and 0 <= c < len(classes)
                for c in ids)):
            raise FormatError(f"{where}: header {name}.classes must be distinct archive class "
                              f"ids in [0, {len(classes)})")
    total = 0
    for g, grp in enumerate(groups):
        name = f"groups[{g}]"
        if not isinstance(grp, dict):
            raise FormatError(f"{where}: header {name} must be an object")
        gw = f"{where}: {name}"
        total += _int(grp, "num_videos", gw, 1, len(videos))
        _field(grp, "codec", str, gw)
        _field(grp, "codec_config", dict, gw)
        _field(grp, "decode_kind", str, gw)
        _int(grp, "code_dim", gw, 1, MAX_DIM)
        check_codes_header(_field(grp, "codes", dict, gw), where, f"{name}.codes")
        if _stores_offsets(grp):
            offsets = _field(grp, "offsets", dict, gw)
            if offsets.get("storage") != "array" or offsets.get("dtype") not in CODE_DTYPES:
                raise FormatError(f"{where}: header {name}.offsets must have storage 'array' "
                                  f"and a dtype of {CODE_DTYPES}")
        if "decoder" not in grp:  # required (spec v2 section 2), null for no decoder
            raise FormatError(f"{where}: header {name} has no field 'decoder' (null when the "
                              f"group has none)")
        j = grp["decoder"]
        if j is not None and (not isinstance(j, int) or isinstance(j, bool)
                              or not 0 <= j < len(decoders)):
            raise FormatError(f"{where}: header {name}.decoder must be null or an index into "
                              f"decoders [0, {len(decoders)})")
    if total != len(videos):
        raise FormatError(f"{where}: the groups' num_videos sum to {total}, not num_videos "
                          f"{len(videos)}")


def read_layout(zr: ZipReader, h: dict[str, Any], version: tuple[int, int]) -> Layout:
    """Read and validate a 2.0 archive's header ``h``, tables and array metadata (no codes)."""
    where = str(zr.path)
    check_header(h, where)
    V, S, D = h["num_videos"], h["num_segments"], h["feature_dim"]
    nodes = ["segments", "videos", "groups"] + (["decoders"] if h["decoders"] else [])
    nodes += [f"decoders/{j}" for j in range(len(h["decoders"]))]
    nodes += [f"groups/{g}" for g, grp in enumerate(h["groups"])
              if grp["codes"]["storage"] == "array" or _stores_offsets(grp)]
    for node in nodes:
        doc = read_json_entry(zr, f"{node}/zarr.json")
        if doc.get("zarr_format") != 3 or doc.get("node_type") != "group":
            raise FormatError(f"{where}: {node}/zarr.json is not a Zarr v3 group")
    budget = max(MAX_EXPANSION * zr.file_size, 1 << 30)
    metas = {}
    for key in TABLE_ARRAYS:
        meta = parse_array_meta(zr, key, dtypes=("int64",), ndim=1)
        n = {"segments": S, "videos": V}[key.split("/")[0]] + (
            key in ("videos/first_segment", "videos/first_code"))
        if meta.shape != (n,):
            raise FormatError(f"{where}: array {key!r} has shape {meta.shape}, header says ({n},)")
        metas[key] = meta
    first_video = np.concatenate(([0], np.cumsum([g["num_videos"] for g in h["groups"]])))
    declared = 8 * (3 * S + 3 * V + 2 + h["num_frames"])
    arrays = {k: read_array(zr, m).astype(np.int64, copy=False) for k, m in metas.items()}
    check_tables(h, arrays, where)
    fc, fs = arrays["videos/first_code"], arrays["videos/first_segment"]
    declared += sum(4 * int(fc[first_video[g + 1]] - fc[first_video[g]]) * grp["code_dim"]
                    for g, grp in enumerate(h["groups"]))
    declared += sum(4 * int(fs[first_video[g + 1]] - fs[first_video[g]]) * D
                    for g, grp in enumerate(h["groups"]) if _stores_offsets(grp))
    if declared > budget:
        raise FormatError(f"{where}: header declares {declared} bytes of tables and codes, "
                          f"implausible for a {zr.file_size}-byte archive")
    decoders = []
    for j, dec in enumerate(h["decoders"]):
        dtype = decoder_dtype(dec, version, where)
        arch = dec["arch"]
        d = arch.get("latent_dim") if isinstance(arch.get("latent_dim"), int) else 0
        tensors = decoder_metas(zr, dec, dtype, f"decoders/{j}/", d, len(dec["classes"]), D,
                                budget)
        decoders.append(DecoderLayout(dec, tensors, dtype, np.asarray(dec["classes"], np.int64)))
    groups = []
    for g, grp in enumerate(h["groups"]):
        v0, v1 = int(first_video[g]), int(first_video[g + 1])
        c0, n = int(fc[v0]), int(fc[v1] - fc[v0])
        codes, scale = codes_metas(zr, grp["codes"], f"groups/{g}/", n, grp["code_dim"])
        _check_group(h, g, grp, decoders, arrays["segments/action"][fs[v0]:fs[v1]], where)
        offsets = offset_scale = None
        if _stores_offsets(grp):
            offsets, offset_scale = codes_metas(zr, grp["offsets"], f"groups/{g}/",
                                                int(fs[v1] - fs[v0]), D, "offsets",
                                                "offset_scale")
        groups.append(GroupLayout(grp, v0, v1 - v0, c0, n, codes, scale, grp["decoder"],
                                  int(fs[v0]), offsets, offset_scale))
    table = SegmentTable(
        video_names=list(h["videos"]),
        video_num_frames=arrays["videos/num_frames"],
        video_num_segments=np.diff(fs),
        seg_action=arrays["segments/action"],
        seg_length=arrays["segments/length"],
        seg_num_instances=arrays["segments/num_instances"],
    )
    return Layout(h, version, table, fc, None, None, None, groups=groups, decoders=decoders)


def _check_group(h: dict, g: int, grp: dict, decoders: list[DecoderLayout],
                 action: np.ndarray, where: str) -> None:
    """A group's decode kind against its decoder and widths; its segments' actions must be
    classes its decoder knows (an ``IntegrityError`` otherwise)."""
    kind, d, j = grp["decode_kind"], grp["code_dim"], grp["decoder"]
    spec = KINDS.get(kind)  # None: a kind unknown to this reader (read, not decoded)
    if spec is not None and spec.uses_decoder and j is None:
        raise FormatError(f"{where}: groups[{g}]: decode_kind {kind!r} but no decoder")
    if spec is not None and not spec.uses_decoder and d != h["feature_dim"]:
        raise FormatError(f"{where}: groups[{g}]: decode_kind {kind!r} needs code_dim == "
                          f"feature_dim")
    if j is None:
        return
    arch = decoders[j].header["arch"]
    if arch.get("latent_dim") != d:
        raise FormatError(f"{where}: groups[{g}].code_dim {d} != decoders[{j}] latent_dim "
                          f"{arch.get('latent_dim')}")
    unknown = np.setdiff1d(np.unique(action), decoders[j].classes)
    if unknown.size:
        names = [h["class_names"][int(a)] for a in unknown[:5]]
        raise IntegrityError(f"{where}: groups[{g}] has segments of classes {names} that its "
                             f"decoder {j} does not know (decoders[{j}].classes)")

