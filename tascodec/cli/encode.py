"""``tascodec encode``: condense a dataset in the standard layout into one ``.tasz`` archive.

``tascodec encode DATASET OUT [--codec ID] [-k K|auto | --per-frame]
[--target-ratio R | --max-bytes B] [--gamma G] [--split NAME | --all]
[--sampling diverse|random|none] [--device auto|cpu|cuda] [--seed S]
[--recipe auto|cpu|gpu|paper|quick] [--code-dtype float32|float16|int8] [-p KEY=VALUE ...]
[--overwrite] [--quiet]`` prints the ``EncodeSummary`` table. ``-k`` defaults to ``auto``:
rate control picks the code width, the decoder width and K per segment so the archive is
``--target-ratio`` (default 50) times smaller than the split as float32, or at most
``--max-bytes``; ``--gamma`` then defaults to 1, and to 0.5 with an explicit ``-k``.
``-p`` passes further codec parameters (values parsed as JSON, else kept as strings), e.g.
``-p epochs=5 -p dtype=float16``.

Several processes: ``torchrun --nproc_per_node=N -m tascodec encode ...`` shares the work
between N ranks (``tascodec.parallel``); rank 0 writes the archive and prints the summary.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import TascodecError

__all__ = ["register", "run_encode", "parse_params"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""
    p = sub.add_parser(
        "encode", help="condense a dataset into a .tasz archive",
        description="Condense a dataset in the standard layout (features/, groundTruth/, "
                    "mapping.txt, splits/) into one .tasz archive and print a summary.")
    p.add_argument("dataset", metavar="DATASET", help="dataset directory (standard layout)")
    p.add_argument("out", metavar="OUT", help="archive to write (.tasz)")
    p.add_argument("--codec", default="inversion",
                   help="codec id: inversion (default), encoded, tca-random, mean, coreset, raw")
    kgroup = p.add_mutually_exclusive_group()
    kgroup.add_argument("-k", type=_k_value, default="auto", metavar="K",
                        help="instances (codes) per segment for encoded/inversion: auto "
                             "(default: allocated per segment under the byte budget) or an "
                             "integer (the paper uses 8)")
    kgroup.add_argument("--per-frame", action="store_true",
                        help="one code per frame (K = segment length)")
    bgroup = p.add_mutually_exclusive_group()
    bgroup.add_argument("--target-ratio", type=float, default=None, metavar="R",
                        help="with -k auto: float32 bytes of the split over the archive's "
                             "(default 50)")
    bgroup.add_argument("--max-bytes", type=int, default=None, metavar="B",
                        help="with -k auto: the archive's size limit in bytes")
    p.add_argument("--gamma", type=float, default=None,
                   help="fraction of the split's videos to store (default 1 with -k auto or "
                        "--all, 0.5 with an explicit -k)")
    sgroup = p.add_mutually_exclusive_group()
    sgroup.add_argument("--split", default="train.split1",
                        help="condense this split for training (default train.split1; "
                             "train / test mean train.split1 / test.split1)")
    sgroup.add_argument("--all", action="store_true",
                        help="archive every video and keep every split (gamma 1)")
    p.add_argument("--sampling", choices=("diverse", "random", "none"), default="diverse",
                   help="how gamma picks the stored videos (default diverse)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0, help="seed of training and sampling")
    p.add_argument("--recipe", default="auto",
                   help="training recipe of learned codecs: auto (default: gpu on CUDA, else "
                        "cpu), cpu, gpu, paper, quick")
    p.add_argument("--code-dtype", default=None, choices=("float32", "float16", "int8"),
                   help="stored code dtype (default int8 with -k auto, else float32)")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a further codec parameter (repeatable; VALUE parsed as JSON)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_encode)


def _k_value(text: str) -> int | str:
    if text == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer, got {text!r}") from None


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["epochs=3", "dtype=float16"]`` -> ``{"epochs": 3, "dtype": "float16"}``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise TascodecError(f"--param {item!r}: expected KEY=VALUE")
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def run_encode(args: argparse.Namespace) -> int:
    from ..encoding import encode

    gamma = args.gamma if args.gamma is not None else (1.0 if args.all else None)
    summary = encode(
        args.dataset, args.out, codec=args.codec, k=None if args.per_frame else args.k,
        gamma=gamma, split=None if args.all else args.split, sampling=args.sampling,
        device=args.device, seed=args.seed, recipe=args.recipe, code_dtype=args.code_dtype,
        target_ratio=args.target_ratio, max_bytes=args.max_bytes,
        overwrite=args.overwrite, progress=not args.quiet, **parse_params(args.param),
    )
    from ..parallel import is_main_process

    if is_main_process():  # under torchrun, one summary (rank 0's)
        print(summary)
    return 0
