"""Export into an untrusted output folder (issue 28 items 2, 5, 6): no link followed, no
planted file trusted on resume, the marker read only as a small regular file. The family
itself is ``adversarial_outdirs`` (part of the standing run, ``tests/support/adversarial.py``)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from adversarial_outdirs import ARCHIVE, run_outdirs
from tascodec.errors import OutputExistsError, TascodecError
from tascodec.loading.export import export_archive
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset
from tascodec.dataset.layout_write import MARKER, LayoutWriter


def test_the_hostile_output_family(tmp_path):
    detail: dict[str, str] = {}
    counts = run_outdirs(tmp_path, detail=detail)
    bad = {k: v for k, v in detail.items() if v not in ("rejected", "ok")}
    assert not bad, bad
    for name in ("features linked", "splits linked [overwrite]", "only links",
                 "FIFO marker", "huge marker", "linked marker",
                 "temporaries in a linked folder [overwrite]"):
        assert detail[name] == "rejected", (name, detail[name])
    for name in ("forged marker, planted files", "forged marker, linked files",
                 "FIFO marker [overwrite]"):
        assert detail[name] == "ok", (name, detail[name])
    assert sum(counts.values()) == len(detail) == 34
    for name in detail:
        if "is a folder" in name:
            assert detail[name] == "rejected", (name, detail[name])


def test_linked_folder_is_named_and_left_alone(tmp_path):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "keep.txt").write_text("mine")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(notes, out / "groundTruth")
    for overwrite in (False, True):
        with pytest.raises(TascodecError, match=r"groundTruth'?(:? is)? .*symbolic link"):
            export_archive(ARCHIVE, out, progress=False, overwrite=overwrite)
    assert sorted(p.name for p in notes.iterdir()) == ["keep.txt"]
    with pytest.raises(TascodecError, match="symbolic link"):
        LayoutWriter(out, ["a"])


def test_forged_partial_marker_gets_every_file_rewritten(tmp_path):
    """A ``{"complete": false}`` marker of the same archive over planted files: the export
    continues without --overwrite and ends with what the archive decodes, no planted byte."""
    with open_archive(ARCHIVE) as ar:
        identity, videos = ar.identity, list(ar.videos)
        decoded = {v: ar.decode(v).T for v in videos}
    out = tmp_path / "out"
    (out / "features").mkdir(parents=True)
    (out / "groundTruth").mkdir()
    outside = tmp_path / "elsewhere.npy"
    np.save(outside, np.ones((12, 2), np.float32))
    os.symlink(outside, out / "features" / f"{videos[0]}.npy")
    np.save(out / "features" / f"{videos[1]}.npy", np.zeros((12, 2), np.float32))
    for v in videos[:2]:
        (out / "groundTruth" / f"{v}.txt").write_text("stir\n")
    (out / MARKER).write_text(json.dumps({"format": "tascodec-export", "identity": identity,
                                          "split": None, "complete": False}))
    export_archive(ARCHIVE, out, progress=False)
    ds = StandardDataset(out)
    for v in videos:
        assert not (out / "features" / f"{v}.npy").is_symlink()
        np.testing.assert_array_equal(ds.features(v), decoded[v])
    np.testing.assert_array_equal(np.load(outside), np.ones((12, 2), np.float32))
    assert json.loads((out / MARKER).read_text())["complete"] is True


@pytest.mark.parametrize("kind", ["fifo", "link", "folder", "huge"])
def test_marker_that_is_not_a_small_regular_file_is_refused(tmp_path, kind):
    out = tmp_path / "out"
    (out / "features").mkdir(parents=True)
    (out / "features" / "x.npy").write_bytes(b"x")
    marker = out / MARKER
    if kind == "fifo":
        os.mkfifo(marker)
    elif kind == "link":
        os.symlink("/dev/zero", marker)
    elif kind == "folder":
        marker.mkdir()
    else:
        with open(marker, "wb") as fh:
            fh.truncate(1 << 30)  # sparse
    with pytest.raises(OutputExistsError, match="marker"):
        export_archive(ARCHIVE, out, progress=False)
    if kind != "folder":  # --overwrite replaces it (the entry, never its target)
        export_archive(ARCHIVE, out, progress=False, overwrite=True)
        assert json.loads(marker.read_text())["complete"] is True
