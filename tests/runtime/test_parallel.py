"""A 2-process encode on torch.distributed (gloo, CPU) against a one-process one (issue 13).

The ranks run ``torchrun --standalone --nproc_per_node=2`` over ``tests/support/dist_worker.py`` (the
CLI, plus test-only hooks kept out of the library), one torch thread each.

Tolerances: the statistics of the training frames are gathered exactly (x + 0 = x sums,
moments merged in video order), so the decoder's normalisation is compared bit for bit. The
ranks' gradients are averaged by DistributedDataParallel: the same batch mean as one process
in exact arithmetic, summed in another order in float32, so training losses agree to ~1e-7
relative and drift little over the quick recipe's steps. The archives store float32 codes and
a float32 decoder here: rounding to int8 codes or a float16 decoder is discontinuous, and a
1e-7 difference that straddles a rounding boundary moves a value by a whole step (1/127 of a
code's range), which says nothing about the distributed arithmetic. Decoder weights, codes
and decoded frames are compared with an absolute tolerance of 1e-4 of their largest
magnitude: orders of magnitude above the ~1e-7 differences seen, and far below the
condensation error (relative MSE ~0.8 here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tascodec.format import open_archive
from tascodec.runtime.parallel import current, launched, session
from tascodec.runtime.world import SINGLE, World
from testkit import torchrun

INVERSION = ["--codec", "inversion"]  # the codec these runs shard (TCA training, inversion)
QUICK = ["--recipe", "quick", "--device", "cpu", "--quiet", "--seed", "3",
         "--code-dtype", "float32", "-p", "decoder_dtype=float32",
         "-p", "patience=2", "-p", "holdout=0.1", "-p", "epochs=3",
         "-p", "memory_budget=200000"]  # held-out check and a sampled cache: every path


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".tascodec-tmp-"))


def test_alone_everything_is_a_noop():
    assert not launched() and current() is SINGLE
    with session("cpu") as world:
        assert world is SINGLE and not world.distributed
        x = np.arange(6.0)
        assert world.all_reduce_sum_(x) is x and x.tolist() == list(range(6))
        assert world.all_gather("a") == ["a"] and world.broadcast(3) == 3
        assert world.run("a phase", lambda: 7) == 7
        assert world.shard([3, 4, 5]) == (0, 3)
    import torch.distributed as dist

    assert not dist.is_initialized()
    assert World(rank=1, size=2, backend="nccl", local_rank=1).device_for("auto") == "cuda:1"
    assert World(rank=1, size=2, backend="gloo").device_for("cpu") == "cpu"
    assert SINGLE.device_for("auto") == "auto"


@pytest.fixture(scope="module")
def runs(tiny_dataset, tmp_path_factory):
    """The same encode by one process (in this one, on one thread) and by two ranks."""
    import torch

    from tascodec import encode

    out = tmp_path_factory.mktemp("dist")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        encode(tiny_dataset, out / "one.tasz", codec="inversion", recipe="quick", device="cpu",
               seed=3, progress=False, patience=2, holdout=0.1, epochs=3, memory_budget=200000,
               code_dtype="float32", decoder_dtype="float32")
    finally:
        torch.set_num_threads(threads)
    proc = torchrun("encode", str(tiny_dataset), str(out / "two.tasz"), *INVERSION, *QUICK)
    return out, proc


def test_two_ranks_write_one_archive_equal_to_one_process(runs):
    out, proc = runs
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("reconstruction MSE") == 1  # rank 0 alone prints the summary
    assert "time: gather" in proc.stdout and "time: codes" in proc.stdout
    assert _leftovers(out) == []
    with open_archive(out / "one.tasz") as one, open_archive(out / "two.tasz") as two:
        s1, s2 = one.header["stats"], two.header["stats"]
        assert s2["processes"] == {"world_size": 2, "backend": "gloo"}
        assert "processes" not in s1
        assert s2["inversion"]["shares"] == 2 and s2["inversion"]["num_codes"] == one.table.num_codes
        assert s1["train"]["frames_per_epoch"] == s2["train"]["frames_per_epoch"]
        assert not s1["train"]["in_memory"]  # the sampled path was taken
        assert s1["train"]["epochs"] == s2["train"]["epochs"]
        np.testing.assert_allclose(s2["train"]["loss"], s1["train"]["loss"], rtol=1e-5)
        np.testing.assert_allclose(s2["reconstruction_mse"], s1["reconstruction_mse"],
                                   rtol=1e-4)
        assert one.videos == two.videos and one.codec_config == two.codec_config
        d1, d2 = one.decoder().tensors, two.decoder().tensors
        for name in ("feature_offset", "feature_scale"):  # gathered exactly
            np.testing.assert_array_equal(d1[name], d2[name])
        for name in ("w1", "b1", "w2", "b2"):
            np.testing.assert_allclose(d2[name], d1[name], rtol=0,
                                       atol=1e-4 * float(np.abs(d1[name]).max()))
        c1, c2 = one.all_codes(), two.all_codes()
        np.testing.assert_allclose(c2, c1, rtol=0, atol=1e-4 * float(np.abs(c1).max()))
        for video in one.videos:
            x1, x2 = one.decode(video), two.decode(video)
            np.testing.assert_allclose(x2, x1, rtol=0, atol=1e-4 * float(np.abs(x1).max()))


def test_a_rank_that_fails_fails_every_rank_and_writes_nothing(tiny_dataset, tmp_path):
    import shutil

    from tascodec.dataset.layout import StandardDataset
    from tascodec.dataset.sampling import select_videos

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    _, training, _, _ = select_videos(StandardDataset(data), "train.split1", 1.0, "diverse", 3)
    path = data / "features" / f"{training[-1]}.npy"  # the last video: rank 1 reads it
    x = np.load(path)
    x[0, 0] = np.nan
    np.save(path, x)
    proc = torchrun("encode", str(data), str(tmp_path / "a.tasz"), *INVERSION, *QUICK)
    assert proc.returncode != 0
    assert "distributed encode: rank 1 of 2 failed during reading the training videos" in \
        proc.stderr and "non-finite value" in proc.stderr, proc.stderr[-3000:]
    assert not (tmp_path / "a.tasz").exists() and _leftovers(tmp_path) == []


def test_a_rank_that_dies_fails_the_run_and_leaves_no_archive(tiny_dataset, tmp_path):
    proc = torchrun("encode", str(tiny_dataset), str(tmp_path / "a.tasz"), *INVERSION, *QUICK,
                     env={"TASCODEC_TEST_KILL_RANK": "1"})
    assert proc.returncode != 0
    # rank 0 either sees the connection drop or is stopped by torchrun first
    assert "tascodec encode: error: distributed encode: rank 0 of 2" in proc.stderr, \
        proc.stderr[-3000:]
    assert not (tmp_path / "a.tasz").exists() and _leftovers(tmp_path) == []


@pytest.mark.slow
def test_a_silent_rank_times_out(tiny_dataset, tmp_path):
    proc = torchrun("encode", str(tiny_dataset), str(tmp_path / "a.tasz"), *INVERSION, *QUICK,
                     env={"TASCODEC_TEST_HANG_RANK": "1", "TASCODEC_DIST_TIMEOUT": "5"})
    assert proc.returncode != 0
    assert "rank 0 of 2 lost contact with a peer during the inversion" in proc.stderr, \
        proc.stderr[-3000:]
    assert "more than 5 s" in proc.stderr
    assert not (tmp_path / "a.tasz").exists() and _leftovers(tmp_path) == []


@pytest.mark.slow
def test_encode_inside_the_callers_process_group(tiny_dataset, tmp_path):
    proc = torchrun(str(tiny_dataset), str(tmp_path / "a.tasz"),
                     env={"TASCODEC_TEST_OWN_GROUP": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rank 0: initialised=True" in proc.stdout and "rank 1: initialised=True" in proc.stdout
    with open_archive(tmp_path / "a.tasz") as archive:
        assert archive.header["stats"]["processes"]["world_size"] == 2


def test_two_ranks_store_the_same_segment_means_as_one_process(tiny_dataset, tmp_path):
    """``mean+inversion``: each rank reads its share of the videos for the segment means, and
    the shares are summed exactly, so the stored offsets equal one process's bit for bit."""
    import torch

    from tascodec import encode

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        encode(tiny_dataset, tmp_path / "one.tasz", codec="mean+inversion", k=2,
               recipe="quick", device="cpu", seed=3, progress=False, epochs=2, patience=2,
               code_dtype="float32", decoder_dtype="float32")
    finally:
        torch.set_num_threads(threads)
    proc = torchrun("encode", str(tiny_dataset), str(tmp_path / "two.tasz"), "--codec",
                     "mean+inversion", "-k", "2", *QUICK[:-6], "-p", "epochs=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open_archive(tmp_path / "one.tasz") as one, open_archive(tmp_path / "two.tasz") as two:
        assert two.header["stats"]["processes"]["world_size"] == 2
        assert one.videos == two.videos
        np.testing.assert_array_equal(two.offset_scale(0), one.offset_scale(0))
        for video in one.videos:
            np.testing.assert_array_equal(two.segment_offsets(video), one.segment_offsets(video))
            x1, x2 = one.decode(video), two.decode(video)
            np.testing.assert_allclose(x2, x1, rtol=0, atol=1e-4 * float(np.abs(x1).max()))


def test_a_rank_checks_its_gpu_before_set_device(monkeypatch):
    import torch

    from tascodec.errors import TascodecError
    from tascodec.runtime.parallel import _check_cuda_rank

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TascodecError, match="CUDA is not available here"):
        _check_cuda_rank("cuda", 0)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    _check_cuda_rank("auto", 1)
    with pytest.raises(TascodecError, match=r"local rank 2 would compute on cuda:2 but this "
                       r"host has 2 CUDA device\(s\)"):
        _check_cuda_rank("auto", 2)


def test_torchrun_encode_on_cuda_without_cuda_is_one_line_per_rank(tiny_dataset, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA present: this checks a CPU-only torch")
    proc = torchrun("encode", str(tiny_dataset), str(tmp_path / "a.tasz"), "--device", "cuda",
                     "--quiet", timeout=120)
    assert proc.returncode != 0
    ours = [line for line in proc.stderr.splitlines() if line.startswith("tascodec encode:")]
    assert len(ours) == 2, proc.stderr[-3000:]  # one line per rank, no traceback of ours
    assert all("device 'cuda' asks for CUDA (NCCL, each rank on cuda:LOCAL_RANK) but CUDA is "
               "not available here" in line for line in ours)
    assert "Traceback" not in proc.stdout and not (tmp_path / "a.tasz").exists()
