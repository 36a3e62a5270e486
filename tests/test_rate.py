"""Rate control: the distortion proxy, the allocation, the byte model and the code width."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.errors import TascodecError
from tascodec.rate import (
    DECODER_SHARE,
    allocate,
    decoder_params,
    k_grid,
    latent_width,
    operating_point,
    segment_cost_table,
    segment_weights,
)


def test_affine_segment_costs_nothing_with_one_code() -> None:
    t = np.arange(40, dtype=np.float64)[:, None]
    ramp = np.hstack([t * 0.5 + 1.0, -0.25 * t])  # (40, 2): linear in time
    costs = segment_cost_table(ramp, np.array([40]), k_grid())
    assert costs[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_step_inside_a_segment_pays_until_it_is_split() -> None:
    x = np.concatenate([np.zeros((10, 3)), np.ones((10, 3))])  # a step at the middle
    costs = segment_cost_table(x, np.array([20]), k_grid())[0]
    assert costs[0] > 1.0  # one affine piece cannot follow a step
    assert costs[1] == pytest.approx(0.0, abs=1e-9)  # two instances split exactly at it
    assert (costs[19:] == 0).all()  # K >= l: every frame its own code


def test_cost_table_checks_the_frame_count() -> None:
    with pytest.raises(TascodecError, match="frames"):
        segment_cost_table(np.zeros((5, 2)), np.array([3, 3]), k_grid())


def test_weights_split_evenly_between_frames_and_segments() -> None:
    lengths = np.array([1, 3, 50, 200])
    w = segment_weights(lengths)
    # the per-frame half and the per-segment half each carry half of the total weight
    assert (w * lengths).sum() == pytest.approx(lengths.sum())
    assert w[0] > w[-1]  # a short segment's frames weigh more


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 300), min_size=1, max_size=30), st.integers(0, 3000),
       st.integers(0, 2**31 - 1))
def test_allocation_respects_total_and_bounds(lengths: list[int], total: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths_a = np.array(lengths)
    grid = k_grid()
    # decreasing costs, zero from K = l on (as segment_cost_table makes them)
    costs = np.sort(rng.random((lengths_a.size, grid.size)), axis=1)[:, ::-1].copy()
    costs[grid[None, :] >= lengths_a[:, None]] = 0.0
    k = allocate(costs, grid, lengths_a, total)
    assert k.shape == lengths_a.shape
    assert (k >= 1).all() and (k <= lengths_a).all()
    assert k.sum() <= max(total, lengths_a.size)


def test_allocation_gives_codes_where_the_error_is() -> None:
    grid = k_grid()
    lengths = np.array([64, 64])
    costs = np.zeros((2, grid.size))
    costs[0] = 100.0 / grid  # a varied segment keeps gaining
    costs[0, grid >= 64] = 0.0
    costs[1] = 0.0  # a steady one gains nothing from a second code
    k = allocate(costs, grid, lengths, 20)
    assert k[1] == 1 and k[0] >= 16


def test_allocation_more_budget_never_fewer_codes() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 120, size=50)
    x = rng.normal(size=(int(lengths.sum()), 4)).cumsum(0)
    costs = segment_cost_table(x, lengths, k_grid()) * segment_weights(lengths)[:, None]
    totals = [50, 200, 800, 3000]
    sums = [allocate(costs, k_grid(), lengths, n).sum() for n in totals]
    assert sums == sorted(sums)
    assert all(s <= n for s, n in zip(sums, totals))


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
    from tascodec.encoding import encode

    return encode(tiny_dataset, path, recipe="quick", progress=False, device="cpu", **kwargs)


def test_encode_meets_max_bytes_with_k_allocated_per_segment(tiny_dataset, tmp_path) -> None:
    from tascodec.format import open_archive

    first = _budgeted(tiny_dataset, tmp_path / "a.tasz", max_bytes=30_000)
    assert first.bytes["total"] <= 30_000
    with open_archive(first.path) as ar:
        config, stats = ar.codec_config, ar.header["stats"]
        k = ar.table.seg_num_instances
        assert config["k"] == "auto" and config["budget_bytes"] == 30_000
        assert stats["operating_point"]["num_codes"] >= k.sum()
        assert (k >= 1).all() and (k <= ar.table.seg_length).all()
        assert len(set(k.tolist())) > 1  # allocated, not one K for all
        assert ar.header["codes"]["dtype"] == "int8"
        assert len(ar.videos) == len(ar.splits["train.split1"])  # gamma 1 by default
    larger = _budgeted(tiny_dataset, tmp_path / "b.tasz", max_bytes=40_000)
    assert first.codes < larger.codes <= sum(1 for _ in range(larger.frames))


def test_encode_target_ratio_sets_the_budget(tiny_dataset, tmp_path) -> None:
    summary = _budgeted(tiny_dataset, tmp_path / "r.tasz", target_ratio=4)
    assert summary.ratio >= 4


@pytest.mark.parametrize("kwargs, match", [
    ({"k": 8, "target_ratio": 50}, "k='auto'"),
    ({"target_ratio": 50, "max_bytes": 10_000}, "not both"),
    ({"target_ratio": 0.5}, "target_ratio"),
    ({"max_bytes": 2_000}, "at least"),
    ({"codec": "mean", "max_bytes": 2_000}, "k='auto'"),
])
def test_encode_budget_errors_write_nothing(tiny_dataset, tmp_path, kwargs, match) -> None:
    out = tmp_path / "x.tasz"
    with pytest.raises(TascodecError, match=match):
        _budgeted(tiny_dataset, out, **kwargs)
    assert not out.exists()
