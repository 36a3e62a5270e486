"""``tascodec append`` and ``tascodec merge``: archives that grow (``tascodec.append``,
``tascodec.grow.merge``)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``tascodec append`` and ``tascodec merge`` to the command's subparsers."""
    p = sub.add_parser(
        "append", help="add a dataset's videos to an archive (new decoder group)",
        description="Encode videos of DATASET and add them to ARCHIVE as a new group, against "
        "a frozen decoder of the archive (--decoder reuse) or a newly trained one (--decoder "
        "new). The archive is verified first and rewritten atomically.")
    p.add_argument("archive", metavar="ARCHIVE", type=Path)
    p.add_argument("dataset", metavar="DATASET", type=Path, help="dataset in the standard layout")
    p.add_argument("--videos", nargs="+", default=None,
                   help="videos to add (default: every video the archive lacks)")
    p.add_argument("--decoder", choices=["reuse", "new"], default="reuse",
                   help="reuse a decoder of the archive (default) or train a new one")
    p.add_argument("--group", type=int, default=None,
                   help="with --decoder reuse: the group whose decoder to use (default: the "
                   "last that covers the new videos' classes)")
    p.add_argument("--recipe", default=None, help="with --decoder new: the training recipe")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max-bytes", type=int, default=None,
                        help="with --decoder new: the most bytes the append may add to ARCHIVE")
    budget.add_argument("--target-ratio", type=float, default=None,
                        help="with --decoder new: the new videos' float32 bytes over the bytes "
                        "added")
    p.add_argument("--device", default="auto", help="cpu, cuda, ... (default: auto)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.set_defaults(func=_append)
    m = sub.add_parser(
        "merge", help="merge archives (or the shards of a distributed encode) into one",
        description="Merge archives into OUT: classes unioned by name, splits unioned, each "
        "input's decoder groups kept; video names stored twice are refused.")
    m.add_argument("inputs", metavar="ARCHIVE", nargs="+", type=Path)
    m.add_argument("-o", "--out", required=True, type=Path, help="the merged archive")
    m.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    m.set_defaults(func=_merge)


def _summary(path: Path) -> str:
    from ..format import open_archive

    with open_archive(path) as ar:
        return (f"{path}: format {ar.format_version}, {len(ar.videos)} videos in "
                f"{len(ar.groups)} group(s), {ar.num_decoders} decoder(s), "
                f"{len(ar.class_names)} classes, {ar.sizes()['total']} bytes")


def _append(args: argparse.Namespace) -> int:
    from ..append import append

    extra = {k: v for k, v in (("recipe", args.recipe), ("max_bytes", args.max_bytes),
                               ("target_ratio", args.target_ratio)) if v is not None}
    path = append(args.archive, args.dataset, args.videos, decoder=args.decoder,
                  group=args.group, device=args.device, seed=args.seed, **extra)
    print(_summary(path))
    return 0


def _merge(args: argparse.Namespace) -> int:
    from ..grow import merge

    print(_summary(merge(args.inputs, args.out, overwrite=args.overwrite)))
    return 0
