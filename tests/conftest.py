"""Shared fixtures: a tiny synthetic dataset (made once per session) and the real shared data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """A dataset in the standard layout from the ``tiny`` synthetic preset (seconds to make)."""
    from tascodec.synth import synthesize

    root = tmp_path_factory.mktemp("tiny") / "tiny"
    synthesize(root, preset="tiny", seed=0)
    return root


def shared_dataset(name: str) -> Path:
    """Path of ``../shared/data/<name>``, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"shared data {name!r} not found at {path} (it lives beside the checkout)")
    return path


@pytest.fixture(scope="session")
def gtea_tcn128() -> Path:
    return shared_dataset("gtea-tcn128")
