"""``tascodec plot ARCHIVE --dataset DIR [--video V ...] -o OUT``: the fidelity figure(s)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import TascodecError
from ..format import open_archive
from ..plots import plot_archive
from ..plots.figure import require_matplotlib
from .export import stored_video
from .options import add_device, add_output, add_quiet, decode_device, output_file

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plot",
        help="draw decoded vs original features of videos (needs the plot extra)",
        description="Per video: the ground-truth ribbon, original and decoded features as "
                    "heatmaps on one colour scale, the per-frame error over the video's "
                    "spread, and a summary (that error per class, the archive's bytes by "
                    "part). A .pdf OUT gets one page per video; other formats (.png, .svg) "
                    "one video. Needs matplotlib (pip install -e '.[plot]' in a checkout).",
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz path or URL")
    p.add_argument("--dataset", type=Path, required=True, metavar="DIR",
                   help="the original dataset (standard layout) the archive was made from")
    p.add_argument("--video", action="append", default=None, metavar="V",
                   help="a stored video's name (with or without .txt / .npy) or its index in "
                        "`tascodec ls`; repeat for several (default: the first stored)")
    p.add_argument("--all", action="store_true", help="every stored video (OUT must be .pdf)")
    add_output(p, help="output file: .png, .svg, ... (one video) or .pdf (a page per video); "
                       "an existing folder gets <video>.png (<archive>.pdf for several); "
                       "missing folders above it are created", aliases=("--out",))
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_device(p, default="cpu", what="decode device (cpu: NumPy)")
    add_quiet(p, "no progress bar (drawn for several videos)")
    p.set_defaults(func=_run_plot)


def _run_plot(args: argparse.Namespace) -> int:
    if args.all and args.video:
        raise TascodecError("--all and --video: give one of them")
    device = decode_device(args.device)  # a missing CUDA device: before any work
    require_matplotlib()  # before any folder is made or anything read
    with open_archive(args.archive) as ar:
        videos = (list(ar.videos) if args.all
                  else [stored_video(ar.videos, v, ar.path) for v in args.video or []])
        several = len(videos) > 1
        name = (f"{Path(str(ar.path)).stem}.pdf" if several
                else f"{videos[0] if videos else ar.videos[0]}.png")
    out = output_file(args.output, name)
    drawn = plot_archive(args.archive, args.dataset, out, videos=videos or None,
                         overwrite=args.overwrite, device=device, progress=not args.quiet)
    print(f"{len(drawn)} video(s) ({', '.join(drawn[:5])}{', ...' if len(drawn) > 5 else ''})"
          f" -> {out}")
    return 0
