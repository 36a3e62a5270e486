"""TCA model: shapes, gradients, decoder checkpoint round trip and its validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.content import DecoderCheckpoint
from tascodec.errors import TascodecError
from tascodec.tca.model import TCA, TCADecoder, decoder_from_checkpoint


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def make_model(dim=12, classes=4, d=5, h=7, seed=0) -> TCA:
    torch.manual_seed(seed)
    model = TCA(dim, classes, latent_dim=d, hidden_dim=h)
    g = np.random.default_rng(seed)
    model.set_normalization(g.normal(size=dim), g.uniform(0.5, 2.0, size=dim))
    return model


def batch(model: TCA, b=9, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, model.feature_dim, generator=g)
    a = torch.randint(0, model.num_classes, (b,), generator=g)
    c = torch.rand(b, generator=g)
    return x, a, c


def test_shapes():
    model = make_model()
    x, a, c = batch(model)
    mu, logvar = model.encode(x, a, c)
    assert mu.shape == logvar.shape == (9, 5)
    assert model.decode(mu, a, c).shape == (9, 12)
    x_hat, mu2, logvar2 = model(x, a, c)
    assert x_hat.shape == (9, 12) and torch.equal(mu, mu2) and torch.equal(logvar, logvar2)


def test_gradient_reaches_every_parameter():
    model = make_model()
    x, a, c = batch(model, b=64)
    x_hat, mu, logvar = model(x, a, c)
    ((x_hat - x) ** 2).mean().add(mu.pow(2).mean() + logvar.exp().mean()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_decoder_is_piecewise_linear_in_c():
    """With z and a fixed the first layer is affine in c, the output layer linear."""
    model = make_model(h=16)
    z = torch.randn(1, 5).repeat(201, 1)
    a = torch.full((201,), 2)
    c = torch.linspace(0, 1, 201)
    with torch.no_grad():
        pre = model.decoder.fc1(torch.cat([z, torch.nn.functional.one_hot(a, 4).float(),
                                           c[:, None]], 1))
        out = model.decode(z, a, c)
    same = ((pre[1:] > 0) == (pre[:-1] > 0)).all(1)
    same = same[1:] & same[:-1]  # three consecutive points share an activation pattern
    second = out[2:] - 2 * out[1:-1] + out[:-2]
    assert same.sum() > 100
    assert second[same].abs().max() < 1e-4


def test_checkpoint_round_trip_exact():
    model = make_model()
    z = torch.randn(9, 5)
    _, a, c = batch(model)
    ckpt = model.decoder_checkpoint()
    assert ckpt.arch == {"name": "tca-mlp", "latent_dim": 5, "num_classes": 4, "hidden_dim": 7,
                         "feature_dim": 12, "activation": "relu"}
    shapes = {k: v.shape for k, v in ckpt.tensors.items()}
    assert shapes == {"w1": (7, 10), "b1": (7,), "w2": (12, 7), "b2": (12,),
                      "feature_offset": (12,), "feature_scale": (12,)}
    assert all(v.dtype == np.float32 for v in ckpt.tensors.values())
    dec = decoder_from_checkpoint(ckpt)
    assert isinstance(dec, TCADecoder)
    with torch.no_grad():
        want = model.denormalize(model.decode(z, a, c))
        got = dec.features(z, a, c)
    assert torch.equal(want, got)
    # The documented formula, in NumPy.
    t = ckpt.tensors
    u = np.concatenate([z.numpy(), np.eye(4, dtype=np.float32)[a.numpy()], c.numpy()[:, None]], 1)
    h = np.maximum(u @ t["w1"].T + t["b1"], 0)
    x = (h @ t["w2"].T + t["b2"]) * t["feature_scale"] + t["feature_offset"]
    np.testing.assert_allclose(x, want.numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(dim=st.integers(1, 9), classes=st.integers(1, 5), d=st.integers(1, 6),
       h=st.integers(1, 9), seed=st.integers(0, 1000))
def test_checkpoint_round_trip_property(dim, classes, d, h, seed):
    model = make_model(dim, classes, d, h, seed)
    x, a, c = batch(model, b=5, seed=seed)
    z = torch.randn(5, d)
    dec = decoder_from_checkpoint(model.decoder_checkpoint())
    with torch.no_grad():
        assert torch.equal(dec(z, a, c), model.decode(z, a, c))
        assert torch.equal(dec.normalize(x), model.normalize(x))


def test_normalize_inverts_denormalize():
    model = make_model()
    x = torch.randn(4, 12)
    torch.testing.assert_close(model.denormalize(model.normalize(x)), x)


def test_scale_floor():
    model = TCA(3, 2, 2, 2)
    model.set_normalization(np.zeros(3), np.array([1.0, 0.0, 2.0]))
    assert model.feature_scale[1] > 0


def _ckpt(**changes) -> DecoderCheckpoint:
    ckpt = make_model().decoder_checkpoint()
    arch, tensors = dict(ckpt.arch), dict(ckpt.tensors)
    for k, v in changes.items():
        if k in arch:
            arch[k] = v
        elif v is None:
            tensors.pop(k)
        else:
            tensors[k] = v
    return DecoderCheckpoint(arch, tensors)


@pytest.mark.parametrize("changes, match", [
    ({"name": "other"}, "arch name"),
    ({"activation": "gelu"}, "activation"),
    ({"hidden_dim": 0}, "hidden_dim"),
    ({"latent_dim": "5"}, "latent_dim"),
    ({"w1": None}, "missing tensors"),
    ({"w2": np.zeros((12, 6), np.float32)}, "'w2' has shape"),
    ({"b1": np.full(7, np.nan, np.float32)}, "finite"),
    ({"feature_scale": np.zeros(12, np.float32)}, "feature_scale"),
    ({"hidden_dim": 8}, "shape"),
])
def test_checkpoint_errors(changes, match):
    with pytest.raises(TascodecError, match=match):
        decoder_from_checkpoint(_ckpt(**changes))


def test_checkpoint_arch_not_dict():
    with pytest.raises(TascodecError, match="arch name"):
        decoder_from_checkpoint(DecoderCheckpoint("tca-mlp", {}))  # type: ignore[arg-type]


@pytest.mark.parametrize("args", [(0, 3), (4, -1), (4, 3, 0), (4, 3, 2, True)])
def test_bad_dimensions(args):
    with pytest.raises(TascodecError):
        TCA(*args)


def test_bad_inputs():
    model = make_model()
    _, a, c = batch(model)
    with pytest.raises(TascodecError, match="encode"):
        model.encode(torch.zeros(9, 11), a, c)
    with pytest.raises(TascodecError, match="decode"):
        model.decode(torch.zeros(9, 4), a, c)
    with pytest.raises(TascodecError, match="offset"):
        model.set_normalization(np.zeros(3), np.ones(12))
    with pytest.raises(TascodecError, match="scale"):
        model.set_normalization(np.zeros(12), np.full(12, np.inf))
