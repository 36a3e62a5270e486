"""The decode budget: a few-KB archive claiming a huge decode is refused before allocating,
with a ``DecodeBudgetError`` naming the video and the figure; decodes whose output fits are
split into segment groups when only their temporaries would not."""

from __future__ import annotations

import os
import tracemalloc

import numpy as np
import pytest

from make_golden import GOLDEN_DIR, build, mlp_decoder
from tascodec.cli import main
from tascodec.content import ArchiveContent, SegmentTable
from tascodec.decode import decode_video
from tascodec.decode.budget import _segment_temporaries
from tascodec.decode.budget import ENV_VAR, default_limit, plan_decode, resolve_limit
from tascodec.errors import DecodeBudgetError, TascodecError
from tascodec.format import open_archive, write_archive


def _table(lengths, ks, name="huge"):
    lengths, ks = np.asarray(lengths, np.int64), np.asarray(ks, np.int64)
    return SegmentTable([name], np.array([lengths.sum()]), np.array([lengths.size]),
                        np.zeros(lengths.size, np.int64), lengths, ks)


@pytest.fixture()
def long_video(tmp_path):
    """One video of 2^25 frames x D = 2048 (256 GiB decoded) in a few KB."""
    D = 2048
    table = _table([1 << 25], [1])
    content = ArchiveContent("mean", {"id": "mean"}, "repeat", ["a"], {}, table,
                             np.zeros((1, D), np.float32), D, D, None, {})
    return write_archive(content, tmp_path / "long.tasz")


@pytest.fixture()
def wide_hidden(tmp_path):
    """A segment of 2^20 one-frame instances through a decoder 2^14 wide: N x H (64 GiB of
    float32 hidden activations) far beyond the limit, though the output is 4 MiB."""
    n, H = 1 << 20, 1 << 14
    table = _table([n], [n], "wide")
    dec = mlp_decoder(np.random.default_rng(0), d=1, a=1, h=H, D=1)
    dec.tensors = {k: np.zeros_like(v) for k, v in dec.tensors.items()}
    content = ArchiveContent("inversion", {"id": "inversion"}, "mlp", ["a"], {}, table,
                             np.zeros((n, 1), np.float32), 1, 1, dec, {})
    return write_archive(content, tmp_path / "wide.tasz")


@pytest.mark.parametrize("fixture, figure", [("long_video", "2048 float32"),
                                             ("wide_hidden", "temporaries")])
def test_huge_decodes_refused_before_allocating(request, fixture, figure):
    path = request.getfixturevalue(fixture)
    assert path.stat().st_size < 64 << 10
    with open_archive(path, decode_limit="1GiB") as ar:
        assert ar.verify() == []
        video = ar.videos[0]
        tracemalloc.start()
        try:
            with pytest.raises(DecodeBudgetError, match=video) as err:
                ar.decode(video)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert figure in str(err.value) and "decode limit" in str(err.value)
        assert str(path) in str(err.value)
        assert peak < 64 << 20, peak
        with pytest.raises(DecodeBudgetError):
            decode_video(ar, video, device="cpu-torch")


def test_cli_decode_reports_budget(long_video, tmp_path, capsys):
    assert main(["decode", str(long_video), "huge", "-o", str(tmp_path / "x.npy")]) == 2
    assert "decode limit" in capsys.readouterr().err


def test_limit_sources(monkeypatch):
    assert default_limit() <= 8 << 30
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_limit() == default_limit()
    monkeypatch.setenv(ENV_VAR, "512MiB")
    assert resolve_limit() == 512 << 20
    assert resolve_limit(1000) == 1000 and resolve_limit("2g") == 2 << 30
    for bad in (0, -1, "lots", "1 parsec", 1.5, True):
        with pytest.raises(TascodecError, match="limit"):
            resolve_limit(bad)
    with pytest.raises(TascodecError):
        open_archive(GOLDEN_DIR / "mlp.tasz", decode_limit="nope")


