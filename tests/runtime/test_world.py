"""This process's place in a multi-process encode (``tascodec.runtime.world``): balanced
contiguous shards, one GPU per rank of a host, a world of one, failures told apart."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.runtime.world import (
    SINGLE,
    World,
    describe_failure,
    lost_contact,
    shard_ranges,
)


def test_shard_ranges_are_contiguous_balanced_and_complete():
    assert shard_ranges([100] * 10, 2) == [(0, 5), (5, 10)]
    assert shard_ranges([1, 1, 1, 100], 2) == [(0, 3), (3, 4)]
    assert shard_ranges([5], 3) == [(0, 0), (0, 0), (0, 1)] or sum(
        b - a for a, b in shard_ranges([5], 3)) == 1
    rng = np.random.default_rng(0)
    for parts in (1, 2, 3, 7):
        w = rng.integers(1, 1000, size=40)
        ranges = shard_ranges(w, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == 40
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
        share = [int(w[a:b].sum()) for a, b in ranges]
        assert max(share) - min(share) <= 2 * int(w.max())


def test_an_explicit_gpu_is_refused_where_several_ranks_share_a_host(monkeypatch):
    from tascodec.errors import TascodecError
    from tascodec.runtime.world import check_rank_device

    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(TascodecError, match=r"device='cuda:1': 2 ranks run on this host and "
                       r"each would compute on that one GPU; pass device 'cuda'"):
        check_rank_device("cuda:1")
    world = World(rank=1, size=2, backend="nccl", local_rank=1)
    with pytest.raises(TascodecError, match="device='cuda:0'"):
        world.device_for("cuda:0")
    assert world.device_for("cuda") == "cuda:1" and world.device_for("cpu") == "cpu"
    check_rank_device("cuda")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "1")  # one rank per host: its own choice
    check_rank_device("cuda:1")
    assert world.device_for("cuda:1") == "cuda:1"


def test_alone_a_world_is_one_rank_whose_outcomes_return_at_once():
    assert SINGLE == World() and SINGLE.is_main and not SINGLE.distributed
    assert SINGLE.run_all("a phase", lambda: 5) == [5] and SINGLE.agree("a phase") == [None]
    with pytest.raises(ValueError, match="boom"):
        SINGLE.agree("a phase", ValueError("boom"))
    assert World(rank=2, size=4).shard([1] * 8) == (4, 6)
    assert not World(rank=1, size=2).is_main


def test_a_lost_peer_is_told_from_other_failures():
    assert lost_contact(RuntimeError("[gloo] Connection closed by peer"))
    assert lost_contact(RuntimeError("NCCL watchdog: timed out"))
    assert not lost_contact(RuntimeError("shape mismatch"))
    assert not lost_contact(ValueError("gloo"))  # only a collective's RuntimeError
    assert describe_failure(ValueError("bad value\nmore detail")) == "ValueError: bad value"
    assert describe_failure(KeyError()) == "KeyError: "
