"""The torch decode agrees with the NumPy path (CPU torch here; CUDA under the ``gpu`` mark),
copying its inputs to the device twice."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from tascodec.decode import decode_reference, decode_segments  # noqa: E402
from tascodec.decode.torch import decode_segments_torch  # noqa: E402
from tascodec.runtime.devices import resolve_device as torch_device  # noqa: E402
from tascodec.errors import TascodecError  # noqa: E402
from testkit import random_decoder, random_table


def _close(x: np.ndarray, ref: np.ndarray, rel: float) -> None:
    assert x.shape == ref.shape and x.dtype == np.float32
    np.testing.assert_array_less(np.abs(x - ref), rel * max(float(np.abs(ref).max()), 1e-6))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    max_len=st.sampled_from([1, 2, 7, 40]),
    k=st.sampled_from([None, 1, 3, 8]),
    c_scale=st.sampled_from([0.0, 1.0, 30.0]),
    zero_c=st.integers(0, 8),
)
def test_torch_cpu_agrees_with_numpy(seed, max_len, k, c_scale, zero_c):
    rng = np.random.default_rng(seed)
    dec = random_decoder(rng, c_scale=c_scale, zero_c=zero_c)
    action, length, k_eff = random_table(rng, 5, max_len, k)
    codes = rng.standard_normal((int(k_eff.sum()), 8)).astype(np.float32)
    x = decode_segments_torch("mlp", codes, action, length, k_eff, dec, device="cpu-torch")
    assert x.device.type == "cpu" and x.dtype == torch.float32
    _close(x.numpy(), decode_segments("mlp", codes, action, length, k_eff, dec), 1e-5)
    _close(x.numpy(), decode_reference("mlp", codes, action, length, k_eff, dec), 1e-5)


def test_torch_repeat_and_tensor_codes():
    rng = np.random.default_rng(0)
    action, length, k_eff = random_table(rng, 4, 9, 2)
    codes = rng.standard_normal((int(k_eff.sum()), 12)).astype(np.float32)
    x = decode_segments_torch("repeat", torch.from_numpy(codes), action, length, k_eff, None,
                              device="cpu")
    np.testing.assert_array_equal(x.numpy(), decode_segments("repeat", codes, action, length,
                                                             k_eff, None))


def test_torch_errors():
    rng = np.random.default_rng(1)
    dec = random_decoder(rng)
    with pytest.raises(TascodecError, match="not a torch device"):
        torch_device("gpu-please")
    with pytest.raises(TascodecError, match="needs a decoder"):
        decode_segments_torch("mlp", np.zeros((1, 8), np.float32), [0], [1], [1], None,
                              device="cpu")
    with pytest.raises(TascodecError, match="decode_kind"):
        decode_segments_torch("gru", np.zeros((1, 8), np.float32), [0], [1], [1], dec,
                              device="cpu")
    if not torch.cuda.is_available():
        with pytest.raises(TascodecError, match="CUDA is not available"):
            torch_device("cuda")


@pytest.mark.gpu
def test_cuda_agrees_with_numpy():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    rng = np.random.default_rng(2)
    dec = random_decoder(rng, d=32, a=11, h=128, dim=256, c_scale=5.0)
    action, length, k_eff = random_table(rng, 30, 80, 8, a=11)
    codes = rng.standard_normal((int(k_eff.sum()), 32)).astype(np.float32)
    x = decode_segments_torch("mlp", codes, action, length, k_eff, dec, device="cuda")
    assert x.device.type == "cuda"
    _close(x.cpu().numpy(), decode_segments("mlp", codes, action, length, k_eff, dec), 1e-5)


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
