"""runtime.memory: the host's memory as the operating system states it."""

from __future__ import annotations

import os

import pytest

from tascodec.runtime.memory import address_space_limit, physical_memory


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
