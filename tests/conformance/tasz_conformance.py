"""A `.tasz` reader written from `spec/` alone: the spec's test (no `tascodec` import).

Only the standard library, numpy and numcodecs (plain zstd and CRC-32C, never its codec
registry). Section numbers are those of `spec/tasz-v1.md` (v1 s.) and `spec/tasz-v2.md`
(v2 s.). It reads 1.x and 2.x archives into one model (groups of videos, each with a decode
kind, codes and maybe a decoder: a 1.x archive is one group), checks what the spec makes a
reader check, and decodes a video to (T, D) float32. A decode kind is one function in `KINDS`.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import struct
import zipfile
import zlib

import numpy as np
from numcodecs import zstd
from numcodecs.checksum32 import CRC32C


class Refused(Exception):
    """The reader refuses the archive (v1 s.8.6: one class per kind of failure)."""


class FormatError(Refused): ...
class IntegrityError(Refused): ...
class UnsupportedVersionError(Refused): ...
class UnknownCodecError(Refused): ...
class DecodeBudgetError(Refused): ...


MAJORS = (1, 2)  # the majors this reader knows (v1 s.9)
MAX_DIM, MAX_FRAMES, MAX_JSON, MAX_CHUNK = 1 << 20, 1 << 25, 64 << 20, 256 << 20
DTYPES = {"float32": "<f4", "float16": "<f2", "int8": "i1", "int64": "<i8"}
TABLES = ("segments/action", "segments/length", "segments/num_instances",
          "videos/num_frames", "videos/first_segment", "videos/first_code")
TCA_TENSORS = ("w1", "b1", "w2", "b2", "feature_offset", "feature_scale")
ARRAY_KEYS = {"zarr_format", "node_type", "shape", "data_type", "chunk_grid",
              "chunk_key_encoding", "fill_value", "codecs", "attributes",
              "storage_transformers", "dimension_names"}
_LOCAL = struct.Struct("<4sHHHHHIIIHH")
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)")


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _need(obj: dict, fields: dict, where: str) -> None:
    """Required fields (v1 s.3, v2 s.2): missing or of the wrong type is a FormatError."""
    for key, kind in fields.items():
        ok = key in obj and (_is_int(obj[key]) if kind is int else isinstance(obj[key], kind))
        if not ok:
            raise FormatError(f"{where}: field {key!r} missing or not {kind.__name__}")


V1_ROOT = dict(library_version=str, codec=str, codec_config=dict, decode_kind=str,
               class_names=list, videos=list, splits=dict, num_videos=int, num_segments=int,
               num_codes=int, num_frames=int, code_dim=int, feature_dim=int, codes=dict,
               stats=dict)
V2_ROOT = dict(library_version=str, class_names=list, videos=list, splits=dict, num_videos=int,
               num_segments=int, num_codes=int, num_frames=int, feature_dim=int, stats=dict,
               decoders=list, groups=list)
V2_GROUP = dict(num_videos=int, codec=str, codec_config=dict, decode_kind=str, code_dim=int,
                codes=dict)


class Archive:
    """An open archive: `videos`, `labels(v)`, `codes(v)`, `decode(v)`, `check_all()`."""

    def __init__(self, path, decode_limit: int = 8 << 30) -> None:
        self.path, self.limit = str(path), decode_limit
        with open(path, "rb") as fh:
            self.file = fh.read()
        self.manifest = None
        self._container()
        root = self._json("zarr.json")
        attrs = root.get("attributes")
        if root.get("zarr_format") != 3 or root.get("node_type") != "group" or not isinstance(
                attrs, dict):
            raise FormatError("zarr.json is not a Zarr v3 group")
        h = attrs.get("tascodec")
        if not isinstance(h, dict) or h.get("format") != "tascodec":
            raise FormatError("not a tascodec archive")
        v = h.get("format_version")
        m = _VERSION.fullmatch(v) if isinstance(v, str) else None
        if m is None:
            raise FormatError(f"malformed format_version {v!r}")
        self.version = (int(m[1]), int(m[2]))
        if self.version[0] > max(MAJORS):
            raise UnsupportedVersionError(f"format version {v} is newer than this reader (2)")
        if self.version[0] not in MAJORS:
            raise FormatError(f"format version {v} is not a released version")
        if self.version >= (1, 1):
            self.manifest = self._manifest(attrs.get("tascodec_manifest"))
        self.header = h
        (self._open_v1 if self.version[0] == 1 else self._open_v2)(h)

    # -- container (v1 s.2, s.8.2) and entries ------------------------------------------
    def _container(self) -> None:
        try:
            with zipfile.ZipFile(io.BytesIO(self.file)) as zf:
                infos, end = zf.infolist(), zf.start_dir
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise FormatError(f"not a ZIP file ({exc})") from None
        self.entries: dict[str, tuple[int, int, int]] = {}  # name -> (offset, size, CRC-32)
        if len(infos) > 4_000_000:
            raise FormatError("over 4,000,000 entries")
        infos = sorted(infos, key=lambda i: i.header_offset)
        for k, info in enumerate(infos):
            name = info.filename  # zipfile decodes UTF-8 when bit 11 is set, else CP437
            if name in self.entries or not 0 < len(name.encode()) <= 512:
                raise FormatError(f"duplicate, empty or long entry name {name!r}")
            if info.compress_type != 0 or info.flag_bits & 1 or (
                    info.compress_size != info.file_size):
                raise FormatError(f"entry {name!r} is not STORED plain")
            limit = infos[k + 1].header_offset if k + 1 < len(infos) else end
            head = self.file[info.header_offset:info.header_offset + _LOCAL.size]
            if len(head) < _LOCAL.size or head[:4] != b"PK\x03\x04":
                raise FormatError(f"entry {name!r}: bad local header")
            *_, nlen, elen = _LOCAL.unpack(head)
            start = info.header_offset + _LOCAL.size + nlen + elen
            if start + info.file_size > limit:
                raise FormatError(f"entry {name!r} overlaps what follows it")
            self.entries[name] = (start, info.file_size, info.CRC)

    def read(self, name: str, *, digest: bool = True) -> bytes:
        if name not in self.entries:
            raise FormatError(f"missing entry {name!r}")
        start, size, _ = self.entries[name]
        data = self.file[start:start + size]
        if digest:
            self._digest(name, data)
        return data

    def _digest(self, name: str, data: bytes) -> None:
        if self.manifest is not None and name != "zarr.json" and (
                hashlib.blake2b(data, digest_size=16).hexdigest() != self.manifest[name]):
            raise IntegrityError(f"entry {name!r} does not match its manifest digest")

    def _json(self, name: str) -> dict:
        if self.entries.get(name, (0, 0, 0))[1] > MAX_JSON:
            raise FormatError(f"{name}: over 64 MiB")
        data = self.read(name)
        if zlib.crc32(data) != self.entries[name][2]:  # v1 s.8.2 (SHOULD, for metadata)
            raise IntegrityError(f"{name}: ZIP CRC-32 mismatch")
        try:
            obj = json.loads(data.decode("utf-8"))
        except ValueError as exc:
            raise FormatError(f"{name}: invalid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise FormatError(f"{name}: not a JSON object")
        return obj

    def _manifest(self, m) -> dict:  # v1 s.4.1
        if not isinstance(m, dict) or m.get("algorithm") != "blake2b-128" or not isinstance(
                m.get("entries"), dict):
            raise FormatError("missing or malformed tascodec_manifest")
        if not all(isinstance(x, str) and re.fullmatch("[0-9a-f]{32}", x)
                   for x in m["entries"].values()):
            raise FormatError("manifest digests must be 32 lowercase hex characters")
        if set(m["entries"]) != set(self.entries) - {"zarr.json"}:
            raise IntegrityError("the manifest and the file's entries disagree")
        return m["entries"]

    def _group_doc(self, node: str) -> None:
        doc = self._json(f"{node}/zarr.json")
        if doc.get("zarr_format") != 3 or doc.get("node_type") != "group":
            raise FormatError(f"{node}/zarr.json is not a Zarr v3 group")

    # -- arrays (v1 s.4) ------------------------------------------------------------------
    def array(self, key: str, dtypes: tuple, shape: tuple | None = None) -> dict:
        """An array's validated metadata: {key, shape, rows (C[0]), dtype}."""
        m = self._json(f"{key}/zarr.json")
        if any(k not in ARRAY_KEYS and not (isinstance(v, dict) and v.get(
                "must_understand") is False) for k, v in m.items()):
            raise FormatError(f"{key}: unknown metadata field")
        shp, dt, grid = m.get("shape"), m.get("data_type"), m.get("chunk_grid")
        if m.get("zarr_format") != 3 or m.get("node_type") != "array" or dt not in dtypes:
            raise FormatError(f"{key}: not an array of {dtypes}")
        if not isinstance(shp, list) or not 1 <= len(shp) <= 8 or not all(
                _is_int(s) and 0 <= s < 2**53 for s in shp):
            raise FormatError(f"{key}: bad shape")
        c = grid.get("configuration", {}).get("chunk_shape") if isinstance(grid, dict) else None
        if (not isinstance(grid, dict) or grid.get("name") != "regular" or not isinstance(c, list)
                or len(c) != len(shp) or not all(_is_int(x) and x >= 1 for x in c)
                or c[1:] != shp[1:]):
            raise FormatError(f"{key}: chunk_grid must be regular, whole rows")
        if m.get("chunk_key_encoding") != {"name": "default", "configuration": {"separator": "/"}}:
            raise FormatError(f"{key}: chunk_key_encoding")
        if m.get("storage_transformers", []) != [] or not isinstance(
                m.get("fill_value"), (int, float)) or isinstance(m.get("fill_value"), bool):
            raise FormatError(f"{key}: storage_transformers or fill_value")
        self._codecs(m.get("codecs"), dt, key)
        meta = {"key": key, "shape": tuple(shp), "rows": c[0], "dtype": dt}
        if c[0] * math.prod(shp[1:]) * np.dtype(DTYPES[dt]).itemsize > MAX_CHUNK or (
                -(-shp[0] // c[0]) > len(self.entries)):
            raise FormatError(f"{key}: chunks too large or too many")
        if shape is not None and meta["shape"] != tuple(shape):
            raise FormatError(f"{key}: shape {meta['shape']}, header says {tuple(shape)}")
        return meta

    @staticmethod
    def _codecs(codecs, dtype: str, key: str) -> None:
        names = ["bytes", "zstd", "crc32c"]
        if not isinstance(codecs, list) or len(codecs) != 3 or not all(
                isinstance(x, dict) and x.get("name") == n and not set(x) - {"name", "configuration"}
                for x, n in zip(codecs, names)):
            raise FormatError(f"{key}: codecs must be exactly bytes, zstd, crc32c")
        b, z, c = (x.get("configuration", {}) for x in codecs)
        one_byte = np.dtype(DTYPES[dtype]).itemsize == 1
        if not (b == {"endian": "little"} or (one_byte and b == {})):
            raise FormatError(f"{key}: bytes codec must be little endian")
        if not isinstance(z, dict) or set(z) - {"level", "checksum"} or not (
                _is_int(z.get("level", 0)) and -131072 <= z.get("level", 0) <= 22
                and isinstance(z.get("checksum", False), bool)):
            raise FormatError(f"{key}: bad zstd configuration")
        if c not in ({}, None):
            raise FormatError(f"{key}: crc32c takes no configuration")

    def chunk(self, meta: dict, i: int) -> np.ndarray:
        """Chunk i (v1 s.4: CRC-32C, digest, declared size, exact size), as (C[0], ...)."""
        name = f"{meta['key']}/c/{i}" + "/0" * (len(meta["shape"]) - 1)
        if name not in self.entries:
            raise IntegrityError(f"chunk {name!r} missing")
        entry = self.read(name, digest=False)
        body = entry[:-4]
        if len(entry) < 5 or CRC32C().encode(np.frombuffer(body, "u1"))[-4:].tobytes() != entry[-4:]:
            raise IntegrityError(f"chunk {name!r}: CRC-32C mismatch")
        self._digest(name, entry)
        row_shape = meta["shape"][1:]
        size = meta["rows"] * math.prod(row_shape) * np.dtype(DTYPES[meta["dtype"]]).itemsize
        if frame_content_size(body) != size:
            raise IntegrityError(f"chunk {name!r}: frame does not declare {size} bytes")
        try:
            raw = zstd.decompress(body)
        except Exception as exc:  # any decoder failure on untrusted bytes
            raise IntegrityError(f"chunk {name!r}: zstd ({exc})") from None
        if len(raw) != size:
            raise IntegrityError(f"chunk {name!r}: decompressed to {len(raw)} bytes")
        return np.frombuffer(raw, DTYPES[meta["dtype"]]).reshape(meta["rows"], *row_shape)

    def rows(self, meta: dict, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi), reading only the chunks that overlap them."""
        r = meta["rows"]
        parts = [self.chunk(meta, i)[max(lo - i * r, 0):hi - i * r]
                 for i in range(lo // r, -(-hi // r))]
        return (np.concatenate(parts) if parts else
                np.zeros((0, *meta["shape"][1:]), DTYPES[meta["dtype"]])).astype(
            np.dtype(DTYPES[meta["dtype"]]).newbyteorder("="))

    def whole(self, meta: dict) -> np.ndarray:
        return self.rows(meta, 0, meta["shape"][0])

    # -- header and tables (v1 s.3, s.4, s.8.3; v2 s.2, s.3) ------------------------------
    def _common(self, h: dict, root: dict) -> None:
        _need(h, root, "header")
        self.classes, self.videos = h["class_names"], h["videos"]
        if not self.classes or not all(isinstance(x, str) for x in self.classes + self.videos):
            raise FormatError("class_names (>= 1) and videos must be strings")
        if len(set(self.videos)) != len(self.videos) or h["num_videos"] != len(self.videos):
            raise FormatError("videos: duplicates, or num_videos differs")
        if not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                   for v in h["splits"].values()):
            raise FormatError("splits must map names to lists of video names")
        if not all(0 <= h[k] < 2**53 for k in ("num_videos", "num_segments", "num_codes",
                                                "num_frames")):
            raise FormatError("counts out of range")
        if not 1 <= h["feature_dim"] <= MAX_DIM:
            raise FormatError("feature_dim out of range")
        self.D = h["feature_dim"]

    def _codes_header(self, c: dict, where: str) -> None:  # v1 s.5
        if c.get("storage") == "array" and c.get("dtype") in ("float32", "float16", "int8"):
            return
        if c.get("storage") == "random" and c.get("generator") == "splitmix64-box-muller" and (
                _is_int(c.get("seed")) and -2**63 <= c["seed"] < 2**64):
            return
        raise FormatError(f"{where}: bad codes description")

    def _decoder(self, dec, prefix: str, d: int, classes: list) -> dict:  # v1 s.6
        if not isinstance(dec, dict) or not isinstance(dec.get("arch"), dict) or not isinstance(
                dec["arch"].get("name"), str) or not isinstance(dec.get("tensors"), list):
            raise FormatError(f"{prefix}: decoder needs arch (with name) and tensors")
        names = dec["tensors"]
        if len(set(map(str, names))) != len(names) or len(names) > 1024 or not all(
                isinstance(n, str) and re.fullmatch("[A-Za-z0-9_]{1,64}", n) for n in names):
            raise FormatError(f"{prefix}: tensor names")
        dtype = "float32" if self.version < (1, 1) else dec.get("dtype", "float32")
        if dtype not in ("float32", "float16"):
            raise FormatError(f"{prefix}: decoder dtype {dtype!r}")
        arch, tca = dec["arch"], dec["arch"]["name"] == "tca-mlp"
        keep32 = ("feature_offset", "feature_scale") if tca else ()  # float32 whatever dtype
        metas = {n: self.array(prefix + n, ("float32",) if n in keep32 else (dtype,))
                 for n in names}
        floats = sum(-(-m["shape"][0] // m["rows"]) * m["rows"] * math.prod(m["shape"][1:])
                     for m in metas.values())
        if 4 * floats > self.budget:
            raise FormatError(f"{prefix}: decoder tensors implausibly large")
        if tca:
            dims = [arch.get(k) for k in ("latent_dim", "num_classes", "hidden_dim", "feature_dim")]
            if not all(map(_is_int, dims)) or dims[:2] + dims[3:] != [d, len(classes), self.D] or (
                    not 1 <= dims[2] <= MAX_DIM or arch.get("activation", "relu") != "relu"):
                raise FormatError(f"{prefix}: tca-mlp arch {arch} disagrees with the header")
            dd, a, hh, D = dims
            want = {"w1": (hh, dd + a + 1), "b1": (hh,), "w2": (D, hh), "b2": (D,),
                    "feature_offset": (D,), "feature_scale": (D,)}
            if {n: m["shape"] for n, m in metas.items()} != want:
                raise FormatError(f"{prefix}: tca-mlp tensors have the wrong shapes")
        return {"arch": arch, "tensors": metas, "classes": list(classes), "read": None}

    def _tables(self, h: dict) -> None:
        S, V = h["num_segments"], h["num_videos"]
        t = {k: self.whole(self.array(k, ("int64",), ((S if k[0] == "s" else V)
                                                      + k.startswith("videos/first"),)))
             for k in TABLES}
        a, ln, k, nf, fs, fc = (t[x] for x in TABLES)
        bad = None
        if fs[0] != 0 or fs[-1] != S or (np.diff(fs) < 1).any():
            bad = "first_segment"
        elif (ln < 1).any() or (k < 1).any() or (k > ln).any() or (ln > MAX_FRAMES).any():
            bad = "segment lengths or instances"
        elif (a < 0).any() or (a >= len(self.classes)).any():
            bad = "segments/action"
        elif not np.array_equal(np.add.reduceat(ln, fs[:-1]) if V else nf, nf) or (
                nf > MAX_FRAMES).any() or int(nf.sum()) != h["num_frames"]:
            bad = "num_frames"
        elif not np.array_equal(np.concatenate(([0], np.cumsum(k)))[fs], fc) or (
                fc[-1] != h["num_codes"]):
            bad = "first_code"
        if bad:
            raise IntegrityError(f"tables: {bad} inconsistent")
        self.action, self.length, self.k_eff, self.first_segment, self.first_code = a, ln, k, fs, fc

    def _open_v1(self, h: dict) -> None:
        self._common(h, V1_ROOT)
        d = h["code_dim"]
        if not 1 <= d <= MAX_DIM:
            raise FormatError("code_dim out of range")
        self._codes_header(h["codes"], "codes")
        dec = h.get("decoder")
        for node in ("segments", "videos") + (("decoder",) if dec is not None else ()):
            self._group_doc(node)
        self.budget = max(4096 * len(self.file), 1 << 30)
        S, V = h["num_segments"], h["num_videos"]
        if 8 * (3 * S + 3 * V + 2 + h["num_frames"]) + 4 * h["num_codes"] * d > self.budget:
            raise FormatError("declared tables and codes implausibly large")
        self._tables(h)
        if h["decode_kind"] == "mlp" and dec is None:
            raise FormatError("decode_kind 'mlp' without a decoder")
        if h["decode_kind"] == "repeat" and d != self.D:
            raise FormatError("decode_kind 'repeat' needs code_dim == feature_dim")
        self.decoders = [] if dec is None else [
            self._decoder(dec, "decoder/", d, range(len(self.classes)))]
        self.groups = [self._group(h, "", 0, V, None if dec is None else 0)]

    def _open_v2(self, h: dict) -> None:
        self._common(h, V2_ROOT)
        decs, groups = h["decoders"], h["groups"]
        if len(decs) > 65536 or not 1 <= len(groups) <= 65536:
            raise FormatError("1 to 65536 groups, at most 65536 decoders")
        for j, dec in enumerate(decs):
            ids = dec.get("classes") if isinstance(dec, dict) else None
            if not isinstance(ids, list) or not ids or len(set(ids)) != len(ids) or not all(
                    _is_int(c) and 0 <= c < len(self.classes) for c in ids):
                raise FormatError(f"decoders[{j}].classes")
        for g, grp in enumerate(groups):
            if not isinstance(grp, dict):
                raise FormatError(f"groups[{g}] must be an object")
            _need(grp, V2_GROUP, f"groups[{g}]")
            self._codes_header(grp["codes"], f"groups[{g}].codes")
            j = grp.get("decoder", "missing")  # required: an index or null
            if not 1 <= grp["num_videos"] <= len(self.videos) or not 1 <= grp[
                    "code_dim"] <= MAX_DIM or not (j is None or _is_int(j) and 0 <= j < len(decs)):
                raise FormatError(f"groups[{g}]: num_videos, code_dim or decoder out of range")
            if grp["decode_kind"] == "mlp+offset" and not (
                    isinstance(grp.get("offsets"), dict) and grp["offsets"].get("storage") == "array"
                    and grp["offsets"].get("dtype") in ("float32", "float16", "int8")):
                raise FormatError(f"groups[{g}].offsets")
        first = np.concatenate(([0], np.cumsum([grp["num_videos"] for grp in groups])))
        if first[-1] != len(self.videos):
            raise FormatError("the groups' num_videos do not sum to num_videos")
        nodes = ["segments", "videos", "groups"] + (["decoders"] if decs else [])
        nodes += [f"decoders/{j}" for j in range(len(decs))] + [
            f"groups/{g}" for g, grp in enumerate(groups)
            if grp["codes"]["storage"] == "array" or grp["decode_kind"] == "mlp+offset"]
        for node in nodes:
            self._group_doc(node)
        self.budget = max(4096 * len(self.file), 1 << 30)
        self._tables(h)
        fc, fs = self.first_code, self.first_segment
        declared = 8 * (3 * h["num_segments"] + 3 * len(self.videos) + 2 + h["num_frames"])
        for g, grp in enumerate(groups):
            declared += 4 * int(fc[first[g + 1]] - fc[first[g]]) * grp["code_dim"]
            if grp["decode_kind"] == "mlp+offset":
                declared += 4 * int(fs[first[g + 1]] - fs[first[g]]) * self.D
        if declared > self.budget:
            raise FormatError("declared tables, codes and offsets implausibly large (v2 s.3)")
        self.decoders = []
        for j, dec in enumerate(decs):
            d = dec["arch"].get("latent_dim") if isinstance(dec.get("arch"), dict) else None
            self.decoders.append(self._decoder(dec, f"decoders/{j}/", d, dec["classes"]))
        self.groups = []
        for g, grp in enumerate(groups):
            j, kind = grp.get("decoder"), grp["decode_kind"]
            if kind in ("mlp", "mlp+offset", "mlp+lerp", "mlp+lerp-video") and j is None:
                raise FormatError(f"groups[{g}]: decode_kind {kind!r} without a decoder")
            if kind == "repeat" and grp["code_dim"] != self.D:
                raise FormatError(f"groups[{g}]: repeat needs code_dim == feature_dim")
            if j is not None and self.decoders[j]["arch"].get("latent_dim") != grp["code_dim"]:
                raise FormatError(f"groups[{g}]: code_dim differs from its decoder's latent_dim")
            self.groups.append(self._group(grp, f"groups/{g}/", int(first[g]),
                                           grp["num_videos"], j))
            if j is not None:
                acts = self.action[fs[first[g]]:fs[first[g + 1]]]
                if not np.isin(acts, self.decoders[j]["classes"]).all():
                    raise IntegrityError(f"groups[{g}]: actions its decoder does not know")

    def _group(self, gh: dict, prefix: str, v0: int, nv: int, decoder) -> dict:
        """One group: its videos, code rows and arrays (a 1.x archive: prefix "")."""
        c0, c1 = int(self.first_code[v0]), int(self.first_code[v0 + nv])
        s0, s1 = int(self.first_segment[v0]), int(self.first_segment[v0 + nv])
        grp = {"h": gh, "v0": v0, "nv": nv, "c0": c0, "s0": s0, "decoder": decoder,
               "kind": gh["decode_kind"], "codes": None, "offsets": None}
        d, c = gh["code_dim"], gh["codes"]
        if c["storage"] == "array":
            grp["codes"] = self._quantised(prefix + "codes", prefix + "code_scale", c["dtype"],
                                           (c1 - c0, d))
        if self.version[0] >= 2 and gh["decode_kind"] == "mlp+offset":  # v2 s.6
            grp["offsets"] = self._quantised(prefix + "offsets", prefix + "offset_scale",
                                             gh["offsets"]["dtype"], (s1 - s0, self.D))
        return grp

    def _quantised(self, key: str, scale_key: str, dtype: str, shape: tuple) -> dict:
        meta = self.array(key, (dtype,), shape)
        scale = self.array(scale_key, ("float32",), shape[1:]) if dtype == "int8" else None
        return {"meta": meta, "scale": scale}

    def _values(self, q: dict, lo: int, hi: int) -> np.ndarray:
        """Rows [lo, hi) as float32, dequantised (v1 s.5) and checked finite (v1 s.4)."""
        x = self.rows(q["meta"], lo, hi).astype(np.float32)
        if q["scale"] is not None:
            scale = self.whole(q["scale"])
            if not np.isfinite(scale).all() or (scale < 0).any():
                raise IntegrityError(f"{q['scale']['key']}: negative or non-finite scale")
            x = x * scale
        if not np.isfinite(x).all():
            raise IntegrityError(f"{q['meta']['key']}: NaN or infinite values")
        return x

    # -- per video ------------------------------------------------------------------------
    def _where(self, video) -> tuple[int, dict]:
        i = self.videos.index(video) if isinstance(video, str) else int(video)
        return i, next(g for g in reversed(self.groups) if g["v0"] <= i)

    def labels(self, video) -> np.ndarray:
        i, _ = self._where(video)
        s = slice(self.first_segment[i], self.first_segment[i + 1])
        return np.repeat(self.action[s], self.length[s])

    def codes(self, video) -> np.ndarray:
        """The video's codes (n, d) float32 (v1 s.5; v2 s.4: rows local to the group)."""
        i, g = self._where(video)
        lo, hi = int(self.first_code[i]) - g["c0"], int(self.first_code[i + 1]) - g["c0"]
        c = g["h"]["codes"]
        if c["storage"] == "random":
            return random_codes(c["seed"], lo, hi - lo, g["h"]["code_dim"])
        return self._values(g["codes"], lo, hi)

    def decoder(self, j: int) -> dict:
        dec = self.decoders[j]
        if dec["read"] is None:
            dec["read"] = {n: self.whole(m).astype(np.float32) for n, m in dec["tensors"].items()}
            if not all(np.isfinite(t).all() for t in dec["read"].values()):
                raise IntegrityError(f"decoder {j}: NaN or infinite values")
        return dec["read"]

    def decode(self, video) -> np.ndarray:
        """(T, D) float32 (v1 s.7; v2 s.4, s.6)."""
        i, g = self._where(video)
        kind = KINDS.get(g["kind"])
        if kind is None or self.version[0] < kind[1]:
            raise UnknownCodecError(f"decode_kind {g['kind']!r} is unknown to this reader")
        dec = self.decoders[g["decoder"]] if g["decoder"] is not None else None
        if kind[2] and dec["arch"]["name"] != "tca-mlp":
            raise UnknownCodecError(f"decoder architecture {dec['arch']['name']!r}")
        s = slice(int(self.first_segment[i]), int(self.first_segment[i + 1]))
        seg = {"action": self.action[s], "length": self.length[s], "k_eff": self.k_eff[s],
               "rows": (s.start - g["s0"], s.stop - g["s0"])}
        self._budget(video, seg, g, dec)
        if dec is not None and kind[2]:  # archive class id -> the decoder's class index
            index = np.zeros(len(self.classes), np.int64)
            index[dec["classes"]] = np.arange(len(dec["classes"]))
            seg["action"] = index[seg["action"]]
        return kind[0](self, g, seg, self.codes(i), dec)

    def _budget(self, video, seg: dict, g: dict, dec) -> None:
        """v1 s.8.4a, before any code is read: the output, codes and offsets as float32 and
        this reader's own temporaries (float64 per frame: inputs, two hidden, three outputs)."""
        T, N, S = int(seg["length"].sum()), int(seg["k_eff"].sum()), len(seg["length"])
        d, D = g["h"]["code_dim"], self.D
        A, H = (len(dec["classes"]), int(dec["arch"].get("hidden_dim", 0))) if dec else (0, 0)
        need = 4 * T * D + 4 * N * d + 4 * S * D * (g["offsets"] is not None)
        need += 8 * T * (d + A + 1 + 2 * H + 3 * D)
        if need > self.limit:
            raise DecodeBudgetError(f"video {video!r} needs {need} bytes, limit {self.limit}")

    def check_all(self) -> None:
        """Read every entry (digest) and every chunk of every array (v1 s.8, verification)."""
        for name in self.entries:
            self.read(name)
        for g in self.groups:
            for q in (g["codes"], g["offsets"]):
                if q is not None:
                    self._values(q, 0, q["meta"]["shape"][0])
        for j in range(len(self.decoders)):
            self.decoder(j)


# -- decode kinds (v1 s.7, v2 s.6): name -> (function, first major that defines it, whether
# it decodes with a tca-mlp decoder). function(archive, group, seg, codes, decoder) -> (T, D)
# float32: seg holds the video's segments ("action": decoder class indices, "length",
# "k_eff", "rows": their rows within the group's segments), codes its (n, d) float32 code
# rows, group the dict Archive._group made (arrays a kind adds are read there). A new kind is
# one function and one entry in KINDS.
def _instances(length: np.ndarray, k_eff: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: its instance (code row, in order) and its coherence c (v1 s.7)."""
    inst, coh, first = [], [], 0
    for ln, k in zip(length.tolist(), k_eff.tolist()):
        t = np.arange(ln)
        inst.append(first + np.searchsorted([(j + 1) * ln // k for j in range(k)], t, "right"))
        coh.append((t / (ln - 1) if ln > 1 else np.zeros(1)).astype(np.float32))
        first += k
    return np.concatenate(inst), np.concatenate(coh)


def decode_repeat(ar, g, seg, codes, dec) -> np.ndarray:
    inst, _ = _instances(seg["length"], seg["k_eff"])
    return codes[inst].astype(np.float32)


def decode_mlp(ar, g, seg, codes, dec) -> np.ndarray:
    inst, _ = _instances(seg["length"], seg["k_eff"])
    return _mlp(ar, g, seg, codes[inst], dec)


def _mlp(ar, g, seg, z, dec) -> np.ndarray:
    """The v1 s.6 decoder on each frame's code z (T, d), action and coherence."""
    t = ar.decoder(g["decoder"])
    _, coh = _instances(seg["length"], seg["k_eff"])
    frame_action = np.repeat(seg["action"], seg["length"])
    onehot = np.eye(len(dec["classes"]))[frame_action]
    u = np.concatenate([z, onehot, coh[:, None]], axis=1).astype(np.float64)
    hidden = np.maximum(u @ t["w1"].T.astype(np.float64) + t["b1"], 0)
    x = (hidden @ t["w2"].T.astype(np.float64) + t["b2"]) * t["feature_scale"] + t["feature_offset"]
    return x.astype(np.float32)


def decode_mlp_offset(ar, g, seg, codes, dec) -> np.ndarray:
    offsets = ar._values(g["offsets"], *seg["rows"])  # v2 s.6: one row per segment
    return decode_mlp(ar, g, seg, codes, dec) + np.repeat(offsets, seg["length"], axis=0)


def decode_mlp_lerp(ar, g, seg, codes, dec) -> np.ndarray:
    """v2 s.7: each frame's code interpolated between the centres of the instances around it."""
    z, first = [], 0
    for ln, k in zip(seg["length"].tolist(), seg["k_eff"].tolist()):
        ends = [j * ln // k for j in range(k + 1)]
        centre2 = [ends[j] + ends[j + 1] - 1 for j in range(k)]  # twice each centre
        for i in range(ln):
            f2 = 2 * i
            if f2 <= centre2[0] or k == 1:
                z.append(codes[first])
            elif f2 >= centre2[-1]:
                z.append(codes[first + k - 1])
            else:
                j = int(np.searchsorted(centre2, f2, "right")) - 1
                w = np.float32((f2 - centre2[j]) / (centre2[j + 1] - centre2[j]))
                z.append(codes[first + j] + w * (codes[first + j + 1] - codes[first + j]))
        first += k
    return _mlp(ar, g, seg, np.asarray(z, np.float32).reshape(-1, codes.shape[1]), dec)


def decode_mlp_lerp_video(ar, g, seg, codes, dec) -> np.ndarray:
    """v2 s.8: each frame's code interpolated between the centres of the video's consecutive
    instances, whatever their segments."""
    ends, start = [0], 0
    for ln, k in zip(seg["length"].tolist(), seg["k_eff"].tolist()):
        ends += [start + (j + 1) * ln // k for j in range(k)]
        start += ln
    centre2 = [ends[j] + ends[j + 1] - 1 for j in range(len(ends) - 1)]
    z = []
    for t in range(start):
        j = int(np.searchsorted(centre2, 2 * t, "right")) - 1
        if j < 0 or len(centre2) == 1:
            z.append(codes[0])
        elif j >= len(centre2) - 1:
            z.append(codes[-1])
        else:
            w = np.float32((2 * t - centre2[j]) / (centre2[j + 1] - centre2[j]))
            z.append(codes[j] + w * (codes[j + 1] - codes[j]))
    return _mlp(ar, g, seg, np.asarray(z, np.float32).reshape(-1, codes.shape[1]), dec)


KINDS = {"repeat": (decode_repeat, 1, False), "mlp": (decode_mlp, 1, True),
         "mlp+offset": (decode_mlp_offset, 2, True), "mlp+lerp": (decode_mlp_lerp, 2, True),
         "mlp+lerp-video": (decode_mlp_lerp_video, 2, True)}


# -- the zstd frame header and the random stream ------------------------------------------
def frame_content_size(body: bytes) -> int | None:
    """Frame_Content_Size of a zstd frame (RFC 8878 3.1.1.1; v1 s.4), None if absent."""
    if len(body) < 6 or body[:4] != b"\x28\xb5\x2f\xfd":
        return None
    f = body[4]
    size = (0, 2, 4, 8)[f >> 6] or (1 if f >> 5 & 1 else 0)
    pos = 5 + (0 if f >> 5 & 1 else 1) + (0, 1, 2, 4)[f & 3]
    if size == 0 or len(body) < pos + size:
        return None
    return int.from_bytes(body[pos:pos + size], "little") + (256 if size == 2 else 0)


_M = (1 << 64) - 1


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M
    return z ^ (z >> 31)


def uniform(s: int, n: int) -> float:
    return (float(splitmix64((((s % 2**32) << 32) + n) & _M) >> 11) + 0.5) / 2**53


def gauss(s: int, j: int) -> float:
    return math.sqrt(-2 * math.log(uniform(s, 2 * j))) * math.cos(2 * math.pi * uniform(s, 2 * j + 1))


def random_codes(s: int, first: int, n: int, d: int) -> np.ndarray:
    """Code rows first .. first + n - 1 of the splitmix64-box-muller stream (v1 s.5.1)."""
    return np.float32([gauss(s, j) for j in range(first * d, (first + n) * d)]).reshape(n, d)