def test_env_archive_and_call_limits(monkeypatch):
    path = GOLDEN_DIR / "mlp.tasz"
    monkeypatch.setenv(ENV_VAR, "1000")  # below any video's output
    with open_archive(path) as ar:
        with pytest.raises(DecodeBudgetError):
            ar.decode(0)
        assert ar.decode(0, limit=1 << 20).shape[1] == 12
    with open_archive(path, decode_limit=1 << 20) as ar:
        ar.decode(0)
    monkeypatch.delenv(ENV_VAR)
    with open_archive(path, decode_limit=1000) as ar:
        with pytest.raises(DecodeBudgetError):
            ar.decode(0)


def test_torch_dataset_limit(monkeypatch):
    pytest.importorskip("torch")
    from tascodec.loading.torch_data import TaszDataset

    ds = TaszDataset(GOLDEN_DIR / "mlp.tasz", "train", decode_limit=1000)
    with pytest.raises(DecodeBudgetError):
        ds[0]
    assert TaszDataset(GOLDEN_DIR / "mlp.tasz", "train")[0][0].shape[0] == 12


def test_plan_groups_cover_segments():
    length = np.array([5, 1, 9, 2, 7, 30, 3])
    k = np.array([2, 1, 3, 1, 2, 4, 1])
    full = plan_decode("mlp", length, k, code_dim=8, feature_dim=12, hidden_dim=16,
                       limit=1 << 30)
    assert full.groups == ((0, 7),)
    fixed = full.output + full.codes + full.decoder
    largest = int(max(_segment_temporaries("mlp", length, k, 16, 12)))
    tight = plan_decode("mlp", length, k, code_dim=8, feature_dim=12, hidden_dim=16,
                        limit=fixed + largest)
    assert len(tight.groups) > 2
    assert tight.groups[0][0] == 0 and tight.groups[-1][1] == 7
    assert all(a[1] == b[0] for a, b in zip(tight.groups, tight.groups[1:]))
    assert tight.total <= tight.limit


@pytest.mark.parametrize("device", [None, "cpu-torch"])
@pytest.mark.parametrize("name", ["mlp", "mlp-int8", "raw", "repeat"])
def test_grouped_decode_matches_one_shot(name, device, monkeypatch):
    if device is not None:
        pytest.importorskip("torch")
    from tascodec.decode import budget

    groups = []
    real = budget.plan_decode

    def one_segment_room(kind, length, k_eff, **kw):
        p = real(kind, length, k_eff, **{**kw, "limit": 1 << 30})
        largest = int(max(_segment_temporaries(kind, length, k_eff, kw["hidden_dim"],
                                               kw["feature_dim"], kw["backend"])))
        out = real(kind, length, k_eff,
                   **{**kw, "limit": p.total - p.temporaries + largest})
        groups.append(len(out.groups))
        return out

    with open_archive(GOLDEN_DIR / f"{name}.tasz") as ar:
        whole = [ar.decode(v, device) for v in ar.videos]
        monkeypatch.setattr("tascodec.decode.plan.plan_decode", one_segment_room)
        for v, x in zip(ar.videos, whole):
            np.testing.assert_allclose(ar.decode(v, device), x, rtol=1e-5, atol=1e-5)
    assert max(groups) > 1


def test_numpy_estimate_covers_measured_peak():
    """The NumPy decoder's traced peak stays under the plan's output + temporaries."""
    import tracemalloc

    from tascodec.decode import decode_segments, prepare_decoder

    rng = np.random.default_rng(0)
    for lmax, kfrac, H, D in ((300, 0.1, 64, 32), (300, 1.0, 64, 32), (900, 0.01, 32, 256),
                              (50, 0.5, 128, 8)):
        length = rng.integers(1, lmax, 60)
        k = np.maximum(1, (length * kfrac).astype(np.int64))
        prep = prepare_decoder(mlp_decoder(rng, d=8, a=3, h=H, D=D))
        codes = rng.normal(size=(int(k.sum()), 8)).astype(np.float32)
        action = rng.integers(0, 3, length.size)
        tracemalloc.start()
        try:
            decode_segments("mlp", codes, action, length, k, prep)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        p = plan_decode("mlp", length, k, code_dim=8, feature_dim=D, hidden_dim=H,
                        limit=1 << 40)
        assert peak <= p.output + p.temporaries, (peak, p)


