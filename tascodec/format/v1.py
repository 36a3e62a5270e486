"""Format version 1 of ``.tasz``: the layout and its reader (no zarr); the writer is ``v1_write``.

``readers`` picks this module for archives of major version 1 (``readers.READERS``).

Layout (normative text in ``spec/tasz-v1.md``)::

    zarr.json                     root group; attributes["tascodec"] = header (JSON)
    codes                         (N, d) float32 | float16 | int8, chunks (R, d)   [if stored]
    code_scale                    (d,) float32                                      [if int8]
    segments/{action,length,num_instances}     (S,) int64
    videos/num_frames             (V,) int64
    videos/{first_segment,first_code}          (V + 1,) int64
    decoder/<tensor>              float32 (since 1.1 also float16), one per tensor  [if any]

Since 1.1 the root also holds the entry manifest (``manifest``), checked by ``readers``.

Every array: regular grid, chunks spanning all dimensions but the first, codecs
``bytes(little) -> zstd -> crc32c``, every chunk present.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import tca_mlp
from ..content import MLP, REPEAT, DecoderCheckpoint, SegmentTable
from ..errors import FormatError, IntegrityError
from .arrays import ArrayMeta, parse_array_meta, prefetch_arrays, read_array, read_json_entry
from .container import ZipReader
from .archive_layout import DecoderLayout, GroupLayout, Layout
from .version import MANIFEST_SINCE

__all__ = [
    "read_layout",
    "check_header",
    "check_codes_header",
    "check_decoder_header",
    "codes_metas",
    "decoder_metas",
    "check_tables",
    "array_metas",
    "read_decoder",
    "PARTS",
    "CODE_DTYPES",
    "DECODER_DTYPES",
    "decoder_dtype",
    "RANDOM_GENERATOR",
    "TABLE_ARRAYS",
    "TENSOR_NAME_CHARS",
    "MAX_DIM",
    "MAX_VIDEO_FRAMES",
    "MAX_EXPANSION",
]

CODE_DTYPES = ("float32", "float16", "int8")
DECODER_DTYPES = tca_mlp.TENSOR_DTYPES  # since 1.1; 1.0: float32 only
RANDOM_GENERATOR = "splitmix64-box-muller"
TABLE_ARRAYS = (
    "segments/action",
    "segments/length",
    "segments/num_instances",
    "videos/num_frames",
    "videos/first_segment",
    "videos/first_code",
)
#: Top-level entry of the archive -> the part ``Archive.sizes`` counts it in.
PARTS = {"codes": "codes", "code_scale": "codes", "segments": "tables", "videos": "tables",
         "decoder": "decoder"}
TENSOR_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
MAX_DIM = 1 << 20  # code_dim, feature_dim
MAX_VIDEO_FRAMES = 1 << 25  # frames of one video
MAX_EXPANSION = 4096  # declared decoded bytes per archive byte (beyond a 1 GiB floor)


# ----------------------------------------------------------------------------- reading
def _field(h: dict, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if key not in h:
        raise FormatError(f"{where}: header field {key!r} is missing")
    value = h[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise FormatError(f"{where}: header field {key!r} has the wrong type")
    return value


def _count(h: dict, key: str, where: str, low: int = 0) -> int:
    value = _field(h, key, int, where)
    if not low <= value < 2**53:
        raise FormatError(f"{where}: header field {key!r} = {value} out of range")
    return value


def _str_list(h: dict, key: str, where: str) -> list[str]:
    value = _field(h, key, list, where)
    if not all(isinstance(v, str) for v in value):
        raise FormatError(f"{where}: header field {key!r} must be a list of strings")
    return value


def check_dataset_fields(h: dict[str, Any], where: str) -> tuple[list[str], list[str]]:
    """Validate the header fields every version shares (class names, videos, splits, counts);
    returns ``(class_names, videos)``."""
    classes, videos = _str_list(h, "class_names", where), _str_list(h, "videos", where)
    if not classes:
        raise FormatError(f"{where}: header field 'class_names' is empty")
    if len(set(videos)) != len(videos):
        raise FormatError(f"{where}: header field 'videos' has duplicate names")
    splits = _field(h, "splits", dict, where)
    if not all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in splits.values()):
        raise FormatError(f"{where}: header field 'splits' must map names to lists of strings")
    if _count(h, "num_videos", where) != len(videos):
        raise FormatError(f"{where}: header num_videos != len(videos)")
    for key in ("num_segments", "num_codes", "num_frames"):
        _count(h, key, where)
    return classes, videos


def check_header(h: dict[str, Any], where: str) -> None:
    """Validate a v1 header (types, counts, codes and decoder descriptions); its format name
    and version were checked by ``readers.read_layout``."""
    _field(h, "library_version", str, where)
    _field(h, "codec", str, where)
    _field(h, "codec_config", dict, where)
    _field(h, "decode_kind", str, where)
    check_dataset_fields(h, where)
    for key in ("code_dim", "feature_dim"):
        if not 1 <= _count(h, key, where) <= MAX_DIM:
            raise FormatError(f"{where}: header field {key!r} out of [1, {MAX_DIM}]")
    _field(h, "stats", dict, where)
    check_codes_header(_field(h, "codes", dict, where), where)
    dec = h.get("decoder", None)
    if dec is not None:
        check_decoder_header(dec, where)


def check_codes_header(codes: dict[str, Any], where: str, name: str = "codes") -> None:
    """Validate a codes description (``storage`` array with a dtype, or random with a seed)."""
    if codes.get("storage") == "array":
        if codes.get("dtype") not in CODE_DTYPES:
            raise FormatError(f"{where}: header {name}.dtype must be one of {CODE_DTYPES}")
    elif codes.get("storage") == "random":
        seed = codes.get("seed")
        if (
            codes.get("generator") != RANDOM_GENERATOR
            or not isinstance(seed, int)
            or isinstance(seed, bool)
        ):
            raise FormatError(
                f"{where}: header {name}: random storage needs generator "
                f"{RANDOM_GENERATOR!r} and an integer seed"
            )
        if not -(2**63) <= seed < 2**64:
            raise FormatError(f"{where}: header {name}.seed out of range")
    else:
        raise FormatError(f"{where}: header {name}.storage must be 'array' or 'random'")


def check_decoder_header(dec: Any, where: str, name: str = "decoder") -> None:
    """Validate a decoder description (``arch`` with a name, unique tensor names)."""
    if (
        not isinstance(dec, dict)
        or not isinstance(dec.get("arch"), dict)
        or not isinstance(dec["arch"].get("name"), str)
        or not isinstance(dec.get("tensors"), list)
    ):
        raise FormatError(
            f"{where}: header {name} must hold 'arch' (with 'name') and 'tensors'"
        )
    names = dec["tensors"]
    if (
        len(set(map(str, names))) != len(names)
        or len(names) > 1024
        or not all(
            isinstance(n, str) and 0 < len(n) <= 64 and not set(n) - TENSOR_NAME_CHARS
            for n in names
        )
    ):
        raise FormatError(
            f"{where}: header {name}.tensors must be unique names [A-Za-z0-9_]{{1,64}}"
        )


def check_tables(h: dict, arrays: dict[str, np.ndarray], where: str) -> None:
    a, ln, k = (
        arrays["segments/action"],
        arrays["segments/length"],
        arrays["segments/num_instances"],
    )
    nf, fs, fc = (
        arrays["videos/num_frames"],
        arrays["videos/first_segment"],
        arrays["videos/first_code"],
    )

    def bad(msg: str) -> IntegrityError:
        return IntegrityError(f"{where}: tables: {msg}")

    if fs[0] != 0 or fs[-1] != a.shape[0] or (np.diff(fs) < 1).any():
        raise bad("videos/first_segment must start at 0, increase strictly and end at S")
    if (ln < 1).any() or (k < 1).any() or (k > ln).any():
        raise bad("segments need length >= 1 and 1 <= num_instances <= length")
    if ln.size and ln.max() > MAX_VIDEO_FRAMES:  # also keeps the sums below from overflowing
        raise bad(f"a segment is longer than {MAX_VIDEO_FRAMES} frames")
    if a.size and (a.min() < 0 or a.max() >= len(h["class_names"])):
        raise bad(f"segments/action outside [0, {len(h['class_names'])})")
    seg_first_code = np.concatenate(([0], np.cumsum(k)))
    sums = np.add.reduceat(ln, fs[:-1]) if nf.size else nf
    if not np.array_equal(sums, nf):
        raise bad("segment lengths do not sum to videos/num_frames")
    if not np.array_equal(seg_first_code[fs], fc) or fc[-1] != h["num_codes"]:
        raise bad("videos/first_code contradicts segments/num_instances or num_codes")
    if int(nf.sum()) != h["num_frames"]:
        raise bad("videos/num_frames do not sum to the header's num_frames")
    if nf.size and nf.max() > MAX_VIDEO_FRAMES:
        raise bad(f"a video has more than {MAX_VIDEO_FRAMES} frames")


def read_layout(zr: ZipReader, h: dict[str, Any], version: tuple[int, int]) -> Layout:
    """Read and validate a v1 archive's header ``h``, tables and array metadata (no codes)."""
    where = str(zr.path)
    check_header(h, where)
    V, S, N = h["num_videos"], h["num_segments"], h["num_codes"]
    d, D = h["code_dim"], h["feature_dim"]
    groups = ("segments", "videos") + (("decoder",) if h.get("decoder") is not None else ())
    for group in groups:
        g = read_json_entry(zr, f"{group}/zarr.json")
        if g.get("zarr_format") != 3 or g.get("node_type") != "group":
            raise FormatError(f"{where}: {group}/zarr.json is not a Zarr v3 group")
    budget = max(MAX_EXPANSION * zr.file_size, 1 << 30)
    declared = 8 * (3 * S + 3 * V + 2 + h["num_frames"]) + N * d * 4
    if declared > budget:
        raise FormatError(
            f"{where}: header declares {declared} bytes of tables and codes, "
            f"implausible for a {zr.file_size}-byte archive"
        )
    metas = {}
    for key in TABLE_ARRAYS:
        meta = parse_array_meta(zr, key, dtypes=("int64",), ndim=1)
        n = {"segments": S, "videos": V}[key.split("/")[0]] + (
            key in ("videos/first_segment", "videos/first_code")
        )
        if meta.shape != (n,):
            raise FormatError(f"{where}: array {key!r} has shape {meta.shape}, header says ({n},)")
        metas[key] = meta
    prefetch_arrays(zr, metas.values())  # remote: the tables in one read (they are adjacent)
    arrays = {k: read_array(zr, m).astype(np.int64, copy=False) for k, m in metas.items()}
    check_tables(h, arrays, where)
    table = SegmentTable(
        video_names=list(h["videos"]),
        video_num_frames=arrays["videos/num_frames"],
        video_num_segments=np.diff(arrays["videos/first_segment"]),
        seg_action=arrays["segments/action"],
        seg_length=arrays["segments/length"],
        seg_num_instances=arrays["segments/num_instances"],
    )
    codes, scale = codes_metas(zr, h["codes"], "", N, d)
    # the kinds of format 1 (``content.KINDS`` entries without ``since``; later ones are
    # unknown in a 1.x archive: opened, not decoded)
    if h["decode_kind"] == MLP and h.get("decoder") is None:
        raise FormatError(f"{where}: decode_kind {MLP!r} but the header describes no decoder")
    if h["decode_kind"] == REPEAT and d != D:
        raise FormatError(f"{where}: decode_kind {REPEAT!r} needs code_dim == feature_dim")
    decoder = None
    decoders = []
    if h.get("decoder") is not None:
        dtype = decoder_dtype(h["decoder"], version, where)
        decoder = decoder_metas(zr, h["decoder"], dtype, "decoder/", d, len(h["class_names"]),
                                D, budget)
        decoders = [DecoderLayout(h["decoder"], decoder, dtype, None)]
    group = GroupLayout(h, 0, V, 0, N, codes, scale, 0 if decoders else None)
    return Layout(h, version, table, arrays["videos/first_code"], codes, scale, decoder,
                  groups=[group], decoders=decoders)


