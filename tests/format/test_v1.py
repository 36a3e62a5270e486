"""Format version 1 (``tascodec.format.v1``): its reader's rules for 1.0 and 1.1, its header
checks."""

from __future__ import annotations

import copy
import json

import pytest

from make_golden import GOLDEN_DIR, build, write_zip, zip_entries
from tascodec.errors import FormatError
from tascodec.format import open_archive, write_archive
from tascodec.format.v1 import check_header


def test_a_1_0_reader_refuses_float16_tensors(tmp_path):
    """What a 1.0 reader sees: data_type float16 where float32 is required (FormatError)."""
    content, _ = build("mlp")
    entries = zip_entries(write_archive(content, tmp_path / "h.tasz", decoder_dtype="float16"))
    root = json.loads(entries["zarr.json"])
    root["attributes"]["tascodec"]["format_version"] = "1.0"
    bad = write_zip(tmp_path / "as10.tasz", {**entries, "zarr.json": json.dumps(root).encode()})
    with pytest.raises(FormatError, match="float16"):
        open_archive(bad)


def _header_edited(edit) -> dict:
    with open_archive(GOLDEN_DIR / "mlp.tasz") as ar:
        header = copy.deepcopy(ar.header)
    edit(header)
    return header


@pytest.mark.parametrize("edit, match", [
    (lambda h: h.update(class_names=[]), "'class_names' is empty"),
    (lambda h: h.update(videos=h["videos"] + h["videos"][:1]), "'videos' has duplicate names"),
    (lambda h: h.update(num_videos=h["num_videos"] + 1), r"num_videos != len\(videos\)"),
    (lambda h: h.update(code_dim=0), r"'code_dim' out of \[1, "),
    (lambda h: h.update(codec=3), "codec"),
    (lambda h: h["codes"].update(storage="cloud"), "codes.storage must be 'array' or 'random'"),
    (lambda h: h["codes"].update(dtype="int4"), "codes.dtype must be one of"),
    (lambda h: h.update(codes={"storage": "random", "generator": "mt19937", "seed": 1}),
     "random storage needs generator"),
    (lambda h: h.update(decoder={"tensors": []}), r"'arch' \(with 'name'\) and 'tensors'"),
    (lambda h: h["decoder"]["tensors"].append("w1"), "decoder"),
])
def test_header_checks_name_what_is_wrong(edit, match):
    check_header(_header_edited(lambda h: None), "a.tasz")  # the golden's header passes
    with pytest.raises(FormatError, match=f"a.tasz: .*{match}"):
        check_header(_header_edited(edit), "a.tasz")
