"""``tascodec synth``: write a realistic synthetic dataset in the standard layout."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..dataset.layout import StandardDataset
from ..errors import TascodecError
from ..synth import PRESETS, synthesize
from .options import add_output, add_quiet

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``tascodec synth`` to the command's subparsers."""

    parser = sub.add_parser(
        "synth",
        help="write a synthetic dataset (standard layout) shaped like a real one",
        description="Write a synthetic dataset in the standard layout: features/<video>.npy "
        "(D, T) float32, groundTruth/, mapping.txt, splits/. Transcripts and segment lengths "
        "follow statistics fitted to the real datasets.",
    )
    parser.add_argument("--preset", choices=list(PRESETS), default="tiny",
                        help="dataset shape to imitate (default: tiny)")
    parser.add_argument("--videos", type=int, default=None,
                        help="number of videos (default: as many as the real dataset)")
    parser.add_argument("--dim", type=int, default=None,
                        help="feature dimension D (default: 2048; tiny: 64)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace OUT_DIR if it already holds a dataset")
    add_quiet(parser, "no progress bar")
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, nargs="?", default=None,
                        help="dataset folder to write (or -o OUT_DIR); missing folders above "
                             "it are created")
    add_output(parser, help="the dataset folder to write (the same as OUT_DIR)",
               required=False, metavar="OUT_DIR")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    if (args.out_dir is None) == (args.output is None):
        raise TascodecError("give the dataset folder to write once: OUT_DIR or -o/--output")
    t0 = time.perf_counter()
    root = synthesize(args.out_dir or Path(args.output), args.preset, videos=args.videos, dim=args.dim,
                      seed=args.seed, overwrite=args.overwrite, progress=not args.quiet)
    ds = StandardDataset(root, check_finite=False)
    frames = sum(ds.num_frames(v) for v in ds.videos)
    size = sum(p.stat().st_size for p in (root / "features").glob("*.npy"))
    print(f"wrote {root}: {len(ds)} videos, {frames} frames, {ds.num_classes} classes, "
          f"D={ds.feature_dim}, {size / 2**20:.1f} MiB features, "
          f"splits {sorted(ds.splits())} in {time.perf_counter() - t0:.1f} s")
    return 0
