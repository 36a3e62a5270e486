"""Writing the ZIP container atomically (``tascodec.format.zip_write``, through
``write_archive``): STORED, unique and deterministic entries; an existing file replaced only
when asked and never half written; a failed write leaves nothing."""

from __future__ import annotations

import zipfile

import pytest

from make_golden import build
from tascodec.errors import TascodecError
from tascodec.format import write_archive


def test_failed_archive_write_leaves_no_temporary(tmp_path):
    from tascodec.format.zip_write import write_zip_atomic

    def boom() -> bytes:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_zip_atomic({"zarr.json": lambda: b"{}", "x/c/0": boom}, tmp_path / "z.tasz")
    assert list(tmp_path.iterdir()) == []


def test_zip_is_stored_unique_and_deterministic(mlp, tmp_path):
    content, path = mlp
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    assert len({i.filename for i in infos}) == len(infos)
    assert infos[0].filename == "zarr.json"
    again = write_archive(content, tmp_path / "b.tasz")
    assert again.read_bytes() == path.read_bytes()


def test_no_clobber(mlp):
    content, path = mlp
    before = path.read_bytes()
    with pytest.raises(TascodecError, match="exists") as err:
        write_archive(content, path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == before
    write_archive(content, path, overwrite=True, code_dtype="int8")
    assert path.read_bytes() != before


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    content, _ = build("mlp")
    dest = tmp_path / "x.tasz"
    calls = {"n": 0}
    real = zipfile.ZipFile.writestr

    def boom(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full (simulated)")
        return real(self, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        write_archive(content, dest)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old(mlp, monkeypatch):
    content, path = mlp
    before = path.read_bytes()
    monkeypatch.setattr(
        zipfile.ZipFile, "writestr", lambda *a, **k: (_ for _ in ()).throw(OSError("x"))
    )
    with pytest.raises(OSError):
        write_archive(content, path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_missing_directory(tmp_path):
    content, _ = build("repeat")
    with pytest.raises(TascodecError, match="does not exist"):
        write_archive(content, tmp_path / "nope" / "x.tasz")
