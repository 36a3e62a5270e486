"""The ``tca-mlp`` decoder architecture (``tascodec.tca_mlp``): folded for decoding, its
checkpoints validated."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.content import DecoderCheckpoint
from tascodec.decode import decode_segments
from tascodec.tca_mlp import prepare_decoder
from tascodec.errors import TascodecError
from testkit import random_decoder, random_table


def test_prepared_decoder_folds_denormalisation_and_is_cached():
    rng = np.random.default_rng(4)
    dec = random_decoder(rng)
    prep = prepare_decoder(dec)
    assert prepare_decoder(dec) is prep and prepare_decoder(prep) is prep
    t = dec.tensors
    np.testing.assert_allclose(prep.w2_t, (t["feature_scale"][:, None] * t["w2"]).T, rtol=1e-6)
    np.testing.assert_allclose(prep.b2, t["feature_scale"] * t["b2"] + t["feature_offset"],
                               rtol=1e-6)
    assert not prep.w2_t.flags.writeable
    action, length, k_eff = random_table(rng, 3, 10, 2)
    codes = rng.standard_normal((int(k_eff.sum()), 8)).astype(np.float32)
    np.testing.assert_array_equal(decode_segments("mlp", codes, action, length, k_eff, prep),
                                  decode_segments("mlp", codes, action, length, k_eff, dec))


def test_bad_checkpoints():
    dec = random_decoder(np.random.default_rng(5))
    bad = DecoderCheckpoint(dict(dec.arch, name="gru"), dec.tensors)
    with pytest.raises(TascodecError, match="arch name"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dict(dec.arch, activation="tanh"), dec.tensors)
    with pytest.raises(TascodecError, match="activation"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dec.arch, {k: v for k, v in dec.tensors.items() if k != "b2"})
    with pytest.raises(TascodecError, match="missing"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dec.arch, dict(dec.tensors, b1=np.zeros(3, np.float32)))
    with pytest.raises(TascodecError, match="b1"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dict(dec.arch, num_classes=5), dec.tensors)
    with pytest.raises(TascodecError, match="input columns"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dict(dec.arch, hidden_dim=3), dec.tensors)
    with pytest.raises(TascodecError, match="hidden_dim"):
        prepare_decoder(bad)
    bad = DecoderCheckpoint(dec.arch, dict(dec.tensors, w2=np.zeros((12, 16), np.int32)))
    with pytest.raises(TascodecError, match="floating"):
        prepare_decoder(bad)
