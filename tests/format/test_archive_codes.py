"""The codes and decoders of an open archive (``tascodec.format.archive_codes``): a video's codes
read from its own chunks, generated for ``tca-random``, dequantised from int8 and float16, and
refused when not finite (decoders too)."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest

from make_golden import build, with_manifest, write_zip, zip_entries
from tascodec.errors import IntegrityError
from tascodec.format import open_archive, write_archive
from tascodec.format.container import ZipReader
from tascodec.rng import random_codes


def test_codes_chunk_access_is_local(tmp_path, monkeypatch):
    content, _ = build("raw")
    path = write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)  # 5 rows
    read: list[str] = []
    real = ZipReader.read

    def spy(self, name, **kw):
        read.append(name)
        return real(self, name, **kw)

    with open_archive(path) as ar:
        monkeypatch.setattr(ZipReader, "read", spy)
        v = ar.videos[1]
        rows = ar.code_rows(v)
        np.testing.assert_array_equal(ar.codes(v), content.codes[rows])
    chunks = sorted({n for n in read if n.startswith("codes/c/")})
    expect = [f"codes/c/{i}/0" for i in range(rows.start // 5, (rows.stop - 1) // 5 + 1)]
    assert chunks == sorted(expect)


def test_random_codes_are_generated(tmp_path):
    content, _ = build("tca-random")
    path = write_archive(content, tmp_path / "r.tasz")
    with open_archive(path) as ar:
        assert ar.code_dtype is None and ar.header["codes"]["seed"] == 12345
        assert not any(n.startswith("codes") for n in zipfile.ZipFile(path).namelist())
        for v in ar.videos:
            rows = ar.code_rows(v)
            want = random_codes(12345, rows.start, rows.stop - rows.start, content.code_dim)
            np.testing.assert_array_equal(ar.codes(v), want)
        assert ar.to_content().codes is None


def test_int8_and_float16_dequantise(tmp_path):
    content, _ = build("mlp")
    with open_archive(write_archive(content, tmp_path / "q.tasz", code_dtype="int8")) as ar:
        codes = ar.all_codes()
        g = zip_entries(tmp_path / "q.tasz")
        assert "code_scale/c/0" in g
        scale = np.abs(content.codes).max(axis=0) / 127
        assert np.all(np.abs(codes - content.codes) <= scale / 2 + 1e-6)
    with open_archive(write_archive(content, tmp_path / "h.tasz", code_dtype="float16")) as ar:
        np.testing.assert_array_equal(
            ar.all_codes(), content.codes.astype(np.float16).astype(np.float32)
        )


def _chunk(values: np.ndarray) -> bytes:
    from numcodecs import zstd
    import google_crc32c

    body = zstd.compress(np.ascontiguousarray(values).tobytes(), 3)
    return body + google_crc32c.value(body).to_bytes(4, "little")


def _raw(entry: bytes, dtype: str) -> np.ndarray:
    from numcodecs import zstd

    return np.frombuffer(zstd.decompress(entry[:-4]), dtype).copy()


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
