"""``tascodec append`` / ``merge`` as a user meets them (issue 24): append takes the archive's
own split unless told, says what it added (or that nothing is new), takes bundle spellings of
video names and byte counts with units; merge writes into a folder and shows progress."""

from __future__ import annotations

import shutil

import pytest

import tascodec
from file_modes import mode
from make_golden import GOLDEN_DIR
from tascodec.cli import main
from tascodec.errors import TascodecError
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset
from tascodec.runtime.tempfiles import file_mode

ARCHIVE = str(GOLDEN_DIR / "mlp.tasz")


@pytest.fixture(scope="module")
def train_archive(tiny_dataset, tmp_path_factory):
    """Every train.split1 video of the tiny dataset, quick recipe (seconds)."""
    out = tmp_path_factory.mktemp("grow") / "train.tasz"
    tascodec.encode(tiny_dataset, out, split="train", gamma=1.0, codec="inversion",
                    recipe="quick",
                    code_dtype="float32", progress=False, device="cpu")
    return out


def test_append_takes_the_archive_split_and_says_what_it_adds(train_archive, tiny_dataset,
                                                              tmp_path, capsys):
    path = tmp_path / "a.tasz"
    shutil.copy(train_archive, path)
    splits = StandardDataset(tiny_dataset).splits()
    kept = path.read_bytes()
    # every train.split1 video is stored: the test videos are not added behind the user's back
    assert main(["append", str(path), str(tiny_dataset), "--device", "cpu", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "nothing to add: every video of train.split1" in err and err.count("\n") == 1
    assert path.read_bytes() == kept
    with pytest.raises(TascodecError, match="nothing to add"):
        tascodec.append(path, tiny_dataset, device="cpu")
    # asked for: the test split, listed as such
    assert main(["append", str(path), str(tiny_dataset), "--split", "test", "--device", "cpu",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    test = splits["test.split1"]
    assert f"appended {len(test)} video(s)" in out and "reused decoder" in out
    assert " KiB" in out and "+" in out  # human units, before -> after
    with open_archive(path) as ar:
        assert sorted(ar.splits["test.split1"]) == sorted(test)
        assert sorted(ar.splits["train.split1"]) == sorted(splits["train.split1"])


def test_append_takes_bundle_spellings(train_archive, tiny_dataset, tmp_path, capsys):
    path = tmp_path / "b.tasz"
    shutil.copy(train_archive, path)
    video = StandardDataset(tiny_dataset).splits()["test.split1"][0]
    assert main(["append", str(path), str(tiny_dataset), "--videos", f"{video}.txt",
                 "--device", "cpu", "--quiet"]) == 0
    assert f"appended 1 video(s) ({video})" in capsys.readouterr().out
    with open_archive(path) as ar:
        assert video in ar.videos and ar.splits["test.split1"] == [video]


def test_merge_shows_progress_unless_quiet(train_archive, tmp_path, capsys):
    assert main(["merge", str(train_archive), "-o", str(tmp_path / "m.tasz")]) == 0
    assert "merge" in capsys.readouterr().err
    assert main(["merge", str(train_archive), "-o", str(tmp_path / "q.tasz"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "1 group(s)" in captured.out


def test_merge_output_folder_and_alias(tmp_path, capsys):
    folder = tmp_path / "merged"
    folder.mkdir()
    assert main(["merge", ARCHIVE, "-o", f"{folder}/"]) == 0
    assert (folder / "merged.tasz").is_file()
    assert main(["merge", ARCHIVE, "--out", str(tmp_path / "new" / "m.tasz")]) == 0  # old flag
    assert (tmp_path / "new" / "m.tasz").is_file() and mode(tmp_path / "new" / "m.tasz") == \
        file_mode()
