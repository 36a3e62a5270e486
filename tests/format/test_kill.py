"""kill -9 at random points of an export and of an archive write: a killed run never leaves
something that reads as complete, and the next run resumes or cleans up (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from tascodec.errors import TascodecError
from tascodec.loading.export import export_archive
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset

from testkit import kill_after, spawn, write_small_archive


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1])
def test_killed_export_never_reads_as_complete(tmp_path, delay):
    archive = write_small_archive(tmp_path / "a.tasz", seed=2, videos=300)
    out = tmp_path / "out"
    proc = spawn(f"from tascodec.loading.export import export_archive\n"
                  f"export_archive({str(archive)!r}, {str(out)!r}, progress=False)")
    marker = out / ".tascodec-export.json"
    killed = kill_after(proc, delay, started=marker.exists)
    complete = marker.exists() and json.loads(marker.read_text())["complete"] is True
    if not complete:
        assert killed
        try:  # a killed export must not open as a dataset holding some of the videos
            StandardDataset(out)
            opened = True
        except TascodecError:
            opened = False
        assert not opened
    if not complete:
        export_archive(archive, out, progress=False)  # resumes the killed export
    ds = StandardDataset(out)
    with open_archive(archive) as ar:
        assert ds.videos == sorted(ar.videos)
        for v in ar.videos[::37]:
            np.testing.assert_array_equal(ds.features(v), ar.decode(v).T)
    assert not [p for p in out.rglob("*") if p.name.startswith(".tascodec-tmp-")]


@pytest.mark.parametrize("delay", [0.0, 0.05])
def test_killed_archive_write_leaves_nothing_under_the_final_name(tmp_path, delay):
    src = write_small_archive(tmp_path / "src.tasz", seed=1, videos=4)
    dest = tmp_path / "big.tasz"
    code = (f"import numpy as np\n"
            f"from tascodec.format import open_archive, write_archive\n"
            f"from tascodec.content import SegmentTable\n"
            f"c = open_archive({str(src)!r}).to_content()\n"
            f"n = 400_000\n"
            f"c.table = SegmentTable(['v'], np.array([n]), np.array([1]), np.zeros(1, np.int64),"
            f" np.array([n]), np.array([n]))\n"
            f"c.splits = {{}}\n"
            f"c.codes = np.random.default_rng(0).normal(size=(n, c.code_dim)).astype('f4')\n"
            f"write_archive(c, {str(dest)!r}, codes_chunk_bytes=1 << 14)\n")
    def writing() -> bool:
        return any(p.name.startswith(".tascodec-tmp-big.tasz.") for p in tmp_path.iterdir())

    killed = kill_after(spawn(code), delay, started=writing)
    if dest.exists():  # finished before the kill: a whole, valid archive
        with open_archive(dest) as ar:
            assert ar.verify() == []
        return
    assert killed and writing()  # the dead run's temporary is there
    content = open_archive(src).to_content()
    from tascodec.format import write_archive

    write_archive(content, dest)  # the next write to the path removes the dead run's files
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tasz", "src.tasz"]


def test_killed_append_scratch_is_removed_by_the_next_append(tmp_path, tiny_dataset,
                                                             monkeypatch):
    """Issue 28 item 7: a killed ``append --decoder new`` left its scratch directory
    (``.tascodec-tmp-<archive>.<pid>.<random>/``) beside the archive for good."""
    pytest.importorskip("torch")
    import shutil
    import subprocess
    import sys

    import tascodec
    import tascodec.encoding.append as appending
    from tascodec.errors import TascodecError

    from make_golden import GOLDEN_DIR_1_1

    path = tmp_path / "a.tasz"
    shutil.copy(GOLDEN_DIR_1_1 / "repeat.tasz", path)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".tascodec-tmp-a.tasz.{dead.pid}.x1y2z3"
    (stale / "sub").mkdir(parents=True)
    (stale / "sub" / "appended.tasz").write_bytes(b"half")
    other = tmp_path / f".tascodec-tmp-b.tasz.{dead.pid}.x1y2z3"  # another destination's
    other.mkdir()
    kept = path.read_bytes()

    def stops(*args, **kwargs):
        raise TascodecError("stopped before encoding")

    monkeypatch.setattr(appending, "encode", stops)  # append's binding of encoding.encode
    with pytest.raises(TascodecError, match="stopped"):
        tascodec.append(path, tiny_dataset, decoder="new", codec="inversion", recipe="quick",
                        device="cpu")
    assert path.read_bytes() == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a.tasz", other.name])
