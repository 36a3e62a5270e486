"""The Python API of every command (issue 24): each name of ``tascodec.__all__`` resolves, and
``tascodec.append`` stays the function whatever imported the submodule first."""

from __future__ import annotations

import subprocess
import sys

import tascodec


def test_every_public_name_resolves():
    for name in tascodec.__all__:
        assert getattr(tascodec, name) is not None, name
    for command in ("encode", "append", "merge", "open", "synthesize", "evaluate_archive",
                    "export_archive", "plot_archive"):
        assert callable(getattr(tascodec, command)), command


def test_append_is_the_function_after_the_submodule_is_imported():
    code = ("import sys, importlib, tascodec; importlib.import_module('tascodec.encoding.append'); "
            "from tascodec.cli import grow; "
            "assert tascodec.append is sys.modules['tascodec.encoding.append'].append, tascodec.append")
    subprocess.run([sys.executable, "-c", code], check=True)
