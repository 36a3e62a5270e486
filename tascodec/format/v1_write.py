"""Writing format version 1 of ``.tasz`` (layout in ``v1.py`` and ``spec/tasz-v1.md``).

The Zarr hierarchy is written with ``zarr`` (in memory, or in a scratch directory beside the
destination for large archives), then zipped in one pass and moved into place atomically. Format 1.1 (the default) computes
the entry manifest (``manifest``) last, over the final bytes of every other entry, and puts it
into the root document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, tca_mlp
from ..content import KINDS, MLP_OFFSET, ArchiveContent, DecoderCheckpoint
from ..errors import OutputExistsError, TascodecError
from ..jsonvalues import json_values
from .arrays import DTYPES
from .v1 import (
    CODE_DTYPES,
    DECODER_DTYPES,
    MAX_DIM,
    MAX_EXPANSION,
    MAX_VIDEO_FRAMES,
    RANDOM_GENERATOR,
    TENSOR_NAME_CHARS,
)
from .version import FORMAT_NAME, FORMAT_VERSION, KIND_SINCE, WRITABLE_VERSIONS, version_for_kinds
from .zarr_entries import (CODES_CHUNK_BYTES, TABLE_CHUNK_BYTES, build_entries, put_tables,
                           with_manifest)
from .zip_write import write_zip_atomic

__all__ = ["write_v1", "quantise", "int8_scale"]


def int8_scale(amax: np.ndarray) -> np.ndarray:
    """The int8 scale (d,) float32 of codes whose largest |value| per column is ``amax`` (d,):
    the stored integer 127 is ``amax``."""
    return (np.asarray(amax, np.float32) / np.float32(127)).astype(np.float32)


def quantise(
    codes: np.ndarray, code_dtype: str, where: str, scale: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes as stored (and the int8 scale). ``scale``: the int8 scale to use instead of the
    codes' own (codes dequantised with it quantise back to the same integers: rewriting an
    archive keeps its stored codes bit-identical)."""
    if code_dtype == "float32":
        return codes, None
    if code_dtype == "float16":
        if codes.size and float(np.abs(codes).max()) > float(np.finfo(np.float16).max):
            raise TascodecError(f"{where}: codes exceed the float16 range; use float32 or int8")
        return codes.astype(np.float16), None
    if scale is None:
        amax = (np.abs(codes).max(axis=0) if codes.shape[0]
                else np.zeros(codes.shape[1], np.float32))
        scale = int8_scale(amax)
    safe = np.where(scale > 0, scale, np.float32(1))
    q = np.clip(np.rint(codes / safe), -127, 127).astype(np.int8)
    return q, scale


