"""``tascodec append`` and ``tascodec merge``: archives that grow (``tascodec.append``,
``tascodec.encoding.grow.merge``). Both print what they did: the videos added (or merged), the archive's
size before and after in human units, its groups."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..encoding.append import append
from ..encoding.grow import merge
from ..format import open_archive
from ..units import format_bytes
from .options import add_device, add_output, add_quiet, byte_count, check_device, output_file

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``tascodec append`` and ``tascodec merge`` to the command's subparsers."""
    p = sub.add_parser(
        "append", help="add a dataset's videos to an archive (new decoder group)",
        description="Encode videos of DATASET and add them to ARCHIVE as a new group, against "
        "a frozen decoder of the archive (--decoder reuse) or a newly trained one (--decoder "
        "new). By default the videos of the archive's own splits that it lacks (a "
        "train.split1 archive takes the dataset's new train.split1 videos). The archive is "
        "verified first and rewritten atomically.")
    p.add_argument("archive", metavar="ARCHIVE", type=Path)
    p.add_argument("dataset", metavar="DATASET", type=Path, help="dataset in the standard layout")
    p.add_argument("--videos", nargs="+", default=None, metavar="V",
                   help="videos to add, as named in the dataset or its bundles (v or v.txt; "
                        "default: those of --split the archive lacks)")
    p.add_argument("--split", default=None, metavar="NAME",
                   help="take the new videos from this split of DATASET (default: the "
                        "archive's splits; train / test mean train.split1 / test.split1)")
    p.add_argument("--decoder", choices=["reuse", "new"], default="reuse",
                   help="reuse a decoder of the archive (default) or train a new one")
    p.add_argument("--group", type=int, default=None,
                   help="with --decoder reuse: the group whose decoder to use (default: the "
                   "last that covers the new videos' classes)")
    p.add_argument("--codec", default=None,
                   help="with --decoder new: the codec of the new group (default: encode's)")
    p.add_argument("--recipe", default=None, help="with --decoder new: the training recipe")
    budget = p.add_mutually_exclusive_group()
    budget.add_argument("--max-bytes", type=byte_count, default=None, metavar="B",
                        help="with --decoder new: the most bytes the append may add to ARCHIVE "
                             "(e.g. 30000 or 30KiB)")
    budget.add_argument("--target-ratio", type=float, default=None, metavar="R",
                        help="with --decoder new: the new videos' float32 bytes over the bytes "
                        "added")
    add_device(p, default="auto", what="training and inversion device")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    add_quiet(p)
    p.set_defaults(func=_append)
    m = sub.add_parser(
        "merge", help="merge archives (or the shards of a distributed encode) into one",
        description="Merge archives into OUT: classes unioned by name, splits unioned, each "
        "input's decoder groups kept; video names stored twice are refused.")
    m.add_argument("inputs", metavar="ARCHIVE", nargs="+", type=Path)
    add_output(m, help="the merged archive (an existing folder gets merged.tasz; missing "
                       "folders above it are created)", aliases=("--out",))
    m.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_quiet(m, "no progress bar")
    m.set_defaults(func=_merge)


def _facts(path: Path) -> dict[str, Any]:
    with open_archive(path) as ar:
        return {"videos": list(ar.videos), "groups": len(ar.groups),
                "decoders": ar.num_decoders, "classes": len(ar.class_names),
                "bytes": int(ar.sizes()["total"]), "version": ar.format_version}


def _summary(path: Path, facts: dict[str, Any]) -> str:
    return (f"{path}: format {facts['version']}, {len(facts['videos'])} videos in "
            f"{facts['groups']} group(s), {facts['decoders']} decoder(s), "
            f"{facts['classes']} classes, {format_bytes(facts['bytes'])}")


def _names(videos: list[str]) -> str:
    return ", ".join(videos[:5]) + (f", ... ({len(videos)} in all)" if len(videos) > 5 else "")


def _append(args: argparse.Namespace) -> int:
    check_device(args.device)
    extra = {k: v for k, v in (("codec", args.codec), ("recipe", args.recipe),
                               ("max_bytes", args.max_bytes),
                               ("target_ratio", args.target_ratio)) if v is not None}
    before = _facts(args.archive)
    path = append(args.archive, args.dataset, args.videos, split=args.split,
                  decoder=args.decoder, group=args.group, device=args.device, seed=args.seed,
                  progress=not args.quiet, **extra)
    after = _facts(path)
    added = [v for v in after["videos"] if v not in set(before["videos"])]
    grew = after["bytes"] - before["bytes"]
    print(f"appended {len(added)} video(s) ({_names(added)}) with a "
          f"{'new' if args.decoder == 'new' else 'reused'} decoder: "
          f"+{format_bytes(grew)} ({format_bytes(before['bytes'])} -> "
          f"{format_bytes(after['bytes'])})")
    print(_summary(path, after))
    return 0


def _merge(args: argparse.Namespace) -> int:
    out = output_file(args.output, "merged.tasz")
    path = merge(args.inputs, out, overwrite=args.overwrite, progress=not args.quiet)
    print(_summary(path, _facts(path)))
    return 0
