"""How sharply decoded training features mark the ground-truth boundaries, against the original.

    python -m benchmarks.bench_boundary_cue [--folds salads-tcn128-split2,gtea-tcn128]
        [--ratios 50,100,300] [--interpolations linear,video]

For each fold's training split: the mean frame-to-frame change ``||x[t+1] - x[t]||`` at a
ground-truth boundary over its mean inside segments, for the original features and for the
``pca`` archive of each interpolation at each ratio (encoded here, decoded with NumPy). A
segmentation model trained on features whose boundaries stand out more than in real features
learns that cue (``benchmarks/RESULTS.md`` section 13). NumPy only besides the encode.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

import tascodec
from tascodec.dataset.layout import StandardDataset

from ._common import machine_line, markdown_table, parse_list, resolve_dataset


def boundary_cue(dataset: StandardDataset, videos: list[str], frames_of) -> tuple[float, ...]:
    """``(ratio, mean change at boundaries, mean change inside)`` over ``videos``;
    ``frames_of(video)`` gives (T, D) frames."""
    at, inside = [], []
    for v in videos:
        change = np.linalg.norm(np.diff(np.asarray(frames_of(v), np.float64), axis=0), axis=1)
        boundary = np.diff(dataset.labels(v)) != 0
        at.append(change[boundary])
        inside.append(change[~boundary])
    a, i = float(np.concatenate(at).mean()), float(np.concatenate(inside).mean())
    return a / i, a, i


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folds", default="salads-tcn128-split2,gtea-tcn128")
    p.add_argument("--ratios", default="50,100,300")
    p.add_argument("--interpolations", default="linear,video")
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fold in parse_list(args.folds):
            root = resolve_dataset(fold, Path(tmp) / "data")
            ds = StandardDataset(root)
            train = ds.split("train.split1")
            r, a, i = boundary_cue(ds, train, lambda v: np.asarray(ds.features(v)).T)
            rows.append([fold, "original", "-", "-", f"{r:.2f}", f"{a:.3f}", f"{i:.3f}"])
            for ratio in parse_list(args.ratios, float):
                for interpolation in parse_list(args.interpolations):
                    out = Path(tmp) / f"{fold}-{interpolation}-{ratio:g}.tasz"
                    s = tascodec.encode(root, out, target_ratio=ratio, progress=False,
                                        interpolation=interpolation)
                    with tascodec.open(out) as ar:
                        r, a, i = boundary_cue(ds, train, ar.decode)
                    cfg = s.codec_config
                    rows.append([fold, f"pca {interpolation}", f"{s.ratio:.0f}x",
                                 f"{cfg['components']} / {cfg['stride']}", f"{r:.2f}",
                                 f"{a:.3f}", f"{i:.3f}"])
    print(machine_line())
    print(markdown_table(["fold", "training set", "ratio", "components / stride",
                          "boundary / inside", "mean change at boundaries",
                          "mean change inside"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
