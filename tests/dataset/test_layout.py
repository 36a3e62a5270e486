"""StandardDataset: reading the standard layout, and one malformed dataset per error path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tascodec.errors import DatasetLayoutError, TascodecError
from tascodec.dataset.layout import StandardDataset, read_npy_header

CLASSES = ["bg", "cut", "mix"]


def make_dataset(root: Path, lengths=(12, 9, 15), dim=4, dtype=np.float32) -> Path:
    """A small valid dataset: videos v0.. with labels cycling through CLASSES in runs of 3."""
    (root / "features").mkdir(parents=True)
    (root / "groundTruth").mkdir()
    (root / "splits").mkdir()
    (root / "mapping.txt").write_text("".join(f"{i} {c}\n" for i, c in enumerate(CLASSES)))
    names = []
    for k, t in enumerate(lengths):
        name = f"v{k}"
        names.append(name)
        x = (np.arange(dim * t, dtype=np.float64).reshape(dim, t) + k).astype(dtype)
        np.save(root / "features" / f"{name}.npy", x)
        labels = [CLASSES[(i // 3) % len(CLASSES)] for i in range(t)]
        (root / "groundTruth" / f"{name}.txt").write_text("\n".join(labels) + "\n")
    (root / "splits" / "train.split1.bundle").write_text("".join(f"{n}.txt\n" for n in names[:-1]))
    (root / "splits" / "test.split1.bundle").write_text(f"{names[-1]}.txt\n")
    return root


@pytest.fixture
def ds_root(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "ds")


def expect_error(root: Path, fragment: str, **kwargs) -> DatasetLayoutError:
    with pytest.raises(DatasetLayoutError) as info:
        StandardDataset(root, **kwargs)
    assert fragment in str(info.value), str(info.value)
    return info.value


# -- reading ------------------------------------------------------------------------------------


def test_reads_valid_dataset(ds_root: Path) -> None:
    ds = StandardDataset(ds_root)
    assert ds.class_names == CLASSES
    assert ds.videos == ["v0", "v1", "v2"]
    assert ds.feature_dim == 4 and ds.num_classes == 3 and len(ds) == 3
    assert ds.splits() == {"train.split1": ["v0", "v1"], "test.split1": ["v2"]}
    assert ds.split("train") == ["v0", "v1"] and ds.split("test.split1") == ["v2"]
    x, y = ds.features("v1"), ds.labels("v1")
    assert x.shape == (4, 9) and x.dtype == np.float32
    assert isinstance(x, np.memmap) or isinstance(x.base, np.memmap)
    assert y.dtype == np.int64 and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    np.testing.assert_array_equal(x, np.arange(36, dtype=np.float32).reshape(4, 9) + 1)
    assert ds.num_frames("v2") == 15 and ds.trimmed == {}
    assert "v0" in ds and "nope" not in ds and list(ds) == ds.videos


def test_sample_rate(ds_root: Path) -> None:
    full = StandardDataset(ds_root)
    ds = StandardDataset(ds_root, sample_rate=4)
    for v in ds.videos:
        np.testing.assert_array_equal(ds.features(v), full.features(v)[:, ::4])
        np.testing.assert_array_equal(ds.labels(v), full.labels(v)[::4])
        assert ds.num_frames(v) == ds.labels(v).size == ds.features(v).shape[1]
    assert ds.num_frames("v1") == 3  # ceil(9 / 4)


def test_other_dtypes_become_float32(tmp_path: Path) -> None:
    root = make_dataset(tmp_path / "ds", dtype=np.float64)
    ds = StandardDataset(root)
    assert ds.features("v0").dtype == np.float32
    np.save(root / "features" / "v1.npy", np.ones((4, 9), dtype=np.int16))
    assert StandardDataset(root).features("v1").dtype == np.float32


def test_fortran_order_features(ds_root: Path) -> None:
    x = np.asfortranarray(np.random.default_rng(0).random((4, 9), dtype=np.float32))
    np.save(ds_root / "features" / "v1.npy", x)
    np.testing.assert_array_equal(StandardDataset(ds_root).features("v1"), x)


def test_small_length_mismatch_is_trimmed(ds_root: Path) -> None:
    x = np.load(ds_root / "features" / "v2.npy")
    np.save(ds_root / "features" / "v2.npy", x[:, :12])  # 15 labels, 12 frames
    x0 = np.load(ds_root / "features" / "v0.npy")  # 12 labels, 14 frames
    np.save(ds_root / "features" / "v0.npy", np.concatenate([x0, np.zeros((4, 2), np.float32)], 1))
    ds = StandardDataset(ds_root)
    assert ds.trimmed == {"v2": 3, "v0": 2}
    assert ds.features("v2").shape == (4, 12) and ds.labels("v2").size == 12
    assert ds.features("v0").shape == (4, 12) and ds.labels("v0").size == 12


def test_large_length_mismatch_is_an_error(ds_root: Path) -> None:
    x = np.load(ds_root / "features" / "v2.npy")
    np.save(ds_root / "features" / "v2.npy", x[:, :9])  # 6 > max(5, 5% of 15)
    expect_error(ds_root, "features/v2.npy")
    ds = StandardDataset(ds_root, max_mismatch=6)
    assert ds.trimmed == {"v2": 6}
    np.save(ds_root / "features" / "v2.npy", x[:, :14])
    expect_error(ds_root, "features/v2.npy", max_mismatch=0, max_mismatch_fraction=0.0)


def test_read_npy_header_reads_no_data(ds_root: Path) -> None:
    shape, dtype = read_npy_header(ds_root / "features" / "v0.npy")
    assert shape == (4, 12) and dtype == np.float32


def test_unknown_split_and_video(ds_root: Path) -> None:
    ds = StandardDataset(ds_root)
    with pytest.raises(DatasetLayoutError, match="split2"):
        ds.split("train.split2")
    with pytest.raises(DatasetLayoutError, match="nope"):
        ds.features("nope")
    with pytest.raises(DatasetLayoutError, match="nope"):
        ds.labels("nope")


def test_no_splits_dir_gives_no_splits(ds_root: Path) -> None:
    for p in (ds_root / "splits").iterdir():
        p.unlink()
    (ds_root / "splits").rmdir()
    assert StandardDataset(ds_root).splits() == {}


def test_bad_arguments(ds_root: Path) -> None:
    with pytest.raises(DatasetLayoutError, match="sample_rate"):
        StandardDataset(ds_root, sample_rate=0)
    with pytest.raises(DatasetLayoutError, match="max_mismatch"):
        StandardDataset(ds_root, max_mismatch=-1)


def test_error_is_a_tascodec_error_and_value_error(tmp_path: Path) -> None:
    with pytest.raises(TascodecError):
        StandardDataset(tmp_path / "absent")
    with pytest.raises(ValueError):
        StandardDataset(tmp_path / "absent")


# -- one malformed dataset per error ------------------------------------------------------------


def test_missing_root(tmp_path: Path) -> None:
    expect_error(tmp_path / "absent", "absent")


def test_missing_mapping(ds_root: Path) -> None:
    (ds_root / "mapping.txt").unlink()
    expect_error(ds_root, "mapping.txt")


def test_missing_ground_truth_dir(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    root.mkdir()
    (root / "mapping.txt").write_text("0 a\n")
    expect_error(root, "groundTruth")


def test_empty_ground_truth_dir(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "groundTruth").mkdir(parents=True)
    (root / "mapping.txt").write_text("0 a\n")
    expect_error(root, "groundTruth")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("0 bg\n1 cut\n1 mix\n", "mapping.txt:3: duplicate class id 1"),
        ("0 bg\n1 cut\n3 mix\n", "contiguous"),
        ("1 bg\n2 cut\n3 mix\n", "contiguous"),
        ("0 bg\n1 cut mix\n", "mapping.txt:2: malformed"),
        ("0 bg\ncut\n", "mapping.txt:2: malformed"),
        ("0 bg\nx cut\n", "mapping.txt:2: class id 'x'"),
        ("0 bg\n1 bg\n", "mapping.txt:2: duplicate class name"),
        ("\n\n", "no classes"),
    ],
)
def test_bad_mapping(ds_root: Path, text: str, fragment: str) -> None:
    (ds_root / "mapping.txt").write_text(text)
    expect_error(ds_root, fragment)


def test_label_not_in_mapping(ds_root: Path) -> None:
    lines = (ds_root / "groundTruth" / "v1.txt").read_text().splitlines()
    lines[4] = "stir"
    (ds_root / "groundTruth" / "v1.txt").write_text("\n".join(lines) + "\n")
    err = expect_error(ds_root, "groundTruth/v1.txt:5")
    assert "'stir'" in str(err)


def test_blank_label_line(ds_root: Path) -> None:
    lines = (ds_root / "groundTruth" / "v1.txt").read_text().splitlines()
    lines[2] = ""
    (ds_root / "groundTruth" / "v1.txt").write_text("\n".join(lines) + "\n")
    expect_error(ds_root, "groundTruth/v1.txt:3: empty label")


def test_empty_label_file(ds_root: Path) -> None:
    (ds_root / "groundTruth" / "v0.txt").write_text("\n")
    expect_error(ds_root, "v0.txt: empty video")


def test_missing_feature_file(ds_root: Path) -> None:
    (ds_root / "features" / "v1.npy").unlink()
    expect_error(ds_root, "features/v1.npy")


def test_feature_dim_differs(ds_root: Path) -> None:
    np.save(ds_root / "features" / "v2.npy", np.zeros((5, 15), np.float32))
    err = expect_error(ds_root, "features/v2.npy")
    assert "D=5" in str(err) and "D=4" in str(err)


def test_wrong_ndim(ds_root: Path) -> None:
    np.save(ds_root / "features" / "v0.npy", np.zeros((4, 12, 1), np.float32))
    expect_error(ds_root, "features/v0.npy: features must be 2-D")


@pytest.mark.parametrize("dtype", [np.complex64, np.bool_, "U3", "datetime64[s]"])
def test_wrong_dtype(ds_root: Path, dtype) -> None:
    np.save(ds_root / "features" / "v0.npy", np.zeros((4, 12), dtype=dtype))
    expect_error(ds_root, "features/v0.npy: feature dtype")


def test_object_array_is_refused(ds_root: Path) -> None:
    arr = np.empty((4, 12), dtype=object)
    np.save(ds_root / "features" / "v0.npy", arr, allow_pickle=True)
    expect_error(ds_root, "features/v0.npy")


def test_not_an_npy_file(ds_root: Path) -> None:
    (ds_root / "features" / "v0.npy").write_bytes(b"not a numpy file at all")
    expect_error(ds_root, "v0.npy: not a valid .npy")


def test_empty_feature_array(ds_root: Path) -> None:
    np.save(ds_root / "features" / "v0.npy", np.zeros((4, 0), np.float32))
    expect_error(ds_root, "features/v0.npy: empty video")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_features(ds_root: Path, bad: float) -> None:
    x = np.load(ds_root / "features" / "v1.npy")
    x[2, 7] = bad
    np.save(ds_root / "features" / "v1.npy", x)
    ds = StandardDataset(ds_root)  # opening reads headers only
    ds.features("v0")
    with pytest.raises(DatasetLayoutError, match=r"features/v1.npy.*dimension 2, frame 7"):
        ds.features("v1")
    assert StandardDataset(ds_root, check_finite=False).features("v1").shape == (4, 9)


def test_non_finite_found_in_a_later_chunk(tmp_path: Path, monkeypatch) -> None:
    import tascodec.dataset.layout as layout

    monkeypatch.setattr(layout, "_FINITE_CHUNK", 4)
    root = make_dataset(tmp_path / "ds")
    x = np.load(root / "features" / "v2.npy")
    x[0, 13] = np.nan
    np.save(root / "features" / "v2.npy", x)
    with pytest.raises(DatasetLayoutError, match="frame 13"):
        StandardDataset(root).features("v2")


def test_bundle_names_missing_video(ds_root: Path) -> None:
    (ds_root / "splits" / "test.split1.bundle").write_text("v2.txt\n\nghost.txt\n")
    err = expect_error(ds_root, "splits/test.split1.bundle:3")
    assert "ghost" in str(err)


def test_bundle_lists_a_video_twice(ds_root: Path) -> None:
    (ds_root / "splits" / "train.split1.bundle").write_text("v0.txt\nv1.txt\nv0.txt\n")
    expect_error(ds_root, "splits/train.split1.bundle:3: video 'v0' listed twice")


def test_bundle_entries_without_txt_suffix(ds_root: Path) -> None:
    (ds_root / "splits" / "test.split1.bundle").write_text("v2\n")
    assert StandardDataset(ds_root).split("test") == ["v2"]


def test_features_without_labels_are_ignored(ds_root: Path) -> None:
    np.save(ds_root / "features" / "extra.npy", np.zeros((4, 3), np.float32))
    assert "extra" not in StandardDataset(ds_root).videos


def test_features_file_changed_after_open(ds_root: Path) -> None:
    ds = StandardDataset(ds_root)
    np.save(ds_root / "features" / "v0.npy", np.zeros((4, 3), np.float32))
    with pytest.raises(DatasetLayoutError, match="features/v0.npy"):
        ds.features("v0")


# -- real data ----------------------------------------------------------------------------------


def test_real_gtea_tcn128(gtea_tcn128: Path) -> None:
    ds = StandardDataset(gtea_tcn128)
    assert len(ds.videos) == 28 and ds.feature_dim == 128 and ds.num_classes == 11
    assert len(ds.split("train")) == 21 and len(ds.split("test")) == 7
    assert ds.trimmed == {}
    v = ds.split("test")[0]
    x, y = ds.features(v), ds.labels(v)
    assert x.shape == (128, y.size) and x.dtype == np.float32 and np.isfinite(x).all()
    assert y.min() >= 0 and y.max() < 11


def test_non_utf8_mapping_and_bundle_name_the_file(tiny_dataset, tmp_path):
    import shutil

    from tascodec.errors import DatasetLayoutError
    from tascodec.dataset.layout import StandardDataset

    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    (root / "mapping.txt").write_bytes(b"0 caf\xe9\n")
    with pytest.raises(DatasetLayoutError, match=r"mapping.txt: class mapping is not UTF-8"):
        StandardDataset(root)
    shutil.copy(tiny_dataset / "mapping.txt", root / "mapping.txt")
    bundle = next((root / "splits").glob("*.bundle"))
    bundle.write_bytes(b"\xff\xfe\n")
    with pytest.raises(DatasetLayoutError, match=r"\.bundle: split bundle is not UTF-8"):
        StandardDataset(root).splits()
