"""Network inversion: objective forms, gradients, convergence, independence, K_eff, errors,
chunks counted in sampled frames (issue 26)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tascodec.content import SegmentTable
from tascodec.errors import TascodecError
from tascodec.tca.encoder import encoded_codes
from tascodec.tca.invert import _loss_grad, _Objective, invert
from tascodec.tca.instance_plan import InversionPlan
from tascodec.tca.model import decoder_from_checkpoint
from tascodec.rng import random_codes
from tascodec.dataset.source import ArraySource
from tascodec.tca.train import train_tca
from testkit import make_source, table_of


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def decoded_mse(model, src, table, codes) -> float:
    """MSE (original units) of decoding ``codes`` frame by frame with the checkpoint."""
    plan = InversionPlan.build(src, table)
    dec = decoder_from_checkpoint(model.decoder_checkpoint())
    z = torch.from_numpy(codes[plan.frame_inst])
    a = torch.from_numpy(plan.inst_action[plan.frame_inst])
    with torch.no_grad():
        x_hat = dec.features(z, a, torch.from_numpy(plan.frame_c)).double().numpy()
    x = np.concatenate([src.features(v) for v in table.video_names]).astype(np.float64)
    return float(((x_hat - x) ** 2).mean())


FAST = {"progress": False, "max_iters": 150, "lr": 0.05}


def test_gram_equals_direct(model, src):
    dec = model.decoder
    x = torch.from_numpy(src.features("v0")[:40])
    h = torch.relu(torch.randn(40, 16))
    idx = torch.arange(0, 40, 3)
    with torch.no_grad():
        gram = _Objective(dec, lambda a, b: x[a:b], 40, "gram", block=7)
        direct = _Objective(dec, lambda a, b: x[a:b], 40, "direct")
        e_g, g_g = gram(h[idx], idx, True)
        e_d, g_d = direct(h[idx], idx, True)
        want = ((dec.denormalize(dec.fc2(h[idx])) - x[idx]) ** 2).sum(1).double()
    torch.testing.assert_close(e_g, e_d, rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(e_d, want, rtol=1e-5, atol=1e-4)
    torch.testing.assert_close(g_g, g_d, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("form", ["gram", "direct"])
def test_manual_gradient_matches_autograd(model, src, form):
    dec = model.decoder
    n, rows = 30, 4
    x = torch.from_numpy(src.features("v1")[:n])
    local = torch.sort(torch.randint(0, rows, (n,))).values
    a = torch.randint(0, 4, (rows,))
    c = torch.rand(n)
    w = torch.rand(n).double() + 0.5
    z = torch.randn(rows, 6, requires_grad=True)
    xh = dec.features(z[local], a[local], c)
    loss = (((xh - x) ** 2).sum(1).double() * w).sum()
    loss.backward()
    with torch.no_grad():
        w1 = dec.fc1.weight
        pre = (z @ w1[:, :6].T + w1[:, 6:10][:, a].T + dec.fc1.bias)[local] + c[:, None] * w1[:, -1]
        obj = _Objective(dec, lambda i, j: x[i:j], n, form)
        err, grad = _loss_grad(obj, pre, torch.arange(n), local, w, w1[:, :6], rows)
    torch.testing.assert_close(grad, z.grad, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close((err * w).sum(), loss.detach(), rtol=1e-4, atol=1e-3)


def test_inversion_beats_encoded(model, src):
    table = table_of(src, 4)
    codes, rep = invert(model, src, table, **FAST)
    enc = encoded_codes(model, src, table)
    assert codes.shape == (table.num_codes, 6) and codes.dtype == np.float32
    init = decoded_mse(model, src, table, enc)
    final = decoded_mse(model, src, table, codes)
    assert rep.init_mse == pytest.approx(init, rel=1e-3)
    assert rep.mse == pytest.approx(final, rel=1e-3)
    assert final < 0.8 * init
    assert rep.num_codes == table.num_codes and rep.num_frames == 270
    assert 0 < rep.mean_iterations <= rep.iterations <= 150
    assert rep.decoder_evals >= 2 * 270 + rep.iterations  # init, final, iterations
    assert rep.stopped_by_tol > 0  # the tolerance stops instances early
    assert rep.encoder_evals == 270


@pytest.mark.parametrize("objective", ["gram", "direct"])
def test_objective_forms_agree(model, src, objective):
    table = table_of(src, 2, ["v0"])
    _, r1 = invert(model, src, table, objective=objective, **FAST)
    _, r2 = invert(model, src, table, objective="auto", **FAST)
    assert r1.mse == pytest.approx(r2.mse, rel=2e-2)


def test_subset_gives_same_codes(model, src):
    """Instances are independent: a subset of videos, or other chunks, give the same codes."""
    full = table_of(src, 3)
    codes, _ = invert(model, src, full, **FAST)
    sub = table_of(src, 3, ["v1"])
    c_sub, _ = invert(model, src, sub, **FAST)
    first = full.video_first_code
    np.testing.assert_allclose(c_sub, codes[first[1]:first[2]], rtol=1e-4, atol=1e-4)
    c_chunked, rep = invert(model, src, full, chunk_frames=20, **FAST)
    assert rep.chunks > 5
    np.testing.assert_allclose(c_chunked, codes, rtol=1e-4, atol=1e-4)


def test_random_init_reproducible_and_counter_based(model, src):
    table = table_of(src, 2)
    c1, r1 = invert(model, src, table, init="random", seed=5, progress=False, max_iters=1,
                    lr=1e-9)
    c2, _ = invert(model, src, table, init="random", seed=5, progress=False, max_iters=1,
                   lr=1e-9)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(c1, random_codes(5, 0, table.num_codes, 6), atol=1e-6)
    assert r1.init_mse > 0


def test_decoder_only_model_and_array_init(model, src):
    table = table_of(src, 2)
    enc = encoded_codes(model, src, table)
    dec = decoder_from_checkpoint(model.decoder_checkpoint())
    c1, _ = invert(dec, src, table, init=enc, **FAST)
    c2, _ = invert(model, src, table, init="encoded", **FAST)
    np.testing.assert_allclose(c1, c2, rtol=1e-4, atol=1e-4)
    with pytest.raises(TascodecError, match="encoder"):
        invert(dec, src, table, init="encoded", progress=False)


def test_paper_style_runs_every_iteration(model, src):
    table = table_of(src, 8, ["v2"])
    _, rep = invert(model, src, table, init="random", tol=None, max_iters=7, lr=1e-3,
                    progress=False, history_at=(1, 3, 7, 50))
    assert rep.iterations == 7 and rep.mean_iterations == 7 and rep.stopped_by_tol == 0
    assert rep.decoder_evals == 9 * 90
    its, evals, mses = zip(*rep.history)
    assert its == (1, 3, 7, 50) and evals == (180, 360, 720, 720)
    assert mses[0] > mses[2] and mses[2] == mses[3]
    assert mses[-1] == pytest.approx(rep.mse)


def test_frame_subsampling(model, src):
    table = table_of(src, 1)
    _, full = invert(model, src, table, tol=None, **{**FAST, "max_iters": 20})
    _, sub = invert(model, src, table, tol=None, max_frames_per_instance=4,
                    **{**FAST, "max_iters": 20})
    assert sub.decoder_evals < full.decoder_evals / 2
    assert sub.mse < sub.init_mse


@pytest.mark.parametrize("k", [1, 2, 50, None])
def test_k_eff_handling(model, k):
    """l < K, l = 1 segments and per-frame (K=None) tables."""
    src = make_source(videos=2, frames=40, lengths=(1, 4), seed=3)
    table = table_of(src, k)
    assert (table.seg_length == 1).any()
    codes, rep = invert(model, src, table, **{**FAST, "max_iters": 30})
    assert codes.shape == (table.num_codes, 6)
    if k is None or k == 50:
        assert table.num_codes == 80
    assert rep.mse <= rep.init_mse
    assert rep.mse == pytest.approx(decoded_mse(model, src, table, codes), rel=1e-3)


@pytest.mark.parametrize("kwargs, match", [
    ({"init": "zeros"}, "unknown init"),
    ({"init": np.zeros((3, 6), np.float32)}, "init array"),
    ({"optimizer": "lbfgs"}, "unknown optimizer"),
    ({"objective": "fast"}, "objective"),
    ({"max_iters": 0}, "max_iters"),
    ({"chunk_frames": 0}, "chunk_frames"),
    ({"check_every": -1}, "check_every"),
    ({"tol": -1.0}, "tol"),
    ({"lr": 0.0}, "lr"),
    ({"max_frames_per_instance": 0}, "max_frames_per_instance"),
])
def test_bad_arguments(model, src, kwargs, match):
    with pytest.raises(TascodecError, match=match):
        invert(model, src, table_of(src, 2), progress=False, **kwargs)


def test_nan_init_array(model, src):
    table = table_of(src, 2)
    init = np.zeros((table.num_codes, 6), np.float32)
    invert(model, src, table, init=init, progress=False, max_iters=1)  # the right shape is fine
    init[3, 2] = np.nan
    with pytest.raises(TascodecError, match="init array must be finite"):
        invert(model, src, table, init=init, progress=False)


def test_mismatched_table(model, src):
    other = make_source(seed=9)
    table = table_of(other, 2)  # same names, other labels
    with pytest.raises(TascodecError, match="does not match the labels of video 'v0'"):
        invert(model, src, table, progress=False)
    with pytest.raises(TascodecError, match="does not match"):
        encoded_codes(model, src, table)
    bad = table_of(src, 2)
    bad.seg_num_instances = bad.seg_num_instances * 0  # k < 1
    with pytest.raises(TascodecError, match="seg_num_instances"):
        invert(model, src, bad, progress=False)
    with pytest.raises(TascodecError, match="unknown video"):
        invert(model, src, SegmentTable.from_labels(["zz"], [np.zeros(3, np.int64)], 1),
               progress=False)


def test_feature_dim_mismatch(model):
    src = make_source(dim=5)
    with pytest.raises(TascodecError, match="feature_dim"):
        invert(model, src, table_of(src, 2), init="random", progress=False)


def test_normalized_space_is_blind_to_channel_units(src):
    """Scaling each channel (units of raw sensors) and refitting gives the same codes in the
    normalised space; in original units the large channels would take over the fit."""
    rng = np.random.default_rng(5)
    scale = (10.0 ** rng.uniform(-3, 3, src.feature_dim)).astype(np.float32)
    scaled = ArraySource({v: src.features(v) * scale for v in src.videos},
                         {v: src.labels(v) for v in src.videos}, src.class_names)
    table = SegmentTable.from_labels(src.videos, [src.labels(v) for v in src.videos], 4)
    codes = []
    for source in (src, scaled):
        model, _ = train_tca(source, latent_dim=4, hidden_dim=16, epochs=2, progress=False)
        c, rep = invert(model, source, table, space="normalized", max_iters=40, progress=False)
        codes.append(c)
    np.testing.assert_allclose(codes[0], codes[1], rtol=2e-3, atol=2e-3)


def test_space_must_be_known(model, src):
    table = SegmentTable.from_labels(src.videos, [src.labels(v) for v in src.videos], 2)
    with pytest.raises(TascodecError, match="space"):
        invert(model, src, table, space="pixels", progress=False)


def test_host_syncs_only_on_check_iterations(model, src, monkeypatch):
    """The plateau decision is the one host sync of the loop, every ``check_every`` iterations
    (a GPU then runs the other iterations without waiting)."""
    table = SegmentTable.from_labels(src.videos, [src.labels(v) for v in src.videos], 4)
    calls = {"n": 0}
    real_bool = torch.Tensor.__bool__

    def counting_bool(self):
        calls["n"] += 1
        return real_bool(self)

    monkeypatch.setattr(torch.Tensor, "__bool__", counting_bool)
    invert(model, src, table, max_iters=60, tol=1e-12, check_every=10, lr_decays=100,
           progress=False)
    assert calls["n"] <= 60 // 10  # one per check, none on the 54 other iterations


def test_mstcn_smoothing_needs_no_host_sync(monkeypatch):
    from tascodec.harness.mstcn import smoothing_loss

    logits = torch.randn(2, 3, 7)
    mask = torch.ones(2, 7)
    mask[1, 4:] = 0
    expect = smoothing_loss(logits, mask)
    for name in ("__bool__", "__float__", "item"):
        monkeypatch.setattr(torch.Tensor, name, lambda self: pytest.fail(f"host sync: {name}"))
    assert torch.equal(smoothing_loss(logits, mask), expect)
    monkeypatch.undo()
    empty = torch.zeros(1, 7)
    assert float(smoothing_loss(logits[:1], empty)) == 0.0


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
