"""The items the harness's segmentation models train on (``tascodec.harness.items``): where they
decode, and the decoded-video cache each process keeps.

Named ``test_harness_items.py``: ``tests/loading/test_items.py`` (``tascodec.loading.items``)
has the mirrored name, and test file names are unique under ``tests/``."""

from __future__ import annotations

import pytest
import torch

from tascodec.errors import TascodecError
from tascodec.harness.items import DecodedItems, decode_device


def test_decode_device_choice():
    assert decode_device("auto", "cpu") is None and decode_device("numpy", "cpu") is None
    assert decode_device("torch", "cpu") == torch.device("cpu")
    with pytest.raises(TascodecError, match="decode: expected one of"):
        decode_device("gpu", "cpu")


def test_evaluate_workers_divide_the_decode_cache(monkeypatch):
    # evaluate_archive(jobs=N) on one GPU: N workers keep half its free memory together.
    from tascodec.harness import items

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (8 << 30, 16 << 30))
    cuda = torch.device("cuda")
    assert items.cache_limit(cuda) == 4 << 30 and items.cache_limit() == 4 << 30
    monkeypatch.setattr(items, "_cache_shares", 4)  # what worker_pool(4) tells a worker
    assert items.cache_limit(cuda) == 1 << 30 and items.cache_limit(None) == 1 << 30
    assert DecodedItems(None, [], 4, "a", device=cuda)._limit == 1 << 30
    assert DecodedItems(None, [], 4, "a")._limit == 1 << 30
    monkeypatch.undo()
    with items.worker_pool(2) as pool:  # spawned workers are told their share
        assert pool.submit(items.cache_limit).result() == items._CACHE_LIMIT // 2
