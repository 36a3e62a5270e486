"""Format 2.2: decode kind ``"mlp+lerp"`` (each frame's code interpolated between the codes of
the instances around it, then the ``mlp`` decoder)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tascodec.codecs.pca import fit_codes
from tascodec.decode import decode_reference
from tascodec.errors import TascodecError, UnknownCodecError
from tascodec.format import open_archive, write_archive
from tascodec.format.v1_write import write_v1
from tascodec.encoding.grow import merge
from tascodec.segments import instance_lengths, lerp_weights

from make_golden import check_grouped_golden
from old_readers import old_decode_refusal
from testkit import (check_decode_in_segment_groups, check_least_squares_codes,
                     check_pca_decoder_decodes,
                     interpolated_codes, lerp_case, offset_content, small_content)

GOLDEN = Path(__file__).parents[1] / "data" / "v2_2"
LAST_2_1_COMMIT = "56c78fc"  # the last commit whose reader knows format 2.1 at most


def lerp_content(seed: int = 7):
    """``small_content`` (a random ``tca-mlp`` decoder, K = 3) with decode kind ``"mlp+lerp"``."""
    return replace(small_content(seed, "mlp"), decode_kind="mlp+lerp")


def normative(codes, length, k_eff) -> np.ndarray:
    """Each frame's code by the spec's words, one frame at a time (T, d) float32."""
    rows, first = [], 0
    for l, k in zip(length.tolist(), k_eff.tolist()):
        bounds = [(j * l) // k for j in range(k + 1)]
        m = [bounds[j] + bounds[j + 1] - 1 for j in range(k)]  # doubled centres
        for i in range(l):
            f = 2 * i
            if f <= m[0]:
                rows.append(codes[first])
            elif f >= m[-1]:
                rows.append(codes[first + k - 1])
            else:
                j = max(j for j in range(k) if m[j] <= f)
                w = np.float32((f - m[j]) / (m[j + 1] - m[j]))
                z0, z1 = codes[first + j], codes[first + j + 1]
                rows.append(z0 + w * (z1 - z0))
        first += k
    return np.asarray(rows, np.float32).reshape(-1, codes.shape[1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40)), min_size=1, max_size=6))
def test_lerp_weights_follow_the_spec(segs):
    length, k_eff, codes, got = interpolated_codes(segs)
    left, right, _ = lerp_weights(length, k_eff)
    seg_of_inst = np.repeat(np.arange(length.size), k_eff)
    frame_seg = np.repeat(np.arange(length.size), length)
    assert (seg_of_inst[left] == frame_seg).all() and (seg_of_inst[right] == frame_seg).all()
    np.testing.assert_array_equal(got, normative(codes, length, k_eff))
    # one instance per frame: every frame is its own code (nothing to interpolate)
    l2, r2, w2 = lerp_weights(length, length)
    assert (w2 == 0).all() and (l2 == np.arange(length.sum())).all()


def test_lerp_round_trip_numpy_torch_and_reference(tmp_path):
    content = lerp_content()
    path = write_archive(content, tmp_path / "l.tasz", code_dtype="int8")
    with open_archive(path) as ar:
        assert ar.format_version == "2.2" and ar.decode_kind == "mlp+lerp"
        assert ar.verify() == []
        t = ar.table
        for v in ar.videos:
            sl = t.video_slice(ar.video_index(v))
            want = decode_reference("mlp+lerp", ar.codes(v), t.seg_action[sl], t.seg_length[sl],
                                    t.seg_num_instances[sl], ar.decoder())
            np.testing.assert_allclose(ar.decode(v), want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ar.decode(v, device="cpu-torch"), want, rtol=1e-5,
                                       atol=1e-5)
            held = decode_reference("mlp", ar.codes(v), t.seg_action[sl], t.seg_length[sl],
                                    t.seg_num_instances[sl], ar.decoder())
            if (t.seg_num_instances[sl] > 1).any():
                assert not np.allclose(held, want)  # the kind changes the frames


def test_a_pca_decoder_decodes_the_interpolated_coordinates():
    """With the ``pca`` codec's pass-through decoder a frame is ``mean + basis z_i``, z_i the
    interpolated code; the structured decode agrees with the plain forward pass."""
    check_pca_decoder_decodes("mlp+lerp", normative)


def test_a_segment_decodes_to_the_same_bits_in_any_group(tmp_path):
    check_decode_in_segment_groups(write_archive(lerp_content(), tmp_path / "l.tasz"), 60_000)


def test_writers_write_2_2_and_refuse_1_x(tmp_path):
    with pytest.raises(TascodecError, match="2.2"):
        write_v1(lerp_content(), tmp_path / "v1.tasz")
    other = offset_content()
    names = [f"other{i}" for i in range(other.table.num_videos)]
    other = replace(other, table=replace(other.table, video_names=names),
                    splits={"train.split1": names})
    both = merge([write_archive(lerp_content(), tmp_path / "a.tasz"),
                  write_archive(other, tmp_path / "b.tasz")], tmp_path / "ab.tasz")
    with open_archive(both) as ar:
        assert ar.format_version == "2.2"
        assert [g.decode_kind for g in ar.groups] == ["mlp+lerp", "mlp+offset"]
        assert ar.decode(ar.videos[0]).shape[1] == 12


def _with_header(src: Path, dst: Path, edit) -> Path:
    """A copy of ``src`` whose header ``edit(h)`` changed (the manifest left as it was: the
    root document is not among the digested entries)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "zarr.json":
                doc = json.loads(data)
                edit(doc["attributes"]["tascodec"])
                data = json.dumps(doc).encode()
            zout.writestr(info, data)
    return dst


