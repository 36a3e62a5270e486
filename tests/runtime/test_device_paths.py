"""The device paths, run on the CPU through the same code: MS-TCN training on tensor items
without host round trips, evaluate's decode with the torch decoder."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from tascodec.errors import TascodecError
from tascodec.harness.evaluate import evaluate_archive
from tascodec.harness.items import DecodedItems
from tascodec.harness.mstcn import train_mstcn

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SMALL = {"num_stages": 2, "num_layers": 3, "num_f_maps": 8}


class _Counter:
    """Counts calls of host-transfer and host-sync tensor methods made by tascodec's code
    while installed (torch's own, e.g. Adam reading its CPU step counter, are not ours)."""

    NAMES = ("cpu", "numpy", "item", "tolist", "__float__", "__int__", "__bool__")

    def __init__(self, monkeypatch) -> None:
        self.calls = {name: 0 for name in self.NAMES}
        package = str(Path(__file__).resolve().parents[2] / "tascodec")
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)

            def counted(t, *a, _name=name, _original=original, **k):
                if sys._getframe(1).f_code.co_filename.startswith(package):
                    self.calls[_name] += 1
                return _original(t, *a, **k)

            monkeypatch.setattr(torch.Tensor, name, counted)


def _tensor_items(n=4, dim=6, classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randn(dim, 20 + 3 * i, generator=gen),
             torch.randint(0, classes, (20 + 3 * i,), generator=gen)) for i in range(n)]


@pytest.mark.parametrize("batch_size", [1, 3])
def test_mstcn_on_tensor_items_never_leaves_the_device(monkeypatch, batch_size):
    items = _tensor_items()
    epochs = 3
    counter = _Counter(monkeypatch)
    train_mstcn(items, num_classes=3, epochs=epochs, progress=False, batch_size=batch_size,
                **SMALL)
    calls = counter.calls
    assert calls["cpu"] == 0 and calls["numpy"] == 0 and calls["tolist"] == 0
    # Host syncs: each item's label check once (first sight), one loss read per epoch; none
    # per step (steps = epochs * ceil(n / batch_size) would exceed this bound for batch 1).
    syncs = calls["item"] + calls["__float__"] + calls["__int__"] + calls["__bool__"]
    assert syncs <= len(items) + epochs


def test_mstcn_tensor_items_equal_array_items():
    items = _tensor_items()
    arrays = [(x.numpy(), y.numpy()) for x, y in items]
    ha, hb = [], []
    a = train_mstcn(items, num_classes=3, epochs=2, progress=False, history=ha, **SMALL)
    b = train_mstcn(arrays, num_classes=3, epochs=2, progress=False, history=hb, **SMALL)
    assert ha == hb
    assert all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values()))


def test_mstcn_tensor_item_label_errors_named():
    x, y = _tensor_items(n=1)[0]
    bad = y.clone()
    bad[4] = 7
    with pytest.raises(TascodecError, match="label 7 at frame 4"):
        train_mstcn([(x, bad)], num_classes=3, epochs=1, progress=False, **SMALL)
    with pytest.raises(TascodecError, match="labels must be integers"):
        train_mstcn([(x, y.float())], num_classes=3, epochs=1, progress=False, **SMALL)


@pytest.fixture(scope="module")
def encoded_archive(tiny_dataset, tmp_path_factory) -> Path:
    import tascodec

    out = tmp_path_factory.mktemp("dev") / "tiny.tasz"
    tascodec.encode(tiny_dataset, out, codec="encoded", k=2, recipe="quick", device="cpu",
                    progress=False, deterministic=True)
    return out


def test_encode_records_deterministic(encoded_archive):
    import tascodec

    with tascodec.open(encoded_archive) as archive:
        assert archive.header["stats"]["deterministic"] is True


def test_torch_decoded_items_equal_numpy_items(encoded_archive, tiny_dataset):
    import tascodec

    with tascodec.open(encoded_archive) as archive:
        videos = list(archive.videos)[:3]
        host = DecodedItems(archive, videos, archive.feature_dim, "a")
        dev = DecodedItems(archive, videos, archive.feature_dim, "a", device=torch.device("cpu"))
        for i in range(len(videos)):
            (xn, yn), (xt, yt) = host[i], dev[i]
            assert isinstance(xt, torch.Tensor) and xt.shape == xn.shape and xt.is_contiguous()
            assert np.array_equal(yt.numpy(), yn)
            # Two float32 decoders: equal to float32 rounding of the decoder's products.
            np.testing.assert_allclose(xt.numpy(), xn, rtol=1e-5, atol=1e-5 * np.abs(xn).max())
            assert dev[i][0] is xt  # cached on the device side too


def test_evaluate_through_the_torch_decoder(encoded_archive, tiny_dataset):
    args = dict(seeds=(0,), epochs=2, progress=False, device="cpu", mstcn_options=SMALL)
    numpy_path = evaluate_archive(encoded_archive, tiny_dataset, **args)
    auto_path = evaluate_archive(encoded_archive, tiny_dataset, decode="numpy", **args)
    torch_path = evaluate_archive(encoded_archive, tiny_dataset, decode="torch",
                                  deterministic=True, **args)
    assert numpy_path.per_seed == auto_path.per_seed  # on a CPU "auto" is the NumPy decoder
    for key, value in numpy_path.mean.items():  # same training on nearly equal features
        assert torch_path.mean[key] == pytest.approx(value, abs=5.0), key


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_paths(encoded_archive, tiny_dataset, monkeypatch):
    cuda = torch.device("cuda")
    items = [(x.to(cuda), y.to(cuda)) for x, y in _tensor_items()]
    counter = _Counter(monkeypatch)
    train_mstcn(items, num_classes=3, epochs=2, progress=False, device="cuda", **SMALL)
    assert counter.calls["cpu"] == 0 and counter.calls["numpy"] == 0
    monkeypatch.undo()
    args = dict(seeds=(0,), epochs=2, progress=False, device="cuda", mstcn_options=SMALL,
                deterministic=True)
    a = evaluate_archive(encoded_archive, tiny_dataset, **args)  # decodes on the GPU
    b = evaluate_archive(encoded_archive, tiny_dataset, **args)
    assert a.per_seed == b.per_seed and a.device.startswith("cuda")


def test_cli_deterministic_flags_reach_encode_and_eval(monkeypatch, capsys, tmp_path):
    import tascodec.cli.encode as encode_command
    import tascodec.cli.eval as eval_command
    from tascodec.cli import main

    seen = {}

    def fake(*args, **kwargs):
        seen.update(kwargs)
        raise TascodecError("stop here")

    monkeypatch.setattr(encode_command, "encode", fake)  # the commands' own bindings
    monkeypatch.setattr(eval_command, "evaluate_archive", fake)
    d, out = str(tmp_path), str(tmp_path / "o.tasz")  # the CLI checks the folder exists
    assert main(["encode", d, out, "--deterministic"]) == 2
    assert seen.pop("deterministic") is True
    assert main(["encode", d, out]) == 2
    assert seen.pop("deterministic") is False
    assert main(["eval", "original", "--dataset", d, "--deterministic"]) == 2
    assert seen.pop("deterministic") is True
    capsys.readouterr()
