"""The codec base class and what every codec shares (``tascodec.codecs.base``): a codec is its
configuration; the table, the code matrix (memory-mapped when large) and the content."""

from __future__ import annotations

import numpy as np
import pytest

import tascodec.codecs.base as base
from codec_checks import fake_source
from tascodec.codecs import get_codec
from tascodec.codecs.base import alloc_codes, build_table, check_frames, make_content
from tascodec.errors import TascodecError

LABELS = {"a": np.array([0, 0, 1, 1, 1]), "b": np.array([2, 2])}


def test_a_codec_is_rebuilt_from_its_config():
    codec = get_codec("raw", dtype="float16")
    assert codec.get_config() == {"id": "raw", "dtype": "float16"}
    assert type(codec).from_config(codec.get_config()).get_config() == codec.get_config()
    assert repr(codec) == f"{type(codec).__name__}(dtype='float16')"
    with pytest.raises(TascodecError, match="config id 'mean' does not match codec 'raw'"):
        type(codec).from_config({"id": "mean"})


def test_table_codes_and_content_of_a_source(monkeypatch):
    src = fake_source({v: np.zeros((4, y.size), np.float32) for v, y in LABELS.items()}, LABELS)
    table = build_table(src, 2)
    assert table.video_names == ["a", "b"] and table.seg_num_instances.tolist() == [2, 2, 2]
    codes = alloc_codes(table.num_codes, 4)
    assert codes.shape == (6, 4) and codes.dtype == np.float32 and not isinstance(codes, np.memmap)
    monkeypatch.setattr(base, "_MEMMAP_BYTES", 0)
    mapped = alloc_codes(3, 2)
    mapped[:] = 1.5  # writable, backed by an unlinked temporary file
    assert isinstance(mapped, np.memmap) and float(mapped.sum()) == 9.0
    codec = get_codec("mean")
    content = make_content(codec, src, table, codes, code_dim=4, stats={"n": 1})
    assert (content.codec, content.codec_config, content.decode_kind) == ("mean", {"id": "mean"},
                                                                          "repeat")
    assert content.class_names == src.class_names and content.splits == {"train": ["a", "b"]}
    assert (content.code_dim, content.feature_dim, content.stats) == (4, 4, {"n": 1})
    other = make_content(codec, src, table, None, code_dim=4, config={"id": "mean", "x": 1},
                         decode_kind="mlp")
    assert other.decode_kind == "mlp" and other.codec_config == {"id": "mean", "x": 1}


def test_frames_of_the_wrong_shape_name_the_video():
    check_frames(np.zeros((5, 4)), "a", 5, 4)
    with pytest.raises(TascodecError, match=r"video 'a': features have shape \(5, 3\)"):
        check_frames(np.zeros((5, 3)), "a", 5, 4)
