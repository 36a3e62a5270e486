"""The entry manifest of format 1.1 (``tascodec.format.manifest``): every entry, metadata
included, bound to its path by a digest, so swapped or edited entries are caught (1.0 archives,
without one, keep reading as before)."""

from __future__ import annotations

import hashlib
import json

import pytest

from make_golden import build, write_zip, zip_entries
from tascodec.errors import FormatError, IntegrityError
from tascodec.format import open_archive, write_archive
from tascodec.format.manifest import MANIFEST_KEY, build_manifest, entry_digest, parse_manifest


def test_written_as_1_1_with_manifest(multi):
    _, path = multi
    entries = zip_entries(path)
    root = json.loads(entries["zarr.json"])
    assert root["attributes"]["tascodec"]["format_version"] == "1.1"
    manifest = root["attributes"][MANIFEST_KEY]
    assert manifest["algorithm"] == "blake2b-128"
    assert set(manifest["entries"]) == set(entries) - {"zarr.json"}
    with open_archive(path) as ar:
        assert ar.verify() == [] and len(ar.identity) == 32


def test_swapped_codes_chunks(multi, tmp_path):
    content, path = multi
    entries = zip_entries(path)
    a, b = "codes/c/0/0", "codes/c/1/0"
    swapped = write_zip(tmp_path / "s.tasz", {**entries, a: entries[b], b: entries[a]})
    with open_archive(swapped) as ar:
        with pytest.raises(IntegrityError, match="codes/c/0/0.*manifest"):
            ar.codes(0)
        problems = ar.verify()
        assert any(a in p for p in problems) and any(b in p for p in problems)
    # 1.0 has no manifest: the same swap goes unnoticed there (why 1.1 exists)
    old = zip_entries(write_archive(content, tmp_path / "o.tasz", format_version="1.0",
                                    codes_chunk_bytes=4 * 12 * 5))
    old_swapped = write_zip(tmp_path / "os.tasz", {**old, a: old[b], b: old[a]})
    with open_archive(old_swapped) as ar:
        assert ar.verify() == []


@pytest.mark.parametrize("pair", [("b2", "feature_offset"), ("feature_offset", "feature_scale"),
                                  ("b2", "feature_scale")])
def test_swapped_decoder_tensors(tmp_path, pair):
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "m.tasz"))
    a, b = (f"decoder/{n}/c/0" for n in pair)
    bad = write_zip(tmp_path / "s.tasz", {**entries, a: entries[b], b: entries[a]})
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="manifest"):
            ar.decoder()
        with pytest.raises(IntegrityError):
            ar.decode(0)


def test_manifest_must_match_entries(multi, tmp_path):
    _, path = multi
    entries = zip_entries(path)
    extra = write_zip(tmp_path / "e.tasz", {**entries, "extra/zarr.json": b"{}"})
    with pytest.raises(IntegrityError, match="extra/zarr.json"):
        open_archive(extra)
    root = json.loads(entries["zarr.json"])
    for edit, err in (
        (lambda m: m.pop(MANIFEST_KEY), FormatError),
        (lambda m: m[MANIFEST_KEY].update(algorithm="md5"), FormatError),
        (lambda m: m[MANIFEST_KEY]["entries"].update({"codes/zarr.json": "00"}), FormatError),
        (lambda m: m[MANIFEST_KEY]["entries"].update({"codes/zarr.json": "0" * 32}),
         IntegrityError),
    ):
        r = json.loads(json.dumps(root))
        edit(r["attributes"])
        bad = write_zip(tmp_path / "b.tasz", {**entries, "zarr.json": json.dumps(r).encode()})
        with pytest.raises(err):
            open_archive(bad)


def test_metadata_entry_bound_too(multi, tmp_path):
    _, path = multi
    entries = zip_entries(path)
    key = "segments/action/zarr.json"
    meta = json.loads(entries[key])
    meta["attributes"] = {"edited": True}  # still valid metadata, other bytes
    with pytest.raises(IntegrityError, match="manifest"):
        open_archive(write_zip(tmp_path / "s.tasz", {**entries, key: json.dumps(meta).encode()}))




def test_the_manifest_is_a_digest_per_entry_and_parsed_strictly():
    manifest = build_manifest([("b/c/0", b"x"), ("zarr.json", b"{}"), ("a/zarr.json", b"{}")])
    assert manifest["algorithm"] == "blake2b-128"
    assert list(manifest["entries"]) == ["a/zarr.json", "b/c/0"]  # sorted, the root left out
    assert manifest["entries"]["b/c/0"] == hashlib.blake2b(b"x", digest_size=16).hexdigest()
    assert entry_digest(b"x") == manifest["entries"]["b/c/0"] and len(entry_digest(b"")) == 32
    attrs = {MANIFEST_KEY: manifest}
    assert parse_manifest(attrs, ["zarr.json", "b/c/0", "a/zarr.json"], "a.tasz") == \
        manifest["entries"]
    with pytest.raises(IntegrityError, match=r"not in the manifest \['c/zarr.json'\]"):
        parse_manifest(attrs, ["zarr.json", "b/c/0", "a/zarr.json", "c/zarr.json"], "a.tasz")
    with pytest.raises(IntegrityError, match=r"missing from the file \['b/c/0'\]"):
        parse_manifest(attrs, ["zarr.json", "a/zarr.json"], "a.tasz")
    with pytest.raises(FormatError, match="needs the root attribute"):
        parse_manifest({}, ["zarr.json"], "a.tasz")
