"""Every command that writes refuses to replace an existing output without ``--overwrite``:
exit 2, one line naming ``--overwrite`` (the Python API's errors name ``overwrite=True``), and
the output left as it was; with ``--overwrite`` the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

import pytest

from make_golden import GOLDEN_DIR_1_1
from tascodec.cli import build_parser, main

GOLDEN = str(GOLDEN_DIR_1_1 / "repeat.tasz")

#: the commands that write files
WRITERS = ("encode", "decode", "export", "synth", "demo")


def _snapshot(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` (or ``path`` itself) with its bytes."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


# command -> (argv for an output in tmp, the output whose bytes must survive a refusal)
CASES: dict[str, Callable[[Path, Path], tuple[list[str], Path]]] = {
    "encode": lambda tmp, data: (["encode", str(data), str(tmp / "a.tasz"), "--codec", "mean",
                                  "--device", "cpu", "--quiet"], tmp / "a.tasz"),
    "decode": lambda tmp, data: (["decode", GOLDEN, "0", "-o", str(tmp / "x.npy")],
                                 tmp / "x.npy"),
    "export": lambda tmp, data: (["export", GOLDEN, str(tmp / "out"), "--quiet"], tmp / "out"),
    "synth": lambda tmp, data: (["synth", "--preset", "tiny", "--videos", "2", "--dim", "4",
                                 "--quiet", str(tmp / "ds")], tmp / "ds"),
    "demo --out": lambda tmp, data: (["demo", "--preset", "tiny", "--videos", "4", "--codec",
                                      "mean", "--device", "cpu", "--quiet", "--out",
                                      str(tmp / "demo")], tmp / "demo"),
}


@pytest.mark.parametrize("command", list(CASES))
def test_refused_without_overwrite_replaced_with_it(command, tmp_path, tiny_dataset, capsys):
    argv, output = CASES[command](tmp_path, tiny_dataset)
    assert main(argv) == 0
    before = _snapshot(output)
    assert before
    capsys.readouterr()

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert "--overwrite" in err and "overwrite=True" not in err and "Traceback" not in err
    assert err.startswith(f"tascodec {argv[0]}: error: ")
    assert _snapshot(output) == before  # nothing replaced, nothing half written

    assert main([*argv, "--overwrite"]) == 0


def test_every_writing_command_takes_overwrite():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in WRITERS:
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert "--overwrite" in options, name
    assert {c.split()[0] for c in CASES} == set(WRITERS)
