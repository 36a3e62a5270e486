"""``pca`` codec: principal-component codes, one per ``stride`` frames of a segment."""

import numpy as np
import pytest

from tascodec.codecs import get_codec
from tascodec.errors import BudgetTooSmallError, TascodecError
from tascodec.format import open_archive, write_archive
from tascodec.rate import (PCA_MAX_STRIDE, PCA_MAX_STRIDE_VIDEO, PCA_STRIDES, PCA_VARIANCE,
                           pca_bytes, pca_max_stride, pca_point)

from codec_checks import check_codec, fake_source


def low_rank_source(rank=3, dim=10, seed=0):
    """Two videos whose frames lie in a ``rank``-dimensional affine subspace."""
    rng = np.random.default_rng(seed)
    basis, mean = rng.standard_normal((dim, rank)), rng.standard_normal(dim)
    feats, labels = {}, {}
    for name, t in (("a", 40), ("b", 33)):
        feats[name] = (basis @ rng.standard_normal((rank, t)) + mean[:, None]).astype(np.float32)
        labels[name] = np.repeat([0, 1, 2, 1], [10, 7, 1, t - 18])
    return fake_source(feats, labels)


def test_round_trip(source, tmp_path):
    content, decoded = check_codec(get_codec("pca", components=4, stride=2), source, tmp_path)
    table = content.table
    assert content.decode_kind == "mlp+lerp-video" and content.code_dim == 4
    np.testing.assert_array_equal(table.seg_num_instances, -(-table.seg_length // 2))
    assert content.codec_config == {"id": "pca", "components": 4, "stride": 2,
                                     "interpolation": "video"}
    assert 0 < content.stats["pca_variance_kept"] <= 1


def test_codes_interpolated_over_the_video(source, tmp_path):
    """``interpolation="video"``: a 2.3 archive whose frames at a boundary blend the codes of
    both segments (the held and segment-interpolated kinds keep a step there)."""
    content, decoded = check_codec(get_codec("pca", components=4, stride=2,
                                             interpolation="video"), source, tmp_path)
    assert content.decode_kind == "mlp+lerp-video"
    assert content.codec_config["interpolation"] == "video"
    path = write_archive(content, tmp_path / "v.tasz")
    with open_archive(path) as ar:
        assert ar.format_version == "2.3"


def test_exact_for_frames_in_the_subspace(tmp_path):
    """Frames in a 3-d affine subspace, one code per frame: decoded to float32 rounding."""
    src = low_rank_source()
    content, decoded = check_codec(get_codec("pca", components=3, stride=1), src, tmp_path)
    for video, x_hat in decoded.items():
        x = np.asarray(src.features(video), np.float64)
        np.testing.assert_allclose(x_hat, x, atol=1e-4 * np.abs(x).max())
    assert content.stats["relative_mse"] < 1e-8


def test_held_codes_are_instance_means_and_no_code_spans_a_boundary(tmp_path):
    src = low_rank_source()
    content = get_codec("pca", components=3, stride=4, interpolation="hold").encode(src)
    assert content.decode_kind == "mlp"
    t = content.table
    np.testing.assert_array_equal(t.seg_num_instances[:4], [3, 2, 1, 6])  # l = 10, 7, 1, 22
    x = np.asarray(src.features("a"), np.float64)
    tensors = {k: v.astype(np.float64) for k, v in content.decoder.tensors.items()}
    basis = tensors["w2"]  # (D, p)
    mean = tensors["feature_offset"] + basis @ tensors["b1"]  # the offset cancels the bias
    np.testing.assert_allclose(content.codes[0], ((x[:3] - mean) @ basis).mean(0), atol=1e-4)
    decoded = _decode(content, "a")  # instances of 3, 3, 4 frames in the first segment
    np.testing.assert_allclose(decoded[:3], np.repeat(decoded[:1], 3, axis=0), atol=1e-5)
    assert not np.allclose(decoded[9], decoded[10])  # a new segment starts a new code


def _decode(content, video):
    from tascodec.decode import decode_segments

    t = content.table
    v = t.video_names.index(video)
    sl, rows = t.video_slice(v), slice(t.video_first_code[v], t.video_first_code[v + 1])
    return decode_segments(content.decode_kind, content.codes[rows], t.seg_action[sl],
                           t.seg_length[sl],
                           t.seg_num_instances[sl], content.decoder)


def test_decoded_frames_do_not_depend_on_the_label():
    """The decoder gives class and coherence zero weight: the label is not written in."""
    from tascodec.decode import decode_segments

    content = get_codec("pca", components=3, stride=2).encode(low_rank_source())
    t = content.table
    sl, rows = t.video_slice(0), slice(t.video_first_code[0], t.video_first_code[1])
    args = (content.codes[rows], t.seg_length[sl], t.seg_num_instances[sl], content.decoder)
    a = decode_segments(content.decode_kind, args[0], t.seg_action[sl], *args[1:])
    b = decode_segments(content.decode_kind, args[0], (t.seg_action[sl] + 1) % 3, *args[1:])
    np.testing.assert_array_equal(a, b)


def test_int8_codes_within_budget(tiny_dataset, tmp_path):
    """A budgeted encode through ``tascodec.encode``: the archive is at most the budget and
    decodes as its stats say."""
    import tascodec

    summary = tascodec.encode(tiny_dataset, tmp_path / "p.tasz", codec="pca", max_bytes=40_000,
                              progress=False)
    assert summary.bytes["total"] <= 40_000
    config = summary.codec_config
    assert config["id"] == "pca" and config["stride"] in PCA_STRIDES
    with tascodec.open(tmp_path / "p.tasz") as ar:
        assert ar.codec == "pca"


@pytest.mark.parametrize("interpolation", ["hold", "linear", "video"])
def test_rate_prefers_components_over_temporal_detail(interpolation):
    longest = pca_max_stride(interpolation)
    assert longest == (PCA_MAX_STRIDE_VIDEO if interpolation == "video" else PCA_MAX_STRIDE)
    lengths = np.array([40, 10, 3, 100] * 20)
    var = 0.5 ** np.arange(32)  # 2 components hold 75%, 3 hold 87.5% > PCA_VARIANCE
    assert 0.75 < PCA_VARIANCE < 0.875
    dims = dict(lengths=lengths, feature_dim=32, num_classes=4, variances=var,
                interpolation=interpolation)
    roomy = pca_point(10**7, **dims)
    assert roomy.stride == 1 and roomy.components >= 3
    sizes = dict(feature_dim=32, num_classes=4, num_segments=lengths.size, code_dtype="int8",
                 decoder_dtype="float16", interpolation=interpolation)
    codes_at = {s: int((-(-lengths // s)).sum()) for s in PCA_STRIDES}
    budget = pca_bytes(3, codes_at[2], **sizes)
    point = pca_point(budget, **dims)
    assert (point.components, point.stride) == (3, 2)  # the shortest stride holding 3
    assert pca_bytes(point.components, point.num_codes, **sizes) <= budget
    # too small for 3 components at any stride up to the longest: the most components there
    point = pca_point(pca_bytes(2, codes_at[longest], **sizes), **dims)
    assert (point.components, point.stride) == (2, longest)
    # too small for one component at the longest: the shortest longer stride that fits
    point = pca_point(pca_bytes(1, codes_at[2 * longest], **sizes), **dims)
    assert point.stride > longest and point.components >= 1
    assert pca_bytes(point.components, point.num_codes, **sizes) <= pca_bytes(
        1, codes_at[2 * longest], **sizes)


def test_a_budget_below_one_component_names_its_floor():
    dims = dict(lengths=np.array([50] * 10), feature_dim=16, num_classes=2,
                variances=np.ones(16))
    with pytest.raises(BudgetTooSmallError) as err:
        pca_point(1000, **dims)
    floor = err.value.minimum_bytes
    assert pca_point(floor, **dims).components >= 1
    raised = pca_point(1000, strict=False, **dims)
    assert raised.budget_raised and raised.components >= 1


def test_bad_parameters():
    with pytest.raises(TascodecError, match="components"):
        get_codec("pca", components=0)
    with pytest.raises(TascodecError, match="stride"):
        get_codec("pca", stride=1.5)
    with pytest.raises(TascodecError, match="budget"):
        get_codec("pca").encode(low_rank_source())


@pytest.mark.parametrize("interpolation, kind", [("linear", "mlp+lerp"),
                                                  ("video", "mlp+lerp-video")])
def test_append_projects_new_videos_onto_the_stored_basis(tiny_dataset, tmp_path,
                                                          interpolation, kind):
    """``append(decoder="reuse")`` to a pca archive projects the new videos (no inversion):
    one code per stride frames, fitted to their coordinates on the stored basis as the codec
    fits them (least squares of the interpolation)."""
    import tascodec
    from tascodec.codecs.pca import project
    from tascodec.dataset.layout import StandardDataset

    ds = StandardDataset(tiny_dataset)
    path = tmp_path / "p.tasz"
    tascodec.encode(tiny_dataset, path, split=None, videos=ds.videos[:4], codec="pca",
                    target_ratio=8, progress=False, interpolation=interpolation)
    with tascodec.open(path) as ar:
        stored = {v: ar.decode(v) for v in ar.videos}
        stride = ar.codec_config["stride"]
    tascodec.append(path, tiny_dataset, [ds.videos[4]], decoder="reuse")
    with tascodec.open(path) as ar:
        assert len(ar.groups) == 2 and ar.num_decoders == 1
        assert [g.decode_kind for g in ar.groups] == [kind, kind]
        for v, x in stored.items():
            np.testing.assert_array_equal(ar.decode(v), x)
        v = ds.videos[4]
        t = ar.groups[1]
        lengths = np.diff(np.flatnonzero(np.diff(ds.labels(v), prepend=-1, append=-1)))
        k = -(-lengths // stride)
        want, _ = project(ar.group_source(1).decoder(), ds.features(v).T, lengths, k,
                          interpolation)
        np.testing.assert_allclose(ar.codes(v), want, atol=np.abs(want).max() / 100)
        assert t.codec == "pca"


def test_a_default_target_too_small_for_the_dataset_is_said_once(tiny_dataset, tmp_path,
                                                                  capsys):
    """The tiny preset cannot reach the default 50x (the container's fixed part alone is
    larger): encode writes the smallest archive, says so in one line, and info records it;
    an explicit target is refused at once, naming a floor that is then accepted."""
    import tascodec
    from tascodec.cli import main

    path = tmp_path / "t.tasz"
    assert main(["encode", str(tiny_dataset), str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("default target of 50x cannot be met") == 1
    assert main(["info", str(path)]) == 0
    assert "the target of 50x could not be met" in capsys.readouterr().out
    with pytest.raises(BudgetTooSmallError) as err:
        tascodec.encode(tiny_dataset, tmp_path / "s.tasz", target_ratio=50, progress=False)
    assert not (tmp_path / "s.tasz").exists()
    floor = err.value.minimum_bytes
    summary = tascodec.encode(tiny_dataset, tmp_path / "f.tasz", max_bytes=floor,
                              progress=False)
    assert summary.bytes["total"] <= floor and summary.target_missed is None


def test_one_code_per_frame_is_stored_as_held_codes(source, tmp_path):
    """At stride 1 there is nothing to interpolate: decode kind "mlp", a 1.1 archive."""
    content, _ = check_codec(get_codec("pca", components=3, stride=1), source, tmp_path)
    assert content.decode_kind == "mlp" and content.codec_config["interpolation"] == "hold"
