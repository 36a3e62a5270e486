"""``encoded`` codec: per-instance mean of the encoder's mu through the TCA decoder."""

import numpy as np
import pytest

from codec_checks import TINY_TCA, check_codec
from tascodec.codecs import get_codec
from tascodec.errors import TascodecError


def test_round_trip(source, tmp_path):
    content, _ = check_codec(get_codec("encoded", k=2, **TINY_TCA), source, tmp_path)
    assert content.decode_kind == "mlp"
    assert content.code_dim == 16  # the quick recipe's latent_dim
    assert content.decoder.arch["feature_dim"] == source.feature_dim
    assert content.codec_config["k"] == 2 and content.codec_config["recipe"] == "quick"
    assert content.codec_config["latent_dim"] == 16 and content.stats["train"]["epochs"] == 3
    np.testing.assert_array_equal(content.table.seg_num_instances,
                                  np.minimum(content.table.seg_length, 2))


def test_per_frame_and_model_reuse(source):
    content = get_codec("encoded", k=None, **TINY_TCA).encode(source)
    assert content.table.num_codes == int(content.table.seg_length.sum())
    again = get_codec("encoded", k=None, **TINY_TCA).encode(source)
    assert again.stats["train_reused"] is True and again.stats["train_seconds"] == 0.0
    np.testing.assert_array_equal(again.codes, content.codes)


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "8"])
def test_bad_k(k):
    with pytest.raises(TascodecError, match="k must be"):
        get_codec("encoded", k=k, **TINY_TCA)


def test_bad_recipe_field():
    with pytest.raises(TascodecError, match="encoded"):
        get_codec("encoded", not_a_field=3)
