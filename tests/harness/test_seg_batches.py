"""Training items of the harness's models -> checked tensors -> padded batches
(``tascodec.harness.seg_batches``)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tascodec.errors import TascodecError  # noqa: E402
from tascodec.harness.seg_batches import IGNORE_INDEX, as_pair, pad_batch  # noqa: E402

CPU = torch.device("cpu")


def test_an_item_becomes_float32_features_and_int64_labels_where_it_is():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    features, labels = as_pair((x, np.array([0, 2, IGNORE_INDEX]), "video name"), 0, 3)
    assert features.dtype == torch.float32 and labels.dtype == torch.int64
    torch.testing.assert_close(features, torch.tensor(x, dtype=torch.float32))
    assert labels.tolist() == [0, 2, IGNORE_INDEX]
    t = torch.ones(2, 3)
    same = as_pair((t, torch.zeros(3, dtype=torch.int64)), 0, 1)[0]
    assert same.data_ptr() == t.data_ptr()  # neither moved nor copied
    frozen = np.ones((2, 3), np.float32)
    frozen.flags.writeable = False  # a memory map, say: copied, not refused
    assert as_pair((frozen, np.zeros(3, np.int64)), 0, 1)[0].shape == (2, 3)
    assert as_pair((x, np.array([0, 7, 0])), 0, 3, check_labels=False)[1].tolist() == [0, 7, 0]


@pytest.mark.parametrize("item, match", [
    (np.zeros(3), r"expected \(features \(D, T\), labels \(T,\)\), got ndarray"),
    ((np.zeros(3), np.zeros(3, np.int64)), r"features must be \(D, T\), got shape \(3,\)"),
    ((np.zeros((2, 3)), np.zeros(4, np.int64)), r"labels must be \(T,\) = \(3,\)"),
    ((np.zeros((2, 0)), np.zeros(0, np.int64)), r"empty video \(T = 0\)"),
    ((np.zeros((2, 3)), np.zeros(3)), "labels must be integers"),
    ((np.zeros((2, 3)), np.array([0, 3, 1])), r"label 3 at frame 1 not in \[0, 3\)"),
])
def test_bad_items_are_named(item, match):
    with pytest.raises(TascodecError, match=f"train item 4: {match}"):
        as_pair(item, 4, 3)


def test_a_batch_is_padded_to_its_longest_item():
    pairs = [as_pair((np.ones((2, 3)), np.array([1, 1, 0])), 0, 2),
             as_pair((np.full((2, 1), 2.0), np.array([1])), 1, 2)]
    x, y, mask = pad_batch(pairs, CPU)
    assert x.shape == (2, 2, 3) and x.dtype == torch.float32
    assert x[0].eq(1).all() and x[1, :, 0].eq(2).all() and x[1, :, 1:].eq(0).all()
    assert y.tolist() == [[1, 1, 0], [1, IGNORE_INDEX, IGNORE_INDEX]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]
    x1, y1, m1 = pad_batch(pairs[:1], CPU)  # one item on the device: used as it is
    assert x1.shape == (1, 2, 3) and x1.data_ptr() == pairs[0][0].data_ptr()
    assert y1.tolist() == [[1, 1, 0]] and m1.tolist() == [[1, 1, 1]]
