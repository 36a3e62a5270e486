"""Rate control: the distortion proxy, the allocation, the byte model and the code width."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.errors import BudgetTooSmallError, TascodecError
from tascodec.rate import (DECODER_SHARE, FLOOR_HIDDEN, HIDDEN_CHOICES, MIN_CODES_PER_SEGMENT,
                           allocate, decoder_params, latent_width, operating_point,
                           smallest_strict_budget)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=40), st.integers(0, 4000))
def test_allocation_respects_total_and_bounds(lengths: list[int], total: int) -> None:
    lengths_a = np.array(lengths)
    k = allocate(lengths_a, total)
    assert k.shape == lengths_a.shape
    assert (k >= 1).all() and (k <= lengths_a).all()
    assert k.sum() == min(max(total, lengths_a.size), lengths_a.sum())  # the budget is spent
    # water-filling: a segment below the cap holds every frame; above it, K differ by <= 1
    capped = k < lengths_a
    if capped.any():
        assert k[capped].max() - k[capped].min() <= 1
        assert (lengths_a[~capped] <= k[capped].max()).all()


def test_allocation_keeps_short_segments_per_frame() -> None:
    k = allocate(np.array([1, 3, 5, 40, 200]), 30)
    assert k.tolist()[:3] == [1, 3, 5]  # one code per frame where the segment is short
    assert k[3] in (10, 11) and k[4] in (10, 11) and k.sum() == 30
    assert k[4] >= k[3]  # the spare code goes to the longest segment


def test_allocation_refuses_bad_lengths() -> None:
    with pytest.raises(TascodecError, match="lengths"):
        allocate(np.array([3, 0]), 5)


def test_operating_point_keeps_the_decoder_within_its_share() -> None:
    point = operating_point(200_000, feature_dim=128, num_classes=11, latent_dim=24,
                            num_segments=700)
    assert 2 * decoder_params(128, 11, 24, point.hidden_dim) <= DECODER_SHARE * 200_000
    assert point.num_codes > 700
    wider = operating_point(200_000, feature_dim=128, num_classes=11, latent_dim=48,
                            num_segments=700)
    assert wider.num_codes < point.num_codes  # wider codes: fewer of them


def test_operating_point_refuses_a_budget_below_one_code_per_segment() -> None:
    with pytest.raises(TascodecError, match="per segment"):
        operating_point(20_000, feature_dim=2048, num_classes=48, latent_dim=256,
                        num_segments=5000)


def test_a_strict_budget_narrows_the_decoder_before_it_refuses() -> None:
    """Below the narrowest choice's floor, ``FLOOR_HIDDEN`` keeps the limit; above it, and
    wherever the narrowest choice still holds the minimum codes, nothing changes."""
    dims = dict(feature_dim=256, num_classes=9, latent_dim=32, num_segments=70)
    need = MIN_CODES_PER_SEGMENT * 70
    narrowest = HIDDEN_CHOICES[-1]
    floor = smallest_strict_budget(**dims)
    assert floor == smallest_strict_budget(hidden_dim=FLOOR_HIDDEN, **dims)
    assert floor < smallest_strict_budget(hidden_dim=narrowest, **dims)
    point = operating_point(floor, **dims)
    assert point.hidden_dim == FLOOR_HIDDEN and point.num_codes >= need
    with pytest.raises(BudgetTooSmallError) as small:
        operating_point(floor - 1, **dims)
    assert small.value.minimum_bytes == floor
    roomy = smallest_strict_budget(hidden_dim=narrowest, **dims)
    assert operating_point(roomy, **dims).hidden_dim == narrowest  # as before


@pytest.mark.parametrize("rank, expect", [(3, 8), (30, 24)])
def test_latent_width_follows_the_within_class_rank(rank: int, expect: int) -> None:
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 500)
    means = rng.normal(scale=10, size=(4, 64))
    basis = np.linalg.qr(rng.normal(size=(64, rank)))[0]  # (64, rank) orthonormal
    within = rng.normal(size=(labels.size, rank)) @ basis.T  # isotropic inside the subspace
    x = means[labels] + within
    assert latent_width(x, labels) == expect


def test_a_default_budget_too_small_for_the_data_is_raised_not_refused() -> None:
    args = dict(feature_dim=64, num_classes=5, latent_dim=8, num_segments=40)
    with pytest.raises(TascodecError, match="at least"):
        operating_point(5_000, **args)
    point = operating_point(5_000, strict=False, **args)
    assert point.budget_raised and point.budget_bytes > 5_000
    assert point.num_codes >= 2 * 40


# --- rate control through encode (k="auto") --------------------------------------------------

def _budgeted(tiny_dataset, path, **kwargs):
    from tascodec.encoding.encode import encode

    kwargs.setdefault("codec", "inversion")
    return encode(tiny_dataset, path, recipe="quick", progress=False, device="cpu", **kwargs)


def test_encode_meets_max_bytes_with_k_allocated_per_segment(tiny_dataset, tmp_path) -> None:
    from tascodec.format import open_archive

    first = _budgeted(tiny_dataset, tmp_path / "a.tasz", max_bytes=30_000)
    assert first.bytes["total"] <= 30_000
    assert 0 < first.relative_mse < 1 and "relative to each channel" in str(first)
    with open_archive(first.path) as ar:
        config, stats = ar.codec_config, ar.header["stats"]
        k = ar.table.seg_num_instances
        assert config["k"] == "auto" and config["budget_bytes"] <= 30_000
        assert stats["max_bytes"] == 30_000 and stats["target_ratio"] is None
        assert stats["operating_point"]["num_codes"] >= k.sum()
        assert (k >= 1).all() and (k <= ar.table.seg_length).all()
        assert len(set(k.tolist())) > 1  # allocated, not one K for all
        assert ar.header["codes"]["dtype"] == "int8"
        assert len(ar.videos) == len(ar.splits["train.split1"])  # gamma 1 by default
    larger = _budgeted(tiny_dataset, tmp_path / "b.tasz", max_bytes=40_000)
    assert first.codes < larger.codes <= sum(1 for _ in range(larger.frames))


def test_encode_target_ratio_sets_the_budget(tiny_dataset, tmp_path) -> None:
    summary = _budgeted(tiny_dataset, tmp_path / "r.tasz", target_ratio=4)
    assert summary.ratio >= 4 * 0.97  # a ratio target is met within the byte model's estimate


@pytest.mark.parametrize("kwargs, match", [
    ({"k": 8, "target_ratio": 50}, "k='auto'"),
    ({"target_ratio": 50, "max_bytes": 10_000}, "not both"),
    ({"target_ratio": 0.5}, "target_ratio"),
    ({"max_bytes": 2_000}, "at least"),
    ({"codec": "mean", "max_bytes": 2_000}, "codec 'mean' does not take"),
])
def test_encode_budget_errors_write_nothing(tiny_dataset, tmp_path, kwargs, match) -> None:
    out = tmp_path / "x.tasz"
    with pytest.raises(TascodecError, match=match):
        _budgeted(tiny_dataset, out, **kwargs)
    assert not out.exists()


def test_encode_checks_the_device_before_reading_data(tmp_path) -> None:
    from tascodec.encoding.encode import encode

    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    # the dataset folder does not exist: the device error must come first
    with pytest.raises(TascodecError, match="CUDA is not available"):
        encode(tmp_path / "no-such-dataset", tmp_path / "x.tasz", device="cuda")


def test_max_bytes_never_touches_an_existing_archive_when_it_fails(tiny_dataset, tmp_path):
    out = tmp_path / "keep.tasz"
    out.write_bytes(b"user data")
    with pytest.raises(TascodecError, match="already exists"):
        _budgeted(tiny_dataset, out, max_bytes=30_000)
    with pytest.raises(TascodecError, match="at least"):
        _budgeted(tiny_dataset, out, max_bytes=2_000, overwrite=True)
    assert out.read_bytes() == b"user data"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.tasz"]  # no temporary left


def test_a_budget_beyond_a_code_per_frame_widens_the_codes():
    from tascodec.rate import widen_to_budget

    args = dict(feature_dim=2048, num_classes=11, num_segments=300)
    point = operating_point(1_650_000, latent_dim=32, **args)
    assert point.num_codes > 10_000
    wide = widen_to_budget(point, num_frames=10_000, **args)
    assert wide.latent_dim > 32 and wide.latent_dim % 8 == 0
    assert wide.num_codes >= 10_000  # every frame keeps its own code
    assert widen_to_budget(point, num_frames=10 ** 7, **args) is point  # nothing to spend
