"""Hostile input: mutated archives must fail with a ``TascodecError`` (or read), nothing else.

Every case opens the archive and reads everything a user can (labels, segments, codes of every
video, the decoder, sizes, verify). Byte-level mutations (bit flips, byte overwrites, huge
integers, truncations at every region, deletions, duplications) and structural ones (edited
metadata, missing, duplicated, deflated entries, ZIP bombs, a pickle codec, deep JSON).
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import tokenize
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from make_golden import GOLDEN_DIR, write_zip, zip_entries
from tascodec.errors import FormatError, IntegrityError, TascodecError, UnsupportedVersionError
from tascodec.format import open_archive
from tascodec.format import arrays as arrays_mod
from tascodec.format.v1 import TABLE_ARRAYS
from testkit import mutants, zip_regions

PACKAGE = Path(__file__).resolve().parents[2] / "tascodec"
BASE_SMALL = GOLDEN_DIR / "repeat.tasz"  # the tiniest archive: byte-level mutations
BASE_FULL = GOLDEN_DIR / "mlp-int8.tasz"  # every kind of array: structural mutations


def consume(path: Path) -> str:
    """Open ``path`` and read everything; 'ok' or the TascodecError class name. Others propagate."""
    try:
        with open_archive(path) as ar:
            for v in ar.videos:
                ar.labels(v), ar.segments(v), ar.transcript(v), ar.num_frames(v)
                codes = ar.codes(v)
                assert codes.dtype == np.float32 and codes.shape[1] == ar.code_dim
            ar.decoder()
            ar.sizes()
            ar.verify()
        return "ok"
    except TascodecError as exc:
        assert str(path) in str(exc), f"error does not name the archive: {exc}"
        return type(exc).__name__


def _run(tmp_path: Path, data: bytes, name: str = "m.tasz") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return consume(path)


def test_thousand_byte_mutants(tmp_path):
    data = BASE_SMALL.read_bytes()
    outcomes: dict[str, int] = {}
    for mutant in mutants(data, 1000):
        outcome = _run(tmp_path, mutant)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == 1000
    assert outcomes.get("FormatError", 0) > 100 and outcomes.get("IntegrityError", 0) > 50, outcomes


def test_truncation_at_every_region(tmp_path):
    data = BASE_FULL.read_bytes()
    for cut in zip_regions(data)[:-1]:
        assert _run(tmp_path, data[:cut]) != "ok", cut


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_hypothesis_byte_edits(tmp_path, edits):
    b = bytearray(BASE_FULL.read_bytes())
    for where, value in edits:
        b[int(where * len(b))] = value
    _run(tmp_path, bytes(b), "h.tasz")


@pytest.mark.slow
@settings(
    max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(min_size=1, max_size=64), st.floats(0, 1, exclude_max=True), st.integers(0, 64))
def test_hypothesis_splices_slow(tmp_path, blob, where, drop):
    data = BASE_FULL.read_bytes()
    pos = int(where * len(data))
    _run(tmp_path, data[:pos] + blob + data[pos + drop :], "s.tasz")


@pytest.mark.slow
def test_many_byte_mutants_slow(tmp_path):
    data = BASE_FULL.read_bytes()
    for mutant in mutants(data, 20000, seed=1):
        _run(tmp_path, mutant)


# -------------------------------------------------------------------- structural mutations
@pytest.fixture(scope="module")
def full_entries() -> dict[str, bytes]:
    return zip_entries(BASE_FULL)


def _with(tmp_path: Path, entries, name: str = "s.tasz", **kw) -> Path:
    return write_zip(tmp_path / name, entries, **kw)


def test_every_entry_missing(tmp_path, full_entries):
    for victim in full_entries:
        entries = {k: v for k, v in full_entries.items() if k != victim}
        assert consume(_with(tmp_path, entries)) in ("FormatError", "IntegrityError"), victim


def test_every_entry_duplicated(tmp_path, full_entries):
    for victim in full_entries:
        items = list(full_entries.items()) + [(victim, full_entries[victim])]
        path = _with(tmp_path, items)
        with pytest.raises(FormatError, match="duplicate"):
            open_archive(path)


def test_deflated_entries(tmp_path, full_entries):
    path = _with(tmp_path, full_entries, compress_type=zipfile.ZIP_DEFLATED)
    with pytest.raises(FormatError, match="STORED"):
        open_archive(path)


def _json_edits():
    """(entry, description, edit(obj) -> obj) for array and group metadata."""
    arrays = ["codes", "code_scale", *TABLE_ARRAYS, "decoder/w1", "decoder/b2"]
    bad_codecs = [
        [{"name": "bytes", "configuration": {"endian": "little"}}, {"name": "numcodecs.pickle"}],
        [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": 3}}],
        [{"name": "bytes"}, {"name": "gzip", "configuration": {"level": 1}}, {"name": "crc32c"}],
        [
            {"name": "bytes", "configuration": {"endian": "big"}},
            {"name": "zstd"},
            {"name": "crc32c"},
        ],
        [{"name": "bytes"}, {"name": "zstd", "configuration": {"level": "3"}}, {"name": "crc32c"}],
        [{"name": "bytes"}, {"name": "zstd", "configuration": {"dict": "x"}}, {"name": "crc32c"}],
        [
            {"name": "transpose", "configuration": {"order": [0]}},
            {"name": "zstd"},
            {"name": "crc32c"},
        ],
        [{"name": "bytes"}, {"name": "zstd"}, {"name": "crc32c"}, {"name": "crc32c"}],
        "pickle",
        None,
        {"name": "bytes"},
    ]
    edits = []
    for key in arrays:
        entry = f"{key}/zarr.json"
        for dt in ("float64", "int32", "uint8", "bool", "complex64", "|O", None, 7):
            edits.append((entry, f"dtype {dt}", lambda m, dt=dt: {**m, "data_type": dt}))
        for shape in ([], [-1], [2**62], [1, 2, 3], "x", [1.5], None, [True]):
            edits.append((entry, f"shape {shape}", lambda m, s=shape: {**m, "shape": s}))
        edits.append(
            (entry, "shape+1", lambda m: {**m, "shape": [m["shape"][0] + 1, *m["shape"][1:]]})
        )
        edits.append(
            (
                entry,
                "shape-1",
                lambda m: {**m, "shape": [max(m["shape"][0] - 1, 0), *m["shape"][1:]]},
            )
        )
        for chunks in ([0], [2**40], [1, 1, 1], "x", [-3]):
            edits.append(
                (
                    entry,
                    f"chunks {chunks}",
                    lambda m, c=chunks: {
                        **m,
                        "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": c}},
                    },
                )
            )
        edits.append(
            (
                entry,
                "chunks 1 row",
                lambda m: {
                    **m,
                    "chunk_grid": {
                        "name": "regular",
                        "configuration": {"chunk_shape": [1, *m["shape"][1:]]},
                    },
                },
            )
        )
        edits.append((entry, "grid", lambda m: {**m, "chunk_grid": {"name": "rectilinear"}}))
        for c in bad_codecs:
            edits.append((entry, f"codecs {c}", lambda m, c=c: {**m, "codecs": c}))
        edits.append((entry, "key enc", lambda m: {**m, "chunk_key_encoding": {"name": "v2"}}))
        edits.append(
            (entry, "transformer", lambda m: {**m, "storage_transformers": [{"name": "x"}]})
        )
        edits.append((entry, "fill", lambda m: {**m, "fill_value": "NaN"}))
        edits.append((entry, "unknown", lambda m: {**m, "exec_this": {"must_understand": True}}))
        edits.append((entry, "format 2", lambda m: {**m, "zarr_format": 2}))
        edits.append((entry, "group", lambda m: {**m, "node_type": "group"}))
        edits.append((entry, "list", lambda m: [m]))
    for group in ("segments/zarr.json", "videos/zarr.json"):
        edits.append((group, "array", lambda m: {**m, "node_type": "array"}))
    return edits


def test_metadata_edits(tmp_path, full_entries):
    seen = 0
    for entry, what, edit in _json_edits():
        meta = json.loads(full_entries[entry])
        entries = {**full_entries, entry: json.dumps(edit(meta)).encode()}
        outcome = consume(_with(tmp_path, entries))
        assert outcome in ("FormatError", "IntegrityError"), (entry, what, outcome)
        seen += 1
    assert seen > 400


def _header_edits():
    keys = [
        "format",
        "format_version",
        "library_version",
        "codec",
        "codec_config",
        "decode_kind",
        "class_names",
        "videos",
        "splits",
        "num_videos",
        "num_segments",
        "num_codes",
        "num_frames",
        "code_dim",
        "feature_dim",
        "codes",
        "decoder",
        "stats",
    ]
    edits = []
    for key in keys:
        edits.append((f"del {key}", lambda h, k=key: {x: v for x, v in h.items() if x != k}))
        for bad in (None, [], "x", -1, 2**60, 1.5, True, {"a": 1}, [["nested"]]):
            edits.append((f"{key}={bad!r}", lambda h, k=key, b=bad: {**h, k: b}))
    edits += [
        ("videos dup", lambda h: {**h, "videos": [h["videos"][0]] * len(h["videos"])}),
        ("videos short", lambda h: {**h, "videos": h["videos"][:-1]}),
        ("classes short", lambda h: {**h, "class_names": h["class_names"][:1]}),
        (
            "codes random no seed",
            lambda h: {**h, "codes": {"storage": "random", "generator": "splitmix64-box-muller"}},
        ),
        (
            "codes random other",
            lambda h: {**h, "codes": {"storage": "random", "generator": "mt", "seed": 1}},
        ),
        ("codes dtype", lambda h: {**h, "codes": {"storage": "array", "dtype": "float64"}}),
        ("codes float32", lambda h: {**h, "codes": {"storage": "array", "dtype": "float32"}}),
        (
            "arch",
            lambda h: {
                **h,
                "decoder": {**h["decoder"], "arch": {**h["decoder"]["arch"], "hidden_dim": 3}},
            },
        ),
        (
            "arch str",
            lambda h: {
                **h,
                "decoder": {**h["decoder"], "arch": {**h["decoder"]["arch"], "latent_dim": "8"}},
            },
        ),
        (
            "arch inf",
            lambda h: {
                **h,
                "decoder": {
                    **h["decoder"],
                    "arch": {**h["decoder"]["arch"], "hidden_dim": float("inf")},
                },
            },
        ),
        (
            "tensor path",
            lambda h: {**h, "decoder": {**h["decoder"], "tensors": ["../../etc/passwd"]}},
        ),
        ("tensor missing", lambda h: {**h, "decoder": {**h["decoder"], "tensors": ["w1"]}}),
        (
            "tensor extra",
            lambda h: {
                **h,
                "decoder": {**h["decoder"], "tensors": [*h["decoder"]["tensors"], "w9"]},
            },
        ),
        ("huge counts", lambda h: {**h, "num_segments": 2**50, "num_codes": 2**50}),
        ("huge dim", lambda h: {**h, "code_dim": 2**30}),
        ("version 3", lambda h: {**h, "format_version": "3.0"}),
        ("version 2", lambda h: {**h, "format_version": "2.0"}),  # 2.0 fields missing
        ("version 0", lambda h: {**h, "format_version": "0.1"}),
        ("format", lambda h: {**h, "format": "other"}),
        ("not dict", lambda h: [h]),
    ]
    return edits


_HARMLESS = {
    "codec='x'",
    "library_version='x'",
    "decode_kind='x'",
    "codec_config={'a': 1}",
    "stats={'a': 1}",
}


def test_header_edits(tmp_path, full_entries):
    root = json.loads(full_entries["zarr.json"])
    for what, edit in _header_edits():
        obj = {**root, "attributes": {"tascodec": edit(root["attributes"]["tascodec"])}}
        entries = {**full_entries, "zarr.json": json.dumps(obj).encode()}
        outcome = consume(_with(tmp_path, entries))
        assert (outcome == "ok") == (what in _HARMLESS), (what, outcome)
        if what == "version 3":
            assert outcome == "UnsupportedVersionError"


def test_version_error_class(tmp_path, full_entries):
    root = json.loads(full_entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = "3.1"
    path = _with(tmp_path, {**full_entries, "zarr.json": json.dumps(root).encode()})
    with pytest.raises(UnsupportedVersionError):
        open_archive(path)


def test_deep_and_large_json(tmp_path, full_entries, monkeypatch):
    for text in (
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50_000 + "1" + "}" * 50_000,
        "\xff\xfe",
        "",
        "1" * 5000,
        "NaN",
    ):
        path = _with(
            tmp_path, {**full_entries, "zarr.json": text.encode("utf-8", "surrogateescape")}
        )
        with pytest.raises(FormatError):
            open_archive(path)
    monkeypatch.setattr(arrays_mod, "MAX_JSON_BYTES", 200)
    with pytest.raises(FormatError, match="at most 200"):
        open_archive(BASE_FULL)


def test_zstd_bomb_chunk(tmp_path, full_entries):
    from numcodecs import zstd
    import google_crc32c

    body = zstd.compress(bytes(256 << 20), 19)  # 256 MiB of zeros in a few KB
    assert len(body) < 64 << 10
    bomb = body + google_crc32c.value(body).to_bytes(4, "little")
    for key in ("codes/c/0/0", "segments/action/c/0", "decoder/w1/c/0/0"):
        path = _with(tmp_path, {**full_entries, key: bomb})
        tracemalloc.start()
        try:
            # refused for its size (FormatError) or for what it decodes to (IntegrityError)
            assert consume(path) in ("FormatError", "IntegrityError")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 32 << 20, peak  # never the 256 MiB the frame declares


def _patch_central(
    data: bytes, name: str, *, size: int | None = None, offset: int | None = None
) -> bytes:
    b = bytearray(data)
    eocd = b.rfind(b"PK\x05\x06")
    cd = struct.unpack("<I", b[eocd + 16 : eocd + 20])[0]
    pos = cd
    while b[pos : pos + 4] == b"PK\x01\x02":
        nlen, elen, clen = struct.unpack("<HHH", b[pos + 28 : pos + 34])
        if b[pos + 46 : pos + 46 + nlen].decode() == name:
            if size is not None:
                b[pos + 20 : pos + 28] = struct.pack("<II", size, size)
            if offset is not None:
                b[pos + 42 : pos + 46] = struct.pack("<I", offset)
            return bytes(b)
        pos += 46 + nlen + elen + clen
    raise AssertionError(name)


def test_oversized_and_overlapping_zip_entries(tmp_path):
    data = BASE_FULL.read_bytes()
    for name in ("zarr.json", "codes/c/0/0", "videos/first_code/c/0"):
        for size in (0xFFFFFFF0, len(data), 10 << 20):
            assert _run(tmp_path, _patch_central(data, name, size=size)) == "FormatError"
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            other = zf.infolist()[3].header_offset
        for offset in (1, other, len(data) - 10, 0xFFFFFF00):
            outcome = _run(tmp_path, _patch_central(data, name, offset=offset))
            assert outcome in ("FormatError", "IntegrityError"), (name, offset)


class _Sentinel:
    path = ""

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_pickle_codec_never_runs(tmp_path, full_entries):
    sentinel = tmp_path / "pwned"
    _Sentinel.path = str(sentinel)
    payload = pickle.dumps(_Sentinel())
    meta = json.loads(full_entries["codes/zarr.json"])
    for codecs in (
        [{"name": "bytes"}, {"name": "numcodecs.pickle", "configuration": {}}],
        [{"name": "numcodecs.pickle"}],
        [{"name": "bytes"}, {"name": "zstd"}, {"name": "pickle"}],
    ):
        entries = {
            **full_entries,
            "codes/zarr.json": json.dumps({**meta, "codecs": codecs}).encode(),
            "codes/c/0/0": payload,
        }
        path = _with(tmp_path, entries)
        with pytest.raises(FormatError, match="codec"):
            open_archive(path)
    # a v2-style array with a pickle filter beside the real data is never even looked at
    entries = {
        **full_entries,
        "codes/.zarray": json.dumps({"compressor": {"id": "pickle"}}).encode(),
        "codes/.zattrs": payload,
    }
    assert consume(_with(tmp_path, entries)) == "ok"
    assert not sentinel.exists()


def _chunk(values: np.ndarray) -> bytes:
    from numcodecs import zstd
    import google_crc32c

    body = zstd.compress(np.ascontiguousarray(values, "<i8").tobytes(), 3)
    return body + google_crc32c.value(body).to_bytes(4, "little")


def test_wrapping_segment_lengths(tmp_path, full_entries):
    """Lengths that wrap int64 when summed must not reach np.repeat (memory)."""
    from numcodecs import zstd

    length = np.frombuffer(zstd.decompress(full_entries["segments/length/c/0"][:-4]), "<i8").copy()
    length[0] += 2**62
    length[1] += 2**62  # their sum overflows int64
    entries = {**full_entries, "segments/length/c/0": _chunk(length)}
    with pytest.raises(IntegrityError, match="longer than"):
        open_archive(_with(tmp_path, entries))


def test_decompression_never_exceeds_chunk(tmp_path, full_entries):
    from numcodecs import zstd
    import google_crc32c

    data = np.frombuffer(zstd.decompress(full_entries["segments/length/c/0"][:-4]), "<i8")
    longer = zstd.compress(np.concatenate([data, data]).tobytes(), 3)
    entries = {
        **full_entries,
        "segments/length/c/0": longer + google_crc32c.value(longer).to_bytes(4, "little"),
    }
    with pytest.raises(IntegrityError, match="segments/length"):
        open_archive(_with(tmp_path, entries))


def _crc_chunk(body: bytes) -> bytes:
    import google_crc32c

    return body + google_crc32c.value(body).to_bytes(4, "little")


def test_short_chunks_are_integrity_errors(tmp_path, full_entries):
    """A chunk decompressing to fewer bytes than its array needs, with a valid CRC, is refused.

    (numcodecs' ``decompress(body, out)`` returns ``out`` itself, so a reader comparing
    ``len(result)`` zero-pads short chunks silently: issue 12.)
    """
    from numcodecs import zstd

    chunks = [k for k in full_entries if "/c/" in k]
    assert len(chunks) >= 10
    for key in chunks:
        raw = zstd.decompress(full_entries[key][:-4])
        for short in (raw[:-1], raw[: len(raw) // 2], b""):
            entries = {**full_entries, key: _crc_chunk(zstd.compress(short, 3))}
            path = _with(tmp_path, entries)
            assert consume(path) == "IntegrityError", (key, len(short))
            with pytest.raises(IntegrityError, match="decompressed bytes"):
                with open_archive(path) as ar:
                    problems = ar.verify()
                    raise IntegrityError("; ".join(problems))


def test_forged_content_size_is_caught(tmp_path, full_entries):
    """A frame claiming the full size over shorter content fails inside zstd, not silently."""
    from numcodecs import zstd

    key = "segments/length/c/0"
    raw = zstd.decompress(full_entries[key][:-4])
    body = bytearray(zstd.compress(raw[:-8], 3))
    assert body[4] == 0x20 and len(raw) < 256  # single segment, 1-byte content size
    body[5] = len(raw)
    with pytest.raises(IntegrityError, match="do not decode"):
        open_archive(_with(tmp_path, {**full_entries, key: _crc_chunk(bytes(body))}))


def test_every_entry_swap_is_caught_in_1_1(tmp_path):
    """Format 1.1: any two entries with different bytes swapped is an error, never a read."""
    from make_golden import build
    from tascodec.format import write_archive

    content, _ = build("mlp")
    path = write_archive(content, tmp_path / "b.tasz", code_dtype="int8", codes_chunk_bytes=40)
    entries = zip_entries(path)
    names = [k for k in entries if k != "zarr.json"]
    swaps = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if entries[a] == entries[b]:
                continue
            swapped = _with(tmp_path, {**entries, a: entries[b], b: entries[a]})
            outcome = consume(swapped)
            if outcome == "ok":  # decoding is the one read consume() leaves out
                with open_archive(swapped) as ar:
                    ar.decode(0)
            assert outcome in ("FormatError", "IntegrityError"), (a, b)
            swaps += 1
    assert swaps > 300


@pytest.mark.parametrize("name", ["mlp-f16dec", "mlp-int8"])
def test_byte_mutants_of_1_1_are_never_silent(tmp_path, name):
    """Format 1.1: a mutated archive fails with a TascodecError, or reads exactly as the
    original (labels, codes, decoded features): 0 silent wrong outputs."""
    from make_golden import GOLDEN_DIR_1_1

    data = (GOLDEN_DIR_1_1 / f"{name}.tasz").read_bytes()
    expected = np.load(GOLDEN_DIR_1_1 / f"{name}.npz")
    outcomes: dict[str, int] = {}
    for mutant in mutants(data, 600, seed=1):
        path = tmp_path / "m.tasz"
        path.write_bytes(mutant)
        try:
            with open_archive(path) as ar:
                for i, v in enumerate(ar.videos):
                    np.testing.assert_array_equal(ar.labels(v), expected[f"labels_{i}"])
                    np.testing.assert_array_equal(ar.codes(v), expected[f"codes_{i}"])
                    np.testing.assert_allclose(ar.decode(v), expected[f"decoded_{i}"],
                                               rtol=1e-5, atol=1e-5)
                outcome = "verify" if ar.verify() else "ok"  # e.g. a ZIP CRC field hit
        except TascodecError as exc:
            assert str(path) in str(exc)
            outcome = type(exc).__name__
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("IntegrityError", 0) > 50, outcomes


# --------------------------------------------------------------------- no code from data
_FORBIDDEN_NAMES = {"pickle", "cPickle", "dill", "cloudpickle", "marshal", "shelve", "joblib"}


def _violations(path: Path) -> list[str]:
    found = []
    with open(path, "rb") as fh:
        tokens = [
            t
            for t in tokenize.tokenize(fh.readline)
            if t.type not in (tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE)
        ]
    for i, tok in enumerate(tokens):
        if tok.type != tokenize.NAME:
            continue
        prev = tokens[i - 1].string if i else ""
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
        where = f"{path}:{tok.start[0]}"
        if tok.string in _FORBIDDEN_NAMES:
            found.append(f"{where}: {tok.string}")
        if tok.string in ("eval", "exec", "__import__", "compile") and prev != "." and nxt == "(":
            found.append(f"{where}: {tok.string}(")
        if tok.string == "load" and prev == "." and i >= 2 and tokens[i - 2].string == "torch":
            found.append(f"{where}: torch.load")
        if tok.string == "allow_pickle" and nxt == "=" and tokens[i + 2].string != "False":
            found.append(f"{where}: allow_pickle={tokens[i + 2].string}")
    return found


def test_no_code_execution_primitives_in_package():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 10
    bad = [v for f in files for v in _violations(f)]
    assert bad == [], "\n".join(bad)


def test_the_scanner_catches_things(tmp_path):
    src = tmp_path / "x.py"
    src.write_text(
        "import pickle\nx = eval('1')\ny = torch.load(f)\nnp.load(p, allow_pickle=True)\n"
        "model.eval()  # a method: fine\n'''pickle in a docstring'''\n"
    )
    found = _violations(src)
    assert len(found) == 4, found


def _adversarial(mutants: int, bombs: int, names: int) -> None:
    from adversarial import BAD, run

    results = run(mutants, bombs, names, echo=True)
    total = results["all"]
    assert not any(total[o] for o in BAD), results
    assert results["names"]["ok"] > 0 and results["swaps"]["ok"] == 0
    assert results["outdirs"]["ok"] > 0 and results["outdirs"]["rejected"] > 0
    assert results["budget"]["ok"] >= 100
    assert results["datasets"]["rejected"] > 0 and results["datasets"]["ok"] > 0


def test_adversarial_run():
    """A small standing run of tests/support/adversarial.py: 0 silent, 0 foreign exceptions."""
    _adversarial(mutants=200, bombs=10, names=40)


@pytest.mark.slow
def test_adversarial_run_full_scale_slow():
    """Issue 12's bar: 5,000 mutants, 50 bombs, 100 hostile names."""
    _adversarial(mutants=5000, bombs=50, names=100)


def test_writer_refuses_names_that_are_not_unicode(tmp_path):
    from make_golden import build
    from tascodec.format import write_archive

    content, _ = build("repeat")
    content.table.video_names = ["ok", "bad\ud800", content.table.video_names[2]]
    content.splits = {}
    with pytest.raises(TascodecError, match="not valid Unicode"):
        write_archive(content, tmp_path / "a.tasz")
    assert list(tmp_path.iterdir()) == []
