"""Format 2.1: decode kind ``"mlp+offset"`` (a stored offset per segment, added to its frames)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tascodec.decode import decode_reference, decode_segments
from tascodec.errors import TascodecError
from tascodec.format import open_archive, write_archive
from tascodec.format.v1_write import write_v1
from tascodec.encoding.grow import merge

from make_golden import check_grouped_golden
from old_readers import old_decode_refusal
from testkit import check_decode_in_segment_groups, offset_content, small_content

GOLDEN = Path(__file__).parents[1] / "data" / "v2_1"
LAST_2_0_COMMIT = "0a2377c"  # the last commit whose reader knows format 2.0 only


def expected(archive, video) -> np.ndarray:
    """The normative decode: the ``mlp`` frames plus each segment's offset, repeated."""
    t = archive.table
    sl = t.video_slice(archive.video_index(video))
    mlp = decode_reference("mlp", archive.codes(video), t.seg_action[sl], t.seg_length[sl],
                           t.seg_num_instances[sl], archive.decoder())
    return mlp + np.repeat(archive.segment_offsets(video), t.seg_length[sl], axis=0)


@pytest.mark.parametrize("dtype", ["int8", "float16", "float32"])
def test_offsets_round_trip(tmp_path, dtype):
    content = offset_content(dtype=dtype)
    path = write_archive(content, tmp_path / "o.tasz", code_dtype="int8")
    with open_archive(path) as ar:
        assert ar.format_version == "2.1" and ar.decode_kind == "mlp+offset"
        assert ar.verify() == []
        t = content.table
        for i, v in enumerate(ar.videos):
            got = ar.segment_offsets(v)
            want = content.segment_offsets[t.video_slice(i)]
            if dtype == "float32":
                np.testing.assert_array_equal(got, want)
            else:
                tol = (np.abs(content.segment_offsets).max(0) / 127 / 2 + 1e-6
                       if dtype == "int8" else np.abs(want) * 1e-3 + 1e-6)
                assert (np.abs(got - want) <= tol).all()
            np.testing.assert_allclose(ar.decode(v), expected(ar, v), rtol=1e-5, atol=1e-4)
            torch_frames = ar.decode(v, device="cpu-torch")
            np.testing.assert_allclose(torch_frames, expected(ar, v), rtol=1e-5, atol=1e-4)
        whole = np.concatenate([ar.segment_offsets(v) for v in ar.videos])
        np.testing.assert_array_equal(ar.group_offsets(0), whole)


def test_decode_in_segment_groups_equals_whole(tmp_path):
    """A decode limit that splits a video into segment groups adds the same offsets."""
    check_decode_in_segment_groups(write_archive(offset_content(), tmp_path / "o.tasz"),
                                   40_000)


def test_decode_segments_takes_offsets():
    content = offset_content(dtype="float32")
    t = content.table
    sl = t.video_slice(0)
    codes = content.codes[t.video_first_code[0]:t.video_first_code[1]]
    args = (codes, t.seg_action[sl], t.seg_length[sl], t.seg_num_instances[sl],
            content.decoder)
    plain = decode_segments("mlp", *args)
    shifted = decode_segments("mlp+offset", *args, content.segment_offsets[sl])
    np.testing.assert_allclose(shifted - plain, np.repeat(content.segment_offsets[sl],
                                                          t.seg_length[sl], axis=0), atol=1e-5)
    with pytest.raises(TascodecError, match="segment_offsets"):
        decode_segments("mlp+offset", *args)
    with pytest.raises(TascodecError, match="segment_offsets"):
        decode_segments("mlp+offset", *args, content.segment_offsets[sl][:, :5])


def test_writers_refuse_inconsistent_offsets(tmp_path):
    content = offset_content()
    with pytest.raises(TascodecError, match="segment_offsets"):
        write_archive(replace(content, segment_offsets=None), tmp_path / "a.tasz")
    with pytest.raises(TascodecError, match="one row per segment"):
        write_archive(replace(content, segment_offsets=content.segment_offsets[1:]),
                      tmp_path / "b.tasz")
    bad = content.segment_offsets.copy()
    bad[0, 0] = np.nan
    with pytest.raises(TascodecError, match="finite"):
        write_archive(replace(content, segment_offsets=bad), tmp_path / "c.tasz")
    with pytest.raises(TascodecError, match="2.1"):
        write_v1(content, tmp_path / "d.tasz")
    with pytest.raises(TascodecError, match="segment offsets"):
        write_v1(replace(content, decode_kind="mlp"), tmp_path / "e.tasz")
    assert not any(tmp_path.iterdir())


def test_merge_keeps_offset_groups_bit_identical(tmp_path):
    plain = small_content(1, "mlp", 3)
    plain.table.video_names = [f"p_{v}" for v in plain.table.video_names]
    plain.splits = {k: [f"p_{v}" for v in vs] for k, vs in plain.splits.items()}
    pa = write_archive(offset_content(), tmp_path / "o.tasz", code_dtype="int8")
    pb = write_archive(plain, tmp_path / "p.tasz")
    out = merge([pa, pb], tmp_path / "m.tasz")
    with open_archive(out) as m, open_archive(pa) as A, open_archive(pb) as B:
        assert m.format_version == "2.1" and m.decode_kind == "mixed"
        assert [g.decode_kind for g in m.groups] == ["mlp+offset", "mlp"]
        for src in (A, B):
            for v in src.videos:
                np.testing.assert_array_equal(m.decode(v), src.decode(v))
        assert m.segment_offsets(B.videos[0]) is None
    # rewriting an archive stores the same offsets, bit for bit (int8 scale kept)
    again = merge([pa], tmp_path / "again.tasz")
    with open_archive(again) as c, open_archive(pa) as A:
        assert c.format_version == "2.1"
        for name in ("groups/0/offsets/c/0/0", "groups/0/offset_scale/c/0"):
            assert c._reader().read(name) == A._reader().read(name)


def test_golden_v2_1_decodes_and_rebuilds(tmp_path):
    check_grouped_golden(offset_content(), GOLDEN, "offsets", "2.1", "mlp+offset", tmp_path)


def test_a_2_0_reader_refuses_to_decode_2_1_cleanly(tmp_path):
    """The reader of the last 2.0-only commit opens a 2.1 archive (same major) but refuses
    to decode its ``"mlp+offset"`` group, naming the decode kind: never frames without the
    offsets."""
    assert "mlp+offset" in old_decode_refusal(LAST_2_0_COMMIT, GOLDEN / "offsets.tasz", tmp_path)


if __name__ == "__main__":  # pragma: no cover - run by hand:
    # PYTHONPATH=.:tests:tests/support python tests/format/test_offsets.py
    from make_golden import write_grouped_golden

    write_grouped_golden(offset_content(), GOLDEN, "offsets")
