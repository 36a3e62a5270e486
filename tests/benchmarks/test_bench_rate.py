"""bench_rate --merge: runs of other seeds pooled into one table."""

from __future__ import annotations

import pytest

from benchmarks.bench_rate import _kept, merge_runs


def _run(seed: int, acc: float, ratio: float, conventions: bool = True) -> dict:
    scores = {"acc": acc, "edit": acc / 2, "f1@10": 1.0, "f1@25": 1.0, "f1@50": acc / 4}
    fid = {"seeds": [seed], "per_seed": [scores], "mean": scores, "std": {},
           "compression": ratio}
    if conventions:
        fid["by_convention"] = {"mstcn": {"per_seed": [scores], "mean": scores}}
    return {"config": {"epochs": 50}, "results": {"fold": {
        "original": {"by_backbone": {"mstcn": {**fid, "compression": 1.0}}},
        "pca@100x": {"encode": {"codec_config": {"id": "pca"}},
                     "by_backbone": {"mstcn": fid}}}}}


def test_seeds_of_several_runs_are_pooled():
    merged = merge_runs([_run(0, 50.0, 100.0), _run(1, 60.0, 110.0)], ["a", "b"])
    fid = merged["results"]["fold"]["pca@100x"]["by_backbone"]["mstcn"]
    assert fid["seeds"] == [0, 1] and fid["mean"]["acc"] == pytest.approx(55.0)
    assert fid["std"]["acc"] == pytest.approx(7.0710678)  # sample std of 50 and 60
    assert fid["compression"] == pytest.approx(105.0)
    assert fid["by_convention"]["mstcn"]["mean"]["edit"] == pytest.approx(27.5)
    assert merged["config"]["seeds"] == [0, 1]
    assert merged["results"]["fold"]["pca@100x"]["encode"]["codec_config"] == {"id": "pca"}


def test_a_convention_missing_in_one_run_is_left_out():
    merged = merge_runs([_run(0, 50.0, 100.0), _run(1, 60.0, 110.0, conventions=False)],
                        ["a", "b"])
    assert merged["results"]["fold"]["original"]["by_backbone"]["mstcn"]["by_convention"] == {}


def test_a_repeated_seed_or_other_epochs_is_refused():
    with pytest.raises(SystemExit, match="seed repeats"):
        merge_runs([_run(0, 50.0, 100.0), _run(0, 60.0, 110.0)], ["a", "b"])
    other = _run(1, 60.0, 110.0)
    other["config"]["epochs"] = 20
    with pytest.raises(SystemExit, match="different epochs"):
        merge_runs([_run(0, 50.0, 100.0), other], ["a", "b"])


def test_kept_compares_the_same_seeds():
    """A one-seed row against a three-seed original: the original's score on that seed."""
    original = {"seeds": [0, 1, 2], "mean": {"acc": 60.0, "edit": 1.0, "f1@50": 1.0},
                "per_seed": [{"acc": 50.0, "edit": 1.0, "f1@50": 1.0},
                             {"acc": 60.0, "edit": 1.0, "f1@50": 1.0},
                             {"acc": 70.0, "edit": 1.0, "f1@50": 1.0}]}
    row = {"seeds": [0], "mean": {"acc": 45.0, "edit": 1.0, "f1@50": 1.0}}
    assert _kept(row, original)["acc"] == pytest.approx(0.9)
    assert _kept({**row, "seeds": [0, 1, 2]}, original)["acc"] == pytest.approx(0.75)
    assert _kept({**row, "seeds": [5]}, original)["acc"] == pytest.approx(0.75)  # not there
