"""``tascodec.encode``: purposes, sampling, stats, atomicity, errors (the command:
``tests/cli/test_cli_encode.py``)."""

from __future__ import annotations

import numpy as np
import pytest

from tascodec.codecs.mean import MeanCodec
from tascodec.encoding.encode import EncodeSummary, encode
from tascodec.errors import TascodecError, UnknownCodecError
from tascodec.format import open_archive
from tascodec.dataset.layout import StandardDataset
from tascodec.dataset.sampling import sample_videos
from tascodec.segments import transcript


def test_condense_split(tiny_dataset, tmp_path):
    out = tmp_path / "mean.tasz"
    summary = encode(tiny_dataset, out, codec="mean", gamma=0.5, split="train", progress=False)
    ds = StandardDataset(tiny_dataset)
    pool = ds.split("train.split1")
    picked = sample_videos([transcript(ds.labels(v)) for v in pool], 0.5, seed=0)
    expected = [pool[i] for i in sorted(picked)]
    assert isinstance(summary, EncodeSummary)
    assert summary.videos == len(expected) == round(0.5 * len(pool))
    assert summary.split_videos == len(pool) and summary.split == "train.split1"
    with open_archive(out) as ar:
        assert ar.videos == expected
        assert ar.splits == {"train.split1": expected}
        stats = ar.header["stats"]
        assert ar.sizes()["total"] == summary.bytes["total"] == out.stat().st_size
    frames = sum(ds.num_frames(v) for v in expected)
    assert stats["purpose"] == "condense-split" and stats["sampling"] == "diverse"
    assert stats["source_videos"] == len(expected) and stats["split_videos"] == len(pool)
    assert stats["source_frames"] == frames == summary.frames
    assert stats["source_bytes_float32"] == frames * ds.feature_dim * 4
    assert stats["feature_dim"] == ds.feature_dim and stats["num_classes"] == ds.num_classes
    assert stats["gamma"] == 0.5 and stats["device"] == "cpu" and stats["trimmed_frames"] == 0
    assert stats["reconstruction_mse"] == pytest.approx(summary.reconstruction_mse)
    assert summary.ratio == pytest.approx(summary.source_bytes / summary.bytes["total"])
    text = str(summary)
    assert "reconstruction MSE" in text and "ratio vs float32" in text and str(out) in text


def test_random_sampling_differs_by_seed(tiny_dataset, tmp_path):
    runs = [
        encode(tiny_dataset, tmp_path / f"r{s}.tasz", codec="mean", sampling="random", seed=s,
               gamma=0.5, progress=False)
        for s in range(4)
    ]
    chosen = set()
    for s, summary in enumerate(runs):
        with open_archive(summary.path) as ar:
            chosen.add(tuple(ar.videos))
            assert ar.header["stats"]["sampling"] == "random"
    assert len(chosen) > 1


def test_archive_whole_dataset(tiny_dataset, tmp_path):
    summary = encode(tiny_dataset, tmp_path / "all.tasz", codec="raw", split=None, gamma=1.0,
                     progress=False)
    ds = StandardDataset(tiny_dataset)
    with open_archive(summary.path) as ar:
        assert ar.videos == ds.videos
        assert ar.splits == ds.splits()
        assert ar.header["stats"]["purpose"] == "archive"
        x = ar.decode(ds.videos[0])
    np.testing.assert_array_equal(x, np.asarray(ds.features(ds.videos[0])).T)
    assert summary.reconstruction_mse == 0.0
    assert summary.ratio == pytest.approx(summary.ratio_stored)


