"""The ``tascodec`` command line: one module per group of subcommands, each with ``register``."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from ..errors import TascodecError

__all__ = ["main"]

# Modules under tascodec.cli; each defines register(subparsers) that adds its subcommands and
# sets ``func`` (args -> exit code) on each parser.
_COMMAND_MODULES = ["demo", "synth", "encode", "inspect", "ls", "export", "eval"]


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="tascodec",
        description="Condensed, versioned storage for temporal action segmentation datasets.",
    )
    parser.add_argument("--version", action="version", version=f"tascodec {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TascodecError as exc:
        print(f"tascodec {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"tascodec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
