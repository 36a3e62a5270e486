"""MS-TCN: shapes, masking (checked without a host sync off the CPU), the loss (against hand
computations), training and its errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.errors import TascodecError
from tascodec.runtime.devices import resolve_device
from tascodec.harness.mstcn import (
    IGNORE_INDEX,
    MSTCN,
    mstcn_loss,
    predict,
    smoothing_loss,
    train_mstcn,
)

from segmentation_models import assert_padding_invisible, assert_rejects_bad_input, video

SMALL = dict(num_stages=2, num_layers=3, num_f_maps=8)


def _small_model(dim: int = 5, classes: int = 4, seed: int = 0) -> MSTCN:
    torch.manual_seed(seed)
    return MSTCN(dim=dim, num_classes=classes, **SMALL).eval()


def test_default_architecture_matches_the_paper() -> None:
    model = MSTCN(dim=16, num_classes=5)
    assert len(model.stages) == 4
    first = model.stages[0]
    assert first.conv_in.in_channels == 16 and first.conv_in.out_channels == 64
    assert [layer.conv_dilated.dilation[0] for layer in first.layers] == [2**i for i in range(10)]
    assert all(layer.conv_dilated.kernel_size == (3,) for layer in first.layers)
    assert first.conv_out.out_channels == 5
    assert model.stages[1].conv_in.in_channels == 5  # later stages read class probabilities


def test_output_shape() -> None:
    out = _small_model()(torch.randn(2, 5, 7))
    assert out.shape == (2, 2, 4, 7)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 12), min_size=1, max_size=3), st.integers(0, 10))
def test_padding_does_not_change_real_frames(lengths: list[int], extra: int) -> None:
    assert_padding_invisible(_small_model(), 5, lengths, extra)


def test_model_rejects_bad_shapes() -> None:
    model = _small_model()
    assert_rejects_bad_input(model, 5)
    with pytest.raises(TascodecError, match="num_classes"):
        MSTCN(dim=3, num_classes=0)


@pytest.mark.parametrize("channels", [None, 1, 4])
def test_collate_mask_is_accepted(channels: int | None) -> None:
    """The (B, C, T) mask of ``TaszDataset.collate`` (C = the class count, or 1) scores as the
    (B, T) mask does; the README's training loop passes ``batch.mask`` straight in."""
    from tascodec.loading.batches import collate

    model = _small_model()
    items = [(torch.randn(5, t, generator=torch.Generator().manual_seed(t)),
              torch.zeros(t, dtype=torch.int64), f"v{t}") for t in (7, 3)]
    batch = collate(items, num_classes=channels)
    assert batch.mask.shape == (2, channels or 1, 7)
    with torch.no_grad():
        got = model(batch.input, batch.mask)
        want = model(batch.input, batch.mask[:, 0])
    assert got.shape == (2, 2, 4, 7)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(got[:, 1, :, :3], model(items[1][0][None])[:, 0])


def test_collate_mask_errors() -> None:
    model = _small_model()
    x = torch.randn(2, 5, 6)
    mask = torch.ones(2, 4, 6)
    mask[0, 2, 4:] = 0  # channels disagree
    with pytest.raises(TascodecError, match="same in every channel"):
        model(x, mask)
    for bad in (torch.ones(2, 4, 5), torch.ones(3, 4, 6), torch.ones(2, 0, 6),
                torch.ones(2, 1, 1, 6)):
        with pytest.raises(TascodecError, match=r"mask must be \(B, T\)"):
            model(x, bad)


def _hand_smoothing(logits: np.ndarray, tau: float) -> float:
    """min(|log p_t - log p_{t-1}|, tau)^2 averaged over (t, a); logits (A, T)."""
    z = logits - logits.max(axis=0, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=0, keepdims=True))
    delta = np.abs(logp[:, 1:] - logp[:, :-1])
    return float((np.minimum(delta, tau) ** 2).mean())


def test_smoothing_loss_matches_hand_computation_with_truncation() -> None:
    logits = np.array([[0.0, 0.0, 10.0, 10.5], [0.0, 1.0, -10.0, -10.0], [0.5, 0.0, 0.0, 0.2]])
    got = float(smoothing_loss(torch.tensor(logits, dtype=torch.float32)[None]))
    # the jump at t = 2 exceeds tau = 4 for two classes, so truncation matters here
    z = logits - logits.max(axis=0)
    logp = z - np.log(np.exp(z).sum(axis=0))
    assert (np.abs(np.diff(logp, axis=1)) > 4).any()
    assert got == pytest.approx(_hand_smoothing(logits, 4.0), rel=1e-5)
    assert got < _hand_smoothing(logits, 1e9)
    untruncated = float(smoothing_loss(torch.tensor(logits, dtype=torch.float32)[None], tau=1e9))
    assert untruncated == pytest.approx(_hand_smoothing(logits, 1e9), rel=1e-5)


def test_smoothing_loss_detaches_the_previous_frame() -> None:
    logits = torch.tensor([[[0.0, 2.0], [1.0, -1.0]]], requires_grad=True)  # (1, A=2, T=2)
    smoothing_loss(logits).backward()
    assert torch.all(logits.grad[..., 0] == 0)
    assert torch.any(logits.grad[..., 1] != 0)


