"""``tascodec encode`` (``tascodec.cli.encode``): its flags reach the encode, paths are checked
first, outputs go into folders, and it says what it did to the data it read."""

from __future__ import annotations

from file_modes import mode
from tascodec.cli import main
from tascodec.format import open_archive
from tascodec.runtime.tempfiles import file_mode


def test_encode_paths_are_checked_first(tmp_path, capsys):
    archive = tmp_path / "x.tasz"
    archive.write_bytes(b"PK")
    assert main(["encode", str(archive), str(tmp_path / "y.tasz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a .tasz archive, not a dataset folder" in err
    assert main(["encode", str(tmp_path)]) == 2
    assert "OUT or -o/--output" in capsys.readouterr().err


def test_encode_says_when_label_lines_were_cut(tiny_dataset, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dataset, data)
    video = (data / "splits" / "train.split1.bundle").read_text().split()[0].removesuffix(".txt")
    labels = data / "groundTruth" / f"{video}.txt"
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join(lines + lines[-3:]) + "\n")  # 3 extra label lines
    assert main(["encode", str(data), str(tmp_path / "x.tasz"), "--codec", "mean",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "note: 3 frame(s) of 1 video(s) cut" in out
    assert "6 stored of 6 (every video)" in out  # the same videos for every codec


def test_encode_into_a_folder(tiny_dataset, tmp_path, capsys):
    assert main(["encode", str(tiny_dataset), "-o", f"{tmp_path}/archives/", "--codec", "mean",
                 "--quiet"]) == 0
    assert (tmp_path / "archives" / f"{tiny_dataset.name}.tasz").is_file()
    assert mode(tmp_path / "archives" / f"{tiny_dataset.name}.tasz") == file_mode()


def test_cli(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "cli.tasz"
    assert main(["encode", str(tiny_dataset), str(out), "--codec", "mean", "--quiet",
                 "--gamma", "0.34", "--sampling", "random", "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "reconstruction MSE" in printed and str(out) in printed
    with open_archive(out) as ar:
        assert len(ar.videos) == 2 and ar.header["stats"]["seed"] == 3
    assert main(["encode", str(tiny_dataset), str(out), "--codec", "mean", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["encode", str(tiny_dataset), str(out), "--all", "--codec", "raw", "--quiet",
                 "-p", "dtype=float16", "--overwrite"]) == 0
    with open_archive(out) as ar:
        assert ar.header["stats"]["purpose"] == "archive"
        assert ar.codec_config == {"id": "raw", "dtype": "float16"}
    assert main(["encode", str(tiny_dataset), str(out), "-p", "oops", "--overwrite"]) == 2
