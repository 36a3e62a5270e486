"""Preset tables fitted from real ground truth (``tascodec.synth.fit``): trigram counts, length
quantiles and statistics of hand-made labels, and the stored GTEA tables against a refit.

Named ``test_synth_fit.py``: ``tests/rate/test_fit.py`` (``tascodec.rate.fit``) has the
mirrored name, and test file names are unique under ``tests/``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tascodec.synth.fit import fit_tables, read_ground_truth, segment_stats


def test_fitted_tables_match_a_refit_of_the_real_labels(gtea_tcn128: Path) -> None:
    from tascodec.synth.presets import fitted_tables

    names, labels = read_ground_truth(gtea_tcn128)
    table = fit_tables(names, labels, lambda v: v.split("_")[1],
                       permutation=list(range(1, 11)) + [0])
    stored = fitted_tables()["gtea"]
    assert table["activities"] == stored["activities"]
    assert table["log_length_quantiles"] == stored["log_length_quantiles"]
    assert table["stats"] == stored["stats"] and stored["stats"]["videos"] == 28


LABELS = {"s1_a": np.array([0, 0, 1, 1, 1, 0]), "s2_a": np.array([1, 1, 0]),
          "s1_b": np.array([2, 2])}


def test_trigrams_lengths_and_statistics_of_hand_made_labels() -> None:
    table = fit_tables(["x", "y", "z"], LABELS, lambda v: v.split("_")[1], quantiles=3)
    a = table["activities"]["a"]
    assert a["weight"] == 2 and a["count_quantiles"] == [2.0, 2.5, 3.0]
    # s1_a: 0 1 0 then the end, s2_a: 1 0 then the end (-1: start / end)
    assert a["transitions"] == {"-1 -1": [[0, 1], [1, 1]], "-1 0": [[1, 1]], "-1 1": [[0, 1]],
                                "0 1": [[0, 1]], "1 0": [[-1, 2]]}
    assert table["activities"]["b"]["transitions"] == {"-1 -1": [[2, 1]], "-1 2": [[-1, 1]]}
    log2, log3 = np.log(2), np.log(3)
    np.testing.assert_allclose(table["log_length_quantiles"],
                               [[0, 0, log2], [log2, (log2 + log3) / 2, log3], [log2] * 3],
                               atol=5e-4)
    assert table["max_segments"] == 3 and table["classes"] == ["x", "y", "z"]
    assert table["stats"] == {"videos": 3, "classes_used": 3, "frames_mean": 3.67,
                              "segments_mean": 2.0, "length_mean": 1.83, "length_median": 2.0}
    assert segment_stats(LABELS)["frames_mean"] == pytest.approx(11 / 3)


def test_a_permutation_reorders_the_classes() -> None:
    table = fit_tables(["x", "y", "z"], LABELS, lambda v: "all", permutation=[2, 0, 1],
                       quantiles=3)
    assert table["classes"] == ["z", "x", "y"]
    assert table["activities"]["all"]["transitions"]["-1 -1"] == [[0, 1], [1, 1], [2, 1]]


def test_read_ground_truth_reads_the_labels_of_a_layout(tmp_path: Path) -> None:
    (tmp_path / "groundTruth").mkdir()
    (tmp_path / "mapping.txt").write_text("0 take\n1 pour\n")
    (tmp_path / "groundTruth" / "v1.txt").write_text("take\ntake\npour\n\n")
    names, labels = read_ground_truth(tmp_path)
    assert names == ["take", "pour"] and list(labels) == ["v1"]
    np.testing.assert_array_equal(labels["v1"], [0, 0, 1])