@pytest.mark.parametrize("kind", ["mlp+lerp", "mlp+offset"])
def test_a_2_x_kind_in_a_1_x_header_is_unknown(tmp_path, kind):
    """v1 section 3 / v2 sections 6-7: a 1.x archive cannot hold a kind of format 2.x; such a
    header opens (tables and codes read) and its frames are refused."""
    src = write_archive(small_content(4, "mlp"), tmp_path / "m.tasz")
    bad = _with_header(src, tmp_path / "bad.tasz", lambda h: h.update(decode_kind=kind))
    with open_archive(bad) as ar:
        assert ar.format_version == "1.1"
        assert ar.codes(ar.videos[0]).shape[1] == 8
        with pytest.raises(UnknownCodecError, match="1.1 archive"):
            ar.decode(ar.videos[0])


def test_golden_v2_2_decodes_and_rebuilds(tmp_path):
    check_grouped_golden(lerp_content(), GOLDEN, "lerp", "2.2", "mlp+lerp", tmp_path)


def test_a_2_1_reader_refuses_to_decode_2_2_cleanly(tmp_path):
    """The reader of the last 2.1 commit opens a 2.2 archive (same major) but refuses to decode
    its ``"mlp+lerp"`` group, naming the kind: never held codes in place of interpolated."""
    out = old_decode_refusal(LAST_2_1_COMMIT, GOLDEN / "lerp.tasz", tmp_path)
    assert "mlp+lerp" in out and "videos 5" in out


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 30)), min_size=1, max_size=5),
       st.integers(0, 2**31 - 1))
def test_linear_codes_are_the_least_squares_fit(segs, seed):
    """``fit_codes(..., "linear")`` solves the least-squares problem of the interpolation."""
    check_least_squares_codes(segs, seed, "linear")
    length, k_eff = lerp_case(segs)
    coef = np.random.default_rng(seed).standard_normal((int(length.sum()), 2))
    held = fit_codes(coef, length, k_eff, "hold")
    starts = np.concatenate(([0], np.cumsum(instance_lengths(length, k_eff))[:-1]))
    np.testing.assert_allclose(held[0], coef[starts[0]:starts[0] + instance_lengths(
        length, k_eff)[0]].mean(0))


if __name__ == "__main__":  # pragma: no cover - run by hand:
    # PYTHONPATH=.:tests:tests/support python tests/format/test_lerp.py
    from make_golden import write_grouped_golden

    write_grouped_golden(lerp_content(), GOLDEN, "lerp")
