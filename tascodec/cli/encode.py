"""``tascodec encode``: condense a dataset in the standard layout into one ``.tasz`` archive.

``tascodec encode DATASET OUT|-o OUT [--codec ID] [-k K|auto | --per-frame]
[--target-ratio R | --max-bytes B] [--gamma G] [--split NAME | --all]
[--sampling diverse|random|none] [--device auto|cpu|cuda] [--seed S]
[--recipe auto|cpu|gpu|paper|quick] [--code-dtype float32|float16|int8] [-p KEY=VALUE ...]
[--deterministic] [--overwrite] [--quiet]`` prints the ``EncodeSummary`` table. ``-k`` defaults to ``auto``:
rate control picks the code width, the decoder width and K per segment so the archive is
``--target-ratio`` (default 50) times smaller than the split as float32, or at most
``--max-bytes`` (bytes, units allowed: ``30KiB``). ``--gamma`` defaults to 1 (every video of
the split) for every codec. ``OUT`` may be a folder (``DATASET``'s name ``.tasz`` in it);
missing folders above it are created.
``-p`` passes further codec parameters (values parsed as JSON, else kept as strings), e.g.
``-p epochs=5 -p dtype=float16``. Only the options the user set are passed on, and one a codec
does not take (``Codec.encode_options``: ``-k 4`` for ``mean``, ``--code-dtype int8`` for
``raw``) is refused in one line before any work; ``--help`` lists what each codec takes.

Several processes: ``torchrun --nproc_per_node=N -m tascodec encode ...`` shares the work
between N ranks (``tascodec.runtime.parallel``); rank 0 writes the archive and prints the summary.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..codecs import list_codecs
from ..codecs.options import (CODEC_OPTIONS, Spelling, check_codec_options, codec_class,
                              codecs_taking)
from ..dataset.sampling import SAMPLING_METHODS
from ..encoding.encode import DEFAULT_CODEC, encode
from ..errors import TascodecError
from ..extras import require_torch
from ..format import CODE_DTYPES, open_archive
from ..runtime.parallel import is_main_process
from ..tca.recipes import list_recipes
from .options import add_device, add_output, add_quiet, byte_count, output_file

__all__ = ["register", "run_encode", "parse_params", "codec_options", "FlagSpelling", "FLAGS"]


#: the flag of each codec-specific option of ``encode``
FLAGS = {"k": "-k", "recipe": "--recipe", "code_dtype": "--code-dtype",
         "target_ratio": "--target-ratio", "max_bytes": "--max-bytes"}


class FlagSpelling(Spelling):
    """Options as flags: ``-k 3``, ``--per-frame``, ``--code-dtype int8``."""

    def given(self, option: str, value: Any) -> str:
        if option == "k" and value is None:
            return "--per-frame"
        return f"{FLAGS[option]} {value}"

    def takes(self, option: str, values: tuple[Any, ...] | None) -> str:
        if values is None:
            return "-k / --per-frame" if option == "k" else FLAGS[option]
        if option == "k":
            return " or ".join(self.given(option, v) for v in values)
        return f"{FLAGS[option]} {'|'.join(map(str, values))}"


def _taken_by(option: str) -> str:
    """Which codecs take ``option``, with which values, for the help (from the registry)."""
    spell = FlagSpelling()
    groups: dict[str, list[str]] = {}
    for codec, values in codecs_taking(option).items():
        key = "taken by" if values is None else f"{spell.takes(option, values)} for"
        groups.setdefault(key, []).append(codec)
    return "; ".join(f"{key} {', '.join(codecs)}" for key, codecs in groups.items())


def _codec_table() -> str:
    spell = FlagSpelling()
    lines = ["codec-specific options (the others apply to every codec):"]
    for codec in list_codecs():
        takes = codec_class(codec).encode_options
        what = ", ".join(spell.takes(o, takes[o]) for o in CODEC_OPTIONS if o in takes)
        lines.append(f"  {codec:<14} {what}")
    return "\n".join(lines)


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``encode`` subcommand."""

    p = sub.add_parser(
        "encode", help="condense a dataset into a .tasz archive",
        description="Condense a dataset in the standard layout (features/, groundTruth/,\n"
                    "mapping.txt, splits/) into one .tasz archive and print a summary.\n"
                    "Needs the torch extra: pip install \"tascodec[torch]\".",
        epilog=_codec_table(), formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dataset", metavar="DATASET", help="dataset directory (standard layout)")
    p.add_argument("out", metavar="OUT", nargs="?", default=None,
                   help="archive to write (.tasz), or -o OUT; a folder gets <DATASET>.tasz")
    add_output(p, help="the archive to write (the same as OUT)", required=False)

    p.add_argument("--codec", default=DEFAULT_CODEC, choices=list_codecs(), metavar="ID",
                   help=f"codec id: {', '.join(list_codecs())} (default: {DEFAULT_CODEC})")
    kgroup = p.add_mutually_exclusive_group()
    kgroup.add_argument("-k", type=_k_value, default=None, metavar="K",
                        help="instances (codes) per segment: auto (the default: allocated per "
                             "segment under the byte budget) or an integer (the paper uses 8); "
                             + _taken_by("k"))
    kgroup.add_argument("--per-frame", action="store_true",
                        help="one code per frame (K = segment length)")
    bgroup = p.add_mutually_exclusive_group()
    bgroup.add_argument("--target-ratio", type=float, default=None, metavar="R",
                        help="with -k auto: float32 bytes of the split over the archive's "
                             f"(default 50); {_taken_by('target_ratio')}")
    bgroup.add_argument("--max-bytes", type=byte_count, default=None, metavar="B",
                        help=f"with -k auto: the archive's size limit in bytes (30000, 30KiB, "
                             f"2MiB); "
                             f"{_taken_by('max_bytes')}")
    p.add_argument("--gamma", type=float, default=None,
                   help="fraction of the split's videos to store (default 1, every video, for "
                        "every codec; 0.5 is the paper's diverse half)")
    sgroup = p.add_mutually_exclusive_group()
    sgroup.add_argument("--split", default="train.split1",
                        help="condense this split for training (default train.split1; "
                             "train / test mean train.split1 / test.split1)")
    sgroup.add_argument("--all", action="store_true",
                        help="archive every video and keep every split (gamma 1)")
    p.add_argument("--sampling", choices=SAMPLING_METHODS, default="diverse",
                   help="how gamma picks the stored videos (default diverse)")
    add_device(p, default="auto", what="device of the learned codecs' training and "
                                        "inversion (auto: CUDA when present)")
    p.add_argument("--seed", type=int, default=0, help="seed of training and sampling")
    recipes = ["auto", *list_recipes()]
    p.add_argument("--recipe", default=None, choices=recipes, metavar="NAME",
                   help=f"training recipe: {', '.join(recipes)} (default auto: gpu on CUDA, "
                        f"else cpu); {_taken_by('recipe')}")
    p.add_argument("--code-dtype", default=None, choices=CODE_DTYPES, metavar="DTYPE",
                   help="stored code dtype (default int8 with -k auto, else float32); "
                        + _taken_by("code_dtype"))
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="a further codec parameter (repeatable; VALUE parsed as JSON)")
    p.add_argument("--deterministic", action="store_true",
                   help="deterministic kernels only, TF32 off: a CUDA encode repeats bit for bit")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_quiet(p)
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


