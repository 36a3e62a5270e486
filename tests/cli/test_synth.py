"""``tascodec synth`` (``tascodec.cli.synth``): a synthetic dataset written from the command
line, never over a non-empty folder unasked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tascodec.cli import main as cli_main
from tascodec.dataset.layout import StandardDataset


def test_cli(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    argv = ["synth", "--preset", "tiny", "--videos", "3", "--dim", "8", "--seed", "2",
            "--no-progress", str(out)]
    assert cli_main(argv) == 0
    assert "3 videos" in capsys.readouterr().out
    ds = StandardDataset(out)
    assert len(ds) == 3 and ds.feature_dim == 8
    assert cli_main(argv) == 2
    assert "not empty" in capsys.readouterr().err
    assert cli_main(argv[:-1] + ["--overwrite", str(out)]) == 0
    with pytest.raises(SystemExit):
        cli_main(["synth", "--preset", "nope", str(out)])
