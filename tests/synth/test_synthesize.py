"""``synthesize`` (``tascodec.synth``): determinism, layout, shapes, statistics, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import DatasetLayoutError, OutputExistsError, TascodecError
from tascodec.dataset.layout import StandardDataset
from tascodec.segments import labels_to_segments
from tascodec.synth import PRESETS, get_preset, synthesize


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_tiny_fixture_shape(tiny_dataset: Path) -> None:
    ds = StandardDataset(tiny_dataset)
    assert len(ds) == 10 and ds.num_classes == 6 and ds.feature_dim == 64
    assert ds.class_names[0] == "background"
    train, test = ds.split("train"), ds.split("test")
    assert train and test and not set(train) & set(test) and len(train) + len(test) == 10
    for v in ds.videos:
        x, y = ds.features(v), ds.labels(v)
        assert x.shape == (64, y.size) and x.dtype == np.float32 and x.flags.c_contiguous
        assert 80 <= y.size <= 450
        assert np.isfinite(x).all() and x.min() >= 0.0 and x.max() > 0.0
        assert len(labels_to_segments(y)) >= 5
    assert ds.trimmed == {}
    meta = json.loads((tiny_dataset / "synth.json").read_text())
    assert meta["preset"] == "tiny" and meta["seed"] == 0 and meta["videos"] == 10


def test_deterministic_for_a_seed(tmp_path: Path) -> None:
    a = _files(synthesize(tmp_path / "a", "tiny", seed=3))
    b = _files(synthesize(tmp_path / "b", "tiny", seed=3))
    c = _files(synthesize(tmp_path / "c", "tiny", seed=4))
    assert a == b
    assert a.keys() == c.keys() and a != c


def test_videos_do_not_depend_on_the_count(tmp_path: Path) -> None:
    small = StandardDataset(synthesize(tmp_path / "s", "gtea", videos=3, dim=16))
    large = StandardDataset(synthesize(tmp_path / "l", "gtea", videos=6, dim=16))
    assert set(small.videos) < set(large.videos)
    for v in small.videos:
        np.testing.assert_array_equal(small.features(v), large.features(v))
        np.testing.assert_array_equal(small.labels(v), large.labels(v))


def test_labels_do_not_depend_on_the_width(tmp_path: Path) -> None:
    a = StandardDataset(synthesize(tmp_path / "a", "tiny", videos=3, dim=4))
    b = StandardDataset(synthesize(tmp_path / "b", "tiny", videos=3, dim=32))
    for v in a.videos:
        np.testing.assert_array_equal(a.labels(v), b.labels(v))


def test_estimate_and_disk_space_check(tmp_path: Path, monkeypatch) -> None:
    import shutil

    from tascodec.synth import estimate_bytes

    full = estimate_bytes("breakfast", 1712, 2048)
    assert 25e9 < full < 33e9  # the real Breakfast I3D features: about 28 GB
    assert 200e6 < estimate_bytes("gtea", 28, 2048) < 300e6

    class Usage:
        free = 10**6

    monkeypatch.setattr(shutil, "disk_usage", lambda path: Usage())
    with pytest.raises(DatasetLayoutError, match="GB free"):
        synthesize(tmp_path / "big", "gtea")
    assert not (tmp_path / "big").exists()


def test_more_videos_than_the_real_dataset(tmp_path: Path) -> None:
    ds = StandardDataset(synthesize(tmp_path / "t", "tiny", videos=12, dim=8))
    assert len(ds) == 12 and "tiny_00_r1" in ds.videos and "tiny_01_r1" in ds.videos


@pytest.mark.parametrize("preset", [p for p in PRESETS if p != "tiny"])
def test_every_preset_writes_a_valid_layout(tmp_path: Path, preset: str) -> None:
    p = get_preset(preset)
    ds = StandardDataset(synthesize(tmp_path / preset, preset, videos=2, dim=4, seed=1))
    assert ds.class_names == p.class_names and ds.feature_dim == 4
    assert set(ds.split("train")) | set(ds.split("test")) == set(ds.videos)
    for name in p.background:
        assert name in ds.class_names
    for v in ds.videos:
        assert ds.features(v).min() >= 0 and ds.labels(v).size == ds.features(v).shape[1]


def test_gtea_statistics_follow_the_real_dataset(tmp_path: Path) -> None:
    ds = StandardDataset(synthesize(tmp_path / "g", "gtea", dim=8))
    assert len(ds) == 28 and ds.num_classes == 11
    assert {k: len(v) for k, v in ds.splits().items() if k.endswith("split1")} == {
        "train.split1": 21, "test.split1": 7}
    assert len(ds.splits()) == 8  # 4 folds, leave one subject out
    frames = [ds.num_frames(v) for v in ds.videos]
    segs = [len(labels_to_segments(ds.labels(v))) for v in ds.videos]
    assert 1065 * 0.75 < np.mean(frames) < 1065 * 1.25  # real: 1065
    assert 32 * 0.8 < np.mean(segs) < 32 * 1.2  # real: 32.0
    used = set(np.concatenate([ds.labels(v) for v in ds.videos]).tolist())
    assert len(used) == 11


def test_breakfast_statistics(tmp_path: Path) -> None:
    ds = StandardDataset(synthesize(tmp_path / "b", "breakfast", videos=80, dim=2))
    frames = [ds.num_frames(v) for v in ds.videos]
    segs = [len(labels_to_segments(ds.labels(v))) for v in ds.videos]
    assert 2098 * 0.7 < np.mean(frames) < 2098 * 1.3  # real: 2098
    assert 6.8 * 0.8 < np.mean(segs) < 6.8 * 1.2  # real: 6.8
    first = {int(ds.labels(v)[0]) for v in ds.videos}
    assert first == {ds.class_names.index("SIL")}  # videos open with silence, as the real ones


def test_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    root = synthesize(tmp_path / "t", "tiny", videos=2, dim=4)
    with pytest.raises(OutputExistsError, match="not empty"):
        synthesize(root, "tiny", videos=2, dim=4)
    synthesize(root, "tiny", videos=3, dim=4, overwrite=True)
    assert len(StandardDataset(root)) == 3
    (root / "notes.md").write_text("mine")
    with pytest.raises(DatasetLayoutError, match="notes.md"):
        synthesize(root, "tiny", videos=2, dim=4, overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetLayoutError, match="not a directory"):
        synthesize(tmp_path / "file", "tiny")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(StandardDataset(synthesize(empty, "tiny", videos=2, dim=4))) == 2


def test_a_crash_leaves_no_dataset(tmp_path: Path, monkeypatch) -> None:
    import tascodec.synth as synth

    calls = {"n": 0}
    real_save = np.save

    def failing_save(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(synth.np, "save", failing_save)
    with pytest.raises(OSError):
        synthesize(tmp_path / "t", "tiny")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"preset": "kinetics"}, "unknown synthetic preset"),
        ({"videos": 1}, "videos"),
        ({"dim": 0}, "dim"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, fragment: str) -> None:
    with pytest.raises(TascodecError, match=fragment):
        synthesize(tmp_path / "x", **kwargs)
