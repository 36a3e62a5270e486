"""Issue 26's CPU-testable GPU fixes: the ``paper`` recipe trains on what fits the device
(no 1 GiB sample) and warns when it samples; inversion chunks counted in sampled frames."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tascodec.tca import frames as frames_mod
from tascodec.tca.recipes import get_recipe
from tascodec.tca.train import train_tca, training_frames

from test_inversion import make_source

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_paper_recipe_budget_is_what_fits_the_device():
    assert get_recipe("paper").memory_budget is None
    assert get_recipe("cpu").memory_budget == 1 << 30  # the default recipe is unchanged
    assert get_recipe("paper", memory_budget=5000).memory_budget == 5000


def test_fitting_budget_is_half_the_smaller_free_memory(monkeypatch):
    import tascodec.devices as devices

    free = {"cpu": 10_000, "cuda": 4_000}
    monkeypatch.setattr(devices, "free_memory", lambda d: free[torch.device(d).type])
    monkeypatch.setattr(devices, "resolve_device", torch.device)  # no CUDA here
    assert frames_mod.fitting_budget("cpu") == 5_000
    assert frames_mod.fitting_budget("cuda") == 2_000  # the GPU holds less
    free["cuda"] = 1 << 40
    assert frames_mod.fitting_budget("cuda:0") == 5_000  # the host gathers them first


def test_free_memory_reads_the_host():
    from tascodec.devices import free_memory

    assert 0 < free_memory("cpu") < 1 << 50


def test_a_fitting_budget_trains_on_every_frame_and_warns_when_it_samples(monkeypatch):
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
