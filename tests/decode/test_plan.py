"""What every decoder shares (``tascodec.decode.plan``): instances and coherence by the spec's
rule, the decodability check, stored offsets and the budget of one video."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tascodec.content import KINDS, SegmentTable
from tascodec.decode.plan import add_offsets, check_decodable, check_offsets, instances, video_plan
from tascodec.decode.view import video_view
from tascodec.errors import DecodeBudgetError, TascodecError, UnknownCodecError
from testkit import random_decoder


def test_instances_follow_the_spec_rule():
    # instance k of a segment of l frames and K instances: [floor(k l / K), floor((k+1) l / K))
    segment, length, first, coherence = instances(np.array([5, 1, 4]), np.array([2, 1, 4]))
    np.testing.assert_array_equal(segment, [0, 0, 1, 2, 2, 2, 2])
    np.testing.assert_array_equal(length, [2, 3, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(first, [0, 2, 5, 6, 7, 8, 9])
    assert coherence.dtype == np.float32
    np.testing.assert_allclose(coherence, [0, 0.25, 0.5, 0.75, 1, 0, 0, 1 / 3, 2 / 3, 1],
                               rtol=1e-6)


def test_check_decodable_refuses_what_this_reader_cannot_decode():
    assert check_decodable("a.tasz", "mlp", (1, 1), {"name": "tca-mlp"}) is KINDS["mlp"]
    assert check_decodable("a.tasz", "mlp+offset", (2, 1), None) is KINDS["mlp+offset"]
    assert not check_decodable("a.tasz", "repeat", (1, 0), {"name": "conv-net"}).uses_decoder
    with pytest.raises(UnknownCodecError, match="a.tasz: decode_kind 'hologram' is unknown"):
        check_decodable("a.tasz", "hologram")
    with pytest.raises(UnknownCodecError, match="came with format 2.1; a 1.1 archive"):
        check_decodable("a.tasz", "mlp+offset", (1, 1))
    with pytest.raises(UnknownCodecError, match="architecture 'conv-net'"):
        check_decodable("a.tasz", "mlp", (1, 1), {"name": "conv-net"})


def test_offsets_only_for_the_kinds_that_store_them():
    assert check_offsets("mlp", np.zeros((2, 3)), 2, 3) is None
    offsets = check_offsets("mlp+offset", [[1, 2, 3], [4, 5, 6]], 2, 3)
    assert offsets.dtype == np.float32
    with pytest.raises(TascodecError, match=r"expected shape \(3, 3\)"):
        check_offsets("mlp+offset", offsets, 3, 3)
    with pytest.raises(TascodecError, match="needs one offset per segment"):
        check_offsets("mlp+offset", None, 2, 3)
    out = add_offsets(np.zeros((3, 3), np.float32), offsets, np.array([1, 2]))
    np.testing.assert_array_equal(out, [[1, 2, 3], [4, 5, 6], [4, 5, 6]])


def test_video_plan_is_the_budget_of_the_view():
    rng = np.random.default_rng(0)
    table = SegmentTable.from_labels(["v"], [np.repeat([0, 1, 2], [40, 30, 30])], k=2)
    codes = rng.standard_normal((table.num_codes, 8)).astype(np.float32)
    archive = SimpleNamespace(table=table, decode_kind="mlp", codes=lambda video: codes,
                              decoder=lambda: random_decoder(rng), path="x.tasz")
    view = video_view(archive, "v")
    plan = video_plan(view)
    assert plan.output == 100 * 12 * 4 and plan.codes == codes.nbytes
    assert plan.groups[0][0] == 0 and plan.groups[-1][1] == 3
    with pytest.raises(DecodeBudgetError, match="x.tasz"):
        video_plan(view, limit=1000)
