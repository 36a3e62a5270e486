"""Issue 26's fixes where only a GPU shows them (marked ``gpu``, skipped without CUDA; their CPU
halves are in test_determinism, test_parallel, test_device_paths, and in the tests of the
modules they fixed: test_recipes, test_frames, test_train, test_invert, test_instance_plan,
test_torch and test_mstcn).

Each test that depends on a process's first CUDA work runs in a child process of its own, so
the order of the gpu tests cannot decide the outcome (what issue 26 found: a CUDA matmul in
one test broke the deterministic switch of a later one).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")]

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**base, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=300)


def test_deterministic_after_earlier_cuda_matmuls():
    # import tascodec first (as every user of the library does): the variable is in place
    # before the first cuBLAS call, so a later deterministic switch works.
    ok = _python("""
import tascodec, torch
from tascodec.runtime.determinism import deterministic_algorithms
a = torch.randn(64, 64, device="cuda"); (a @ a).sum().item()
with deterministic_algorithms():
    b = (a @ a).sum().item()
print("ok")
""")
    assert ok.returncode == 0 and ok.stdout.strip() == "ok", ok.stderr[-2000:]
    # CUDA work BEFORE tascodec is imported, the variable unset: one clear refusal.
    late = _python("""
import torch
a = torch.randn(64, 64, device="cuda"); (a @ a).sum().item()
import tascodec
from tascodec.runtime.determinism import deterministic_algorithms
from tascodec.errors import TascodecError
try:
    with deterministic_algorithms():
        pass
except TascodecError as exc:
    print(exc)
""")
    assert late.returncode == 0, late.stderr[-2000:]
    assert "CUDA was initialised before tascodec was imported" in late.stdout
    assert "export CUBLAS_WORKSPACE_CONFIG=:4096:8" in late.stdout


def test_tf32_is_off_inside_the_switch_even_after_the_new_api_enabled_it():
    run = _python("""
import tascodec, torch
from tascodec.runtime.determinism import deterministic_algorithms
b = torch.backends
if hasattr(b.cuda.matmul, "fp32_precision"):
    b.cuda.matmul.fp32_precision = "tf32"
else:
    torch.backends.cuda.matmul.allow_tf32 = True
g = torch.Generator(device="cuda").manual_seed(0)
x = torch.randn(2048, 2048, device="cuda", generator=g)
ref = (x.double() @ x.double())
with deterministic_algorithms():
    inside = float(((x @ x).double() - ref).abs().max() / ref.abs().max())
print(inside)
""")
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout.split()[-1]) < 1e-5  # float32 rounding; TF32 is ~1e-3


def test_torchrun_ranks_beyond_the_gpus_are_refused(tiny_dataset, tmp_path):
    if torch.cuda.device_count() != 1:
        pytest.skip("checks a host of one GPU")
    from testkit import torchrun

    proc = torchrun("encode", str(tiny_dataset), str(tmp_path / "a.tasz"), "--device", "cuda",
                     "--quiet", "--codec", "inversion", "--recipe", "quick", timeout=300)
    assert proc.returncode != 0
    assert ("local rank 1 would compute on cuda:1 but this host has 1 CUDA device(s)"
            in proc.stderr), proc.stderr[-3000:]


def test_evaluate_jobs_share_one_gpu(tiny_dataset, tmp_path):
    import tascodec
    from tascodec.harness.evaluate import evaluate_archive

    path = tmp_path / "t.tasz"
    tascodec.encode(tiny_dataset, path, codec="inversion", recipe="quick", device="cpu",
                    progress=False)
    args = dict(seeds=(0, 1), epochs=2, progress=False, device="cuda", deterministic=True,
                mstcn_options={"num_stages": 2, "num_layers": 3, "num_f_maps": 8})
    one = evaluate_archive(path, tiny_dataset, jobs=1, **args)
    two = evaluate_archive(path, tiny_dataset, jobs=2, **args)
    assert one.per_seed == two.per_seed


def test_paper_budget_and_sampled_chunks_on_the_gpu():
    from tascodec.tca.frames import fitting_budget
    from tascodec.tca.invert import invert
    from tascodec.tca.train import train_tca

    from testkit import make_source, table_of

    assert fitting_budget("cuda") > 1 << 30  # more than the old 1 GiB on any current GPU
    src = make_source(videos=3, frames=160)
    model, _ = train_tca(src, latent_dim=6, hidden_dim=16, epochs=2, batch_size=32,
                         progress=False, device="cuda")
    table = table_of(src, 2)
    kw = dict(progress=False, max_iters=40, max_frames_per_instance=4, chunk_frames=24)
    sampled, rs = invert(model, src, table, device="cuda", **kw)  # "auto" on CUDA: sampled
    by_all, ra = invert(model, src, table, device="cuda", chunk_by="all", **kw)
    assert rs.chunks < ra.chunks
    np.testing.assert_allclose(sampled, by_all, rtol=1e-3, atol=1e-3)


def test_cuda_decode_and_mask(tiny_dataset, tmp_path):
    import tascodec
    from tascodec.harness.mstcn import input_mask

    path = tmp_path / "t.tasz"
    tascodec.encode(tiny_dataset, path, codec="mean+inversion", k=2, recipe="quick",
                    device="cpu", progress=False)
    ds = tascodec.TaszDataset(path, split=None, device="cuda", cache_bytes=0)
    with tascodec.open(path) as archive:
        for i in range(len(ds)):
            x, y, name = ds[i]
            assert x.device.type == "cuda" and y.device.type == "cuda"
            want = archive.features(name)
            np.testing.assert_allclose(x.cpu().numpy(), want, rtol=1e-4,
                                       atol=1e-4 * np.abs(want).max())
    x = torch.zeros(2, 5, 7, device="cuda")
    assert input_mask("MS-TCN", 5, x, torch.ones(2, 3, 7, device="cuda")).shape == (2, 1, 7)
