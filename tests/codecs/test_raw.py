"""``raw`` codec: the original frames (float32 exact, or float16)."""

import numpy as np
import pytest

from tascodec.codecs import get_codec
from tascodec.errors import TascodecError

from codec_checks import check_codec


def test_float32_bit_exact(source, tmp_path):
    content, decoded = check_codec(get_codec("raw"), source, tmp_path)
    assert content.stats["reconstruction_mse"] == 0.0
    np.testing.assert_array_equal(content.table.seg_num_instances, content.table.seg_length)
    assert content.table.num_codes == sum(source.dataset.num_frames(v) for v in source.videos)
    for video, x_hat in decoded.items():
        assert np.array_equal(x_hat.astype(np.float32), np.asarray(source.features(video)))


def test_float16(source, tmp_path):
    content, _ = check_codec(get_codec("raw", dtype="float16"), source, tmp_path,
                             code_dtype="float16", mse_rtol=1e-2)
    assert content.codec_config == {"id": "raw", "dtype": "float16"}
    assert 0 < content.stats["reconstruction_mse"] < 1e-4


def test_bad_dtype():
    with pytest.raises(TascodecError, match="dtype"):
        get_codec("raw", dtype="int8")


def test_large_codes_are_memory_mapped(source, tmp_path, monkeypatch):
    import tascodec.codecs.base as mean_module

    monkeypatch.setattr(mean_module, "_MEMMAP_BYTES", 0)
    content, decoded = check_codec(get_codec("raw"), source, tmp_path)
    assert isinstance(content.codes, np.memmap)
    for video, x_hat in decoded.items():
        assert np.array_equal(x_hat.astype(np.float32), np.asarray(source.features(video)))


def test_float16_overflow_is_refused():
    from codec_checks import fake_source

    x = np.full((4, 5), 1e6, dtype=np.float32)
    src = fake_source({"v": x}, {"v": np.zeros(5, dtype=np.int64)})
    with pytest.raises(TascodecError, match="'v'.*float16"):
        get_codec("raw", dtype="float16").encode(src)
    assert get_codec("raw").encode(src).stats["reconstruction_mse"] == 0.0