def test_raw_float16_passes_dtype_to_writer(tiny_dataset, tmp_path):
    summary = encode(tiny_dataset, tmp_path / "h.tasz", codec="raw", code_dtype="float16",
                     progress=False)
    assert summary.codec_config == {"id": "raw", "dtype": "float16"}
    with open_archive(summary.path) as ar:
        assert ar.header["stats"]["code_dtype"] == "float16"
        assert ar.sizes()["codes"] < summary.original_bytes * 0.6
    with pytest.raises(TascodecError, match="contradicts"):
        encode(tiny_dataset, tmp_path / "x.tasz", codec="raw", dtype="float32",
               code_dtype="float16", progress=False)
    with pytest.raises(TascodecError, match="does not take code_dtype='int8'"):
        encode(tiny_dataset, tmp_path / "x.tasz", codec="raw", dtype="float16",
               code_dtype="int8", progress=False)


class _Boom(Exception):
    pass


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
def test_failure_mid_encode_leaves_nothing(tiny_dataset, tmp_path, monkeypatch, error):
    calls = {"n": 0}
    original = MeanCodec.segment_code

    def flaky(self, frames):
        calls["n"] += 1
        if calls["n"] == 5:
            raise error("mid-encode")
        return original(self, frames)

    monkeypatch.setattr(MeanCodec, "segment_code", flaky)
    out = tmp_path / "new.tasz"
    with pytest.raises(error):
        encode(tiny_dataset, out, codec="mean", progress=False)
    assert not out.exists()
    existing = tmp_path / "old.tasz"
    existing.write_bytes(b"precious")
    calls["n"] = 0
    with pytest.raises(error):
        encode(tiny_dataset, existing, codec="mean", overwrite=True, progress=False)
    assert existing.read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.tasz"]  # no temporary left


def test_existing_output(tiny_dataset, tmp_path):
    out = tmp_path / "a.tasz"
    out.write_bytes(b"x")
    with pytest.raises(TascodecError, match="already exists"):
        encode(tiny_dataset, out, codec="mean", progress=False)
    encode(tiny_dataset, out, codec="mean", overwrite=True, progress=False)
    with open_archive(out) as ar:
        assert ar.codec == "mean"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"split": None, "gamma": 0.5}, "gamma"),
        ({"gamma": 0}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"sampling": "furthest"}, "sampling"),
        ({"sampling": "none", "gamma": 0.5}, "gamma"),
        ({"device": "tpu"}, "device"),
        ({"seed": "0"}, "seed"),
        ({"split": "val.split9"}, "val.split9"),
        ({"window": 3}, "window"),
    ],
)
def test_bad_arguments(tiny_dataset, tmp_path, kwargs, match):
    out = tmp_path / "bad.tasz"
    with pytest.raises(TascodecError, match=match):
        encode(tiny_dataset, out, codec="mean", progress=False, **kwargs)
    assert not out.exists()


def test_unknown_codec_and_missing_dataset(tiny_dataset, tmp_path):
    with pytest.raises(UnknownCodecError, match="nope"):
        encode(tiny_dataset, tmp_path / "a.tasz", codec="nope")
    with pytest.raises(TascodecError, match="not found"):
        encode(tmp_path / "missing", tmp_path / "a.tasz", codec="mean")


def test_sampling_none_stores_whole_split(tiny_dataset, tmp_path):
    summary = encode(tiny_dataset, tmp_path / "n.tasz", codec="coreset", sampling="none",
                     gamma=1.0, progress=False)
    assert summary.videos == summary.split_videos == len(StandardDataset(tiny_dataset).split("train"))


@pytest.fixture
def tca_cache(request) -> dict:
    # One TCA cache for the whole pytest run (tests/codecs uses the same one): the model
    # trained on tiny's training split is trained once.
    return request.config.__dict__.setdefault("_tascodec_tca_cache", {})


