"""The readers of earlier commits, for the tests that old readers refuse newer archives cleanly.

``old_tascodec(commit, tmp_path)`` extracts that commit's ``tascodec`` package beside the test
(``pytest.skip`` when the checkout lacks the commit); ``run_old(root, code)`` runs Python code
with it importable.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def old_tascodec(commit: str, tmp_path: Path) -> Path:
    """A folder holding ``tascodec`` as of ``commit``."""
    old = tmp_path / f"old-{commit}"
    try:
        tar = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "tascodec"],
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"the reader of commit {commit} is not in this checkout")
    old.mkdir()
    subprocess.run(["tar", "-x", "-C", str(old)], input=tar, check=True)
    return old


def run_old(root: Path, code: str) -> subprocess.CompletedProcess:
    """``python -c code`` with the old ``tascodec`` of ``root`` first on the path."""
    return subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                          text=True)


def old_decode_refusal(commit: str, archive: Path, tmp_path: Path) -> str:
    """What the reader of ``commit`` prints opening ``archive`` and decoding its first video:
    ``videos N`` then ``refused: <message>``; an ``AssertionError`` when it decodes frames
    (or fails otherwise)."""
    code = ("import sys\nfrom tascodec.format import open_archive\n"
            "from tascodec.errors import TascodecError\n"
            f"ar = open_archive({str(archive)!r})\n"
            "print('videos', len(ar.videos))\n"
            "try:\n    ar.decode(ar.videos[0])\n"
            "except TascodecError as e:\n    print('refused:', e); sys.exit(0)\n"
            "sys.exit(3)\n")
    run = run_old(old_tascodec(commit, tmp_path), code)
    assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout
