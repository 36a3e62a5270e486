"""Golden archives (tests/data/v1: format 1.0, tests/data/v1_1: 1.1): today's reader gives what
they gave when written, forever.

Never regenerate them to make this test pass: a failure here means the reader changed what an
existing archive means. (``TASCODEC_REGEN_GOLDEN=1 python tests/make_golden.py`` exists for
adding new ones.)
"""

from __future__ import annotations

import zipfile

import numpy as np

from tascodec.tca_mlp import FLOAT32_TENSORS
import pytest

from make_golden import GOLDEN_DIR, GOLDEN_SETS, NAMES
from tascodec.format import open_archive

EXPECTED_KIND = {
    "mlp": ("mlp", "float32"),
    "repeat": ("repeat", "float32"),
    "raw": ("repeat", "float32"),
    "tca-random": ("mlp", None),
    "mlp-float16": ("mlp", "float16"),
    "mlp-int8": ("mlp", "int8"),
    "mlp-f16dec": ("mlp", "float32"),
}
CASES = [(key, name) for key, (_, names, _) in GOLDEN_SETS.items() for name in names]


@pytest.mark.parametrize("key, name", CASES)
def test_goldens_present(key, name):
    directory = GOLDEN_SETS[key][0]
    assert (directory / f"{name}.tasz").is_file(), name
    assert (directory / f"{name}.npz").is_file(), name
    assert (directory / f"{name}.tasz").stat().st_size < 16 << 10  # tiny


@pytest.mark.parametrize("key, name", CASES)
def test_golden_reads_the_same(key, name):
    directory, _, version = GOLDEN_SETS[key]
    expected = np.load(directory / f"{name}.npz")
    with open_archive(directory / f"{name}.tasz") as ar:
        assert ar.format_version == version
        assert (ar.decode_kind, ar.code_dtype) == EXPECTED_KIND[name]
        assert ar.videos == list(expected["videos"])
        assert ar.verify() == []
        for i, v in enumerate(ar.videos):
            np.testing.assert_array_equal(ar.labels(v), expected[f"labels_{i}"])
            np.testing.assert_array_equal(ar.codes(v), expected[f"codes_{i}"])  # bit-exact
            if f"decoded_{i}" in expected.files:
                decoded = ar.decode(v)
                assert decoded.dtype == np.float32
                np.testing.assert_allclose(decoded, expected[f"decoded_{i}"], rtol=1e-5, atol=1e-5)
        if version != "1.0" and ar.decoder_arch() is not None:
            dtype = "float16" if name.endswith("-f16dec") else "float32"
            assert ar.header["decoder"]["dtype"] == dtype
            for tname, t in ar.decoder().tensors.items():
                assert t.dtype == np.float32
                if dtype == "float16" and tname not in FLOAT32_TENSORS:
                    np.testing.assert_array_equal(t.astype(np.float16).astype(np.float32), t)


def test_golden_1_1_manifest_and_float16_layout():
    import json

    with zipfile.ZipFile(GOLDEN_SETS["v1_1"][0] / "mlp-f16dec.tasz") as zf:
        names = zf.namelist()
        root = json.loads(zf.read("zarr.json"))
        w1 = json.loads(zf.read("decoder/w1/zarr.json"))
        offset = json.loads(zf.read("decoder/feature_offset/zarr.json"))
    assert names[0] == "zarr.json"
    assert set(root["attributes"]["tascodec_manifest"]["entries"]) == set(names) - {"zarr.json"}
    assert w1["data_type"] == "float16"
    assert offset["data_type"] == "float32"  # the normalisation stays float32


def test_golden_zip_layout():
    with zipfile.ZipFile(GOLDEN_DIR / "mlp-int8.tasz") as zf:
        names = zf.namelist()
    assert names[0] == "zarr.json"
    for key in (
        "codes/c/0/0",
        "code_scale/c/0",
        "segments/action/c/0",
        "videos/first_code/c/0",
        "decoder/w1/c/0/0",
        "decoder/feature_scale/c/0",
    ):
        assert key in names
