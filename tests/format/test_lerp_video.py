"""Format 2.3: decode kind ``"mlp+lerp-video"`` (each frame's code interpolated between the
codes of the video's consecutive instances, across segment boundaries, then the ``mlp``
decoder with the frame's own action and coherence)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.content import MLP_LERP_VIDEO, SegmentTable
from tascodec.decode import decode_reference
from tascodec.decode.plan import video_plan
from tascodec.decode.view import video_view
from tascodec.errors import DecodeBudgetError, TascodecError, UnknownCodecError
from tascodec.format import open_archive, write_archive
from tascodec.format.v1_write import write_v1
from tascodec.segments import lerp_weights

from make_golden import check_grouped_golden
from old_readers import old_decode_refusal
from test_lerp import _with_header
from testkit import (check_decode_in_segment_groups, check_least_squares_codes,
                     check_pca_decoder_decodes,
                     interpolated_codes, small_content)

GOLDEN = Path(__file__).parents[1] / "data" / "v2_3"
LAST_2_2_COMMIT = "5e71f65"  # the last commit whose reader knows format 2.2 at most


def video_content(seed: int = 7):
    """``small_content`` (a random ``tca-mlp`` decoder, K = 3) with decode kind
    ``"mlp+lerp-video"``."""
    return replace(small_content(seed, "mlp"), decode_kind=MLP_LERP_VIDEO)


def normative(codes, length, k_eff) -> np.ndarray:
    """Each frame's code by the spec's words (v2 section 8), one frame at a time (T, d)."""
    ends, start = [0], 0
    for l, k in zip(length.tolist(), k_eff.tolist()):
        ends += [start + (j + 1) * l // k for j in range(k)]
        start += l
    m = [ends[j] + ends[j + 1] - 1 for j in range(len(ends) - 1)]  # doubled centres
    rows = []
    for t in range(start):
        f = 2 * t
        if len(m) == 1 or f <= m[0]:
            rows.append(codes[0])
        elif f >= m[-1]:
            rows.append(codes[-1])
        else:
            j = max(j for j in range(len(m)) if m[j] <= f)
            w = np.float32((f - m[j]) / (m[j + 1] - m[j]))
            rows.append(codes[j] + w * (codes[j + 1] - codes[j]))
    return np.asarray(rows, np.float32).reshape(-1, codes.shape[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=6))
def test_lerp_weights_over_the_video_follow_the_spec(segs):
    length, k_eff, codes, got = interpolated_codes(segs, across_segments=True)
    np.testing.assert_array_equal(got, normative(codes, length, k_eff))
    if length.size == 1:  # within one segment both rules agree
        for a, b in zip(lerp_weights(length, k_eff), lerp_weights(length, k_eff, True)):
            np.testing.assert_array_equal(a, b)


def test_round_trip_numpy_torch_and_reference(tmp_path):
    content = video_content()
    path = write_archive(content, tmp_path / "v.tasz", code_dtype="int8")
    with open_archive(path) as ar:
        assert ar.format_version == "2.3" and ar.decode_kind == MLP_LERP_VIDEO
        assert ar.verify() == []
        t = ar.table
        for v in ar.videos:
            sl = t.video_slice(ar.video_index(v))
            rows = (ar.codes(v), t.seg_action[sl], t.seg_length[sl], t.seg_num_instances[sl],
                    ar.decoder())
            want = decode_reference(MLP_LERP_VIDEO, *rows)
            np.testing.assert_allclose(ar.decode(v), want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ar.decode(v, device="cpu-torch"), want, rtol=1e-5,
                                       atol=1e-5)
            if t.seg_length[sl].size > 1:  # the kind changes the frames at the boundaries
                assert not np.allclose(decode_reference("mlp+lerp", *rows), want)


def test_a_pca_decoder_decodes_the_interpolated_coordinates():
    """With the ``pca`` codec's pass-through decoder a frame is ``mean + basis z_t``, z_t the
    code interpolated over the video; the structured decode agrees with the forward pass."""
    check_pca_decoder_decodes(MLP_LERP_VIDEO, normative)


def test_a_segment_decodes_to_the_same_bits_in_any_group(tmp_path):
    """Decoded in the budget's segment groups (each with its neighbours), every frame is the
    same bits as decoded whole (one video of 40 segments, the smallest limit that splits it)."""
    rng = np.random.default_rng(5)
    length = rng.integers(1, 30, 40)
    table = SegmentTable.from_labels(["long"], [np.repeat(rng.integers(0, 4, 40), length)], k=3)
    content = replace(video_content(), table=table, splits={"train.split1": ["long"]},
                      codes=rng.standard_normal((table.num_codes, 8)).astype(np.float32))
    path = write_archive(content, tmp_path / "v.tasz")
    limit = _splitting_limit(path, device=None)
    check_decode_in_segment_groups(path, limit)
    pytest.importorskip("torch")
    with open_archive(path) as ar:
        whole = ar.decode("long", device="cpu-torch")
    limit = _splitting_limit(path, device="cpu-torch")
    with open_archive(path, decode_limit=limit) as small:  # the torch groups, neighbours too
        np.testing.assert_allclose(small.decode("long", device="cpu-torch"), whole,
                                   rtol=1e-6, atol=1e-6)


def _splitting_limit(path, device) -> int:
    """The smallest decode limit (in 5 KB steps) that splits video "long" in three or more
    segment groups for ``device``'s decoder."""
    for limit in range(40_000, 800_000, 5_000):
        with open_archive(path, decode_limit=limit) as ar:
            try:
                groups = video_plan(video_view(ar, "long"), device=device).groups
            except DecodeBudgetError:
                continue
        if len(groups) > 2:
            return limit
    raise AssertionError("no limit splits the video in three or more groups")


def test_writers_write_2_3_and_refuse_1_x(tmp_path):
    with pytest.raises(TascodecError, match="2.3"):
        write_v1(video_content(), tmp_path / "v1.tasz")


def test_the_kind_in_a_1_x_header_is_unknown(tmp_path):
    src = write_archive(small_content(4, "mlp"), tmp_path / "m.tasz")
    bad = _with_header(src, tmp_path / "bad.tasz", lambda h: h.update(decode_kind=MLP_LERP_VIDEO))
    with open_archive(bad) as ar:
        assert ar.format_version == "1.1"
        with pytest.raises(UnknownCodecError, match="1.1 archive"):
            ar.decode(ar.videos[0])


def test_golden_v2_3_decodes_and_rebuilds(tmp_path):
    check_grouped_golden(video_content(), GOLDEN, "lerp_video", "2.3", MLP_LERP_VIDEO, tmp_path)


def test_a_2_2_reader_refuses_to_decode_2_3_cleanly(tmp_path):
    """The reader of the last 2.2 commit opens a 2.3 archive (same major) but refuses to decode
    its ``"mlp+lerp-video"`` group, naming the kind."""
    out = old_decode_refusal(LAST_2_2_COMMIT, GOLDEN / "lerp_video.tasz", tmp_path)
    assert MLP_LERP_VIDEO in out and "videos 5" in out


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=5),
       st.integers(0, 2**31 - 1))
def test_video_codes_are_the_least_squares_fit(segs, seed):
    """``fit_codes(..., "video")`` solves the least-squares problem of the interpolation over
    the video (one tridiagonal system across the segments)."""
    check_least_squares_codes(segs, seed, "video")


if __name__ == "__main__":  # pragma: no cover - run by hand:
    # PYTHONPATH=.:tests:tests/support python tests/format/test_lerp_video.py
    from make_golden import write_grouped_golden

    write_grouped_golden(video_content(), GOLDEN, "lerp_video")
