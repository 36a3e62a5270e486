"""``CachedSource`` (``tascodec.format.source_cache``): a remote archive's bytes kept in a folder
that every reader of the same archive shares, so each block is fetched about once."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from tascodec.errors import TascodecError
from tascodec.format.byte_source import ByteSource
from tascodec.format.source_cache import BLOCK, CachedSource, cache_folder, cached

DATA = bytes(range(256)) * 64  # 4 blocks


class Remote(ByteSource):
    """A stand-in for a URL's bytes: its identity is the URL, the size and an ETag."""

    def __init__(self, data: bytes, etag: str = "etag-1") -> None:
        super().__init__()
        self.data, self.location, self.size = data, "http://host/a.tasz", len(data)
        self.version = (self.size, etag)
        self.identity = (self.location, *self.version)

    def _read(self, offset: int, n: int) -> bytes:
        return self.data[offset:offset + n]

    def reopen(self) -> Remote:
        return Remote(self.data, self.version[1])


def test_blocks_are_fetched_once_whole_and_only_the_missing_runs(tmp_path):
    source = CachedSource(Remote(DATA), tmp_path / "cache")
    assert source.read_at(BLOCK + 10, 10) == DATA[BLOCK + 10:BLOCK + 20]
    assert (source.stats.requests, source.stats.bytes) == (1, BLOCK)  # the whole block
    assert source.read_at(BLOCK, 100) == DATA[BLOCK:BLOCK + 100]
    assert source.stats.requests == 1  # there already
    assert source.read_at(0, len(DATA)) == DATA
    assert (source.stats.requests, source.stats.bytes) == (3, len(DATA))  # block 0, blocks 2-3
    source.close()


def test_readers_of_the_same_archive_share_the_folder_and_a_replaced_file_is_another(tmp_path):
    first = CachedSource(Remote(DATA), tmp_path)
    assert first.read_at(0, len(DATA)) == DATA
    again = first.reopen()  # a DataLoader worker
    assert again.read_at(0, len(DATA)) == DATA and again.stats.requests == 0
    replaced = CachedSource(Remote(DATA[::-1], etag="etag-2"), tmp_path)
    assert replaced.read_at(0, 8) == DATA[::-1][:8] and replaced.stats.requests == 1
    for s in (first, again, replaced):
        s.close()


def test_the_cache_folder_asked_for():
    assert cache_folder(False, object()) is None and cache_folder(None, object()) is None
    assert cache_folder(Path("/tmp/c"), object()) == "/tmp/c"
    with pytest.raises(TascodecError, match="remote_cache: expected True, False or a folder"):
        cache_folder(3, object())

    class Owner:
        pass

    owner = Owner()
    folder = Path(cache_folder(True, owner))
    assert folder.is_dir()
    del owner
    gc.collect()
    assert not folder.exists()  # a temporary folder goes with its owner


def test_only_urls_are_cached(tmp_path):
    path = tmp_path / "a.tasz"
    assert cached(path, None, str(tmp_path / "cache")) is path
    assert cached("http://host/a.tasz", None, None) == "http://host/a.tasz"