def test_learned_codecs_share_one_model(tiny_dataset, tmp_path, tca_cache):
    inv = encode(tiny_dataset, tmp_path / "inv.tasz", codec="inversion", k=2, recipe="quick",
                 cache=tca_cache, progress=False)
    enc = encode(tiny_dataset, tmp_path / "enc.tasz", codec="encoded", k=2, recipe="quick",
                 cache=tca_cache, progress=False)
    rnd = encode(tiny_dataset, tmp_path / "rnd.tasz", codec="tca-random", recipe="quick",
                 cache=tca_cache, progress=False)
    assert inv.codec_config["k"] == 2 and inv.codec_config["recipe"] == "quick"
    assert "k" not in rnd.codec_config
    weights = []
    for summary, reused in ((inv, None), (enc, True), (rnd, True)):
        with open_archive(summary.path) as ar:
            stats = ar.header["stats"]
            assert reused is None or stats["train_reused"] is reused
            assert stats["recipe"] == "quick"
            weights.append(ar.decoder().tensors["w1"])
    assert all(np.array_equal(w, weights[0]) for w in weights)  # one model for all three
    assert inv.reconstruction_mse < enc.reconstruction_mse < rnd.reconstruction_mse
    assert rnd.bytes["codes"] == 0 < inv.bytes["codes"]
    assert inv.segments == enc.segments == rnd.segments == rnd.codes


def test_inversion_failure_leaves_nothing(tiny_dataset, tmp_path, monkeypatch, tca_cache):
    import tascodec.tca.invert

    def broken(*args, **kwargs):
        raise RuntimeError("inversion diverged")

    monkeypatch.setattr(tascodec.tca.invert, "invert", broken)
    out = tmp_path / "inv.tasz"
    with pytest.raises(RuntimeError, match="diverged"):
        encode(tiny_dataset, out, codec="inversion", recipe="quick", cache=tca_cache,
               progress=False)
    assert list(tmp_path.iterdir()) == []


def test_learned_codec_bad_recipe(tiny_dataset, tmp_path):
    with pytest.raises(TascodecError, match="recipe"):
        encode(tiny_dataset, tmp_path / "a.tasz", codec="encoded", recipe="gpu-max")
    with pytest.raises(TascodecError, match="epoch"):
        encode(tiny_dataset, tmp_path / "a.tasz", codec="encoded", epoch=3)


def test_real_gtea_tcn128(gtea_tcn128, tmp_path):
    summary = encode(gtea_tcn128, tmp_path / "g.tasz", codec="coreset", gamma=0.5,
                     progress=False)
    assert summary.feature_dim == 128 and summary.split_videos == 21
    assert summary.videos == 11  # round(10.5), halves up
    with open_archive(summary.path) as ar:
        assert len(ar.class_names) == 11
        assert ar.decode(ar.videos[0]).shape == (ar.num_frames(ar.videos[0]), 128)


def test_non_float32_codes_note(tiny_dataset, tmp_path):
    summary = encode(tiny_dataset, tmp_path / "m.tasz", codec="mean", code_dtype="float16",
                     progress=False)
    with open_archive(summary.path) as ar:
        assert "float16" in ar.header["stats"]["reconstruction_mse_note"]


def test_top_level_encode_stays_the_function():
    import tascodec
    import tascodec.encoding.encode  # importing the module must not shadow tascodec.encode

    assert tascodec.encode is tascodec.encoding.encode.encode and callable(tascodec.encode)


def test_encode_refuses_a_video_name_that_cannot_be_exported(tiny_dataset, tmp_path):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(tiny_dataset, root)
    video = sorted((root / "groundTruth").glob("*.txt"))[0].stem
    long = "v" * 240
    for sub, ext in (("groundTruth", ".txt"), ("features", ".npy")):
        (root / sub / f"{video}{ext}").rename(root / sub / f"{long}{ext}")
    for bundle in (root / "splits").glob("*.bundle"):
        bundle.write_text(bundle.read_text().replace(f"{video}.txt", f"{long}.txt"))
    out = tmp_path / "x.tasz"
    with pytest.raises(TascodecError, match="cannot be used as a file name"):
        encode(root, out, codec="mean", gamma=1.0, split=None, progress=False)
    assert not out.exists()
