"""Readers by format version (``tascodec.format.readers``): a Zarr group that is not tascodec
refused, a newer major refused, a newer minor read by the rules of its major (unknown fields
kept, the manifest required from 1.1), unknown codecs and decode kinds read but not decoded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from make_golden import with_manifest, write_zip, zip_entries
from tascodec.errors import FormatError, UnknownCodecError, UnsupportedVersionError
from tascodec.format import open_archive
from tascodec.format.manifest import MANIFEST_KEY


def _edit_header(src: Path, dst: Path, edit) -> Path:
    entries = zip_entries(src)
    root = json.loads(entries["zarr.json"])
    edit(root["attributes"]["tascodec"])
    entries["zarr.json"] = json.dumps(root).encode()
    return write_zip(dst, entries)


def test_newer_major_refused(mlp, tmp_path):
    _, path = mlp
    bad = _edit_header(path, tmp_path / "v3.tasz", lambda h: h.update(format_version="3.0"))
    with pytest.raises(UnsupportedVersionError, match="newer") as err:
        open_archive(bad)
    assert str(bad) in str(err.value)


def test_newer_minor_with_unknown_fields_is_read(mlp, tmp_path):
    content, path = mlp

    def edit(h):
        h.update(format_version="1.3", future_field={"anything": [1, 2]})

    newer = _edit_header(path, tmp_path / "v13.tasz", edit)
    entries = zip_entries(newer)
    entries["future/zarr.json"] = b'{"zarr_format":3,"node_type":"group","attributes":{}}'
    write_zip(newer, with_manifest(entries))  # a 1.3 writer lists its new entries too
    with open_archive(newer) as ar:
        assert ar.format_version == "1.3" and ar.header["future_field"]["anything"] == [1, 2]
        np.testing.assert_array_equal(ar.codes(ar.videos[0]), content.codes[ar.code_rows(0)])
        assert ar.verify() == []


def test_unknown_codec_and_decode_kind(mlp, tmp_path):
    _, path = mlp
    odd = _edit_header(
        path,
        tmp_path / "odd.tasz",
        lambda h: h.update(codec="from-the-future", decode_kind="hologram"),
    )
    with open_archive(odd) as ar:
        assert ar.codec == "from-the-future"
        ar.labels(ar.videos[0]), ar.codes(ar.videos[0])
        with pytest.raises(UnknownCodecError, match="hologram"):
            ar.decode(ar.videos[0])


def test_other_zarr_group_is_not_tascodec(tmp_path):
    path = write_zip(
        tmp_path / "g.tasz", {"zarr.json": b'{"zarr_format":3,"node_type":"group","attributes":{}}'}
    )
    with pytest.raises(FormatError, match="not a tascodec archive"):
        open_archive(path)


def test_newer_minor_is_read_with_the_1_1_rules(multi, tmp_path):
    content, path = multi
    entries = zip_entries(path)
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = "1.7"
    newer = {**entries, "zarr.json": json.dumps(root).encode()}
    with open_archive(write_zip(tmp_path / "n.tasz", newer)) as ar:
        assert ar.format_version == "1.7" and ar.verify() == []
        np.testing.assert_array_equal(ar.codes(0), content.codes[ar.code_rows(0)])
    root["attributes"].pop(MANIFEST_KEY)
    with pytest.raises(FormatError, match=MANIFEST_KEY):
        open_archive(write_zip(tmp_path / "m.tasz", {**newer, "zarr.json": json.dumps(root).encode()}))
