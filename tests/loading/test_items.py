"""decoded_item: the one place a stored video becomes (features, labels) for training."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.dataset.orientation import frame_slice, in_layout
from tascodec.format import open_archive
from tascodec.loading.items import decoded_item

from testkit import write_small_archive


@pytest.fixture(scope="module")
def archive_path(tmp_path_factory):
    return write_small_archive(tmp_path_factory.mktemp("items") / "small.tasz", seed=3, videos=3)


def test_numpy_item_is_the_decode_in_the_standard_layout(archive_path):
    with open_archive(archive_path) as ar:
        video = ar.videos[1]
        x, y = decoded_item(ar, video)
        frames = ar.decode(video)
        assert isinstance(x, np.ndarray) and x.dtype == np.float32 and x.flags.c_contiguous
        np.testing.assert_array_equal(x, frames.T)
        assert y.dtype == np.int64 and np.array_equal(y, ar.labels(video))
        td, _ = decoded_item(ar, video, layout="TD")
        np.testing.assert_array_equal(td, frames)


def test_frames_and_class_map_apply_to_features_and_labels_alike(archive_path):
    with open_archive(archive_path) as ar:
        video = ar.videos[0]
        lut = np.arange(len(ar.class_names), dtype=np.int64)[::-1] + 10
        x, y = decoded_item(ar, video, frames=frame_slice(2, 1), class_map=lut)
        np.testing.assert_array_equal(x, ar.decode(video)[1::2].T)
        np.testing.assert_array_equal(y, lut[ar.labels(video)[1::2]])


def test_a_torch_device_gives_the_same_values_as_tensors(archive_path):
    torch = pytest.importorskip("torch")
    with open_archive(archive_path) as ar:
        video = ar.videos[2]
        host_x, host_y = decoded_item(ar, video)
        x, y = decoded_item(ar, video, device="cpu")
        assert isinstance(x, torch.Tensor) and x.is_contiguous() and y.dtype == torch.int64
        np.testing.assert_array_equal(x.numpy(), host_x)
        np.testing.assert_array_equal(y.numpy(), host_y)
        tx, _ = decoded_item(ar, video, device="cpu-torch")
        np.testing.assert_allclose(tx.numpy(), host_x, rtol=1e-5, atol=1e-5)


def test_in_layout_takes_arrays_and_tensors():
    torch = pytest.importorskip("torch")
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    assert in_layout(a).shape == (2, 3) and in_layout(a).flags.c_contiguous
    assert in_layout(a, "TD") is not None and in_layout(a, "TD").shape == (3, 2)
    t = in_layout(torch.from_numpy(a))
    assert t.shape == (2, 3) and t.is_contiguous()
