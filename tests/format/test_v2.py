"""Format version 2 (``tascodec.format.v2``): the header of several decoder groups checked,
each fault named (the golden ``tests/data/v2/merged.tasz`` read: ``test_groups.py``)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tascodec.errors import FormatError
from tascodec.format import open_archive
from tascodec.format.v2 import check_header

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


def _header_edited(edit) -> dict:
    with open_archive(V2) as ar:
        header = copy.deepcopy(ar.header)
    edit(header)
    return header


@pytest.mark.parametrize("edit, match", [
    (lambda h: h["groups"][1].update(num_videos=1), "the groups' num_videos sum to 4, not"),
    (lambda h: h.update(groups=[]), "header needs 1 to 65536 groups"),
    (lambda h: h["decoders"][0].update(classes=[0, 0]), r"decoders\[0\].classes must be distinct"),
    (lambda h: h["decoders"][1].update(classes=[9]), r"decoders\[1\].classes must be distinct"),
    (lambda h: h["groups"][1].pop("decoder"), r"groups\[1\] has no field 'decoder'"),
    (lambda h: h["groups"][0].update(decoder=2), r"groups\[0\].decoder must be null or an index"),
    (lambda h: h["groups"][0].update(codes={"storage": "cloud"}),
     r"groups\[0\].codes.storage must be 'array' or 'random'"),
    (lambda h: h["groups"][0].update(decode_kind="mlp+offset"),
     r"groups\[0\]: header field 'offsets' is missing"),
    (lambda h: h.update(feature_dim=0), "'feature_dim' = 0 out of"),
])
def test_header_checks_name_the_group_or_decoder_at_fault(edit, match):
    check_header(_header_edited(lambda h: None), "m.tasz")  # the golden's header passes
    with pytest.raises(FormatError, match=f"m.tasz: .*{match}"):
        check_header(_header_edited(edit), "m.tasz")


def test_a_group_without_a_decoder_says_so_with_null():
    header = _header_edited(lambda h: h["groups"][1].update(decoder=None))
    check_header(header, "m.tasz")
