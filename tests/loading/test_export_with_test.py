"""``export --with-test``: the decoded training split beside the original test split, read the
way MS-TCN / ASFormer code reads a dataset directory (their ``batch_gen`` / ``predict``)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tascodec.cli import main
from tascodec.errors import TascodecError
from tascodec.loading.export import export_archive
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset
from tascodec.dataset.layout_write import LayoutWriter


def mstcn_style_read(root: Path, bundle: str, sample_rate: int = 1):
    """What MS-TCN's ``batch_gen.py`` / ``model.predict`` do with a dataset directory: the
    mapping as a dict, the bundle's lines, ``np.load(features/<vid stem>.npy)[:, ::sample_rate]``
    and the groundTruth lines through the mapping."""
    mapping = (root / "mapping.txt").read_text().split("\n")[:-1]
    actions = {line.split()[1]: int(line.split()[0]) for line in mapping}
    vids = (root / "splits" / bundle).read_text().split("\n")[:-1]
    for vid in vids:
        features = np.load(str(root / "features" / vid.split(".")[0]) + ".npy")
        content = (root / "groundTruth" / vid).read_text().split("\n")[:-1]
        classes = np.array([actions[c] for c in content], dtype=np.int64)
        yield vid, features[:, ::sample_rate], classes[::sample_rate]


@pytest.fixture(scope="module")
def train_archive(tiny_dataset, tmp_path_factory):
    from tascodec import encode

    path = tmp_path_factory.mktemp("wt") / "train.tasz"
    encode(tiny_dataset, path, codec="mean", split="train", gamma=1.0, progress=False)
    return path


def test_decoded_train_and_original_test_read_as_mstcn_reads_them(train_archive, tiny_dataset,
                                                                   tmp_path, torch_one_thread):
    out = export_archive(train_archive, tmp_path / "out", with_test=tiny_dataset, progress=False)
    ds = StandardDataset(tiny_dataset)
    assert sorted(p.name for p in (out / "splits").iterdir()) == [
        "test.split1.bundle", "train.split1.bundle"]
    marker = json.loads((out / ".tascodec-export.json").read_text())
    assert marker["complete"] is True and marker["with_test"] == str(tiny_dataset.resolve())
    with open_archive(train_archive) as ar:
        train = list(mstcn_style_read(out, "train.split1.bundle", sample_rate=2))
        assert [v for v, _, _ in train] == [f"{v}.txt" for v in ar.splits["train.split1"]]
        for vid, x, y in train:  # the decoded training videos
            v = vid[:-4]
            np.testing.assert_array_equal(x, ar.features(v, sample_rate=2))
            np.testing.assert_array_equal(y, ar.labels(v, sample_rate=2))
    test = list(mstcn_style_read(out, "test.split1.bundle"))
    assert [v for v, _, _ in test] == [f"{v}.txt" for v in ds.split("test")]
    for vid, x, y in test:  # the original test videos, unchanged
        v = vid[:-4]
        np.testing.assert_array_equal(x, np.load(tiny_dataset / "features" / f"{v}.npy"))
        np.testing.assert_array_equal(y, ds.labels(v))
        assert ((out / "groundTruth" / vid).read_bytes()
                == (tiny_dataset / "groundTruth" / vid).read_bytes())
    # the same code trains on the first and predicts on the second
    from tascodec.harness.mstcn import predict, train_mstcn

    model = train_mstcn([(x, y) for _, x, y in train], num_classes=len(ds.class_names),
                        epochs=1, progress=False, num_stages=1, num_layers=2, num_f_maps=8)
    pred = predict(model, test[0][1])
    assert pred.shape == test[0][2].shape
    assert StandardDataset(out).splits() == {"train.split1": ar.splits["train.split1"],
                                             "test.split1": ds.split("test")}


def test_cli_with_test_and_resume(train_archive, tiny_dataset, tmp_path, capsys, monkeypatch):
    import tascodec.dataset.layout_write as lw

    out = tmp_path / "o"
    calls: list[str] = []
    real = lw.LayoutWriter.place_video

    def dies_at_second(self, v, root):
        if calls:
            raise KeyboardInterrupt
        calls.append(v)
        return real(self, v, root)

    monkeypatch.setattr(lw.LayoutWriter, "place_video", dies_at_second)
    with pytest.raises(KeyboardInterrupt):
        export_archive(train_archive, out, with_test=tiny_dataset, progress=False)
    assert not (out / "mapping.txt").exists()
    with pytest.raises(TascodecError, match="partial export"):  # not the same export
        export_archive(train_archive, out, progress=False)
    monkeypatch.setattr(lw.LayoutWriter, "place_video",
                        lambda self, v, root: calls.append(v) or real(self, v, root))
    assert main(["export", str(train_archive), str(out), "--quiet",
                 "--with-test", str(tiny_dataset)]) == 0
    assert "original test split" in capsys.readouterr().out
    tests = StandardDataset(tiny_dataset).split("test")
    assert calls == [tests[0], *tests]  # continued: every file placed again (issue 28)
    assert StandardDataset(out).split("test") == tests


def test_hard_links_when_possible_else_copies(train_archive, tiny_dataset, tmp_path):
    out = export_archive(train_archive, tmp_path / "out", with_test=tiny_dataset,
                         progress=False, split="train")
    v = StandardDataset(tiny_dataset).split("test")[0]
    src, dst = tiny_dataset / "features" / f"{v}.npy", out / "features" / f"{v}.npy"
    try:
        os.link(src, tmp_path / "probe")
        linkable = True
    except OSError:
        linkable = False
    assert os.path.samefile(src, dst) == linkable
    assert not dst.is_symlink() and dst.read_bytes() == src.read_bytes()


def _dataset_like(src: Path, dst: Path, class_names=None, bundles=("train.split1",
                                                                    "test.split1")) -> Path:
    ds = StandardDataset(src)
    w = LayoutWriter(dst, class_names or ds.class_names)
    for v in ds.videos:
        w.write_video(v, np.asarray(ds.features(v)), ds.labels(v))
    for b in bundles:
        w.write_split(b, ds.splits()[b])
    w.write_mapping()
    return dst


def test_refusals(train_archive, tiny_dataset, tmp_path):
    ds = StandardDataset(tiny_dataset)
    renamed = _dataset_like(tiny_dataset, tmp_path / "renamed",
                            class_names=[f"c{i}" for i in range(ds.num_classes)])
    with pytest.raises(TascodecError, match="classes .* differ from the archive's"):
        export_archive(train_archive, tmp_path / "a", with_test=renamed, progress=False)
    no_test = _dataset_like(tiny_dataset, tmp_path / "notest", bundles=("train.split1",))
    with pytest.raises(TascodecError, match=r"no splits/test.split1.bundle"):
        export_archive(train_archive, tmp_path / "b", with_test=no_test, progress=False)
    from tascodec.loading.export import original_test_splits

    with open_archive(train_archive) as ar, pytest.raises(TascodecError,
                                                          match="no training split"):
        original_test_splits(ar, {"test.split1": []}, [], tiny_dataset)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()  # refused first


def test_test_videos_colliding_with_exported_ones_are_refused(tiny_dataset, tmp_path):
    from tascodec import encode

    whole = encode(tiny_dataset, tmp_path / "all.tasz", codec="mean", split=None, gamma=1.0,
                   progress=False).path
    with pytest.raises(TascodecError, match=r"would replace videos decoded.*--split train"):
        export_archive(whole, tmp_path / "x", with_test=tiny_dataset, progress=False)
    out = export_archive(whole, tmp_path / "y", split="train", with_test=tiny_dataset,
                         progress=False)
    assert set(StandardDataset(out).splits()) == {"train.split1", "test.split1"}


def test_copies_across_file_systems(tiny_dataset, tmp_path, monkeypatch):
    import errno

    import tascodec.dataset.layout_write as lw

    def cross_device(src, dst, **kwargs):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(lw.os, "link", cross_device)
    ds = StandardDataset(tiny_dataset)
    v = ds.videos[0]
    w = LayoutWriter(tmp_path / "o", ds.class_names)
    assert w.place_video(v, tiny_dataset) == "copy"
    dst = tmp_path / "o" / "features" / f"{v}.npy"
    assert not os.path.samefile(dst, tiny_dataset / "features" / f"{v}.npy")
    assert dst.read_bytes() == (tiny_dataset / "features" / f"{v}.npy").read_bytes()
    assert w.has_video(v) and not [p for p in (tmp_path / "o").rglob(".tascodec-tmp-*")]
