"""``tascodec eval``: MS-TCN / ASFormer fidelity of an archive (or the original) on the real
test set (``--backbone``), scored with either metric convention (``--convention``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..dataset.splits import split_names
from ..errors import TascodecError
from ..format import open_archive
from ..harness.backbones import BACKBONES, MODEL_NAMES
from ..harness.evaluate import evaluate_archive
from ..harness.fidelity_result import format_results, with_original, FidelityResult
from ..harness.metrics import CONVENTIONS
from .options import add_device, add_quiet

__all__ = ["register", "run", "parse_seeds", "parse_choice"]


def parse_choice(flag: str, text: str, choices: tuple[str, ...]) -> str:
    """``text`` if it is one of ``choices``; a clear error naming ``flag`` otherwise."""
    value = text.strip().lower()
    if value not in choices:
        raise TascodecError(f"{flag}: expected one of {', '.join(choices)}, got {text!r}")
    return value


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0,1,2"`` -> (0, 1, 2); a clear error naming ``--seeds`` otherwise."""
    try:
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise TascodecError(f"--seeds: expected comma-separated integers, got {text!r}") from None
    if not seeds:
        raise TascodecError(f"--seeds: no seed in {text!r}")
    return seeds


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    p = sub.add_parser(
        "eval",
        help="train MS-TCN or ASFormer on an archive's decoded data, score it on the original "
             "test set",
        description=(
            "Train one MS-TCN (or ASFormer, --backbone asformer) per seed on the decoded "
            "training videos of ARCHIVE (or on the original features with ARCHIVE = "
            "'original') and report Acc, Edit and F1@{10,25,50} on the ORIGINAL test split of "
            "DATASET (mean +- std over seeds), with the storage size and its ratio to the "
            "float32 original."
        ),
    )
    p.add_argument("archive", metavar="ARCHIVE", help="a .tasz archive, or 'original'")
    p.add_argument("--dataset", required=True, metavar="DATASET_DIR",
                   help="the original dataset in the standard layout")
    p.add_argument("--split", default="split1",
                   help="fold: split1 trains on train.split1 and scores test.split1 (default)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default: 0,1,2)")
    p.add_argument("--epochs", type=int, default=50, help="training epochs (default: 50)")
    p.add_argument("--backbone", default="mstcn",
                   help="the segmentation model trained: mstcn (default; 4 stages x 10 layers x "
                        "64 maps) or asformer (tascodec.harness.asformer's CPU size: 2 decoders x 10 "
                        "blocks x 32 maps)")
    p.add_argument("--convention", default="asformer",
                   help="metric convention for the last segment's end: asformer (default; "
                        "ASFormer's eval.py, MS-TCN's before its fix: ends at T - 1) or mstcn "
                        "(MS-TCN's current eval.py: ends at T)")
    add_device(p, default="auto", what="training device (auto: CUDA when present)")
    p.add_argument("--background", default="",
                   help="comma-separated background class names left out of Edit/F1")
    p.add_argument("--jobs", type=int, default=1,
                   help="train the seeds in this many processes (default: 1; on a CPU, up to "
                        "the number of cores is faster)")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels only, TF32 off: CUDA results repeat bit for bit")
    p.add_argument("--json", action="store_true",
                   help="print the result as JSON (with the archive's fingerprint, for "
                        "tascodec card)")
    p.add_argument("--with-original", action="store_true",
                   help="also train on the original features with the same seeds and epochs: "
                        "the result says what %% of each metric the archive keeps")
    p.add_argument("--original", metavar="RESULT.json",
                   help="the original's scores from an earlier 'tascodec eval original ... "
                        "--json' trained the same way (instead of --with-original)")
    add_quiet(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    seeds = parse_seeds(args.seeds)
    backbone = parse_choice("--backbone", args.backbone, BACKBONES)
    convention = parse_choice("--convention", args.convention, CONVENTIONS)
    if args.epochs < 1:
        raise TascodecError(f"--epochs must be >= 1, got {args.epochs}")
    background = tuple(b.strip() for b in args.background.split(",") if b.strip())
    archive = None if args.archive == "original" else args.archive
    if (args.with_original or args.original) and archive is None:
        raise TascodecError("--with-original / --original: ARCHIVE is the original itself")
    if args.with_original and args.original:
        raise TascodecError("--with-original and --original: give one of them")
    original = _read_result(args.original, "--original") if args.original else None
    if archive is not None:
        _say_fold(archive, args.split)
    result = evaluate_archive(
        archive,
        args.dataset,
        split=args.split,
        seeds=seeds,
        epochs=args.epochs,
        device=args.device,
        progress=not args.quiet,
        background=background,
        jobs=args.jobs,
        backbone=backbone,
        convention=convention,
        deterministic=args.deterministic,
        with_original=args.with_original,
    )
    if original is not None:
        result = with_original(result, original)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(f"dataset {result.dataset} ({args.dataset}), {result.split}: "
              f"{result.train_videos} training videos, {result.test_videos} test videos; "
              f"{MODEL_NAMES[result.backbone]} {_count(result.epochs, 'epoch')}, seeds "
              f"{list(result.seeds)}, device {result.device}; {result.convention} metric "
              "convention")
        per_seed = ", ".join(f"{t:.1f}" for t in result.train_seconds)
        print(f"training time per seed (s): {per_seed}; total {result.seconds:.1f} s")
        if result.excluded_videos:
            left = result.excluded_videos
            print(f"left out {_count(len(left), 'stored video')} in test.{result.split} or "
                  f"outside train.{result.split}: {', '.join(left[:5])}"
                  f"{', ...' if len(left) > 5 else ''}")
        print(format_results([result]))
        if result.kept:
            print("kept of the original trained the same way: " + ", ".join(
                f"{k} {result.original['mean'][k]:.1f} -> {v:.1f}%"
                for k, v in result.kept.items()))
    return 0


def _read_result(path: str, flag: str) -> Any:
    """The ``FidelityResult`` in the ``tascodec eval --json`` file ``path``."""

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise TascodecError(f"{flag} {path}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise TascodecError(f"{flag} {path}: not JSON ({exc})") from None
    return FidelityResult.from_dict(data, f"{flag} {path}")


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _say_fold(archive: str, split: str) -> None:
    """A line on stderr, before the training, when the archive condenses another fold than
    ``split``: its videos in the fold's test split are left out."""

    train_key, _ = split_names(split)
    with open_archive(archive) as ar:
        made_for = [k for k in ar.splits if k.startswith("train.")]
    if made_for and train_key not in made_for:
        print(f"note: {archive} condenses {', '.join(made_for)}, not {train_key}: its videos "
              f"in the test split of {split} are left out (--split "
              f"{made_for[0].split('.', 1)[1]} evaluates the fold it was made for)",
              file=sys.stderr)
