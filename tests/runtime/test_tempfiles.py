"""Temporary files beside their destination (``tascodec.runtime.tempfiles``): what they write
honours the umask (0644 under 0022), the folders above an output are made, a file in the way
is one line."""

from __future__ import annotations

import os

import pytest

from file_modes import mode
from make_golden import GOLDEN_DIR
from tascodec.cli import main
from tascodec.errors import TascodecError
from tascodec.runtime.tempfiles import ensure_parent, file_mode, write_beside

ARCHIVE = str(GOLDEN_DIR / "mlp.tasz")


@pytest.fixture(params=[0o022, 0o027, 0o002])
def umask(request):
    before = os.umask(request.param)
    yield request.param
    os.umask(before)


def test_file_mode_is_what_open_gives(umask, tmp_path):
    with open(tmp_path / "plain", "w"):
        pass
    assert file_mode() == mode(tmp_path / "plain") == 0o666 & ~umask


def test_single_files_and_archives_honour_the_umask(umask, tmp_path):
    from tascodec.format.zip_write import write_zip_atomic

    write_beside(tmp_path / "a.bin", lambda h: h.write(b"x"), overwrite=False)
    write_zip_atomic({"zarr.json": lambda: b"{}"}, tmp_path / "b.tasz")
    assert mode(tmp_path / "a.bin") == mode(tmp_path / "b.tasz") == 0o666 & ~umask


def test_a_file_in_the_way_of_a_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(TascodecError, match="a file is in the way"):
        ensure_parent(tmp_path / "f" / "x.npy")
    assert main(["decode", ARCHIVE, "0", "-o", str(tmp_path / "f" / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a file is in the way" in err and "Traceback" not in err
