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
