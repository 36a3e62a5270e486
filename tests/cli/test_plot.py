"""``tascodec plot`` (``tascodec.cli.plot``): figure files, folders and refusals, and a
missing matplotlib named in one line."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
pytest.importorskip("matplotlib")  # in the test extra; `pip install -e '.[plot]'`

from tascodec.cli import main  # noqa: E402
from tascodec.errors import TascodecError  # noqa: E402
from tascodec.format import open_archive  # noqa: E402
from tascodec.plots import plot_archive  # noqa: E402


def test_plot_files_and_refusals(tiny_archive, tiny_dataset, tmp_path, capsys):
    png = tmp_path / "a.png"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(png),
                 "--video", "1"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(png)]) == 2
    assert "already exists" in capsys.readouterr().err
    with open_archive(tiny_archive) as ar:
        names = ar.videos
    pdf = tmp_path / "all.pdf"
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(pdf),
                 "--video", f"{names[2]}.txt", "--video", "0"]) == 0
    assert pdf.read_bytes().count(b"/Type /Page\n") + pdf.read_bytes().count(
        b"/Type /Page ") == 2
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o", str(pdf),
                 "--all", "--video", "0", "--overwrite"]) == 2
    assert "--all and --video" in capsys.readouterr().err
    with pytest.raises(TascodecError, match="need a .pdf output"):
        plot_archive(tiny_archive, tiny_dataset, tmp_path / "b.png", videos=names[:2])
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path / "c.png"), "--video", "nope"]) == 2
    assert "no video 'nope'" in capsys.readouterr().err
    assert not list(tmp_path.glob(".tascodec-tmp-*")) and not (tmp_path / "b.png").exists()


def test_missing_matplotlib_is_one_line_naming_the_extra(tiny_archive, tiny_dataset, tmp_path,
                                                         monkeypatch, capsys):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'pip install -e ".[plot]"' in err
    assert not (tmp_path / "x.png").exists()


def test_plot_into_folders_with_progress(tiny_archive, tiny_dataset, tmp_path, capsys):
    with open_archive(tiny_archive) as ar:
        first = ar.videos[0]
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "-o",
                 str(tmp_path)]) == 0  # an existing folder: <video>.png in it
    assert (tmp_path / f"{first}.png").is_file()
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "--all", "-o",
                 f"{tmp_path}/new/deeper/"]) == 0  # folders made; several videos: a PDF
    assert (tmp_path / "new" / "deeper" / f"{tiny_archive.stem}.pdf").is_file()
    assert "plot" in capsys.readouterr().err  # a bar over the videos
    assert main(["plot", str(tiny_archive), "--dataset", str(tiny_dataset), "--all", "-o",
                 str(tmp_path / "q.pdf"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
