"""``tascodec card`` / ``tascodec.write_card``: the Hugging Face dataset card of an archive, with
the fidelity of ``tascodec eval --json`` results tied to the archive's fingerprint."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

import tascodec
from tascodec.report.card import dataset_card, size_category
from tascodec.cli import main
from tascodec.errors import OutputExistsError, TascodecError
from tascodec.harness.fidelity_result import METRIC_KEYS, FidelityResult, with_original

GOLDEN = Path(__file__).parents[1] / "data" / "v1_1" / "mlp.tasz"


def result(fingerprint: str | None, split: str = "split1", acc: float = 60.0,
           seeds: tuple[int, ...] = (0, 1)) -> FidelityResult:
    scores = [{k: acc + s for k in METRIC_KEYS} for s in range(len(seeds))]
    mean = {k: acc + (len(seeds) - 1) / 2 for k in METRIC_KEYS}
    return FidelityResult(
        name="mlp.tasz" if fingerprint else "original", dataset="gtea", split=split,
        codec={"id": "inversion"} if fingerprint else None, seeds=seeds, epochs=50,
        per_seed=scores, mean=mean, std={k: 0.7 for k in METRIC_KEYS}, storage_bytes=14356,
        original_bytes=3168, train_videos=2, train_frames=44, test_videos=1,
        archive_fingerprint=fingerprint, format_version="1.1" if fingerprint else None)


@pytest.fixture
def archive(tmp_path) -> Path:
    return Path(shutil.copy(GOLDEN, tmp_path / "gtea.tasz"))


def front_matter(card: str) -> dict:
    yaml = pytest.importorskip("yaml")
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n", 2)[1])


def test_card_of_four_folds_shows_kept_percentages_and_the_fingerprint(archive):
    with tascodec.open(archive) as ar:
        fp = ar.identity
    folds = [with_original(result(fp, f"split{i}", 58.0 + i), result(None, f"split{i}", 60.0))
             for i in range(1, 5)]
    card = tascodec.dataset_card(archive, folds, repo="lab/gtea-tasz")
    meta = front_matter(card)
    assert meta["license"] == "unknown" and "license" in card.split("---\n", 2)[1].split("\n")[0]
    assert meta["task_categories"] and meta["size_categories"] == ["n<1K"]
    assert {"temporal-action-segmentation", "tascodec"} <= set(meta["tags"])
    assert f"| fingerprint | `{fp}` |" in card
    rows = [line for line in card.splitlines() if line.startswith("| split") and " | mstcn" in line]
    assert [r.split(" | ")[0] for r in rows] == [f"| split{i}" for i in range(1, 5)]
    kept = 100 * (58.0 + 1 + 0.5) / 60.5  # fold 1: the mean over seeds 0, 1 vs the original's
    assert f"59.5 ± 0.7 ({kept:.1f}%)" in rows[0]
    assert "Kept, mean over the 4 results" in card
    for needle in ("| videos | 3 ", "| classes | 3: background, pour, stir |",
                   "| feature width D | 12 |", "| frames | 66 |",
                   "| ratio | 0.2 ", "reconstruction_mse 0.125", "inversion k=2 latent_dim=8 (every", "tascodec 1.1",
                   'tascodec.open("hf://datasets/lab/gtea-tasz/gtea.tasz")',
                   "| source dataset | gtea |"):
        assert needle in card, needle
    python = card.split("```python\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(python) == 3  # three lines load it


def test_results_of_another_archive_or_of_the_original_are_refused(archive, tmp_path):
    with tascodec.open(archive) as ar:
        fp = ar.identity
    with pytest.raises(TascodecError, match="measured on another archive.*fingerprint"):
        dataset_card(archive, [result(fp), result("0" * 32)])
    with pytest.raises(TascodecError, match="result of the original"):
        dataset_card(archive, [result(None)])
    other = tmp_path / "other.json"
    other.write_text(json.dumps(result("f" * 32).to_dict()))
    assert main(["card", str(archive), "--eval", str(other), "-o", str(tmp_path / "R.md")]) == 2
    assert not (tmp_path / "R.md").exists()


def test_cli_card_writes_readme_and_refuses_to_replace_it(archive, tmp_path, capsys):
    with tascodec.open(archive) as ar:
        fp = ar.identity
    res = tmp_path / "eval.json"
    res.write_text(json.dumps(with_original(result(fp, acc=59.5), result(None)).to_dict()))
    out = tmp_path / "card"
    out.mkdir()
    assert main(["card", str(archive), "--eval", str(res), "-o", f"{out}/"]) == 0
    card = (out / "README.md").read_text()
    assert f"`{fp}`" in card and "(99.2%)" in card
    assert main(["card", str(archive), "--eval", str(res), "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    with pytest.raises(OutputExistsError):
        tascodec.write_card(archive, out / "README.md", [res])
    tascodec.write_card(archive, out / "README.md", [res], overwrite=True)
    bad = tmp_path / "bad.json"
    for text, words in (("{", "not JSON"), ('{"name": "x"}', "no field"), ("[1]", "JSON object")):
        bad.write_text(text)
        assert main(["card", str(archive), "--eval", str(bad), "-o", str(tmp_path / "x.md")]) == 2
        assert words in capsys.readouterr().err


def test_eval_result_round_trips_and_originals_must_match():
    a = with_original(result("a" * 32), result(None))
    back = FidelityResult.from_dict(json.loads(json.dumps(a.to_dict())))
    assert back == a and back.kept == a.kept and a.to_dict()["kept"]["acc"] == pytest.approx(
        100 * 60.5 / 60.5)
    for change in ({"epochs": 10}, {"seeds": (0,)}, {"backbone": "asformer"},
                   {"convention": "mstcn"}, {"split": "split2"}):
        with pytest.raises(TascodecError, match=f"differs in {next(iter(change))}"):
            with_original(result("a" * 32), dataclasses.replace(result(None), **change))
    with pytest.raises(TascodecError, match="of an archive"):
        with_original(result("a" * 32), result("b" * 32))


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 28_000, 2_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]


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