def test_golden_contents_decode_under_the_default(tmp_path):
    content, dtype = build("mlp")
    path = write_archive(content, tmp_path / "a.tasz", code_dtype=dtype)
    with open_archive(path) as ar:
        for v in ar.videos:
            assert ar.decode(v).shape == (ar.num_frames(v), 12)


@pytest.mark.parametrize("text", ["9" * 400, "9" * 400 + ".5GiB", "1" + "0" * 320 + "TB"])
def test_huge_limits_are_exact_not_overflow(text, monkeypatch):
    """Issue 28 item 8: a 400-digit limit was ``int(float(...))``: ``OverflowError``."""
    assert resolve_limit(text) >= 10 ** 300
    monkeypatch.setenv(ENV_VAR, text)
    assert resolve_limit() == resolve_limit(text)
    with open_archive(GOLDEN_DIR / "mlp.tasz") as ar:
        assert ar.decode(0).shape[1] == 12
    monkeypatch.delenv(ENV_VAR)
    with open_archive(GOLDEN_DIR / "mlp.tasz", decode_limit=text) as ar:
        assert ar.decode(0).shape[1] == 12


def test_code_heavy_decodes_stay_within_the_estimate(tmp_path):
    """The family's own archives (``adversarial_budget.built``): each decode's traced peak is
    at most 1.5 x ``DecodePlan.total``, with the default limit and in segment groups."""
    from adversarial_budget import MAX_RATIO, built, grouping_limit, traced_decode

    worst = {}
    for name, path in built(tmp_path):
        with open_archive(path) as ar:
            for v in ar.videos:
                for limit in (None, grouping_limit(ar, v)):
                    peak, total = traced_decode(ar, v, limit)
                    worst[name] = max(worst.get(name, 0), peak / total)
    assert max(worst.values()) <= MAX_RATIO, worst


def test_default_limit_respects_the_address_space_limit(monkeypatch):
    """Issue 28 item 1: under ``ulimit -v 4GiB`` the default (half the RAM) admitted decodes
    that raised ``MemoryError``; the default is at most half the address-space limit."""
    from tascodec.decode import budget
    from tascodec.runtime import memory

    monkeypatch.setattr(memory, "physical_memory", lambda: 64 << 30)
    monkeypatch.setattr(memory, "address_space_limit", lambda: 4 << 30)
    assert budget.default_limit() == 2 << 30
    monkeypatch.setattr(memory, "address_space_limit", lambda: None)
    assert budget.default_limit() == budget.DEFAULT_CAP
    monkeypatch.setattr(memory, "physical_memory", lambda: 6 << 30)
    assert budget.default_limit() == 3 << 30
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    assert budget.default_limit() == budget.DEFAULT_CAP


def test_generated_codes_under_an_address_space_cap_are_refused_not_memory_error(tmp_path):
    """Issue 28 item 1: a few-KB ``tca-random`` archive declaring 250 codes 2^20 wide (1 GiB
    of float32 codes) raised ``MemoryError`` under ``ulimit -v`` (the generator held 2 GiB
    of uint64 counters besides); now the default limit is half the cap and the estimate
    counts the codes, so the decode is refused before anything is allocated."""
    import subprocess
    import sys

    n, d = 250, 1 << 20
    table = _table([1] * n, [1] * n, "v")
    dec = mlp_decoder(np.random.default_rng(0), d=d, a=1, h=1, D=1)
    dec.tensors = {k: np.ones_like(v) for k, v in dec.tensors.items()}
    content = ArchiveContent("tca-random", {"id": "tca-random", "k": 1, "seed": 3}, "mlp",
                             ["a"], {}, table, None, d, 1, dec, {})
    path = write_archive(content, tmp_path / "big.tasz")
    assert path.stat().st_size < 64 << 10
    code = ("import resource\n"
            "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from tascodec.format import open_archive\n"
            "from tascodec.errors import DecodeBudgetError\n"
            f"with open_archive({str(path)!r}) as ar:\n"
            "    try:\n"
            "        ar.decode(0)\n"
            "    except DecodeBudgetError as exc:\n"
            "        print('refused', exc)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.startswith("refused"), proc.stderr[-2000:]
    assert "decode limit of 1.0 GiB" in proc.stdout
