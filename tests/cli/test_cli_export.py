"""``tascodec export`` (archive -> standard layout) and ``tascodec decode`` (one video ->
.npy), ``tascodec.cli.export``: outputs into folders (made when missing) as the umask says, the
output flag, the stored video by name, bundle spelling or index, never replaced unasked."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from file_modes import mode
from make_golden import GOLDEN_DIR
from tascodec.cli import main
from tascodec.decode import decode_video
from tascodec.format import open_archive
from testkit import write_small_archive

ARCHIVE = str(GOLDEN_DIR / "mlp.tasz")


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_small_archive(tmp_path_factory.mktemp("ex") / "small.tasz", seed=21, videos=5)


def test_decode_creates_missing_folders_and_writes_readable_files(tmp_path, capsys):
    before = os.umask(0o022)
    try:
        out = tmp_path / "out" / "sub" / "x.npy"
        assert main(["decode", ARCHIVE, "0", "-o", str(out)]) == 0
    finally:
        os.umask(before)
    assert np.load(out).ndim == 2 and mode(out) == 0o644
    assert not list(out.parent.glob(".tascodec-tmp-*"))


def test_a_decode_over_the_limit_names_the_flag(tmp_path, capsys):
    assert main(["decode", ARCHIVE, "0", "-o", str(tmp_path / "x.npy"), "--decode-limit",
                 "100"]) == 2
    err = capsys.readouterr().err
    assert "--decode-limit" in err and "decode_limit=" not in err


def test_decode_into_a_folder(tmp_path, capsys):
    folder = tmp_path / "data"
    folder.mkdir()
    assert main(["decode", ARCHIVE, "0", "-o", str(folder)]) == 0  # an existing folder
    assert main(["decode", ARCHIVE, "1", "-o", f"{tmp_path}/new/"]) == 0  # a folder to make
    from tascodec.format import open_archive

    with open_archive(ARCHIVE) as ar:
        first, second = ar.videos[:2]
    assert (folder / f"{first}.npy").is_file() and not (tmp_path / "data.npy").exists()
    assert (tmp_path / "new" / f"{second}.npy").is_file()
    assert main(["decode", ARCHIVE, "0", "-o", str(folder)]) == 2  # no silent replacement
    assert "already exists" in capsys.readouterr().err


def test_exported_and_synthesized_files_honour_the_umask(tmp_path, capsys):
    before = os.umask(0o027)
    try:
        assert main(["export", ARCHIVE, str(tmp_path / "export"), "--quiet"]) == 0
        assert main(["synth", "--preset", "tiny", "--videos", "2", "--quiet", "-o",
                     str(tmp_path / "synth")]) == 0
    finally:
        os.umask(before)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {".tascodec-export.json", "mapping.txt"}
    assert {mode(p) for p in files} == {0o640}


def test_export_takes_the_output_flag_too(tmp_path, capsys):
    assert main(["export", ARCHIVE, "-o", str(tmp_path / "a" / "out"), "--quiet"]) == 0
    assert (tmp_path / "a" / "out" / "mapping.txt").is_file()
    assert main(["export", ARCHIVE, "--quiet"]) == 2
    assert "OUT_DIR or -o/--output" in capsys.readouterr().err


def test_cli_export_and_decode(archive, tmp_path, capsys):
    assert main(["export", str(archive), str(tmp_path / "o"), "--quiet"]) == 0
    said = capsys.readouterr()
    assert "videos" in said.out and "splits: " in said.out and "test split" not in said.err
    assert (tmp_path / "o" / "mapping.txt").read_text().splitlines()[0] == "0 take"
    assert main(["export", str(archive), str(tmp_path / "o"), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    with open_archive(archive) as ar:
        ref = decode_video(ar, "vid01")
    assert main(["decode", str(archive), "vid01", "-o", str(tmp_path / "x.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), ref.T)
    assert main(["decode", str(archive), "vid01", "-o", str(tmp_path / "y.npy"),
                 "--layout", "TD"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), ref)
    assert main(["decode", str(archive), "nope", "-o", str(tmp_path / "z.npy")]) == 2
    assert "no video 'nope'" in capsys.readouterr().err


def test_decode_takes_bundle_names_and_indexes_and_never_overwrites(tmp_path):
    from tascodec.cli import main
    from tascodec.format import open_archive

    golden = Path(__file__).parents[1] / "data" / "v1" / "mlp.tasz"
    with open_archive(golden) as ar:
        videos = list(ar.videos)
    for i, given in enumerate((videos[0], f"{videos[0]}.txt", "1")):
        out = tmp_path / f"x{i}.npy"
        assert main(["decode", str(golden), given, "-o", str(out)]) == 0
        assert out.is_file()
    assert main(["decode", str(golden), "1", "-o", str(tmp_path / "x0.npy")]) == 2
    assert main(["decode", str(golden), "1", "-o", str(tmp_path / "x0.npy"), "--overwrite"]) == 0
    assert main(["decode", str(golden), "no-such-video", "-o", str(tmp_path / "y.npy")]) == 2
