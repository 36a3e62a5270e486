"""Zarr v3 arrays read without zarr (``tascodec.format.arrays``): metadata validated, rows read
from their own chunks, JSON and zstd frames checked."""

from __future__ import annotations

import numpy as np
import pytest

from make_golden import build
from tascodec.errors import FormatError
from tascodec.format import write_archive
from tascodec.format.arrays import (
    ArrayMeta,
    check_chunk,
    chunk_key,
    chunk_keys,
    frame_content_size,
    parse_array_meta,
    parse_json,
    read_array,
    read_rows,
)
from tascodec.format.container import ZipReader


def test_an_array_is_read_by_rows_from_its_chunks(tmp_path):
    content, _ = build("raw")
    n = content.codes.shape[0]
    path = write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)  # 5 rows
    zr = ZipReader(path)
    try:
        meta = parse_array_meta(zr, "codes", dtypes=("float32",), ndim=2)
        assert meta == ArrayMeta("codes", (n, 12), 5, "float32")
        assert (meta.num_chunks, meta.chunk_nbytes, meta.row_shape) == (-(-n // 5), 240, (12,))
        assert chunk_keys(meta) == [f"codes/c/{i}/0" for i in range(meta.num_chunks)]
        assert chunk_key(meta, 2) == "codes/c/2/0"
        np.testing.assert_array_equal(read_array(zr, meta), content.codes)
        np.testing.assert_array_equal(read_rows(zr, meta, 3, 12), content.codes[3:12])
        for i in range(meta.num_chunks):
            check_chunk(zr, meta, i)
        with pytest.raises(FormatError, match=rf"rows \[0, {n + 1}\) out of range"):
            read_rows(zr, meta, 0, n + 1)
        with pytest.raises(FormatError, match="data_type 'float32' not allowed here"):
            parse_array_meta(zr, "codes", dtypes=("int8",))
    finally:
        zr.close()


def test_json_and_zstd_frame_headers():
    zstd = pytest.importorskip("numcodecs").zstd
    assert parse_json(b'{"a": [1, 2]}', "x") == {"a": [1, 2]}
    with pytest.raises(FormatError, match="x: invalid JSON"):
        parse_json(b'{"a": ', "x")
    with pytest.raises(FormatError, match="x: invalid JSON"):
        parse_json(b"\xff\xfe", "x")
    assert frame_content_size(zstd.compress(bytes(1000), 3)) == 1000
    assert frame_content_size(zstd.compress(bytes(70000), 3)) == 70000
    assert frame_content_size(b"not a zstd frame") is None
