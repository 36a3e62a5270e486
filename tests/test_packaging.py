"""Packaging: torch is an extra, the README's two commands do the whole set-up, and ``.ci/run``
runs exactly the README's test command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```bash[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S)
    return [line.strip() for b in blocks for line in b.splitlines() if line.startswith("pip ")]


def test_torch_is_an_extra_pulled_by_test_and_bench():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    assert "torch" not in base and "msgpack" not in base
    extras = project["optional-dependencies"]
    assert any(r.startswith("torch") for r in extras["torch"])
    assert "tascodec[torch]" in extras["test"] and "tascodec[torch]" in extras["bench"]


def test_readme_set_up_commands_and_ci():
    setup, tests = _readme_commands()[:2]
    # the quickstart installs the torch extra (demo encodes) with the pinned local torch
    assert setup == 'pip install torch==2.13.0 -e ".[torch]" && tascodec demo'
    assert tests.startswith('pip install torch==2.13.0 -e ".[test]" && ') and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci  # the very line, not a paraphrase
    assert any('"$rc" -eq 5' in line for line in ci)  # "no test collected" still fails CI
