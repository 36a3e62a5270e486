"""``tascodec.dataset_card`` (``tascodec.report.card``): the Hugging Face dataset card of an
archive, with the fidelity of ``tascodec eval --json`` results tied to the archive's
fingerprint (the command, ``tests/cli/test_cli_card.py``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import tascodec
from fidelity_results import result
from tascodec.report.card import dataset_card, size_category
from tascodec.cli import main
from tascodec.errors import TascodecError
from tascodec.harness.fidelity_result import with_original

GOLDEN = Path(__file__).parents[1] / "data" / "v1_1" / "mlp.tasz"


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


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 28_000, 2_000_000)] == [
        "n<1K", "n<1K", "1K<n<10K", "10K<n<100K", "1M<n<10M"]
