"""TCA training (loss goes down, determinism, streaming, normalisation, the frames that fit),
and a quick recipe end to end."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.errors import TascodecError
from tascodec.tca.invert import invert
from tascodec.tca.recipes import get_recipe
from tascodec.dataset.source import ArraySource
from tascodec.tca.train import feature_stats, train_tca, training_frames


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def make_source(videos=3, frames=120, dim=16, classes=4, seed=0) -> ArraySource:
    """Frames = class mean + per-segment offset + class trend in c + noise."""
    rng = np.random.default_rng(seed)
    means, trend = rng.normal(size=(classes, dim)) * 2, rng.normal(size=(classes, dim))
    feats, labels = {}, {}
    for v in range(videos):
        xs, ys, t = [], [], 0
        while t < frames:
            n, a = int(min(rng.integers(3, 30), frames - t)), int(rng.integers(classes))
            c = np.linspace(0, 1, n)[:, None]
            xs.append(means[a] + rng.normal(size=dim) * 0.7 + c * trend[a]
                      + 0.2 * rng.normal(size=(n, dim)) + 5.0)
            ys.append(np.full(n, a))
            t += n
        feats[f"v{v}"] = np.concatenate(xs).astype(np.float32)
        labels[f"v{v}"] = np.concatenate(ys)
    return ArraySource(feats, labels, [f"a{i}" for i in range(classes)])


KW = {"latent_dim": 4, "hidden_dim": 16, "batch_size": 32, "progress": False}


def test_training_lowers_loss():
    model, rep = train_tca(make_source(), epochs=8, lr=1e-2, **KW)
    assert rep.epochs == 8 and len(rep.history) == 8
    assert rep.history[-1] < 0.6 * rep.history[0]
    assert rep.recon < 0.6 and rep.kl > 0 and rep.wall_time_s > 0
    assert rep.frames == 360 and rep.frames_per_epoch == 360 and rep.in_memory
    assert not model.training


def test_deterministic_for_seed():
    src = make_source()
    m1, r1 = train_tca(src, epochs=2, seed=3, **KW)
    m2, r2 = train_tca(src, epochs=2, seed=3, **KW)
    m3, _ = train_tca(src, epochs=2, seed=4, **KW)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert r1.history == r2.history
    assert not torch.equal(s1["enc1.weight"], s3["enc1.weight"])


def test_global_rng_untouched():
    torch.manual_seed(123)
    expect = torch.rand(3)
    torch.manual_seed(123)
    train_tca(make_source(videos=2), epochs=1, **KW)
    assert torch.equal(torch.rand(3), expect)


def test_normalisation_buffers_are_frame_stats():
    src = make_source()
    model, _ = train_tca(src, epochs=1, **KW)
    x = np.concatenate([src.features(v) for v in src.training_videos]).astype(np.float64)
    np.testing.assert_allclose(model.feature_offset.numpy(), x.mean(0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.feature_scale.numpy(), x.std(0), rtol=1e-4)


@settings(max_examples=20, deadline=None)
@given(lengths=st.lists(st.integers(0, 30), min_size=1, max_size=5), dim=st.integers(1, 6),
       seed=st.integers(0, 99))
def test_feature_stats_property(lengths, dim, seed):
    rng = np.random.default_rng(seed)
    feats = {f"v{i}": (rng.normal(size=(n, dim)) * 3 + 7).astype(np.float32)
             for i, n in enumerate(lengths)}
    src = ArraySource(feats, {k: np.zeros(len(v), np.int64) for k, v in feats.items()}, ["a"])
    if sum(lengths) == 0:
        with pytest.raises(TascodecError, match="no frames"):
            feature_stats(src, src.videos)
        return
    mean, std, total = feature_stats(src, src.videos)
    allx = np.concatenate(list(feats.values())).astype(np.float64)
    assert total == allx.shape[0]
    np.testing.assert_allclose(mean, allx.mean(0), atol=1e-9)
    np.testing.assert_allclose(std, allx.std(0), atol=1e-7)


def test_sampled_beyond_the_memory_budget():
    src = make_source()
    _, rep = train_tca(src, epochs=6, memory_budget=16 * 4 * 50, max_frames_per_epoch=200,
                       **KW)
    assert not rep.in_memory and 40 <= rep.frames_per_epoch <= 50  # the sample, not the cap
    assert rep.frames == sum(src.features(v).shape[0] for v in src.videos)
    assert rep.history[-1] < rep.history[0]
    _, r1 = train_tca(src, epochs=2, memory_budget=16 * 4 * 50, seed=1, **KW)
    _, r2 = train_tca(src, epochs=2, memory_budget=16 * 4 * 50, seed=1, **KW)
    assert r1.history == r2.history


def test_in_memory_frame_cap():
    _, rep = train_tca(make_source(), epochs=1, max_frames_per_epoch=100, **KW)
    assert rep.in_memory and rep.frames_per_epoch == 100


def test_training_videos_subset_only():
    src = make_source()
    src.training_videos = ["v0"]
    _, rep = train_tca(src, epochs=1, **KW)
    assert rep.frames == src.features("v0").shape[0]


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"), ({"epochs": 1.5}, "epochs"),
    ({"max_frames_per_epoch": 0}, "max_frames_per_epoch"), ({"lr": 0.0}, "lr"),
    ({"kl_weight": -1.0}, "kl_weight"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(TascodecError, match=match):
        train_tca(make_source(videos=1), **{**KW, "epochs": 1, **kwargs})


def _src_with(video_x, video_y, classes=2):
    return ArraySource({"bad": video_x}, {"bad": video_y}, [f"a{i}" for i in range(classes)])


@pytest.mark.parametrize("x, y, match", [
    (np.zeros((5, 3), np.float32), np.zeros(4, np.int64), "labels for"),
    (np.zeros((5, 3), np.float32), np.full(5, 2), "out of range"),
    (np.full((5, 3), np.nan, np.float32), np.zeros(5, np.int64), "non-finite value nan"),
])
def test_bad_videos_named(x, y, match):
    with pytest.raises(TascodecError, match=f"'bad'.*{match}|{match}"):
        train_tca(_src_with(x, y), epochs=1, **KW)


def test_empty_training_videos():
    src = make_source(videos=1)
    src.training_videos = []
    with pytest.raises(TascodecError, match="empty"):
        train_tca(src, epochs=1, **KW)


# -- recipes ---------------------------------------------------------------------------------


def test_quick_recipe_runs_end_to_end():
    from tascodec.content import SegmentTable

    src = make_source(videos=2, frames=60)
    recipe = get_recipe("quick", latent_dim=4, hidden_dim=8, epochs=1)
    model, _ = train_tca(src, **recipe.train_kwargs(), progress=False)
    table = SegmentTable.from_labels(src.videos, [src.labels(v) for v in src.videos], 2)
    codes, rep = invert(model, src, table, progress=False, **recipe.invert_kwargs())
    assert codes.shape == (table.num_codes, 4) and rep.mse <= rep.init_mse


def test_robust_scale_floors_constant_channels_relative_to_their_size():
    from tascodec.tca.train import RELATIVE_SCALE_FLOOR, robust_scale

    mean = np.array([0.0, 1000.0, 5.0, 1e-4])
    std = np.array([2.0, 1e-5, 0.0, 1e-5])
    scale = robust_scale(mean, std)
    assert scale[0] == 2.0 and scale[3] == 1e-5  # a real spread is kept, however small
    assert scale[1] == pytest.approx(RELATIVE_SCALE_FLOOR * 1000.0)  # rounding noise is not
    assert scale[2] == pytest.approx(RELATIVE_SCALE_FLOOR * 5.0)


def test_early_stopping_keeps_the_best_epoch_and_stops():
    src = make_source()
    _, rep = train_tca(src, epochs=60, patience=2, holdout=0.1, **KW)
    assert rep.heldout and rep.epochs == len(rep.heldout) <= 60
    assert rep.best_heldout == pytest.approx(min(rep.heldout))
    if rep.epochs < 60:  # stopped: the last `patience` epochs did not improve on the best
        assert min(rep.heldout[-2:]) >= rep.best_heldout * (1 - 1e-3)
    with pytest.raises(TascodecError, match="holdout"):
        train_tca(src, epochs=1, patience=2, holdout=0.7, **KW)
    with pytest.raises(TascodecError, match="patience"):
        train_tca(src, epochs=1, patience=0, **KW)


def test_a_fitting_budget_trains_on_every_frame_and_warns_when_it_samples(monkeypatch):
    from testkit import make_source  # D = 24 (this module's make_source: D = 16)

    src = make_source(videos=2, frames=80)  # 160 frames of D = 24: 15,360 bytes as float32
    import tascodec.tca.train as train_mod

    monkeypatch.setattr(train_mod, "fitting_budget", lambda device: 1 << 20)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # fits: no warning
        whole = training_frames(src, memory_budget=None, device="cpu")
    assert not whole.sampled and whole.x.shape[0] == 160
    monkeypatch.setattr(train_mod, "fitting_budget", lambda device: 4_000)
    with pytest.warns(RuntimeWarning, match=r"training: the 160 training frames \(15.00 KiB "
                      r"as float32\) do not fit in 3.91 KiB \(half the host's available memory\): training "
                      r"on a uniform sample of 40 \(25.0%\)"):
        part = training_frames(src, memory_budget=None, device="cpu")
    assert part.sampled
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a recipe's fixed budget samples by design, silently
        assert training_frames(src, memory_budget=4_000).sampled
    monkeypatch.setattr(train_mod, "fitting_budget", lambda device: 1 << 20)
    model, report = train_tca(src, latent_dim=4, hidden_dim=8, epochs=1, batch_size=32,
                              progress=False, memory_budget=None)
    assert report.in_memory and report.frames_per_epoch == 160
