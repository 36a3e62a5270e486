"""Sources of frames (``tascodec.dataset.source``): ``ArraySource`` checks what it is given.

Hostile datasets (issue 28 item 10): a frame value no feature has (3e38, finite) in one
video wrecked the channel's normalisation for every video of an inversion encode, which
exited 0. Frames are checked where they are read for encoding (``source.check_frame_values``,
through ``StandardDataset`` and ``ArraySource``): a clear error naming the video, the
dimension and the frame, before anything is trained or written."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from tascodec.errors import DatasetLayoutError, TascodecError
from tascodec.dataset.layout import StandardDataset
from tascodec.dataset.source import MAX_FRAME_MAGNITUDE, ArraySource


def _planted(src, dst, value, video_index=1, dim=0, frames=(5, 9)):
    shutil.copytree(src, dst)
    ds = StandardDataset(dst)
    video = ds.videos[video_index]
    path = dst / "features" / f"{video}.npy"
    x = np.load(path)
    x[dim, list(frames)] = value
    np.save(path, x)
    return video


@pytest.mark.parametrize("value", [3e38, -3e38, 1e13, np.float32(np.inf), np.nan])
def test_encode_refuses_an_outlier_frame_naming_it(tiny_dataset, tmp_path, value):
    pytest.importorskip("torch")
    import tascodec

    video = _planted(tiny_dataset, tmp_path / "d", value)
    out = tmp_path / "a.tasz"
    with pytest.raises(DatasetLayoutError, match=rf"{video}\.npy: .*dimension 0, frame 5"):
        tascodec.encode(tmp_path / "d", out, codec="inversion", recipe="quick",
                        progress=False, device="cpu", split=None)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tascodec-tmp-")]


def test_values_up_to_the_bound_are_read(tiny_dataset, tmp_path):
    video = _planted(tiny_dataset, tmp_path / "d", MAX_FRAME_MAGNITUDE / 2)
    x = StandardDataset(tmp_path / "d").features(video)
    assert x[0, 5] == np.float32(MAX_FRAME_MAGNITUDE / 2)


def test_array_source_refuses_outliers():
    x = np.zeros((20, 4), np.float32)
    x[7, 2] = -3e38
    with pytest.raises(TascodecError, match=r"video 'v1'.*-3e\+38 at dimension 2, frame 7"):
        ArraySource({"v0": np.zeros((5, 4)), "v1": x}, {"v0": np.zeros(5), "v1": np.zeros(20)},
                    ["a"])


def test_array_source_errors():
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(TascodecError, match="different videos"):
        ArraySource({"a": x}, {"b": np.zeros(4)}, ["c"])
    with pytest.raises(TascodecError, match="one D"):
        ArraySource({"a": x, "b": np.zeros((4, 2))}, {"a": np.zeros(4), "b": np.zeros(4)}, ["c"])
    with pytest.raises(TascodecError, match="unknown training"):
        ArraySource({"a": x}, {"a": np.zeros(4)}, ["c"], training_videos=["z"])
    with pytest.raises(TascodecError, match="unknown video"):
        ArraySource({"a": x}, {"a": np.zeros(4)}, ["c"]).features("q")
