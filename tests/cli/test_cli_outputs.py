"""Files as users expect (issue 24): every file tascodec writes honours the umask (0644 under
0022), a missing folder above an output is created for every command, ``-o DIR/`` writes into
DIR, and the options every command shares (byte counts, ``--device``) read the same."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

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


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_mode_is_what_open_gives(umask, tmp_path):
    with open(tmp_path / "plain", "w"):
        pass
    assert file_mode() == mode(tmp_path / "plain") == 0o666 & ~umask


def test_single_files_and_archives_honour_the_umask(umask, tmp_path):
    from tascodec.format.zip_write import write_zip_atomic

    write_beside(tmp_path / "a.bin", lambda h: h.write(b"x"), overwrite=False)
    write_zip_atomic({"zarr.json": lambda: b"{}"}, tmp_path / "b.tasz")
    assert mode(tmp_path / "a.bin") == mode(tmp_path / "b.tasz") == 0o666 & ~umask


def test_decode_creates_missing_folders_and_writes_readable_files(tmp_path, capsys):
    before = os.umask(0o022)
    try:
        out = tmp_path / "out" / "sub" / "x.npy"
        assert main(["decode", ARCHIVE, "0", "-o", str(out)]) == 0
    finally:
        os.umask(before)
    assert np.load(out).ndim == 2 and mode(out) == 0o644
    assert not list(out.parent.glob(".tascodec-tmp-*"))


def test_a_file_in_the_way_of_a_folder_is_one_line(tmp_path, capsys):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(TascodecError, match="a file is in the way"):
        ensure_parent(tmp_path / "f" / "x.npy")
    assert main(["decode", ARCHIVE, "0", "-o", str(tmp_path / "f" / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a file is in the way" in err and "Traceback" not in err


def test_merge_output_folder_and_alias(tmp_path, capsys):
    folder = tmp_path / "merged"
    folder.mkdir()
    assert main(["merge", ARCHIVE, "-o", f"{folder}/"]) == 0
    assert (folder / "merged.tasz").is_file()
    assert main(["merge", ARCHIVE, "--out", str(tmp_path / "new" / "m.tasz")]) == 0  # old flag
    assert (tmp_path / "new" / "m.tasz").is_file() and mode(tmp_path / "new" / "m.tasz") == \
        file_mode()


@pytest.mark.parametrize("text, n", [("30000", 30000), ("30KiB", 30720), ("30 kib", 30720),
                                     ("1.5MiB", 1572864), ("2MB", 2000000), ("1G", 1 << 30)])
def test_byte_counts_take_units(text, n):
    from tascodec.cli.options import byte_count

    assert byte_count(text) == n


@pytest.mark.parametrize("args", [
    ["encode", "data", "x.tasz", "--max-bytes", "30 apples"],
    ["append", "a.tasz", "data", "--max-bytes", "-3"],
])
def test_bad_byte_counts_are_one_usage_line(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--max-bytes: expected a positive byte count such as 30000, 30KiB" in err


@pytest.mark.parametrize("command", [
    ["encode", "data", "x.tasz"], ["eval", "a.tasz", "--dataset", "d"], ["append", "a", "d"],
    ["plot", "a.tasz", "--dataset", "d", "-o", "x.png"], ["demo"], ["decode", "a", "0", "-o", "x"],
    ["export", "a.tasz", "out"],
])
def test_one_device_vocabulary(command, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--device", "gpu"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith("argument --device: expected auto, cpu, cuda, cuda:N or cpu-torch, "
                        "got 'gpu'")


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


@pytest.mark.skipif(_has_cuda(), reason="refusing CUDA needs a machine without it")
def test_a_missing_cuda_device_is_refused_before_any_work(tmp_path, capsys):
    assert main(["demo", "--device", "cuda", "-o", str(tmp_path / "demo")]) == 2
    assert not (tmp_path / "demo").exists()  # nothing synthesized, no folder made
    assert main(["export", ARCHIVE, str(tmp_path / "export"), "--device", "cuda"]) == 2
    assert not (tmp_path / "export").exists()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("CUDA is not available" in line for line in err)
    assert main(["plot", ARCHIVE, "--dataset", str(tmp_path), "--device", "cuda:1", "-o",
                 str(tmp_path / "p" / "x.png")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "--device cuda:1" in err[0] and "CUDA is not available" in err[0]
    assert not (tmp_path / "p").exists()


def test_encode_paths_are_checked_first(tmp_path, capsys):
    archive = tmp_path / "x.tasz"
    archive.write_bytes(b"PK")
    assert main(["encode", str(archive), str(tmp_path / "y.tasz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a .tasz archive, not a dataset folder" in err
    assert main(["encode", str(tmp_path)]) == 2
    assert "OUT or -o/--output" in capsys.readouterr().err


@pytest.mark.parametrize("python, cli", [
    ("x.tasz: max_bytes=21816 cannot hold it: raise max_bytes to at least 22360",
     "x.tasz: --max-bytes 21816 cannot hold it: raise --max-bytes to at least 22360"),
    ("set it with limit= / decode_limit= or $TASCODEC_DECODE_LIMIT",
     "set it with --decode-limit or $TASCODEC_DECODE_LIMIT"),
    ("give target_ratio or max_bytes, not both", "give --target-ratio or --max-bytes, not both"),
    ("pass overwrite=True to replace it", "pass --overwrite to replace it"),
    ("/data/max_bytes/x.tasz: max_bytes.tasz is bad", "/data/max_bytes/x.tasz: max_bytes.tasz is bad"),
])
def test_cli_errors_name_flags(python, cli):
    assert TascodecError(python).cli_message() == cli


def test_a_decode_over_the_limit_names_the_flag(tmp_path, capsys):
    assert main(["decode", ARCHIVE, "0", "-o", str(tmp_path / "x.npy"), "--decode-limit",
                 "100"]) == 2
    err = capsys.readouterr().err
    assert "--decode-limit" in err and "decode_limit=" not in err


def test_a_misspelt_codec_parameter_gets_a_suggestion():
    from tascodec.tca.recipes import get_recipe

    with pytest.raises(TascodecError, match="did you mean 'hidden_dim' for 'hiden_dim'"):
        get_recipe("cpu", hiden_dim=32)


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


def test_ctrl_c_closes_the_bars_before_its_message(monkeypatch, capsys):
    from tqdm.auto import tqdm

    import tascodec.cli.inspect as inspect_cli

    bars = []

    def interrupted(args):
        bars.append(tqdm(total=10, desc="invert"))
        raise KeyboardInterrupt

    monkeypatch.setattr(inspect_cli, "run_info", interrupted)
    assert main(["info", ARCHIVE]) == 130
    assert bars[0] not in list(tqdm._instances)  # closed: it cannot draw again
    assert capsys.readouterr().err.rstrip().endswith("tascodec info: interrupted")


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


def test_encode_into_a_folder(tiny_dataset, tmp_path, capsys):
    assert main(["encode", str(tiny_dataset), "-o", f"{tmp_path}/archives/", "--codec", "mean",
                 "--quiet"]) == 0
    assert (tmp_path / "archives" / f"{tiny_dataset.name}.tasz").is_file()
    assert mode(tmp_path / "archives" / f"{tiny_dataset.name}.tasz") == file_mode()


def test_a_file_that_cannot_be_written_is_one_line_naming_it(tmp_path, monkeypatch, capsys):
    import errno

    import tascodec.runtime.tempfiles as tempfiles

    def full(dest):
        raise OSError(errno.ENOSPC, "No space left on device",
                      str(dest.parent / f"{tempfiles.PREFIX}{dest.name}.123.abc"))

    monkeypatch.setattr(tempfiles, "mkstemp_beside", full)
    assert main(["decode", ARCHIVE, "0", "-o", str(tmp_path / "x.npy")]) == 2
    err = capsys.readouterr().err
    assert err == f"tascodec decode: error: {tmp_path / 'x.npy'}: No space left on device\n"
