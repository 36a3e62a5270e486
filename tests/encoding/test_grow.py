"""Archives that grow (``tascodec.encoding.grow``): ``merge`` joins archives into one of several
decoder groups that decodes exactly as its inputs (issue 15), refuses name clashes, and a
merge killed while it replaces an input leaves that input byte identical."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from merge_inputs import two_archives
from tascodec.encoding.grow import merge
from tascodec.errors import TascodecError
from tascodec.format import open_archive
from testkit import kill_after, spawn


def test_merge_decodes_exactly_as_inputs(tmp_path):
    pa, pb = two_archives(tmp_path)
    out = merge([pa, pb], tmp_path / "m.tasz")
    with open_archive(out) as m, open_archive(pa) as A, open_archive(pb) as B:
        assert m.format_version == "2.0" and len(m.groups) == 2 and m.num_decoders == 2
        assert m.verify() == []
        assert m.class_names[: len(A.class_names)] == A.class_names
        assert set(m.class_names) == set(A.class_names) | set(B.class_names)
        for src, g in ((A, 0), (B, 1)):
            for v in src.videos:
                assert m.group_of(v) == g
                np.testing.assert_array_equal(m.decode(v), src.decode(v))
                np.testing.assert_array_equal(m.codes(v), src.codes(v))
                names = [m.class_names[i] for i in m.labels(v)]
                assert names == [src.class_names[i] for i in src.labels(v)]
        for k, vs in A.splits.items():
            assert set(vs) <= set(m.splits[k])
        with pytest.raises(TascodecError, match="pass group="):
            m.decoder()
    with pytest.raises(TascodecError, match="already exists"):
        merge([pa, pb], out)


def test_merge_refuses_name_clashes(tmp_path):
    pa, _ = two_archives(tmp_path)
    shutil.copy(pa, tmp_path / "a2.tasz")
    with pytest.raises(TascodecError, match="more than one input") as err:
        merge([pa, tmp_path / "a2.tasz"], tmp_path / "m.tasz")
    with open_archive(pa) as A:
        assert repr(A.videos[0]) in str(err.value)
    assert not (tmp_path / "m.tasz").exists()


def test_merged_archive_merges_again_and_single_group_stays_1_1(tmp_path):
    pa, pb = two_archives(tmp_path)
    m = merge([pa, pb], tmp_path / "m.tasz")
    again = merge([m], tmp_path / "copy.tasz")
    with open_archive(again) as c, open_archive(m) as ar:
        assert [g.as_dict() for g in c.groups] == [g.as_dict() for g in ar.groups]
        for v in ar.videos:
            np.testing.assert_array_equal(c.decode(v), ar.decode(v))
    single = merge([pa], tmp_path / "single.tasz")
    with open_archive(single) as s, open_archive(pa) as A:
        assert s.format_version == "1.1"  # the lowest version that expresses the content
        for v in A.videos:
            np.testing.assert_array_equal(s.codes(v), A.codes(v))


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_killed_merge_leaves_the_original_byte_identical(tmp_path, delay):
    pa, pb = two_archives(tmp_path)
    before = pa.read_bytes()
    code = (f"from tascodec.encoding.grow import merge\n"
            f"merge([{str(pa)!r}, {str(pb)!r}], {str(pa)!r}, overwrite=True)\n")
    kill_after(spawn(code), delay)
    after = pa.read_bytes()
    assert after == before or open_archive(pa).format_version == "2.0"
    with open_archive(pa) as ar:
        assert ar.verify() == []
