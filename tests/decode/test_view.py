"""One stored video as a decoder reads it (``tascodec.decode.view``): the rows of a video, and
an archive-like object adapted into a ``VideoView`` once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tascodec.content import SegmentTable
from tascodec.decode import video_rows
from tascodec.decode.view import decoder_size, video_view
from tascodec.errors import TascodecError
from testkit import random_decoder


def test_video_rows_on_simple_namespace():
    table = SegmentTable.from_labels(["v"], [np.array([1, 1, 0])], k=None)
    rows = video_rows(SimpleNamespace(table=table), "v")
    np.testing.assert_array_equal(rows[1], [2, 1])


def test_an_archive_like_object_gets_its_widths_from_its_codes_and_decoder():
    rng = np.random.default_rng(0)
    table = SegmentTable.from_labels(["v"], [np.array([0, 0, 3, 3, 3])], k=2)
    dec = random_decoder(rng)  # d 8, A 4, H 16, D 12
    codes = rng.standard_normal((table.num_codes, 8)).astype(np.float32)
    archive = SimpleNamespace(table=table, decode_kind="mlp", codes=lambda video: codes,
                              decoder=lambda: dec)
    view = video_view(archive, "v")
    assert (view.kind, view.code_dim, view.feature_dim, view.hidden_dim) == ("mlp", 8, 12, 16)
    assert view.decoder_floats == decoder_size(dec.arch)[1] == 16 * 13 + 16 + 12 * 16 + 3 * 12
    np.testing.assert_array_equal(view.action, [0, 3])
    np.testing.assert_array_equal(view.length, [2, 3])
    got, prepared, offsets = view.read()
    np.testing.assert_array_equal(got, codes)
    assert prepared.feature_dim == 12 and offsets is None
    assert decoder_size(None) == (0, 0)
    with pytest.raises(TascodecError, match="no video named 'w'"):
        video_view(archive, "w")
