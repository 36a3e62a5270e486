"""Peak GPU memory per phase of an encode, for ``benchmarks.gpu_check``.

``phase_peaks(cuda)`` wraps the library's phase functions (gather, train, invert, decoded
error), which their callers look up at call time, while inside: each call resets
``torch.cuda`` 's peak statistics first and records ``max_memory_allocated`` (MiB) after, the
largest per phase; a phase called inside another counts in the outer one. ``None`` on a CPU.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

__all__ = ["mib", "phase_peaks"]


def mib(n: float) -> float:
    return round(n / 2**20, 1)


@contextlib.contextmanager
def phase_peaks(cuda: bool) -> Iterator[dict[str, float | None]]:
    """Phase name -> peak GPU memory (MiB) of the phases run inside (module docstring)."""
    import torch

    import tascodec.codecs.learned as learned
    import tascodec.tca.invert as invert_mod
    import tascodec.tca.train as train_mod

    peaks: dict[str, float | None] = {}
    depth = [0]
    targets = [(train_mod, "training_frames", "gather"), (train_mod, "train_tca", "train"),
               (invert_mod, "invert", "invert"), (learned, "decoded_mse", "decoded error")]
    originals = [(mod, name, getattr(mod, name)) for mod, name, _ in targets]

    def wrap(fn: Any, phase: str) -> Any:
        def inner(*a: Any, **k: Any) -> Any:
            depth[0] += 1
            if cuda and depth[0] == 1:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            try:
                return fn(*a, **k)
            finally:
                depth[0] -= 1
                if depth[0] == 0:
                    peak = mib(torch.cuda.max_memory_allocated()) if cuda else None
                    old = peaks.get(phase)
                    peaks[phase] = peak if old is None or peak is None else max(old, peak)
        return inner

    for (mod, name, phase), (_, _, fn) in zip(targets, originals):
        setattr(mod, name, wrap(fn, phase))
    try:
        yield peaks
    finally:
        for mod, name, fn in originals:
            setattr(mod, name, fn)
