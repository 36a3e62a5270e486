"""``decode_video`` (``tascodec.decode``): one stored video decoded through its archive, on a
fake archive and on written ones; the module imports no torch."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from decode_checks import assert_close
from tascodec.content import SegmentTable
from tascodec.decode import decode_reference, decode_video, video_rows
from tascodec.errors import TascodecError
from testkit import random_decoder, small_content, write_small_archive


def test_decode_module_does_not_import_torch():
    import subprocess

    code = "import sys, tascodec.decode; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class FakeArchive:
    """Just what decode_video needs: table, codes(video), decoder(), decode_kind."""

    def __init__(self, rng, kind="mlp"):
        labels = [np.repeat([0, 2, 1], [5, 1, 9]), np.repeat([3, 0], [2, 7])]
        self.table = SegmentTable.from_labels(["a", "b"], labels, k=3)
        self.decode_kind = kind
        width = 8 if kind == "mlp" else 12
        self.all_codes = rng.standard_normal((self.table.num_codes, width)).astype(np.float32)
        self.ckpt = random_decoder(rng) if kind == "mlp" else None
        self.decoder_calls = 0
        self.path = "fake.tasz"

    def codes(self, video):
        i = self.table.video_names.index(video)
        first = self.table.video_first_code
        return self.all_codes[first[i] : first[i + 1]]

    def decoder(self):
        self.decoder_calls += 1
        return self.ckpt


@pytest.mark.parametrize("kind", ["mlp", "repeat"])
def test_decode_video(kind):
    ar = FakeArchive(np.random.default_rng(6), kind)
    for i, name in enumerate(["a", "b"]):
        x = decode_video(ar, name)
        rows = video_rows(ar, name)
        ref = decode_reference(kind, ar.codes(name), *rows, ar.ckpt)
        assert x.shape == (int(ar.table.video_num_frames[i]), 12)
        assert_close(x, ref)
    assert ar.decoder_calls <= 1  # folded once per archive
    with pytest.raises(TascodecError, match="fake.tasz: no video named 'zz'"):
        decode_video(ar, "zz")


def test_decode_video_torch_device_dispatch():
    pytest.importorskip("torch")
    ar = FakeArchive(np.random.default_rng(7))
    x = decode_video(ar, "a", device="cpu-torch")
    assert isinstance(x, np.ndarray) and x.dtype == np.float32
    np.testing.assert_allclose(x, decode_video(ar, "a"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "repeat"])
def test_decode_video_on_a_written_archive(tmp_path, kind):
    from tascodec.format import open_archive

    content = small_content(3, kind)
    path = write_small_archive(tmp_path / "a.tasz", 3, kind)
    with open_archive(path) as ar:
        for i, name in enumerate(content.table.video_names):
            sl = content.table.video_slice(i)
            first = content.table.video_first_code
            ref = decode_reference(kind, content.codes[first[i] : first[i + 1]],
                                   content.table.seg_action[sl], content.table.seg_length[sl],
                                   content.table.seg_num_instances[sl], content.decoder)
            assert_close(decode_video(ar, name), ref)
            assert_close(ar.decode(name), ref)


def test_a_group_decodes_its_own_videos_only():
    """``Archive.group_source(g)`` is itself decodable (its ``decode_view``): the group's videos
    as the archive decodes them, another group's refused."""
    from pathlib import Path

    from tascodec.errors import IntegrityError
    from tascodec.format import open_archive

    merged = Path(__file__).resolve().parents[1] / "data" / "v2" / "merged.tasz"
    with open_archive(merged) as ar:
        last = ar.groups[-1]
        for v in last.videos:
            np.testing.assert_array_equal(decode_video(ar.group_source(last.index), v),
                                          ar.decode(v))
        with pytest.raises(IntegrityError, match="is not in group 0"):
            decode_video(ar.group_source(0), last.videos[0])
