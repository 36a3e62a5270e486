"""``coreset`` codec (herding): the real frame nearest each segment's mean."""

import numpy as np

from tascodec.codecs import get_codec

from codec_checks import check_codec


def test_round_trip_codes_are_real_frames(source, tmp_path):
    content, _ = check_codec(get_codec("coreset"), source, tmp_path)
    table = content.table
    first_seg = table.video_first_segment
    for v, video in enumerate(source.videos):
        x = np.asarray(source.features(video))
        starts = np.concatenate(([0], np.cumsum(table.seg_length[table.video_slice(v)])))
        for s in range(len(starts) - 1):
            seg = x[starts[s] : starts[s + 1]]
            code = content.codes[first_seg[v] + s]
            dist = np.square(seg - seg.mean(axis=0, dtype=np.float64)).sum(axis=1)
            assert np.array_equal(code, seg[int(np.argmin(dist))])


def test_mse_not_below_mean(source):
    # The mean minimises the squared error of a constant over a segment.
    mean = get_codec("mean").encode(source).stats["reconstruction_mse"]
    coreset = get_codec("coreset").encode(source).stats["reconstruction_mse"]
    assert coreset >= mean * (1 - 1e-6)