def codes_metas(zr: ZipReader, codes_h: dict[str, Any], prefix: str, n: int, d: int,
                name: str = "codes", scale_name: str = "code_scale"
                ) -> tuple[ArrayMeta | None, ArrayMeta | None]:
    """Metadata of the arrays ``<prefix><name>`` (n, d) and (int8) ``<prefix><scale_name>``
    (d,) that the codes description ``codes_h`` names; ``(None, None)`` for generated codes."""
    where = str(zr.path)
    if codes_h["storage"] != "array":
        return None, None
    dtype = codes_h["dtype"]
    codes = parse_array_meta(zr, f"{prefix}{name}", dtypes=(dtype,), ndim=2)
    if codes.shape != (n, d):
        raise FormatError(
            f"{where}: array '{prefix}{name}' has shape {codes.shape}, header says ({n}, {d})"
        )
    scale = None
    if dtype == "int8":
        scale = parse_array_meta(zr, f"{prefix}{scale_name}", dtypes=("float32",), ndim=1)
        if scale.shape != (d,):
            raise FormatError(
                f"{where}: array '{prefix}{scale_name}' has shape {scale.shape}, want ({d},)"
            )
    return codes, scale


def decoder_metas(zr: ZipReader, dec: dict[str, Any], dtype: str, prefix: str, d: int,
                  num_classes: int, D: int, budget: int) -> dict[str, ArrayMeta]:
    """Metadata of the tensors ``<prefix><name>`` of the decoder described by ``dec``, checked
    against the widths (code ``d``, ``num_classes``, features ``D``) for a ``tca-mlp``."""
    where = str(zr.path)
    arch = dec["arch"]
    metas = {
        n: parse_array_meta(
            zr, f"{prefix}{n}", dtypes=(tca_mlp.stored_dtype(arch.get("name"), n, dtype),))
        for n in dec["tensors"]
    }
    as_float32 = sum(m.num_chunks * m.chunk_nbytes // m.itemsize * 4 for m in metas.values())
    if as_float32 > budget:
        raise FormatError(f"{where}: decoder arrays implausibly large for the archive size")
    if arch["name"] == tca_mlp.ARCH_NAME:
        expect = tca_mlp.check_arch_widths(
            arch, d, num_classes, D, max_hidden=MAX_DIM,
            where=f"{where}: header {prefix.rstrip('/')}.arch", err=FormatError,
        )
        got = {n: m.shape for n, m in metas.items()}
        if got != expect:
            raise FormatError(f"{where}: tca-mlp decoder arrays {got} != expected {expect}")
    return metas


def decoder_dtype(dec: dict[str, Any], version: tuple[int, int], where: str) -> str:
    """The data type of a decoder's tensors: ``"float32"``; since 1.1 the decoder's ``dtype``
    (``"float32"`` when absent, or ``"float16"``). A 1.0 archive's tensors are float32 whatever
    its header says (the field is unknown to 1.0)."""
    if version < MANIFEST_SINCE:
        return "float32"
    dtype = dec.get("dtype", "float32")
    if dtype not in DECODER_DTYPES:
        raise FormatError(
            f"{where}: header decoder.dtype {str(dtype)[:40]!r} not one of {DECODER_DTYPES}"
        )
    return str(dtype)


def array_metas(zr: ZipReader, layout: Layout) -> list[ArrayMeta]:
    """Every array of the archive (tables, codes, offsets, scales, decoder tensors), for
    ``verify``."""
    metas = [parse_array_meta(zr, k, dtypes=("int64",), ndim=1) for k in TABLE_ARRAYS]
    for g in layout.groups:
        metas += [m for m in (g.codes, g.code_scale, g.offsets, g.offset_scale)
                  if m is not None]
    for dl in layout.decoders:
        metas += list(dl.tensors.values())
    return metas


def read_decoder(zr: ZipReader, layout: Layout, index: int = 0) -> DecoderCheckpoint | None:
    """Decoder ``index``'s checkpoint, every tensor read and upcast to float32 (exact for
    float16); non-finite values are an ``IntegrityError`` (writers refuse them)."""
    if not layout.decoders:
        return None
    dl = layout.decoders[index]
    prefetch_arrays(zr, dl.tensors.values())
    tensors = {n: read_array(zr, m).astype(np.float32, copy=False) for n, m in dl.tensors.items()}
    for n, t in tensors.items():
        if not np.isfinite(t).all():
            raise IntegrityError(
                f"{zr.path}: decoder tensor {dl.tensors[n].key!r} holds NaN or infinite values")
    return DecoderCheckpoint(arch=dict(dl.header["arch"]), tensors=tensors)
