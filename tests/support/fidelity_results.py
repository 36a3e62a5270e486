"""A ``FidelityResult`` made by hand (``result``), for the tests of the dataset card and of the
result itself."""

from __future__ import annotations

from tascodec.harness.fidelity_result import METRIC_KEYS, FidelityResult


def result(fingerprint: str | None, split: str = "split1", acc: float = 60.0,
           seeds: tuple[int, ...] = (0, 1)) -> FidelityResult:
    scores = [{k: acc + s for k in METRIC_KEYS} for s in range(len(seeds))]
    mean = {k: acc + (len(seeds) - 1) / 2 for k in METRIC_KEYS}
    return FidelityResult(
        name="mlp.tasz" if fingerprint else "original", dataset="gtea", split=split,
        codec={"id": "inversion"} if fingerprint else None, seeds=seeds, epochs=50,
        per_seed=scores, mean=mean, std={k: 0.7 for k in METRIC_KEYS}, storage_bytes=14356,
        original_bytes=3168, train_videos=2, train_frames=44, test_videos=1,
        archive_fingerprint=fingerprint, format_version="1.1" if fingerprint else None)
