"""Determinism: the scoped switch restores every flag, the segment sum equals ``index_add_``,
inversion and training repeat with ``deterministic=True``."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.runtime.determinism import CUBLAS_WORKSPACE, deterministic_algorithms, segment_sum
from tascodec.errors import TascodecError
from tascodec.tca.invert import invert
from tascodec.tca.train import train_tca

from testkit import make_source, table_of

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def _flags() -> tuple:
    return (torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark,
            torch.backends.cudnn.allow_tf32, torch.get_float32_matmul_precision(),
            torch.backends.cuda.matmul.allow_tf32, os.environ.get("CUBLAS_WORKSPACE_CONFIG"))


def _precision() -> tuple:
    """TF32 settings through the new API where torch has it (legacy getters may raise there)."""
    b = torch.backends
    if hasattr(b.cuda.matmul, "fp32_precision"):
        return (b.cuda.matmul.fp32_precision, b.cudnn.conv.fp32_precision,
                b.cudnn.rnn.fp32_precision, b.mkldnn.matmul.fp32_precision)
    return (torch.get_float32_matmul_precision(), b.cudnn.allow_tf32)  # pragma: no cover


@pytest.fixture
def odd_flags():
    """Non-default global settings (a caller's own), put back after the test."""
    before = _flags()
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.allow_tf32 = True
    torch.set_float32_matmul_precision("high")
    yield _flags()
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2], before[3]
    torch.backends.cudnn.allow_tf32 = before[4]
    torch.set_float32_matmul_precision(before[5])


def test_switch_sets_then_restores_every_flag(odd_flags):
    with deterministic_algorithms():
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        assert _precision() in (("ieee",) * 4, ("highest", False))  # TF32 off
        with deterministic_algorithms():  # nests
            assert torch.are_deterministic_algorithms_enabled()
        assert torch.are_deterministic_algorithms_enabled()
    assert _flags() == odd_flags


def test_switch_restores_on_error_and_off_changes_nothing(odd_flags):
    with pytest.raises(RuntimeError, match="boom"):
        with deterministic_algorithms():
            raise RuntimeError("boom")
    assert _flags() == odd_flags
    with deterministic_algorithms(False):
        assert _flags() == odd_flags


def test_importing_tascodec_sets_the_cublas_variable_first():
    # torch reads CUBLAS_WORKSPACE_CONFIG once, at its first cuBLAS call: import tascodec sets
    # it (setdefault, before torch is even imported); a user's own value is kept.
    code = ("import os, sys, tascodec; "
            "print(os.environ.get('CUBLAS_WORKSPACE_CONFIG'), 'torch' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "CUBLAS_WORKSPACE_CONFIG"}
    for preset, want in ((None, CUBLAS_WORKSPACE), (":16:8", ":16:8")):
        run_env = env if preset is None else {**env, "CUBLAS_WORKSPACE_CONFIG": preset}
        out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True,
                             text=True, check=True).stdout.split()
        assert out == [want, "False"]


def test_switch_refuses_once_cuda_ran_without_the_cublas_variable(monkeypatch, odd_flags):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)  # CUDA work already done
    for value in (None, ":0:0"):
        if value is None:
            monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
        else:
            monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", value)
        said = "CUBLAS_WORKSPACE_CONFIG unset" if value is None else \
            "CUBLAS_WORKSPACE_CONFIG=':0:0'"
        with pytest.raises(TascodecError, match=rf"deterministic=True: CUDA is already "
                           rf"initialised with {said}, .*export "
                           rf"CUBLAS_WORKSPACE_CONFIG=:4096:8 before starting Python"):
            with deterministic_algorithms():
                pass  # pragma: no cover - never entered
        assert _flags()[:-1] == odd_flags[:-1]  # nothing was changed
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")  # in place before CUDA started
    with deterministic_algorithms():
        assert torch.are_deterministic_algorithms_enabled()


def test_switch_sets_the_cublas_variable_while_cuda_has_not_started(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    with deterministic_algorithms():
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == CUBLAS_WORKSPACE  # torch reads it once
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":1:1")  # a user's other value: refused
    with pytest.raises(TascodecError, match="CUBLAS_WORKSPACE_CONFIG=':1:1' is set"):
        with deterministic_algorithms():
            pass  # pragma: no cover - never entered
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # no CUDA: nothing to check
    with deterministic_algorithms():
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":1:1"


