"""The format version (``tascodec.format.version``): parsed and checked in one place, exact
strings only, a newer major refused."""

from __future__ import annotations

import json

import pytest

from make_golden import GOLDEN_DIR, write_zip, zip_entries
from tascodec.errors import FormatError, UnsupportedVersionError
from tascodec.format import open_archive
from tascodec.format.version import check_version, parse_version, version_for_kinds


@pytest.mark.parametrize("text, parsed", [("1.0", (1, 0)), ("1.12", (1, 12)), ("0.3", (0, 3))])
def test_parse_version(text, parsed):
    assert parse_version(text) == parsed


@pytest.mark.parametrize("bad", ["1", "1.0.0", "v1.0", "01.0", "1.-1", " 1.0", 1.0, None, "1.x"])
def test_malformed_versions(bad):
    with pytest.raises(FormatError, match="format_version"):
        check_version(bad, where="x.tasz")


def test_check_version():
    assert check_version("1.9") == (1, 9)
    assert check_version("2.0") == (2, 0)  # grouped archives (spec/tasz-v2.md)
    with pytest.raises(UnsupportedVersionError, match="3.0"):
        check_version("3.0", where="x.tasz")
    with pytest.raises(FormatError, match="not a released"):
        check_version("0.9")


@pytest.mark.parametrize("bad", ["1.0\n", "1.1\n", "\n1.0", "1.0 ", "1.1\x00"])
def test_version_with_trailing_characters_refused(tmp_path, bad):
    entries = zip_entries(GOLDEN_DIR / "repeat.tasz")
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = bad
    path = write_zip(tmp_path / "v.tasz", {**entries, "zarr.json": json.dumps(root).encode()})
    with pytest.raises(FormatError, match="format_version"):
        open_archive(path)


def test_version_for_kinds_is_the_newest_a_group_needs():
    assert version_for_kinds(["mlp", "repeat"]) == "2.0"  # the first grouped version
    assert version_for_kinds(["mlp", "mlp+offset"]) == "2.1"
    assert version_for_kinds(["mlp+lerp", "mlp+lerp-video"]) == "2.3"
    assert version_for_kinds(["hologram"]) == "2.0"
