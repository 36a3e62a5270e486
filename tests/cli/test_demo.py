"""``tascodec demo`` (``tascodec.cli.demo``): where its archive lives, and what it says."""

from __future__ import annotations

from pathlib import Path

from tascodec.cli import main

DEMO = ["demo", "--preset", "tiny", "--videos", "4", "--codec", "mean", "--quiet"]


def test_demo_out_keeps_the_archive(tmp_path, capsys):
    out_dir = tmp_path / "kept"
    assert main([*DEMO, "-o", str(out_dir)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("archive kept: ")
    kept = Path(last.removeprefix("archive kept: ").split(" (")[0])
    assert kept == (out_dir / "tiny.tasz").resolve() and kept.is_file()
    assert main(["ls", str(kept), "--json"]) == 0  # a usable archive
    assert capsys.readouterr().out.count('"name"') == 2  # gamma 1 (every codec): both training videos


def test_demo_workdir_is_an_alias_of_out(tmp_path, capsys):
    assert main([*DEMO, "--workdir", str(tmp_path), "--no-progress"]) == 0
    assert (tmp_path / "tiny.tasz").is_file()
    assert "archive kept:" in capsys.readouterr().out


def test_demo_without_out_names_no_deleted_path(capsys):
    assert main(DEMO) == 0
    out = capsys.readouterr().out
    assert "tascodec-demo-" not in out and "/tiny.tasz" not in out  # no path in the temp dir
    assert "tiny.tasz (temporary)" in out
    assert out.strip().splitlines()[-1].startswith(
        "the dataset and the archive were in a temporary folder, now removed")
    assert "| archive bytes | " in out and " KiB |" in out  # human units, no 27,624
    assert "| relative error (decoded vs original) | " in out
