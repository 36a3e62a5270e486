"""Property tests: random tables, codes and decoders survive write -> read (float32 bit-exact)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tascodec.content import ArchiveContent, DecoderCheckpoint, SegmentTable
from tascodec.format import open_archive, write_archive
from testkit import assert_tables_equal

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

names = st.text(min_size=1, max_size=12)


@st.composite
def contents(draw) -> tuple[ArchiveContent, str]:
    num_classes = draw(st.integers(1, 5))
    classes = draw(st.lists(names, min_size=num_classes, max_size=num_classes))
    videos = draw(st.lists(names, min_size=0, max_size=4, unique=True))
    labels = [
        np.array(
            draw(st.lists(st.integers(0, num_classes - 1), min_size=1, max_size=40)), dtype=np.int64
        )
        for _ in videos
    ]
    k = draw(st.one_of(st.none(), st.integers(1, 4)))
    table = SegmentTable.from_labels(videos, labels, k)
    kind = draw(st.sampled_from(["mlp", "repeat", "random"]))
    code_dtype = draw(st.sampled_from(["float32", "float16", "int8"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = table.num_codes
    feature_dim = draw(st.integers(1, 6))
    scale = draw(st.sampled_from([1e-3, 1.0, 300.0]))
    splits = {"train": videos[: len(videos) // 2], "test": videos[len(videos) // 2 :]}
    stats = draw(
        st.dictionaries(
            names,
            st.one_of(
                st.integers(-(2**40), 2**40),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=5),
                st.none(),
            ),
            max_size=3,
        )
    )
    if kind == "repeat":
        codes = (rng.normal(size=(n, feature_dim)) * scale).astype(np.float32)
        return ArchiveContent(
            "mean",
            {"id": "mean", "k": k},
            "repeat",
            classes,
            splits,
            table,
            codes,
            feature_dim,
            feature_dim,
            None,
            stats,
        ), code_dtype
    d, h = draw(st.integers(1, 5)), draw(st.integers(1, 7))
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    decoder = DecoderCheckpoint(
        {
            "name": "tca-mlp",
            "latent_dim": d,
            "num_classes": num_classes,
            "hidden_dim": h,
            "feature_dim": feature_dim,
            "activation": "relu",
        },
        {
            "w1": f(h, d + num_classes + 1),
            "b1": f(h),
            "w2": f(feature_dim, h),
            "b2": f(feature_dim),
            "feature_offset": f(feature_dim),
            "feature_scale": f(feature_dim),
        },
    )
    if kind == "random":
        return ArchiveContent(
            "tca-random",
            {"id": "tca-random", "seed": seed},
            "mlp",
            classes,
            splits,
            table,
            None,
            d,
            feature_dim,
            decoder,
            stats,
        ), code_dtype
    codes = (rng.normal(size=(n, d)) * scale).astype(np.float32)
    if n and draw(st.booleans()):
        codes[0, 0] = 0.0
        codes[:, -1] = 0.0  # an all-zero channel: int8 scale 0
    return ArchiveContent(
        "inversion",
        {"id": "inversion", "k": k},
        "mlp",
        classes,
        splits,
        table,
        codes,
        d,
        feature_dim,
        decoder,
        stats,
    ), code_dtype


def _check_codes(content: ArchiveContent, got: np.ndarray, code_dtype: str) -> None:
    want = content.codes
    assert got.dtype == np.float32 and got.shape == want.shape
    if code_dtype == "float32":
        np.testing.assert_array_equal(got, want)  # bit-exact
    elif code_dtype == "float16":
        np.testing.assert_array_equal(got, want.astype(np.float16).astype(np.float32))
        assert np.all(np.abs(got - want) <= np.abs(want) * 2.0**-11 + 2.0**-25)
    else:
        step = np.abs(want).max(axis=0) / 127 if want.size else np.zeros(want.shape[1])
        assert np.all(np.abs(got - want) <= step / 2 * (1 + 1e-5) + 1e-30)


@SETTINGS
@given(contents(), st.integers(1, 4096))
def test_round_trip(sample, chunk_bytes):
    content, code_dtype = sample
    with tempfile.TemporaryDirectory() as tmp:
        path = write_archive(
            content, Path(tmp) / "p.tasz", code_dtype=code_dtype, codes_chunk_bytes=chunk_bytes
        )
        with open_archive(path) as ar:
            t = content.table
            assert ar.videos == t.video_names and ar.class_names == content.class_names
            assert ar.splits == content.splits and ar.stats == content.stats
            back = ar.to_content()
            assert_tables_equal(back.table, t)
            if content.codes is None:
                assert back.codes is None
            else:
                _check_codes(content, back.codes, code_dtype)
            fc = t.video_first_code
            for i, v in enumerate(t.video_names):
                rows = t.video_slice(i)
                np.testing.assert_array_equal(
                    ar.labels(v), np.repeat(t.seg_action[rows], t.seg_length[rows])
                )
                codes = ar.codes(v)
                assert codes.shape == (fc[i + 1] - fc[i], content.code_dim)
                if content.codes is not None:
                    np.testing.assert_array_equal(codes, back.codes[fc[i] : fc[i + 1]])
            if content.decoder is not None:
                dec = ar.decoder()
                assert dec.arch == content.decoder.arch
                for k, w in content.decoder.tensors.items():
                    np.testing.assert_array_equal(dec.tensors[k], w)
            assert ar.verify() == []
