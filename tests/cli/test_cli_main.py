"""The ``tascodec`` entry point (``tascodec.cli``): a reader of stdout that goes away early
(``| head``) ends the command quietly with exit code 141 (128 + SIGPIPE), for every command,
and no traceback; Ctrl-C closes the progress bars before its message; a file that cannot be
written is one line naming it."""

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
