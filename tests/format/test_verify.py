"""``Archive.verify`` (``tascodec.format.verify``): every entry and chunk read and checked; a
flipped bit, a missing or unexpected chunk, a bad scale each reported, the rest still read."""

from __future__ import annotations

import numpy as np
import pytest

from make_golden import build, write_zip, zip_entries
from tascodec.errors import IntegrityError
from tascodec.format import open_archive, write_archive


def test_bit_flip_in_codes_chunk(tmp_path):
    content, _ = build("raw")
    path = write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)
    entries = zip_entries(path)
    with open_archive(path) as ar:
        assert ar.verify() == []
        victim = ar.videos[-1]
        rows = ar.code_rows(victim)
        spared = [v for v in ar.videos if ar.code_rows(v).stop <= (rows.start // 5) * 5]
    key = (
        f"codes/c/{rows.start // 5 + 1}/0"
        if rows.stop - rows.start > 5
        else f"codes/c/{rows.start // 5}/0"
    )
    for flip_at in (0, len(entries[key]) // 2, len(entries[key]) - 1):
        data = bytearray(entries[key])
        data[flip_at] ^= 0x10
        # write_zip computes a fresh ZIP CRC-32: only the chunk's own crc32c can catch the flip
        write_zip(tmp_path / "flip.tasz", {**entries, key: bytes(data)})
        with open_archive(tmp_path / "flip.tasz") as ar:
            problems = ar.verify()
            assert problems and any(key in p for p in problems)
            with pytest.raises(IntegrityError, match="crc32c") as err:
                ar.codes(victim)
            assert key in str(err.value) and str(tmp_path / "flip.tasz") in str(err.value)
            for v in spared:
                np.testing.assert_array_equal(ar.codes(v), content.codes[ar.code_rows(v)])


def test_missing_chunk_is_reported(mlp, tmp_path):
    content, path = mlp
    entries = zip_entries(path)
    del entries["decoder/w2/c/0/0"]
    bad = write_zip(tmp_path / "m.tasz", entries)
    with pytest.raises(IntegrityError, match="decoder/w2/c/0/0"):  # 1.1: the manifest says
        open_archive(bad)
    entries = zip_entries(write_archive(content, tmp_path / "v10.tasz", format_version="1.0"))
    del entries["decoder/w2/c/0/0"]
    bad = write_zip(tmp_path / "m10.tasz", entries)
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="missing"):
            ar.decoder()
        assert any("decoder/w2/c/0/0" in p for p in ar.verify())


def test_unexpected_chunk_and_bad_scale_reported(tmp_path):
    content, _ = build("mlp")
    path = write_archive(content, tmp_path / "q.tasz", code_dtype="int8", format_version="1.0")
    entries = zip_entries(path)
    entries["codes/c/7/0"] = entries["codes/c/0/0"]
    scale = np.frombuffer(
        __import__("numcodecs").zstd.decompress(entries["code_scale/c/0"][:-4]), "<f4"
    ).copy()
    scale[0] = -1
    import google_crc32c

    body = __import__("numcodecs").zstd.compress(scale.tobytes(), 3)
    entries["code_scale/c/0"] = body + google_crc32c.value(body).to_bytes(4, "little")
    bad = write_zip(tmp_path / "u.tasz", entries)
    with open_archive(bad) as ar:
        problems = ar.verify()
        assert any("unexpected chunk" in p for p in problems)
        assert any("code_scale" in p for p in problems)
        with pytest.raises(IntegrityError, match="code_scale"):
            ar.codes(ar.videos[0])
