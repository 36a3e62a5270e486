"""``tascodec eval`` as a user reads it (issue 24): a note when the archive condenses another
fold than ``--split``, the table's ratio (the factor) and % of the original, no ``± 0.0`` for
one seed, ``1 epoch``; the original's flags checked before any training."""

from __future__ import annotations

from pathlib import Path

import pytest

from tascodec.cli import main
from tascodec.cli.eval import _count, _say_fold
from tascodec.harness.fidelity_result import METRIC_KEYS, FidelityResult, format_results

GOLDEN = Path(__file__).parents[1] / "data" / "v1_1" / "mlp.tasz"


@pytest.fixture(scope="module")
def train_archive(tiny_dataset, tmp_path_factory):
    from tascodec import encode

    out = tmp_path_factory.mktemp("eval") / "t.tasz"
    encode(tiny_dataset, out, codec="mean", split="train", progress=False)
    return out


def test_another_fold_is_said_before_training(train_archive, capsys):
    _say_fold(str(train_archive), "split1")
    assert capsys.readouterr().err == ""
    _say_fold(str(train_archive), "split2")
    err = capsys.readouterr().err
    assert "condenses train.split1, not train.split2" in err and "--split split1" in err


def _result(seeds: tuple[int, ...]) -> FidelityResult:
    scores = {k: 50.0 + i for i, k in enumerate(METRIC_KEYS)}
    return FidelityResult(
        name="a.tasz", dataset="d", split="split1", codec=None, seeds=seeds, epochs=1,
        per_seed=[scores] * len(seeds), mean=scores, std=dict.fromkeys(METRIC_KEYS, 0.0),
        storage_bytes=1000, original_bytes=53_100, train_videos=2, train_frames=9,
        test_videos=1)


def test_table_ratio_percent_and_one_seed():
    one = format_results([_result((0,))])
    head, _, row = one.splitlines()
    cells = dict(zip([c.strip() for c in head.split("|")], [c.strip() for c in row.split("|")]))
    assert cells["ratio"] == "53.1x" and cells["% of original"] == "1.88%"
    assert cells["Acc"] == "50.0" and "±" not in row
    assert "± 0.0" in format_results([_result((0, 1))])
    r = _result((0,))
    assert r.ratio == pytest.approx(53.1) and r.to_dict()["ratio"] == pytest.approx(53.1)
    assert r.to_dict()["storage_fraction"] == pytest.approx(1000 / 53_100)
    assert (_count(1, "epoch"), _count(50, "epoch")) == ("1 epoch", "50 epochs")


def test_eval_original_flags_are_checked_before_any_training(tmp_path, capsys):
    pytest.importorskip("torch")
    data = str(tmp_path / "nodata")  # never read: the flags are refused first
    assert main(["eval", "original", "--dataset", data, "--with-original"]) == 2
    assert "ARCHIVE is the original" in capsys.readouterr().err
    bad = tmp_path / "orig.json"
    bad.write_text('{"name": "original"}')
    assert main(["eval", str(GOLDEN), "--dataset", data, "--original", str(bad)]) == 2
    assert "no field" in capsys.readouterr().err
    assert main(["eval", str(GOLDEN), "--dataset", data, "--original", str(bad),
                 "--with-original"]) == 2
    assert "give one of them" in capsys.readouterr().err
