"""The entries of a ``.tasz`` file built with zarr (``tascodec.format.zarr_entries``): compact
Zarr v3 documents, chunks of the target size, the manifest added last; plain zarr reads the
archive."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tascodec.format.manifest import MANIFEST_KEY, entry_digest
from tascodec.format.zarr_entries import build_entries, with_manifest


def test_readable_by_plain_zarr(mlp):
    zarr = pytest.importorskip("zarr")
    content, path = mlp
    g = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    assert g.attrs["tascodec"]["format_version"] == "1.1"
    np.testing.assert_array_equal(g["codes"][:], content.codes)
    np.testing.assert_array_equal(g["segments/length"][:], content.table.seg_length)
    np.testing.assert_array_equal(g["videos/first_code"][:], content.table.video_first_code)
    np.testing.assert_array_equal(g["decoder/w1"][:], content.decoder.tensors["w1"])


def test_entries_are_compact_chunked_and_bound_by_the_manifest(tmp_path):
    pytest.importorskip("zarr")
    data = np.arange(10, dtype="<i8")
    stored = []

    def fill(root, put):
        put(root, "x", data, 32)  # 4 rows of 8 bytes a chunk: 3 chunks

    with build_entries(tmp_path / "a.tasz", {"format": "t"}, data.nbytes, 3, fill,
                       stored.append) as entries:
        names = sorted(entries)
        assert names == ["x/c/0", "x/c/1", "x/c/2", "x/zarr.json", "zarr.json"]
        assert json.loads(entries["zarr.json"]())["attributes"]["tascodec"] == {"format": "t"}
        meta = entries["x/zarr.json"]()
        assert b"\n" not in meta and b": " not in meta  # compact JSON
        assert json.loads(meta)["chunk_grid"]["configuration"]["chunk_shape"] == [4]
        signed = with_manifest(entries)
        manifest = json.loads(signed["zarr.json"]())["attributes"][MANIFEST_KEY]
        assert list(manifest["entries"]) == names[:-1]
        assert manifest["entries"]["x/c/1"] == entry_digest(entries["x/c/1"]())
        assert signed["x/c/0"] is entries["x/c/0"]
    assert len(stored) == 1 and stored[0] > 0
    assert list(tmp_path.iterdir()) == []  # built in memory: nothing beside the destination
