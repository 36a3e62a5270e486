"""The options every command spells the same way (``tascodec.cli.options``): byte counts with
units, one ``--device`` vocabulary (a CUDA device this machine lacks refused before any
work), ``--quiet`` and its old spelling."""

from __future__ import annotations

import pytest

from make_golden import GOLDEN_DIR
from tascodec.cli import main

ARCHIVE = str(GOLDEN_DIR / "mlp.tasz")


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


@pytest.mark.parametrize("argv", [
    ["eval", "a.tasz", "--dataset", "d"],
    ["demo"],
])
@pytest.mark.parametrize("flag", ["--quiet", "--no-progress"])
def test_quiet_and_its_old_spelling(argv, flag):
    from tascodec.cli import build_parser

    parser = build_parser()
    assert parser.parse_args(argv).quiet is False
    assert parser.parse_args([*argv, flag]).quiet is True


def test_every_command_with_progress_takes_quiet_and_the_old_spelling():
    import argparse

    from tascodec.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("encode", "export", "verify", "synth", "eval", "demo"):
        options = {o for a in sub.choices[name]._actions for o in a.option_strings}
        assert "--quiet" in options, name
