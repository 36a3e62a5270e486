"""The codec registry: every built-in codec is there under its stable id."""

import pytest

from tascodec.codecs import get_codec, list_codecs
from tascodec.errors import UnknownCodecError


def test_all_codecs_registered():
    assert list_codecs() == ["coreset", "encoded", "inversion", "mean", "mean+inversion", "pca",
                             "raw", "tca-random"]


def test_unknown_codec():
    with pytest.raises(UnknownCodecError, match="zip"):
        get_codec("zip")
    with pytest.raises(UnknownCodecError, match="zip"):
        get_codec({"id": "zip"})


@pytest.mark.parametrize("codec", ["raw", "mean", "coreset", "encoded", "inversion", "tca-random",
                                   "pca"])
def test_default_config_round_trip(codec):
    config = get_codec(codec).get_config()
    assert config["id"] == codec
    assert get_codec(config).get_config() == config