def codec_options(args: argparse.Namespace) -> dict[str, Any]:
    """The codec-specific options the user set (``encode`` keyword -> value); an option left
    out keeps ``encode``'s default and is not "given"."""
    given: dict[str, Any] = {"k": None} if args.per_frame else {}
    for name in ("k", "recipe", "code_dtype", "target_ratio", "max_bytes"):
        if getattr(args, name) is not None:
            given[name] = getattr(args, name)
    return given


def _paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """(dataset folder, archive to write), checked before any work: one of OUT and -o, a
    dataset that is a folder (an archive given as DATASET is named as such)."""

    if (args.out is None) == (args.output is None):
        raise TascodecError("give the archive to write once: OUT or -o/--output")
    dataset = Path(args.dataset)
    if dataset.is_file():
        what = ("a .tasz archive, not a dataset folder (to grow an archive: tascodec append "
                "or merge)" if dataset.suffix == ".tasz" else "a file, not a dataset folder")
        raise TascodecError(f"DATASET {dataset}: {what}; encode reads a dataset in the "
                            "standard layout (features/, groundTruth/, mapping.txt, splits/)")
    if not dataset.is_dir():
        raise TascodecError(f"DATASET {dataset}: no such folder")
    return dataset, output_file(args.out or args.output, f"{dataset.resolve().name}.tasz")


def run_encode(args: argparse.Namespace) -> int:
    options = codec_options(args)
    check_codec_options(args.codec, options, FlagSpelling())  # in flags, before any work
    require_torch("tascodec encode")
    dataset, out = _paths(args)
    gamma = args.gamma if args.gamma is not None else (1.0 if args.all else None)
    summary = encode(
        dataset, out, codec=args.codec, gamma=gamma,
        split=None if args.all else args.split, sampling=args.sampling, device=args.device,
        seed=args.seed, overwrite=args.overwrite, progress=not args.quiet,
        deterministic=args.deterministic, **options,
        **parse_params(args.param),
    )

    if is_main_process():  # under torchrun, one summary (rank 0's)
        print(summary)
        print(_trimmed_note(summary.path, dataset) or "", end="")
    return 0


def _trimmed_note(path: Path, dataset: Path) -> str | None:
    """A line when the split's label files and feature files differ in length (within what
    ``StandardDataset`` tolerates) and frames were cut to the shorter: what was cut, where."""

    with open_archive(path) as ar:
        frames, videos = (int(ar.stats.get(k) or 0) for k in ("trimmed_frames", "trimmed_videos"))
    if not frames:
        return None
    return (f"note: {frames} frame(s) of {videos} video(s) cut: their groundTruth/*.txt and "
            f"features/*.npy in {dataset} differ in length (within max(5, 5%) frames), so each "
            f"was cut to the shorter (StandardDataset.trimmed names them)\n")
