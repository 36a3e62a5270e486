"""The ``tascodec`` command line: one module per group of subcommands, each with ``register``.

Exit codes: 0 success, 1 a check failed (``verify``), 2 bad input (a ``TascodecError``, or
argparse's usage errors; a missing optional dependency, named with its pip extra; a file that
cannot be read or written, named in one line), 130
interrupted, 141 (128 + SIGPIPE, what a shell reports for
``cat`` or ``yes`` in the same place) when the reader of stdout went away, as in
``tascodec info a.tasz | head -3``: the rest of the output is dropped silently, no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from tqdm.std import tqdm

from .. import __version__
from ..errors import TascodecError
from ..extras import is_torch_import_error, missing_torch_message
from ..runtime.tempfiles import PREFIX

__all__ = ["main", "EXIT_BROKEN_PIPE"]

#: Exit code when stdout's reader closed the pipe early (128 + SIGPIPE, the shell convention).
EXIT_BROKEN_PIPE = 141

# Modules under tascodec.cli; each defines register(subparsers) that adds its subcommands and
# sets ``func`` (args -> exit code) on each parser.
_COMMAND_MODULES = ["demo", "synth", "encode", "inspect", "ls", "export", "eval", "card",
                    "plot", "grow"]


def build_parser() -> argparse.ArgumentParser:
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


def _drop_stdout() -> None:
    """Point stdout's file descriptor at devnull, so that the interpreter's final flush of
    what is still buffered cannot fail a second time (the recipe of Python's ``signal`` docs,
    "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced stdout (tests, embedding)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _os_message(exc: OSError) -> str:
    """``exc`` as one line naming the file, the file the user asked for where ``exc`` names a
    temporary beside it (``tempfiles``)."""

    name = exc.filename
    if name is None:
        return str(exc)
    path = os.fspath(name)
    base = os.path.basename(path)
    if base.startswith(PREFIX):  # .tascodec-tmp-<dest>.<pid>.<random>
        path = os.path.join(os.path.dirname(path), base[len(PREFIX):].rsplit(".", 2)[0])
    return f"{path}: {exc.strerror or exc}"


def _close_bars() -> None:
    """Close every progress bar still open (tqdm's own registry), so that none draws again
    after the command's last line."""
    if "tqdm" not in sys.modules:
        return

    for bar in list(getattr(tqdm, "_instances", ())):
        try:
            bar.close()
        except Exception:  # pragma: no cover - a bar half torn down already
            pass


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _main(argv)
        finally:  # also after argparse's --help / --version (SystemExit)
            sys.stdout.flush()  # a closed pipe shows here rather than at interpreter exit
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TascodecError as exc:
        print(f"tascodec {args.command}: error: {exc.cli_message()}", file=sys.stderr)
        return 2
    except ImportError as exc:  # torch met on a path no require_torch guards: still one line
        if not is_torch_import_error(exc):
            raise
        print(f"tascodec {args.command}: error: "
              f"{missing_torch_message(f'tascodec {args.command}')}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be read or written: one line, no traceback
        if isinstance(exc, BrokenPipeError):
            raise
        _close_bars()
        print(f"tascodec {args.command}: error: {_os_message(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        _close_bars()  # a bar left open would redraw itself after the message
        print(f"tascodec {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
