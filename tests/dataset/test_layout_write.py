"""Writing the standard dataset layout (``tascodec.dataset.layout_write``): names that cannot
be files refused, the export marker, the writer."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.dataset.layout import StandardDataset
from tascodec.dataset.layout_write import MARKER, LayoutWriter, first_content, read_marker_at
from tascodec.dataset.layout_write import check_file_name as _check_name
from tascodec.errors import TascodecError


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b", "x\ny"])
def test_unsafe_video_names_are_refused(name):
    with pytest.raises(TascodecError, match="cannot be used as a file name"):
        _check_name(name, "a.tasz")


@pytest.mark.parametrize("name", ["a\rb", "a\vb", "a\fb", "a\x1cb", "a\x85b", "a\u2028b",
                                  " lead", "trail ", "x" * 201, "tab\tin"])
def test_names_that_would_not_read_back_are_refused(name):
    with pytest.raises(TascodecError, match="cannot be used as a file name"):
        _check_name(name, "a.tasz")


def test_duplicate_class_names_refused():
    from tascodec.dataset.layout_write import check_class_names

    with pytest.raises(TascodecError, match="duplicate class names"):
        check_class_names(["a", "b", "a"], "a.tasz")


def test_a_written_layout_reads_back_as_a_dataset(tmp_path):
    root = tmp_path / "ds"
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    with LayoutWriter(root, ["background", "pour"]) as writer:
        writer.write_video("v0", x, np.array([0, 1, 1, 0]))
        writer.write_split("train.split1", ["v0"])
        assert writer.has_video("v0") and not writer.has_video("v1")
        assert read_marker_at(root) is None
        writer.write_marker({"complete": True})
        writer.write_mapping()
    with pytest.raises(TascodecError, match="the layout writer is closed"):
        writer.write_mapping()
    ds = StandardDataset(root)
    assert ds.class_names == ["background", "pour"] and ds.videos == ["v0"]
    assert ds.split("train.split1") == ["v0"]
    np.testing.assert_array_equal(ds.features("v0"), x)
    np.testing.assert_array_equal(ds.labels("v0"), [0, 1, 1, 0])
    assert (root / "groundTruth" / "v0.txt").read_text() == "background\npour\npour\nbackground\n"
    assert read_marker_at(root) == {"complete": True}
    (root / MARKER).write_text("[1]")
    assert read_marker_at(root) == {}  # not an object: no marker to trust


def test_first_content_skips_folders_and_temporaries(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".tascodec-tmp-x.npy.1.abc").write_bytes(b"")
    assert first_content(tmp_path) is None
    (tmp_path / "a" / "b" / "notes.md").write_text("mine")
    assert first_content(tmp_path) == tmp_path / "a" / "b" / "notes.md"
