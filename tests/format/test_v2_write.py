"""Writing archives of several decoder groups (``tascodec.format.v2_write``): the groups of an
archive written again give it byte for byte; one group that 1.1 can say is written as 1.1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tascodec.encoding.grow import read_groups
from tascodec.errors import OutputExistsError, TascodecError
from tascodec.format import open_archive
from tascodec.format.v2_write import concat_tables, write_grouped

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


def test_the_groups_of_an_archive_are_written_again_byte_for_byte(tmp_path):
    with open_archive(V2) as ar:
        content = read_groups(ar)
        videos = list(ar.videos)
    out = write_grouped(content, tmp_path / "again.tasz")
    assert out.read_bytes() == V2.read_bytes()
    with pytest.raises(OutputExistsError):
        write_grouped(content, out)
    with pytest.raises(TascodecError, match="does not exist"):
        write_grouped(content, tmp_path / "nope" / "x.tasz")
    table = concat_tables([g.content.table for g in content.groups])
    assert table.video_names == videos
    assert table.num_codes == sum(g.content.table.num_codes for g in content.groups)
    np.testing.assert_array_equal(
        table.seg_length, np.concatenate([g.content.table.seg_length for g in content.groups]))


def test_one_group_is_written_as_1_1(tmp_path):
    with open_archive(V2) as ar:
        content = read_groups(ar)
        first = ar.groups[0].videos
    content.groups = content.groups[:1]
    content.decoders = content.decoders[:1]
    content.class_names = content.class_names[:len(content.decoders[0].classes)]
    keep = set(first)
    content.splits = {k: [v for v in vs if v in keep] for k, vs in content.splits.items()}
    with open_archive(write_grouped(content, tmp_path / "one.tasz")) as one:
        assert one.format_version == "1.1" and one.videos == list(first)
