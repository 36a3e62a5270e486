"""What opening an archive reads (``tascodec.format.archive_layout``): whatever the version,
the archive is seen as decoder groups of consecutive videos, each with its codes and decoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from make_golden import GOLDEN_DIR, GOLDEN_DIR_1_1
from tascodec.format import open_archive
from tascodec.format.archive_layout import DecoderLayout, GroupLayout, Layout

V2 = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"


def layout_of(path: Path) -> Layout:
    with open_archive(path) as ar:
        return ar._layout


def test_a_1_x_archive_is_one_group_of_one_decoder_or_none():
    layout = layout_of(GOLDEN_DIR_1_1 / "mlp.tasz")
    assert isinstance(layout, Layout) and layout.version == (1, 1)
    (group,) = layout.groups
    assert isinstance(group, GroupLayout) and group.decoder == 0 and group.codes is not None
    assert (group.first_video, group.num_videos, group.first_code, group.num_codes) == (
        0, len(layout.table.video_names), 0, layout.table.num_codes)
    np.testing.assert_array_equal(layout.video_first_code, layout.table.video_first_code)
    (decoder,) = layout.decoders
    assert isinstance(decoder, DecoderLayout) and decoder.classes is None
    assert decoder.dtype == "float32" and set(decoder.tensors) == set(decoder.header["tensors"])
    assert layout.manifest and len(layout.identity) == 32
    repeat = layout_of(GOLDEN_DIR / "repeat.tasz")  # 1.0: no decoder, no manifest
    assert repeat.decoders == [] and repeat.groups[0].decoder is None and repeat.manifest is None
    generated = layout_of(GOLDEN_DIR / "tca-random.tasz")
    assert generated.groups[0].codes is None and generated.codes is None


def test_a_2_0_archive_lists_its_groups_and_their_decoders():
    layout = layout_of(V2)
    assert layout.version == (2, 0) and layout.codes is None and layout.decoder is None
    first, second = layout.groups
    assert (first.first_video, first.first_code) == (0, 0)
    assert second.first_video == first.num_videos and second.first_code == first.num_codes
    assert second.first_code + second.num_codes == layout.table.num_codes
    assert [g.decoder for g in layout.groups] == [0, 1]
    assert [d.dtype for d in layout.decoders] == ["float32", "float16"]
    for d in layout.decoders:  # decoder class index -> archive class id
        assert d.classes.dtype == np.int64 and len(set(d.classes.tolist())) == d.classes.size
    assert layout.decoders[0].classes.tolist() != layout.decoders[1].classes.tolist()
