"""benchmarks.gpu_check runs end to end without CUDA, saying what it skipped."""

from __future__ import annotations

import pytest
import torch


def test_gpu_check_runs_on_cpu(capsys, torch_one_thread):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: run python -m benchmarks.gpu_check itself")
    from benchmarks.gpu_check import main

    assert main(["--videos", "4", "--dim", "32", "--recipes", "quick", "--no-tests",
                 "--eval-epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert "skipped: no CUDA device" in out
    lines = out.splitlines()
    encode = next(line for line in lines if line.startswith("| quick | cpu |"))
    assert encode.rstrip().endswith("| yes |")  # the deterministic repeat: identical archives
    evals = [line for line in lines if line.startswith("| torch | cpu |")]
    assert len(evals) == 2 and evals[1].rstrip().endswith("| yes |")
    assert any(line.startswith("| numpy | cpu |") for line in lines)
