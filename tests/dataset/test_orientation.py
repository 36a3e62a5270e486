"""Archive.features / Archive.labels give what standard-layout code reads from an export."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tascodec.errors import TascodecError
from tascodec.format import open_archive
from tascodec.dataset.orientation import check_frame_args, subsample

from testkit import write_small_archive


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    from tascodec.loading.export import export_archive

    root = tmp_path_factory.mktemp("orient")
    path = write_small_archive(root / "a.tasz", seed=8, videos=4)
    return path, export_archive(path, root / "out", progress=False)


@pytest.mark.parametrize("sample_rate,offset", [(1, 0), (2, 0), (2, 1), (3, 2), (4, 7), (1, 500)])
def test_features_equal_np_load_of_the_export(exported, sample_rate, offset):
    path, out = exported
    with open_archive(path) as ar:
        for v in ar.videos:
            ref = np.load(out / "features" / f"{v}.npy")[:, offset::sample_rate]
            x = ar.features(v, sample_rate=sample_rate, offset=offset)
            assert x.dtype == np.float32 and x.shape == ref.shape and x.flags.c_contiguous
            np.testing.assert_array_equal(x, ref)
            np.testing.assert_array_equal(ar.features(v, "TD", sample_rate, offset), ref.T)
            gt = (out / "groundTruth" / f"{v}.txt").read_text().split("\n")[:-1]
            names = np.array(ar.class_names)[ar.labels(v, sample_rate, offset)]
            assert list(names) == gt[offset::sample_rate]
    with open_archive(path) as ar:  # index works as the name does; decode stays (T, D)
        np.testing.assert_array_equal(ar.features(0), ar.decode(0).T)
        np.testing.assert_array_equal(ar.labels(0), np.repeat(ar.segments(0).action,
                                                               ar.segments(0).length))


@pytest.mark.parametrize("kwargs,match", [
    ({"layout": "dt"}, "layout must be 'DT'"),
    ({"layout": None}, "layout must be 'DT'"),
    ({"sample_rate": 0}, "sample_rate must be an integer >= 1"),
    ({"sample_rate": 1.0}, "sample_rate must be an integer >= 1"),
    ({"sample_rate": True}, "sample_rate must be an integer >= 1"),
    ({"offset": -1}, "offset must be an integer >= 0"),
    ({"offset": "1"}, "offset must be an integer >= 0"),
])
def test_bad_arguments_are_named(exported, kwargs, match):
    path, _ = exported
    with open_archive(path) as ar:
        with pytest.raises(TascodecError, match=match):
            ar.features(0, **kwargs)
        if "layout" not in kwargs:
            with pytest.raises(TascodecError, match=match):
                ar.labels(0, **kwargs)
    with pytest.raises(TascodecError, match=match):
        check_frame_args(**kwargs)


def test_subsample_is_numpy_slicing():
    x = np.arange(5 * 3, dtype=np.float32).reshape(5, 3)  # (T, D)
    np.testing.assert_array_equal(subsample(x, "DT", 2, 1), x.T[:, 1::2])
    np.testing.assert_array_equal(subsample(x, "TD", 2, 1), x[1::2])
    assert subsample(x, "DT", 1, 9).shape == (3, 0)


def test_features_does_not_import_torch(exported):
    path, _ = exported
    code = ("import sys, tascodec\n"
            f"with tascodec.open({str(path)!r}) as ar: ar.features(0, sample_rate=2, offset=1)\n"
            "assert 'torch' not in sys.modules, 'torch imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True)
