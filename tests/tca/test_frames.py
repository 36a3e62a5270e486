"""The one pass that gathers the TCA's training frames (tascodec.tca.frames), within a budget
that fits the device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tascodec.errors import TascodecError
from tascodec.dataset.source import ArraySource
from tascodec.tca import frames as frames_mod
from tascodec.tca.frames import feature_stats, gather_training_frames, heldout_mask


class CountingSource(ArraySource):
    """Counts the reads of each video's frames."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = {v: 0 for v in self.videos}

    def features(self, video):
        self.reads[video] += 1
        return super().features(video)


def make(videos=5, frames=(90, 300), dim=8, classes=3, seed=0, cls=ArraySource):
    rng = np.random.default_rng(seed)
    feats, labels = {}, {}
    for v in range(videos):
        t = int(rng.integers(*frames))
        feats[f"v{v}"] = (rng.normal(size=(t, dim)) * (1 + np.arange(dim)) + 3).astype(np.float32)
        labels[f"v{v}"] = np.sort(rng.integers(classes, size=t))
    return cls(feats, labels, [f"c{i}" for i in range(classes)])


def test_everything_fits_keeps_every_frame_in_video_order():
    src = make()
    got = gather_training_frames(src, src.videos, 3, holdout=0.0, seed=0, memory_budget=1 << 30)
    assert not got.sampled and got.held is None
    raw = np.concatenate([src.features(v) for v in src.videos])
    mean, std, total = feature_stats(src, src.videos)
    assert got.total == total == raw.shape[0] == got.x.shape[0]
    np.testing.assert_array_equal(got.mean, mean)
    expect = (raw - got.mean.astype(np.float32)) / got.scale.astype(np.float32)
    np.testing.assert_array_equal(got.x, expect.astype(np.float32))
    np.testing.assert_array_equal(got.a, np.concatenate([src.labels(v) for v in src.videos]))


def test_sample_is_bounded_uniform_and_seeded():
    src = make(videos=6, frames=(400, 800))
    budget = 4 * 8 * 600  # 600 frames of D = 8
    got = gather_training_frames(src, src.videos, 3, holdout=0.05, seed=3, memory_budget=budget)
    assert got.sampled and 600 - 6 <= got.x.shape[0] <= 600
    # statistics cover every frame, not only the sample
    mean, _, total = feature_stats(src, src.videos)
    np.testing.assert_allclose(got.mean, mean)
    assert got.total == total
    # every video gives the same share of its frames (rounded down)
    share = got.x.shape[0] / got.available
    same = gather_training_frames(src, src.videos, 3, holdout=0.05, seed=3, memory_budget=budget)
    np.testing.assert_array_equal(same.x, got.x)
    other = gather_training_frames(src, src.videos, 3, holdout=0.05, seed=4, memory_budget=budget)
    assert not np.array_equal(other.x, got.x)
    assert 0.0 < share < 1.0


def test_each_video_is_read_once():
    src = make(cls=CountingSource)
    gather_training_frames(src, src.videos, 3, holdout=0.1, seed=0, memory_budget=4 * 8 * 100)
    assert set(src.reads.values()) == {1}


def test_heldout_is_thinned_evenly_over_all_videos(monkeypatch):
    src = make(videos=4, frames=(300, 400))
    full = gather_training_frames(src, src.videos, 3, holdout=0.2, seed=1, memory_budget=1 << 30)
    monkeypatch.setattr(frames_mod, "MAX_HELDOUT_FRAMES", 50)
    thin = gather_training_frames(src, src.videos, 3, holdout=0.2, seed=1, memory_budget=1 << 30)
    pick = np.linspace(0, full.held[0].shape[0] - 1, 50).astype(np.int64)
    np.testing.assert_array_equal(thin.held[0], full.held[0][pick])
    masks = [heldout_mask(src.features(v).shape[0], i, 0.2, 1) for i, v in enumerate(src.videos)]
    assert full.held[0].shape[0] == sum(int(m.sum()) for m in masks)


def test_a_budget_below_one_frame_is_refused():
    src = make()
    with pytest.raises(TascodecError, match="memory_budget"):
        gather_training_frames(src, src.videos, 3, holdout=0.0, seed=0, memory_budget=8)


def test_fitting_budget_is_half_the_smaller_free_memory(monkeypatch):
    free = {"cpu": 10_000, "cuda": 4_000}  # frames' own bindings of runtime.devices' functions
    monkeypatch.setattr(frames_mod, "free_memory", lambda d: free[torch.device(d).type])
    monkeypatch.setattr(frames_mod, "resolve_device", torch.device)  # no CUDA here
    assert frames_mod.fitting_budget("cpu") == 5_000
    assert frames_mod.fitting_budget("cuda") == 2_000  # the GPU holds less
    free["cuda"] = 1 << 40
    assert frames_mod.fitting_budget("cuda:0") == 5_000  # the host gathers them first
