"""ASFormer: architecture, windowed attention against a plain loop, masking, training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.harness.asformer import (
    SIZES,
    ASFormer,
    WindowAttention,
    asformer_config,
    predict,
    train_asformer,
)
from tascodec.errors import TascodecError

from segmentation_models import assert_padding_invisible, assert_rejects_bad_input, video

SMALL = dict(num_decoders=1, num_layers=3, num_f_maps=8)


@pytest.fixture(autouse=True, scope="module")
def _one_thread(torch_one_thread):
    yield


def _small_model(dim: int = 5, classes: int = 4, seed: int = 0) -> ASFormer:
    torch.manual_seed(seed)
    return ASFormer(dim, classes, **SMALL).eval()


def test_paper_size_and_structure() -> None:
    assert SIZES["paper"] == {"num_decoders": 3, "num_layers": 10, "num_f_maps": 64}
    model = ASFormer(16, 5, **SIZES["paper"])
    assert len(model.decoders) == 3
    enc = model.encoder
    assert enc.conv_in.in_channels == 16 and enc.conv_in.out_channels == 64
    assert [b.feed_forward.dilation[0] for b in enc.blocks] == [2**i for i in range(10)]
    assert [b.attention.window for b in enc.blocks] == [2**i for i in range(10)]
    assert enc.blocks[0].attention.query.out_channels == 32  # q, k, v reduced by 2
    assert model.decoders[0].conv_in.in_channels == 5  # decoders read class probabilities
    assert [d.blocks[0].alpha for d in model.decoders] == pytest.approx(
        [1.0, math.exp(-3), math.exp(-6)])
    assert enc.blocks[0].alpha == 1.0
    assert asformer_config() == SIZES["cpu"]
    assert asformer_config("paper", num_f_maps=16)["num_f_maps"] == 16


def test_output_shape_and_predict() -> None:
    model = _small_model()
    out = model(torch.randn(2, 5, 11))
    assert out.shape == (2, 2, 4, 11)  # (1 + decoders, B, A, T)
    x, _ = video(9, 5, 4)
    pred = predict(model, x)
    assert pred.shape == (9,) and pred.dtype == np.int64


def _plain_window_attention(att: WindowAttention, x, values, m):
    """The reference's block computation, one query frame at a time. x (1, F, T)."""
    w, h = att.window, att.window // 2
    q, k = att.query(x)[0], att.key(x)[0] * m[0]
    v = att.value(x if values is None else values)[0] * m[0]
    c, t = q.shape
    out = torch.zeros(v.shape[0], t)
    for i in range(t):
        first = (i // w) * w - h  # the block's key window starts here (original frames)
        logits, keep, vals = [], [], []
        for j in range(first, first + w + 2 * h):
            real = 0 <= j < t
            band = i - (i // w) * w <= j - first < i - (i // w) * w + w
            mk = float(band and real and m[0, 0, j] > 0)
            kj = k[:, j] if real else torch.zeros(c)
            logits.append(float(q[:, i] @ kj) / math.sqrt(c) + math.log(mk + 1e-6))
            keep.append(mk)
            vals.append(v[:, j] if real else torch.zeros(v.shape[0]))
        p = torch.softmax(torch.tensor(logits), 0) * torch.tensor(keep)
        out[:, i] = sum(pj * vj for pj, vj in zip(p, vals))
    return att.out(torch.relu(out)[None]) * m


@pytest.mark.parametrize("window, t", [(1, 5), (2, 7), (4, 10), (8, 5), (4, 4)])
def test_window_attention_matches_a_plain_loop(window, t) -> None:
    torch.manual_seed(window + t)
    att = WindowAttention(6, window)
    x, values = torch.randn(1, 6, t), torch.randn(1, 6, t)
    m = torch.ones(1, 1, t)
    with torch.no_grad():
        for vals in (None, values):
            torch.testing.assert_close(att(x, vals, m), _plain_window_attention(att, x, vals, m),
                                       rtol=1e-5, atol=1e-5)


def test_window_attention_sees_only_its_window() -> None:
    torch.manual_seed(0)
    att = WindowAttention(4, 4).eval()
    x = torch.randn(1, 4, 16)
    m = torch.ones(1, 1, 16)
    values = torch.randn(1, 4, 16)
    base = att(x, values, m)
    changed = values.clone()
    # frame t attends to t - 2 ... t + 1 (w = 4), so frame 12 only to frames 11 ... 14 (up to
    # the reference's 1e-6 leak inside a block's key span)
    changed[:, :, 12] += 5.0
    diff = (att(x, changed, m) - base).abs().sum(dim=1)[0]
    assert torch.nonzero(diff > 1e-4).flatten().tolist() == [11, 12, 13, 14]


@settings(max_examples=12, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=3), st.integers(0, 9))
def test_padding_does_not_change_real_frames(lengths: list[int], extra: int) -> None:
    assert_padding_invisible(_small_model(), 5, lengths, extra)


def test_errors_name_the_argument() -> None:
    model = _small_model()
    assert_rejects_bad_input(model, 5)
    with pytest.raises(TascodecError, match="num_classes"):
        ASFormer(3, 0)
    with pytest.raises(TascodecError, match="channel_masking_rate"):
        ASFormer(3, 2, channel_masking_rate=1.0)
    with pytest.raises(TascodecError, match="size"):
        asformer_config("huge")
    x, y = video(8, 5, 3)
    for kwargs, match in [({"epochs": 0}, "epochs"), ({"lr": 0.0}, "lr"),
                          ({"weight_decay": -1.0}, "weight_decay"), ({"size": "xl"}, "size")]:
        with pytest.raises(TascodecError, match=match):
            train_asformer([(x, y)], num_classes=3, progress=False, **kwargs)
    with pytest.raises(TascodecError, match="no training videos"):
        train_asformer([], num_classes=3, progress=False)


def test_training_reduces_loss() -> None:
    x, y = video(40, 6, 3)
    history: list[float] = []
    model = train_asformer([(x, y)], num_classes=3, epochs=40, lr=5e-3, seed=0, progress=False,
                           history=history, channel_masking_rate=0.0, **SMALL)
    assert len(history) == 40
    assert history[-1] < 0.5 * history[0]
    assert not model.training
    assert (predict(model, x) == y).mean() > 0.8


def test_deterministic_for_a_seed_and_keeps_global_rng() -> None:
    items = [video(20, 4, 3, seed=s) for s in range(3)]
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    kwargs = dict(num_classes=3, epochs=2, progress=False, **SMALL)
    a = train_asformer(items, seed=7, **kwargs)
    assert torch.equal(torch.random.get_rng_state(), state)
    b = train_asformer(items, seed=7, **kwargs)
    c = train_asformer(items, seed=8, **kwargs)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)


def test_batches_train_with_padding() -> None:
    items = [video(t, 4, 3, seed=t) for t in (9, 15, 12)]
    history: list[float] = []
    model = train_asformer(items, num_classes=3, epochs=2, batch_size=2, progress=False,
                           history=history, **SMALL)
    assert len(history) == 2 and all(np.isfinite(history))
    assert predict(model, items[0][0]).shape == (9,)
