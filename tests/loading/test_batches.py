"""Training batches from ``TaszDataset`` items (``tascodec.loading.batches``): padded inputs,
targets and masks, either layout, bad items named."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from tascodec.errors import TascodecError  # noqa: E402
from tascodec.loading.batches import IGNORE_INDEX, Batch, collate, collate_fn  # noqa: E402
from tascodec.loading.torch_data import TaszDataset  # noqa: E402
from testkit import write_small_archive  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_small_archive(tmp_path_factory.mktemp("td") / "small.tasz", seed=11, videos=6)


def test_collate_shapes_and_padding(archive):
    ds = TaszDataset(archive, None)
    items = [ds[i] for i in range(4)]
    batch = ds.collate(items)
    assert isinstance(batch, Batch)
    lens = [it[1].shape[0] for it in items]
    t_max = max(lens)
    assert batch.input.shape == (4, 12, t_max)
    assert batch.target.shape == (4, t_max) and batch.target.dtype == torch.int64
    assert batch.mask.shape == (4, 4, t_max) and batch.mask.dtype == torch.float32
    assert batch.names == [it[2] for it in items]
    for i, (x, y, _) in enumerate(items):
        n = lens[i]
        torch.testing.assert_close(batch.input[i, :, :n], x)
        assert (batch.input[i, :, n:] == 0).all()
        assert (batch.target[i, :n] == y).all() and (batch.target[i, n:] == IGNORE_INDEX).all()
        assert (batch.mask[i, :, :n] == 1).all() and (batch.mask[i, :, n:] == 0).all()
    assert collate(items).mask.shape == (4, 1, t_max) and collate_fn is collate
    td = [(x.T, y, n) for x, y, n in items]
    torch.testing.assert_close(collate(td, 4, layout="TD").input, batch.input)
    with pytest.raises(TascodecError, match="empty batch"):
        collate([])
    with pytest.raises(TascodecError, match="labels of shape"):
        collate([(items[0][0], items[0][1][:-1], "x")])
    with pytest.raises(TascodecError, match="one feature width"):
        collate([items[0], (items[1][0][:5], items[1][1], "y")])
    with pytest.raises(TascodecError, match="num_classes"):
        collate(items, 0)
    with pytest.raises(TascodecError, match="layout"):
        collate(items, layout="X")
