"""``tascodec encode``: condense a dataset in the standard layout into one ``.tasz`` archive.

``tascodec encode DATASET OUT [--codec ID] [-k K | --per-frame] [--gamma G]
[--split NAME | --all] [--sampling diverse|random|none] [--device auto|cpu|cuda]
[--seed S] [--recipe cpu|paper] [--code-dtype float32|float16|int8] [-p KEY=VALUE ...]
[--overwrite] [--quiet]`` prints the ``EncodeSummary`` table. ``--gamma`` defaults to 0.5 with
a split and to 1 with ``--all``; ``-p`` passes further codec parameters (values parsed as JSON,
else kept as strings), e.g. ``-p epochs=5 -p dtype=float16``.
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
    kgroup.add_argument("-k", type=int, default=8, metavar="K",
                        help="instances (codes) per segment for encoded/inversion (default 8)")
    kgroup.add_argument("--per-frame", action="store_true",
                        help="one code per frame (K = segment length)")
    p.add_argument("--gamma", type=float, default=None,
                   help="fraction of the split's videos to store (default 0.5; 1 with --all)")
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
    p.add_argument("--recipe", default="cpu", help="training recipe of learned codecs: cpu, paper")
    p.add_argument("--code-dtype", default="float32",
                   help="stored code dtype: float32 (default), float16, int8")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a further codec parameter (repeatable; VALUE parsed as JSON)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run_encode)


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

    gamma = args.gamma if args.gamma is not None else (1.0 if args.all else 0.5)
    summary = encode(
        args.dataset, args.out, codec=args.codec, k=None if args.per_frame else args.k,
        gamma=gamma, split=None if args.all else args.split, sampling=args.sampling,
        device=args.device, seed=args.seed, recipe=args.recipe, code_dtype=args.code_dtype,
        overwrite=args.overwrite, progress=not args.quiet, **parse_params(args.param),
    )
    print(summary)
    return 0
