"""Without torch (the base install, ``pip install tascodec``): ``tascodec.open`` and the
read-only commands work on a golden archive and never import torch; what needs torch
(``encode``, ``demo``, ``eval``, ``TaszDataset``) says so in one line naming the extra.

torch is blocked in a fresh interpreter by a ``sys.meta_path`` finder that fails every import of
``torch`` or ``torch.*`` as a missing module would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from make_golden import GOLDEN_DIR_1_1

ROOT = Path(__file__).resolve().parents[1]

BLOCK_TORCH = '''
import importlib.abc, sys
class NoTorch(importlib.abc.MetaPathFinder):
    attempts = []

    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            NoTorch.attempts.append(name)
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NoTorch())
'''

SCRIPT = BLOCK_TORCH + '''
import contextlib, io, json
import numpy as np
import tascodec
from tascodec.cli import main

golden, out = sys.argv[1], sys.argv[2]
report = {}

def run(name, argv):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    report[name] = [code, err.getvalue()]

for g in ("repeat", "mlp"):
    path = f"{golden}/{g}.tasz"
    run(f"info {g}", ["info", path])
    run(f"ls {g}", ["ls", path, "--json"])
    run(f"verify {g}", ["verify", path, "--quiet"])
    run(f"decode {g}", ["decode", path, "0", "-o", f"{out}/{g}.npy"])
    run(f"export {g}", ["export", path, f"{out}/{g}", "--quiet"])
    with tascodec.open(path) as ar:
        x = ar.decode(ar.videos[0])
    report[f"open {g}"] = [int(np.allclose(np.load(f"{out}/{g}.npy").T, x)), ""]
report["torch imports tried by the reader"] = [len(NoTorch.attempts), ", ".join(NoTorch.attempts)]
run("encode", ["encode", f"{out}/repeat", f"{out}/a.tasz", "--codec", "mean"])
run("demo", ["demo", "--quiet"])
run("eval", ["eval", f"{golden}/mlp.tasz", "--dataset", f"{out}/mlp"])
try:
    tascodec.TaszDataset
    report["TaszDataset"] = [0, ""]
except ImportError as exc:  # MissingDependencyError is an ImportError and a TascodecError
    report["TaszDataset"] = [type(exc).__name__, str(exc)]
try:
    tascodec.encode(f"{out}/repeat", f"{out}/b.tasz", codec="mean")
except tascodec.TascodecError as exc:
    report["tascodec.encode"] = [type(exc).__name__, str(exc)]
print(json.dumps(report))
'''


def test_reader_and_read_only_commands_without_torch(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(GOLDEN_DIR_1_1), str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (code, err) in report.items():
        if name.split()[0] in ("info", "ls", "verify", "decode", "export"):
            assert code == 0 and err == "", (name, err)
    assert report["open repeat"][0] == 1 and report["open mlp"][0] == 1
    assert report["torch imports tried by the reader"][0] == 0, report
    for name in ("encode", "demo", "eval"):
        code, err = report[name]
        assert code == 2, (name, err)
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert err.startswith(f"tascodec {name}: error: ")
        assert "PyTorch" in err and 'pip install -e ".[torch]"' in err, err
    for name in ("TaszDataset", "tascodec.encode"):
        kind, message = report[name]
        assert kind == "MissingDependencyError", report[name]
        assert 'pip install -e ".[torch]"' in message and "\n" not in message
    assert not (tmp_path / "a.tasz").exists()
