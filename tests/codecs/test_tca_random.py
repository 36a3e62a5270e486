"""``tca-random`` codec: only the decoder is stored, codes come from the specified stream."""

import numpy as np
import pytest

from codec_checks import TINY_TCA, check_codec
from tascodec.codecs import get_codec
from tascodec.errors import TascodecError
from tascodec.rng import random_codes


def test_round_trip_without_codes(source, tmp_path):
    content, decoded = check_codec(get_codec("tca-random", seed=7, **TINY_TCA), source, tmp_path)
    assert content.codes is None
    assert content.codec_config["seed"] == 7
    np.testing.assert_array_equal(content.table.seg_num_instances, 1)
    if decoded:  # decoding draws random_codes(seed, first_code, n, d)
        from tascodec.decode import decode_segments

        table = content.table
        segs = table.video_slice(0)
        codes = random_codes(7, 0, int(table.video_first_code[1]), content.code_dim)
        x_hat = decode_segments("mlp", codes, table.seg_action[segs], table.seg_length[segs],
                                table.seg_num_instances[segs], content.decoder)
        np.testing.assert_allclose(decoded[source.videos[0]], x_hat, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, None])
def test_bad_seed(seed):
    with pytest.raises(TascodecError, match="seed"):
        get_codec("tca-random", seed=seed)
