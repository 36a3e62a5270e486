"""``Archive`` (``tascodec.format.archive``): the reading API of an open archive, its handle
across pickling, processes and forks, a replaced or closed file, and the group of a video
found once per archive (issue 28, item 11)."""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import IntegrityError, TascodecError
from tascodec.format import FORMAT_VERSION, Archive, open_archive, write_archive
from testkit import assert_tables_equal

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


# ------------------------------------------------------------------------------ reading API
def test_round_trip_api(mlp):
    content, path = mlp
    t = content.table
    with open_archive(path) as ar:
        assert isinstance(ar, Archive)
        assert ar.format_version == FORMAT_VERSION == "1.1"
        assert ar.videos == t.video_names
        assert ar.class_names == content.class_names
        assert ar.splits == content.splits
        assert ar.codec == "inversion" and ar.codec_config == content.codec_config
        assert ar.decode_kind == "mlp" and ar.code_dtype == "float32"
        assert ar.header["format"] == "tascodec" and ar.header["stats"] == content.stats
        assert ar.code_dim == content.code_dim and ar.feature_dim == content.feature_dim
        assert_tables_equal(ar.table, t)
        fc = t.video_first_code
        for i, v in enumerate(t.video_names):
            rows = t.video_slice(i)
            labels = np.repeat(t.seg_action[rows], t.seg_length[rows])
            np.testing.assert_array_equal(ar.labels(v), labels)
            np.testing.assert_array_equal(ar.labels(i), labels)
            assert ar.labels(v).dtype == np.int64
            assert ar.num_frames(v) == labels.size
            np.testing.assert_array_equal(ar.transcript(v), t.seg_action[rows])
            seg = ar.segments(v)
            np.testing.assert_array_equal(seg.length, t.seg_length[rows])
            assert seg.start[0] == 0 and seg.start[-1] + seg.length[-1] == labels.size
            codes = ar.codes(v)
            assert codes.dtype == np.float32 and codes.shape == (
                fc[i + 1] - fc[i],
                content.code_dim,
            )
            np.testing.assert_array_equal(codes, content.codes[fc[i] : fc[i + 1]])
        dec = ar.decoder()
        assert dec.arch == content.decoder.arch
        for k, v in content.decoder.tensors.items():
            np.testing.assert_array_equal(dec.tensors[k], v)
        back = ar.to_content()
        np.testing.assert_array_equal(back.codes, content.codes)
        assert back.stats == content.stats and back.table.video_names == t.video_names


def test_sizes_add_up(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        s = ar.sizes()
    assert set(s) == {"codes", "tables", "decoder", "overhead", "total"}
    assert s["total"] == path.stat().st_size
    assert s["codes"] + s["tables"] + s["decoder"] + s["overhead"] == s["total"]
    assert min(s.values()) > 0


def test_unknown_video_names_it(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        with pytest.raises(TascodecError, match="no_such_video") as err:
            ar.codes("no_such_video")
        assert str(path) in str(err.value)
        with pytest.raises(TascodecError, match="out of range"):
            ar.labels(99)


def test_decode_delegates(mlp):
    decode = pytest.importorskip("tascodec.decode")
    content, path = mlp
    with open_archive(path) as ar:
        for i, v in enumerate(ar.videos):
            rows = content.table.video_slice(i)
            want = decode.decode_reference(
                "mlp",
                ar.codes(v),
                content.table.seg_action[rows],
                content.table.seg_length[rows],
                content.table.seg_num_instances[rows],
                ar.decoder(),
            )
            np.testing.assert_allclose(ar.decode(v), want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ar.decode(i), want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------- processes and pickling
def test_pickle_reopens(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        clone = pickle.loads(pickle.dumps(ar))
        assert clone.path == ar.path and clone._zr is not ar._zr
        np.testing.assert_array_equal(clone.codes(ar.videos[0]), ar.codes(ar.videos[0]))
        clone.close()


def test_new_process_gets_its_own_handle(mlp, monkeypatch):
    _, path = mlp
    with open_archive(path) as ar:
        first = ar._reader()
        monkeypatch.setattr(os, "getpid", lambda: -12345)
        assert ar._reader() is not first
        ar.codes(ar.videos[0])
    assert not first.closed  # the parent's handle is left alone, not shared


def test_replaced_file_is_noticed_on_reopen(mlp, monkeypatch, tmp_path):
    content, path = mlp
    with open_archive(path) as ar:
        write_archive(content, path, overwrite=True, code_dtype="float16")
        monkeypatch.setattr(os, "getpid", lambda: -12345)
        with pytest.raises(IntegrityError, match="changed on disk"):
            ar.codes(ar.videos[0])


def _child_sum(ar: Archive, q) -> None:
    q.put(float(sum(ar.codes(v).sum() for v in ar.videos)))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork on this platform")
def test_forked_worker_reads(mlp):
    content, path = mlp
    with open_archive(path) as ar:
        ar.codes(ar.videos[0])  # the parent has used its handle
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_child_sum, args=(ar, q))
        p.start()
        got = q.get(timeout=60)
        p.join(timeout=60)
        assert p.exitcode == 0
        assert got == pytest.approx(float(content.codes.sum()), rel=1e-5)
        np.testing.assert_array_equal(ar.codes(ar.videos[0]), content.codes[ar.code_rows(0)])


def test_closed_archive_refuses(mlp):
    _, path = mlp
    ar = open_archive(path)
    ar.close()
    assert ar.closed
    with pytest.raises(TascodecError, match="closed"):
        ar.codes(ar.videos[0])


# ----------------------------------------------------------------------------------- groups
class CountingList(list):
    """A list that counts how often it is iterated."""

    iterations = 0

    def __iter__(self):
        CountingList.iterations += 1
        return super().__iter__()


def test_group_of_reads_the_group_list_once():
    with open_archive(V2) as ar:
        assert len(ar.groups) > 1
        expected = [next(g.index for g in ar.groups if v in g.videos) for v in ar.videos]
        ar._layout.groups = CountingList(ar._layout.groups)
        CountingList.iterations = 0
        for _ in range(50):
            got = [ar.group_of(v) for v in ar.videos]
        assert got == expected
        assert [ar.group_of(i) for i in range(len(ar.videos))] == expected
        assert CountingList.iterations <= 1, CountingList.iterations
