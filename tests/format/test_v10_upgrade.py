"""Format 1.0 archives have no manifest (spec tasz-v1.md section 9.1, issue 28): ``tascodec
merge`` rewrites one into the current version, in place or beside it, with the same tables,
codes and decoder, so every video decodes the same and every entry is then bound to the
root by its digest."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from make_golden import GOLDEN_DIR, NAMES
from tascodec.cli import main
from tascodec.format import open_archive


@pytest.mark.parametrize("name", NAMES)
def test_merge_rewrites_a_1_0_archive_in_place(tmp_path, name, capsys):
    path = tmp_path / f"{name}.tasz"
    shutil.copy(GOLDEN_DIR / f"{name}.tasz", path)
    with open_archive(path) as old:
        assert old.format_version == "1.0"
        before = {v: (old.labels(v), old.codes(v), old.decode(v)) for v in old.videos}
        splits, classes = old.splits, old.class_names
    assert main(["merge", str(path), "-o", str(path), "--overwrite"]) == 0
    assert "format 1.1" in capsys.readouterr().out
    with open_archive(path) as new:
        assert new.format_version == "1.1" and new.verify() == []
        assert new.header.get("tascodec_manifest") or new._layout.manifest
        assert new.splits == splits and new.class_names == classes
        assert list(new.videos) == list(before)
        for v, (labels, codes, decoded) in before.items():
            np.testing.assert_array_equal(new.labels(v), labels)
            np.testing.assert_array_equal(new.codes(v), codes)
            np.testing.assert_array_equal(new.decode(v), decoded)


def test_info_says_what_1_0_cannot_catch_and_verify_upgrade_rewrites_it(tmp_path, capsys):
    path = tmp_path / "a.tasz"
    shutil.copy(GOLDEN_DIR / f"{NAMES[0]}.tasz", path)
    with open_archive(path) as old:
        before = {v: old.decode(v) for v in old.videos}
    assert main(["info", str(path)]) == 0
    assert "1.0 has no entry manifest" in capsys.readouterr().out
    assert main(["verify", "--upgrade", "--quiet", str(path)]) == 0
    assert "rewritten as format 1.1" in capsys.readouterr().out
    with open_archive(path) as new:
        assert new.format_version == "1.1" and new.verify() == []
        for v, x in before.items():
            np.testing.assert_array_equal(new.decode(v), x)
    assert main(["info", str(path)]) == 0
    assert "1.0 has no entry manifest" not in capsys.readouterr().out
