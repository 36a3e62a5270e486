"""The ZIP container (``tascodec.format.container``): what is not a ``.tasz`` file refused;
unique STORED entries read, each checked (local header, ZIP CRC-32, manifest digest)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from make_golden import write_zip
from tascodec.errors import FormatError, IntegrityError, TascodecError
from tascodec.format import open_archive
from tascodec.format.container import ZipReader
from tascodec.format.manifest import entry_digest


def test_not_archives(tmp_path):
    with pytest.raises(FormatError, match="no such archive"):
        open_archive(tmp_path / "missing.tasz")
    with pytest.raises(FormatError, match="directory"):
        open_archive(tmp_path)
    junk = tmp_path / "junk.tasz"
    junk.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(FormatError, match="not a ZIP"):
        open_archive(junk)
    empty_zip = write_zip(tmp_path / "empty.tasz", {})
    with pytest.raises(FormatError, match="zarr.json"):
        open_archive(empty_zip)
    with pytest.raises(TascodecError, match="path"):
        open_archive(3)  # type: ignore[arg-type]


def _flip_in_entry(path: Path, dst: Path, name: str, at: int) -> Path:
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw[info.header_offset + 30 + len(info.filename) + at] ^= 0x20
    dst.write_bytes(bytes(raw))
    return dst


def test_zip_crc_mismatch_is_integrity_error(mlp, tmp_path):
    _, path = mlp
    bad = _flip_in_entry(path, tmp_path / "crc.tasz", "codes/c/0/0", 3)
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="crc32c"):
            ar.codes(ar.videos[0])
        problems = ar.verify()
        assert any("CRC-32" in p for p in problems) and any("crc32c" in p for p in problems)
    meta = _flip_in_entry(path, tmp_path / "meta.tasz", "zarr.json", 40)
    with pytest.raises(IntegrityError, match="zarr.json.*CRC-32"):
        open_archive(meta)


def test_zip_reader_reads_stored_entries_each_checked(tmp_path):
    path = write_zip(tmp_path / "a.tasz", {"zarr.json": b"{}", "x/c/0": b"abc"})
    zr = ZipReader(path)
    assert zr.names == ["zarr.json", "x/c/0"] and zr.entry_size("x/c/0") == 3
    assert zr.read("x/c/0") == b"abc"
    with pytest.raises(FormatError, match="missing entry 'nope'"):
        zr.read("nope")
    zr.manifest = {"x/c/0": entry_digest(b"abd")}  # format 1.1: every read checks its digest
    with pytest.raises(IntegrityError, match="'x/c/0' does not match its manifest digest"):
        zr.read("x/c/0")
    zr.close()
    assert zr.closed


def test_only_unique_stored_entries_make_a_container(tmp_path):
    with pytest.raises(FormatError, match="duplicate ZIP entry 'a'"):
        ZipReader(write_zip(tmp_path / "d.tasz", [("a", b"1"), ("a", b"2")]))
    with pytest.raises(FormatError, match="'a' is compressed .*must be STORED"):
        ZipReader(write_zip(tmp_path / "c.tasz", {"a": b"1" * 100},
                            compress_type=zipfile.ZIP_DEFLATED))
