"""``mean+inversion`` codec: stored segment means plus inversion of the residual frames."""

import numpy as np
import pytest

from codec_checks import TINY_TCA, check_codec
from tascodec.codecs import get_codec
from tascodec.codecs import mean_inversion
from tascodec.codecs.base import build_table
from tascodec.codecs.mean_inversion import OFFSET_FIXED_BYTES, ResidualSource, segment_means
from tascodec.runtime.world import SINGLE, World
from tascodec.errors import BudgetTooSmallError, TascodecError
from tascodec.segments import labels_to_segments


def segment_mean_error(source, decoded) -> tuple[float, float]:
    """(sum over segments of l * ||mean decoded - mean real||^2, sum of ||x||^2)."""
    err = energy = 0.0
    for video, x_hat in decoded.items():
        x = np.asarray(source.features(video), np.float64)
        lengths = labels_to_segments(source.labels(video)).length
        diff = segment_means(x_hat - x, lengths).astype(np.float64)
        err += float((lengths[:, None] * diff ** 2).sum())
        energy += float((x ** 2).sum())
    return err, energy


def test_round_trip_keeps_segment_means(source, tmp_path):
    codec = get_codec("mean+inversion", k=2, **TINY_TCA)
    content, decoded = check_codec(codec, source, tmp_path, code_dtype="int8")
    assert content.decode_kind == "mlp+offset" and content.offset_dtype == "int8"
    assert content.segment_offsets.shape == (content.table.seg_action.size, source.feature_dim)
    assert content.codec_config["offset_dtype"] == "int8"
    assert content.stats["offsets"]["bytes"] == (content.segment_offsets.size
                                                 + 4 * source.feature_dim + OFFSET_FIXED_BYTES)
    err, energy = segment_mean_error(source, decoded)
    (tmp_path / "plain").mkdir()
    _, plain_decoded = check_codec(get_codec("inversion", k=2, **TINY_TCA), source,
                                   tmp_path / "plain")
    plain_err, _ = segment_mean_error(source, plain_decoded)
    assert err < 0.05 * plain_err and err < 5e-3 * energy
    mean = get_codec("mean").encode(source)
    assert content.stats["reconstruction_mse"] < mean.stats["reconstruction_mse"]


def test_float32_offsets_are_the_exact_means(source):
    content = get_codec("mean+inversion", k=1, offset_dtype="float32", **TINY_TCA).encode(source)
    t = content.table
    for v, video in enumerate(source.videos):
        want = segment_means(source.features(video), t.seg_length[t.video_slice(v)])
        np.testing.assert_array_equal(content.segment_offsets[t.video_slice(v)], want)
    assert content.offset_scale is None


def test_residual_source_subtracts_offsets(source):
    video = source.videos[0]
    x = source.features(video)
    lengths = labels_to_segments(source.labels(video)).length
    offsets = np.arange(lengths.size * x.shape[1], dtype=np.float32).reshape(lengths.size, -1)
    res = ResidualSource(dataset=source.dataset, videos=source.videos,
                         training_videos=source.training_videos, splits=source.splits,
                         offsets={video: offsets})
    np.testing.assert_array_equal(res.features(video), x - np.repeat(offsets, lengths, axis=0))
    other = source.training_videos[-1]  # not stored: its own exact means
    y = source.features(other)
    got = res.features(other)
    np.testing.assert_allclose(segment_means(got, labels_to_segments(
        source.labels(other)).length), 0, atol=1e-4)
    assert got.shape == y.shape


def test_budget_counts_the_offsets(source):
    codec = get_codec("mean+inversion", k="auto", budget_bytes=2_000, **TINY_TCA)
    with pytest.raises(BudgetTooSmallError) as err:
        codec.encode(source)
    table_segments = sum(len(labels_to_segments(source.labels(v)).length) for v in source.videos)
    assert err.value.minimum_bytes > table_segments * source.feature_dim


def test_bad_offset_dtype():
    with pytest.raises(TascodecError, match="offset_dtype"):
        get_codec("mean+inversion", offset_dtype="int4")


class _LoneRank(World):
    """Rank ``rank`` of 2 with its peer's share left out: the collectives are no-ops, so the
    arrays it returns hold its own rows only."""

    @property
    def distributed(self) -> bool:
        return False


def test_segment_means_pass_reads_only_this_ranks_share(source, monkeypatch):
    """Under torchrun each rank reads its share of the videos for the means; the shares' rows
    are disjoint and add up to what one process computes, bit for bit."""
    table = build_table(source, 1)
    reads: dict[int, list[str]] = {}

    class Counting(type(source)):
        def features(self, video):
            reads.setdefault(rank, []).append(video)
            return super().features(video)

    counting = Counting(**{k: getattr(source, k) for k in source.__dataclass_fields__})
    monkeypatch.setattr(mean_inversion, "current", lambda: SINGLE)
    rank = -1
    whole = mean_inversion._means_and_moments(counting, table)
    shares = []
    for rank in (0, 1):
        world = _LoneRank(rank=rank, size=2)
        monkeypatch.setattr(mean_inversion, "current", lambda world=world: world)
        shares.append(mean_inversion._means_and_moments(counting, table))
    assert sorted(reads[0] + reads[1]) == sorted(source.videos)
    assert reads[0] and reads[1] and not set(reads[0]) & set(reads[1])
    for part in (0, 1):
        np.testing.assert_array_equal(shares[0][part] + shares[1][part], whole[part])
