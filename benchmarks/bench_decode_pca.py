"""Decode throughput of the ``pca`` codec's archives against ``np.load``, Breakfast-shaped.

    python -m benchmarks.bench_decode_pca

One video of 2,100 frames in 7 segments of 300, D = 2048 (Breakfast's mean shape), decoded by
the NumPy decoder with a ``pca`` decoder of p components at a stride (the operating points rate
control picks from 50x down), held (``"mlp"``), interpolated inside segments (``"mlp+lerp"``)
and over the video (``"mlp+lerp-video"``, the default),
against ``np.load`` of the same (D, T) float32 file (best of 7, from the page cache). Prints
frames/s and the ratio to ``np.load``.
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

from tascodec.codecs.pca import pca_decoder
from tascodec.decode import decode_segments, prepare_decoder
from tascodec.segments import num_instances_for_stride

POINTS = ((160, 1), (64, 2), (32, 2), (16, 2), (32, 4), (16, 4), (12, 8), (5, 8))
D, SEGMENTS, LENGTH = 2048, 7, 300


def _best(fn, repeats: int = 7) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    rng = np.random.default_rng(0)
    frames = SEGMENTS * LENGTH
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "v.npy")
        np.save(path, rng.standard_normal((D, frames)).astype(np.float32))
        load = _best(lambda: np.load(path))
    print(f"np.load: {frames / load:,.0f} frames/s")
    length = np.full(SEGMENTS, LENGTH)
    action = rng.integers(0, 48, SEGMENTS)
    for p, stride in POINTS:
        basis = np.linalg.qr(rng.standard_normal((D, p)))[0]
        dec = prepare_decoder(pca_decoder(np.zeros(D), basis, np.full(p, 5.0), 48, "float16"))
        k = num_instances_for_stride(length, stride)
        codes = rng.standard_normal((int(k.sum()), p)).astype(np.float32)
        for kind in ("mlp", "mlp+lerp", "mlp+lerp-video"):
            took = _best(lambda: decode_segments(kind, codes, action, length, k, dec))
            print(f"p={p:4d} stride={stride} {kind:14s}: {frames / took:10,.0f} frames/s = "
                  f"{load / took:.2f}x np.load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
