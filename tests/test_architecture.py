"""The package's shape (docs/ARCHITECTURE.md, "Modules"): a small root, subpackages whose imports
all point down one order, and no import cycle between modules (imports inside functions
included); tests that mirror it (each module's tests in ``tests/<same path>/test_<module>.py``)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tascodec"
TESTS = PACKAGE.parent / "tests"
#: top to bottom; a subpackage imports only those after it (and the root)
ORDER = ["cli", "plots", "report", "harness", "encoding", "loading", "synth", "codecs", "tca",
         "format", "decode", "dataset", "rate", "runtime"]
#: arrows up (none: runtime/memory owns the host's memory facts both layers read)
UPWARD: set[tuple[str, str]] = set()
ENTRY_POINTS = {"tascodec", "tascodec.__main__"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Modules of the package that ``name`` imports, anywhere in it."""
    found = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] + (node.module or "").split(".")
                base = [p for p in base if p]
            else:
                base = (node.module or "").split(".")
            # a name that is a submodule imports it; any other name, the module it comes from
            targets = [".".join(base + [a.name]) if ".".join(base + [a.name]) in modules
                       else ".".join(base) for a in node.names]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("tascodec"):
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and (PACKAGE / parts[1]).is_dir()) \
        else "root"


def test_root_holds_at_most_twelve_modules():
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 12, root


def test_subpackage_imports_point_down():
    rank = {name: i for i, name in enumerate(ORDER)}
    rank["root"] = len(ORDER)
    wrong = []
    for module, targets in _graph().items():
        if module in ENTRY_POINTS:
            continue
        for target in targets:
            a, b = _layer(module), _layer(target)
            if a != b and rank[b] <= rank[a] and (module, target) not in UPWARD:
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def test_no_import_cycle():
    graph = _graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, cycles


def _modules_quoting(name: str) -> list[str]:
    """The modules under ``tascodec/`` whose text holds ``name`` as a quoted string."""
    quoted = re.compile(rf"""(["']){re.escape(name)}\1""")
    return sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                  if quoted.search(p.read_text()))


def test_decode_kind_names_live_in_at_most_two_modules():
    # content.KINDS declares every kind; code refers to its constants and traits, so a new
    # kind is one entry (format/v2.py's docstring may name the kinds its layout describes)
    from tascodec.content import DECODE_KINDS

    assert "content.py" in _modules_quoting("mlp+offset")  # the check sees what it counts
    spread = {k: _modules_quoting(k) for k in DECODE_KINDS}
    assert all(len(found) <= 2 for found in spread.values()), spread


#: modules whose mirrored test file would share its name with another module's (pytest imports
#: test files by name: ``tests/`` has no ``__init__.py``), and the file their tests are in
UNMIRRORED = {
    "cli/card.py": "cli/test_cli_card.py",  # test_card.py is report/card.py's
    "cli/encode.py": "cli/test_cli_encode.py",  # test_encode.py is encoding/encode.py's
    "cli/export.py": "cli/test_cli_export.py",  # test_export.py is loading/export.py's
    "cli/grow.py": "cli/test_cli_grow.py",  # test_grow.py is encoding/grow.py's
    "cli/options.py": "cli/test_cli_options.py",  # test_options.py is codecs/options.py's
    "harness/items.py": "harness/test_harness_items.py",  # test_items.py is loading/items.py's
    "synth/fit.py": "synth/test_synth_fit.py",  # test_fit.py is rate/fit.py's
}


def _mirror(module: Path) -> Path:
    """``tests/<same path>/test_<module>.py`` of a module under ``tascodec/``."""
    return TESTS / module.relative_to(PACKAGE).parent / f"test_{module.stem}.py"


def test_tests_mirror_the_package():
    modules = sorted(p for p in PACKAGE.rglob("*.py")
                     if p.name not in ("__init__.py", "__main__.py"))
    assert len(modules) > 90  # the check sees the package
    missing = [str(p.relative_to(PACKAGE)) for p in modules
               if str(p.relative_to(PACKAGE)) not in UNMIRRORED and not _mirror(p).is_file()]
    assert not missing, f"modules without tests/<same path>/test_<module>.py: {missing}"
    for name, tests in UNMIRRORED.items():
        module = PACKAGE / name
        assert module.is_file(), f"{name}: no such module (drop it from UNMIRRORED)"
        assert (TESTS / tests).is_file(), f"{name}: its tests, {tests}, are missing"
        holders = [p for p in modules
                   if p != module and p.stem == module.stem and _mirror(p).is_file()]
        assert holders, (f"{name}: no other module's tests are {_mirror(module).name}: move "
                         f"its tests there and drop it from UNMIRRORED")


def test_test_file_names_are_unique():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert not [name for name, count in names.items() if count > 1], names.most_common(3)
