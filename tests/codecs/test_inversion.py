"""``inversion`` codec: network inversion warm-started from the encoded codes."""

import numpy as np
import pytest

from codec_checks import TINY_TCA, check_codec
from tascodec.codecs import get_codec
from tascodec.errors import TascodecError


def test_round_trip_and_beats_encoded(source, tmp_path):
    content, _ = check_codec(get_codec("inversion", k=2, **TINY_TCA), source, tmp_path)
    encoded = get_codec("encoded", k=2, **TINY_TCA).encode(source)
    assert content.stats["reconstruction_mse"] < encoded.stats["reconstruction_mse"]
    assert content.codec_config["init"] == "encoded"
    assert content.codes.shape == encoded.codes.shape
    assert not np.allclose(content.codes, encoded.codes)


def test_bad_init():
    with pytest.raises(TascodecError, match="init"):
        get_codec("inversion", init="zeros")
