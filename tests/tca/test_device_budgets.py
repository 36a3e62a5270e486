"""Issue 26's GPU fixes that a CPU can test: the ``paper`` recipe trains on what fits the
device (no 1 GiB sample) and warns when it samples; inversion chunks counted in sampled
frames (CUDA's choice) and fewer host syncs; the torch decoder's two host-to-device copies;
MS-TCN's mask check without a host sync off the CPU."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tascodec.tca import frames as frames_mod
from tascodec.tca.recipes import get_recipe
from tascodec.tca.train import train_tca, training_frames

from testkit import make_source

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def test_paper_recipe_budget_is_what_fits_the_device():
    assert get_recipe("paper").memory_budget is None
    assert get_recipe("cpu").memory_budget == 1 << 30  # the default recipe is unchanged
    assert get_recipe("paper", memory_budget=5000).memory_budget == 5000


def test_fitting_budget_is_half_the_smaller_free_memory(monkeypatch):
    free = {"cpu": 10_000, "cuda": 4_000}  # frames' own bindings of runtime.devices' functions
    monkeypatch.setattr(frames_mod, "free_memory", lambda d: free[torch.device(d).type])
    monkeypatch.setattr(frames_mod, "resolve_device", torch.device)  # no CUDA here
    assert frames_mod.fitting_budget("cpu") == 5_000
    assert frames_mod.fitting_budget("cuda") == 2_000  # the GPU holds less
    free["cuda"] = 1 << 40
    assert frames_mod.fitting_budget("cuda:0") == 5_000  # the host gathers them first


def test_free_memory_reads_the_host():
    from tascodec.runtime.devices import free_memory

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


def test_chunks_counted_in_sampled_frames():
    from tascodec.tca.instance_plan import chunks

    lengths = np.array([40, 40, 40, 40, 3, 3])
    assert chunks(lengths, 50) == [(0, 1), (1, 2), (2, 3), (3, 6)]  # all frames
    assert chunks(lengths, 50, per_instance=16) == [(0, 3), (3, 6)]  # 16 + 16 + 16 <= 50
    assert chunks(lengths, 50, per_instance=16, cap=100) == [(0, 2), (2, 6)]
    rng = np.random.default_rng(0)
    for _ in range(50):
        lengths = rng.integers(1, 60, size=int(rng.integers(1, 30)))
        m, limit, cap = int(rng.integers(1, 20)), int(rng.integers(1, 80)), int(rng.integers(1, 400))
        got = chunks(lengths, limit, m, cap)
        assert got[0][0] == 0 and got[-1][1] == lengths.size
        assert all(b == c for (_, b), (c, _) in zip(got, got[1:]))
        for a, b in got:
            assert b - a == 1 or (np.minimum(lengths[a:b], m).sum() <= limit
                                  and lengths[a:b].sum() <= cap)


def test_inversion_chunked_by_sampled_frames_gives_the_same_codes():
    from tascodec.errors import TascodecError
    from tascodec.tca.invert import invert

    from testkit import table_of

    src = make_source(videos=3, frames=120)
    model, _ = train_tca(src, latent_dim=6, hidden_dim=16, epochs=2, lr=1e-2, batch_size=32,
                         progress=False)
    table = table_of(src, 2)
    kw = dict(progress=False, max_iters=40, max_frames_per_instance=4, chunk_frames=24)
    by_all, r_all = invert(model, src, table, **kw)  # "auto" on a CPU: "all"
    by_sampled, r_sampled = invert(model, src, table, chunk_by="sampled", **kw)
    assert r_all.chunks > r_sampled.chunks >= 1  # several instances of 4 sampled frames each
    np.testing.assert_allclose(by_sampled, by_all, rtol=1e-4, atol=1e-4)
    assert r_sampled.decoder_evals == r_all.decoder_evals
    with pytest.raises(TascodecError, match="chunk_by must be"):
        invert(model, src, table, chunk_by="frames", **kw)


def test_torch_decode_copies_to_the_device_twice(tiny_dataset, tmp_path, monkeypatch):
    import sys

    import tascodec
    from tascodec.decode import decode_video_tensor

    path = tmp_path / "t.tasz"
    tascodec.encode(tiny_dataset, path, codec="inversion", recipe="quick", device="cpu",
                    progress=False, k=2)
    with tascodec.open(path) as archive:
        video = archive.videos[0]
        want = archive.decode(video)
        decode_video_tensor(archive, video, device="cpu-torch")  # the decoder's copy, once
        calls = []
        original = torch.Tensor.to

        def counted(t, *a, **k):
            if sys._getframe(1).f_code.co_filename.endswith("decode/torch.py"):
                calls.append(k.get("device", a[0] if a else None))
            return original(t, *a, **k)

        monkeypatch.setattr(torch.Tensor, "to", counted)
        got = decode_video_tensor(archive, video, device="cpu-torch")
    assert len(calls) == 2  # the float32 inputs together, the int64 indices together
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


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
