"""TaszDataset and LengthGroupedSampler on a small hand-built archive (its batches:
``test_batches.py``)."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch.utils.data import DataLoader  # noqa: E402
from torch.utils.data.distributed import DistributedSampler  # noqa: E402

from tascodec.decode import decode_video  # noqa: E402
from tascodec.errors import TascodecError  # noqa: E402
from tascodec.loading.torch_data import LengthGroupedSampler, TaszDataset  # noqa: E402

from testkit import write_small_archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_small_archive(tmp_path_factory.mktemp("td") / "small.tasz", seed=11, videos=6)


def test_items_match_decode(archive):
    from tascodec.format import open_archive

    ds = TaszDataset(archive, "train")
    assert len(ds) == 3 and ds.videos == ["vid00", "vid01", "vid02"]
    assert ds.num_classes == 4 and ds.feature_dim == 12
    with open_archive(archive) as ar:
        for i in range(len(ds)):
            x, y, name = ds[i]
            assert name == ds.videos[i]
            assert x.dtype == torch.float32 and y.dtype == torch.int64
            assert x.shape == (12, ar.num_frames(name)) and x.is_contiguous()
            np.testing.assert_array_equal(x.numpy(), decode_video(ar, name).T)
            np.testing.assert_array_equal(y.numpy(), ar.labels(name))
            assert ds.num_frames(i) == y.shape[0]
    assert ds[-1][2] == "vid02"


def test_layout_sample_rate_and_splits(archive):
    full = TaszDataset(archive, None)
    assert len(full) == 6
    td = TaszDataset(archive, "train.split2", layout="TD", sample_rate=2)
    assert td.videos == ["vid02", "vid03", "vid04", "vid05"]
    ref = TaszDataset(archive, "train.split2")
    for i in range(len(td)):
        x, y, _ = td[i]
        x0, y0, _ = ref[i]
        torch.testing.assert_close(x, x0.T[::2], rtol=0, atol=0)
        torch.testing.assert_close(y, y0[::2], rtol=0, atol=0)
        assert td.num_frames(i) == y.shape[0]
    assert TaszDataset(archive, "test").videos == ["vid03", "vid04", "vid05"]


@pytest.mark.parametrize("sample_rate, offset", [(2, 1), (3, 2), (1, 5)])
def test_offset_as_standard_loaders_read_it(archive, sample_rate, offset):
    """``np.load(path)[:, offset::sample_rate]`` and ``labels[offset::sample_rate]``."""
    ds = TaszDataset(archive, None, sample_rate=sample_rate, offset=offset)
    ref = TaszDataset(archive, None)
    for i in range(len(ds)):
        (x, y, _), (x0, y0, _) = ds[i], ref[i]
        torch.testing.assert_close(x, x0[:, offset::sample_rate], rtol=0, atol=0)
        torch.testing.assert_close(y, y0[offset::sample_rate], rtol=0, atol=0)
        assert ds.num_frames(i) == y.shape[0] == x.shape[1]
    with pytest.raises(TascodecError, match="TaszDataset: offset must be an integer >= 0"):
        TaszDataset(archive, offset=-1)


def test_errors(archive, tmp_path):
    with pytest.raises(TascodecError, match=r"split 'val' not found; available: \['test.split1'"):
        TaszDataset(archive, "val")
    with pytest.raises(TascodecError, match="layout"):
        TaszDataset(archive, layout="CT")
    with pytest.raises(TascodecError, match="sample_rate"):
        TaszDataset(archive, sample_rate=0)
    with pytest.raises(TascodecError, match="cache_bytes"):
        TaszDataset(archive, cache_bytes=-1)
    with pytest.raises(TascodecError, match="transform"):
        TaszDataset(archive, transform=3)
    with pytest.raises(TascodecError):
        TaszDataset(tmp_path / "missing.tasz")
    ds = TaszDataset(archive)
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(TypeError):
        ds["vid00"]


def test_lru_cache_is_bounded_in_bytes(archive):
    ds = TaszDataset(archive, None)
    sizes = [ds[i][0].nbytes + ds[i][1].nbytes for i in range(len(ds))]
    small = TaszDataset(archive, None, cache_bytes=sizes[0] + sizes[1])
    for i in range(len(ds)):
        small[i]
        assert small._cached_bytes <= small.cache_bytes
    assert list(small._cache)[-1] == "vid05"
    a = small[5][0]
    assert small[5][0] is a  # a hit returns the cached tensor
    none = TaszDataset(archive, None, cache_bytes=0)
    none[0]
    assert len(none._cache) == 0


def test_transform_and_pickle(archive):
    ds = TaszDataset(archive, "train", transform=functools.partial(torch.mul, other=2.0))
    x, _, _ = ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    assert not clone._handles and len(clone._cache) == 0
    torch.testing.assert_close(clone[0][0], x)
    torch.testing.assert_close(x, TaszDataset(archive, "train")[0][0] * 2)


def _batches(loader):
    return [(b.input.clone(), b.target.clone(), b.mask.clone(), b.names) for b in loader]


@pytest.mark.parametrize("context", ["fork", "spawn"])
def test_workers_match_single_process(archive, context):
    ds = TaszDataset(archive, None)
    ds[0]  # open in the parent first: forked workers must not reuse this handle
    ref = _batches(DataLoader(ds, batch_size=2, collate_fn=ds.collate))
    loader = DataLoader(ds, batch_size=2, collate_fn=ds.collate, num_workers=2,
                        multiprocessing_context=context)
    got = _batches(loader)
    assert len(got) == len(ref) == 3
    for a, b in zip(got, ref):
        for u, v in zip(a[:3], b[:3]):
            torch.testing.assert_close(u, v, rtol=0, atol=0)
        assert a[3] == b[3]
    assert ds[1][2] == "vid01"  # the parent's handle still works


def test_distributed_sampler_covers_every_video(archive):
    ds = TaszDataset(archive, None)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(ds, num_replicas=2, rank=rank, shuffle=True, seed=1)
        sampler.set_epoch(0)
        for batch in DataLoader(ds, batch_size=2, sampler=sampler, collate_fn=ds.collate):
            seen.extend(batch.names)
    assert sorted(seen) == ds.videos


def test_length_grouped_sampler(archive):
    ds = TaszDataset(archive, None)
    sampler = LengthGroupedSampler(ds, batch_size=2, group=3, seed=0)
    order = list(sampler)
    assert sorted(order) == list(range(len(ds))) and len(sampler) == len(ds)
    lengths = np.array([ds.num_frames(i) for i in range(len(ds))])
    for s in range(0, 6, 6):  # within a mega-batch, batches are sorted longest first
        chunk_batches = [order[i : i + 2] for i in range(s, s + 6, 2)]
        for b in chunk_batches:
            assert lengths[b[0]] >= lengths[b[-1]]
    sampler.set_epoch(1)
    assert sorted(sampler) == list(range(len(ds)))
    assert list(LengthGroupedSampler([5, 1, 3], 1, shuffle=False)) == [0, 2, 1]
    with pytest.raises(TascodecError, match="batch_size"):
        LengthGroupedSampler([1], 0)


def test_torch_device_path_matches_numpy(archive):
    ds = TaszDataset(archive, "train", device="cpu-torch", layout="TD")
    ref = TaszDataset(archive, "train", layout="TD")
    for i in range(len(ds)):
        x, y, _ = ds[i]
        x0, y0, _ = ref[i]
        torch.testing.assert_close(x, x0, rtol=1e-5, atol=1e-5)
        assert torch.equal(y, y0)


@pytest.mark.gpu
def test_cuda_items(archive):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    ds = TaszDataset(archive, "train", device="cuda")
    x, y, _ = ds[0]
    assert x.device.type == "cuda" and y.device.type == "cuda"
    batch = ds.collate([ds[0], ds[1]])
    assert batch.input.device.type == "cuda"


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_replaced_archive_raises_in_workers_never_mixes(tmp_path, version):
    """Issue 12: a file replaced under a dataset (encode --overwrite) raises IntegrityError in
    every process that reopens it; items of two archives are never mixed."""
    import shutil

    from tascodec.errors import IntegrityError
    from tascodec.format import open_archive, write_archive

    path = write_small_archive(tmp_path / "a.tasz", seed=3, videos=4)
    with open_archive(path) as ar:
        content = ar.to_content()
    other = write_small_archive(tmp_path / "b.tasz", seed=4, videos=4)
    if version == "1.0":
        write_archive(content, path, overwrite=True, format_version="1.0")
    ds = TaszDataset(path, None, cache_bytes=0)
    ds[0]
    shutil.copyfile(other, tmp_path / "new.tasz")
    (tmp_path / "new.tasz").replace(path)
    loader = DataLoader(ds, batch_size=1, num_workers=1, collate_fn=ds.collate,
                        multiprocessing_context="fork")
    with pytest.raises(Exception, match="replaced") as err:
        list(loader)
    assert "IntegrityError" in str(err.value) or isinstance(err.value, IntegrityError)
    ds.close()  # this process reopening sees it too
    with pytest.raises(IntegrityError, match="replaced"):
        ds[1]


def test_split_naming_unstored_videos(tmp_path):
    """The spec lets a split name videos the archive does not store: they are left out."""
    from tascodec.format import open_archive, write_archive

    path = write_small_archive(tmp_path / "a.tasz", seed=3, videos=4)
    with open_archive(path) as ar:
        content = ar.to_content()
    stored = content.table.video_names
    content.splits = {"train.split1": [stored[0], "not_stored", stored[2]]}
    write_archive(content, path, overwrite=True)
    ds = TaszDataset(path, "train")
    assert ds.videos == [stored[0], stored[2]] and len(ds) == 2
    assert ds[1][2] == stored[2]


def test_cuda_dataset_in_a_worker_refuses_with_a_clear_message(monkeypatch, tmp_path):
    """Checked where a worker first opens the archive, before any CUDA call."""
    import torch.utils.data as tud

    from tascodec.errors import TascodecError
    from tascodec.loading.torch_data import TaszDataset

    ds = TaszDataset.__new__(TaszDataset)  # no archive needed: the check comes first
    ds.path, ds.device, ds._handle, ds._pid = tmp_path / "a.tasz", "cuda", None, -1
    monkeypatch.setattr(tud, "get_worker_info", lambda: object())
    with pytest.raises(TascodecError, match="num_workers=0"):
        ds._archive()
