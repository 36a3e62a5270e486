"""Random-access byte sources (``tascodec.format.byte_source``): what a target is (a path, a
URL, a file object), and local files and file objects read at any offset, counted, pinned by
their identity."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tascodec.errors import FormatError, TascodecError
from tascodec.format import open_archive
from tascodec.format.byte_source import (
    FileObjectSource,
    LocalSource,
    archive_target,
    is_file_object,
    is_url,
    open_source,
)


def test_targets():
    assert is_url("s3://bucket/a.tasz") and is_url("hf://datasets/o/r/a.tasz")
    assert is_url("simplecache::https://h/a.tasz") and is_url("memory://a.tasz")
    assert not is_url("C:\\data\\a.tasz") and not is_url("a.tasz") and not is_url(Path("x"))
    assert archive_target("file:///tmp/a.tasz") == Path("/tmp/a.tasz")
    assert archive_target("http://h/a.tasz") == "http://h/a.tasz"
    with pytest.raises(TascodecError, match="binary file object"):
        open_archive(12)


def test_local_files_and_file_objects_read_at_any_offset(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(bytes(range(100)))
    with open(path, "rb") as fh:
        sources = [open_source(path), open_source(str(path)), open_source(fh),
                   open_source(io.BytesIO(path.read_bytes()))]
        assert [type(s) for s in sources] == [LocalSource, LocalSource, FileObjectSource,
                                              FileObjectSource]
        for source in sources:
            assert source.size == 100
            assert source.read_at(10, 5) == bytes(range(10, 15))
            assert source.read_at(98, 10) == b"\x62\x63" and source.read_at(100, 4) == b""
            assert (source.stats.requests, source.stats.bytes) == (3, 7)
        assert sources[0].identity == sources[1].identity != sources[2].identity
        assert sources[0].reopen().read_at(0, 3) == b"\x00\x01\x02"
        with pytest.raises(TascodecError, match="cannot be read in another process"):
            sources[2].reopen()
        sources[2].close()
        assert not fh.closed  # the caller's file stays open
        with pytest.raises(TascodecError, match="archive is closed"):
            sources[2].read_at(0, 1)
    assert is_file_object(io.BytesIO()) and not is_file_object(path)
    with pytest.raises(FormatError, match="no such archive"):
        LocalSource(tmp_path / "missing.tasz")
