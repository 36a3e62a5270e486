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