def _header(
    content: ArchiveContent, code_dtype: str, decoder_dtype: str, version: str, where: str
) -> dict[str, Any]:
    t = content.table
    if content.codes is None:
        seed = content.codec_config.get("seed")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TascodecError(f"{where}: codes is None but codec_config has no integer 'seed'")
        codes: dict[str, Any] = {
            "storage": "random",
            "generator": RANDOM_GENERATOR,
            "seed": int(seed),
        }
    else:
        codes = {"storage": "array", "dtype": code_dtype}
    decoder = None
    if content.decoder is not None:
        decoder = {"arch": content.decoder.arch, "tensors": list(content.decoder.tensors)}
        if version != "1.0":
            decoder["dtype"] = decoder_dtype
    header = {
        "format": FORMAT_NAME,
        "format_version": version,
        "library_version": __version__,
        "codec": content.codec,
        "codec_config": content.codec_config,
        "decode_kind": content.decode_kind,
        "class_names": list(content.class_names),
        "videos": list(t.video_names),
        "splits": {k: list(v) for k, v in content.splits.items()},
        "num_videos": t.num_videos,
        "num_segments": int(t.seg_action.shape[0]),
        "num_codes": t.num_codes,
        "num_frames": int(np.asarray(t.video_num_frames).sum()),
        "code_dim": content.code_dim,
        "feature_dim": content.feature_dim,
        "codes": codes,
        "decoder": decoder,
        "stats": content.stats,
    }
    header = json_values(header, f"{where}: header")
    try:  # names with lone surrogates cannot be stored: JSON documents are UTF-8
        json.dumps(header, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[max(exc.start - 40, 0) : exc.end + 10]
        raise TascodecError(
            f"{where}: the header holds text that is not valid Unicode (near {bad!r}): "
            "names must be encodable as UTF-8"
        ) from None
    return header


def _validate(
    content: ArchiveContent, code_dtype: str, decoder_dtype: str, version: str, where: str
) -> None:
    if code_dtype not in CODE_DTYPES:
        raise TascodecError(f"code_dtype must be one of {CODE_DTYPES}, got {code_dtype!r}")
    if version not in WRITABLE_VERSIONS:
        raise TascodecError(f"format_version must be one of {WRITABLE_VERSIONS}, got {version!r}")
    allowed = DECODER_DTYPES if version != "1.0" else ("float32",)
    if decoder_dtype not in allowed:
        raise TascodecError(
            f"decoder_dtype must be one of {allowed} for format {version}, got {decoder_dtype!r}"
        )
    if not isinstance(content.codec, str) or not isinstance(content.codec_config, dict):
        raise TascodecError(f"{where}: codec must be a str and codec_config a dict")
    if not isinstance(content.decode_kind, str) or not content.decode_kind:
        raise TascodecError(f"{where}: decode_kind must be a non-empty str")
    if content.decode_kind == MLP_OFFSET or content.segment_offsets is not None:
        raise TascodecError(f"{where}: segment offsets (decode_kind {MLP_OFFSET!r}) need format "
                            f"{version_for_kinds([MLP_OFFSET])}; write them with "
                            "format.write_archive or write_grouped")
    if content.decode_kind in KIND_SINCE:
        raise TascodecError(f"{where}: decode_kind {content.decode_kind!r} needs format "
                            f"{version_for_kinds([content.decode_kind])}; write it with "
                            "format.write_archive or write_grouped")
    if not content.class_names or not all(isinstance(c, str) for c in content.class_names):
        raise TascodecError(f"{where}: class_names must be a non-empty list of str")
    for name, value in (("code_dim", content.code_dim), ("feature_dim", content.feature_dim)):
        if not isinstance(value, (int, np.integer)) or not 1 <= value <= MAX_DIM:
            raise TascodecError(f"{where}: {name} must be an int in [1, {MAX_DIM}], got {value!r}")
    t = content.table
    if not all(isinstance(v, str) for v in t.video_names):
        raise TascodecError(f"{where}: video names must be str")
    try:
        t.check()
    except TascodecError as exc:
        raise TascodecError(f"{where}: {exc}") from None
    if t.video_num_frames.size and int(t.video_num_frames.max()) > MAX_VIDEO_FRAMES:
        raise TascodecError(f"{where}: a video has more than {MAX_VIDEO_FRAMES} frames")
    if t.seg_action.size and not 0 <= int(t.seg_action.min()) <= int(t.seg_action.max()) < len(
        content.class_names
    ):
        raise TascodecError(f"{where}: segment actions outside [0, {len(content.class_names)})")
    if content.codes is not None:
        c = content.codes
        if not isinstance(c, np.ndarray) or c.shape != (t.num_codes, content.code_dim):
            raise TascodecError(
                f"{where}: codes must have shape ({t.num_codes}, {content.code_dim}),"
                f" got {getattr(c, 'shape', type(c).__name__)}"
            )
        if not np.issubdtype(c.dtype, np.floating) or not np.isfinite(c).all():
            raise TascodecError(f"{where}: codes must be finite floating-point values")
    spec = KINDS.get(content.decode_kind)  # None: a kind unknown to this library
    if spec is not None and not spec.uses_decoder and content.code_dim != content.feature_dim:
        raise TascodecError(f"{where}: decode_kind {spec.name!r} needs code_dim == feature_dim")
    if spec is not None and spec.uses_decoder and content.decoder is None:
        raise TascodecError(f"{where}: decode_kind {spec.name!r} needs a decoder")
    if content.decoder is not None:
        _validate_decoder(content, where)
        _decoder_arrays(content.decoder, decoder_dtype, where)  # refuses what dtype cannot hold


def _validate_decoder(content: ArchiveContent, where: str) -> None:
    dec = content.decoder
    assert dec is not None
    if not isinstance(dec.arch, dict) or not isinstance(dec.arch.get("name"), str):
        raise TascodecError(f"{where}: decoder arch must be a dict with a 'name'")
    if len(dec.tensors) > 1024:
        raise TascodecError(f"{where}: at most 1024 decoder tensors, got {len(dec.tensors)}")
    for name, tensor in dec.tensors.items():
        if not isinstance(name, str) or not name or len(name) > 64 or set(name) - TENSOR_NAME_CHARS:
            raise TascodecError(
                f"{where}: decoder tensor name {name!r} must match [A-Za-z0-9_]{{1,64}}"
            )
        arr = np.asarray(tensor)
        if not 1 <= arr.ndim <= 8 or 0 in arr.shape[1:]:
            raise TascodecError(
                f"{where}: decoder tensor {name!r} has unsupported shape {arr.shape}"
            )
    if dec.arch["name"] == tca_mlp.ARCH_NAME:
        expect = tca_mlp.check_arch_widths(
            dec.arch, content.code_dim, len(content.class_names), content.feature_dim,
            max_hidden=MAX_DIM, where=where, err=TascodecError,
        )
        got = {k: tuple(np.asarray(v).shape) for k, v in dec.tensors.items()}
        if got != expect:
            raise TascodecError(f"{where}: tca-mlp decoder tensors {got} != expected {expect}")


def _decoder_arrays(decoder: DecoderCheckpoint, dtype: str, where: str
                    ) -> dict[str, np.ndarray]:
    """The decoder tensors as stored: little-endian ``dtype``, rounded to nearest for float16.

    Non-finite values, and values beyond float16's range (65504) for float16, are refused.
    """
    out = {}
    arch_name = decoder.arch.get("name")
    for name, tensor in decoder.tensors.items():
        dtype_of = tca_mlp.stored_dtype(arch_name, name, dtype)
        arr = np.asarray(tensor)
        if not np.issubdtype(arr.dtype, np.floating) or not np.isfinite(arr).all():
            raise TascodecError(f"{where}: decoder tensor {name!r} must hold finite floats")
        with np.errstate(over="ignore"):
            stored = np.ascontiguousarray(arr, dtype=np.dtype(DTYPES[dtype_of]))
        if not np.isfinite(stored).all():
            raise TascodecError(
                f"{where}: decoder tensor {name!r} exceeds the {dtype_of} range; use float32"
            )
        out[name] = stored
    return out


def write_v1(
    content: ArchiveContent,
    path: str | Path,
    *,
    overwrite: bool = False,
    code_dtype: str = "float32",
    compression_level: int = 3,
    codes_chunk_bytes: int = CODES_CHUNK_BYTES,
    decoder_dtype: str = "float32",
    format_version: str = FORMAT_VERSION,
    code_scale: np.ndarray | None = None,
) -> Path:
    """Write ``content`` as a v1 archive at ``path`` (atomic; see the module docstring).

    ``format_version`` ``"1.1"`` (default) adds the entry manifest and allows
    ``decoder_dtype="float16"``; ``"1.0"`` writes what 1.0 writers wrote. ``code_scale``:
    the int8 scale to quantise with (d,) (default: the codes' own, ``max |code| / 127``).
    """
    path = Path(path)
    where = f"{path}"
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    if not path.parent.is_dir():
        raise TascodecError(f"{path}: directory {path.parent} does not exist")
    if not isinstance(compression_level, int) or not -131072 <= compression_level <= 22:
        raise TascodecError(
            f"compression_level must be an int in [-131072, 22], got {compression_level!r}"
        )
    _validate(content, code_dtype, decoder_dtype, format_version, where)
    header = _header(content, code_dtype, decoder_dtype, format_version, where)
    t = content.table

    payload = sum(
        np.asarray(x).nbytes
        for x in (
            content.codes if content.codes is not None else (),
            *(content.decoder.tensors.values() if content.decoder is not None else ()),
            t.seg_action,
            t.seg_length,
            t.seg_num_instances,
        )
    )

    def fill(root: Any, put: Any) -> None:
        put_tables(root, put, t)
        if content.codes is not None:
            q, scale = quantise(np.asarray(content.codes, dtype=np.float32), code_dtype, where,
                                 code_scale)
            put(
                root,
                "codes",
                np.ascontiguousarray(q, dtype=q.dtype.newbyteorder("<")),
                codes_chunk_bytes,
            )
            if scale is not None:
                put(root, "code_scale", scale.astype("<f4"), TABLE_CHUNK_BYTES)
        if content.decoder is not None:
            dec = root.create_group("decoder")
            for name, tensor in _decoder_arrays(content.decoder, decoder_dtype, where).items():
                put(dec, name, tensor, TABLE_CHUNK_BYTES)

    def check(stored: int) -> None:
        _check_expansion(header, content, stored, where)

    with build_entries(path, header, payload, compression_level, fill, check) as entries:
        if format_version != "1.0":  # the manifest last: every other entry is final
            entries = with_manifest(entries)
        return write_zip_atomic(entries, path, overwrite=overwrite)


def _check_expansion(
    header: dict[str, Any], content: ArchiveContent, stored: int, where: str
) -> None:
    # Readers refuse archives that declare far more than they store (ZIP-bomb guard, spec 8.3).
    budget = max(MAX_EXPANSION * stored, 1 << 30)
    declared = (
        8 * (3 * header["num_segments"] + 3 * header["num_videos"] + 2 + header["num_frames"])
        + 4 * header["num_codes"] * header["code_dim"]
    )
    tensors = sum(
        np.asarray(x).nbytes
        for x in (content.decoder.tensors.values() if content.decoder is not None else ())
    )
    if declared > budget or tensors > budget:
        raise TascodecError(
            f"{where}: the content declares {max(declared, tensors)} bytes but stores {stored}:"
            f" more than {MAX_EXPANSION}x; readers would refuse it (spec section 8)"
        )


