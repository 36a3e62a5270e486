"""Format 1.1: the entry manifest binds every entry to its path, float16 decoder tensors,
finite codes and weights, exact version strings. 1.0 archives keep reading as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tascodec.tca_mlp import FLOAT32_TENSORS
import pytest

from make_golden import GOLDEN_DIR, build, with_manifest, write_zip, zip_entries
from tascodec.errors import FormatError, IntegrityError, TascodecError
from tascodec.format import open_archive, write_archive
from tascodec.format.manifest import MANIFEST_KEY


def _chunk(values: np.ndarray) -> bytes:
    from numcodecs import zstd
    import google_crc32c

    body = zstd.compress(np.ascontiguousarray(values).tobytes(), 3)
    return body + google_crc32c.value(body).to_bytes(4, "little")


def _raw(entry: bytes, dtype: str) -> np.ndarray:
    from numcodecs import zstd

    return np.frombuffer(zstd.decompress(entry[:-4]), dtype).copy()


@pytest.fixture()
def multi(tmp_path: Path):
    """A raw archive whose codes span several chunks (5 rows each)."""
    content, _ = build("raw")
    return content, write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)


def test_written_as_1_1_with_manifest(multi):
    _, path = multi
    entries = zip_entries(path)
    root = json.loads(entries["zarr.json"])
    assert root["attributes"]["tascodec"]["format_version"] == "1.1"
    manifest = root["attributes"][MANIFEST_KEY]
    assert manifest["algorithm"] == "blake2b-128"
    assert set(manifest["entries"]) == set(entries) - {"zarr.json"}
    with open_archive(path) as ar:
        assert ar.verify() == [] and len(ar.identity) == 32


def test_swapped_codes_chunks(multi, tmp_path):
    content, path = multi
    entries = zip_entries(path)
    a, b = "codes/c/0/0", "codes/c/1/0"
    swapped = write_zip(tmp_path / "s.tasz", {**entries, a: entries[b], b: entries[a]})
    with open_archive(swapped) as ar:
        with pytest.raises(IntegrityError, match="codes/c/0/0.*manifest"):
            ar.codes(0)
        problems = ar.verify()
        assert any(a in p for p in problems) and any(b in p for p in problems)
    # 1.0 has no manifest: the same swap goes unnoticed there (why 1.1 exists)
    old = zip_entries(write_archive(content, tmp_path / "o.tasz", format_version="1.0",
                                    codes_chunk_bytes=4 * 12 * 5))
    old_swapped = write_zip(tmp_path / "os.tasz", {**old, a: old[b], b: old[a]})
    with open_archive(old_swapped) as ar:
        assert ar.verify() == []


@pytest.mark.parametrize("pair", [("b2", "feature_offset"), ("feature_offset", "feature_scale"),
                                  ("b2", "feature_scale")])
def test_swapped_decoder_tensors(tmp_path, pair):
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "m.tasz"))
    a, b = (f"decoder/{n}/c/0" for n in pair)
    bad = write_zip(tmp_path / "s.tasz", {**entries, a: entries[b], b: entries[a]})
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="manifest"):
            ar.decoder()
        with pytest.raises(IntegrityError):
            ar.decode(0)


def test_manifest_must_match_entries(multi, tmp_path):
    _, path = multi
    entries = zip_entries(path)
    extra = write_zip(tmp_path / "e.tasz", {**entries, "extra/zarr.json": b"{}"})
    with pytest.raises(IntegrityError, match="extra/zarr.json"):
        open_archive(extra)
    root = json.loads(entries["zarr.json"])
    for edit, err in (
        (lambda m: m.pop(MANIFEST_KEY), FormatError),
        (lambda m: m[MANIFEST_KEY].update(algorithm="md5"), FormatError),
        (lambda m: m[MANIFEST_KEY]["entries"].update({"codes/zarr.json": "00"}), FormatError),
        (lambda m: m[MANIFEST_KEY]["entries"].update({"codes/zarr.json": "0" * 32}),
         IntegrityError),
    ):
        r = json.loads(json.dumps(root))
        edit(r["attributes"])
        bad = write_zip(tmp_path / "b.tasz", {**entries, "zarr.json": json.dumps(r).encode()})
        with pytest.raises(err):
            open_archive(bad)


def test_metadata_entry_bound_too(multi, tmp_path):
    _, path = multi
    entries = zip_entries(path)
    key = "segments/action/zarr.json"
    meta = json.loads(entries[key])
    meta["attributes"] = {"edited": True}  # still valid metadata, other bytes
    with pytest.raises(IntegrityError, match="manifest"):
        open_archive(write_zip(tmp_path / "s.tasz", {**entries, key: json.dumps(meta).encode()}))


# ---------------------------------------------------------------------- float16 decoder
def test_float16_decoder_round_trip(tmp_path):
    content, _ = build("mlp")
    path = write_archive(content, tmp_path / "h.tasz", decoder_dtype="float16")
    entries = zip_entries(path)
    assert json.loads(entries["decoder/w1/zarr.json"])["data_type"] == "float16"
    with open_archive(path) as ar:
        assert ar.header["decoder"]["dtype"] == "float16"
        dec = ar.decoder()
        for k, t in content.decoder.tensors.items():
            assert dec.tensors[k].dtype == np.float32
            stored = t if k in FLOAT32_TENSORS else t.astype(np.float16).astype(np.float32)
            np.testing.assert_array_equal(dec.tensors[k], stored)
        assert ar.verify() == []
        assert ar.decode(0).dtype == np.float32
    full = write_archive(content, tmp_path / "f.tasz")
    with open_archive(full) as ar:
        assert ar.header["decoder"]["dtype"] == "float32"
        assert ar.sizes()["decoder"] > 0


def test_float16_decoder_keeps_the_normalisation_float32(tmp_path):
    """Raw channels: an offset of 1e6 (beyond float16) and one float16 would round by 0.5."""
    content, _ = build("mlp")
    offset = content.decoder.tensors["feature_offset"].copy()
    offset[:2] = (1e6, 1000.1)
    content.decoder.tensors["feature_offset"] = offset
    entries = zip_entries(write_archive(content, tmp_path / "n.tasz", decoder_dtype="float16"))
    assert json.loads(entries["decoder/feature_offset/zarr.json"])["data_type"] == "float32"
    with open_archive(tmp_path / "n.tasz") as ar:
        np.testing.assert_array_equal(ar.decoder().tensors["feature_offset"], offset)


def test_float16_decoder_refused_where_it_cannot_be(tmp_path):
    content, _ = build("mlp")
    with pytest.raises(TascodecError, match="decoder_dtype"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="float16", format_version="1.0")
    with pytest.raises(TascodecError, match="decoder_dtype"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="int8")
    big = content.decoder.tensors["w2"].copy()
    big[0, 0] = 1e6
    content.decoder.tensors["w2"] = big
    with pytest.raises(TascodecError, match="float16 range"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="float16")
    assert not (tmp_path / "a.tasz").exists()


def test_a_1_0_reader_refuses_float16_tensors(tmp_path):
    """What a 1.0 reader sees: data_type float16 where float32 is required (FormatError)."""
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "h.tasz", decoder_dtype="float16"))
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = "1.0"
    bad = write_zip(tmp_path / "as10.tasz", {**entries, "zarr.json": json.dumps(root).encode()})
    with pytest.raises(FormatError, match="float16"):
        open_archive(bad)


# ---------------------------------------------------------------------- finite values
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_codes_refused(tmp_path, value):
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "m.tasz"))
    codes = _raw(entries["codes/c/0/0"], "<f4")
    codes[3] = value
    bad = write_zip(tmp_path / "n.tasz", with_manifest({**entries, "codes/c/0/0": _chunk(codes)}))
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="NaN or infinite"):
            ar.codes(0)
        with pytest.raises(IntegrityError, match="NaN or infinite"):
            ar.all_codes()


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_non_finite_decoder_refused(tmp_path, version):
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "m.tasz", format_version=version))
    key = "decoder/b1/c/0"
    b1 = _raw(entries[key], "<f4")
    b1[0] = np.nan
    entries = {**entries, key: _chunk(b1)}
    bad = write_zip(tmp_path / "n.tasz", with_manifest(entries) if version == "1.1" else entries)
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="NaN or infinite"):
            ar.decode(0)


def test_writer_refuses_non_finite_decoder(tmp_path):
    content, _ = build("mlp")
    content.decoder.tensors["b2"] = np.full_like(content.decoder.tensors["b2"], np.inf)
    with pytest.raises(TascodecError, match="finite"):
        write_archive(content, tmp_path / "a.tasz")


# ---------------------------------------------------------------------- versions
@pytest.mark.parametrize("bad", ["1.0\n", "1.1\n", "\n1.0", "1.0 ", "1.1\x00"])
def test_version_with_trailing_characters_refused(tmp_path, bad):
    entries = zip_entries(GOLDEN_DIR / "repeat.tasz")
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = bad
    path = write_zip(tmp_path / "v.tasz", {**entries, "zarr.json": json.dumps(root).encode()})
    with pytest.raises(FormatError, match="format_version"):
        open_archive(path)


def test_newer_minor_is_read_with_the_1_1_rules(multi, tmp_path):
    content, path = multi
    entries = zip_entries(path)
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = "1.7"
    newer = {**entries, "zarr.json": json.dumps(root).encode()}
    with open_archive(write_zip(tmp_path / "n.tasz", newer)) as ar:
        assert ar.format_version == "1.7" and ar.verify() == []
        np.testing.assert_array_equal(ar.codes(0), content.codes[ar.code_rows(0)])
    root["attributes"].pop(MANIFEST_KEY)
    with pytest.raises(FormatError, match=MANIFEST_KEY):
        open_archive(write_zip(tmp_path / "m.tasz", {**newer, "zarr.json": json.dumps(root).encode()}))
