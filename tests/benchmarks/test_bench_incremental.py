"""The incremental (replay) benchmark: task split, replay storage, the --quick path on tiny data,
the append mode's error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("matplotlib")

from benchmarks import bench_incremental as bench  # noqa: E402
from tascodec.synth import synthesize  # noqa: E402


@pytest.fixture(scope="module")
def tiny_gtea(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic gtea preset (28 videos named like the real ones: 7 activities x 4
    subjects) at D = 64."""
    root = tmp_path_factory.mktemp("incremental") / "gtea"
    return synthesize(root, preset="gtea", dim=64, seed=0)


def test_tasks_have_disjoint_classes(tiny_gtea: Path) -> None:
    split = bench.split_tasks("g", tiny_gtea, "split1", bench.GTEA_TASKS, bench.gtea_activity)
    assert [len(v) for v in split.train] == [3] * 7 and [len(v) for v in split.test] == [1] * 7
    ids = [c for cs in split.task_classes for c in cs]
    assert len(ids) == len(set(ids)) == len(split.classes)
    for t, task in enumerate(split.tasks):
        for v in split.train[t] + split.test[t]:
            assert bench.gtea_activity(v) == task
            assert set(np.unique(split.labels[v])) <= set(split.task_classes[t])
            assert all(split.classes[c].startswith(f"{task}:") for c in split.task_classes[t])


def test_gap_closed() -> None:
    assert bench.gap_closed(30.0, 10.0, 50.0) == pytest.approx(0.5)
    assert bench.gap_closed(5.0, 10.0, 50.0) == pytest.approx(-0.125)
    assert bench.gap_closed(30.0, 50.0, 50.0) is None


