"""tascodec.content's decode-kind table: the one place a decode kind is declared."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from tascodec import content
from tascodec.content import (DECODE_KINDS, KIND_SINCE, KINDS, MLP_KINDS, DecodeKind,
                              decode_kind_spec)
from tascodec.errors import UnknownCodecError
from tascodec.format.version import GROUPS_SINCE, version_for_kinds


def test_the_names_are_the_stored_ones():
    # the names archives store: changing one is a format change
    assert (content.MLP, content.REPEAT, content.MLP_OFFSET, content.MLP_LERP,
            content.MLP_LERP_VIDEO) == (
        "mlp", "repeat", "mlp+offset", "mlp+lerp", "mlp+lerp-video")
    assert DECODE_KINDS == ("mlp", "repeat", "mlp+offset", "mlp+lerp", "mlp+lerp-video")


def test_every_kind_has_one_table_entry():
    assert tuple(KINDS) == DECODE_KINDS
    assert set(typing.get_args(DecodeKind)) == set(DECODE_KINDS)
    for name in DECODE_KINDS:
        spec = KINDS[name]
        assert spec.name == name and decode_kind_spec(name) is spec
        with pytest.raises(dataclasses.FrozenInstanceError):
            spec.uses_decoder = not spec.uses_decoder  # type: ignore[misc]


def test_derived_names_agree_with_the_traits():
    assert MLP_KINDS == tuple(n for n, s in KINDS.items() if s.uses_decoder)
    assert KIND_SINCE == {n: s.since for n, s in KINDS.items() if s.since is not None}
    assert MLP_KINDS == ("mlp", "mlp+offset", "mlp+lerp", "mlp+lerp-video")
    assert KIND_SINCE == {"mlp+offset": (2, 1), "mlp+lerp": (2, 2), "mlp+lerp-video": (2, 3)}
    assert [n for n, s in KINDS.items() if s.stores_offsets] == ["mlp+offset"]
    assert [n for n, s in KINDS.items() if s.interpolates] == ["mlp+lerp", "mlp+lerp-video"]
    assert [n for n, s in KINDS.items() if s.across_segments] == ["mlp+lerp-video"]


def test_version_for_kinds_reads_since_from_the_table():
    base = f"{GROUPS_SINCE[0]}.{GROUPS_SINCE[1]}"
    for name, spec in KINDS.items():
        want = base if spec.since is None else f"{spec.since[0]}.{spec.since[1]}"
        assert version_for_kinds([name]) == want, name
        assert version_for_kinds([content.MLP, name]) == want, name
    assert version_for_kinds(DECODE_KINDS) == "2.3"
    assert version_for_kinds(["something-new"]) == base  # unknown: no minor of its own


@pytest.mark.parametrize("name", ["mlp+cubic", "", "MLP", None, ["mlp"]])
def test_an_unknown_name_is_a_clear_error(name):
    with pytest.raises(UnknownCodecError, match=r"^group 3: decode kind .* is unknown \(known: "
                                                r"mlp, repeat, mlp\+offset, mlp\+lerp, mlp\+lerp-video\)$"):
        decode_kind_spec(name, where="group 3")


def test_an_unknown_name_names_itself():
    with pytest.raises(UnknownCodecError, match=r"^decode_kind: decode kind 'mlp\+cubic' is "):
        decode_kind_spec("mlp+cubic")
