"""The README's ```python blocks run verbatim, in order, in one namespace (as a reader pastes
them into one session), in a directory holding a tiny dataset at ``data/gtea``.

Every name a block reads must be bound by the README itself (``EXTERNAL`` lists exceptions
the test would supply; there are none: the training-loop block builds the package's own MS-TCN,
which also checks that it takes ``batch.mask`` (B, C, T) as ``collate`` builds it). A block that
reads an unbound name fails, naming it. A block whose first line is a comment starting
``# needs `` (an archive served by URL) is compiled and its names checked, but not run.
"""

from __future__ import annotations

import ast
import builtins
import math
import re
import time
from pathlib import Path
from typing import Any, Callable

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The bodies of the ```python fenced blocks of a Markdown text, in order."""
    return re.findall(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, flags=re.M | re.S)


def unbound_names(code: str, bound: set[str]) -> set[str]:
    """Names ``code`` reads that neither it, ``bound`` nor the builtins bind."""
    tree = ast.parse(code)
    loaded, stored = set(), set(bound) | set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else stored).add(node.id)
        elif isinstance(node, ast.alias):
            stored.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stored.add(node.name)
        elif isinstance(node, ast.arg):
            stored.add(node.arg)
    return loaded - stored


#: names a README block may use without binding them, and how the test provides them
EXTERNAL: dict[str, Callable[[dict[str, Any]], Any]] = {}


def test_readme_has_the_python_examples():
    blocks = python_blocks(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 2
    assert "```text" not in README.read_text(encoding="utf-8")  # Python is fenced as python
    assert any("tascodec.encode(" in b for b in blocks)
    assert any("DataLoader(" in b for b in blocks)


def test_extraction_and_unbound_names():
    text = "x\n```python\na = b\n```\n```bash\nno\n```\n```python\nimport os\nos.sep\n```\n"
    assert python_blocks(text) == ["a = b\n", "import os\nos.sep\n"]
    assert unbound_names("a = b\nfor i in a: print(i)\n", set()) == {"b"}
    assert unbound_names("import os.path\nwith open(os.sep) as f: f\n", set()) == set()


def test_readme_python_blocks_run(tmp_path, monkeypatch, torch_one_thread):
    from tascodec.synth import synthesize

    synthesize(tmp_path / "data" / "gtea", preset="tiny", videos=4, seed=0)
    monkeypatch.chdir(tmp_path)
    ns: dict[str, Any] = {"__name__": "__readme__"}
    for i, code in enumerate(python_blocks(README.read_text(encoding="utf-8"))):
        missing = unbound_names(code, set(ns))
        unknown = missing - set(EXTERNAL)
        assert not unknown, f"README python block {i + 1} reads undefined {sorted(unknown)}"
        for name in sorted(missing):
            ns[name] = EXTERNAL[name](ns)
        compiled = compile(code, f"README.md python block {i + 1}", "exec")
        if code.startswith("# needs "):  # what it needs is not here: checked, not run
            continue
        t0 = time.perf_counter()
        exec(compiled, ns)
        print(f"README python block {i + 1}: {time.perf_counter() - t0:.1f} s")

    # what the blocks promise, checked on what they left behind
    assert (tmp_path / "gtea.tasz").is_file()
    if "x" in ns and "archive" in ns:
        t, d = ns["x"].shape
        assert d == ns["archive"].feature_dim and t == ns["archive"].num_frames(0)
        assert ns["feats"].shape == (d, t)  # the one orientation rule: features() is (D, T)
        assert ns["sub"].shape == (d, len(range(1, t, 2))) == (d, ns["sub_labels"].shape[0])
    if "features" in ns:
        features, labels = ns["features"], ns["labels"]
        assert features.ndim == 2 and features.shape[1] == labels.shape[0]
        assert str(labels.dtype) == "torch.int64"
    if "loss" in ns:
        assert math.isfinite(float(ns["loss"].detach()))
        assert ns["outputs"].shape[1] == ns["batch"].input.shape[0]  # (stages, B, C, T)