def test_quick_run(tiny_gtea: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["--quick", "--gtea-roots", str(tiny_gtea), "--gtea-sample-rate", "8", "--epochs",
            "1", "--stages", "1", "--layers", "2", "--f-maps", "8", "--threads", "1",
            "--out", str(out), "--plots", str(tmp_path / "p")]
    assert bench.main(argv) == 0
    payload = json.loads((out / "incremental.json").read_text())
    entry = payload["settings"]["gtea"]
    fold = entry["per_fold"]["fold1"]
    arms = fold["arms"]
    assert set(arms) == set(bench.QUICK_ARMS)
    for arm in bench.QUICK_ARMS:
        stages = arms[arm]["per_seed"][0]["stages"]
        assert len(stages) == 7  # scored after every task
        assert all(0 <= s[k] <= 100 for s in stages for k in bench.METRICS)
        assert len(arms[arm]["bytes_per_task"]) == 6  # the last task is not condensed
    assert arms["finetune"]["replay_bytes"] == 0
    raw = arms["raw"]["replay_bytes"]
    from tascodec.dataset.layout import StandardDataset

    ds = StandardDataset(tiny_gtea)
    replayed = [v for v in ds.split("train.split1") if bench.gtea_activity(v) != "Tea"]
    assert len(replayed) == 18
    # float32 (64, T / 8) of the training videos of tasks 1..6
    assert raw == 4 * 64 * sum(-(-ds.num_frames(v) // 8) for v in replayed)
    assert 0 < arms["mean"]["replay_bytes"] < raw
    # matched storage: every inversion archive is at most its task's mean archive, unless
    # mean's bytes cannot hold a decoder and two codes per segment (then recorded as such)
    over = {o["task"]: o for o in arms["inversion"]["over_budget"]}
    for t, (i, m) in enumerate(zip(arms["inversion"]["bytes_per_task"],
                                   arms["mean"]["bytes_per_task"])):
        assert i <= (over[t]["max_bytes"] if t in over else m)
        assert t not in over or over[t]["mean_bytes"] == m
    t = entry["targets"]["inversion"]
    assert t["evaluated"] is True and t["arm"] == "inversion"
    assert t["bytes_arm"] == arms["inversion"]["replay_bytes"]
    assert t["bytes_mean"] == arms["mean"]["replay_bytes"]
    s = entry["summary"]
    assert t["beats_mean_final"]["acc"] == (s["inversion"]["final"]["acc"]
                                            > s["mean"]["final"]["acc"])
    assert (tmp_path / "p" / "incremental-gtea.png").stat().st_size > 0
    assert "inversion" in (out / "incremental.md").read_text()

    # a second run's fold joins the first's: summaries over both
    other = json.loads(json.dumps(payload))
    other["settings"]["gtea"]["per_fold"] = {"fold2": fold}
    merged = bench.merge_results([payload, other])["settings"]["gtea"]
    assert merged["folds"] == ["fold1", "fold2"]
    assert merged["summary"]["raw"]["runs"] == 2
    assert merged["summary"]["raw"]["final"] == pytest.approx(entry["summary"]["raw"]["final"])

    # a rerun of one arm on the same fold joins the other arms' runs, replacing its own
    rerun = json.loads(json.dumps(payload))
    rerun_arms = rerun["settings"]["gtea"]["per_fold"]["fold1"]["arms"]
    rerun_arms["mean"]["replay_bytes"] = 1
    rerun["settings"]["gtea"]["per_fold"]["fold1"]["arms"] = {"mean": rerun_arms["mean"]}
    joined = bench.merge_results([payload, rerun])["settings"]["gtea"]
    assert set(joined["per_fold"]["fold1"]["arms"]) == set(bench.QUICK_ARMS)
    assert joined["summary"]["mean"]["replay_bytes"] == 1
    assert joined["summary"]["raw"] == entry["summary"]["raw"]


def test_append_mode_grows_one_archive(tiny_gtea: Path, tmp_path: Path) -> None:
    """--archive-mode append: each arm's tasks go into one archive (a decoder group per
    task, since every task brings its own classes); replay reads them back."""
    out = tmp_path / "out"
    argv = ["--quick", "--archive-mode", "append", "--arms",
            "finetune,mean,inversion,mean+inversion",
            "--gtea-roots", str(tiny_gtea), "--gtea-sample-rate", "8", "--epochs", "1",
            "--stages", "1", "--layers", "2", "--f-maps", "8", "--threads", "1",
            "--out", str(out), "--plots", str(tmp_path / "p")]
    assert bench.main(argv) == 0
    arms = json.loads((out / "incremental.json").read_text())["settings"]["gtea"]["per_fold"][
        "fold1"]["arms"]
    for arm in ("inversion", "mean+inversion"):
        assert len(arms[arm]["bytes_per_task"]) == 6
        assert all(b > 0 for b in arms[arm]["bytes_per_task"])


def test_paired_differences_pair_runs_by_fold_and_seed() -> None:
    def run(seed: int, accs: list[float]) -> dict:
        return {"seed": seed, "stages": [{k: a for k in bench.METRICS} for a in accs]}

    folds = {"fold1": {"arms": {"mean": {"per_seed": [run(0, [10, 20]), run(1, [10, 30])]},
                                "inversion": {"per_seed": [run(1, [10, 34]), run(0, [10, 18])]}}},
             "fold2": {"arms": {"mean": {"per_seed": [run(0, [50, 40])]}}}}
    p = bench.paired_differences(folds, "inversion")
    assert p["runs"] == 2  # fold2 has no inversion run: nothing to pair
    assert p["final"]["acc"]["mean"] == pytest.approx(1.0)  # (+4 - 2) / 2
    assert p["final"]["acc"]["se"] == pytest.approx(3.0)  # std(+4, -2) / sqrt(2)
    assert p["final"]["acc"]["ahead"] == 1
    assert p["avg"]["f1@50"]["mean"] == pytest.approx(0.5)  # (+2 - 1) / 2
    assert bench.paired_differences(folds, "tca-random") is None


def test_results_are_written_after_every_seed(tiny_gtea: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Seeds are the outer loop: after each seed every arm has one more run on record, so a
    run stopped early keeps complete seeds that compare across arms."""
    written: list[dict[str, list[int]]] = []
    real = bench.write_results

    def spy(out: Path, stem: str, payload: dict, text: str) -> None:
        arms = payload["settings"]["gtea"]["per_fold"]["fold1"]["arms"]
        written.append({a: [r["seed"] for r in v["per_seed"]] for a, v in arms.items()})
        real(out, stem, payload, text)

    monkeypatch.setattr(bench, "write_results", spy)
    argv = ["--quick", "--arms", "finetune,mean", "--seeds", "0,1",
            "--gtea-roots", str(tiny_gtea), "--gtea-sample-rate", "8", "--epochs", "1",
            "--stages", "1", "--layers", "1", "--f-maps", "4", "--threads", "1",
            "--out", str(tmp_path / "out"), "--plots", str(tmp_path / "p")]
    assert bench.main(argv) == 0
    assert written[0] == {"finetune": [0], "mean": [0]}
    assert written[1] == {"finetune": [0, 1], "mean": [0, 1]}
    assert written[-1] == written[1]