def test_smoothing_loss_mask_leaves_out_pairs_touching_padding() -> None:
    logits = torch.randn(1, 3, 6)
    mask = torch.tensor([[1, 1, 1, 1, 0, 0]])
    padded = smoothing_loss(logits, mask)
    alone = smoothing_loss(logits[:, :, :4])
    torch.testing.assert_close(padded, alone)
    assert float(smoothing_loss(logits[:, :, :1])) == 0.0
    assert float(smoothing_loss(logits, torch.tensor([[1, 0, 1, 0, 1, 0]]))) == 0.0


def test_mstcn_loss_is_ce_plus_weighted_smoothing_over_stages() -> None:
    out = torch.randn(3, 1, 4, 9)
    labels = torch.randint(0, 4, (1, 9))
    labels[0, 7:] = IGNORE_INDEX
    mask = torch.ones(1, 9)
    expected = sum(
        F.cross_entropy(out[s, 0, :, :7].T, labels[0, :7]) + 0.15 * smoothing_loss(out[s], mask)
        for s in range(3)
    )
    torch.testing.assert_close(mstcn_loss(out, labels, mask), expected)


def test_training_overfits_one_short_video_and_loss_falls() -> None:
    x, y = video(48, 6, 3)
    history: list[float] = []
    model = train_mstcn(
        [(x, y)], num_classes=3, epochs=60, lr=5e-3, seed=0, progress=False,
        history=history, **SMALL,
    )
    assert len(history) == 60
    assert history[-1] < 0.5 * history[0]
    pred = predict(model, x)
    assert pred.shape == (48,) and pred.dtype == np.int64
    assert (pred == y).mean() > 0.9


def test_training_is_deterministic_for_a_seed_and_keeps_global_rng() -> None:
    items = [video(20, 4, 3, seed=s) for s in range(3)]
    torch.manual_seed(123)
    before = torch.get_rng_state()
    kw = dict(num_classes=3, epochs=2, progress=False, **SMALL)
    a = train_mstcn(items, seed=7, **kw)
    b = train_mstcn(items, seed=7, **kw)
    c = train_mstcn(items, seed=8, **kw)
    assert torch.equal(torch.get_rng_state(), before)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_training_takes_any_source_and_batches() -> None:
    items = [video(t, 4, 3, seed=t) for t in (9, 15, 12)]
    gen = ((torch.from_numpy(x), torch.from_numpy(y), f"v{i}") for i, (x, y) in enumerate(items))
    history: list[float] = []
    train_mstcn(gen, num_classes=3, epochs=2, progress=False, batch_size=2, history=history, **SMALL)
    assert len(history) == 2 and all(np.isfinite(history))


@pytest.mark.parametrize(
    "items, match",
    [
        ([], "no training videos"),
        ([np.zeros((3, 4))], "item 0: expected"),
        ([(np.zeros(4), np.zeros(4, dtype=np.int64))], r"\(D, T\)"),
        ([(np.zeros((3, 4)), np.zeros(5, dtype=np.int64))], r"labels must be \(T,\)"),
        ([(np.zeros((3, 0)), np.zeros(0, dtype=np.int64))], "empty video"),
        ([(np.zeros((3, 2)), np.zeros(2))], "integers"),
        ([(np.zeros((3, 2)), np.array([0, 3]))], "label 3 at frame 1"),
        ([(np.zeros((3, 2)), np.array([0, 1])), (np.zeros((4, 2)), np.array([0, 1]))],
         "item 1: feature width 4"),
    ],
)
def test_training_rejects_bad_items(items: list, match: str) -> None:
    with pytest.raises(TascodecError, match=match):
        train_mstcn(items, num_classes=3, epochs=1, progress=False, batch_size=2, **SMALL)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(epochs=0), "epochs"),
        (dict(batch_size=0), "batch_size"),
        (dict(lr=0.0), "lr"),
        (dict(num_classes=0), "num_classes"),
        (dict(device="tpu:0:x"), "device"),
    ],
)
def test_training_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    args = dict(num_classes=3, epochs=1, progress=False) | kwargs
    with pytest.raises(TascodecError, match=match):
        train_mstcn([video(5, 3, 3)], **args, **SMALL)


def test_resolve_device_and_predict_errors() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type in ("cpu", "cuda")
    if not torch.cuda.is_available():
        with pytest.raises(TascodecError, match="CUDA"):
            resolve_device("cuda")
    with pytest.raises(TascodecError, match=r"\(D, T\)"):
        predict(_small_model(), np.zeros(5, dtype=np.float32))


def test_mstcn_mask_is_checked_on_the_cpu_and_taken_as_is_elsewhere(monkeypatch):
    from tascodec.errors import TascodecError
    from tascodec.harness.mstcn import input_mask

    x, mask = torch.zeros(2, 5, 7), torch.ones(2, 3, 7)
    mask[1, 2, 3] = 0  # channels differ
    with pytest.raises(TascodecError, match="same in every channel"):
        input_mask("MS-TCN", 5, x, mask)

    def no_sync(*a, **k):  # pragma: no cover - must not be called off the CPU
        raise AssertionError("torch.equal: a host sync per forward")

    monkeypatch.setattr(torch, "equal", no_sync)
    meta = input_mask("MS-TCN", 5, x.to("meta"), mask.to("meta"))  # a device tensor stand-in
    assert meta.shape == (2, 1, 7) and meta.device.type == "meta"
