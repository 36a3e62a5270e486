"""``mean`` codec: one mean frame per segment."""

import numpy as np
import pytest

from tascodec.codecs import get_codec
from tascodec.errors import TascodecError

from codec_checks import check_codec


def test_round_trip(source, tmp_path):
    content, decoded = check_codec(get_codec("mean"), source, tmp_path)
    table = content.table
    assert content.decode_kind == "repeat"
    np.testing.assert_array_equal(table.seg_num_instances, 1)
    x = np.asarray(source.features(source.videos[0]))
    first = table.seg_length[0]
    np.testing.assert_allclose(content.codes[0], x[:first].mean(axis=0), rtol=1e-5, atol=1e-6)
    for x_hat in decoded.values():
        assert x_hat.dtype == np.float64 and x_hat.ndim == 2


def test_rejects_parameters():
    with pytest.raises(TascodecError, match="mean.*no parameters"):
        get_codec("mean", k=4)


def test_feature_shape_mismatch_names_the_video():
    from codec_checks import fake_source

    x = np.zeros((4, 5), dtype=np.float32)
    src = fake_source({"bad": x}, {"bad": np.zeros(5, dtype=np.int64)}, feature_dim=6)
    with pytest.raises(TascodecError, match="'bad'"):
        get_codec("mean").encode(src)


def test_exact_on_constant_segments():
    from codec_checks import fake_source

    y = np.array([0, 0, 1, 1, 1, 2])
    x = np.stack([np.full(3, a, dtype=np.float32) for a in y], axis=1)  # (D=3, T=6)
    content = get_codec("mean").encode(fake_source({"v": x}, {"v": y}))
    assert content.stats["reconstruction_mse"] == 0.0
    np.testing.assert_array_equal(content.codes[:, 0], [0, 1, 2])
