"""export_archive and the ``export`` / ``decode`` commands: round trip through StandardDataset."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tascodec.cli import main
from tascodec.decode import decode_video
from tascodec.errors import TascodecError
from tascodec.loading.export import export_archive
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset

from testkit import write_small_archive


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


# --- killed, partial and resumed exports (issue 12) ----------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def ar_videos(path):
    with open_archive(path) as ar:
        return list(ar.videos)


def test_interrupted_export_is_not_a_dataset_and_resumes(archive, tmp_path, monkeypatch,
                                                          capsys):
    import json

    import tascodec.loading.export as export_mod
    from tascodec.errors import DatasetLayoutError

    out = tmp_path / "out"
    calls: list[str] = []
    real = export_mod.decode_video

    def dies_at_third(ar, v, device=None):
        if len(calls) == 2:
            raise KeyboardInterrupt  # a handled stop half way
        calls.append(v)
        return real(ar, v, device=device)

    monkeypatch.setattr(export_mod, "decode_video", dies_at_third)
    with pytest.raises(KeyboardInterrupt):
        export_archive(archive, out, progress=False)
    assert json.loads((out / ".tascodec-export.json").read_text())["complete"] is False
    assert not (out / "mapping.txt").exists()
    with pytest.raises((DatasetLayoutError, TascodecError)):
        StandardDataset(out)
    assert not [p for p in out.rglob("*") if p.name.startswith(".tascodec-tmp-")]

    calls.clear()
    monkeypatch.setattr(export_mod, "decode_video",
                        lambda ar, v, device=None: calls.append(v) or real(ar, v, device=device))
    export_archive(archive, out, progress=True)  # continues: same archive, same split
    assert "continuing the partial export" in capsys.readouterr().err  # said, not silent
    assert sorted(calls) == sorted(ar_videos(archive))  # every file written again (issue 28)
    assert json.loads((out / ".tascodec-export.json").read_text())["complete"] is True
    ref = export_archive(archive, tmp_path / "fresh", progress=False)
    ds, fresh = StandardDataset(out), StandardDataset(ref)
    assert ds.videos == fresh.videos and ds.splits() == fresh.splits()
    for v in ds.videos:
        np.testing.assert_array_equal(ds.features(v), fresh.features(v))


def test_partial_export_of_another_archive_is_refused(archive, tmp_path, monkeypatch):
    import tascodec.loading.export as export_mod

    other = write_small_archive(tmp_path / "other.tasz", seed=5, videos=3)
    out = tmp_path / "out"
    monkeypatch.setattr(export_mod, "decode_video",
                        lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        export_archive(other, out, progress=False)
    monkeypatch.undo()
    with pytest.raises(TascodecError, match="not empty.*partial export"):
        export_archive(archive, out, progress=False)
    with pytest.raises(TascodecError, match="not empty.*partial export"):
        export_archive(other, out, split="test", progress=False)
    export_archive(archive, out, overwrite=True, progress=False)
    assert len(StandardDataset(out).videos) == 5


def test_stale_temporaries_are_cleaned(archive, tmp_path):
    from tascodec.format import write_archive

    out = tmp_path / "out"
    (out / "features").mkdir(parents=True)
    dead, alive = _dead_pid(), os.getppid()
    stale = out / "features" / f".tascodec-tmp-vid00.npy.{dead}.x1y2"
    kept = out / "features" / f".tascodec-tmp-vid00.npy.{alive}.x1y2"
    stale.write_bytes(b"half")
    kept.write_bytes(b"someone else's")
    export_archive(archive, out, progress=False)
    assert not stale.exists() and kept.exists()
    # archives: a killed write of a.tasz left its temporary; the next write removes it
    with open_archive(archive) as ar:
        content = ar.to_content()
    left = tmp_path / f".tascodec-tmp-a.tasz.{dead}.abcd1234"
    left.write_bytes(b"PK")
    write_archive(content, tmp_path / "a.tasz")
    assert not left.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tascodec-tmp-a.tasz.")
                and str(os.getpid()) in p.name]


def test_unstored_split_videos_and_decode_limit(tmp_path, capsys):
    from tascodec.format import write_archive

    path = write_small_archive(tmp_path / "a.tasz", seed=8, videos=4)
    with open_archive(path) as ar:
        content = ar.to_content()
    stored = content.table.video_names
    content.splits = {"train.split1": [stored[0], "elsewhere", stored[1]],
                      "test.split1": stored[2:]}
    write_archive(content, path, overwrite=True)
    out = export_archive(path, tmp_path / "out", progress=False)
    ds = StandardDataset(out)
    assert ds.split("train.split1") == [stored[0], stored[1]] and len(ds.videos) == 4
    assert main(["export", str(path), str(tmp_path / "o2"), "--quiet",
                 "--decode-limit", "100"]) == 2
    assert "decode limit" in capsys.readouterr().err
    assert main(["decode", str(path), stored[0], "-o", str(tmp_path / "x.npy"),
                 "--decode-limit", "100"]) == 2
    assert "decode limit" in capsys.readouterr().err


def test_workers_export_the_same_files(archive, tmp_path):
    one = export_archive(archive, tmp_path / "one", progress=False)
    two = export_archive(archive, tmp_path / "two", progress=False, workers=2)
    files = sorted(p.relative_to(one) for p in one.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(two) for p in two.rglob("*") if p.is_file())
    for rel in files:
        if rel.name != ".tascodec-export.json":
            assert (one / rel).read_bytes() == (two / rel).read_bytes(), rel


def test_a_failing_worker_stops_the_export_and_it_resumes(archive, tmp_path):
    with open_archive(archive) as ar:
        victim = ar.videos[2]
    out = tmp_path / "out"
    (out / "features").mkdir(parents=True)
    (out / "features" / f"{victim}.npy").mkdir()  # the worker cannot write over a directory
    with pytest.raises(TascodecError):
        export_archive(archive, out, progress=False, workers=2, overwrite=True)
    assert not (out / "mapping.txt").exists()
    (out / "features" / f"{victim}.npy").rmdir()
    export_archive(archive, out, progress=False, workers=2)
    assert StandardDataset(out).videos == sorted(ar.videos)


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_workers_are_refused(archive, tmp_path, workers):
    with pytest.raises(TascodecError, match="workers"):
        export_archive(archive, tmp_path / "o", progress=False, workers=workers)
