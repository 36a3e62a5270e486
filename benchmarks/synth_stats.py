"""Synthetic presets against the real ground truth they imitate.

    python -m benchmarks.synth_stats [--quick] [--data ../shared/data]
    python -m benchmarks.synth_stats --refit      # rewrite tascodec/synth/fitted.json from real data

For each preset, generates a dataset (modest video counts) in a temporary directory and prints
#classes, frames/video, segments/video and segment length mean/median next to the same
statistics measured from the real ground truth (breakfast-gt, 50salads-gt, gtea-tcn128).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tascodec.dataset.layout import StandardDataset
from tascodec.synth.fit import fit_tables, read_ground_truth, segment_stats

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data"

# preset -> (real folder, activity of a video name, class permutation, class names)
GTEA_NAMES = ["take", "open", "pour", "close", "shake", "scoop", "stir", "put", "fold", "spread",
              "background"]
REAL = {
    "gtea": ("gtea-tcn128", lambda v: v.split("_")[1], list(range(1, 11)) + [0], GTEA_NAMES),
    "50salads": ("50salads-gt", lambda v: "salad", None, None),
    "breakfast": ("breakfast-gt", lambda v: v.split("_")[-1], None, None),
}
# videos generated per preset (full, --quick); D kept small here: statistics are about labels.
VIDEOS = {"tiny": (10, 10), "gtea": (28, 28), "50salads": (50, 10), "breakfast": (300, 60)}


def refit(data: Path) -> None:
    tables = {}
    for preset, (folder, activity_of, perm, names) in REAL.items():
        class_names, labels = read_ground_truth(data / folder)
        table = fit_tables(class_names, labels, activity_of, permutation=perm)
        if names is not None:
            table["classes"] = names
        tables[preset] = table
    out = ROOT / "tascodec" / "synth" / "fitted.json"
    # Compact and sorted, so a refit of unchanged data rewrites the same bytes.
    out.write_text(json.dumps(tables, sort_keys=True, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer videos per preset")
    parser.add_argument("--refit", action="store_true", help="refit tascodec/synth/fitted.json")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--dim", type=int, default=64, help="feature width of generated sets")
    args = parser.parse_args()
    if args.refit:
        refit(args.data)
        return 0
    from tascodec.synth import synthesize

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}, "
          f"numpy {np.__version__}, GPU: none used\n")
    print("| preset | source | videos | classes | frames/video | segments/video "
          "| seg len mean | seg len median | gen s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for preset, counts in VIDEOS.items():
        n = counts[1] if args.quick else counts[0]
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            root = synthesize(Path(tmp) / preset, preset, videos=n, dim=args.dim, seed=0,
                              progress=False)
            elapsed = time.perf_counter() - t0
            ds = StandardDataset(root)
            stats = segment_stats({v: ds.labels(v) for v in ds.videos})
            row(preset, "synthetic", stats, len(ds.class_names), f"{elapsed:.2f}")
        if preset in REAL:
            folder = args.data / REAL[preset][0]
            if folder.is_dir():
                names, labels = read_ground_truth(folder)
                row(preset, f"real ({REAL[preset][0]})", segment_stats(labels), len(names), "")
            else:
                print(f"| {preset} | real: {folder} not found | | | | | | | |")
    print("\nFeature structure, synthetic gtea (D = 128) next to the real gtea-tcn128 "
          "(128-d CNN features; real I3D features are not available here):\n")
    print("| features | D | mean | zeros | autocorr lag 1 | lag 10 | lag 50 "
          "| nearest-centroid frame acc (split 1) |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        root = synthesize(Path(tmp) / "gtea", "gtea", dim=128, seed=0, progress=False)
        feature_row("synthetic gtea", StandardDataset(root))
    real = args.data / "gtea-tcn128"
    if real.is_dir():
        feature_row("real gtea-tcn128", StandardDataset(real))
    print("\nGeneration at full width (D = 2048):\n")
    print("| preset | videos | frames | MiB written | seconds |")
    print("|---|---|---|---|---|")
    for preset, n in (("gtea", 28), ("breakfast", 10 if args.quick else 40)):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            root = synthesize(Path(tmp) / preset, preset, videos=n, seed=0, progress=False)
            elapsed = time.perf_counter() - t0
            ds = StandardDataset(root, check_finite=False)
            frames = sum(ds.num_frames(v) for v in ds.videos)
            mib = sum(p.stat().st_size for p in (root / "features").glob("*.npy")) / 2**20
            print(f"| {preset} | {n} | {frames} | {mib:.0f} | {elapsed:.1f} |")
    return 0


def feature_row(name: str, ds: StandardDataset) -> None:
    """Value statistics, temporal autocorrelation of standardised features, and how far a
    per-frame nearest-centroid classifier (train split 1 -> test split 1) gets."""
    xs = [np.asarray(ds.features(v), dtype=np.float64) for v in ds.videos]
    ys = [ds.labels(v) for v in ds.videos]
    X = np.concatenate(xs, axis=1).T
    mu, sd = X.mean(0), X.std(0) + 1e-8
    zs = [((x.T - mu) / sd) for x in xs]
    lags = [np.mean([np.mean(z[:-k] * z[k:]) for z in zs if len(z) > k]) for k in (1, 10, 50)]
    train = set(ds.split("train"))
    Z = np.concatenate(zs)
    Y = np.concatenate(ys)
    is_train = np.concatenate([np.full(len(y), v in train) for v, y in zip(ds.videos, ys)])
    present = [a for a in range(ds.num_classes) if np.any(is_train & (Y == a))]
    cents = np.stack([Z[is_train & (Y == a)].mean(0) for a in present])
    dist = ((Z[~is_train][:, None, :] - cents[None]) ** 2).sum(-1)
    acc = np.mean(np.asarray(present)[np.argmin(dist, axis=1)] == Y[~is_train])
    print(f"| {name} | {X.shape[1]} | {X.mean():.3f} | {np.mean(X == 0):.2f} | {lags[0]:.3f} "
          f"| {lags[1]:.3f} | {lags[2]:.3f} | {100 * acc:.1f}% |")


def row(preset: str, source: str, s: dict, classes: int, gen: str) -> None:
    print(f"| {preset} | {source} | {s['videos']} | {classes} | {s['frames_mean']:.0f} "
          f"| {s['segments_mean']:.1f} | {s['length_mean']:.1f} | {s['length_median']:.0f} "
          f"| {gen} |")


if __name__ == "__main__":
    sys.exit(main())
