"""The ``tascodec`` entry point: a reader of stdout that goes away early (``| head``) ends the
command quietly with exit code 141 (128 + SIGPIPE), for every command, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from make_golden import GOLDEN_DIR
from tascodec.cli import EXIT_BROKEN_PIPE, main

ROOT = Path(__file__).resolve().parents[2]


def run_closed_pipe(args: list[str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tascodec ARGS`` with its stdout a pipe whose read end is closed before
    the command writes anything (as ``| head -0`` would); the result has stderr and the code."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.Popen([sys.executable, "-m", "tascodec", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    proc.stdout.close()  # the child is still importing: its first write finds no reader
    err = proc.stderr.read()
    proc.stderr.close()
    return subprocess.CompletedProcess(args, proc.wait(), "", err)


ARCHIVE = str(GOLDEN_DIR / "mlp.tasz")


@pytest.mark.parametrize("args", [
    ["info", ARCHIVE],
    ["info", ARCHIVE, "--json"],
    ["ls", ARCHIVE],
    ["ls", ARCHIVE, "--json"],
    ["verify", ARCHIVE, "--no-progress"],
], ids=lambda a: " ".join(Path(x).name for x in a))
def test_closed_pipe_is_quiet_exit_141(args):
    done = run_closed_pipe(args)
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr
    assert done.stderr == ""
    assert done.returncode == EXIT_BROKEN_PIPE == 141


@pytest.mark.parametrize("args", [["--help"], ["info", "--help"], ["--version"]],
                         ids=" ".join)
def test_closed_pipe_after_help_is_quiet(args):
    # argparse prints help itself and swallows the write's OSError (exit 0); the entry point's
    # final flush turns a failure left in the buffer into 141. Either way: no traceback.
    done = run_closed_pipe(args)
    assert done.stderr == ""
    assert done.returncode in (0, EXIT_BROKEN_PIPE)


def test_closed_pipe_from_a_shell():
    """The case of the issue, ``tascodec info a.tasz | head -3``, through a real shell."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = (f"{sys.executable} -m tascodec info {ARCHIVE} | head -3; "
           f"{sys.executable} -m tascodec info {ARCHIVE} --json | head -3")
    done = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, env=env, cwd=ROOT)
    assert done.returncode == 0 and done.stderr == ""
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and lines[0].startswith("archive") and lines[3] == "{"


def test_main_returns_the_command_code(capsys):
    assert main(["info", ARCHIVE]) == 0
    assert capsys.readouterr().out.startswith("archive")
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


# --- tascodec demo: where its archive lives --------------------------------------------------

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
