"""Shared fixtures: a tiny synthetic dataset (made once per session) and the real shared data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Shared machines are noisy: no per-example deadline; in CI the examples are derandomised so a
# run is reproducible (property failures are found locally, not by chance on a submission).
settings.register_profile(
    "tascodec",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=bool(os.environ.get("CI")),
)
settings.load_profile("tascodec")

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


@pytest.fixture(scope="session")
def tiny_archive(tiny_dataset, tmp_path_factory) -> Path:
    """A ``mean`` archive of every training video of ``tiny_dataset`` (the plots' tests)."""
    from tascodec import encode

    path = tmp_path_factory.mktemp("plot") / "t.tasz"
    encode(tiny_dataset, path, codec="mean", split="train", gamma=1.0, progress=False)
    return path


@pytest.fixture(scope="module")
def torch_one_thread():
    """Run a module's tiny-tensor tests on one torch thread (restored after): on a shared
    machine OpenMP's thread handoff costs more than such small ops take."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
