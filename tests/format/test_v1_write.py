"""Writing format 1 (``tascodec.format.v1_write``, through ``write_archive``): content a reader
would refuse is refused before anything is written; float16 decoders, their normalisation kept
float32; stats made JSON; a decoder of another architecture stored as given."""

from __future__ import annotations

import json

import numpy as np
import pytest

from make_golden import build, mlp_decoder, zip_entries
from tascodec.content import ArchiveContent, SegmentTable
from tascodec.errors import TascodecError, UnknownCodecError
from tascodec.format import open_archive, write_archive
from tascodec.tca_mlp import FLOAT32_TENSORS


def _bad(content: ArchiveContent, **changes) -> ArchiveContent:
    return ArchiveContent(**{**content.__dict__, **changes})


@pytest.mark.parametrize(
    "change, match",
    [
        ({"codes": np.zeros((3, 8), np.float32)}, "codes must have shape"),
        ({"codes": "nope"}, "codes must have shape"),
        ({"class_names": []}, "class_names"),
        ({"decoder": None}, "needs a decoder"),
        ({"code_dim": 0}, "code_dim"),
        ({"stats": {"x": object()}}, "JSON"),
        ({"stats": {1: 2}}, "not a string"),
        ({"codec_config": {"id": "tca-random"}, "codes": None}, "seed"),
        ({"decode_kind": ""}, "decode_kind"),
    ],
)
def test_writer_refuses_bad_content(tmp_path, change, match):
    content, _ = build("mlp")
    with pytest.raises(TascodecError, match=match):
        write_archive(_bad(content, **change), tmp_path / "x.tasz")
    assert not (tmp_path / "x.tasz").exists()


def test_writer_refuses_bad_numbers(tmp_path):
    content, _ = build("mlp")
    codes = content.codes.copy()
    codes[0, 0] = np.nan
    with pytest.raises(TascodecError, match="finite"):
        write_archive(_bad(content, codes=codes), tmp_path / "x.tasz")
    with pytest.raises(TascodecError, match="float16 range"):
        write_archive(
            _bad(content, codes=content.codes * 1e6), tmp_path / "x.tasz", code_dtype="float16"
        )
    with pytest.raises(TascodecError, match="code_dtype"):
        write_archive(content, tmp_path / "x.tasz", code_dtype="bfloat16")
    with pytest.raises(TascodecError, match="compression_level"):
        write_archive(content, tmp_path / "x.tasz", compression_level=99)
    with pytest.raises(TascodecError, match="codes_chunk_bytes"):
        write_archive(content, tmp_path / "x.tasz", codes_chunk_bytes=0)


def test_writer_refuses_bad_tables_and_decoders(tmp_path):
    content, _ = build("mlp")
    t = content.table
    bad_table = SegmentTable(
        t.video_names,
        t.video_num_frames + 1,
        t.video_num_segments,
        t.seg_action,
        t.seg_length,
        t.seg_num_instances,
    )
    with pytest.raises(TascodecError, match="sum to video_num_frames"):
        write_archive(_bad(content, table=bad_table), tmp_path / "x.tasz")
    bad_action = SegmentTable(
        t.video_names,
        t.video_num_frames,
        t.video_num_segments,
        t.seg_action + 7,
        t.seg_length,
        t.seg_num_instances,
    )
    with pytest.raises(TascodecError, match="actions outside"):
        write_archive(_bad(content, table=bad_action), tmp_path / "x.tasz")
    dec = mlp_decoder(np.random.default_rng(0), h=5)
    dec.tensors["w1"] = dec.tensors["w1"][:, :3]
    with pytest.raises(TascodecError, match="tca-mlp decoder tensors"):
        write_archive(_bad(content, decoder=dec), tmp_path / "x.tasz")
    dec = mlp_decoder(np.random.default_rng(0))
    dec.tensors["../evil"] = np.zeros(3, np.float32)
    with pytest.raises(TascodecError, match="tensor name"):
        write_archive(_bad(content, decoder=dec), tmp_path / "x.tasz")
    rep, _ = build("repeat")
    with pytest.raises(TascodecError, match="code_dim == feature_dim"):
        write_archive(_bad(rep, feature_dim=3), tmp_path / "x.tasz")


def test_writer_refuses_what_readers_would(tmp_path):
    content, _ = build("tca-random")
    with pytest.raises(TascodecError, match="code_dim must be an int"):
        write_archive(_bad(content, code_dim=2**21), tmp_path / "x.tasz")
    n = 2**25 + 1
    one = np.array([1])
    long = SegmentTable(["v"], np.array([n]), one, np.array([0]), np.array([n]), one)
    with pytest.raises(TascodecError, match="more than"):
        write_archive(_bad(content, table=long, splits={}), tmp_path / "x.tasz")
    assert not (tmp_path / "x.tasz").exists()


