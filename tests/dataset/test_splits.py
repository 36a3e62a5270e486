"""Split names, one meaning everywhere (``tascodec.dataset.splits``): ``train`` / ``test`` and the
folds."""

from __future__ import annotations

import pytest

from tascodec.dataset.splits import resolve_split, select_split, split_names
from tascodec.errors import DatasetLayoutError, TascodecError


@pytest.mark.parametrize("given", ["split2", "train.split2", "test.split2"])
def test_split_names(given) -> None:
    assert split_names(given) == ("train.split2", "test.split2")


@pytest.mark.parametrize("bad", ["", "train.", "a/b", "x.y"])
def test_split_names_rejects(bad) -> None:
    with pytest.raises(TascodecError, match="split"):
        split_names(bad)


def test_train_and_test_mean_the_first_fold_unless_a_split_has_that_name() -> None:
    assert resolve_split("train") == "train.split1" and resolve_split("test") == "test.split1"
    assert resolve_split("train", ["train", "test"]) == "train"
    assert resolve_split("train.split2", ["train.split1"]) == "train.split2"
    splits = {"train.split1": ["a"], "test.split1": ["b"], "all": ["a", "b"]}
    assert select_split(splits, "test", "x.tasz") == "test.split1"
    assert select_split(splits, "all", "x.tasz") == "all"
    with pytest.raises(DatasetLayoutError, match=r"x.tasz: split 'val' not found; available: "
                                                 r"\['all', 'test.split1', 'train.split1'\]"):
        select_split(splits, "val", "x.tasz", DatasetLayoutError)
