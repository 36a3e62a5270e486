"""``tascodec card``: a Hugging Face dataset card (README.md) for an archive, with the
fidelity of every ``tascodec eval --json`` result given (``tascodec.report.card``)."""

from __future__ import annotations

import argparse

from ..report.card import write_card
from .options import add_output, output_file

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``card`` subcommand."""
    p = sub.add_parser(
        "card",
        help="write a Hugging Face dataset card (README.md) for an archive",
        description=(
            "Write a dataset card in the Hugging Face format for ARCHIVE (a path or a URL): "
            "YAML metadata (license left for you), what the archive was made from and how, "
            "its sizes, ratio, reconstruction error, format version and fingerprint, three "
            "lines of Python that load it, and the fidelity table of each --eval result "
            "(from 'tascodec eval ARCHIVE ... --with-original --json'). A result measured on "
            "another archive is refused."
        ),
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive (path or URL)")
    p.add_argument("--eval", dest="evals", action="append", default=[], metavar="RESULT.json",
                   help="a 'tascodec eval --json' result of this archive (repeatable: one "
                        "per fold or backbone)")
    p.add_argument("--name", default=None,
                   help="the source dataset's name (default: the results' dataset)")
    p.add_argument("--repo", default=None, metavar="OWNER/NAME",
                   help="the Hugging Face dataset repository the loading lines use")
    add_output(p, help="the card to write (README.md; a folder: FOLDER/README.md)",
               metavar="README.md")
    p.add_argument("--overwrite", action="store_true", help="replace an existing card")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = write_card(args.archive, output_file(args.output, "README.md"), args.evals,
                     name=args.name, repo=args.repo, overwrite=args.overwrite)
    print(f"wrote {out} ({len(args.evals)} fidelity result{'' if len(args.evals) == 1 else 's'})")
    return 0
