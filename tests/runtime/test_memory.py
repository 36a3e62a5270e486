"""runtime.memory: the host's memory as the operating system states it."""

from __future__ import annotations

import os

import pytest

from tascodec.runtime import memory
from tascodec.runtime.memory import address_space_limit, half_of_memory, physical_memory


def test_physical_memory_is_the_pages_times_their_size():
    if not hasattr(os, "sysconf"):
        pytest.skip("no os.sysconf here")
    got = physical_memory()
    assert got == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert got > 64 << 20  # any machine that runs the suite has more than 64 MiB


def test_address_space_limit_is_the_soft_rlimit_or_none():
    resource = pytest.importorskip("resource")
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    want = None if soft == resource.RLIM_INFINITY or soft <= 0 else soft
    assert address_space_limit() == want


def test_half_of_memory_is_half_the_smaller_known_cap(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: 64 << 30)
    monkeypatch.setattr(memory, "address_space_limit", lambda: 4 << 30)
    assert half_of_memory() == 2 << 30
    monkeypatch.setattr(memory, "address_space_limit", lambda: None)
    assert half_of_memory() == 32 << 30
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    assert half_of_memory() is None
