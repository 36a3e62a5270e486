"""``tascodec.decode.numpy``: decode_segments (structured fast path) against decode_reference
(plain forward), and errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decode_checks import assert_close
from tascodec.decode import decode_reference, decode_segments
from tascodec.errors import TascodecError
from tascodec.segments import num_instances, segment_coherence
from testkit import random_decoder, random_table


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    num_segments=st.integers(1, 8),
    max_len=st.sampled_from([1, 2, 3, 5, 17, 60]),
    k=st.sampled_from([None, 1, 2, 3, 8]),
    c_scale=st.sampled_from([0.0, 1.0, 30.0]),
    zero_c=st.integers(0, 8),
)
def test_fast_path_equals_reference(seed, num_segments, max_len, k, c_scale, zero_c):
    rng = np.random.default_rng(seed)
    dec = random_decoder(rng, c_scale=c_scale, zero_c=zero_c)
    action, length, k_eff = random_table(rng, num_segments, max_len, k)
    codes = rng.standard_normal((int(k_eff.sum()), 8)).astype(np.float32)
    ref = decode_reference("mlp", codes, action, length, k_eff, dec)
    assert ref.shape == (int(length.sum()), 12)
    assert_close(decode_segments("mlp", codes, action, length, k_eff, dec), ref)


def test_reference_matches_the_formula_frame_by_frame():
    rng = np.random.default_rng(1)
    dec = random_decoder(rng)
    action, length = np.array([2, 0]), np.array([5, 1])
    k_eff = num_instances(length, 2)
    codes = rng.standard_normal((3, 8)).astype(np.float32)
    ref = decode_reference("mlp", codes, action, length, k_eff, dec)
    t = dec.tensors
    c = segment_coherence(length)
    code_of_frame = [0, 0, 1, 1, 1, 2]  # instance k of l=5, K=2 covers [0, 2) and [2, 5)
    act_of_frame = [2] * 5 + [0]
    for i in range(6):
        u = np.concatenate([codes[code_of_frame[i]], np.eye(4)[act_of_frame[i]], [c[i]]])
        x = (t["w2"] @ np.maximum(t["w1"] @ u + t["b1"], 0) + t["b2"]) * t["feature_scale"]
        np.testing.assert_allclose(ref[i], x + t["feature_offset"], rtol=1e-5, atol=1e-5)


def test_flip_exactly_on_a_frame():
    """Hidden units whose pre-activation is exactly 0 on a frame (c = 0.5, 0.25, 0.75)."""
    rng = np.random.default_rng(2)
    dec = random_decoder(rng, d=1, a=1, h=3, dim=5)
    w1 = dec.tensors["w1"]
    w1[:, 0] = [1.0, 1.0, -1.0]  # z coefficient
    w1[:, 1] = 0.0  # action
    w1[:, 2] = [-2.0, 4.0, 4.0]  # w_c
    dec.tensors["b1"][:] = 0.0
    codes = np.array([[1.0]], dtype=np.float32)  # pre-activations 1 - 2c, 1 + 4c, -1 + 4c
    length = np.array([9])  # c = i / 8: zero at i = 4 (unit 0) and i = 2 (unit 2)
    ref = decode_reference("mlp", codes, [0], length, [1], dec)
    assert_close(decode_segments("mlp", codes, [0], length, [1], dec), ref)


def test_many_flips_and_per_frame_instances():
    rng = np.random.default_rng(3)
    dec = random_decoder(rng, h=64, c_scale=50.0)
    action, length, k_eff = random_table(rng, 6, 200, 2)
    codes = rng.standard_normal((int(k_eff.sum()), 8)).astype(np.float32)
    ref = decode_reference("mlp", codes, action, length, k_eff, dec)
    assert_close(decode_segments("mlp", codes, action, length, k_eff, dec), ref)
    per_frame = num_instances(length, None)
    codes = rng.standard_normal((int(length.sum()), 8)).astype(np.float32)
    ref = decode_reference("mlp", codes, action, length, per_frame, dec)
    assert_close(decode_segments("mlp", codes, action, length, per_frame, dec), ref)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), k=st.sampled_from([None, 1, 3]))
def test_repeat(seed, k):
    rng = np.random.default_rng(seed)
    action, length, k_eff = random_table(rng, 5, 9, k)
    codes = rng.standard_normal((int(k_eff.sum()), 12)).astype(np.float32)
    x = decode_segments("repeat", codes, action, length, k_eff, None)
    inst = np.repeat(np.arange(codes.shape[0]),
                     np.concatenate([np.diff((np.arange(n + 1) * l) // n)
                                     for l, n in zip(length, k_eff)]))
    np.testing.assert_array_equal(x, codes[inst])
    np.testing.assert_array_equal(decode_reference("repeat", codes, action, length, k_eff, None),
                                  x)


# --- errors ------------------------------------------------------------------------------

@pytest.fixture
def small():
    rng = np.random.default_rng(5)
    dec = random_decoder(rng)
    action, length = np.array([0, 3]), np.array([4, 2])
    k_eff = num_instances(length, 2)
    return dec, rng.standard_normal((4, 8)).astype(np.float32), action, length, k_eff


@pytest.mark.parametrize("fn", [decode_segments, decode_reference])
def test_errors(fn, small):
    dec, codes, action, length, k_eff = small
    with pytest.raises(TascodecError, match="decode_kind"):
        fn("gru", codes, action, length, k_eff, dec)
    with pytest.raises(TascodecError, match="codes: expected shape"):
        fn("mlp", codes[:3], action, length, k_eff, dec)
    with pytest.raises(TascodecError, match="same shape"):
        fn("mlp", codes, action[:1], length, k_eff, dec)
    with pytest.raises(TascodecError, match="seg_length"):
        fn("mlp", codes, action, [4, 0], [2, 0], dec)
    with pytest.raises(TascodecError, match="seg_num_instances"):
        fn("mlp", codes, action, length, [2, 3], dec)
    with pytest.raises(TascodecError, match="needs a decoder"):
        fn("mlp", codes, action, length, k_eff, None)
    with pytest.raises(TascodecError, match="latent_dim"):
        fn("mlp", codes[:, :5], action, length, k_eff, dec)
    with pytest.raises(TascodecError, match="seg_action"):
        fn("mlp", codes, [0, 4], length, k_eff, dec)
    with pytest.raises(TascodecError, match="DecoderCheckpoint"):
        fn("mlp", codes, action, length, k_eff, {"w1": 1})


@pytest.mark.parametrize("kind", ["mlp", "mlp+offset"])
def test_a_segment_decodes_to_the_same_bits_in_any_group(kind):
    """Frames are a function of their own segment alone (one GEMM per segment), so decoding
    any run of segments gives the rows the whole decode gives, bit for bit, whatever BLAS
    kernel the CPU picks (the decode budget's segment groups rely on it)."""
    rng = np.random.default_rng(11)
    dec = random_decoder(rng, d=16, h=96, dim=200, c_scale=3.0)
    action, length, k_eff = random_table(rng, 24, 60, 4)
    codes = rng.standard_normal((int(k_eff.sum()), 16)).astype(np.float32)
    offsets = rng.standard_normal((length.size, 200)).astype(np.float32)
    extra = (offsets,) if kind == "mlp+offset" else ()
    whole = decode_segments(kind, codes, action, length, k_eff, dec, *extra)
    frame = np.concatenate(([0], np.cumsum(length)))
    code = np.concatenate(([0], np.cumsum(k_eff)))
    for a, b in [(0, 1), (3, 11), (11, 24), (5, 6), (0, 23)]:
        part = decode_segments(kind, codes[code[a]:code[b]], action[a:b], length[a:b],
                               k_eff[a:b], dec, *(o[a:b] for o in extra))
        np.testing.assert_array_equal(part, whole[frame[a]:frame[b]])


def test_a_decoder_without_coherence_decodes_constant_instances():
    """``w_c = 0`` (the pca codec's decoder): each instance is one frame repeated, equal to
    the plain forward pass."""
    rng = np.random.default_rng(5)
    dec = random_decoder(rng, zero_c=16)
    action, length, k_eff = random_table(rng, 12, 30, 3)
    codes = rng.standard_normal((int(k_eff.sum()), 8)).astype(np.float32)
    fast = decode_segments("mlp", codes, action, length, k_eff, dec)
    assert_close(fast, decode_reference("mlp", codes, action, length, k_eff, dec))
    starts = np.concatenate(([0], np.cumsum(length)))
    first = np.concatenate([s + np.floor(np.arange(k) * l / k).astype(int)
                            for s, l, k in zip(starts, length, k_eff)])
    inst = np.repeat(np.arange(first.size), np.diff(np.append(first, length.sum())))
    np.testing.assert_array_equal(fast, fast[first][inst])
