"""benchmarks.gpu_check runs end to end without CUDA, saying what it skipped."""

from __future__ import annotations

import pytest
import torch


def test_gpu_check_runs_on_cpu(capsys, torch_one_thread):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: run python -m benchmarks.gpu_check itself")
    from benchmarks.gpu_check import main

    assert main(["--videos", "3", "--dim", "32", "--recipes", "quick", "--no-tests"]) == 0
    out = capsys.readouterr().out
    assert "skipped: no CUDA device" in out and "| quick | cpu |" in out
