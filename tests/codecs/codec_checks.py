"""Checks every codec must pass (numcodecs-style), shared by the per-codec test files.

``tests/codecs`` is not a package: a package named ``codecs`` would shadow the standard
library's. Test files import this module by name (pytest puts this folder on ``sys.path``).

``check_codec(codec, source, tmp_path)`` runs the round trip: encode -> content invariants ->
write -> open -> labels identical -> decode shapes -> the decoded MSE equals
``stats["reconstruction_mse"]`` -> config round trip.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tascodec.codecs import Codec, get_codec
from tascodec.dataset.source import EncodeSource
from tascodec.content import ArchiveContent

__all__ = ["check_codec", "check_content", "reference_mse", "TINY_TCA", "FakeDataset", "fake_source"]

# Tiny TCA settings (latent 16, hidden 32, 3 epochs, 30 inversion steps) for fast tests.
TINY_TCA = {"recipe": "quick"}


def reference_mse(content: ArchiveContent, source: EncodeSource, decoded: dict) -> float:
    err, n = 0.0, 0
    for video, x_hat in decoded.items():
        x = np.asarray(source.features(video), dtype=np.float64)
        assert x_hat.shape == x.shape, video
        err += float(np.square(x - x_hat).sum())
        n += x.size
    return err / n


def check_content(content: ArchiveContent, source: EncodeSource, codec: Codec) -> None:
    """Invariants of any codec's output."""
    table = content.table
    table.check()
    assert table.video_names == source.videos
    for v, video in enumerate(source.videos):
        labels = np.repeat(table.seg_action[table.video_slice(v)],
                           table.seg_length[table.video_slice(v)])
        np.testing.assert_array_equal(labels, source.labels(video))
    assert content.codec == codec.codec_id
    assert content.feature_dim == source.feature_dim
    assert content.class_names == source.class_names
    assert content.splits == source.splits
    if content.codes is not None:
        assert content.codes.shape == (table.num_codes, content.code_dim)
        assert content.codes.dtype == np.float32
        assert np.isfinite(content.codes).all()
    if content.decode_kind == "repeat":
        assert content.code_dim == source.feature_dim and content.decoder is None
    json.dumps(content.codec_config)
    json.dumps(content.stats)
    assert content.stats["reconstruction_mse"] >= 0
    rebuilt = get_codec(content.codec_config)
    assert type(rebuilt) is type(codec)
    assert rebuilt.get_config() == content.codec_config


def check_codec(codec: Codec, source: EncodeSource, tmp_path: Path, *, code_dtype="float32",
                mse_rtol=1e-3) -> tuple[ArchiveContent, dict]:
    """Encode, check, write, read back, decode; returns the content and decoded videos."""
    config = codec.get_config()
    json.dumps(config)
    assert get_codec(config).get_config() == config
    content = codec.encode(source)
    check_content(content, source, codec)
    try:
        from tascodec.format import open_archive, write_archive
    except ImportError:  # the archive format is not built yet: content checks only
        return content, {}
    path = write_archive(content, tmp_path / "a.tasz", code_dtype=code_dtype)
    decoded = {}
    with open_archive(path) as archive:
        assert archive.videos == source.videos
        assert archive.codec == codec.codec_id
        for video in source.videos:
            np.testing.assert_array_equal(archive.labels(video), source.labels(video))
            decoded[video] = np.asarray(archive.decode(video), dtype=np.float64)
    mse = reference_mse(content, source, decoded)
    np.testing.assert_allclose(mse, content.stats["reconstruction_mse"], rtol=mse_rtol,
                               atol=1e-9)
    return content, decoded


class FakeDataset:
    """An in-memory stand-in for ``StandardDataset``: ``features`` (D, T), ``labels`` (T,)."""

    def __init__(self, features: dict[str, np.ndarray], labels: dict[str, np.ndarray],
                 num_classes: int, feature_dim: int | None = None) -> None:
        self._x, self._y = features, labels
        self.class_names = [f"a{i}" for i in range(num_classes)]
        first = next(iter(features.values()))
        self.feature_dim = int(first.shape[0] if feature_dim is None else feature_dim)
        self.videos = sorted(features)

    def features(self, video: str) -> np.ndarray:
        return self._x[video]

    def labels(self, video: str) -> np.ndarray:
        return self._y[video]

    def num_frames(self, video: str) -> int:
        return int(self._y[video].shape[0])


def fake_source(features: dict[str, np.ndarray], labels: dict[str, np.ndarray], *,
                num_classes: int = 3, feature_dim: int | None = None) -> EncodeSource:
    ds = FakeDataset(features, labels, num_classes, feature_dim)
    return EncodeSource(dataset=ds, videos=ds.videos, training_videos=ds.videos,
                        splits={"train": ds.videos}, progress=False)
