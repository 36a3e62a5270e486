"""Where each codec's error lies, at equal bytes: the measurements behind the pca default.

    python -m benchmarks.bench_residual [--folds gtea-tcn128,salads-tcn128-split2]
        [--ratios 50,100] [--codecs inversion,pca] [--out DIR]

For each fold and ratio, every codec encodes the fold's training split (``tascodec.encode``
with ``target_ratio``) and its decoded training frames are compared with the originals:

* the residual's energy along the original frames' principal directions, in bands (1-4, 5-16,
  17-64, the rest), as a share of the originals' variance in that band: what a codec drops of
  each frame's position along the top directions;
* the within-segment detail kept: the energy of ``decoded - its segment mean`` over that of
  ``original - its segment mean`` (1: as much frame-to-frame movement as the original, 0: none);
* a linear probe (ridge, one-vs-all least squares on the frames): its frame accuracy in-sample
  on the decoded training frames and on the ORIGINAL test frames, beside the same probe fitted
  on the original training frames: whether the label is written into the decoded features
  (in-sample above the original's, test below it).

Writes ``residual.json`` / ``residual.md`` under ``--out``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ._common import machine, machine_line, markdown_table, parse_list, resolve_dataset, write_results

BANDS = ((0, 4), (4, 16), (16, 64), (64, None))


def _frames(ds: Any, videos: list[str], decode: Any = None) -> tuple[np.ndarray, np.ndarray,
                                                                    np.ndarray]:
    """(frames (T, D) float64, labels (T,), segment id per frame (T,)) of ``videos``."""
    xs, ys, segs, offset = [], [], [], 0
    for v in videos:
        x = (decode(v) if decode is not None else np.asarray(ds.features(v)).T)
        y = np.asarray(ds.labels(v))
        seg = np.concatenate(([0], np.cumsum(np.diff(y) != 0))) + offset
        offset = int(seg[-1]) + 1
        xs.append(np.asarray(x, np.float64))
        ys.append(y)
        segs.append(seg)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(segs)


def _less_segment_means(x: np.ndarray, seg: np.ndarray) -> np.ndarray:
    sums = np.zeros((int(seg.max()) + 1, x.shape[1]))
    np.add.at(sums, seg, x)
    counts = np.bincount(seg)[:, None]
    return x - (sums / counts)[seg]


def _probe(x: np.ndarray, y: np.ndarray, num_classes: int, lam: float = 1e-2) -> np.ndarray:
    """Ridge one-vs-all weights (D + 1, A) on standardised-by-caller frames."""
    a = np.hstack([x, np.ones((x.shape[0], 1))])
    target = np.eye(num_classes)[y]
    gram = a.T @ a + lam * x.shape[0] * np.eye(a.shape[1])
    return np.linalg.solve(gram, a.T @ target)


def _accuracy(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> float:
    pred = (np.hstack([x, np.ones((x.shape[0], 1))]) @ w).argmax(1)
    return float((pred == y).mean())


def measure(root: Path, codec: str, ratio: float, work: Path) -> dict[str, Any]:
    """The figures of one codec at one ratio on one fold (see the module docstring)."""
    import tascodec
    from tascodec.dataset.layout import StandardDataset

    ds = StandardDataset(root)
    train, test = ds.split("train.split1"), ds.split("test.split1")
    path = work / f"{codec}-{ratio:g}.tasz"
    summary = tascodec.encode(root, path, codec=codec, target_ratio=ratio, overwrite=True,
                              progress=False, device="cpu")
    x, y, seg = _frames(ds, train)
    x_te, y_te, _ = _frames(ds, test)
    with tascodec.open(path) as ar:
        x_hat, _, _ = _frames(ds, train, lambda v: ar.decode(v))
        ratio_got = summary.source_bytes / ar.sizes()["total"]
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    resid = (x - x_hat) @ vt.T  # (T, D) along the originals' directions
    orig = (x - mean) @ vt.T
    bands = {}
    for lo, hi in BANDS:
        cols = slice(lo, hi)
        bands[f"{lo + 1}-{hi or 'D'}"] = float(np.square(resid[:, cols]).sum()
                                               / max(np.square(orig[:, cols]).sum(), 1e-300))
    detail = float(np.square(_less_segment_means(x_hat, seg)).sum()
                   / np.square(_less_segment_means(x, seg)).sum())
    std = x.std(0) + 1e-8
    norm = (lambda z: (z - mean) / std)
    classes = len(ds.class_names)
    w_orig, w_dec = _probe(norm(x), y, classes), _probe(norm(x_hat), y, classes)
    return {"codec": codec, "target_ratio": ratio, "ratio": ratio_got,
            "codec_config": summary.codec_config,
            "relative_error": float(np.square(x - x_hat).sum() / np.square(x - mean).sum()),
            "residual_share_by_band": bands, "within_segment_detail": detail,
            "probe": {"original_in_sample": _accuracy(w_orig, norm(x), y),
                      "original_on_test": _accuracy(w_orig, norm(x_te), y_te),
                      "decoded_in_sample": _accuracy(w_dec, norm(x_hat), y),
                      "decoded_on_test": _accuracy(w_dec, norm(x_te), y_te)}}


def report(rows: list[dict[str, Any]]) -> str:
    table = [[r["fold"], r["codec"], f"{r['ratio']:.1f}x", f"{r['relative_error']:.3f}",
              " / ".join(f"{v:.2f}" for v in r["residual_share_by_band"].values()),
              f"{r['within_segment_detail']:.2f}",
              f"{100 * r['probe']['decoded_in_sample']:.1f} / "
              f"{100 * r['probe']['decoded_on_test']:.1f} "
              f"(original {100 * r['probe']['original_in_sample']:.1f} / "
              f"{100 * r['probe']['original_on_test']:.1f})"] for r in rows]
    bands = " / ".join(f"{lo + 1}-{hi or 'D'}" for lo, hi in BANDS)
    return "\n".join(["# Where the error lies", "", machine_line(), "", markdown_table(
        ["fold", "codec", "ratio", "relative error", f"residual share, directions {bands}",
         "within-segment detail kept", "probe in-sample / on original test, %"], table), ""])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", default="gtea-tcn128,salads-tcn128-split2")
    p.add_argument("--ratios", default="50,100")
    p.add_argument("--codecs", default="inversion,pca")
    p.add_argument("--out", type=Path, default=Path("benchmarks/results/residual"))
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="tascodec-residual-") as tmp:
        for fold in parse_list(args.folds):
            root = resolve_dataset(fold, args.out / "data")
            for ratio in parse_list(args.ratios, float):
                for codec in parse_list(args.codecs):
                    rows.append({"fold": fold, **measure(root, codec, ratio, Path(tmp))})
                    print(f"[{fold}] {codec}@{ratio:g}x done", file=sys.stderr)
                    write_results(args.out, "residual", {"machine": machine(), "rows": rows},
                                  report(rows))
    print(report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
