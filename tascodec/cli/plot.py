"""``tascodec plot ARCHIVE --dataset DIR [--video V ...] -o OUT``: the fidelity figure(s)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="draw decoded vs original features of videos (needs the plot extra)",
        description="Per video: the ground-truth ribbon, original and decoded features as "
                    "heatmaps on one colour scale, the per-frame error, and a summary (error "
                    "per class, the archive's bytes by part). A .pdf OUT gets one page per "
                    "video; other formats (.png, .svg) one video. Needs matplotlib "
                    "(pip install 'tascodec[plot]').",
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz path or URL")
    p.add_argument("--dataset", type=Path, required=True, metavar="DIR",
                   help="the original dataset (standard layout) the archive was made from")
    p.add_argument("--video", action="append", default=None, metavar="V",
                   help="a stored video's name (with or without .txt / .npy) or its index in "
                        "`tascodec ls`; repeat for several (default: the first stored)")
    p.add_argument("--all", action="store_true", help="every stored video (OUT must be .pdf)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT",
                   help="output file: .png, .svg, ... (one video) or .pdf (a page per video)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--device", default=None,
                   help="decode device: cpu (NumPy, default), cuda, cpu-torch")
    p.set_defaults(func=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    from ..errors import TascodecError
    from ..format import open_archive
    from ..plots import plot_archive
    from .export import stored_video

    if args.all and args.video:
        raise TascodecError("--all and --video: give one of them")
    with open_archive(args.archive) as ar:
        videos = (list(ar.videos) if args.all
                  else [stored_video(ar.videos, v, ar.path) for v in args.video or []])
    drawn = plot_archive(args.archive, args.dataset, args.output, videos=videos or None,
                         overwrite=args.overwrite, device=args.device)
    print(f"{len(drawn)} video(s) ({', '.join(drawn[:5])}{', ...' if len(drawn) > 5 else ''})"
          f" -> {args.output}")
    return 0
