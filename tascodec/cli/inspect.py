"""``tascodec info`` and ``tascodec verify``: look into an archive without decoding it.

``info ARCHIVE [--json]`` prints the format version, codec, classes, videos, splits, frames,
segments, codes, bytes by part, the ratio to the float32 original and any fidelity figures
the encoder recorded. ``verify ARCHIVE`` checks every checksum of every chunk and the tables;
exit code 0 when clean, 1 when problems were found (2, from the main handler, when the
archive cannot be opened at all).
"""

from __future__ import annotations

import argparse
import json

from ..encoding.grow import merge
from ..format import open_archive
from ..report.info import format_info, info_dict

__all__ = ["register", "run_info", "run_verify"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` and ``verify`` subcommands."""
    p = sub.add_parser(
        "info",
        help="summarise an archive: codec, videos, sizes, ratio, fidelity",
        description="Print what a .tasz archive holds, without decoding it.",
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run_info)
    v = sub.add_parser(
        "verify",
        help="check every checksum of an archive (exit 1 on problems)",
        description="Read every chunk of every array of a .tasz archive and check "
        "its checksum and the tables; exit 0 when clean, 1 otherwise.",
    )
    v.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive")
    v.add_argument("--quiet", "--no-progress", dest="quiet", action="store_true",
                   help="no progress bar")
    v.add_argument("--upgrade", action="store_true",
                   help="once clean, rewrite the archive in place in the current format "
                   "version (a 1.0 archive gains the entry manifest that catches mixed "
                   "versions); every video decodes as before")
    v.set_defaults(func=run_verify)


def run_info(args: argparse.Namespace) -> int:
    with open_archive(args.archive) as archive:
        info = info_dict(archive)
    print(json.dumps(info, indent=2, sort_keys=True) if args.json else format_info(info))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    with open_archive(args.archive) as archive:
        problems = archive.verify(progress=not args.quiet)
    if problems:
        for problem in problems:
            print(problem)
        print(f"{args.archive}: {len(problems)} problem(s)")
        return 1
    print(f"{args.archive}: OK (every checksum holds)")
    if args.upgrade:
        merge([args.archive], args.archive, overwrite=True, progress=not args.quiet)
        with open_archive(args.archive) as archive:
            print(f"{args.archive}: rewritten as format {archive.format_version}")
    return 0
