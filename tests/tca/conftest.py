"""The TCA the tests of ``tascodec.tca`` share: a small source and a model trained on it (once
per test module)."""

from __future__ import annotations

import pytest

from tascodec.dataset.source import ArraySource
from tascodec.tca.model import TCA
from tascodec.tca.train import train_tca
from testkit import make_source


@pytest.fixture(scope="module")
def src() -> ArraySource:
    return make_source()


@pytest.fixture(scope="module")
def model(src) -> TCA:
    m, _ = train_tca(src, latent_dim=6, hidden_dim=16, epochs=15, lr=1e-2, batch_size=32,
                     progress=False)
    return m