def test_switch_reads_and_restores_tf32_through_the_new_api():
    # torch >= 2.9: once fp32_precision is set through the new API, the legacy getters
    # (get_float32_matmul_precision, cudnn.allow_tf32) raise; the switch must not read them.
    code = """
import torch
from tascodec.runtime.determinism import deterministic_algorithms
b = torch.backends
if not hasattr(b.cuda.matmul, "fp32_precision"):
    print("old torch"); raise SystemExit
b.cuda.matmul.fp32_precision, b.cudnn.conv.fp32_precision = "tf32", "ieee"
try:
    torch.get_float32_matmul_precision(); print("legacy getter read it")
except RuntimeError:
    pass
with deterministic_algorithms():
    inside = (b.cuda.matmul.fp32_precision, b.cudnn.conv.fp32_precision, b.cudnn.rnn.fp32_precision)
print(*inside, b.cuda.matmul.fp32_precision, b.cudnn.conv.fp32_precision, b.cudnn.rnn.fp32_precision)
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    if out.stdout.strip() == "old torch":
        pytest.skip("torch < 2.9 has no fp32_precision settings")
    assert out.stdout.split() == ["ieee", "ieee", "ieee", "tf32", "ieee", "tf32"]


@settings(max_examples=40)
@given(m=st.integers(0, 300), rows=st.integers(1, 40), width=st.sampled_from([(), (1,), (7,), (3, 5)]),
       dtype=st.sampled_from([torch.float32, torch.float64]), seed=st.integers(0, 2**31 - 1))
def test_segment_sum_equals_index_add_bit_for_bit(m, rows, width, dtype, seed):
    # The same additions in the same order (row by row, frames in order) as index_add_ on the
    # CPU: equal bit for bit, empty rows (most of them when m < rows) included.
    gen = torch.Generator().manual_seed(seed)
    index = torch.sort(torch.randint(0, rows, (m,), generator=gen)).values
    values = (torch.randn((m, *width), generator=gen, dtype=torch.float64) * 10 ** torch.randint(
        -3, 4, (m, *width), generator=gen)).to(dtype)
    want = torch.zeros((rows, *width), dtype=dtype).index_add_(0, index, values)
    got = segment_sum(values, index, rows)
    assert got.shape == want.shape and got.dtype == dtype
    assert torch.equal(got, want)


def test_segment_sum_edges():
    assert segment_sum(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64), 4).shape == (4, 3)
    assert segment_sum(torch.ones(0), torch.zeros(0, dtype=torch.int64), 0).shape == (0,)
    index = torch.tensor([2, 2, 2])  # rows 0, 1, 3 empty
    assert segment_sum(torch.ones(3, 2), index, 4).tolist() == [[0, 0], [0, 0], [3, 3], [0, 0]]


def test_inversion_deterministic_repeats_and_matches_default():
    src = make_source(videos=2, frames=80)
    model, _ = train_tca(src, latent_dim=6, hidden_dim=16, epochs=3, lr=1e-2, batch_size=32,
                         progress=False)
    table = table_of(src, 3)
    kw = dict(progress=False, max_iters=40, max_frames_per_instance=8)
    before = _flags()
    a, _ = invert(model, src, table, deterministic=True, **kw)
    assert _flags() == before
    b, _ = invert(model, src, table, deterministic=True, **kw)
    plain, _ = invert(model, src, table, **kw)
    assert np.array_equal(a, b)
    # Same kernels on a CPU: the flag only forbids nondeterministic ones, so equal to rounding.
    np.testing.assert_allclose(a, plain, rtol=1e-5, atol=1e-6)


def test_training_deterministic_repeats():
    src = make_source(videos=2, frames=80)
    kw = dict(latent_dim=4, hidden_dim=8, epochs=2, batch_size=32, progress=False,
              memory_budget=4000, deterministic=True)  # sampled: beyond the memory budget
    a, ra = train_tca(src, **kw)
    b, rb = train_tca(src, **kw)
    assert not ra.in_memory and ra.history == rb.history
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_inversion_and_training_repeat_bit_for_bit():
    src = make_source(videos=3, frames=120)
    kw = dict(latent_dim=6, hidden_dim=16, epochs=3, batch_size=32, progress=False,
              device="cuda", deterministic=True)
    m1, _ = train_tca(src, **kw)
    m2, _ = train_tca(src, **{**kw, "memory_budget": 4000})  # sampled beyond the budget
    m3, _ = train_tca(src, **{**kw, "memory_budget": 4000})
    assert all(torch.equal(x, y) for x, y in zip(m2.state_dict().values(), m3.state_dict().values()))
    table = table_of(src, 4)
    inv = dict(progress=False, max_iters=60, max_frames_per_instance=8, device="cuda")
    a, _ = invert(m1, src, table, deterministic=True, **inv)
    b, _ = invert(m1, src, table, deterministic=True, **inv)
    c, _ = invert(m1, src, table, **inv)  # ordered segment sums: repeatable without the flag
    d, _ = invert(m1, src, table, **inv)
    cpu, _ = invert(m1.cpu(), src, table, **{**inv, "device": "cpu"})
    assert np.array_equal(a, b) and np.array_equal(c, d)
    np.testing.assert_allclose(a, cpu, rtol=1e-3, atol=1e-3)
