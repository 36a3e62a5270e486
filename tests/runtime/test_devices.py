"""Choosing the torch device (``tascodec.runtime.devices``): ``auto``, names, the same device
spelt two ways, the memory free on it."""

from __future__ import annotations

import pytest
import torch

from tascodec.errors import TascodecError
from tascodec.runtime.devices import device_name as resolve_device, same_device


def test_resolve_device():
    assert resolve_device("auto") in ("cpu", "cuda")
    assert resolve_device("cuda:1") == "cuda:1"
    with pytest.raises(TascodecError, match="device"):
        resolve_device("cuda:x")


def test_same_device_reads_cuda_as_the_current_device(monkeypatch):
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    assert same_device("cuda", "cuda:0") and same_device(torch.device("cuda:0"), "cuda")
    assert not same_device("cuda", "cuda:1") and not same_device("cuda:0", "cuda:1")
    assert not same_device("cpu", "cuda") and same_device("cpu", torch.device("cpu"))
    assert torch.device("cuda") != torch.device("cuda:0")  # why same_device exists


def test_free_memory_reads_the_host():
    from tascodec.runtime.devices import free_memory

    assert 0 < free_memory("cpu") < 1 << 50
