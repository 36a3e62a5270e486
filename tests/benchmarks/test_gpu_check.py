"""benchmarks.gpu_check runs end to end without CUDA on tiny data, writing its JSON and Markdown
after every step; a step past its timeout is recorded and the next one still runs."""

from __future__ import annotations

import json
import time

import pytest


def test_gpu_check_runs_on_cpu_and_writes_json(tmp_path, torch_one_thread):
    from benchmarks.gpu_check import main
    from benchmarks.gpu_steps import STEPS

    assert sum(timeout for _, _, timeout in STEPS) <= 480  # 8 minutes on a GPU, by estimate
    assert main(["--out", str(tmp_path), "--device", "cpu"]) == 0
    payload = json.loads((tmp_path / "gpu_check.json").read_text())
    steps = {s["name"]: s for s in payload["steps"]}
    assert payload["finished"] and payload["device"] == "cpu"
    assert list(steps) == [name for name, _, _ in STEPS]
    skipped = {"gpu_tests", "cpu_compare"}  # need a GPU
    assert all(s["status"] == "ok" for n, s in steps.items() if n not in skipped), steps
    assert all(steps[n]["status"] == "skipped" for n in skipped)
    assert steps["encode_deterministic"]["results"]["repeat_identical"] is True
    assert steps["mstcn"]["results"]["repeat_identical"] is True
    default = steps["encode_default"]["results"]
    assert default["train_frames_per_s"] > 0 and default["invert_s_per_iteration"] > 0
    assert 0 < default["relative_mse"] < 2 and set(default["peak_mib"]) >= {"train", "invert"}
    assert steps["paper"]["results"]["breakfast_extrapolated_h"]["total"] > 0
    assert steps["memory_budget"]["results"]["in_memory"] is False  # the sampled path
    decode = steps["decode"]["results"]
    assert decode["device_vs_numpy_max_rel"] < 1e-4 and decode["np_load_frames_per_s"] > 0
    md = (tmp_path / "gpu_check.md").read_text()
    assert "| encode_default | ok |" in md and "| gpu_tests | skipped |" in md


def test_a_step_past_its_timeout_is_recorded_and_the_next_runs(tmp_path, monkeypatch):
    import benchmarks.gpu_check as gpu_check

    seen = []

    def slow(ctx):
        seen.append(json.loads((tmp_path / "gpu_check.json").read_text())["steps"][-1]["name"])
        time.sleep(30)  # pragma: no cover - interrupted

    def after(ctx):
        return {"ran": True}

    monkeypatch.setattr(gpu_check, "STEPS", [("environment", lambda ctx: {}, 5),
                                             ("slow", slow, 0.2), ("after", after, 5)])
    assert gpu_check.main(["--out", str(tmp_path), "--device", "cpu", "--timeout-scale", "1"]) == 1
    assert seen == ["environment"]  # written after the first step, before the second ended
    steps = json.loads((tmp_path / "gpu_check.json").read_text())["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [
        ("environment", "ok"), ("slow", "timeout"), ("after", "ok")]
    assert "over its 0.2 s timeout" in steps[1]["error"]


def test_unknown_steps_are_refused(tmp_path):
    from benchmarks.gpu_check import main

    with pytest.raises(SystemExit, match="--steps: unknown"):
        main(["--out", str(tmp_path), "--device", "cpu", "--steps", "decode,nope"])


def test_the_cpu_comparison_step_runs(tmp_path, monkeypatch, torch_one_thread):
    # On a GPU it runs; here, with the "is it CUDA" switch turned on, its code runs on the CPU.
    import benchmarks.gpu_steps as gpu_steps
    from benchmarks.gpu_check import main

    monkeypatch.setattr(gpu_steps.Context, "cuda", property(lambda self: True))
    assert main(["--out", str(tmp_path), "--device", "cpu",
                 "--steps", "data,encode_default,cpu_compare"]) == 0
    steps = json.loads((tmp_path / "gpu_check.json").read_text())["steps"]
    compare = steps[-1]
    assert compare["name"] == "cpu_compare" and compare["status"] == "ok", compare
    result = compare["results"]
    assert result["device"] == "cpu" and result["train_epochs"] <= 3
    assert result["device_relative_mse"] == steps[1]["results"]["relative_mse"]
    assert result["codes_device_vs_cpu_max_rel"] == 0.0  # one device: the same codes
