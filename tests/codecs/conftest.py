"""Fixtures of the codec tests: an ``EncodeSource`` on the ``tiny`` preset, a shared model cache.

The shared checks live in ``codec_checks.py``.
"""

from __future__ import annotations

from importlib import import_module

import pytest

from tascodec.dataset.source import EncodeSource

# get_codec loads the built-in codecs only while the registry is empty; a test module that
# imports one codec module first would hide the rest, so import them all here.
for _module in ("raw", "mean", "coreset", "encoded", "inversion", "tca_random", "mean_inversion", "pca"):
    import_module(f"tascodec.codecs.{_module}")


@pytest.fixture
def model_cache(request) -> dict:
    """One TCA cache for the whole pytest run (``tests/encoding/test_encode.py`` uses the same one), so
    the model of tiny's training split is trained once."""
    return request.config.__dict__.setdefault("_tascodec_tca_cache", {})


@pytest.fixture
def source(tiny_dataset, model_cache) -> EncodeSource:
    from tascodec.dataset.layout import StandardDataset

    ds = StandardDataset(tiny_dataset)
    train = ds.split("train")
    stored = train[: max(1, (len(train) + 1) // 2)]
    return EncodeSource(
        dataset=ds, videos=stored, training_videos=train, splits={"train.split1": stored},
        device="cpu", seed=0, progress=False, cache=model_cache,
    )

