"""export_archive and the ``export`` / ``decode`` commands: round trip through StandardDataset."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.cli import main
from tascodec.decode import decode_video
from tascodec.errors import TascodecError
from tascodec.export import export_archive
from tascodec.layout_write import check_file_name as _check_name
from tascodec.format import open_archive
from tascodec.layout import StandardDataset

try:
    from test_decode import write_small_archive  # noqa: E402
except ImportError:  # pragma: no cover
    from tests.test_decode import write_small_archive  # noqa: E402


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    return write_small_archive(tmp_path_factory.mktemp("ex") / "small.tasz", seed=21, videos=5)


@pytest.mark.parametrize("kind", ["mlp", "repeat"])
def test_round_trip(tmp_path, kind):
    path = write_small_archive(tmp_path / "a.tasz", seed=4, kind=kind)
    out = export_archive(path, tmp_path / "out", progress=False)
    ds = StandardDataset(out)
    with open_archive(path) as ar:
        assert ds.class_names == ar.class_names and ds.videos == sorted(ar.videos)
        assert ds.splits() == ar.splits and ds.feature_dim == ar.feature_dim
        assert ds.split("train") == ar.splits["train.split1"]
        for v in ar.videos:
            np.testing.assert_array_equal(ds.labels(v), ar.labels(v))
            x = ds.features(v)
            assert x.dtype == np.float32 and x.shape == (ar.feature_dim, ar.num_frames(v))
            np.testing.assert_array_equal(x, decode_video(ar, v).T)
        assert not ds.trimmed
    assert sorted(p.name for p in (out / "splits").iterdir()) == [
        "test.split1.bundle", "test.split2.bundle", "train.split1.bundle", "train.split2.bundle"]
    assert not list(out.rglob("*.tmp"))


def test_split_and_overwrite(archive, tmp_path):
    out = tmp_path / "out"
    export_archive(archive, out, split="test", progress=False)
    assert sorted(p.stem for p in (out / "features").iterdir()) == ["vid03", "vid04"]
    assert [p.name for p in (out / "splits").iterdir()] == ["test.split1.bundle"]
    assert (out / "splits" / "test.split1.bundle").read_text() == "vid03.txt\nvid04.txt\n"
    with pytest.raises(TascodecError, match="not empty"):
        export_archive(archive, out, progress=False)
    export_archive(archive, out, split="train.split2", overwrite=True, progress=False)
    assert sorted(p.stem for p in (out / "features").iterdir()) == ["vid02", "vid03", "vid04"]
    with pytest.raises(TascodecError, match=r"split 'val' not found; available"):
        export_archive(archive, tmp_path / "o2", split="val", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(TascodecError, match="not a directory"):
        export_archive(archive, tmp_path / "file", progress=False)


@pytest.mark.parametrize("name", ["", "..", "a/b", "a\\b", "x\ny"])
def test_unsafe_video_names_are_refused(name):
    with pytest.raises(TascodecError, match="cannot be used as a file name"):
        _check_name(name, "a.tasz")


def test_cli_export_and_decode(archive, tmp_path, capsys):
    assert main(["export", str(archive), str(tmp_path / "o"), "--quiet"]) == 0
    assert (tmp_path / "o" / "mapping.txt").read_text().splitlines()[0] == "0 take"
    assert main(["export", str(archive), str(tmp_path / "o"), "--quiet"]) == 2
    assert "not empty" in capsys.readouterr().err
    with open_archive(archive) as ar:
        ref = decode_video(ar, "vid01")
    assert main(["decode", str(archive), "vid01", "-o", str(tmp_path / "x.npy")]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), ref.T)
    assert main(["decode", str(archive), "vid01", "-o", str(tmp_path / "y.npy"),
                 "--layout", "TD"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy"), ref)
    assert main(["decode", str(archive), "nope", "-o", str(tmp_path / "z.npy")]) == 2
    assert "no video 'nope'" in capsys.readouterr().err
