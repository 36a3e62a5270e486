"""Codec benchmark: size, ratio to float32, per-frame reconstruction MSE and encode time.

Datasets: the synthetic ``gtea`` preset (D = 2048; ``--videos`` to shrink it) and the real
``../shared/data/gtea-tcn128`` (D = 128) when present. Each codec encodes the training split
(``train.split1``) through ``tascodec.encode`` with ``gamma`` (default 1: all training videos,
so the table isolates the codecs; pass ``--gamma 0.5`` for the paper's setting). The learned
codecs (``encoded``, ``inversion``, ``tca-random``) share one TCA per dataset through the
encode cache: the first learned row pays for training (``train s``), the others reuse it.

    python -m benchmarks.bench_codecs [--quick] [--videos N] [--recipe cpu|paper] [--device ...]

Prints a markdown table and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import tascodec
from tascodec.codecs.options import taken_options
from tascodec.dataset.layout import StandardDataset

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gtea-tcn128"

# (label, codec id, codec params); k and the recipe go to the codecs that take them.
CODECS = [
    ("raw", "raw", {}),
    ("raw f16", "raw", {"dtype": "float16"}),
    ("mean", "mean", {}),
    ("coreset", "coreset", {}),
    ("tca-random", "tca-random", {}),
    ("encoded K=8", "encoded", {"k": 8}),
    ("inversion K=8", "inversion", {"k": 8}),
]


def machine() -> str:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{platform.machine()} {os.cpu_count()} cores (torch threads "
            f"{torch.get_num_threads()}), {gpu}, Python {platform.python_version()}, "
            f"torch {torch.__version__}, tascodec {tascodec.__version__}")


def feature_variance(root: Path, split: str) -> float:
    """Mean per-dimension variance of the split's frames (for a relative MSE)."""
    ds = StandardDataset(root)
    total = 0
    acc1, acc2 = np.zeros(ds.feature_dim), np.zeros(ds.feature_dim)
    for v in ds.split(split):
        x = np.asarray(ds.features(v), dtype=np.float64)  # (D, T)
        acc1 += x.sum(axis=1)
        acc2 += np.square(x).sum(axis=1)
        total += x.shape[1]
    mean = acc1 / total
    return float((acc2 / total - mean**2).mean())


def bench_dataset(name: str, root: Path, args: argparse.Namespace, out_dir: Path) -> list[list[str]]:
    rows = []
    cache: dict = {}
    var = feature_variance(root, "train.split1")
    overrides = {key: getattr(args, key) for key in ("epochs", "latent_dim", "hidden_dim")
                 if getattr(args, key) is not None}
    for label, codec, params in CODECS:
        if args.codecs and codec not in args.codecs:
            continue
        learned = codec in ("encoded", "inversion", "tca-random")
        kw = dict(params)
        # encode refuses an option a codec does not take: pass each only where taken
        kw.update(taken_options(codec, {"k": kw.pop("k", 8), "recipe": args.recipe}))
        if learned:
            kw.update(overrides)
        start = time.perf_counter()
        summary = tascodec.encode(
            root, out_dir / f"{name}-{label.replace(' ', '_')}.tasz", codec=codec,
            gamma=args.gamma, sampling="none" if args.gamma == 1 else "diverse",
            split="train.split1", device=args.device, overwrite=True,
            progress=not args.no_progress, cache=cache, **kw,
        )
        wall = time.perf_counter() - start
        with tascodec.open(summary.path) as ar:
            stats = ar.header["stats"]
        train_s = stats.get("train_seconds")
        trained = "" if train_s is None else ("reused" if stats.get("train_reused")
                                              else f"{train_s:.1f}")
        mse = summary.reconstruction_mse
        rows.append([
            name, label, f"{summary.feature_dim}", f"{summary.videos}",
            f"{summary.bytes['total']:,}", f"{summary.ratio:.1f}x",
            f"{mse:.4g}", f"{mse / var:.4f}", f"{wall:.1f}", trained,
        ])
        print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small settings: 8 synthetic videos, 3 TCA epochs")
    parser.add_argument("--videos", type=int, default=None, help="synthetic gtea videos (28)")
    parser.add_argument("--dim", type=int, default=None, help="synthetic D (2048)")
    parser.add_argument("--gamma", type=float, default=1.0)
    parser.add_argument("--recipe", default="cpu")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs")
    parser.add_argument("--latent-dim", type=int, default=None, help="override the recipe's d")
    parser.add_argument("--hidden-dim", type=int, default=None, help="override the recipe's H")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--codecs", nargs="*", default=None, help="codec ids to run (all)")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.videos = args.videos or 8
        args.epochs = args.epochs or 3
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-codecs-") as tmp:
        tmp_path = Path(tmp)
        if not args.no_synthetic:
            root = tascodec.synthesize(tmp_path / "gtea", "gtea", videos=args.videos,
                                       dim=args.dim, seed=0)
            rows += bench_dataset("gtea (synthetic)", root, args, tmp_path)
        if not args.no_real:
            if REAL.is_dir():
                rows += bench_dataset("gtea-tcn128 (real)", REAL, args, tmp_path)
            else:
                print(f"skipping real data: {REAL} not found", file=sys.stderr)
    head = ["dataset", "codec", "D", "videos", "bytes", "ratio vs f32", "MSE", "MSE / var",
            "encode s", "train s"]
    changed = ", ".join(f"{k} {getattr(args, k)}" for k in ("epochs", "latent_dim", "hidden_dim")
                        if getattr(args, k) is not None)
    print(f"\nsplit train.split1, gamma {args.gamma}, recipe {args.recipe}"
          f"{f' ({changed})' if changed else ''}; learned codecs "
          "share one TCA per dataset (train s: time to train it, 'reused' when shared)\n")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print(f"\nmachine: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
