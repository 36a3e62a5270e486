"""Measure what float16 / int8 code storage costs (the figures quoted in spec/tasz-v1.md).

    python -m benchmarks.bench_quantisation [--quick]

For each source of codes it writes real archives with ``code_dtype`` float32 / float16 / int8,
reads the codes back and reports the relative error ||c - c_hat||^2 / ||c - mean(c)||^2 and the
stored bytes of the codes part. Sources: Gaussian N(0, 1) codes (d = 256, what TCA latents look
like under their prior), the real GTEA per-frame features (D = 128, i.e. the ``raw`` codec)
when ``../shared/data/gtea-tcn128`` exists, and the decoded output of a He-initialised
``tca-mlp`` decoder (d = 256, H = 512, D = 2048) fed with the Gaussian codes.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from pathlib import Path

import numpy as np

from tascodec.content import ArchiveContent, SegmentTable
from tascodec.format import open_archive, write_archive

GTEA = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtea-tcn128" / "features"


def _content(codes: np.ndarray) -> ArchiveContent:
    n, d = codes.shape
    table = SegmentTable.from_labels(["v"], [np.zeros(n, np.int64)], None)  # one code per frame
    return ArchiveContent("raw", {"id": "raw"}, "repeat", ["a"], {}, table, codes, d, d)


def _round_trip(codes: np.ndarray, dtype: str, tmp: Path) -> tuple[np.ndarray, int]:
    path = write_archive(_content(codes), tmp / f"{dtype}.tasz", code_dtype=dtype, overwrite=True)
    with open_archive(path) as ar:
        return ar.codes("v"), ar.sizes()["codes"]


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return float(((a64 - b64) ** 2).sum() / ((a64 - a64.mean(axis=0)) ** 2).sum())


def _decode(z: np.ndarray, w1: np.ndarray, w2: np.ndarray) -> np.ndarray:
    return np.maximum(z @ w1.T, 0) @ w2.T


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer codes")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    n = 4000 if args.quick else 40000
    sources = {"gaussian codes (d=256)": rng.standard_normal((n, 256)).astype(np.float32)}
    if GTEA.is_dir():
        feats = [np.load(p, allow_pickle=False).T for p in sorted(GTEA.glob("*.npy"))]
        sources["GTEA features (D=128, raw codec)"] = np.concatenate(feats)[: n * 2].astype(
            np.float32
        )
    w1 = (rng.standard_normal((512, 256)) * np.sqrt(2 / 256)).astype(np.float32)
    w2 = (rng.standard_normal((2048, 512)) * np.sqrt(2 / 512)).astype(np.float32)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, codes in sources.items():
            ref_bytes = None
            for dtype in ("float32", "float16", "int8"):
                back, nbytes = _round_trip(codes, dtype, Path(tmp))
                ref_bytes = ref_bytes or nbytes
                row = [
                    name,
                    dtype,
                    f"{_rel(codes, back):.2e}",
                    f"{np.abs(codes - back).max():.3g}",
                    f"{nbytes / codes.size:.3f}",
                    f"{ref_bytes / nbytes:.2f}x",
                ]
                if name.startswith("gaussian"):
                    k = min(len(codes), 4000)
                    row.append(f"{_rel(_decode(codes[:k], w1, w2), _decode(back[:k], w1, w2)):.2e}")
                else:
                    row.append("-")
                rows.append(row)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
        f"numpy {np.__version__}, codes per source: {n} (GTEA: up to {2 * n} frames)\n"
    )
    head = [
        "source",
        "dtype",
        "relative MSE",
        "max abs error",
        "stored bytes/value",
        "smaller than float32",
        "relative MSE after a tca-mlp decoder",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