def test_writer_expansion_guard(tmp_path, monkeypatch):
    import tascodec.format.v1_write as v1_write

    content, _ = build("tca-random")
    real = v1_write._check_expansion

    def strict(header, content, stored, where):
        monkeypatch.setattr(v1_write, "MAX_EXPANSION", 0)
        header = {**header, "num_codes": 2**40}
        return real(header, content, stored, where)

    monkeypatch.setattr(v1_write, "_check_expansion", strict)
    with pytest.raises(TascodecError, match="readers would refuse"):
        write_archive(content, tmp_path / "x.tasz")
    assert list(tmp_path.iterdir()) == []


def test_non_finite_stats_become_null(tmp_path):
    content, _ = build("repeat")
    path = write_archive(
        _bad(content, stats={"mse": float("nan"), "n": np.int64(3)}), tmp_path / "s.tasz"
    )
    with open_archive(path) as ar:
        assert ar.stats == {"mse": None, "n": 3}


def test_other_decoder_architecture(tmp_path):
    from tascodec.content import DecoderCheckpoint

    content, _ = build("mlp")
    other = DecoderCheckpoint(
        {"name": "conv-net", "layers": 2},
        {"k": np.arange(24, dtype=np.float32).reshape(2, 3, 4), "bias": np.ones(5, np.float32)},
    )
    path = write_archive(_bad(content, decoder=other), tmp_path / "o.tasz")
    with open_archive(path) as ar:
        dec = ar.decoder()
        assert dec.arch == {"name": "conv-net", "layers": 2}
        np.testing.assert_array_equal(dec.tensors["k"], other.tensors["k"])
        assert ar.verify() == []
        ar.codes(ar.videos[0])
        with pytest.raises(UnknownCodecError, match="conv-net"):
            ar.decode(ar.videos[0])


def test_float16_decoder_round_trip(tmp_path):
    content, _ = build("mlp")
    path = write_archive(content, tmp_path / "h.tasz", decoder_dtype="float16")
    entries = zip_entries(path)
    assert json.loads(entries["decoder/w1/zarr.json"])["data_type"] == "float16"
    with open_archive(path) as ar:
        assert ar.header["decoder"]["dtype"] == "float16"
        dec = ar.decoder()
        for k, t in content.decoder.tensors.items():
            assert dec.tensors[k].dtype == np.float32
            stored = t if k in FLOAT32_TENSORS else t.astype(np.float16).astype(np.float32)
            np.testing.assert_array_equal(dec.tensors[k], stored)
        assert ar.verify() == []
        assert ar.decode(0).dtype == np.float32
    full = write_archive(content, tmp_path / "f.tasz")
    with open_archive(full) as ar:
        assert ar.header["decoder"]["dtype"] == "float32"
        assert ar.sizes()["decoder"] > 0


def test_float16_decoder_keeps_the_normalisation_float32(tmp_path):
    """Raw channels: an offset of 1e6 (beyond float16) and one float16 would round by 0.5."""
    content, _ = build("mlp")
    offset = content.decoder.tensors["feature_offset"].copy()
    offset[:2] = (1e6, 1000.1)
    content.decoder.tensors["feature_offset"] = offset
    entries = zip_entries(write_archive(content, tmp_path / "n.tasz", decoder_dtype="float16"))
    assert json.loads(entries["decoder/feature_offset/zarr.json"])["data_type"] == "float32"
    with open_archive(tmp_path / "n.tasz") as ar:
        np.testing.assert_array_equal(ar.decoder().tensors["feature_offset"], offset)


def test_float16_decoder_refused_where_it_cannot_be(tmp_path):
    content, _ = build("mlp")
    with pytest.raises(TascodecError, match="decoder_dtype"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="float16", format_version="1.0")
    with pytest.raises(TascodecError, match="decoder_dtype"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="int8")
    big = content.decoder.tensors["w2"].copy()
    big[0, 0] = 1e6
    content.decoder.tensors["w2"] = big
    with pytest.raises(TascodecError, match="float16 range"):
        write_archive(content, tmp_path / "a.tasz", decoder_dtype="float16")
    assert not (tmp_path / "a.tasz").exists()


def test_writer_refuses_non_finite_decoder(tmp_path):
    content, _ = build("mlp")
    content.decoder.tensors["b2"] = np.full_like(content.decoder.tensors["b2"], np.inf)
    with pytest.raises(TascodecError, match="finite"):
        write_archive(content, tmp_path / "a.tasz")
