"""The .tasz v1 reader/writer: API, zarr compatibility, atomic writes, versions, errors."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from make_golden import build, mlp_decoder, with_manifest, write_zip, zip_entries
from tascodec.content import ArchiveContent, SegmentTable
from tascodec.errors import (
    FormatError,
    IntegrityError,
    TascodecError,
    UnknownCodecError,
    UnsupportedVersionError,
)
from tascodec.format import FORMAT_VERSION, Archive, open_archive, write_archive
from tascodec.format.container import ZipReader
from tascodec.format.version import check_version, parse_version
from tascodec.rng import random_codes
from testkit import assert_tables_equal


@pytest.fixture()
def mlp(tmp_path: Path) -> tuple[ArchiveContent, Path]:
    content, _ = build("mlp")
    return content, write_archive(content, tmp_path / "a.tasz")


def _edit_header(src: Path, dst: Path, edit) -> Path:
    entries = zip_entries(src)
    root = json.loads(entries["zarr.json"])
    edit(root["attributes"]["tascodec"])
    entries["zarr.json"] = json.dumps(root).encode()
    return write_zip(dst, entries)


# ------------------------------------------------------------------------------ reading API
def test_round_trip_api(mlp):
    content, path = mlp
    t = content.table
    with open_archive(path) as ar:
        assert isinstance(ar, Archive)
        assert ar.format_version == FORMAT_VERSION == "1.1"
        assert ar.videos == t.video_names
        assert ar.class_names == content.class_names
        assert ar.splits == content.splits
        assert ar.codec == "inversion" and ar.codec_config == content.codec_config
        assert ar.decode_kind == "mlp" and ar.code_dtype == "float32"
        assert ar.header["format"] == "tascodec" and ar.header["stats"] == content.stats
        assert ar.code_dim == content.code_dim and ar.feature_dim == content.feature_dim
        assert_tables_equal(ar.table, t)
        fc = t.video_first_code
        for i, v in enumerate(t.video_names):
            rows = t.video_slice(i)
            labels = np.repeat(t.seg_action[rows], t.seg_length[rows])
            np.testing.assert_array_equal(ar.labels(v), labels)
            np.testing.assert_array_equal(ar.labels(i), labels)
            assert ar.labels(v).dtype == np.int64
            assert ar.num_frames(v) == labels.size
            np.testing.assert_array_equal(ar.transcript(v), t.seg_action[rows])
            seg = ar.segments(v)
            np.testing.assert_array_equal(seg.length, t.seg_length[rows])
            assert seg.start[0] == 0 and seg.start[-1] + seg.length[-1] == labels.size
            codes = ar.codes(v)
            assert codes.dtype == np.float32 and codes.shape == (
                fc[i + 1] - fc[i],
                content.code_dim,
            )
            np.testing.assert_array_equal(codes, content.codes[fc[i] : fc[i + 1]])
        dec = ar.decoder()
        assert dec.arch == content.decoder.arch
        for k, v in content.decoder.tensors.items():
            np.testing.assert_array_equal(dec.tensors[k], v)
        back = ar.to_content()
        np.testing.assert_array_equal(back.codes, content.codes)
        assert back.stats == content.stats and back.table.video_names == t.video_names


def test_sizes_add_up(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        s = ar.sizes()
    assert set(s) == {"codes", "tables", "decoder", "overhead", "total"}
    assert s["total"] == path.stat().st_size
    assert s["codes"] + s["tables"] + s["decoder"] + s["overhead"] == s["total"]
    assert min(s.values()) > 0


def test_readable_by_plain_zarr(mlp):
    zarr = pytest.importorskip("zarr")
    content, path = mlp
    g = zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")
    assert g.attrs["tascodec"]["format_version"] == "1.1"
    np.testing.assert_array_equal(g["codes"][:], content.codes)
    np.testing.assert_array_equal(g["segments/length"][:], content.table.seg_length)
    np.testing.assert_array_equal(g["videos/first_code"][:], content.table.video_first_code)
    np.testing.assert_array_equal(g["decoder/w1"][:], content.decoder.tensors["w1"])


def test_zip_is_stored_unique_and_deterministic(mlp, tmp_path):
    content, path = mlp
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    assert len({i.filename for i in infos}) == len(infos)
    assert infos[0].filename == "zarr.json"
    again = write_archive(content, tmp_path / "b.tasz")
    assert again.read_bytes() == path.read_bytes()


def test_unknown_video_names_it(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        with pytest.raises(TascodecError, match="no_such_video") as err:
            ar.codes("no_such_video")
        assert str(path) in str(err.value)
        with pytest.raises(TascodecError, match="out of range"):
            ar.labels(99)


def test_codes_chunk_access_is_local(tmp_path, monkeypatch):
    content, _ = build("raw")
    path = write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)  # 5 rows
    read: list[str] = []
    real = ZipReader.read

    def spy(self, name, **kw):
        read.append(name)
        return real(self, name, **kw)

    with open_archive(path) as ar:
        monkeypatch.setattr(ZipReader, "read", spy)
        v = ar.videos[1]
        rows = ar.code_rows(v)
        np.testing.assert_array_equal(ar.codes(v), content.codes[rows])
    chunks = sorted({n for n in read if n.startswith("codes/c/")})
    expect = [f"codes/c/{i}/0" for i in range(rows.start // 5, (rows.stop - 1) // 5 + 1)]
    assert chunks == sorted(expect)


def test_random_codes_are_generated(tmp_path):
    content, _ = build("tca-random")
    path = write_archive(content, tmp_path / "r.tasz")
    with open_archive(path) as ar:
        assert ar.code_dtype is None and ar.header["codes"]["seed"] == 12345
        assert not any(n.startswith("codes") for n in zipfile.ZipFile(path).namelist())
        for v in ar.videos:
            rows = ar.code_rows(v)
            want = random_codes(12345, rows.start, rows.stop - rows.start, content.code_dim)
            np.testing.assert_array_equal(ar.codes(v), want)
        assert ar.to_content().codes is None


def test_int8_and_float16_dequantise(tmp_path):
    content, _ = build("mlp")
    with open_archive(write_archive(content, tmp_path / "q.tasz", code_dtype="int8")) as ar:
        codes = ar.all_codes()
        g = zip_entries(tmp_path / "q.tasz")
        assert "code_scale/c/0" in g
        scale = np.abs(content.codes).max(axis=0) / 127
        assert np.all(np.abs(codes - content.codes) <= scale / 2 + 1e-6)
    with open_archive(write_archive(content, tmp_path / "h.tasz", code_dtype="float16")) as ar:
        np.testing.assert_array_equal(
            ar.all_codes(), content.codes.astype(np.float16).astype(np.float32)
        )


def test_decode_delegates(mlp):
    decode = pytest.importorskip("tascodec.decode")
    content, path = mlp
    with open_archive(path) as ar:
        for i, v in enumerate(ar.videos):
            rows = content.table.video_slice(i)
            want = decode.decode_reference(
                "mlp",
                ar.codes(v),
                content.table.seg_action[rows],
                content.table.seg_length[rows],
                content.table.seg_num_instances[rows],
                ar.decoder(),
            )
            np.testing.assert_allclose(ar.decode(v), want, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(ar.decode(i), want, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------- processes and pickling
def test_pickle_reopens(mlp):
    _, path = mlp
    with open_archive(path) as ar:
        clone = pickle.loads(pickle.dumps(ar))
        assert clone.path == ar.path and clone._zr is not ar._zr
        np.testing.assert_array_equal(clone.codes(ar.videos[0]), ar.codes(ar.videos[0]))
        clone.close()


def test_new_process_gets_its_own_handle(mlp, monkeypatch):
    _, path = mlp
    with open_archive(path) as ar:
        first = ar._reader()
        monkeypatch.setattr(os, "getpid", lambda: -12345)
        assert ar._reader() is not first
        ar.codes(ar.videos[0])
    assert not first.closed  # the parent's handle is left alone, not shared


def test_replaced_file_is_noticed_on_reopen(mlp, monkeypatch, tmp_path):
    content, path = mlp
    with open_archive(path) as ar:
        write_archive(content, path, overwrite=True, code_dtype="float16")
        monkeypatch.setattr(os, "getpid", lambda: -12345)
        with pytest.raises(IntegrityError, match="changed on disk"):
            ar.codes(ar.videos[0])


def _child_sum(ar: Archive, q) -> None:
    q.put(float(sum(ar.codes(v).sum() for v in ar.videos)))


@pytest.mark.skipif("fork" not in mp.get_all_start_methods(), reason="no fork on this platform")
def test_forked_worker_reads(mlp):
    content, path = mlp
    with open_archive(path) as ar:
        ar.codes(ar.videos[0])  # the parent has used its handle
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_child_sum, args=(ar, q))
        p.start()
        got = q.get(timeout=60)
        p.join(timeout=60)
        assert p.exitcode == 0
        assert got == pytest.approx(float(content.codes.sum()), rel=1e-5)
        np.testing.assert_array_equal(ar.codes(ar.videos[0]), content.codes[ar.code_rows(0)])


def test_closed_archive_refuses(mlp):
    _, path = mlp
    ar = open_archive(path)
    ar.close()
    assert ar.closed
    with pytest.raises(TascodecError, match="closed"):
        ar.codes(ar.videos[0])


# ------------------------------------------------------------------------- atomic writing
def test_no_clobber(mlp):
    content, path = mlp
    before = path.read_bytes()
    with pytest.raises(TascodecError, match="exists") as err:
        write_archive(content, path)
    assert str(path) in str(err.value)
    assert path.read_bytes() == before
    write_archive(content, path, overwrite=True, code_dtype="int8")
    assert path.read_bytes() != before


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    content, _ = build("mlp")
    dest = tmp_path / "x.tasz"
    calls = {"n": 0}
    real = zipfile.ZipFile.writestr

    def boom(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError("disk full (simulated)")
        return real(self, *a, **kw)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        write_archive(content, dest)
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_old(mlp, monkeypatch):
    content, path = mlp
    before = path.read_bytes()
    monkeypatch.setattr(
        zipfile.ZipFile, "writestr", lambda *a, **k: (_ for _ in ()).throw(OSError("x"))
    )
    with pytest.raises(OSError):
        write_archive(content, path, overwrite=True)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]


# ------------------------------------------------------------------------ writer validation
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


# --------------------------------------------------------------------------------- versions
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


def test_newer_major_refused(mlp, tmp_path):
    _, path = mlp
    bad = _edit_header(path, tmp_path / "v3.tasz", lambda h: h.update(format_version="3.0"))
    with pytest.raises(UnsupportedVersionError, match="newer") as err:
        open_archive(bad)
    assert str(bad) in str(err.value)


def test_newer_minor_with_unknown_fields_is_read(mlp, tmp_path):
    content, path = mlp

    def edit(h):
        h.update(format_version="1.3", future_field={"anything": [1, 2]})

    newer = _edit_header(path, tmp_path / "v13.tasz", edit)
    entries = zip_entries(newer)
    entries["future/zarr.json"] = b'{"zarr_format":3,"node_type":"group","attributes":{}}'
    write_zip(newer, with_manifest(entries))  # a 1.3 writer lists its new entries too
    with open_archive(newer) as ar:
        assert ar.format_version == "1.3" and ar.header["future_field"]["anything"] == [1, 2]
        np.testing.assert_array_equal(ar.codes(ar.videos[0]), content.codes[ar.code_rows(0)])
        assert ar.verify() == []


def test_unknown_codec_and_decode_kind(mlp, tmp_path):
    _, path = mlp
    odd = _edit_header(
        path,
        tmp_path / "odd.tasz",
        lambda h: h.update(codec="from-the-future", decode_kind="hologram"),
    )
    with open_archive(odd) as ar:
        assert ar.codec == "from-the-future"
        ar.labels(ar.videos[0]), ar.codes(ar.videos[0])
        with pytest.raises(UnknownCodecError, match="hologram"):
            ar.decode(ar.videos[0])


# ---------------------------------------------------------------------- files that are not
def test_not_archives(tmp_path):
    with pytest.raises(FormatError, match="no such archive"):
        open_archive(tmp_path / "missing.tasz")
    with pytest.raises(FormatError, match="directory"):
        open_archive(tmp_path)
    junk = tmp_path / "junk.tasz"
    junk.write_bytes(b"not a zip at all" * 10)
    with pytest.raises(FormatError, match="not a ZIP"):
        open_archive(junk)
    empty_zip = write_zip(tmp_path / "empty.tasz", {})
    with pytest.raises(FormatError, match="zarr.json"):
        open_archive(empty_zip)
    with pytest.raises(TascodecError, match="path"):
        open_archive(3)  # type: ignore[arg-type]


def test_other_zarr_group_is_not_tascodec(tmp_path):
    path = write_zip(
        tmp_path / "g.tasz", {"zarr.json": b'{"zarr_format":3,"node_type":"group","attributes":{}}'}
    )
    with pytest.raises(FormatError, match="not a tascodec archive"):
        open_archive(path)


# ------------------------------------------------------------------------------- integrity
def test_bit_flip_in_codes_chunk(tmp_path):
    content, _ = build("raw")
    path = write_archive(content, tmp_path / "r.tasz", codes_chunk_bytes=4 * 12 * 5)
    entries = zip_entries(path)
    with open_archive(path) as ar:
        assert ar.verify() == []
        victim = ar.videos[-1]
        rows = ar.code_rows(victim)
        spared = [v for v in ar.videos if ar.code_rows(v).stop <= (rows.start // 5) * 5]
    key = (
        f"codes/c/{rows.start // 5 + 1}/0"
        if rows.stop - rows.start > 5
        else f"codes/c/{rows.start // 5}/0"
    )
    for flip_at in (0, len(entries[key]) // 2, len(entries[key]) - 1):
        data = bytearray(entries[key])
        data[flip_at] ^= 0x10
        # write_zip computes a fresh ZIP CRC-32: only the chunk's own crc32c can catch the flip
        write_zip(tmp_path / "flip.tasz", {**entries, key: bytes(data)})
        with open_archive(tmp_path / "flip.tasz") as ar:
            problems = ar.verify()
            assert problems and any(key in p for p in problems)
            with pytest.raises(IntegrityError, match="crc32c") as err:
                ar.codes(victim)
            assert key in str(err.value) and str(tmp_path / "flip.tasz") in str(err.value)
            for v in spared:
                np.testing.assert_array_equal(ar.codes(v), content.codes[ar.code_rows(v)])


def _flip_in_entry(path: Path, dst: Path, name: str, at: int) -> Path:
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
    raw[info.header_offset + 30 + len(info.filename) + at] ^= 0x20
    dst.write_bytes(bytes(raw))
    return dst


def test_zip_crc_mismatch_is_integrity_error(mlp, tmp_path):
    _, path = mlp
    bad = _flip_in_entry(path, tmp_path / "crc.tasz", "codes/c/0/0", 3)
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="crc32c"):
            ar.codes(ar.videos[0])
        problems = ar.verify()
        assert any("CRC-32" in p for p in problems) and any("crc32c" in p for p in problems)
    meta = _flip_in_entry(path, tmp_path / "meta.tasz", "zarr.json", 40)
    with pytest.raises(IntegrityError, match="zarr.json.*CRC-32"):
        open_archive(meta)


def test_missing_chunk_is_reported(mlp, tmp_path):
    content, path = mlp
    entries = zip_entries(path)
    del entries["decoder/w2/c/0/0"]
    bad = write_zip(tmp_path / "m.tasz", entries)
    with pytest.raises(IntegrityError, match="decoder/w2/c/0/0"):  # 1.1: the manifest says
        open_archive(bad)
    entries = zip_entries(write_archive(content, tmp_path / "v10.tasz", format_version="1.0"))
    del entries["decoder/w2/c/0/0"]
    bad = write_zip(tmp_path / "m10.tasz", entries)
    with open_archive(bad) as ar:
        with pytest.raises(IntegrityError, match="missing"):
            ar.decoder()
        assert any("decoder/w2/c/0/0" in p for p in ar.verify())


def test_unexpected_chunk_and_bad_scale_reported(tmp_path):
    content, _ = build("mlp")
    path = write_archive(content, tmp_path / "q.tasz", code_dtype="int8", format_version="1.0")
    entries = zip_entries(path)
    entries["codes/c/7/0"] = entries["codes/c/0/0"]
    scale = np.frombuffer(
        __import__("numcodecs").zstd.decompress(entries["code_scale/c/0"][:-4]), "<f4"
    ).copy()
    scale[0] = -1
    import google_crc32c

    body = __import__("numcodecs").zstd.compress(scale.tobytes(), 3)
    entries["code_scale/c/0"] = body + google_crc32c.value(body).to_bytes(4, "little")
    bad = write_zip(tmp_path / "u.tasz", entries)
    with open_archive(bad) as ar:
        problems = ar.verify()
        assert any("unexpected chunk" in p for p in problems)
        assert any("code_scale" in p for p in problems)
        with pytest.raises(IntegrityError, match="code_scale"):
            ar.codes(ar.videos[0])


def test_missing_directory(tmp_path):
    content, _ = build("repeat")
    with pytest.raises(TascodecError, match="does not exist"):
        write_archive(content, tmp_path / "nope" / "x.tasz")


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
